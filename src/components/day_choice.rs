//! The choice of a day: today, yesterday, or another from the calendar (which then shows, no
//! later than today). The sales filters and the end of day use it.

use leptos::prelude::*;

use crate::components::clock::{now_ms, offset_minutes_at};
use crate::components::locale::tr;
use crate::i18n::history as texts;
use crate::state::history::{Date, Day};

/// The day select, and the calendar for another day.
#[component]
pub fn DayChoice(
    /// The day chosen.
    #[prop(into)]
    day: Signal<Day>,
    /// Called with the day the user chooses.
    choose: Callback<Day>,
) -> impl IntoView {
    let today = || Date::of(now_ms(), offset_minutes_at);
    let choose_day = move |event: leptos::ev::Event| {
        // Another day starts at yesterday's date, the likeliest to be looked for.
        choose.run(Day::from_choice(&event_target_value(&event), today().previous()));
    };
    let choose_date = move |event: leptos::ev::Event| {
        // A cleared calendar keeps the day shown until another is picked.
        if let Some(date) = Date::parse(&event_target_value(&event)) {
            choose.run(Day::On(date));
        }
    };
    view! {
        <div class="field">
            <label for="filter-day">{tr(texts::filter_day)}</label>
            <select id="filter-day" on:change=choose_day prop:value=move || day.get().choice()>
                <option value="today">{tr(texts::day_today)}</option>
                <option value="yesterday">{tr(texts::day_yesterday)}</option>
                <option value="date">{tr(texts::day_other)}</option>
            </select>
        </div>
        {move || match day.get() {
            Day::On(date) => Some(view! {
                <div class="field">
                    <label for="filter-date">{tr(texts::filter_date)}</label>
                    <input type="date" id="filter-date" max=today().iso() prop:value=date.iso() on:change=choose_date/>
                </div>
            }),
            Day::Today | Day::Yesterday => None,
        }}
    }
}

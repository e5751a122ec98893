//! The controls that choose which sales a list shows: one search field, then the day (today,
//! yesterday or a day from the calendar: `day_choice`), the status and the flow, and a refresh. The till's
//! history and the back office's sales both use them, the back office with a till to choose too
//! (its `children`, placed after the day).

use kasse_api::Flow;
use leptos::prelude::*;

use crate::components::day_choice::DayChoice;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{Locale, history as texts, till};
use crate::state::history::{Day, HistoryFilter, STATUS_CHOICES};

/// The heading of a day's sales: "Today's sales", "Yesterday's sales", "Sales of 05.12.2026".
pub fn day_heading(day: Day, locale: Locale) -> String {
    match day {
        Day::Today => texts::heading(locale).to_owned(),
        Day::Yesterday => texts::heading_yesterday(locale).to_owned(),
        Day::On(date) => format!("{} {}", texts::heading_on(locale), date.written(locale)),
    }
}

/// The controls, changing `filter`; `refresh` reads the list again.
#[component]
pub fn SalesFilters(
    /// What the list shows.
    filter: RwSignal<HistoryFilter>,
    /// Reads the list again.
    refresh: Callback<()>,
    /// More fields, after the day's.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let locale = use_locale();
    let choose_status = move |event: leptos::ev::Event| {
        filter.update(|f| *f = std::mem::take(f).with_status_choice(&event_target_value(&event)));
    };
    let choose_flow = move |event: leptos::ev::Event| {
        filter.update(|f| *f = std::mem::take(f).with_flow_choice(&event_target_value(&event)));
    };
    let search_field = NodeRef::<leptos::html::Input>::new();
    let search = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let typed = search_field.get().map(|field| field.value()).unwrap_or_default();
        filter.update(|f| *f = std::mem::take(f).with_search(&typed));
    };

    view! {
        <form class="search" role="search" id="search-form" on:submit=search>
            <label for="search">{tr(texts::search_label)}</label>
            <div class="search-row">
                <input
                    type="search"
                    id="search"
                    node_ref=search_field
                    maxlength=kasse_api::HistoryQuery::SEARCH_MAX
                    autocomplete="off"
                    aria-describedby="search-hint"
                />
                <button type="submit" class="secondary" id="search-submit">{tr(texts::search_button)}</button>
            </div>
            <p class="hint" id="search-hint">{tr(texts::search_hint)}</p>
        </form>
        <div class="filters" role="group" aria-labelledby="filters-label">
            <span id="filters-label" class="filters-label">{tr(texts::filters)}</span>
            <DayChoice
                day=Signal::derive(move || filter.with(|f| f.day))
                choose=Callback::new(move |day| filter.update(|f| f.day = day))
            />
            {children.map(|children| children())}
            <div class="field">
                <label for="filter-status">{tr(texts::filter_status)}</label>
                <select id="filter-status" on:change=choose_status prop:value=move || filter.with(HistoryFilter::status_choice)>
                    <option value="">{tr(texts::any_status)}</option>
                    {STATUS_CHOICES
                        .into_iter()
                        .map(|status| {
                            view! { <option value=status.as_str()>{move || till::headline(status, locale.get())}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="filter-flow">{tr(texts::filter_flow)}</label>
                <select id="filter-flow" on:change=choose_flow prop:value=move || filter.with(HistoryFilter::flow_choice)>
                    <option value="">{tr(texts::any_flow)}</option>
                    {Flow::ALL
                        .into_iter()
                        .map(|flow| view! { <option value=flow.as_str()>{move || texts::flow(flow, locale.get())}</option> })
                        .collect_view()}
                </select>
            </div>
            <button type="button" class="secondary refresh" id="refresh" on:click=move |_| refresh.run(())>
                {tr(texts::refresh)}
            </button>
        </div>
    }
}

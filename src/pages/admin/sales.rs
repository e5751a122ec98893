//! The sales section: the sales of every till and open-amount sticker the manager may see, or of
//! one, of any day or span of days, found by the same search and filters as a till's history,
//! with their totals.

use kasse_api::StoreSummary;
use leptos::prelude::*;

use super::failure_sentence;
use crate::api;
use crate::components::clock::{now_ms, offset_minutes_at};
use crate::components::locale::{tr, use_locale};
use crate::components::sales_filters::{SalesFilters, day_heading};
use crate::i18n::{admin as texts, common};
use crate::pages::history::Sales as SalesTable;
use crate::state::admin::{Place, place_names, sales_query, through_day};
use crate::state::history::{Date, Day, HistoryFilter};

/// The section.
#[component]
pub fn Sales(stores: StoredValue<Vec<StoreSummary>>) -> impl IntoView {
    let locale = use_locale();
    let filter = RwSignal::new(HistoryFilter::default());
    let place = RwSignal::new(Place::Everywhere);
    // The last day of a span of days, when one is chosen after the filter's day.
    let through = RwSignal::new(None::<Date>);
    let loaded = LocalResource::new(move || {
        let query =
            filter.with(|f| place.with(|p| sales_query(f, p, through.get(), now_ms(), offset_minutes_at)));
        async move { api::admin::sales(&query).await }
    });
    let last_day = move || through_day(filter.with(|f| f.day), through.get(), now_ms(), offset_minutes_at);
    let heading = move || {
        let locale = locale.get();
        let first = filter.with(|f| day_heading(f.day, locale));
        match last_day() {
            Some(last) => format!("{first} – {}", last.written(locale)),
            None => first,
        }
    };
    let today = || Date::of(now_ms(), offset_minutes_at).iso();
    let places = stores.with_value(|stores| place_names(stores));
    let options = |stickers: bool| {
        places
            .iter()
            .filter(|(place, _)| matches!(place, Place::Sticker(_)) == stickers)
            .map(|(place, name)| view! { <option value=place.choice()>{name.clone()}</option> })
            .collect_view()
    };
    let (till_options, sticker_options) = (options(false), options(true));
    let any_sticker = places.iter().any(|(place, _)| matches!(place, Place::Sticker(_)));
    let names = StoredValue::new(places);
    view! {
        <section class="history" aria-labelledby="sales-heading">
            <h1 id="sales-heading">{heading}</h1>
            <SalesFilters filter refresh=Callback::new(move |()| loaded.refetch())>
                <div class="field">
                    <label for="filter-through">{tr(texts::filter_through)}</label>
                    <input
                        type="date"
                        id="filter-through"
                        max=today
                        prop:value=move || through.get().map(Date::iso).unwrap_or_default()
                        on:change=move |e| through.set(Date::parse(&event_target_value(&e)))
                    />
                </div>
                <div class="field">
                    <label for="filter-till">{tr(texts::filter_till)}</label>
                    <select
                        id="filter-till"
                        prop:value=move || place.with(Place::choice)
                        on:change=move |e| place.set(Place::from_choice(&event_target_value(&e)))
                    >
                        <option value="">{tr(texts::every_till)}</option>
                        <optgroup label=tr(texts::tills_group)>{till_options}</optgroup>
                        {any_sticker.then(|| view! {
                            <optgroup label=tr(texts::stickers_group)>{sticker_options}</optgroup>
                        })}
                    </select>
                </div>
            </SalesFilters>
            <Transition fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(history) => {
                            let (filtered, today) = filter
                                .with_untracked(|f| (!f.is_everything() || place.with_untracked(|p| *p != Place::Everywhere), f.day == Day::Today));
                            view! { <SalesTable history filtered today details="/admin/sales/" tills=names.get_value()/> }.into_any()
                        }
                        Err(failure) => view! {
                            <p class="notice" role="alert">{failure_sentence(&failure, locale.get_untracked())}</p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

//! The end-of-day section: a day's figures per store, per till and per open-amount sticker (what
//! was taken, given back and is still open; counts and sums per status; what each way of paying
//! took), printable, and the day's sales as a CSV download for the bookkeeping.

use kasse_api::{DayFigures, EndOfDay, Money};
use leptos::prelude::*;

use super::failure_sentence;
use crate::api;
use crate::components::clock::{now_ms, offset_minutes_at};
use crate::components::day_choice::DayChoice;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{Locale, admin as texts, common, history as history_texts, till};
use crate::state::admin::{day_query, store_day_elsewhere};
use crate::state::history::{Date, Day, ordered_totals};
use crate::state::money::format_money;

/// The section.
#[component]
pub fn EndOfDayView() -> impl IntoView {
    let locale = use_locale();
    let day = RwSignal::new(Day::Today);
    // The day's bounds on this browser's clock, asked anew each time so today turns at midnight.
    let query = move || day_query(day.get(), now_ms(), offset_minutes_at);
    let loaded = LocalResource::new(move || {
        let query = query();
        async move { api::admin::end_of_day(&query).await.map(|figures| (query, figures)) }
    });
    let csv = move || api::admin::end_of_day_csv_url(&query());
    // The date itself, on screen and on paper, whichever way the day was chosen.
    let date = move || day.get().date(Date::of(now_ms(), offset_minutes_at)).written(locale.get());
    let print = move |_| {
        // What is printed is what is shown: refresh first for the figures of this moment.
        if let Some(window) = web_sys::window() {
            // Nothing to say if the browser cannot print: its own dialog says so.
            let _ = window.print();
        }
    };
    view! {
        <section class="end-of-day" aria-labelledby="day-heading">
            <h1 id="day-heading">{tr(texts::end_of_day)} " " {date}</h1>
            <p class="day-note">{tr(texts::day_note)}</p>
            <div class="filters day-actions" role="group" aria-labelledby="day-heading">
                <DayChoice day=day choose=Callback::new(move |chosen| day.set(chosen))/>
                <button type="button" class="secondary" id="refresh" on:click=move |_| loaded.refetch()>
                    {tr(history_texts::refresh)}
                </button>
                <a class="button secondary" id="csv" href=csv download>{tr(texts::csv)}</a>
                <button type="button" class="secondary" id="print" on:click=print>{tr(texts::print)}</button>
            </div>
            <Transition fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok((query, day)) => {
                            let date = Date::parse(&query.day);
                            view! { <Stores day date/> }.into_any()
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

/// Each store's figures, then its tills' and its open-amount stickers'. A store whose day (the
/// `date` in its own time) is not this clock's midnight to midnight says when it runs here.
#[component]
fn Stores(day: EndOfDay, date: Option<Date>) -> impl IntoView {
    let locale = use_locale();
    day.stores
        .into_iter()
        .map(|store| {
            let elsewhere = move || {
                let bounds = date?;
                store_day_elsewhere(bounds, store.since_ms, store.until_ms, offset_minutes_at, locale.get())
                    .map(|span| format!("{} {span}", texts::store_day_here(locale.get())))
            };
            let tills = store
                .tills
                .into_iter()
                .map(|till| {
                    view! {
                        <section class="till-day" data-till=till.id.clone()>
                            <h3>{till.name.clone()}</h3>
                            <Figures figures=till.figures scope=till.name/>
                        </section>
                    }
                })
                .collect_view();
            let stickers = store
                .stickers
                .into_iter()
                .map(|sticker| {
                    view! {
                        <section class="till-day" data-sticker=sticker.id.clone()>
                            <h3>{tr(texts::paid_on_sticker)} " " {sticker.description.clone()}</h3>
                            <Figures figures=sticker.figures scope=sticker.description/>
                        </section>
                    }
                })
                .collect_view();
            view! {
                <section class="store-day" data-store=store.id.clone()>
                    <h2>{store.name.clone()}</h2>
                    {move || elsewhere().map(|span| view! { <p class="store-day-span">{span}</p> })}
                    <Figures figures=store.figures scope=store.name/>
                    {tills}
                    {stickers}
                </section>
            }
        })
        .collect_view()
}

/// One store's or till's figures; `scope` names it in each table's caption.
#[component]
fn Figures(figures: DayFigures, scope: String) -> impl IntoView {
    let locale = use_locale();
    if figures.count == 0 {
        return view! { <p class="empty">{tr(history_texts::no_sales_day)}</p> }.into_any();
    }
    let view_of = move |locale: Locale| {
        let caption = |what: &str| format!("{scope}: {what}");
        let money = |value, currency| format_money(Money::new(value, currency), locale);
        let money_rows = figures
            .money
            .iter()
            .map(|m| {
                let open = format!("{} ({})", money(m.open, m.currency), m.open_count);
                view! {
                    <tr data-currency=m.currency.code()>
                        <th scope="row">{m.currency.code()}</th>
                        <td class="num" data-figure="captured">{money(m.captured, m.currency)}</td>
                        <td class="num" data-figure="refunded">{money(m.refunded, m.currency)}</td>
                        <td class="num" data-figure="net">{money(m.net(), m.currency)}</td>
                        <td class="num" data-figure="open">{open}</td>
                    </tr>
                }
            })
            .collect_view();
        let status_rows = ordered_totals(&figures.by_status)
            .into_iter()
            .map(|t| {
                view! {
                    <tr data-status=t.status.as_str() data-currency=t.currency.code()>
                        <th scope="row">{till::headline(t.status, locale)}</th>
                        <td class="num" data-figure="count">{t.count}</td>
                        <td class="num">{money(t.amount, t.currency)}</td>
                        <td class="num">{money(t.captured, t.currency)}</td>
                        <td class="num">{money(t.refunded, t.currency)}</td>
                    </tr>
                }
            })
            .collect_view();
        let flow_rows = figures
            .by_flow
            .iter()
            .map(|f| {
                view! {
                    <tr data-flow=f.flow.as_str() data-currency=f.currency.code()>
                        <th scope="row">{history_texts::flow(f.flow, locale)}</th>
                        <td class="num" data-figure="count">{f.count}</td>
                        <td class="num">{money(f.captured, f.currency)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="day-count" data-figure="sales">{texts::sales_started(figures.count, locale)}</p>
            <div class="table-scroll" role="region" tabindex="0" aria-label=caption(texts::money_caption(locale))>
                <table class="sales money">
                    <caption>{caption(texts::money_caption(locale))}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{texts::col_currency(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_taken(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_refunded(locale)}</th>
                            <th scope="col" class="num">{texts::col_net(locale)}</th>
                            <th scope="col" class="num">{texts::col_open(locale)}</th>
                        </tr>
                    </thead>
                    <tbody>{money_rows}</tbody>
                </table>
            </div>
            <div class="table-scroll" role="region" tabindex="0" aria-label=caption(history_texts::totals_caption(locale))>
                <table class="sales by-status">
                    <caption>{caption(history_texts::totals_caption(locale))}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{history_texts::col_status(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_count(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_asked(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_taken(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_refunded(locale)}</th>
                        </tr>
                    </thead>
                    <tbody>{status_rows}</tbody>
                </table>
            </div>
            <div class="table-scroll" role="region" tabindex="0" aria-label=caption(texts::by_flow_caption(locale))>
                <table class="sales by-flow">
                    <caption>{caption(texts::by_flow_caption(locale))}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{history_texts::col_flow(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_count(locale)}</th>
                            <th scope="col" class="num">{history_texts::col_taken(locale)}</th>
                        </tr>
                    </thead>
                    <tbody>{flow_rows}</tbody>
                </table>
            </div>
        }
    };
    (move || view_of(locale.get())).into_any()
}

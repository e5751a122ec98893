//! `/till/history`: a day's sales (today by default, yesterday or a day from the calendar, each
//! from this browser's local midnight), filtered by status and flow and found by one search
//! field, with totals per status and currency, each linking to its detail page.
//!
//! Also home to what the till's own pages share: the navigation bar.

use crate::components::leave::Leave;
use kasse_api::{History, Money, Role, Sale, Total};
use leptos::prelude::*;

use crate::api;
use crate::components::clock::{now_ms, offset_minutes_at};
use crate::components::locale::{LanguageSwitcher, tr, use_locale};
use crate::components::sales_filters::{SalesFilters, day_heading};
use crate::i18n::{Locale, common, history as texts, till};
use crate::state::admin::Place;
use crate::state::history::{self, Day, HistoryFilter};
use crate::state::money::format_money;
use crate::state::till::Failure;

/// The till pages' top bar: links between the sale screen and history, and the language
/// switcher. `current` is the path of the page open (marked for screen readers), or empty.
#[component]
pub fn TillNav(
    /// The open page's path (`/till`, `/till/history`), or empty when neither is open.
    current: &'static str,
) -> impl IntoView {
    let mark = move |path: &'static str| (current == path).then_some("page");
    view! {
        <header class="page-bar">
            <nav class="tabs till-nav" aria-label=tr(common::nav_label)>
                <a href="/till" id="nav-sale" rel="external" aria-current=mark("/till")>
                    {tr(common::nav_sale)}
                </a>
                <a href="/till/history" id="nav-history" aria-current=mark("/till/history")>
                    {tr(common::nav_history)}
                </a>
            </nav>
            <LanguageSwitcher/>
        </header>
    }
}

/// What a page shows when its till cannot be read: the server's sentence, or that it did not
/// answer.
#[component]
pub fn CannotOpen(
    /// Why.
    failure: Failure,
    /// The page's own heading for it.
    heading: fn(Locale) -> &'static str,
) -> impl IntoView {
    let locale = use_locale();
    let sentence = move || match &failure {
        Failure::Refused(problem) => common::problem(problem, locale.get()),
        Failure::NoAnswer => common::no_answer(locale.get()).to_owned(),
    };
    view! {
        <main class="page narrow">
            <h1>{move || heading(locale.get())}</h1>
            <p>{sentence}</p>
            <p><a href="/till" rel="external">{tr(common::to_till)}</a></p>
        </main>
    }
}

/// The history page: for a paired till; a display is sent to its own screen, an unpaired
/// browser to pairing.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let locale = use_locale();
    let session = LocalResource::new(api::session);
    view! {
        <Suspense fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(session) if session.role == Role::Till => {
                        view! { <HistoryView till_id=session.till.id/> }.into_any()
                    }
                    Ok(session) => view! { <Leave path=format!("/display/{}", session.till.id)/> }.into_any(),
                    Err(Failure::Refused(problem)) if problem.status == 401 => {
                        view! { <Leave path="/pair"/> }.into_any()
                    }
                    Err(failure) => view! { <CannotOpen failure heading=texts::cannot_load/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A day's sales of `till_id`, as filtered and searched.
#[component]
fn HistoryView(till_id: String) -> impl IntoView {
    let locale = use_locale();
    let filter = RwSignal::new(HistoryFilter::default());
    let till_id = StoredValue::new(till_id);
    let loaded = LocalResource::new(move || {
        // The day as this browser's clock has it: asked anew each time, so today turns at
        // midnight.
        let query = filter.with(|f| f.query(now_ms(), offset_minutes_at));
        let till_id = till_id.get_value();
        async move { api::history(&till_id, &query).await }
    });
    let heading = move || filter.with(|f| day_heading(f.day, locale.get()));

    view! {
        <main class="page history">
            <TillNav current="/till/history"/>
            <h1 id="history-heading">{heading}</h1>
            <SalesFilters filter refresh=Callback::new(move |()| loaded.refetch())/>
            <Transition fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
                {move || Suspend::new(async move {
                    match loaded.await {
                        Ok(history) => {
                            let (filtered, today) =
                                filter.with_untracked(|f| (!f.is_everything(), f.day == Day::Today));
                            view! { <Sales history filtered today details="/till/sales/"/> }.into_any()
                        }
                        Err(failure) => {
                            let sentence = match failure {
                                Failure::Refused(problem) => common::problem(&problem, locale.get_untracked()),
                                Failure::NoAnswer => common::no_answer(locale.get_untracked()).to_owned(),
                            };
                            view! {
                                <div class="notice" role="alert">
                                    <p>{tr(texts::cannot_load)}</p>
                                    <p>{sentence}</p>
                                </div>
                            }
                            .into_any()
                        }
                    }
                })}
            </Transition>
        </main>
    }
}

/// The sales table and the totals; `today` when the day shown is still going on. With `tills`
/// (each till and open-amount sticker, with its name), a column says which took each sale. Each
/// row links to the sale's page, at `details` followed by its reference (a till's own, or the
/// back office's).
#[component]
pub(crate) fn Sales(
    history: History,
    filtered: bool,
    today: bool,
    details: &'static str,
    #[prop(optional)] tills: Option<Vec<(Place, String)>>,
) -> impl IntoView {
    let locale = use_locale();
    let History { sales, totals, more } = history;
    if sales.is_empty() {
        let empty = move || match (filtered, today) {
            (true, true) => texts::no_match(locale.get()),
            (true, false) => texts::no_match_day(locale.get()),
            (false, true) => texts::no_sales(locale.get()),
            (false, false) => texts::no_sales_day(locale.get()),
        };
        return view! { <p class="empty" id="no-sales">{empty}</p> }.into_any();
    }
    let with_till = tills.is_some();
    let rows = move || {
        let locale = locale.get();
        sales.iter().map(|sale| row(sale, tills.as_deref(), details, locale)).collect_view()
    };
    let caption = move || if today { texts::caption(locale.get()) } else { texts::caption_day(locale.get()) };
    view! {
        {more.then(|| view! { <p class="notice" role="status" id="more-sales">{tr(texts::more_sales)}</p> })}
        <div class="table-scroll" role="region" aria-labelledby="sales-caption" tabindex="0">
            <table class="sales" id="sales">
                <caption id="sales-caption">{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tr(texts::col_time)}</th>
                        {with_till.then(|| view! { <th scope="col">{tr(crate::i18n::admin::col_till)}</th> })}
                        <th scope="col" class="num">{tr(texts::col_amount)}</th>
                        <th scope="col">{tr(texts::col_flow)}</th>
                        <th scope="col">{tr(texts::col_customer)}</th>
                        <th scope="col">{tr(texts::col_status)}</th>
                        <th scope="col">
                            <span class="visually-hidden">{tr(texts::col_details)}</span>
                        </th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <Totals totals today/>
    }
    .into_any()
}

/// One sale's row; with `tills`, the name of its till (or open-amount sticker); a link to its
/// page, under `details`.
fn row(
    sale: &Sale,
    tills: Option<&[(Place, String)]>,
    details: &'static str,
    locale: Locale,
) -> impl IntoView + use<> {
    let time = history::clock(sale.created_at_ms, offset_minutes_at(sale.created_at_ms), locale);
    let amount = format_money(sale.amount, locale);
    let context = format!(", {time}, {amount}");
    let customer = sale.customer.as_ref().map(|c| common::identified(c, locale));
    let known = customer.is_some();
    let customer = customer.unwrap_or_else(|| texts::no_customer(locale).to_owned());
    // A member is worth the cashier's eye in the list; the sale's page says the rest.
    let member = matches!(sale.loyalty, Some(kasse_api::Loyalty::Member { .. }))
        .then(|| sale.loyalty.as_ref().map(|l| common::loyalty(l, locale)))
        .flatten()
        .map(|text| view! { <span class="member">{text}</span> });
    let till = tills.map(|tills| {
        let place = Place::of(sale);
        let unnamed = sale.sticker_id.as_ref().unwrap_or(&sale.till_id);
        let name = tills.iter().find(|(p, _)| *p == place).map_or(unnamed, |(_, name)| name);
        view! { <td class="till">{name.clone()}</td> }
    });
    let details = view! {
        <a class="details-link" href=format!("{details}{}", sale.reference)>
            {texts::details(locale)}
            <span class="visually-hidden">{context}</span>
        </a>
    };
    view! {
        <tr data-reference=sale.reference.clone() data-status=sale.status.as_str()>
            <th scope="row"><time>{time}</time></th>
            {till}
            <td class="num">{amount}</td>
            <td>{texts::flow(sale.flow, locale)}</td>
            <td class:muted=!known>{customer}{member}</td>
            <td class="status" data-tone=tone_name(sale.status)>{till::headline(sale.status, locale)}</td>
            <td>{details}</td>
        </tr>
    }
}

/// How a status should look in a list: taken, not taken, or still open.
pub(crate) const fn tone_name(status: kasse_api::SaleStatus) -> &'static str {
    use kasse_api::SaleStatus;
    match status {
        SaleStatus::Captured | SaleStatus::Authorized => "success",
        SaleStatus::Declined | SaleStatus::Expired | SaleStatus::Cancelled | SaleStatus::Failed => "failure",
        SaleStatus::Refunded
        | SaleStatus::Creating
        | SaleStatus::AwaitingCustomer
        | SaleStatus::Cancelling => "waiting",
    }
}

/// The totals per status and currency, and what was taken after refunds (`today`: the day shown
/// is still going on).
#[component]
fn Totals(totals: Vec<Total>, today: bool) -> impl IntoView {
    let locale = use_locale();
    let net = history::net_taken(&totals);
    let totals = history::ordered_totals(&totals);
    let net_line = move || {
        let locale = locale.get();
        let amounts: Vec<String> = net.iter().map(|m| format_money(*m, locale)).collect();
        (!amounts.is_empty()).then(|| {
            view! {
                <p class="net" id="net-taken">
                    {if today { texts::net_taken(locale) } else { texts::net_taken_day(locale) }}
                    " "
                    <strong>{amounts.join(" · ")}</strong>
                </p>
            }
        })
    };
    let rows = move || {
        let locale = locale.get();
        totals
            .iter()
            .map(|total| {
                let money = |value| format_money(Money::new(value, total.currency), locale);
                view! {
                    <tr data-status=total.status.as_str() data-currency=total.currency.code()>
                        <th scope="row">{till::headline(total.status, locale)}</th>
                        <td class="num">{total.count}</td>
                        <td class="num">{money(total.amount)}</td>
                        <td class="num" data-total="captured">{money(total.captured)}</td>
                        <td class="num" data-total="refunded">{money(total.refunded)}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="totals" aria-labelledby="totals-heading">
            <h2 id="totals-heading">{tr(texts::totals)}</h2>
            {net_line}
            <div class="table-scroll" role="region" aria-labelledby="totals-caption" tabindex="0">
                <table class="sales" id="totals">
                    <caption id="totals-caption">{tr(texts::totals_caption)}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{tr(texts::col_status)}</th>
                            <th scope="col" class="num">{tr(texts::col_count)}</th>
                            <th scope="col" class="num">{tr(texts::col_asked)}</th>
                            <th scope="col" class="num">{tr(texts::col_taken)}</th>
                            <th scope="col" class="num">{tr(texts::col_refunded)}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

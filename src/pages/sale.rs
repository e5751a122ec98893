//! `/till/sales/{reference}`: one sale's details, its amounts, its event log at the platform, and
//! what can still be done: take all or part of an approved reservation, release the rest,
//! refund, or ask the platform again. The page follows the till's live events, so it changes
//! when this sale does.

use crate::components::leave::Leave;
use kasse_api::{Money, Role, Sale, SaleEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::history::{CannotOpen, TillNav, tone_name};
use crate::api;
use crate::components::clock::offset_minutes_at;
use crate::components::locale::{tr, use_locale};
use crate::i18n::{common, history as history_texts, sale as texts, till};
use crate::state::history::{clock, clock_with_seconds};
use crate::state::money::format_money;
use crate::state::sale_detail::{Action, Request, SaleDetail};
use crate::state::till::{Connection, Failure};

/// What the page needs, read once on arrival.
#[derive(Debug, Clone)]
enum Loaded {
    /// The sale of this browser's till.
    Sale {
        /// The till.
        till_id: String,
        /// The sale.
        sale: Box<Sale>,
        /// Its event log, unless it could not be read.
        log: Option<Vec<SaleEvent>>,
        /// The till's newest live event: the page follows from there.
        last_event_id: u64,
    },
    /// This browser is a customer display: it has its own screen.
    Display(String),
}

async fn load(reference: String) -> Result<Loaded, Failure> {
    let session = api::session().await?;
    let till_id = session.till.id;
    if session.role == Role::Display {
        return Ok(Loaded::Display(till_id));
    }
    // The snapshot first: events after its id cover every change after the sale is read.
    let snapshot = api::till_snapshot(&till_id).await?;
    let sale = api::sale(&till_id, &reference).await?;
    let log = api::sale_log(&till_id, &reference).await.ok();
    Ok(Loaded::Sale { till_id, sale: Box::new(sale), log, last_event_id: snapshot.last_event_id })
}

/// The sale detail page.
#[component]
pub fn SalePage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let loaded = LocalResource::new(move || {
        let reference = params.read().get("reference").unwrap_or_default();
        load(reference)
    });
    view! {
        <Suspense fallback=move || view! { <p class="loading">{common::loading(locale.get())}</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(Loaded::Sale { till_id, sale, log, last_event_id }) => {
                        view! { <Detail till_id sale=*sale log last_event_id/> }.into_any()
                    }
                    Ok(Loaded::Display(till_id)) => view! { <Leave path=format!("/display/{till_id}")/> }.into_any(),
                    Err(Failure::Refused(problem)) if problem.status == 401 => {
                        view! { <Leave path="/pair"/> }.into_any()
                    }
                    Err(failure) => view! { <CannotOpen failure heading=texts::cannot_load/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The page for a loaded sale.
#[component]
fn Detail(till_id: String, sale: Sale, log: Option<Vec<SaleEvent>>, last_event_id: u64) -> impl IntoView {
    let locale = use_locale();
    let model = RwSignal::new(SaleDetail::new(sale, log, last_event_id));
    let reference = model.with_untracked(|m| m.sale.reference.clone());
    let names = StoredValue::new((till_id.clone(), reference));

    // Reads the log again (after the sale changed).
    let reread_log = move || {
        spawn_local(async move {
            let Some((till_id, reference)) = names.try_get_value() else { return };
            let log = api::sale_log(&till_id, &reference).await.ok();
            model.try_update(|m| m.set_log(log));
        });
    };
    // Reads the sale and its log again (after an unanswered request or a reconnect).
    let reread = move || {
        spawn_local(async move {
            let Some((till_id, reference)) = names.try_get_value() else { return };
            if let Ok(sale) = api::sale(&till_id, &reference).await {
                model.try_update(|m| m.reread(sale));
            }
            let log = api::sale_log(&till_id, &reference).await.ok();
            model.try_update(|m| m.set_log(log));
        });
    };

    let events = api::till_events(
        &till_id,
        model.with_untracked(SaleDetail::last_event_id),
        move |id, event| {
            if model.try_update(|m| m.apply_event(id, event)).unwrap_or(false) {
                reread_log();
            }
        },
        move |connection| {
            let Some(was) = model.try_with_untracked(|m| m.connection) else { return };
            model.try_update(|m| m.set_connection(connection));
            // Back after a drop: the stream replays what it missed, and a fresh read settles
            // anything a request in the gap left unsure.
            if was == Connection::Reconnecting && connection == Connection::Online {
                reread();
            }
        },
    );
    // Closed when the page goes away.
    StoredValue::new_local(events);

    let act = move |action: Action| {
        let Some(request) = model.try_update(|m| m.begin(action)).flatten() else { return };
        spawn_local(async move {
            let Some((till_id, reference)) = names.try_get_value() else { return };
            let answer = match request {
                Request::Capture(amount) => api::capture(&till_id, &reference, amount).await,
                Request::Release => api::cancel_sale(&till_id, &reference).await,
                Request::Refund(amount) => api::refund(&till_id, &reference, amount).await,
                Request::Reconcile => api::reconcile(&till_id, &reference).await,
            };
            match answer {
                Ok(sale) => {
                    model.try_update(|m| m.answered(sale));
                    reread_log();
                }
                Err(failure) => {
                    let unsure = failure == Failure::NoAnswer;
                    model.try_update(|m| m.failed(failure));
                    if unsure {
                        reread();
                    }
                }
            }
        });
    };

    let sale = Memo::new(move |_| model.with(|m| m.sale.clone()));
    let money = move |value: Money| format_money(value, locale.get());
    let amount = move || money(sale.with(|s| s.amount));
    let status = move || sale.with(|s| s.status);
    let busy = move || model.with(SaleDetail::busy);
    let can_capture = move || model.with(SaleDetail::can_capture);
    let can_refund = move || model.with(SaleDetail::can_refund);

    view! {
        <main class="page detail" data-reference=move || sale.with(|s| s.reference.clone())>
            <TillNav current=""/>
            <h1 class="detail-heading">
                <span class="detail-kind">{tr(texts::heading)}</span>
                " "
                <span id="sale-amount">{amount}</span>
            </h1>
            <p class="detail-status" id="sale-status" data-status=move || status().as_str() data-tone=move || tone_name(status())>
                {move || till::headline(status(), locale.get())}
            </p>
            <Facts sale/>
            <section class="detail-section" aria-labelledby="amounts-heading">
                <h2 id="amounts-heading">{tr(texts::amounts)}</h2>
                <dl class="amounts">
                    <div data-amount="authorized">
                        <dt>{tr(texts::authorized)}</dt>
                        <dd>{move || money(sale.with(|s| s.authorized))}</dd>
                    </div>
                    <div data-amount="captured">
                        <dt>{tr(texts::captured)}</dt>
                        <dd>{move || money(sale.with(|s| s.captured))}</dd>
                    </div>
                    <div data-amount="cancelled">
                        <dt>{tr(texts::cancelled)}</dt>
                        <dd>{move || money(sale.with(|s| s.cancelled))}</dd>
                    </div>
                    <div data-amount="refunded">
                        <dt>{tr(texts::refunded)}</dt>
                        <dd>{move || money(sale.with(|s| s.refunded))}</dd>
                    </div>
                </dl>
            </section>
            <section class="detail-section detail-actions" aria-labelledby="actions-heading">
                <h2 id="actions-heading">{tr(texts::actions)}</h2>
                <Show when=can_capture>
                    <Capture model act/>
                </Show>
                <Show when=can_refund>
                    <Refund model act/>
                </Show>
                <Show when=move || !can_capture() && !can_refund()>
                    <p class="muted">{tr(texts::nothing_to_do)}</p>
                </Show>
                <button type="button" class="secondary" id="check-again" disabled=busy on:click=move |_| act(Action::CheckAgain)>
                    {tr(texts::check_again)}
                </button>
                <p class="sending" role="status">
                    {move || busy().then(|| texts::sending(locale.get()))}
                </p>
                <Show when=move || model.with(|m| m.unsure)>
                    <p class="notice" role="status" id="unsure">{tr(texts::unsure)}</p>
                </Show>
                {move || model.with(|m| m.notice.as_ref().map(|n| common::notice(n, locale.get()))).map(|text| view! { <p class="notice" role="alert" id="refusal">{text}</p> })}
            </section>
            <Log model/>
        </main>
    }
}

/// The sale's facts.
#[component]
fn Facts(sale: Memo<Sale>) -> impl IntoView {
    let locale = use_locale();
    let description = move || {
        sale.with(|s| s.description.clone()).unwrap_or_else(|| texts::no_description(locale.get()).to_owned())
    };
    let customer = move || {
        sale.with(|s| s.customer.as_ref().map(|c| common::identified(c, locale.get())))
            .unwrap_or_else(|| texts::no_customer(locale.get()).to_owned())
    };
    let started = move || {
        let at = sale.with(|s| s.created_at_ms);
        clock(at, offset_minutes_at(at), locale.get())
    };
    view! {
        <section class="detail-section" aria-labelledby="facts-heading">
            <h2 id="facts-heading" class="visually-hidden">{tr(texts::facts)}</h2>
            <dl class="facts">
                <div>
                    <dt>{tr(texts::description)}</dt>
                    <dd>{description}</dd>
                </div>
                <div>
                    <dt>{tr(texts::customer)}</dt>
                    <dd>{customer}</dd>
                </div>
                <div>
                    <dt>{tr(texts::flow)}</dt>
                    <dd>{move || history_texts::flow(sale.with(|s| s.flow), locale.get())}</dd>
                </div>
                <div>
                    <dt>{tr(texts::started)}</dt>
                    <dd>{started}</dd>
                </div>
                <div>
                    <dt>{tr(texts::reference)}</dt>
                    <dd><code id="sale-reference">{move || sale.with(|s| s.reference.clone())}</code></dd>
                </div>
            </dl>
        </section>
    }
}

/// Taking the reservation: all of it, part of it, or releasing the rest.
#[component]
fn Capture(
    model: RwSignal<SaleDetail>,
    act: impl Fn(Action) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let locale = use_locale();
    let left = move || model.with(SaleDetail::capturable);
    let busy = move || model.with(SaleDetail::busy);
    let mistake = move || model.with(|m| m.part_mistake).map(|m| texts::mistake(m, locale.get()));
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        act(Action::CapturePart);
    };
    view! {
        <div class="action-group" id="capture">
            <p class="muted">
                {tr(texts::still_reserved)} " "
                <strong id="capturable">{move || format_money(left(), locale.get())}</strong>
            </p>
            <button type="button" class="primary" id="capture-all" disabled=busy on:click=move |_| act(Action::CaptureAll)>
                {move || texts::capture_all_of(left(), locale.get())}
            </button>
            <form class="amount-form" on:submit=submit>
                <label for="capture-part">{tr(texts::part_label)}</label>
                <div class="amount-row">
                    <input
                        id="capture-part"
                        type="text"
                        inputmode="decimal"
                        autocomplete="off"
                        aria-invalid=move || mistake().map(|_| "true")
                        aria-describedby="capture-part-mistake"
                        prop:value=move || model.with(|m| m.part.clone())
                        on:input=move |e| model.update(|m| m.type_part(event_target_value(&e)))
                    />
                    <button type="submit" class="secondary" id="capture-part-submit" disabled=busy>
                        {tr(texts::capture_part)}
                    </button>
                </div>
                <p class="field-mistake" id="capture-part-mistake" aria-live="polite">{mistake}</p>
            </form>
            <button type="button" class="secondary" id="release" disabled=busy on:click=move |_| act(Action::Release)>
                {tr(texts::release)}
            </button>
        </div>
    }
}

/// Giving back some or all of what was taken.
#[component]
fn Refund(model: RwSignal<SaleDetail>, act: impl Fn(Action) + Copy + Send + Sync + 'static) -> impl IntoView {
    let locale = use_locale();
    let left = move || model.with(SaleDetail::refundable);
    let busy = move || model.with(SaleDetail::busy);
    let mistake = move || model.with(|m| m.refund_mistake).map(|m| texts::mistake(m, locale.get()));
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        act(Action::Refund);
    };
    view! {
        <form class="action-group amount-form" id="refund-form" on:submit=submit>
            <label for="refund-amount">{tr(texts::refund_label)}</label>
            <p class="muted" id="refund-hint">
                {tr(texts::refund_hint)} " "
                <strong id="refundable">{move || format_money(left(), locale.get())}</strong>
            </p>
            <div class="amount-row">
                <input
                    id="refund-amount"
                    type="text"
                    inputmode="decimal"
                    autocomplete="off"
                    aria-invalid=move || mistake().map(|_| "true")
                    aria-describedby="refund-hint refund-mistake"
                    prop:value=move || model.with(|m| m.refund.clone())
                    on:input=move |e| model.update(|m| m.type_refund(event_target_value(&e)))
                />
                <button type="submit" class="secondary" id="refund" disabled=busy>
                    {tr(texts::refund)}
                </button>
            </div>
            <p class="field-mistake" id="refund-mistake" aria-live="polite">{mistake}</p>
        </form>
    }
}

/// The platform's event log of the sale, oldest first.
#[component]
fn Log(model: RwSignal<SaleDetail>) -> impl IntoView {
    let locale = use_locale();
    let log = Memo::new(move |_| model.with(|m| m.log.clone()));
    let entries = move || {
        let locale = locale.get();
        match log.get() {
            None => view! { <p class="muted" id="log-unavailable">{texts::log_unavailable(locale)}</p> }.into_any(),
            Some(events) if events.is_empty() => {
                view! { <p class="muted">{texts::log_empty(locale)}</p> }.into_any()
            }
            Some(events) => view! {
                <ol class="log" id="log">
                    {events
                        .into_iter()
                        .map(|event| {
                            let time = clock_with_seconds(event.at_ms, offset_minutes_at(event.at_ms), locale);
                            let name = texts::event_name(event.name, locale);
                            view! {
                                <li data-event=event.name.as_str() data-success=event.success.to_string() class:failed=!event.success>
                                    <time>{time}</time>
                                    <span class="log-name">{name}</span>
                                    <span class="log-amount">{format_money(event.amount, locale)}</span>
                                    {(!event.success).then(|| view! { <strong class="log-failed">{texts::failed_mark(locale)}</strong> })}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            }
            .into_any(),
        }
    };
    view! {
        <section class="detail-section" aria-labelledby="log-heading">
            <h2 id="log-heading">{tr(texts::log_heading)}</h2>
            {entries}
        </section>
    }
}

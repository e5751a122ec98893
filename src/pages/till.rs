//! The till: type an amount, show the customer a QR code, watch the payment happen.
//!
//! The page loads the till's snapshot, then follows its live event stream. Every change to the
//! sale comes from the server (a request's answer, an event, or a fresh snapshot); the page only
//! turns the cashier's presses into requests.

use std::time::Duration;

use kasse_api::{SaleStatus, TillSnapshot};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Redirect;

use crate::api;
use crate::components::connection::ConnectionBadge;
use crate::components::keypad::Keypad;
use crate::components::qr::QrCode;
use crate::state::keypad::Key;
use crate::state::money::{Locale, format_money};
use crate::state::till::{self, Connection, Failure, TillModel, Tone};

/// `/till`: loads the till this browser works for.
#[component]
pub fn TillPage() -> impl IntoView {
    let loaded = LocalResource::new(|| async {
        let session = api::session().await?;
        api::till_snapshot(&session.till.id).await
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the till…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(snapshot) => view! { <Till snapshot/> }.into_any(),
                    Err(Failure::Refused(problem)) if problem.status == 401 => {
                        view! { <Redirect path="/pair"/> }.into_any()
                    }
                    Err(Failure::Refused(problem)) => view! {
                        <main class="page narrow"><h1>"The till cannot open"</h1><p>{problem.sentence().to_owned()}</p></main>
                    }.into_any(),
                    Err(Failure::NoAnswer) => view! {
                        <main class="page narrow">
                            <h1>"No connection to the server"</h1>
                            <p>"Check the network, then reload the page."</p>
                        </main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Asks the server what is true now, after a request got no answer or the stream reconnected.
fn resync(model: RwSignal<TillModel>, till_id: String) {
    spawn_local(async move {
        if let Ok(snapshot) = api::till_snapshot(&till_id).await {
            model.update(|m| m.apply_snapshot(snapshot));
        }
    });
}

fn now_ms() -> i64 {
    // Milliseconds since the epoch fit an i64 for the next 290 million years.
    #[allow(clippy::cast_possible_truncation)]
    let now = js_sys::Date::now() as i64;
    now
}

/// The till screen for a loaded till.
#[component]
fn Till(snapshot: TillSnapshot) -> impl IntoView {
    let model = RwSignal::new(TillModel::new(snapshot));
    let till_id = model.with_untracked(|m| m.till.id.clone());

    let events = {
        let till_id = till_id.clone();
        api::TillEvents::open(
            &till_id.clone(),
            model.with_untracked(TillModel::last_event_id),
            move |id, event| model.update(|m| m.apply_event(id, event)),
            move |connection| {
                let was = model.with_untracked(|m| m.connection);
                model.update(|m| m.set_connection(connection));
                // Back after a drop: the stream replays events, and a snapshot settles anything
                // a request in the gap left unsure.
                if was == Connection::Reconnecting && connection == Connection::Online {
                    resync(model, till_id.clone());
                }
            },
        )
    };
    // Closed when the page goes away.
    StoredValue::new_local(events);

    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1)) {
        on_cleanup(move || ticker.clear());
    }

    let press = move |key: Key| model.update(|m| m.press(key));
    let start = {
        let till_id = till_id.clone();
        move || {
            let Some(request) = model.try_update(TillModel::start_qr).flatten() else { return };
            let till_id = till_id.clone();
            spawn_local(async move {
                match api::start_sale(&till_id, &request).await {
                    Ok(sale) => model.update(|m| m.request_answered(sale)),
                    Err(failure) => {
                        let unsure = failure == Failure::NoAnswer;
                        model.update(|m| m.request_failed(failure));
                        if unsure {
                            resync(model, till_id);
                        }
                    }
                }
            });
        }
    };
    let cancel = {
        let till_id = till_id.clone();
        move || {
            let Some(reference) = model.with_untracked(|m| m.sale.as_ref().map(|s| s.reference.clone()))
            else {
                return;
            };
            model.update(TillModel::request_sent);
            let till_id = till_id.clone();
            spawn_local(async move {
                match api::cancel_sale(&till_id, &reference).await {
                    Ok(sale) => model.update(|m| m.request_answered(sale)),
                    Err(failure) => {
                        model.update(|m| m.request_failed(failure));
                        // Whatever the cancel's fate, show the sale as the server has it now.
                        resync(model, till_id);
                    }
                }
            });
        }
    };

    let keyboard = {
        let start = start.clone();
        window_event_listener(leptos::ev::keydown, move |event| {
            if event.key() == "Enter" {
                start();
            } else if let Some(key) = Key::from_keyboard(&event.key()) {
                press(key);
            }
        })
    };
    on_cleanup(move || keyboard.remove());

    let store_line = model.with_untracked(|m| format!("{} · {}", m.till.store_name, m.till.name));
    let connection = Signal::derive(move || model.with(|m| m.connection));
    let amount = move || model.with(|m| format_money(m.amount(), Locale::En));
    let keypad_locked = Signal::derive(move || model.with(|m| m.busy));
    let cannot_start = move || model.with(|m| !m.can_start());
    let has_sale = move || model.with(|m| m.sale.is_some());
    let notice = move || model.with(|m| m.notice.clone());
    let unsure = move || model.with(|m| m.unsure);

    view! {
        <main class="till">
            <header class="bar">
                <span class="where">{store_line}</span>
                <ConnectionBadge connection/>
            </header>
            <Show
                when=has_sale
                fallback=move || {
                    let start = start.clone();
                    view! {
                        <section class="entry" aria-label="New sale">
                            <output class="amount" id="amount" aria-live="polite">{amount}</output>
                            <Keypad on_press=press disabled=keypad_locked/>
                            <button type="button" class="primary" id="show-qr" disabled=cannot_start on:click=move |_| start()>
                                "Show QR"
                            </button>
                        </section>
                    }
                }
            >
                <SalePanel model now cancel=cancel.clone()/>
            </Show>
            <Show when=unsure>
                <p class="notice" role="status">"No answer from the server. Checking what happened…"</p>
            </Show>
            {move || notice().map(|text| view! { <p class="notice" role="alert">{text}</p> })}
        </main>
    }
}

/// The sale on screen: its status, the QR code while the customer can scan it, and what the
/// cashier can do next.
#[component]
fn SalePanel(
    model: RwSignal<TillModel>,
    now: RwSignal<i64>,
    cancel: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let sale = Memo::new(move |_| model.with(|m| m.sale.clone()));
    let status = move || sale.get().map_or(SaleStatus::Creating, |s| s.status);
    let status_name = move || status().as_str();
    let tone_name = move || match till::tone(status()) {
        Tone::Waiting => "waiting",
        Tone::Success => "success",
        Tone::Failure => "failure",
    };
    let headline = move || till::headline(status());
    let explanation = move || sale.get().map(|s| till::explanation(&s)).unwrap_or_default();
    let amount = move || sale.get().map(|s| format_money(s.amount, Locale::En)).unwrap_or_default();
    let reference = move || sale.get().map(|s| s.reference).unwrap_or_default();
    let qr_text = Memo::new(move |_| sale.get().and_then(|s| s.qr));
    let countdown = move || model.with(|m| m.seconds_left(now.get())).map(till::format_countdown);
    let cancellable = move || matches!(status(), SaleStatus::Creating | SaleStatus::AwaitingCustomer);
    let finished = move || status().is_final();
    let busy = move || model.with(|m| m.busy);

    view! {
        <section class="sale" data-status=status_name data-tone=tone_name aria-live="polite">
            <h1 class="headline">{headline}</h1>
            <p class="sale-amount">{amount}</p>
            {move || qr_text.get().map(|text| {
                let label = format!("QR code to pay {}", amount());
                view! { <figure class="qr-frame"><QrCode text label/></figure> }
            })}
            {move || countdown().map(|left| view! {
                <p class="countdown">"Expires in " <time>{left}</time></p>
            })}
            <p class="explanation">{explanation}</p>
            <div class="actions">
                <Show when=cancellable>
                    {
                        let cancel = cancel.clone();
                        view! {
                            <button type="button" class="secondary" id="cancel" disabled=busy on:click=move |_| cancel()>
                                "Cancel payment"
                            </button>
                        }
                    }
                </Show>
                <Show when=finished>
                    <button type="button" class="primary" id="next-sale" on:click=move |_| model.update(TillModel::next_sale)>
                        "New sale"
                    </button>
                </Show>
            </div>
            <p class="reference">"Reference " <code>{reference}</code></p>
        </section>
    }
}

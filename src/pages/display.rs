//! `/display/{till}`: the customer-facing display of a till. It mirrors the till's current sale,
//! big and calm: a welcome, the amount with the QR code (or "approve in your app"), then the
//! outcome in words. It has no buttons but the language switcher: it only watches (the server
//! refuses a display anything else).

use std::time::Duration;

use kasse_api::{SaleStatus, TillSnapshot};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Redirect;

use crate::components::leave::Leave;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::clock::now_ms;
use crate::components::locale::{LanguageSwitcher, tr, use_locale};
use crate::components::qr::QrCode;
use crate::i18n::{common, display as texts};
use crate::state::display::{self, DisplayModel, Screen, Tone};
use crate::state::money::format_money;
use crate::state::till::{Charged, Connection, Failure};

/// How long a display that lost the server waits before trying again.
const RETRY: Duration = Duration::from_secs(5);

/// What the page found on arrival.
#[derive(Debug, Clone)]
enum Opened {
    /// The till this browser is paired with, as it is now.
    Till(Box<TillSnapshot>),
    /// The browser is paired with another till than the address names.
    Elsewhere(String),
}

async fn open(till_id: String) -> Result<Opened, Failure> {
    let session = api::session().await?;
    if session.till.id != till_id {
        return Ok(Opened::Elsewhere(session.till.id));
    }
    Ok(Opened::Till(Box::new(api::till_snapshot(&till_id).await?)))
}

/// The customer display. An unpaired browser is sent to pairing; one paired with another till,
/// to that till's display.
#[component]
pub fn DisplayPage() -> impl IntoView {
    let locale = use_locale();
    let params = use_params_map();
    let opened = LocalResource::new(move || open(params.read().get("till").unwrap_or_default()));
    view! {
        <Suspense fallback=move || view! { <main class="display" data-screen="loading"></main> }>
            {move || Suspend::new(async move {
                match opened.await {
                    Ok(Opened::Till(snapshot)) => view! { <Display snapshot=*snapshot/> }.into_any(),
                    Ok(Opened::Elsewhere(own)) => view! { <Redirect path=format!("/display/{own}")/> }.into_any(),
                    Err(Failure::Refused(problem)) if problem.status == 401 => {
                        view! { <Leave path="/pair"/> }.into_any()
                    }
                    Err(failure) => {
                        // A display hangs on a wall with nobody to press reload: it tries again.
                        if failure == Failure::NoAnswer {
                            set_timeout(move || opened.refetch(), RETRY);
                        }
                        let sentence = match failure {
                            Failure::Refused(problem) => common::problem(&problem, locale.get_untracked()),
                            Failure::NoAnswer => common::no_answer(locale.get_untracked()).to_owned(),
                        };
                        view! {
                            <main class="display" data-screen="unavailable">
                                <div class="display-body">
                                    <h1 class="display-prompt">{tr(texts::cannot_show)}</h1>
                                    <p class="display-line">{sentence}</p>
                                </div>
                            </main>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Asks the server for the till's state after the stream came back.
fn resync(model: RwSignal<DisplayModel>, till_id: String) {
    spawn_local(async move {
        if let Ok(snapshot) = api::till_snapshot(&till_id).await {
            model.try_update(|m| m.apply_snapshot(snapshot, now_ms()));
        }
    });
}

/// The display of a loaded till.
#[component]
fn Display(snapshot: TillSnapshot) -> impl IntoView {
    let locale = use_locale();
    let model = RwSignal::new(DisplayModel::new(snapshot));
    let till_id = model.with_untracked(|m| m.till.id.clone());
    let store_name = model.with_untracked(|m| m.till.store_name.clone());

    let events = {
        let till_id = till_id.clone();
        api::till_events(
            &till_id.clone(),
            model.with_untracked(DisplayModel::last_event_id),
            move |id, event| {
                model.try_update(|m| m.apply_event(id, event, now_ms()));
            },
            move |connection| {
                let Some(was) = model.try_with_untracked(|m| m.connection) else { return };
                model.try_update(|m| m.set_connection(connection));
                if was == Connection::Reconnecting && connection == Connection::Online {
                    resync(model, till_id.clone());
                }
            },
        )
    };
    // Closed when the page goes away.
    StoredValue::new_local(events);

    // The clock an outcome's minute on screen is measured by.
    let now = RwSignal::new(now_ms());
    if let Ok(ticker) = set_interval_with_handle(move || now.set(now_ms()), Duration::from_secs(1)) {
        on_cleanup(move || ticker.clear());
    }

    let screen = Memo::new(move |_| model.with(|m| m.screen(now.get())));
    let screen_name = move || match screen.get() {
        Screen::Idle => "idle",
        Screen::OneMoment { .. } => "moment",
        Screen::Pay { .. } => "pay",
        Screen::Outcome { .. } => "outcome",
    };
    let tone_name = move || match screen.get() {
        Screen::Outcome { status, .. } => match display::tone(status) {
            Tone::Success => "success",
            Tone::Neutral => "neutral",
            Tone::Failure => "failure",
        },
        _ => "neutral",
    };
    let reconnecting = move || model.with(|m| m.connection == Connection::Reconnecting);
    let outcome = move || match screen.get() {
        Screen::Outcome { status, .. } => Some(status),
        _ => None,
    };

    view! {
        <main class="display" data-screen=screen_name data-tone=tone_name>
            <div class="display-corner">
                <Show when=reconnecting>
                    <span class="display-connection">{tr(common::reconnecting)}</span>
                </Show>
                <LanguageSwitcher/>
            </div>
            <div class="display-body">
                {move || match screen.get() {
                    Screen::Idle => view! {
                        <p class="display-store">{store_name.clone()}</p>
                        <h1 class="display-welcome">{texts::welcome(locale.get())}</h1>
                        <p class="display-line">{texts::welcome_line(locale.get())}</p>
                    }
                    .into_any(),
                    Screen::OneMoment { amount } => view! {
                        <Amount amount=Charged::Whole(amount)/>
                        <h1 class="display-prompt">{texts::one_moment(locale.get())}</h1>
                    }
                    .into_any(),
                    Screen::Pay { amount, qr } => {
                        let prompt = if qr.is_some() { texts::scan(locale.get()) } else { texts::approve_in_app(locale.get()) };
                        let code = qr.map(|text| {
                            let label = format!("{} {}", common::qr_label(locale.get()), format_money(amount, locale.get()));
                            view! { <figure class="display-qr"><QrCode text label/></figure> }
                        });
                        view! {
                            <Amount amount=Charged::Whole(amount)/>
                            {code}
                            <h1 class="display-prompt">{prompt}</h1>
                        }
                        .into_any()
                    }
                    Screen::Outcome { amount, .. } => view! { <Amount amount paid=true/> }.into_any(),
                }}
                // Always there, so the outcome is announced when it appears.
                <div class="display-outcome" role="status" aria-live="polite" aria-atomic="true">
                    {move || outcome().map(|status| view! { <Outcome status/> })}
                </div>
            </div>
        </main>
    }
}

/// The amount to pay (or, once the payment ended, the amount it was for, or what was taken of
/// it when a capture took only part).
#[component]
fn Amount(
    amount: Charged,
    /// The payment has ended: the amount is no longer "to pay".
    #[prop(optional)]
    paid: bool,
) -> impl IntoView {
    let locale = use_locale();
    view! {
        {(!paid).then(|| view! { <p class="display-label">{tr(texts::to_pay)}</p> })}
        <p class="display-amount" id="display-amount">{move || common::charged(amount, locale.get())}</p>
    }
}

/// How the payment ended, in words.
#[component]
fn Outcome(status: SaleStatus) -> impl IntoView {
    let locale = use_locale();
    view! {
        <h1 class="display-result" id="display-result" data-status=status.as_str()>
            {move || texts::outcome(status, locale.get())}
        </h1>
        <p class="display-line">{move || texts::outcome_line(status, locale.get())}</p>
    }
}

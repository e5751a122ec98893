//! `/till/sales/{reference}`: one sale's details, its amounts, its event log at the platform, and
//! what can still be done: take all or part of an approved reservation, release the rest,
//! refund, or ask the platform again. The page follows the till's live events, so it changes
//! when this sale does. What it shows is `body`'s, which the back office's sale page shares.

mod body;

pub(crate) use body::SaleBody;

use crate::components::leave::Leave;
use kasse_api::{Role, Sale, SaleEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::history::{CannotOpen, TillNav};
use crate::api;
use crate::components::locale::use_locale;
use crate::i18n::{common, sale as texts};
use crate::state::sale_detail::{Action, Request, SaleDetail};
use crate::state::till::{Connection, Failure};

/// How long the page waits for a write the platform has not answered to show.
const GIVE_UP_AFTER: std::time::Duration = std::time::Duration::from_mins(1);

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
                Request::Refund { amount, pin } => api::refund(&till_id, &reference, amount, pin).await,
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
            // A write waiting for the platform shows in a live event; should none come (it was
            // never made), the page lets the cashier act again after a minute.
            if model.try_with_untracked(|m| m.waiting).unwrap_or(false) {
                set_timeout(
                    move || {
                        model.try_update(SaleDetail::give_up_waiting);
                    },
                    GIVE_UP_AFTER,
                );
            }
        });
    };

    view! {
        <main class="page detail" data-reference=move || model.with(|m| m.sale.reference.clone())>
            <TillNav current=""/>
            <SaleBody model act/>
        </main>
    }
}

//! The control API, for tests and demos: see what the platform received (payments, webhook
//! attempts, loyalty check-ins), set the fault knobs, move its clock, and read the sales units'
//! credentials. Not part of the real platform; everything lives under `/sim/control`, and no fault
//! knob ever touches it.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use kasse_vipps::Currency;
use kasse_vipps::epayment::{Aggregate, Amount, State as PaymentState, UserFlow};
use serde::{Deserialize, Serialize};

use crate::Sim;
use crate::check_in_api::LoyaltyCheckInRecord;
use crate::delivery::Attempt;
use crate::error::SimError;
use crate::faults::{FaultKnobs, InjectedFault};
use crate::http::parse;
use crate::world::{Payment, ReceivedWrite};

/// The control routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/sim/control/payments", get(payments))
        .route("/sim/control/payments/{msn}/{reference}", get(payment))
        .route("/sim/control/webhook-attempts", get(attempts))
        .route("/sim/control/faults", get(faults).put(set_faults))
        .route("/sim/control/faults/injected", get(injected))
        .route("/sim/control/faults/deliver-held", post(deliver_held))
        .route("/sim/control/clock", post(advance_clock))
        .route("/sim/control/sales-units", get(sales_units))
        .route("/sim/control/loyalty-check-ins", get(loyalty_check_ins))
}

/// A payment as the control API reports it: the platform's view plus what was received.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    /// The sales unit.
    pub msn: String,
    /// The reference.
    pub reference: String,
    /// The amount asked for.
    pub amount: Amount,
    /// The user flow.
    pub user_flow: UserFlow,
    /// The state.
    pub state: PaymentState,
    /// Running totals.
    pub aggregate: Aggregate,
    /// The writes received for it, oldest first: the newest 100, refusals and replays included.
    pub received: Vec<ReceivedWrite>,
}

impl From<&Payment> for PaymentRecord {
    fn from(p: &Payment) -> Self {
        Self {
            msn: p.msn.clone(),
            reference: p.reference.clone(),
            amount: p.request.amount,
            user_flow: p.request.user_flow,
            state: p.state,
            aggregate: p.aggregate,
            received: p.received.to_vec(),
        }
    }
}

async fn payments(State(sim): State<Arc<Sim>>) -> Json<Vec<PaymentRecord>> {
    Json(sim.payment_records())
}

async fn payment(
    State(sim): State<Arc<Sim>>,
    Path((msn, reference)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let record = sim.world().payment(&msn, &reference).map(PaymentRecord::from);
    match record {
        Some(record) => Json(record).into_response(),
        None => SimError::not_found("No payment with this reference for this sales unit.")
            .at(uri.path())
            .into_response(),
    }
}

async fn faults(State(sim): State<Arc<Sim>>) -> Json<FaultKnobs> {
    Json(sim.faults.knobs())
}

/// Sets every knob: one left out is off.
async fn set_faults(State(sim): State<Arc<Sim>>, OriginalUri(uri): OriginalUri, body: Bytes) -> Response {
    let knobs = serde_json::from_slice::<FaultKnobs>(&body)
        .map_err(|e| SimError::validation("body", &format!("Not fault knobs: {e}")))
        .and_then(|knobs| knobs.validate().map(|()| knobs));
    match knobs {
        Ok(knobs) => {
            sim.set_faults(knobs);
            Json(knobs).into_response()
        }
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn injected(State(sim): State<Arc<Sim>>) -> Json<Vec<InjectedFault>> {
    Json(sim.faults.injected())
}

/// What `POST /sim/control/faults/deliver-held` answers.
#[derive(Debug, Serialize)]
struct Delivered {
    /// How many held creates the platform processed.
    delivered: usize,
}

/// Delivers the creates the knob `holdCreates` held, and answers once they are processed.
async fn deliver_held(State(sim): State<Arc<Sim>>) -> Json<Delivered> {
    Json(Delivered { delivered: sim.faults.deliver_held().await })
}

/// `GET /sim/control/loyalty-check-ins`: the Check-in API's loyalty check-ins, oldest first.
async fn loyalty_check_ins(State(sim): State<Arc<Sim>>) -> Json<Vec<LoyaltyCheckInRecord>> {
    Json(sim.loyalty_check_ins.all())
}

async fn attempts(State(sim): State<Arc<Sim>>) -> Json<Vec<Attempt>> {
    Json(sim.deliveries.attempts())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Advance {
    advance_seconds: i64,
}

/// `POST /sim/control/clock` with `{advanceSeconds}`: forward only, at most ten years at a time.
async fn advance_clock(State(sim): State<Arc<Sim>>, OriginalUri(uri): OriginalUri, body: Bytes) -> Response {
    let advanced = parse::<Advance>(&body, "body").and_then(|a| {
        // Beyond chrono's range is beyond ten years too: `try_advance_clock` says so.
        let by = chrono::Duration::try_seconds(a.advance_seconds).unwrap_or(chrono::Duration::MAX);
        sim.try_advance_clock(by)
    });
    match advanced {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

/// A sales unit with its API credentials, as `GET /sim/control/sales-units` lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SalesUnitCredentials {
    msn: String,
    name: String,
    currency: Currency,
    client_id: String,
    client_secret: String,
    subscription_key: String,
}

/// `GET /sim/control/sales-units`: every sales unit's MSN, name, currency and API credentials, so
/// that a client of a stand-alone `kasse-sim` can be configured. These are a local simulator's
/// made-up test credentials, valid nowhere else; anyone who can reach the simulator can read them,
/// just as anyone can reach its control API.
async fn sales_units(State(sim): State<Arc<Sim>>) -> Json<Vec<SalesUnitCredentials>> {
    let units = sim
        .world()
        .config
        .sales_units
        .iter()
        .map(|u| SalesUnitCredentials {
            msn: u.msn.clone(),
            name: u.name.clone(),
            currency: u.currency,
            client_id: u.client_id.clone(),
            client_secret: u.client_secret.expose().to_owned(),
            subscription_key: u.subscription_key.expose().to_owned(),
        })
        .collect();
    Json(units)
}

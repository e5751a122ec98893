//! The control API, for tests and demos: see what the platform received, set the fault knobs, and
//! move its clock. Not part of the real platform; everything lives under `/sim/control`, and no
//! fault knob ever touches it.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use kasse_vipps::epayment::{Aggregate, Amount, State as PaymentState, UserFlow};
use serde::{Deserialize, Serialize};

use crate::Sim;
use crate::delivery::Attempt;
use crate::error::SimError;
use crate::faults::{FaultKnobs, InjectedFault};
use crate::world::ReceivedWrite;

/// The control routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/sim/control/payments", get(payments))
        .route("/sim/control/payments/{msn}/{reference}", get(payment))
        .route("/sim/control/webhook-attempts", get(attempts))
        .route("/sim/control/faults", get(faults).put(set_faults))
        .route("/sim/control/faults/injected", get(injected))
        .route("/sim/control/clock", post(advance_clock))
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
    /// Every write received for it.
    pub received: Vec<ReceivedWrite>,
}

async fn payments(State(sim): State<Arc<Sim>>) -> Json<Vec<PaymentRecord>> {
    Json(sim.payment_records())
}

async fn payment(
    State(sim): State<Arc<Sim>>,
    Path((msn, reference)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match sim.payment_records().into_iter().find(|r| r.msn == msn && r.reference == reference) {
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

async fn attempts(State(sim): State<Arc<Sim>>) -> Json<Vec<Attempt>> {
    Json(sim.deliveries.attempts())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Advance {
    advance_seconds: i64,
}

async fn advance_clock(State(sim): State<Arc<Sim>>, Json(advance): Json<Advance>) -> Response {
    if advance.advance_seconds < 0 {
        return (StatusCode::BAD_REQUEST, "time only moves forward").into_response();
    }
    sim.advance_clock(chrono::Duration::seconds(advance.advance_seconds));
    StatusCode::NO_CONTENT.into_response()
}

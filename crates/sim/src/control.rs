//! The control API, for tests and demos: see what the platform received, and move its clock.
//! Not part of the real platform; everything lives under `/sim/control`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use kasse_vipps::epayment::{Aggregate, Amount, State as PaymentState, UserFlow};
use serde::{Deserialize, Serialize};

use crate::Sim;
use crate::delivery::Attempt;
use crate::world::ReceivedWrite;

/// The control routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/sim/control/payments", get(payments))
        .route("/sim/control/webhook-attempts", get(attempts))
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

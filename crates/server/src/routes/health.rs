//! `GET /healthz`: what the server depends on, each as it stands.
//!
//! The store is asked with a trivial query. The platform is not asked at all: per sales unit,
//! the answer is what the server last learnt from its own calls and from the probe that asks
//! every half minute (more often while the platform does not answer), so a load balancer
//! polling this cannot make the server hammer the platform. Webhook registrations are per sales
//! unit, registered or not yet, with the last attempt's error.
//!
//! The status is 200 while the server can do its work (the store answers), with `"status"`
//! saying `"ok"` or `"degraded"` (the platform or a registration is not in order: tills,
//! history and the landing page still work, and payments catch up when the platform is back),
//! and 503 only when the store does not answer, which nothing can work without.
//!
//! The parts (sales units, errors as the database and the platform said them) are shown to the
//! operator's own networks only ([`FromOperator`]); anyone else gets the status.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

use super::client::FromOperator;
use crate::AppState;
use crate::platform::health::{Reach, Registration};

/// The whole answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    /// `ok`, `degraded` (the platform or webhooks not in order) or `down` (no store).
    status: &'static str,
    store: StoreHealth,
    /// Per sales unit.
    platform: Vec<Unit<Reach>>,
    /// Per sales unit.
    webhooks: Vec<Unit<Registration>>,
}

/// Whether the store answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreHealth {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// One sales unit's part.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Unit<T> {
    msn: String,
    #[serde(flatten)]
    state: T,
}

/// What anyone else is told: the status alone.
#[derive(Debug, Serialize)]
struct Status {
    status: &'static str,
}

/// `GET /healthz`.
pub async fn healthz(State(app): State<Arc<AppState>>, FromOperator(operator): FromOperator) -> Response {
    let store = match app.store.ping().await {
        Ok(()) => StoreHealth { ok: true, error: None },
        Err(e) => {
            tracing::error!(error = %e, "health check: the store does not answer");
            StoreHealth { ok: false, error: Some(e.to_string()) }
        }
    };
    let health = app.platform.health();
    let platform: Vec<Unit<Reach>> =
        health.reach().into_iter().map(|(msn, state)| Unit { msn, state }).collect();
    let webhooks: Vec<Unit<Registration>> =
        health.registrations().units.into_iter().map(|(msn, state)| Unit { msn, state }).collect();
    let in_order = platform.iter().all(|u| u.state.reachable) && webhooks.iter().all(|u| u.state.registered);
    let (code, status) = match (store.ok, in_order) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "down"),
        (true, false) => (StatusCode::OK, "degraded"),
        (true, true) => (StatusCode::OK, "ok"),
    };
    if operator {
        (code, Json(Health { status, store, platform, webhooks })).into_response()
    } else {
        (code, Json(Status { status })).into_response()
    }
}

//! `GET /api/admin/health`: the back office's view of `/healthz` and `/metrics` for a manager:
//! each sales unit of their stores (the platform reached, webhooks registered, as the server
//! last learnt them: the platform is not asked), the writes and webhooks still waiting, and
//! when this instance's reconciler last ended a round.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Json;
use kasse_api::{AdminHealth, UnitHealth};

use crate::AppState;
use crate::error::ApiError;
use crate::managers::ManagerAccess;

/// `GET /api/admin/health`.
pub async fn health(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
) -> Result<Json<AdminHealth>, ApiError> {
    let (pending_writes, sales_in_progress, unprocessed_webhooks) = app.store.gauges().await?;
    let health = app.platform.health();
    let (reach, registrations) = (health.reach(), health.registrations().units);
    let units = app
        .config
        .stores
        .iter()
        .filter(|store| access.manages(&store.id))
        .map(|store| {
            let reach = reach.get(&store.msn);
            let registration = registrations.get(&store.msn).cloned().unwrap_or_default();
            UnitHealth {
                store: store.name.clone(),
                msn: store.msn.clone(),
                // Nothing is known to be wrong before the first call.
                reachable: reach.is_none_or(|r| r.reachable),
                checked_at_ms: reach.and_then(|r| r.checked_at_ms),
                error: reach.and_then(|r| r.error.clone()),
                webhooks_registered: registration.registered,
                webhook_attempts: registration.attempts,
                webhook_error: registration.last_error,
            }
        })
        .collect();
    Ok(Json(AdminHealth {
        units,
        pending_writes,
        unprocessed_webhooks,
        sales_in_progress,
        reconciler: app.metrics.last_reconciler_round(),
        checked_at_ms: crate::now_ms(),
    }))
}

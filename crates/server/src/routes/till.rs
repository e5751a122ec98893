//! The till API: what a paired till reads and does. Every mutating request may carry the
//! browser's own `Idempotency-Key`; a retried request then finds what the first one did.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use kasse_api::{
    CaptureRequest, CheckIn, History, HistoryQuery, NewSale, Presented, ProblemCode, RefundRequest, Role,
    Sale, SaleEvent, TillSnapshot,
};

use super::{ApiJson, ApiQuery};
use crate::AppState;
use crate::error::ApiError;
use crate::managers;
use crate::pairing::Paired;
use crate::sales::SaleError;

/// The header a browser names its action with.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The browser's key for this action, if it sent a usable one. A key that begins as kasse's keys
/// for PoS systems' writes do is refused: passing for one, a browser's sale could answer a PoS's
/// request, or (`v10:`) have its automatic capture left to a PoS that never captures it.
pub(super) fn client_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let kept_for_pos = |key: &str| {
        [crate::terminal::POS_KEY_PREFIX, crate::sales::CAPTURED_BY_THE_POS]
            .iter()
            .any(|prefix| key.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix)))
    };
    match value.to_str() {
        Ok(key)
            if (1..=100).contains(&key.len())
                && key.bytes().all(|b| b.is_ascii_graphic())
                && !kept_for_pos(key) =>
        {
            Ok(Some(key))
        }
        _ => Err(ApiError::bad_request(
            ProblemCode::BadIdempotencyKey,
            "The Idempotency-Key header must be 1 to 100 visible ASCII characters, not beginning with \
             pos: or v10: (kasse's own for PoS systems).",
        )),
    }
}

/// A sale as the answer to an action: 200 (or `created`) when the platform answered, 202 when it
/// has not yet and the action is kept and sent again (the till then follows the live events).
pub(super) fn answered(
    result: Result<Sale, SaleError>,
    created: StatusCode,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    match result {
        Ok(sale) => Ok((created, Json(sale))),
        Err(SaleError::Pending(sale)) => Ok((StatusCode::ACCEPTED, Json(*sale))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/tills/{till}`: the till and its current sale.
pub async fn snapshot(
    State(app): State<Arc<AppState>>,
    paired: Paired,
) -> Result<Json<TillSnapshot>, ApiError> {
    let mut snapshot = app.sales.snapshot(&paired.till).await?;
    if paired.role == Role::Display {
        // The customer-facing screen shows the current sale only: who else checked in, and what
        // the till offers its sticker, are the cashier's.
        snapshot.check_ins.clear();
        snapshot.presented = None;
    }
    Ok(Json(snapshot))
}

/// `POST /api/tills/{till}/sales`: start a sale by any flow.
pub async fn start_sale(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    headers: HeaderMap,
    ApiJson(new): ApiJson<NewSale>,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    paired.require_till()?;
    let key = client_key(&headers)?;
    answered(app.sales.start(&paired.till, new, key).await, StatusCode::CREATED)
}

/// `GET /api/tills/{till}/sales?sinceMs=…&status=…&flow=…`: history with totals.
pub async fn history(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<History>, ApiError> {
    paired.require_till()?;
    Ok(Json(app.sales.history(&paired.till, &query).await?))
}

/// `GET /api/tills/{till}/sales/{reference}`.
pub async fn sale(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    Path((_, reference)): Path<(String, String)>,
) -> Result<Json<Sale>, ApiError> {
    // A display follows the current sale on its event stream; the till's other sales are not its.
    paired.require_till()?;
    Ok(Json(app.sales.sale(&paired.till, &reference).await?))
}

/// `POST …/cancel`: before approval, cancel the request; after it, release what is not captured.
pub async fn cancel(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    Path((_, reference)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    paired.require_till()?;
    let key = client_key(&headers)?;
    answered(app.sales.cancel(&paired.till, &reference, key).await, StatusCode::OK)
}

/// `POST …/capture` with an optional amount (everything reserved when absent).
pub async fn capture(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    Path((_, reference)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CaptureRequest>,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    paired.require_till()?;
    let key = client_key(&headers)?;
    answered(app.sales.capture(&paired.till, &reference, &request, key).await, StatusCode::OK)
}

/// `POST …/refund` with an amount.
pub async fn refund(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    Path((_, reference)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    paired.require_till()?;
    let key = client_key(&headers)?;
    if let Some(manager) = manager_for_refund(&app, &paired.till, &reference, &request).await? {
        tracing::info!(till = %paired.till, %reference, manager = %manager, "an earlier day's refund, with a manager's PIN");
    }
    answered(app.sales.refund(&paired.till, &reference, &request, key).await, StatusCode::OK)
}

/// The manager whose PIN a refund of a sale from an earlier day needs, at a store that asks for
/// one (`earlier_day_refunds_need_manager`); `None` when none is needed.
async fn manager_for_refund(
    app: &AppState,
    till_id: &str,
    reference: &str,
    request: &RefundRequest,
) -> Result<Option<String>, ApiError> {
    let till = app.config.till(till_id).ok_or_else(|| SaleError::UnknownTill(till_id.to_owned()))?;
    let Some(store) = app.config.store(&till.store).filter(|s| s.earlier_day_refunds_need_manager) else {
        return Ok(None);
    };
    let sale = app.sales.sale(till_id, reference).await?;
    if sale.created_at_ms >= crate::local_day::start_of_day(crate::now_ms(), store.currency) {
        return Ok(None);
    }
    let pin = request.manager_pin.as_deref().ok_or_else(ApiError::manager_pin_required)?;
    Ok(Some(managers::confirm_at_till(app, till, pin).await?.name))
}

/// `POST …/reconcile`: ask the platform now ("check again").
pub async fn reconcile(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    Path((_, reference)): Path<(String, String)>,
) -> Result<Json<Sale>, ApiError> {
    paired.require_till()?;
    Ok(Json(app.sales.reconcile(&paired.till, &reference).await?))
}

/// `GET …/log`: the payment's event log at the platform.
pub async fn log(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    Path((_, reference)): Path<(String, String)>,
) -> Result<Json<Vec<SaleEvent>>, ApiError> {
    paired.require_till()?;
    Ok(Json(app.sales.events(&paired.till, &reference).await?))
}

/// `GET /api/tills/{till}/presented`: what the till presents to its sticker (`null` if nothing).
pub async fn presented(
    State(app): State<Arc<AppState>>,
    paired: Paired,
) -> Result<Json<Option<Presented>>, ApiError> {
    paired.require_till()?;
    Ok(Json(app.sales.presented(&paired.till).await?))
}

/// `PUT /api/tills/{till}/presented`: the next customer at the till's sticker pays this.
pub async fn present(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    ApiJson(presented): ApiJson<Presented>,
) -> Result<Json<Presented>, ApiError> {
    paired.require_till()?;
    Ok(Json(app.sales.present(&paired.till, &presented).await?))
}

/// `DELETE /api/tills/{till}/presented`: take it back.
pub async fn withdraw(State(app): State<Arc<AppState>>, paired: Paired) -> Result<StatusCode, ApiError> {
    paired.require_till()?;
    app.sales.withdraw(&paired.till).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/tills/{till}/check-ins`: customers checked in at the till's sticker, chargeable now.
pub async fn check_ins(
    State(app): State<Arc<AppState>>,
    paired: Paired,
) -> Result<Json<Vec<CheckIn>>, ApiError> {
    paired.require_till()?;
    Ok(Json(app.sales.open_check_ins(&paired.till).await?))
}

//! The back office's sales (`/api/admin/sales…`): the sales of any till (or open-amount sticker)
//! and day the manager may see, one sale with its event log, and what a till's history can do
//! with it: take all or part of a reservation, release the rest, refund, ask the platform again.
//! A refund above the store's `refund_pin_above` asks for the manager's PIN.
//!
//! A sale of a store the manager does not manage answers as one that does not exist, so its
//! reference tells them nothing.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use kasse_api::{
    AdminRefundRequest, AdminSale, AdminSalesQuery, CaptureRequest, History, HistoryQuery, Money,
    ProblemCode, RefundRequest, Sale, SaleEvent,
};

use super::admin::{stickers_of, tills_of};
use super::till::{answered, client_key};
use super::{ApiJson, ApiQuery};
use crate::AppState;
use crate::config::StoreConfig;
use crate::error::ApiError;
use crate::managers::{self, ManagerAccess};
use crate::sales::SaleError;

/// `GET /api/admin/sales`: the sales of one till or open-amount sticker, or of every one the
/// manager may see, of any day, filtered and searched as a till's history is.
pub async fn sales(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    ApiQuery(query): ApiQuery<AdminSalesQuery>,
) -> Result<Json<History>, ApiError> {
    let AdminSalesQuery { till, sticker, since_ms, until_ms, status, flow, search } = query;
    let (tills, stickers): (Vec<&str>, Vec<&str>) = match (&till, &sticker) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                ProblemCode::BadQuery,
                "Ask for one till's sales or one sticker's, not both: no sale is both.",
            ));
        }
        (Some(till), None) => {
            let config = app.config.till(till).ok_or_else(|| SaleError::UnknownTill(till.clone()))?;
            if !access.manages(&config.store) {
                return Err(ApiError::forbidden("That till is not in a store you manage."));
            }
            (vec![config.id.as_str()], Vec::new())
        }
        (None, Some(sticker)) => {
            let config = app.config.sticker(sticker).ok_or_else(|| {
                ApiError::not_found(
                    ProblemCode::UnknownSticker,
                    "There is no open-amount sticker of that id.",
                )
            })?;
            if !access.manages(&config.store) {
                return Err(ApiError::forbidden("That sticker is not in a store you manage."));
            }
            (Vec::new(), vec![config.id.as_str()])
        }
        (None, None) => (
            tills_of(&app, &access.manager).map(|t| t.id.as_str()).collect(),
            stickers_of(&app, &access.manager).map(|s| s.id.as_str()).collect(),
        ),
    };
    let query = HistoryQuery { since_ms, until_ms, status, flow, search };
    Ok(Json(app.sales.history_of(&tills, &stickers, &query).await?))
}

/// The till that took the sale `reference` (empty for an open-amount sticker's) and its store,
/// if the manager manages that store.
async fn place_of<'a>(
    app: &'a AppState,
    access: &ManagerAccess,
    reference: &str,
) -> Result<(String, &'a StoreConfig), ApiError> {
    let (till_id, sticker_id) = app.sales.taken_by(reference).await?;
    let not_found = || ApiError::from(SaleError::NotFound(reference.to_owned()));
    let store_id = match (app.config.till(&till_id), sticker_id.as_deref()) {
        (Some(till), _) => &till.store,
        (None, Some(sticker)) if till_id.is_empty() => {
            &app.config.sticker(sticker).ok_or_else(not_found)?.store
        }
        _ => return Err(not_found()),
    };
    let store = app.config.store(store_id).ok_or_else(not_found)?;
    if !access.manages(&store.id) {
        return Err(not_found());
    }
    Ok((till_id, store))
}

/// `GET /api/admin/sales/{reference}`: the sale, its till, and when a refund asks for the PIN.
pub async fn sale(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(reference): Path<String>,
) -> Result<Json<AdminSale>, ApiError> {
    let (till_id, store) = place_of(&app, &access, &reference).await?;
    Ok(Json(AdminSale {
        sale: app.sales.sale(&till_id, &reference).await?,
        till: till_id.clone(),
        refund_pin_above: Money::new(store.refund_pin_above, store.currency),
    }))
}

/// `GET /api/admin/sales/{reference}/log`: the payment's event log at the platform.
pub async fn log(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(reference): Path<String>,
) -> Result<Json<Vec<SaleEvent>>, ApiError> {
    let (till_id, _) = place_of(&app, &access, &reference).await?;
    Ok(Json(app.sales.events(&till_id, &reference).await?))
}

/// `POST /api/admin/sales/{reference}/capture`, as at the till.
pub async fn capture(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(reference): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CaptureRequest>,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    let (till_id, _) = place_of(&app, &access, &reference).await?;
    let key = client_key(&headers)?;
    tracing::info!(manager = %access.manager.name, %reference, amount = ?request.amount, "capture from the back office");
    answered(app.sales.capture(&till_id, &reference, &request, key).await, StatusCode::OK)
}

/// `POST /api/admin/sales/{reference}/cancel`: release what is reserved and not taken.
pub async fn cancel(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    let (till_id, _) = place_of(&app, &access, &reference).await?;
    let key = client_key(&headers)?;
    tracing::info!(manager = %access.manager.name, %reference, "release from the back office");
    answered(app.sales.cancel(&till_id, &reference, key).await, StatusCode::OK)
}

/// `POST /api/admin/sales/{reference}/refund`: give back part or all of what was taken. When the
/// sale's refunds would come to more than the store's `refund_pin_above` in all (so that several
/// small refunds are no way around it), only with the manager's PIN.
pub async fn refund(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(reference): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AdminRefundRequest>,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    let (till_id, store) = place_of(&app, &access, &reference).await?;
    let key = client_key(&headers)?;
    if request.amount.currency != store.currency {
        // Refused before a PIN is checked: a mistake costs no attempt.
        return Err(SaleError::WrongCurrency { expected: store.currency }.into());
    }
    // With a PIN, checked before anything is sent (a wrong one refunds nothing), and then no
    // limit; without one, the store's limit, judged with the sale's other refunds.
    let limit = match request.pin.as_deref() {
        Some(pin) => {
            managers::confirm_pin(&app, &access.manager, pin).await?;
            None
        }
        None => Some(store.refund_pin_above),
    };
    tracing::info!(manager = %access.manager.name, %reference, amount = request.amount.value, confirmed = limit.is_none(), "refund from the back office");
    let refund = RefundRequest { amount: request.amount, manager_pin: None };
    answered(app.sales.refund_unconfirmed(&till_id, &reference, &refund, key, limit).await, StatusCode::OK)
}

/// `POST /api/admin/sales/{reference}/reconcile`: ask the platform now.
pub async fn reconcile(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(reference): Path<String>,
) -> Result<Json<Sale>, ApiError> {
    let (till_id, _) = place_of(&app, &access, &reference).await?;
    Ok(Json(app.sales.reconcile(&till_id, &reference).await?))
}

//! v10 refunds: each an ePayment refund of its payment's sale, given back at once, so v10's
//! second step (capturing the refund) only says whether the platform has given it back.

use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use kasse_api::{Money, RefundRequest};
use serde::Deserialize;

use super::extract::{V10Body, V10Path, V10Query};
use super::payments::{named_in_body, own_payment, own_payments, positive_amount, started};
use super::{V10Caller, V10Error, parse};
use crate::AppState;
use crate::pos_v10::codes::V10Code;
use crate::pos_v10::wire::{
    CreateRefundRequest, CreateRefundResponse, CurrencyCode, GetRefundResponse, QueryRefundIdsResponse,
    RefundState,
};
use crate::pos_v10::{POLL_DELAY_MS, currency, currency_code, decimal, id_from, sale_key};
use crate::sales::SaleError;
use crate::store::{Named as _, OperationStatus, V10PaymentRow};

/// `POST /pos/v10/refunds`: gives back part or all of a captured payment, at once (an ePayment
/// refund is one step; v10's refund capture then finds it done).
pub(super) async fn create_refund(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    V10Body(body): V10Body,
) -> Result<Json<CreateRefundResponse>, V10Error> {
    let request: CreateRefundRequest = parse(&caller, &body)?;
    let key = caller.idempotency_key(&app, &headers, &format!("POST {}", uri.path()), &body).await?;
    let refund_id = id_from(&caller.integrator.id, "refund", &key);
    let payment = named_in_body(
        own_payment(&app, &caller, &request.payment_id).await,
        V10Code::PaymentNotFound,
        "No such payment.",
    )?;
    let sale = started(&app, &caller, &payment, V10Code::NotCaptured).await?;
    let amount = positive_amount(&caller, &request.amount)?;
    // The payment's currency, whatever its store takes today.
    if currency(request.currency_code) != sale.currency {
        return Err(V10Error::conflict(
            V10Code::RefundCurrency,
            format!("The payment was made in {}: refund it in that currency.", sale.currency.code()),
        )
        .of(&caller));
    }
    if (1..=36).contains(&request.refund_order_id.chars().count()).then_some(()).is_none() {
        return Err(V10Error::bad_request(
            V10Code::InvalidRefundOrderId,
            "refundOrderId must be 1 to 36 characters.",
        )
        .of(&caller));
    }
    let refund = RefundRequest { amount: Money::new(amount, sale.currency), manager_pin: None };
    match app
        .sales
        .refund(&sale.till_id, &sale.reference, &refund, Some(&sale_key(&refund_id, "refund")))
        .await
    {
        Ok(_) | Err(SaleError::Pending(_)) => {}
        Err(e @ SaleError::AmountOutOfRange { .. }) => {
            return Err(V10Error::from(e).into_conflict(V10Code::RefundTooHigh).of(&caller));
        }
        Err(e @ SaleError::WrongStatus { .. }) => {
            return Err(V10Error::from(e).into_conflict(V10Code::NotCaptured).of(&caller));
        }
        Err(e) => return Err(V10Error::from(e).of(&caller)),
    }
    let row = crate::store::V10RefundRow {
        refund_id,
        payment_id: payment.payment_id,
        refund_order_id: request.refund_order_id,
        currency: sale.currency.name().to_owned(),
        amount,
        created_at: crate::now_ms(),
    };
    let row = app.store.insert_v10_refund(&row).await?;
    Ok(Json(CreateRefundResponse { refund_id: row.refund_id }))
}

/// The caller's refund `id` and its payment.
async fn own_refund(
    app: &AppState,
    caller: &V10Caller,
    id: &str,
) -> Result<(crate::store::V10RefundRow, V10PaymentRow), V10Error> {
    let refund = app
        .store
        .v10_refund(&id.to_ascii_lowercase())
        .await?
        .ok_or_else(|| V10Error::not_found().of(caller))?;
    let payment = own_payment(app, caller, &refund.payment_id).await?;
    Ok((refund, payment))
}

/// Where a refund stands: given back (`Captured`: an ePayment refund is one step), refused by
/// the platform, or on its way (recorded, and sent again with its key until the platform answers).
async fn refund_state(
    app: &AppState,
    refund: &crate::store::V10RefundRow,
    payment: &V10PaymentRow,
) -> Result<RefundState, V10Error> {
    let reference = payment.reference.clone().unwrap_or_default();
    let write = app.store.operation_by_client_key(&reference, &sale_key(&refund.refund_id, "refund")).await?;
    Ok(match write.map(|w| w.status) {
        Some(OperationStatus::Done) => RefundState::Captured,
        Some(OperationStatus::Failed) => RefundState::CancelledByMobilePay,
        Some(OperationStatus::Pending) | None => RefundState::Initiated,
    })
}

/// `GET /pos/v10/refunds/{refundid}`.
pub(super) async fn refund(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
) -> Result<Json<GetRefundResponse>, V10Error> {
    let (refund, payment) = own_refund(&app, &caller, &id).await?;
    let state = refund_state(&app, &refund, &payment).await?;
    let currency_code =
        kasse_api::Currency::from_name(&refund.currency).and_then(currency_code).unwrap_or(CurrencyCode::Dkk);
    Ok(Json(GetRefundResponse {
        refund_id: refund.refund_id,
        payment_id: refund.payment_id,
        refund_order_id: refund.refund_order_id,
        amount: decimal(refund.amount),
        currency_code,
        status: state,
        poll_delay_in_ms: POLL_DELAY_MS,
    }))
}

/// `?paymentId=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefundsQuery {
    payment_id: Option<String>,
}

/// `GET /pos/v10/refunds`.
pub(super) async fn refunds(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Query(query): V10Query<RefundsQuery>,
) -> Result<Json<QueryRefundIdsResponse>, V10Error> {
    let own: Vec<String> = own_payments(&app, &caller).await?.into_iter().map(|p| p.payment_id).collect();
    let refund_ids = app
        .store
        .v10_refunds()
        .await?
        .into_iter()
        .filter(|r| own.contains(&r.payment_id))
        .filter(|r| query.payment_id.as_ref().is_none_or(|p| p.eq_ignore_ascii_case(&r.payment_id)))
        .map(|r| r.refund_id)
        .collect();
    Ok(Json(QueryRefundIdsResponse { refund_ids }))
}

/// `POST /pos/v10/refunds/{refundid}/capture`: an ePayment refund is given back when made, so
/// there is nothing to do but say whether it was: 200 once the platform has given it back, 409
/// while it is still on its way (as v10 refused to capture a refund not yet reserved: poll it)
/// or when the platform refused it.
pub(super) async fn capture_refund(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
) -> Result<StatusCode, V10Error> {
    let (refund, payment) = own_refund(&app, &caller, &id).await?;
    match refund_state(&app, &refund, &payment).await? {
        RefundState::Captured => Ok(StatusCode::OK),
        RefundState::CancelledByMobilePay => Err(V10Error::conflict(
            V10Code::RefundNotReserved,
            "The payment service refused this refund; nothing was given back. Poll the payment, and make a new refund.",
        )
        .of(&caller)),
        _ => Err(V10Error::conflict(
            V10Code::RefundNotReserved,
            "The refund is on its way to the customer and not confirmed yet; poll it until it is Captured.",
        )
        .of(&caller)),
    }
}

/// `POST /pos/v10/refunds/{refundid}/cancel`: not possible on ePayment, where a refund is final.
pub(super) async fn cancel_refund(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
) -> Result<StatusCode, V10Error> {
    own_refund(&app, &caller, &id).await?;
    Err(V10Error::conflict(
        V10Code::RefundNotCancellable,
        "An ePayment refund is given back at once and cannot be cancelled; to undo it, take a new payment.",
    )
    .of(&caller))
}

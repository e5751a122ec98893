//! v10 payments, each a sale of the point of sale's till (see `crate::pos_v10`), and the
//! simulated customer's answer. Refunds of them are in `refunds`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use kasse_api::{CaptureRequest, Money, ProblemCode, SaleStatus};
use serde::Deserialize;

use super::extract::{V10Body, V10Path, V10Query};
use super::setup::{Act, own_pos, simulate, simulated_pos};
use super::{V10Caller, V10Error, parse};
use crate::AppState;
use crate::pos_v10::codes::V10Code;
use crate::pos_v10::turns::PosTurn;
use crate::pos_v10::wire::{
    CurrencyCode, InitiatePaymentRequest, PaymentCaptureRequest, PaymentInitiatedResponse,
    PaymentReadyRequest, PaymentStatus, PlannedCaptureDelay, PreparePaymentRequest, QueryPaymentIdsResponse,
    QueryPaymentResponse, UserSimulationRequest,
};
use crate::pos_v10::{
    POLL_DELAY_MS, currency, currency_code, decimal, id_from, minor_units, sale_key, status,
};
use crate::sales::SaleError;
use crate::store::{Named as _, PaymentRow, V10PaymentRow, V10PosRow};

/// A v10 order id: 1 to 36 characters.
fn check_order_id(caller: &V10Caller, order_id: &str) -> Result<(), V10Error> {
    if (1..=36).contains(&order_id.chars().count()) {
        return Ok(());
    }
    Err(V10Error::bad_request(V10Code::InvalidOrderId, "orderId must be 1 to 36 characters.").of(caller))
}

/// An amount in `code` for the till of `pos`, in minor units: 400 unless exact to the cent,
/// positive and in the store's currency.
pub(super) fn amount_for(
    app: &AppState,
    caller: &V10Caller,
    pos: &V10PosRow,
    amount: &serde_json::Number,
    code: CurrencyCode,
) -> Result<i64, V10Error> {
    let minor = positive_amount(caller, amount)?;
    let takes = app.config.store(&pos.store_id).map(|s| s.currency);
    if takes != Some(currency(code)) {
        return Err(V10Error::bad_request(
            V10Code::Kasse(ProblemCode::WrongCurrency),
            format!("This store takes {}.", takes.map_or("another currency", |c| c.code())),
        )
        .of(caller));
    }
    Ok(minor)
}

/// `amount` in minor units: 400 unless it is positive, with at most two decimals.
pub(super) fn positive_amount(caller: &V10Caller, amount: &serde_json::Number) -> Result<i64, V10Error> {
    minor_units(amount).filter(|m| *m > 0).ok_or_else(|| {
        V10Error::bad_request(
            V10Code::InvalidAmount,
            "amount must be a positive amount with at most two decimals.",
        )
        .of(caller)
    })
}

/// 409 when the till already has a payment in progress (v10 allowed one per point of sale).
async fn till_free(app: &AppState, caller: &V10Caller, pos: &V10PosRow) -> Result<(), V10Error> {
    if let Some(busy) = app.store.active_payment(&pos.till_id).await? {
        return Err(V10Error::conflict(
            V10Code::PaymentActive,
            format!("The point of sale has a payment in progress ({}).", busy.reference),
        )
        .of(caller));
    }
    Ok(())
}

/// How long a payment whose sale has not started is listed as one to pay: its
/// `paymentExpiresAt`, and how long a prepared one waiting for its amount keeps its point of sale
/// from starting another; then the next payment there cancels it (v10 let MobilePay cancel a
/// prepared payment nobody made ready; a PoS that lost one must not find its point of sale closed
/// for good).
const UNSTARTED_EXPIRES_AFTER_MS: i64 = 10 * 60_000;

/// 409 1301 when the point of sale has an active payment, as v10 counted one: a sale in progress
/// at its till, or a payment there still in play without one: prepared and waiting for its amount
/// (for [`UNSTARTED_EXPIRES_AFTER_MS`], then cancelled), ready and about to start (the pairing round starts one
/// whose start was cut off), or moving to a checked-in customer (its QR code cancelled, the
/// payment to her phone not started yet).
async fn pos_free(app: &AppState, caller: &V10Caller, pos: &V10PosRow) -> Result<(), V10Error> {
    till_free(app, caller, pos).await?;
    let now = crate::now_ms();
    for payment in app.store.v10_payments_open(&caller.integrator.id).await? {
        if payment.pos_id != pos.pos_id || (payment.cancelled_at.is_some() && payment.reference.is_none()) {
            continue;
        }
        // Run out, it is cancelled, not passed over: made ready later, it would start a second
        // payment beside the one starting now. One made ready meanwhile is the active one.
        if payment.amount.is_none()
            && payment.created_at + UNSTARTED_EXPIRES_AFTER_MS <= now
            && app.store.cancel_unready_v10_payment(&payment.payment_id, now).await?
        {
            continue;
        }
        if status(&payment, sale_of(app, &payment).await?.as_ref()).active_or_reserved() {
            return Err(V10Error::conflict(
                V10Code::PaymentActive,
                format!(
                    "The point of sale has an active payment ({}): cancel it before starting another.",
                    payment.payment_id
                ),
            )
            .of(caller));
        }
    }
    Ok(())
}

/// The point of sale's turn, once it is free for the payment `payment_id` (see [`pos_free`]):
/// held while that payment is recorded, so that two sent at once cannot both find it free.
/// `None` when the same request, sent again meanwhile, recorded `payment_id` first: it is
/// answered as that one was.
async fn free_turn(
    app: &AppState,
    caller: &V10Caller,
    pos: &V10PosRow,
    payment_id: &str,
) -> Result<Option<PosTurn>, V10Error> {
    let turn = app.v10_turns.take(&pos.pos_id).await?;
    if app.store.v10_payment(payment_id).await?.is_some() {
        return Ok(None);
    }
    pos_free(app, caller, pos).await?;
    Ok(Some(turn))
}

/// `found`, with v10's 409 `code` in place of a 404: a point of sale or a payment named in a
/// request's body is one v10 "could not" act on (its 404s are for addresses).
pub(super) fn named_in_body<T>(
    found: Result<T, V10Error>,
    code: V10Code,
    message: &str,
) -> Result<T, V10Error> {
    found.map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            V10Error { status: StatusCode::CONFLICT, code, message: message.to_owned(), ..e }
        } else {
            e
        }
    })
}

/// The caller's point of sale a payment's body names (see [`own_pos`]): 409 1000 when there is
/// none, as v10 answered a PoS that then creates its point of sale again.
async fn pos_named(app: &AppState, caller: &V10Caller, pos_id: &str) -> Result<V10PosRow, V10Error> {
    let found = own_pos(app, caller, pos_id).await;
    named_in_body(
        found,
        V10Code::PosNotFound,
        "No such point of sale (never created, or deleted): create it again.",
    )
}

/// `POST /pos/v10/payments`: a payment at the point of sale, started at once.
pub(super) async fn initiate(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    V10Body(body): V10Body,
) -> Result<Json<PaymentInitiatedResponse>, V10Error> {
    let request: InitiatePaymentRequest = parse(&caller, &body)?;
    let key = caller.idempotency_key(&app, &headers, &format!("POST {}", uri.path()), &body).await?;
    let payment_id = id_from(&caller.integrator.id, "payment", &key);
    if app.store.v10_payment(&payment_id).await?.is_some() {
        return Ok(Json(PaymentInitiatedResponse { payment_id }));
    }
    let pos = pos_named(&app, &caller, &request.pos_id).await?;
    check_order_id(&caller, &request.order_id)?;
    let amount = amount_for(&app, &caller, &pos, &request.amount, request.currency_code)?;
    let Some(turn) = free_turn(&app, &caller, &pos, &payment_id).await? else {
        return Ok(Json(PaymentInitiatedResponse { payment_id }));
    };
    let row = V10PaymentRow {
        payment_id: payment_id.clone(),
        integrator_id: caller.integrator.id.clone(),
        pos_id: pos.pos_id.clone(),
        order_id: request.order_id,
        currency: Some(currency(request.currency_code).name().to_owned()),
        amount: Some(amount),
        capture_delay: Some(request.planned_capture_delay.name().to_owned()),
        label: request.merchant_payment_label,
        reference: None,
        pairing_check_in: None,
        cancelled_at: None,
        created_at: crate::now_ms(),
    };
    // Recorded first: a crash before its sale starts is finished by the pairing round.
    let row = app.store.insert_v10_payment(&row).await?;
    // Recorded, it is the point of sale's active payment: the next may be judged.
    drop(turn);
    start(&app, &caller, &row, &pos).await?;
    Ok(Json(PaymentInitiatedResponse { payment_id }))
}

/// Starts a recorded payment's sale; on refusal the payment is cancelled (it never started).
async fn start(
    app: &AppState,
    caller: &V10Caller,
    row: &V10PaymentRow,
    pos: &V10PosRow,
) -> Result<(), V10Error> {
    match app.v10.start(row, pos).await {
        // Named on the payment by the start (and withdrawn, if its PoS cancelled it meanwhile).
        Ok(_) => Ok(()),
        Err(e) => {
            app.store.cancel_v10_payment(&row.payment_id, crate::now_ms()).await?;
            Err(V10Error::from(e).of(caller))
        }
    }
}

/// `POST /pos/v10/payments/prepare`: a payment without its amount yet.
pub(super) async fn prepare(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    V10Body(body): V10Body,
) -> Result<Json<PaymentInitiatedResponse>, V10Error> {
    let request: PreparePaymentRequest = parse(&caller, &body)?;
    let key = caller.idempotency_key(&app, &headers, &format!("POST {}", uri.path()), &body).await?;
    let payment_id = id_from(&caller.integrator.id, "payment", &key);
    if app.store.v10_payment(&payment_id).await?.is_some() {
        return Ok(Json(PaymentInitiatedResponse { payment_id }));
    }
    let pos = pos_named(&app, &caller, &request.pos_id).await?;
    check_order_id(&caller, &request.order_id)?;
    let Some(turn) = free_turn(&app, &caller, &pos, &payment_id).await? else {
        return Ok(Json(PaymentInitiatedResponse { payment_id }));
    };
    let row = V10PaymentRow {
        payment_id,
        integrator_id: caller.integrator.id.clone(),
        pos_id: pos.pos_id,
        order_id: request.order_id,
        currency: None,
        amount: None,
        capture_delay: None,
        label: None,
        reference: None,
        pairing_check_in: None,
        cancelled_at: None,
        created_at: crate::now_ms(),
    };
    let row = app.store.insert_v10_payment(&row).await?;
    drop(turn);
    Ok(Json(PaymentInitiatedResponse { payment_id: row.payment_id }))
}

/// The caller's payment `id`: 404 if there is none, 403 if another integrator's, or made at a
/// store outside the merchant the caller is narrowed to (a token bound to one, or its VAT number).
pub(super) async fn own_payment(
    app: &AppState,
    caller: &V10Caller,
    id: &str,
) -> Result<V10PaymentRow, V10Error> {
    let payment = app
        .store
        .v10_payment(&id.to_ascii_lowercase())
        .await?
        .ok_or_else(|| V10Error::not_found().of(caller))?;
    if payment.integrator_id != caller.integrator.id || !reaches(app, caller, &payment.pos_id).await? {
        return Err(V10Error::forbidden(
            V10Code::ForeignPayment,
            "This payment was created by another integrator or merchant.",
        )
        .of(caller));
    }
    Ok(payment)
}

/// The caller's payments, of the stores it may act in now (see [`own_payments_of`]).
pub(super) async fn own_payments(app: &AppState, caller: &V10Caller) -> Result<Vec<V10PaymentRow>, V10Error> {
    own_payments_of(app, caller, app.store.v10_payments(&caller.integrator.id).await?).await
}

/// Of `payments`, the caller's at the stores it may act in now (see [`own_payment`]), points of
/// sale deleted since included.
async fn own_payments_of(
    app: &AppState,
    caller: &V10Caller,
    payments: Vec<V10PaymentRow>,
) -> Result<Vec<V10PaymentRow>, V10Error> {
    let mut reachable: HashMap<String, bool> = HashMap::new();
    let mut own = Vec::with_capacity(payments.len());
    for payment in payments {
        let own_store = if let Some(known) = reachable.get(&payment.pos_id) {
            *known
        } else {
            let found = reaches(app, caller, &payment.pos_id).await?;
            reachable.insert(payment.pos_id.clone(), found);
            found
        };
        if own_store {
            own.push(payment);
        }
    }
    Ok(own)
}

/// Whether the point of sale `pos_id` is at a store the caller may act in now: one of the
/// merchant it is narrowed to. A deleted one counts by the store it was at; an unknown one
/// reaches none.
async fn reaches(app: &AppState, caller: &V10Caller, pos_id: &str) -> Result<bool, V10Error> {
    let store = app.store.v10_pos(pos_id).await?.map(|pos| pos.store_id);
    Ok(store.is_some_and(|s| caller.stores.contains(&s)))
}

/// The sale of a payment, if it started.
async fn sale_of(app: &AppState, payment: &V10PaymentRow) -> Result<Option<PaymentRow>, V10Error> {
    Ok(match &payment.reference {
        Some(reference) => app.store.payment(reference).await?,
        None => None,
    })
}

/// `POST /pos/v10/payments/{paymentid}/ready`: the prepared payment's amount; it starts now.
pub(super) async fn ready(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
    V10Body(body): V10Body,
) -> Result<StatusCode, V10Error> {
    let request: PaymentReadyRequest = parse(&caller, &body)?;
    let payment = own_payment(&app, &caller, &id).await?;
    let pos = app.store.v10_pos(&payment.pos_id).await?.ok_or_else(|| V10Error::not_found().of(&caller))?;
    let amount = amount_for(&app, &caller, &pos, &request.amount, request.currency_code)?;
    let currency_name = currency(request.currency_code).name();
    let delay = request.planned_capture_delay.name();
    let label = request.merchant_payment_label.as_deref();
    let same_again = payment.amount == Some(amount)
        && payment.currency.as_deref() == Some(currency_name)
        && payment.capture_delay.as_deref() == Some(delay)
        && payment.label.as_deref() == label;
    if same_again && payment.cancelled_at.is_none() {
        // The same ready sent again (v10 integrations give up waiting within seconds, and the
        // first starts the sale at the platform): done as the first was. Should the first have
        // stopped before its sale started, the pairing round starts it.
        return Ok(StatusCode::OK);
    }
    if payment.amount.is_some() || payment.cancelled_at.is_some() {
        return Err(V10Error::conflict(
            V10Code::NotPrepared,
            "The payment is not a prepared one waiting for its amount.",
        )
        .of(&caller));
    }
    till_free(&app, &caller, &pos).await?;
    if !app.store.ready_v10_payment(&payment.payment_id, currency_name, amount, delay, label).await? {
        return Err(
            V10Error::conflict(V10Code::NotPrepared, "The payment was made ready already.").of(&caller)
        );
    }
    let payment =
        app.store.v10_payment(&payment.payment_id).await?.ok_or_else(|| V10Error::not_found().of(&caller))?;
    start(&app, &caller, &payment, &pos).await?;
    Ok(StatusCode::OK)
}

fn query_response(payment: &V10PaymentRow, sale: Option<&PaymentRow>) -> QueryPaymentResponse {
    let state = status(payment, sale);
    let currency_code =
        payment.currency.as_deref().and_then(kasse_api::Currency::from_name).and_then(currency_code);
    let expires = sale.and_then(|s| s.expires_at).unwrap_or(payment.created_at + UNSTARTED_EXPIRES_AFTER_MS);
    QueryPaymentResponse {
        payment_id: payment.payment_id.clone(),
        pos_id: payment.pos_id.clone(),
        order_id: payment.order_id.clone(),
        amount: payment.amount.map(decimal),
        currency_code,
        restrictions: None,
        merchant_payment_label: payment.label.clone(),
        planned_capture_delay: payment.capture_delay.as_deref().and_then(PlannedCaptureDelay::from_name),
        status: state,
        customer_token: None,
        customer_receipt_token: None,
        loyalty_ids: None,
        payment_expires_at: chrono::DateTime::from_timestamp_millis(expires).unwrap_or_default().to_rfc3339(),
        // ePayment captures any part of a reservation.
        partial_capture_possible: (state == PaymentStatus::Reserved).then_some(true),
        poll_delay_in_ms: POLL_DELAY_MS,
    }
}

/// `GET /pos/v10/payments/{paymentid}`.
pub(super) async fn payment(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
) -> Result<Json<QueryPaymentResponse>, V10Error> {
    let payment = own_payment(&app, &caller, &id).await?;
    let sale = sale_of(&app, &payment).await?;
    Ok(Json(query_response(&payment, sale.as_ref())))
}

/// `?posId=&orderId=&state=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PaymentsQuery {
    pos_id: Option<String>,
    order_id: Option<String>,
    state: Option<PaymentStatus>,
}

/// `GET /pos/v10/payments`: ids of payments that are active or reserved (or in `state`).
pub(super) async fn payments(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Query(query): V10Query<PaymentsQuery>,
) -> Result<Json<QueryPaymentIdsResponse>, V10Error> {
    // Without a state asked for, only active and reserved ones are listed: those alone are read,
    // so a PoS starting again finds its payment however many it took before.
    let candidates = match query.state {
        None => app.store.v10_payments_open(&caller.integrator.id).await?,
        Some(_) => app.store.v10_payments(&caller.integrator.id).await?,
    };
    let mut payment_ids = Vec::new();
    for payment in own_payments_of(&app, &caller, candidates).await? {
        if query.pos_id.as_ref().is_some_and(|p| !p.eq_ignore_ascii_case(&payment.pos_id))
            || query.order_id.as_ref().is_some_and(|o| *o != payment.order_id)
        {
            continue;
        }
        let state = status(&payment, sale_of(&app, &payment).await?.as_ref());
        if query.state.map_or(state.active_or_reserved(), |wanted| wanted == state) {
            payment_ids.push(payment.payment_id);
        }
    }
    Ok(Json(QueryPaymentIdsResponse { payment_ids }))
}

/// The started sale of a payment, or 409 `code` (a capture's or a refund's "not reserved").
pub(super) async fn started(
    app: &AppState,
    caller: &V10Caller,
    payment: &V10PaymentRow,
    code: V10Code,
) -> Result<PaymentRow, V10Error> {
    sale_of(app, payment)
        .await?
        .ok_or_else(|| V10Error::conflict(code, "The payment has not been issued to a customer.").of(caller))
}

/// `POST /pos/v10/payments/{paymentid}/capture` `{amount}`: takes the amount (any part of the
/// reservation) and, as v10's capture ends its payment, releases the rest of the reservation.
/// The same capture sent again is done once (and releases the rest if that had failed).
pub(super) async fn capture(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
    V10Body(body): V10Body,
) -> Result<StatusCode, V10Error> {
    let request: PaymentCaptureRequest = parse(&caller, &body)?;
    let payment = own_payment(&app, &caller, &id).await?;
    let sale = started(&app, &caller, &payment, V10Code::NotReserved).await?;
    let minor = minor_units(&request.amount).filter(|m| *m > 0).ok_or_else(|| {
        V10Error::bad_request(V10Code::InvalidAmount, "amount must be positive, with at most two decimals.")
            .of(&caller)
    })?;
    let capture = CaptureRequest { amount: Some(Money::new(minor, sale.currency)) };
    let key = sale_key(&payment.payment_id, &format!("capture:{minor}"));
    match app.sales.capture(&sale.till_id, &sale.reference, &capture, Some(&key)).await {
        Ok(captured) => {
            release_the_rest(&app, &payment, &captured).await;
            Ok(StatusCode::OK)
        }
        Err(SaleError::Pending(_)) => Ok(StatusCode::OK),
        // One made or on its way (unanswered, the PoS told 200) under another amount's key.
        Err(SaleError::CapturedOnce) => Err(captured_differently().of(&caller)),
        Err(e @ (SaleError::AmountOutOfRange { .. } | SaleError::WrongStatus { .. })) => {
            // Captured already (the same capture sent again was found by its key above): this
            // is another amount. Else more than is reserved, or nothing reserved at all.
            let now = app.store.payment(&sale.reference).await?.map_or(sale.status(), |s| s.status());
            Err(match (&e, now) {
                (_, SaleStatus::Captured | SaleStatus::Refunded) => captured_differently(),
                (SaleError::AmountOutOfRange { .. }, _) => {
                    V10Error::from(e).into_conflict(V10Code::CaptureTooHigh)
                }
                _ => V10Error::from(e).into_conflict(V10Code::NotReserved),
            }
            .of(&caller))
        }
        Err(e) => Err(V10Error::from(e).of(&caller)),
    }
}

/// 409 1307: the payment was captured (or a capture is on its way) with another amount.
fn captured_differently() -> V10Error {
    V10Error::conflict(
        V10Code::CapturedDifferently,
        "The payment was captured already, with another amount: a v10 payment is captured once.",
    )
}

/// Releases what a v10 payment's confirmed capture left reserved (see `sales::release`; a
/// capture the platform has not answered yet is released after by the reconciler). The capture
/// was made either way, so a failed release is logged and the PoS still told 200 (a later
/// sending of the same capture asks again).
async fn release_the_rest(app: &AppState, payment: &V10PaymentRow, captured: &kasse_api::Sale) {
    if captured.capturable() == 0 {
        return;
    }
    let key = sale_key(&payment.payment_id, "release");
    match app.sales.release_the_rest(&captured.till_id, &captured.reference, &key).await {
        Ok(_) | Err(SaleError::Pending(_)) => {}
        Err(e) => {
            tracing::warn!(reference = %captured.reference, error = %e, "could not release the rest of a v10 payment's reservation");
        }
    }
}

/// `POST /pos/v10/payments/{paymentid}/cancel`: before approval the request is cancelled; after
/// it, the reservation is released. A captured payment cannot be cancelled (refund it), nor one
/// that ended otherwise: its customer declined, it ran out, or MobilePay ended it, and the PoS
/// hears so (409 1300) rather than its outcome turning into a cancel of its own.
pub(super) async fn cancel(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
) -> Result<StatusCode, V10Error> {
    let payment = own_payment(&app, &caller, &id).await?;
    let ended = status(&payment, sale_of(&app, &payment).await?.as_ref());
    if matches!(
        ended,
        PaymentStatus::CancelledByUser
            | PaymentStatus::ExpiredAndCancelled
            | PaymentStatus::CancelledByMobilePay
    ) {
        return Err(V10Error::conflict(
            V10Code::NotCancellable,
            format!("The payment has ended already ({ended:?}); there is nothing to cancel."),
        )
        .of(&caller));
    }
    // Marked first, so the pairing round neither starts nor moves it meanwhile.
    let now = crate::now_ms();
    let marked = app.store.cancel_v10_payment(&payment.payment_id, now).await?;
    let Some(sale) = sale_of(&app, &payment).await? else { return Ok(StatusCode::OK) };
    if sale.status().is_final() && !matches!(sale.status(), SaleStatus::Captured | SaleStatus::Refunded) {
        return Ok(StatusCode::OK);
    }
    let key = sale_key(&payment.payment_id, "cancel");
    match app.sales.cancel(&sale.till_id, &sale.reference, Some(&key)).await {
        Ok(_) | Err(SaleError::Pending(_)) => Ok(StatusCode::OK),
        Err(e) => {
            // Not cancelled (the customer approving at that moment, the database away): the
            // payment stays in play, as the PoS is told, and its customer may still pay it.
            if marked {
                app.store.uncancel_v10_payment(&payment.payment_id, now).await?;
            }
            Err(match e {
                SaleError::WrongStatus { .. } | SaleError::AlreadyApproved => {
                    V10Error::from(e).into_conflict(V10Code::NotCancellable)
                }
                other => V10Error::from(other),
            }
            .of(&caller))
        }
    }
}

/// The sale waiting for the customer at the point of sale with `beacon`.
async fn waiting_sale(
    app: &AppState,
    caller: &V10Caller,
    beacon: &str,
) -> Result<(V10PosRow, PaymentRow), V10Error> {
    let pos = simulated_pos(app, caller, beacon).await?;
    let sale =
        app.store.active_payment(&pos.till_id).await?.ok_or_else(|| V10Error::not_found().of(caller))?;
    Ok((pos, sale))
}

/// `POST /pos/app/usersimulation/acceptpayment`: the customer approves in the app.
pub(super) async fn simulate_accept(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Body(body): V10Body,
) -> Result<StatusCode, V10Error> {
    let request: UserSimulationRequest = parse(&caller, &body)?;
    let (_, sale) = waiting_sale(&app, &caller, &request.beacon_id).await?;
    let phone = request.phone_number.as_deref().map(|p| p.trim_start_matches('+').to_owned());
    let act = Act::Answer {
        msn: &sale.msn,
        reference: &sale.reference,
        phone_number: phone.as_deref(),
        approve: true,
    };
    simulate(&app, &caller, act)
}

/// `POST /pos/app/usersimulation/cancelpaymentbyuser`: the customer declines in the app.
pub(super) async fn simulate_cancel(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Body(body): V10Body,
) -> Result<StatusCode, V10Error> {
    let request: UserSimulationRequest = parse(&caller, &body)?;
    let (_, sale) = waiting_sale(&app, &caller, &request.beacon_id).await?;
    let act = Act::Answer { msn: &sale.msn, reference: &sale.reference, phone_number: None, approve: false };
    simulate(&app, &caller, act)
}

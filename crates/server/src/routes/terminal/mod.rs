//! The terminal API, `/terminal/v1`: what a PoS system does at kasse's tills with its integrator
//! key. Every write takes an `Idempotency-Key`; errors are problems with stable codes; the
//! OpenAPI document (`openapi`) is made from these handlers and served at
//! `/terminal/v1/openapi.json`.
//!
//! A PoS is a server, not a browser: its key is a bearer token, not a cookie, so these routes are
//! outside the browsers' same-origin rule (no page can make a browser send a key it never had).

mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use kasse_api::{ProblemCode, Sale, SaleStatus};
use serde::Deserialize;

use super::{ApiBytes, ApiPath, ApiQuery};
use crate::AppState;
use crate::config::CapturePolicy;
use crate::error::ApiError;
use crate::sales::SaleError;
use crate::store::{KeyUse, PaymentRow, SalesQuery};
use crate::terminal::access::Integrator;
use crate::terminal::wire::{
    CaptureRequest, Payment, PaymentList, PaymentRequest, PaymentStatus, RefundRequest, Till, TillList,
};
use crate::terminal::{idempotency_key, new_sale, sale_key};

/// The longest a `?wait=` may ask to wait, in seconds.
const MAX_WAIT_S: u64 = 60;
/// Request bodies are small.
const MAX_BODY: usize = 64 * 1024;

/// The terminal API's routes.
pub fn router(app: &Arc<AppState>) -> Router {
    Router::new()
        .route("/terminal/v1/openapi.json", get(openapi::served))
        .route("/terminal/v1/tills", get(tills))
        .route("/terminal/v1/tills/{till}/payments", post(start_payment).get(till_payments))
        .route("/terminal/v1/payments/{reference}", get(payment))
        .route("/terminal/v1/payments/{reference}/cancel", post(cancel))
        .route("/terminal/v1/payments/{reference}/capture", post(capture))
        .route("/terminal/v1/payments/{reference}/refund", post(refund))
        // Under the API's root, every path is the API's: a problem, never the web app's page.
        .route("/terminal/v1", axum::routing::any(|| async { ApiError::no_such_endpoint() }))
        .route("/terminal/v1/", axum::routing::any(|| async { ApiError::no_such_endpoint() }))
        .route("/terminal/v1/{*rest}", axum::routing::any(|| async { ApiError::no_such_endpoint() }))
        // The main router's fallback covers only its own routes, not those merged into it.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(app))
}

/// A JSON body, as the problem the terminal API answers when it is not one.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            ProblemCode::BadRequestBody,
            format!("The request body is not what was expected: {e}"),
        )
    })
}

/// A sale engine's answer as the payment now stored: `ok` when the platform answered, 202 while
/// the write waits to be sent again.
async fn answered(
    app: &AppState,
    result: Result<Sale, SaleError>,
    ok: StatusCode,
) -> Result<Response, ApiError> {
    let (status, sale) = match result {
        Ok(sale) => (ok, sale),
        Err(SaleError::Pending(sale)) => (StatusCode::ACCEPTED, *sale),
        Err(e) => return Err(e.into()),
    };
    let row = app.store.payment(&sale.reference).await?.ok_or_else(|| SaleError::NotFound(sale.reference))?;
    Ok((status, Json(Payment::from(&row))).into_response())
}

/// The tills the key may use.
#[utoipa::path(get, path = "/terminal/v1/tills", tag = "tills",
    responses((status = 200, description = "The tills of the key's stores, by id.", body = TillList)))]
async fn tills(State(app): State<Arc<AppState>>, pos: Integrator) -> Json<TillList> {
    let mut tills: Vec<Till> = app
        .config
        .tills
        .iter()
        .filter(|till| pos.0.stores.contains(&till.store))
        .filter_map(|till| {
            let store = app.config.store(&till.store)?;
            Some(Till {
                id: till.id.clone(),
                name: till.name.clone(),
                store: store.id.clone(),
                store_name: store.name.clone(),
                currency: store.currency.into(),
            })
        })
        .collect();
    tills.sort_by(|a, b| a.id.cmp(&b.id));
    Json(TillList { tills })
}

/// Start a payment at a till: the till asks the customer.
#[utoipa::path(post, path = "/terminal/v1/tills/{till}/payments", tag = "payments",
    params(("till" = String, Path, description = "The till's id."), openapi::IdempotencyKey),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "Started: the customer is being asked.", body = Payment),
        (status = 202, description = "Recorded; the platform has not confirmed it yet. It is sent again until it does: follow the payment.", body = Payment),
    ))]
async fn start_payment(
    State(app): State<Arc<AppState>>,
    pos: Integrator,
    ApiPath(till): ApiPath<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let till = pos.till(&app, &till)?;
    let request: PaymentRequest = parse(&body)?;
    let key = idempotency_key(&app, &pos, &headers, &format!("POST {}", uri.path()), &body).await?;
    let named = app.store.payment_by_client_key(&till.id, &sale_key(&pos, &key.key)).await?;
    let sale_key = key.for_engine(&pos, named.map(|payment| payment.created_at));
    if key.used == KeyUse::Again
        && let Some(earlier) = app.store.payment_by_client_key(&till.id, &sale_key).await?
    {
        // A retry: what the first request started, however the till would choose now.
        let status = if earlier.status == kasse_api::SaleStatus::Creating {
            StatusCode::ACCEPTED
        } else {
            StatusCode::CREATED
        };
        return Ok((status, Json(Payment::from(&earlier))).into_response());
    }
    let order_id = request.order_id.clone();
    let order = crate::sales::PosOrder { integrator_id: &pos.0.id, order_id: order_id.as_deref() };
    let new = new_sale(&app, till, request).await?;
    let started = app.sales.start_for(&till.id, new, Some(&sale_key), Some(order)).await;
    if let Ok(sale) = &started {
        tracing::info!(reference = %sale.reference, till = %till.id, integrator = %pos.0.name, order = ?order_id, "PoS started a payment");
    }
    answered(&app, started, StatusCode::CREATED).await
}

/// The key the sales engine knows a write on payment `reference` by (see
/// [`crate::terminal::RequestKey::for_engine`]), its Idempotency-Key recorded for this request.
async fn write_key(
    app: &AppState,
    pos: &Integrator,
    reference: &str,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
) -> Result<(String, KeyUse), ApiError> {
    let key = idempotency_key(app, pos, headers, &format!("POST {}", uri.path()), body).await?;
    let named = app.store.operation_by_client_key_made_at(reference, &sale_key(pos, &key.key)).await?;
    Ok((key.for_engine(pos, named), key.used))
}

/// `?limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// At most this many, newest first (1 to 200; 50 when absent).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// A till's payments, whoever started them, newest first.
#[utoipa::path(get, path = "/terminal/v1/tills/{till}/payments", tag = "payments",
    params(("till" = String, Path, description = "The till's id."), ListQuery),
    responses((status = 200, description = "The till's payments, newest first.", body = PaymentList)))]
async fn till_payments(
    State(app): State<Arc<AppState>>,
    pos: Integrator,
    ApiPath(till): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PaymentList>, ApiError> {
    let till = pos.till(&app, &till)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request(ProblemCode::BadQuery, "limit must be 1 to 200."));
    }
    let rows = app
        .store
        .sales(&SalesQuery {
            till_ids: &[till.id.as_str()],
            sticker_ids: &[],
            since: 0,
            until: i64::MAX,
            status: None,
            flow: None,
            text: None,
            limit: i64::from(limit),
        })
        .await?;
    Ok(Json(PaymentList { payments: rows.iter().map(Payment::from).collect() }))
}

/// `?wait=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct WaitQuery {
    /// Wait up to this many seconds (at most 60) for the payment's outcome: the answer comes as
    /// soon as the customer has answered or the payment has ended (any status but `creating`,
    /// `awaitingCustomer` and `cancelling`; at a till that captures by itself, `captured` rather
    /// than `authorized`, or `authorized` with a `failure` once capturing failed, not while kasse
    /// asks again for a capture the platform could not make just now), or when the time is up,
    /// with the payment as it is.
    #[param(maximum = 60)]
    wait: Option<u64>,
}

/// A payment, as it is now or (with `wait`) once it has an outcome.
#[utoipa::path(get, path = "/terminal/v1/payments/{reference}", tag = "payments",
    params(("reference" = String, Path, description = "The payment's reference."), WaitQuery),
    responses((status = 200, description = "The payment.", body = Payment)))]
async fn payment(
    State(app): State<Arc<AppState>>,
    pos: Integrator,
    ApiPath(reference): ApiPath<String>,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Json<Payment>, ApiError> {
    let row = pos.payment(&app, &reference).await?;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_S {
        return Err(ApiError::bad_request(
            ProblemCode::BadQuery,
            format!("wait is at most {MAX_WAIT_S} seconds."),
        ));
    }
    let now = Payment::from(&row);
    if wait == 0 || has_outcome(&app, &row, &now) {
        return Ok(Json(now));
    }
    // Listen before reading again, so a change between the two is heard. Waits count with the
    // streams anyone may open, so however many a PoS keeps open the tills keep their quarter.
    let (mut changes, _place) =
        app.live.wait_on(&row.till_id, app.config.limits.public_streams()).map_err(|_| {
            // A place frees as soon as any wait ends: a second is time enough, as declared.
            ApiError::rate_limited(
                ProblemCode::TooManyRequests,
                "The server has as many requests waiting as it may. Ask again without waiting.",
                1_000,
            )
        })?;
    let until = tokio::time::Instant::now() + Duration::from_secs(wait);
    let mut shutdown = app.shutdown.clone();
    loop {
        let row =
            app.store.payment(&reference).await?.ok_or_else(|| SaleError::NotFound(reference.clone()))?;
        let payment = Payment::from(&row);
        if has_outcome(&app, &row, &payment) {
            return Ok(Json(payment));
        }
        tokio::select! {
            heard = tokio::time::timeout_at(until, changes.recv()) => match heard {
                // Something happened at the till (or this listener fell behind): look again.
                Ok(Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) | Err(_) => return Ok(Json(payment)),
            },
            _ = shutdown.changed() => return Ok(Json(payment)),
        }
    }
}

/// Whether a waiting PoS has its answer: the customer answered or the payment ended; at a till
/// that captures by itself, an approval is the answer once it is captured, or capturing failed
/// (not while kasse asks again for a capture the platform could only not make just now: a PoS
/// told of a failure might have the customer pay another way, and then be charged twice).
fn has_outcome(app: &AppState, row: &PaymentRow, payment: &Payment) -> bool {
    let captures_itself =
        app.config.till(&row.till_id).is_some_and(|till| till.capture == CapturePolicy::Automatic);
    let still_capturing = payment.failure.as_deref().is_none_or(|f| f == crate::sales::CAPTURE_ASKED_AGAIN);
    let capturing = captures_itself && payment.status == PaymentStatus::Authorized && still_capturing;
    payment.status.is_outcome() && !capturing
}

/// Cancel a payment, or release what is reserved and not captured.
#[utoipa::path(post, path = "/terminal/v1/payments/{reference}/cancel", tag = "payments",
    params(("reference" = String, Path, description = "The payment's reference."), openapi::IdempotencyKey),
    responses(
        (status = 200, description = "Before the customer approved: the request is cancelled (a customer approving at that very moment wins; see `already-approved`). After: what was not captured is released.", body = Payment),
        (status = 202, description = "Recorded; sent again until the platform confirms it.", body = Payment),
    ))]
async fn cancel(
    State(app): State<Arc<AppState>>,
    pos: Integrator,
    ApiPath(reference): ApiPath<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let row = pos.payment(&app, &reference).await?;
    let (key, used) = write_key(&app, &pos, &reference, &headers, &uri, &body).await?;
    match app.sales.cancel(&row.till_id, &reference, Some(&key)).await {
        // The same cancel sent again, the payment cancelled since: what it asked for is done. (A
        // cancel that joined one already under way, the cashier's, is recorded under that one's
        // key, so the engine cannot find it under this.)
        Err(SaleError::WrongStatus { status: SaleStatus::Cancelled, .. }) if used == KeyUse::Again => {
            let row = app.store.payment(&reference).await?.ok_or_else(|| SaleError::NotFound(reference))?;
            Ok((StatusCode::OK, Json(Payment::from(&row))).into_response())
        }
        done => answered(&app, done, StatusCode::OK).await,
    }
}

/// Take the money: all that is reserved, or part of it.
#[utoipa::path(post, path = "/terminal/v1/payments/{reference}/capture", tag = "payments",
    params(("reference" = String, Path, description = "The payment's reference."), openapi::IdempotencyKey),
    request_body(content = Option<CaptureRequest>, description = "The amount to take; everything reserved when absent (or no body)."),
    responses(
        (status = 200, description = "Captured.", body = Payment),
        (status = 202, description = "Recorded; sent again until the platform confirms it.", body = Payment),
    ))]
async fn capture(
    State(app): State<Arc<AppState>>,
    pos: Integrator,
    ApiPath(reference): ApiPath<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let row = pos.payment(&app, &reference).await?;
    let request: CaptureRequest = if body.is_empty() { CaptureRequest::default() } else { parse(&body)? };
    let (key, _) = write_key(&app, &pos, &reference, &headers, &uri, &body).await?;
    let request = kasse_api::CaptureRequest { amount: request.amount.map(Into::into) };
    let done = app.sales.capture(&row.till_id, &reference, &request, Some(&key)).await;
    answered(&app, done, StatusCode::OK).await
}

/// Give money back: all that was captured, or part of it.
#[utoipa::path(post, path = "/terminal/v1/payments/{reference}/refund", tag = "payments",
    params(("reference" = String, Path, description = "The payment's reference."), openapi::IdempotencyKey),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "Refunded.", body = Payment),
        (status = 202, description = "Recorded; sent again until the platform confirms it.", body = Payment),
    ))]
async fn refund(
    State(app): State<Arc<AppState>>,
    pos: Integrator,
    ApiPath(reference): ApiPath<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let row = pos.payment(&app, &reference).await?;
    let request: RefundRequest = parse(&body)?;
    let (key, _) = write_key(&app, &pos, &reference, &headers, &uri, &body).await?;
    let request = kasse_api::RefundRequest { amount: request.amount.into(), manager_pin: None };
    let done = app.sales.refund(&row.till_id, &reference, &request, Some(&key)).await;
    answered(&app, done, StatusCode::OK).await
}

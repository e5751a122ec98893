//! MobilePay PoS v10, as a v10 integration calls it: `/integrator-authentication/connect/token`,
//! `/pos/v10/…` and, with the built-in simulator, `/pos/app/usersimulation/…`. Paths, headers,
//! status codes, field names and error bodies (`{code, message, correlationId}`) are v10's
//! (`pos.yaml` 10.2.6), and so are the numbered error codes (`crate::pos_v10::codes`); what is
//! done is kasse's (`crate::pos_v10`). The stores and points of sale are in `setup`, payments in
//! `payments`, refunds in `refunds`; `extract` reads addresses, queries and bodies, refusing them
//! in v10's error shape.
//!
//! Access: a token from the token endpoint (client id: the integrator's id; client secret: its
//! kasse API key), or the API key itself, as the bearer token. `X-MobilePay-Client-System-Version`
//! is required, as in v10; `X-MobilePay-Merchant-VAT-Number` (or the token's `merchant_vat`)
//! narrows the key's stores to that merchant's.

mod extract;
mod payments;
mod refunds;
mod setup;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use kasse_api::ProblemCode;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::pos_v10::codes::V10Code;
use crate::pos_v10::wire::{ErrorResponse, TokenResponse};
use crate::sales::SaleError;
use crate::store::{IntegratorRow, KeyUse, StoreError};
use crate::terminal::access::{KEY_PREFIX, bearer, key_hash};

/// How long a v10 access token lasts, as v10's did.
const TOKEN_SECONDS: i64 = 3_700;

/// The v10 routes.
pub fn router(app: &Arc<AppState>) -> Router {
    Router::new()
        .route("/integrator-authentication/connect/token", post(token))
        .route("/pos/v10/stores", get(setup::stores))
        .route("/pos/v10/stores/detailed", get(setup::detailed_stores))
        .route("/pos/v10/stores/{storeid}", get(setup::store))
        .route("/pos/v10/pointofsales", get(setup::points_of_sale).post(setup::create_pos))
        .route("/pos/v10/pointofsales/{posid}", get(setup::pos).delete(setup::delete_pos))
        .route("/pos/v10/pointofsales/{posid}/checkin", get(setup::check_in))
        .route("/pos/v10/payments", get(payments::payments).post(payments::initiate))
        .route("/pos/v10/payments/prepare", post(payments::prepare))
        .route("/pos/v10/payments/{paymentid}", get(payments::payment))
        .route("/pos/v10/payments/{paymentid}/ready", post(payments::ready))
        .route("/pos/v10/payments/{paymentid}/capture", post(payments::capture))
        .route("/pos/v10/payments/{paymentid}/cancel", post(payments::cancel))
        .route("/pos/v10/refunds", get(refunds::refunds).post(refunds::create_refund))
        .route("/pos/v10/refunds/{refundid}", get(refunds::refund))
        .route("/pos/v10/refunds/{refundid}/capture", post(refunds::capture_refund))
        .route("/pos/v10/refunds/{refundid}/cancel", post(refunds::cancel_refund))
        .route("/pos/app/usersimulation/checkin", post(setup::simulate_check_in))
        .route("/pos/app/usersimulation/acceptpayment", post(payments::simulate_accept))
        .route("/pos/app/usersimulation/cancelpaymentbyuser", post(payments::simulate_cancel))
        // The main router's fallback covers only its own routes, and answers in problem+json.
        .method_not_allowed_fallback(|headers: HeaderMap| async move {
            V10Error { correlation_id: correlation_id(&headers), ..V10Error::method_not_allowed() }
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .with_state(Arc::clone(app))
}

/// A v10 error: `{code, message, correlationId}`, or no body where v10 sent none (401, 404).
#[derive(Debug)]
pub struct V10Error {
    status: StatusCode,
    code: V10Code,
    message: String,
    correlation_id: String,
}

impl V10Error {
    fn new(status: StatusCode, code: V10Code, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), correlation_id: String::new() }
    }

    /// 400.
    pub fn bad_request(code: V10Code, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401, without a body.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, V10Code::Kasse(ProblemCode::Unauthorized), "")
    }

    /// 403.
    pub fn forbidden(code: V10Code, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404, without a body.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, V10Code::Kasse(ProblemCode::NotFound), "")
    }

    /// 405: v10 has the address, not for this method. (v10 declared no such answer; an HTTP
    /// client knows what it means, and v10's error shape is what its integrations parse.)
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            V10Code::Kasse(ProblemCode::MethodNotAllowed),
            "This address does not take that kind of request.",
        )
    }

    /// 409: the request cannot be done now (v10's "could not be …").
    pub fn conflict(code: V10Code, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// The same error as a 409 with v10's `code` for the case (a refusal the sales engine words
    /// alike for every caller, which v10 numbered by the request it refuses).
    #[must_use]
    pub fn into_conflict(self, code: V10Code) -> Self {
        Self { status: StatusCode::CONFLICT, code, ..self }
    }

    /// The same error, naming the request it answers.
    #[must_use]
    pub fn of(mut self, caller: &V10Caller) -> Self {
        caller.correlation_id.clone_into(&mut self.correlation_id);
        self
    }
}

impl From<ApiError> for V10Error {
    fn from(e: ApiError) -> Self {
        let problem = e.into_problem();
        let code = problem.code.unwrap_or(ProblemCode::Unknown);
        // v10 declares 400, 401, 403, 404, 409 and 500: the rest is said as the nearest of them
        // (a body too large is a request v10 would refuse as bad).
        let status = match problem.status {
            413 => StatusCode::BAD_REQUEST,
            400 | 401 | 403 | 404 | 409 => {
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::CONFLICT)
            }
            500..=501 | 503..=599 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::CONFLICT,
        };
        Self::new(status, V10Code::of_problem(code, status.as_u16()), problem.sentence())
    }
}

impl From<SaleError> for V10Error {
    fn from(e: SaleError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<StoreError> for V10Error {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for V10Error {
    fn into_response(self) -> Response {
        let mut response = if matches!(self.status, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND) {
            self.status.into_response()
        } else {
            let body = ErrorResponse {
                code: self.code.as_str(),
                message: self.message,
                correlation_id: self.correlation_id.clone(),
            };
            (self.status, Json(body)).into_response()
        };
        if let Ok(value) = HeaderValue::from_str(&self.correlation_id) {
            response.headers_mut().insert("correlationid", value);
        }
        response
    }
}

/// A v10 integration, as its request presents itself.
#[derive(Debug, Clone)]
pub struct V10Caller {
    /// The integrator.
    pub integrator: IntegratorRow,
    /// The stores it may act in now: its key's, narrowed to the merchant a VAT number names.
    pub stores: Vec<String>,
    /// The request's correlation id (the `CorrelationId` header, or a new one).
    pub correlation_id: String,
}

/// A request's correlation id: its `CorrelationId` header, or a new one.
fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("correlationid")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 100)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

impl FromRequestParts<Arc<AppState>> for V10Caller {
    type Rejection = V10Error;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, V10Error> {
        let headers = &parts.headers;
        let text = |name: &str| {
            headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
        };
        let correlation_id = correlation_id(headers);
        parts.extensions.insert(extract::Correlation(correlation_id.clone()));
        let named = |e: V10Error| V10Error { correlation_id: correlation_id.clone(), ..e };
        let bearer = text("authorization").and_then(bearer);
        let Some(bearer) = bearer else { return Err(named(V10Error::unauthorized())) };
        let now = crate::now_ms();
        let (integrator, token_vat) = if bearer.starts_with(KEY_PREFIX) {
            (app.store.integrator_by_key(&key_hash(bearer)).await?, None)
        } else {
            match app.store.v10_token(&token_hash(bearer), now).await? {
                Some((id, vat)) => (app.store.integrator(&id).await?, vat),
                None => (None, None),
            }
        };
        let Some(integrator) = integrator.filter(|i| i.revoked_at.is_none()) else {
            return Err(named(V10Error::unauthorized()));
        };
        if text("x-mobilepay-client-system-version").is_none() {
            return Err(named(V10Error::bad_request(
                V10Code::MissingClientSystemVersion,
                "The X-MobilePay-Client-System-Version header is required.",
            )));
        }
        let vat = text("x-mobilepay-merchant-vat-number").map(str::to_ascii_uppercase).or(token_vat);
        let stores: Vec<String> = integrator
            .stores
            .iter()
            .filter(|id| {
                vat.as_deref().is_none_or(|vat| {
                    app.config.store(id).and_then(|s| s.vat_number.as_deref()).is_some_and(|v| v == vat)
                })
            })
            .cloned()
            .collect();
        if let Some(vat) = &vat
            && stores.is_empty()
        {
            return Err(named(V10Error::forbidden(
                V10Code::Kasse(ProblemCode::Forbidden),
                format!("No merchant with VAT number {vat} is among this integrator's stores."),
            )));
        }
        Ok(Self { integrator, stores, correlation_id })
    }
}

impl V10Caller {
    /// The key the request names itself with (`X-MobilePay-Idempotency-Key`, required), recorded
    /// for this exact request: the same key on another request is 409.
    async fn idempotency_key(
        &self,
        app: &AppState,
        headers: &HeaderMap,
        request: &str,
        body: &[u8],
    ) -> Result<String, V10Error> {
        let sent = headers.get("x-mobilepay-idempotency-key");
        let key = sent
            .and_then(|v| v.to_str().ok())
            .filter(|k| (1..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                let code = if sent.is_some() {
                    V10Code::InvalidIdempotencyKey
                } else {
                    V10Code::MissingIdempotencyKey
                };
                V10Error::bad_request(
                    code,
                    "The X-MobilePay-Idempotency-Key header (1 to 100 visible characters) is required.",
                )
                .of(self)
            })?;
        let hash =
            crate::hex(&Sha256::new().chain_update(request).chain_update([0]).chain_update(body).finalize());
        let used = app
            .store
            .use_idempotency_key(&self.integrator.id, &format!("v10:{key}"), &hash, crate::now_ms())
            .await?;
        if used == KeyUse::Reused {
            return Err(V10Error::conflict(
                V10Code::KeyReused,
                "This X-MobilePay-Idempotency-Key was used before for a different request.",
            )
            .of(self));
        }
        Ok(key.to_owned())
    }
}

/// A JSON body, or v10's 400.
fn parse<T: serde::de::DeserializeOwned>(caller: &V10Caller, body: &[u8]) -> Result<T, V10Error> {
    serde_json::from_slice(body).map_err(|e| {
        V10Error::bad_request(V10Code::BadRequest, format!("The request body is not valid: {e}")).of(caller)
    })
}

fn token_hash(token: &str) -> String {
    crate::hex(&Sha256::digest(token.as_bytes()))
}

/// `POST /integrator-authentication/connect/token`: client credentials (the integrator's id and
/// its kasse API key, by HTTP Basic or in the form), `grant_type=client_credentials`, and
/// optionally `merchant_vat` to bind the token to one merchant.
async fn token(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let oauth = |status: StatusCode, error: &str| {
        (status, Json(serde_json::json!({ "error": error }))).into_response()
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("client_credentials") {
        return oauth(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    let Some((client_id, secret)) = basic.or_else(|| Some((field("client_id")?, field("client_secret")?)))
    else {
        return oauth(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let integrator = match app.store.integrator_by_key(&key_hash(&secret)).await {
        Ok(found) => found.filter(|i| i.id == client_id && i.revoked_at.is_none()),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(integrator) = integrator else { return oauth(StatusCode::UNAUTHORIZED, "invalid_client") };
    let access_token = format!("v10_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let vat = field("merchant_vat").map(|v| v.trim().to_ascii_uppercase()).filter(|v| !v.is_empty());
    let expires_at = crate::now_ms() + TOKEN_SECONDS * 1_000;
    if let Err(e) = app
        .store
        .insert_v10_token(&token_hash(&access_token), &integrator.id, vat.as_deref(), expires_at)
        .await
    {
        return ApiError::from(e).into_response();
    }
    Json(TokenResponse {
        access_token,
        expires_in: TOKEN_SECONDS,
        token_type: "Bearer",
        scope: "integrator_scope",
    })
    .into_response()
}

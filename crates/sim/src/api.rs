//! The platform's HTTP surface: Access Token, ePayment and Webhooks APIs, on the platform's paths,
//! with its headers, status codes and problem bodies.
//!
//! Every ePayment call is counted against the platform's rate limits once its caller is known,
//! before anything else happens to it; the fault knobs act even earlier, in the `faults`
//! middleware around all these routes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use kasse_vipps::epayment::{
    Amount, CancelModificationRequest, CreatePaymentRequest, CreatePaymentResponse, ForceApprove,
    ModificationRequest, ModificationResponse, QrImageFormat, UserFlow,
};
use kasse_vipps::headers as h;
use kasse_vipps::token::AuthorizationTokenResponse;
use kasse_vipps::webhooks::RegisterRequest;
use serde_json::Value;
use url::Url;

use crate::Sim;
use crate::config::SalesUnit;
use crate::error::SimError;
use crate::http::{Msn, authenticate, header, json, parse, parse_value, system_headers, with_retry_after};
use crate::limits::Read;
use crate::validate;
use crate::world::{MagicAmount, Operation, ReceivedWrite, Replay, World};

/// The platform API routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/accesstoken/get", post(access_token))
        .route("/epayment/v1/payments", post(create_payment))
        .route("/epayment/v1/payments/{reference}", get(get_payment))
        .route("/epayment/v1/payments/{reference}/events", get(get_events))
        .route("/epayment/v1/payments/{reference}/capture", post(capture))
        .route("/epayment/v1/payments/{reference}/refund", post(refund))
        .route("/epayment/v1/payments/{reference}/cancel", post(cancel))
        .route("/epayment/v1/test/payments/{reference}/approve", post(force_approve))
        .route("/webhooks/v1/webhooks", post(register_webhook).get(list_webhooks))
        .route("/webhooks/v1/webhooks/{id}", delete(delete_webhook))
}

async fn access_token(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let now = sim.clock.now();
    let issued = sim.world().issue_token(
        header(&headers, h::CLIENT_ID).unwrap_or_default(),
        header(&headers, h::CLIENT_SECRET).unwrap_or_default(),
        header(&headers, h::SUBSCRIPTION_KEY).unwrap_or_default(),
        now,
    );
    match issued {
        Ok((token, expires_at)) => {
            let lifetime = (expires_at - now).num_seconds();
            json(
                StatusCode::OK,
                &AuthorizationTokenResponse {
                    token_type: "Bearer".to_owned(),
                    expires_in: lifetime.to_string(),
                    ext_expires_in: "0".to_owned(),
                    expires_on: expires_at.timestamp().to_string(),
                    not_before: now.timestamp().to_string(),
                    resource: "00000002-0000-0000-c000-000000000000".to_owned(),
                    access_token: token,
                },
            )
        }
        Err(e) => e.at("/accesstoken/get").into_response(),
    }
}

// ------------------------------------------------------------------------------------------------
// Idempotent writes
// ------------------------------------------------------------------------------------------------

/// The title of error 4020.
const KEY_EXISTS: &str = "Idempotency error (key already exists)";

/// What an idempotent write needs to know besides its body.
struct Write<'a> {
    operation: Operation,
    /// From the path, or for a create from the body ("" when it has none).
    reference: &'a str,
    /// ePayment's error code for the same key with the same operation and another body.
    conflict: (u32, &'static str),
}

/// A write's body, parsed once: its JSON value serves both the idempotency check and the handler.
struct Body<'a> {
    raw: &'a [u8],
    json: Option<Value>,
}

impl<'a> Body<'a> {
    fn new(raw: &'a [u8]) -> Self {
        Self { raw, json: serde_json::from_slice(raw).ok() }
    }

    /// The request as the platform compares it: its JSON value, so key order and whitespace do
    /// not make a request different.
    fn fingerprint(&self) -> String {
        self.json.as_ref().map_or_else(|| String::from_utf8_lossy(self.raw).into_owned(), Value::to_string)
    }

    /// The body as `T`. Only a body that is not JSON at all is read again, for serde's message.
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, SimError> {
        match &self.json {
            Some(value) => parse_value(value, "body"),
            None => parse(self.raw, "body"),
        }
    }
}

/// What a write was answered: the status and the very bytes, and whether it changed anything.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    applied: bool,
    retry_after: Option<u64>,
}

impl Answer {
    /// A refusal: `e` (with its `instance` set) as its problem body.
    fn refused(e: &SimError) -> Self {
        Self {
            status: StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            body: serde_json::to_vec(&e.problem()).unwrap_or_default(),
            applied: false,
            retry_after: None,
        }
    }

    /// Whether the same key and request get this answer again: successes and refusals do; a 5xx
    /// or 429 says nothing about the request, so retrying it is worth it.
    fn is_replayable(&self) -> bool {
        self.status.is_success()
            || (self.status.is_client_error() && self.status != StatusCode::TOO_MANY_REQUESTS)
    }

    fn into_response(self) -> Response {
        let content_type =
            if self.status.is_success() { "application/json" } else { "application/problem+json" };
        let response = (self.status, [(header::CONTENT_TYPE, content_type)], self.body).into_response();
        with_retry_after(response, self.retry_after)
    }
}

/// What a write changes once admitted and not a replay: a status and body, or a refusal.
type Outcome = Result<(StatusCode, Vec<u8>), SimError>;

/// An authenticated write call, as its steps see it.
struct Call<'a> {
    unit: SalesUnit,
    key: Option<&'a str>,
    path: &'a str,
    now: DateTime<Utc>,
}

/// Runs a write under the platform's idempotency rules: the same key with the same request replays
/// the first answer (errors included, but not 5xx/429); with another request it is a 409. Once the
/// caller is known, every outcome goes on the payment's record, refusals included.
fn idempotent(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    body: &Body<'_>,
    write: &Write<'_>,
    apply: impl FnOnce(&mut World, &SalesUnit, Option<String>, DateTime<Utc>) -> Outcome,
) -> Response {
    let now = sim.clock.now();
    let mut world = sim.world_now();
    let unit = match authenticate(&world, headers, Msn::Required, now) {
        Ok(unit) => unit,
        // Nobody's call yet: the gateway turns it away before any payment hears of it.
        Err(e) => return e.at(path).into_response(),
    };
    let call = Call { unit, key: header(headers, h::IDEMPOTENCY_KEY), path, now };
    let answer = match admit(sim, &call, write) {
        Ok(()) => replay_or_apply(&mut world, &call, write, body, apply),
        Err(refusal) => refusal,
    };
    let received = ReceivedWrite {
        operation: write.operation,
        idempotency_key: call.key.map(str::to_owned),
        system: system_headers(headers),
        applied: answer.applied,
        status: answer.status.as_u16(),
    };
    world.note_received(&call.unit.msn, write.reference, received);
    sim.flush(&mut world);
    drop(world);
    answer.into_response()
}

/// Lets a write in, or turns it away before anything happens to it: over the rate limit (429),
/// or with an Idempotency-Key the platform cannot keep (400). Neither uses up the key.
fn admit(sim: &Sim, call: &Call<'_>, write: &Write<'_>) -> Result<(), Answer> {
    // Replays and refusals count too: the limit is on calls, whatever becomes of them. A create
    // without a readable reference has nothing to be counted against.
    if !write.reference.is_empty()
        && let Err(throttled) =
            sim.limits.admit_write(write.operation, &call.unit.msn, write.reference, call.now)
    {
        let answer = Answer::refused(&throttled.error.at(call.path));
        return Err(Answer { retry_after: Some(throttled.retry_after), ..answer });
    }
    if call.key.is_some_and(|k| k.is_empty() || k.len() > 50) {
        let e = SimError::validation("Idempotency-Key", "The Idempotency-Key must be 1 to 50 characters.");
        return Err(Answer::refused(&e.at(call.path)));
    }
    Ok(())
}

/// The answer to an admitted write: the stored one when its key comes again with the same
/// request, else a fresh one from `apply`, stored for next time if replayable. A key that comes
/// again with another request is a 409, which is not stored: the first answer stays the key's.
fn replay_or_apply(
    world: &mut World,
    call: &Call<'_>,
    write: &Write<'_>,
    body: &Body<'_>,
    apply: impl FnOnce(&mut World, &SalesUnit, Option<String>, DateTime<Utc>) -> Outcome,
) -> Answer {
    let fingerprint = body.fingerprint();
    if let Some(replay) = call.key.and_then(|key| world.replay(&call.unit.msn, key)) {
        let conflict = if replay.operation != write.operation || replay.reference != write.reference {
            Some(SimError::domain(
                409,
                4020,
                KEY_EXISTS,
                "This Idempotency-Key was used before for another operation or payment. Use a new key for a new operation.",
            ))
        } else if replay.fingerprint != fingerprint {
            Some(SimError::idempotency_conflict(write.conflict.0, write.conflict.1))
        } else {
            None
        };
        return match conflict {
            Some(e) => Answer::refused(&e.at(call.path)),
            None => Answer {
                status: StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK),
                body: replay.body.clone(),
                applied: false,
                retry_after: None,
            },
        };
    }
    let answer = match apply(world, &call.unit, call.key.map(str::to_owned), call.now) {
        Ok((status, body)) => Answer { status, body, applied: true, retry_after: None },
        Err(e) => Answer::refused(&e.at(call.path)),
    };
    if let Some(key) = call.key.filter(|_| answer.is_replayable()) {
        let replay = Replay {
            operation: write.operation,
            reference: write.reference.to_owned(),
            fingerprint,
            status: answer.status.as_u16(),
            body: answer.body.clone(),
        };
        world.remember(&call.unit.msn, key, replay);
    }
    answer
}

fn key_required() -> SimError {
    SimError::validation("Idempotency-Key", "The Idempotency-Key header is required.")
}

async fn create_payment(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let body = Body::new(&body);
    // Read leniently: a refused create is still counted, and noted, against the reference it names.
    let reference = body.json.as_ref().and_then(|b| b.get("reference")).and_then(Value::as_str);
    let write = Write {
        operation: Operation::Create,
        reference: reference.unwrap_or_default(),
        conflict: (4020, KEY_EXISTS),
    };
    let apply = |world: &mut World, unit: &SalesUnit, key: Option<String>, now: DateTime<Utc>| {
        let key = key.ok_or_else(key_required)?;
        let request: CreatePaymentRequest = body.parse()?;
        validate::create_request(&request, unit, &world.config.customers, now)?;
        let customer_phone = customer_phone(&sim, world, &request, &unit.msn, now)?;
        if request.user_flow == UserFlow::PushMessage
            && let Some(customer) = customer_phone.as_deref().and_then(|p| world.config.customer(p))
        {
            validate::old_enough(request.minimum_user_age, customer)?;
        }
        let user_flow = request.user_flow;
        let qr_format = request.qr_format.map_or(QrImageFormat::ImageSvg, |f| f.format);
        let reference = request.reference.clone();
        let token = world.create(&unit.msn, request, Some(key), customer_phone, now)?;
        let redirect_url = redirect_url(&sim.base_url, user_flow, qr_format, &token);
        let body = serde_json::to_vec(&CreatePaymentResponse { redirect_url, reference }).unwrap_or_default();
        Ok((StatusCode::CREATED, body))
    };
    idempotent(&sim, &headers, uri.path(), &body, &write, apply)
}

/// The phone number of the customer a create request names, however it names them. A check-in's
/// customer token must be valid at this sales unit (4050 if not); the payment stays that
/// customer's after the token expires.
fn customer_phone(
    sim: &Sim,
    world: &World,
    request: &CreatePaymentRequest,
    msn: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, SimError> {
    let Some(customer) = &request.customer else { return Ok(None) };
    if let Some(token) = &customer.customer_token {
        // The world is locked before the QR state, as everywhere.
        return Ok(Some(sim.qr.check_customer_token(token, msn, now)?.phone_number));
    }
    let by_qr = |qr: &String| {
        world.config.customers.iter().find(|c| c.personal_qr() == *qr).map(|c| c.phone_number.clone())
    };
    Ok(customer.phone_number.clone().or_else(|| customer.personal_qr.as_ref().and_then(by_qr)))
}

/// Where a created payment sends its customer: the pay page, or its QR code; nowhere for a push.
fn redirect_url(base: &Url, user_flow: UserFlow, qr_format: QrImageFormat, token: &str) -> Option<String> {
    let path = match (user_flow, qr_format) {
        (UserFlow::PushMessage, _) => return None,
        (UserFlow::Qr, QrImageFormat::ImageSvg) => format!("sim/qr-image/{token}?format=svg"),
        (UserFlow::Qr, QrImageFormat::ImagePng) => format!("sim/qr-image/{token}?format=png"),
        (UserFlow::Qr, QrImageFormat::TextTargetUrl)
        | (UserFlow::WebRedirect | UserFlow::NativeRedirect, _) => {
            format!("sim/pay/{token}")
        }
    };
    base.join(&path).map(|u| u.to_string()).ok()
}

/// A change of amount (capture or refund) in a World.
type ChangeAmount = fn(
    &mut World,
    &str,
    &str,
    Amount,
    Option<String>,
    DateTime<Utc>,
) -> Result<ModificationResponse, SimError>;

/// Capture and refund: a `ModificationRequest` in, a `ModificationResponse` out.
fn change_amount(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    write: &Write<'_>,
    change: ChangeAmount,
) -> Response {
    let body = Body::new(body);
    let apply = |world: &mut World, unit: &SalesUnit, key: Option<String>, now: DateTime<Utc>| {
        let key = key.ok_or_else(key_required)?;
        let request: ModificationRequest = body.parse()?;
        let response =
            change(world, &unit.msn, write.reference, request.modification_amount, Some(key), now)?;
        Ok((StatusCode::OK, serde_json::to_vec(&response).unwrap_or_default()))
    };
    idempotent(sim, headers, path, &body, write, apply)
}

async fn capture(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let write = Write {
        operation: Operation::Capture,
        reference: &reference,
        conflict: (4010, "Capture idempotency conflict"),
    };
    let capture: ChangeAmount = if sim.faults.knobs().fail_captures { fail_capture } else { World::capture };
    change_amount(&sim, &headers, uri.path(), &body, &write, capture)
}

/// A capture the platform cannot make just now (fault knob `failCaptures`): nothing is taken.
fn fail_capture(
    _: &mut World,
    _: &str,
    _: &str,
    _: Amount,
    _: Option<String>,
    _: DateTime<Utc>,
) -> Result<ModificationResponse, SimError> {
    Err(SimError::domain(
        400,
        6280,
        "Capture failed, please try again later",
        "Simulated capture failure (fault knob failCaptures): nothing was captured. Try again later, with a new Idempotency-Key.",
    ))
}

async fn refund(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let write = Write {
        operation: Operation::Refund,
        reference: &reference,
        conflict: (4150, "Refund idempotency conflict"),
    };
    change_amount(&sim, &headers, uri.path(), &body, &write, World::refund)
}

async fn cancel(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let write = Write { operation: Operation::Cancel, reference: &reference, conflict: (4020, KEY_EXISTS) };
    let body = Body::new(&body);
    let apply = |world: &mut World, unit: &SalesUnit, key: Option<String>, now: DateTime<Utc>| {
        // The body is optional, and the key only recommended, on cancel.
        let request: CancelModificationRequest =
            if body.raw.is_empty() { CancelModificationRequest::default() } else { body.parse()? };
        let transaction_only = request.cancel_transaction_only.unwrap_or(false);
        let response = world.cancel(&unit.msn, &reference, transaction_only, key, now)?;
        Ok((StatusCode::OK, serde_json::to_vec(&response).unwrap_or_default()))
    };
    idempotent(&sim, &headers, uri.path(), &body, &write, apply)
}

// ------------------------------------------------------------------------------------------------
// Reads and the test environment's force approve
// ------------------------------------------------------------------------------------------------

async fn get_payment(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    read(&sim, &headers, uri.path(), (Read::Payment, &reference), |world, unit| {
        let payment = world.payment(&unit.msn, &reference).ok_or_else(not_found)?;
        let mut view = payment.view();
        if matches!(payment.request.user_flow, UserFlow::WebRedirect | UserFlow::NativeRedirect) {
            view.redirect_url =
                sim.base_url.join(&format!("sim/pay/{}", payment.token)).ok().map(|u| u.to_string());
        }
        Ok(json(StatusCode::OK, &view))
    })
}

async fn get_events(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    read(&sim, &headers, uri.path(), (Read::Events, &reference), |world, unit| {
        let payment = world.payment(&unit.msn, &reference).ok_or_else(not_found)?;
        Ok(json(StatusCode::OK, &payment.events))
    })
}

fn not_found() -> SimError {
    SimError::domain(
        404,
        5090,
        "Reference not found",
        "No payment with this reference exists for this sales unit.",
    )
}

/// Answers a GET (`read` of `reference`) within the read rate limit.
fn read(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    (read, reference): (Read, &str),
    answer: impl FnOnce(&World, &SalesUnit) -> Result<Response, SimError>,
) -> Response {
    let now = sim.clock.now();
    let world = sim.world_now();
    let mut retry_after = None;
    let response = authenticate(&world, headers, Msn::Required, now).and_then(|unit| {
        if let Err(throttled) = sim.limits.admit_read(read, unit.subscription_key.expose(), reference, now) {
            retry_after = Some(throttled.retry_after);
            return Err(throttled.error);
        }
        answer(&world, &unit)
    });
    drop(world);
    with_retry_after(response.unwrap_or_else(|e| e.at(path).into_response()), retry_after)
}

async fn force_approve(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let now = sim.clock.now();
    let mut world = sim.world();
    let outcome = (|| {
        let unit = authenticate(&world, &headers, Msn::Required, now)?;
        let request: ForceApprove =
            if body.is_empty() { ForceApprove::default() } else { parse(&body, "body")? };
        let payment = world.payment(&unit.msn, &reference).ok_or_else(not_found)?;
        let token_matches = request.token.as_deref().is_some_and(|t| t == payment.token);
        let customer = request.customer.as_ref().and_then(|c| c.phone_number.as_deref());
        let customer_known = customer.is_some_and(|p| world.config.customer(p).is_some());
        if !token_matches && !customer_known {
            return Err(SimError::domain(
                400,
                10010,
                "Approve failed",
                "Give a known test customer's phoneNumber or the payment's token.",
            ));
        }
        let value = payment.request.amount.value;
        if MagicAmount::of(value).is_some() {
            // The platform's force approve does not support the magic amounts (reference §8). Of
            // its test-only errors (10010-10070), 10060 "Operation not supported" says just that.
            return Err(SimError::domain(
                400,
                10060,
                "Operation not supported",
                &format!(
                    "Force approve does not support the test amount {value}: approve it on the phone page to see its outcome."
                ),
            ));
        }
        // Whoever approves must be old enough: the customer named here, else the one it was for.
        let approver = customer.map(str::to_owned).or_else(|| payment.customer_phone.clone());
        // Nobody is asked anything on a forced approval, so nothing is shared: consent is
        // given on the phone page only.
        world.approve(&unit.msn, &reference, approver.as_deref(), false, now)
    })();
    sim.flush(&mut world);
    drop(world);
    match outcome {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

// ------------------------------------------------------------------------------------------------
// Webhooks API
// ------------------------------------------------------------------------------------------------

/// The sales unit of a Webhooks API call. The `Merchant-Serial-Number` header is optional here
/// (reference/vipps-apis.md §1, §5): without it, the credentials name the unit.
fn webhooks_caller(sim: &Sim, headers: &HeaderMap) -> Result<SalesUnit, SimError> {
    authenticate(&sim.world(), headers, Msn::Optional, sim.clock.now())
}

async fn register_webhook(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let outcome = webhooks_caller(&sim, &headers).and_then(|unit| {
        let request: RegisterRequest = parse(&body, "body")?;
        sim.deliveries.register(&unit.msn, &request)
    });
    match outcome {
        Ok(registered) => json(StatusCode::CREATED, &registered),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn list_webhooks(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match webhooks_caller(&sim, &headers) {
        Ok(unit) => json(StatusCode::OK, &sim.deliveries.list(&unit.msn)),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn delete_webhook(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match webhooks_caller(&sim, &headers).and_then(|unit| sim.deliveries.delete(&unit.msn, &id)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_has_the_same_fingerprint_whatever_its_formatting() {
        let fingerprint = |raw: &[u8]| Body::new(raw).fingerprint();
        let a = fingerprint(br#"{"modificationAmount":{"currency":"NOK","value":100}}"#);
        let b = fingerprint(br#"{ "modificationAmount": { "value": 100, "currency": "NOK" } }"#);
        let c = fingerprint(br#"{"modificationAmount":{"currency":"NOK","value":101}}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(fingerprint(b"not json"), "not json");
    }
}

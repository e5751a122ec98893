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
    CancelModificationRequest, CreatePaymentRequest, CreatePaymentResponse, ForceApprove,
    ModificationRequest, QrImageFormat, UserFlow,
};
use kasse_vipps::headers as h;
use kasse_vipps::token::AuthorizationTokenResponse;
use kasse_vipps::webhooks::RegisterRequest;
use serde::{Deserialize, Serialize};

use crate::Sim;
use crate::config::SalesUnit;
use crate::error::SimError;
use crate::world::{MagicAmount, ReceivedWrite, Replay, SystemHeaders, World};
use crate::{faults, validate};

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

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    serde_json::from_slice(body)
        .map_err(|e| SimError::validation("body", &format!("The request body is not valid: {e}")))
}

fn system_headers(headers: &HeaderMap) -> SystemHeaders {
    let get = |name| header(headers, name).map(str::to_owned);
    SystemHeaders {
        system_name: get(h::SYSTEM_NAME),
        system_version: get(h::SYSTEM_VERSION),
        plugin_name: get(h::SYSTEM_PLUGIN_NAME),
        plugin_version: get(h::SYSTEM_PLUGIN_VERSION),
    }
}

fn authenticate(world: &World, headers: &HeaderMap, now: DateTime<Utc>) -> Result<SalesUnit, SimError> {
    let bearer = header(headers, header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "));
    world.authenticate(bearer, header(headers, h::SUBSCRIPTION_KEY), header(headers, h::MSN), now).cloned()
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
            json_response(
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

/// What an idempotent write needs to know besides its body.
struct Write<'a> {
    operation: &'static str,
    /// From the path, or for a create from the body.
    reference: &'a str,
    /// ePayment's error code for "same key, different request" on this operation.
    conflict: (u32, &'static str),
}

type Outcome = Result<(StatusCode, Vec<u8>), SimError>;

/// Runs a write under the platform's idempotency rules: the same key with the same request replays
/// the first answer (errors included, but not 5xx/429); with another request it is a 409.
fn idempotent(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    write: &Write<'_>,
    apply: impl FnOnce(&mut World, &SalesUnit, Option<String>, DateTime<Utc>) -> Outcome,
) -> Response {
    let now = sim.clock.now();
    let mut world = sim.world_now();
    let received = |applied: bool, status: StatusCode| ReceivedWrite {
        operation: write.operation,
        idempotency_key: header(headers, h::IDEMPOTENCY_KEY).map(str::to_owned),
        system: system_headers(headers),
        applied,
        status: status.as_u16(),
    };
    let mut retry_after = None;
    let outcome = (|| {
        let unit = authenticate(&world, headers, now)?;
        // Replays and refusals count too: the limit is on calls, whatever becomes of them. A
        // create without a readable reference has nothing to be counted against.
        if !write.reference.is_empty()
            && let Err(throttled) = sim.faults.admit_write(write.operation, &unit.msn, write.reference, now)
        {
            world.note_received(&unit.msn, write.reference, received(false, StatusCode::TOO_MANY_REQUESTS));
            retry_after = Some(throttled.retry_after);
            return Err(throttled.error);
        }
        let key = header(headers, h::IDEMPOTENCY_KEY).map(str::to_owned);
        if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 50) {
            return Err(SimError::validation(
                "Idempotency-Key",
                "The Idempotency-Key must be 1 to 50 characters.",
            ));
        }
        let fingerprint = fingerprint(write.operation, write.reference, body);
        if let Some(replay) = key.as_ref().and_then(|key| world.replay(&unit.msn, key)) {
            if replay.fingerprint != fingerprint {
                return Err(SimError::idempotency_conflict(write.conflict.0, write.conflict.1));
            }
            let replay = replay.clone();
            let status = StatusCode::from_u16(replay.status).unwrap_or(StatusCode::OK);
            world.note_received(&unit.msn, write.reference, received(false, status));
            return Ok((status, replay.body));
        }
        let result = apply(&mut world, &unit, key.clone(), now).map_err(|e| e.at(path));
        let (status, bytes) = match &result {
            Ok((status, bytes)) => (*status, bytes.clone()),
            Err(e) => (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                serde_json::to_vec(&e.problem()).unwrap_or_default(),
            ),
        };
        let replayable =
            status.is_success() || (status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS);
        if let Some(key) = key.filter(|_| replayable) {
            world.remember(
                &unit.msn,
                &key,
                Replay { fingerprint, status: status.as_u16(), body: bytes.clone() },
            );
        }
        // A successful create is on the record from the start; a refused one is noted on the
        // payment whose reference it tried to reuse, if any.
        if write.operation != "create" || !status.is_success() {
            world.note_received(&unit.msn, write.reference, received(status.is_success(), status));
        }
        // The first answer goes out as the very bytes stored for replay.
        Ok((status, bytes))
    })();
    sim.flush(&mut world);
    drop(world);
    let response = match outcome {
        Ok((status, bytes)) => {
            let content_type =
                if status.is_success() { "application/json" } else { "application/problem+json" };
            (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Err(e) => e.at(path).into_response(),
    };
    faults::with_retry_after(response, retry_after)
}

/// The request as the platform compares it: operation, reference and the body's JSON value (key
/// order and whitespace do not make a request different).
fn fingerprint(operation: &str, reference: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map_or_else(|_| String::from_utf8_lossy(body).into_owned(), |v| v.to_string());
    format!("{operation}\n{reference}\n{canonical}")
}

async fn create_payment(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let reference = reference_in(&body);
    let write = Write { operation: "create", reference: &reference, conflict: (4020, "Idempotency error") };
    let base = sim.base_url.clone();
    let system = system_headers(&headers);
    idempotent(&sim, &headers, uri.path(), &body, &write, |world, unit, key, now| {
        if key.is_none() {
            return Err(SimError::validation("Idempotency-Key", "The Idempotency-Key header is required."));
        }
        let request: CreatePaymentRequest = parse(&body)?;
        validate::create_request(&request, unit, &world.config.customers, now)?;
        // A check-in token is valid only at the sales unit scanned, for 15 minutes (4050 if not).
        if let Some(token) = request.customer.as_ref().and_then(|c| c.customer_token.as_deref()) {
            sim.qr.check_customer_token(token, &unit.msn, now)?;
        }
        let user_flow = request.user_flow;
        let qr_format = request.qr_format.map_or(QrImageFormat::ImageSvg, |f| f.format);
        let reference = request.reference.clone();
        let token = world.create(&unit.msn, request, key, system, now)?;
        let link = |path: &str| base.join(path).map(|u| u.to_string()).ok();
        let redirect_url = match user_flow {
            UserFlow::PushMessage => None,
            UserFlow::Qr => match qr_format {
                QrImageFormat::TextTargetUrl => link(&format!("sim/pay/{token}")),
                QrImageFormat::ImageSvg => link(&format!("sim/qr-image/{token}?format=svg")),
                QrImageFormat::ImagePng => link(&format!("sim/qr-image/{token}?format=png")),
            },
            UserFlow::WebRedirect | UserFlow::NativeRedirect => link(&format!("sim/pay/{token}")),
        };
        let body = serde_json::to_vec(&CreatePaymentResponse { redirect_url, reference }).unwrap_or_default();
        Ok((StatusCode::CREATED, body))
    })
}

/// The `reference` of a create body, or "" when there is none to read.
fn reference_in(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct JustTheReference {
        reference: String,
    }
    serde_json::from_slice::<JustTheReference>(body).map(|r| r.reference).unwrap_or_default()
}

async fn capture(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let write = Write {
        operation: "capture",
        reference: &reference,
        conflict: (4010, "Capture idempotency conflict"),
    };
    idempotent(&sim, &headers, uri.path(), &body, &write, |world, unit, key, now| {
        if key.is_none() {
            return Err(SimError::validation("Idempotency-Key", "The Idempotency-Key header is required."));
        }
        let request: ModificationRequest = parse(&body)?;
        let response = world.capture(&unit.msn, &reference, request.modification_amount, key, now)?;
        Ok((StatusCode::OK, serde_json::to_vec(&response).unwrap_or_default()))
    })
}

async fn refund(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let write =
        Write { operation: "refund", reference: &reference, conflict: (4150, "Refund idempotency conflict") };
    idempotent(&sim, &headers, uri.path(), &body, &write, |world, unit, key, now| {
        if key.is_none() {
            return Err(SimError::validation("Idempotency-Key", "The Idempotency-Key header is required."));
        }
        let request: ModificationRequest = parse(&body)?;
        let response = world.refund(&unit.msn, &reference, request.modification_amount, key, now)?;
        Ok((StatusCode::OK, serde_json::to_vec(&response).unwrap_or_default()))
    })
}

async fn cancel(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let write = Write { operation: "cancel", reference: &reference, conflict: (4020, "Idempotency error") };
    idempotent(&sim, &headers, uri.path(), &body, &write, |world, unit, key, now| {
        // The body is optional, and the key only recommended, on cancel.
        let request: CancelModificationRequest =
            if body.is_empty() { CancelModificationRequest::default() } else { parse(&body)? };
        let transaction_only = request.cancel_transaction_only.unwrap_or(false);
        let response = world.cancel(&unit.msn, &reference, transaction_only, key, now)?;
        Ok((StatusCode::OK, serde_json::to_vec(&response).unwrap_or_default()))
    })
}

async fn get_payment(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    read(&sim, &headers, uri.path(), ("get", &reference), |world, unit| {
        let payment = world.payment(&unit.msn, &reference).ok_or_else(not_found)?;
        let mut view = payment.view();
        if matches!(payment.request.user_flow, UserFlow::WebRedirect | UserFlow::NativeRedirect) {
            view.redirect_url =
                sim.base_url.join(&format!("sim/pay/{}", payment.token)).ok().map(|u| u.to_string());
        }
        Ok(json_response(StatusCode::OK, &view))
    })
}

async fn get_events(
    State(sim): State<Arc<Sim>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    read(&sim, &headers, uri.path(), ("events", &reference), |world, unit| {
        let payment = world.payment(&unit.msn, &reference).ok_or_else(not_found)?;
        Ok(json_response(StatusCode::OK, &payment.events))
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

/// Answers a GET (`operation`, e.g. `"get"`, of `reference`) within the read rate limit.
fn read(
    sim: &Sim,
    headers: &HeaderMap,
    path: &str,
    (operation, reference): (&'static str, &str),
    answer: impl FnOnce(&World, &SalesUnit) -> Result<Response, SimError>,
) -> Response {
    let now = sim.clock.now();
    let world = sim.world_now();
    let mut retry_after = None;
    let response = authenticate(&world, headers, now).and_then(|unit| {
        if let Err(throttled) =
            sim.faults.admit_read(operation, unit.subscription_key.expose(), reference, now)
        {
            retry_after = Some(throttled.retry_after);
            return Err(throttled.error);
        }
        answer(&world, &unit)
    });
    drop(world);
    faults::with_retry_after(response.unwrap_or_else(|e| e.at(path).into_response()), retry_after)
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
        let unit = authenticate(&world, &headers, now)?;
        let request: ForceApprove = if body.is_empty() { ForceApprove::default() } else { parse(&body)? };
        let payment = world.payment(&unit.msn, &reference).ok_or_else(not_found)?;
        let token_matches = request.token.as_deref().is_some_and(|t| t == payment.token);
        let customer_known = request
            .customer
            .as_ref()
            .and_then(|c| c.phone_number.as_deref())
            .is_some_and(|p| world.config.customers.iter().any(|c| c.phone_number == p));
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
        world.approve(&unit.msn, &reference, now)
    })();
    sim.flush(&mut world);
    drop(world);
    match outcome {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn register_webhook(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let now = sim.clock.now();
    let unit = authenticate(&sim.world(), &headers, now);
    let outcome = unit.and_then(|unit| {
        let request: RegisterRequest = parse(&body)?;
        sim.deliveries.register(&unit.msn, &request)
    });
    match outcome {
        Ok(registered) => json_response(StatusCode::CREATED, &registered),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn list_webhooks(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let now = sim.clock.now();
    let unit = authenticate(&sim.world(), &headers, now);
    match unit {
        Ok(unit) => json_response(StatusCode::OK, &sim.deliveries.list(&unit.msn)),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn delete_webhook(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let now = sim.clock.now();
    let unit = authenticate(&sim.world(), &headers, now);
    match unit.and_then(|unit| sim.deliveries.delete(&unit.msn, &id)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_has_the_same_fingerprint_whatever_its_formatting() {
        let a = fingerprint("capture", "r", br#"{"modificationAmount":{"currency":"NOK","value":100}}"#);
        let b =
            fingerprint("capture", "r", br#"{ "modificationAmount": { "value": 100, "currency": "NOK" } }"#);
        let c = fingerprint("capture", "r", br#"{"modificationAmount":{"currency":"NOK","value":101}}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(
            a,
            fingerprint("refund", "r", br#"{"modificationAmount":{"currency":"NOK","value":100}}"#)
        );
    }
}

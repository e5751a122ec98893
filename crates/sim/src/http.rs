//! What every HTTP surface of the simulator does the same way: reading headers and bodies, telling
//! who is calling, answering JSON, and taking locks.

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use kasse_vipps::headers as h;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::SalesUnit;
use crate::error::SimError;
use crate::world::{SystemHeaders, World};

/// Locks `mutex`, also after a panic while it was held: one panicking request must not take the
/// whole simulator down with it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A header's value, if present and readable as text.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `body` as `application/json` with `status`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Reads a JSON body as `T`; a body that does not fit is a validation error naming `field` (the
/// ePayment API says `body`, the QR API `request`).
pub fn parse<T: DeserializeOwned>(body: &[u8], field: &str) -> Result<T, SimError> {
    serde_json::from_slice(body).map_err(|e| not_valid(field, &e))
}

/// Reads an already parsed JSON body as `T`, like [`parse`].
pub fn parse_value<T: DeserializeOwned>(body: &serde_json::Value, field: &str) -> Result<T, SimError> {
    T::deserialize(body).map_err(|e| not_valid(field, &e))
}

fn not_valid(field: &str, e: &serde_json::Error) -> SimError {
    SimError::validation(field, &format!("The request body is not valid: {e}"))
}

/// Adds `Retry-After: seconds` to `response`, if there are any.
pub fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The `Vipps-System-*` headers of a call.
pub fn system_headers(headers: &HeaderMap) -> SystemHeaders {
    let get = |name| header(headers, name).map(str::to_owned);
    SystemHeaders {
        system_name: get(h::SYSTEM_NAME),
        system_version: get(h::SYSTEM_VERSION),
        plugin_name: get(h::SYSTEM_PLUGIN_NAME),
        plugin_version: get(h::SYSTEM_PLUGIN_VERSION),
    }
}

/// Whether an endpoint needs the `Merchant-Serial-Number` header (reference/vipps-apis.md §1:
/// required on every ePayment call and on merchant callback QRs, optional elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msn {
    /// Left out, it is a 400.
    Required,
    /// Left out, the credentials alone name the sales unit.
    Optional,
}

/// The sales unit a call acts for: a valid bearer token with its own subscription key (else 401),
/// and, when given, the MSN of those credentials (else 403).
pub fn authenticate(
    world: &World,
    headers: &HeaderMap,
    msn: Msn,
    now: DateTime<Utc>,
) -> Result<SalesUnit, SimError> {
    let bearer = header(headers, header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "));
    let unit = world.authenticate(bearer, header(headers, h::SUBSCRIPTION_KEY), now)?;
    match (header(headers, h::MSN), msn) {
        (Some(given), _) if given == unit.msn => Ok(unit.clone()),
        (Some(_), _) => {
            Err(SimError::forbidden("The Merchant-Serial-Number does not belong to these credentials."))
        }
        (None, Msn::Optional) => Ok(unit.clone()),
        (None, Msn::Required) => Err(SimError::validation(
            "Merchant-Serial-Number",
            "The Merchant-Serial-Number header is required.",
        )),
    }
}

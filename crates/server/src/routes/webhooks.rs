//! The one webhook endpoint, `POST /webhooks/vipps`.
//!
//! A delivery is refused, before any database read (our registrations' secrets are held in
//! memory), unless it carries the signing headers, its body hash and HMAC signature verify with
//! one of our registrations' secrets (reference/vipps-apis.md §5.1), and its body is a JSON
//! object. Its `x-ms-date` may not lie ahead of our clock by more than the allowed skew; it may
//! lie behind it, because the platform retries a failed delivery for days (§5.2), and a late
//! delivery still counts while what it says can matter: a payment event always (kasse reads the
//! payment back from the platform anyway), a check-in while its customer token can still be
//! charged (15 minutes from the scan, §6.4). Anything else older than the skew is acknowledged
//! and dropped: refusing it would only make the platform send it again, and hold back what
//! comes after it.
//!
//! A delivery accepted is stored as received and answered at once; [`crate::inbox`] processes it
//! after, so a slow platform read never makes the platform retry. The same delivery again (the
//! same body hash and signature: a replay, or one attempt delivered twice) is recognised by its
//! hash and acknowledged without being stored or processed twice.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use kasse_api::ProblemCode;
use kasse_vipps::epayment::WebhookEvent;
use kasse_vipps::signing::{self, Received, SignatureError};
use kasse_vipps::webhooks::UserCheckedIn;
use sha2::{Digest as _, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::platform::KnownSecret;

/// Where the platform delivers, below the public URL.
pub const PATH: &str = "/webhooks/vipps";

/// How long a check-in's customer token can be charged, from the scan (reference §6.4).
const CHECK_IN_LIFETIME: TimeDelta = TimeDelta::minutes(15);

/// What a verified delivery's date says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    /// Within the allowed skew of our clock.
    Fresh,
    /// Older than the skew: the platform retried it, or it was held up on its way.
    Late,
}

/// Checks, stores and acknowledges a delivery.
pub async fn receive(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let received = Received {
        date: header("x-ms-date"),
        content_sha256: header("x-ms-content-sha256"),
        authorization: header("authorization"),
    };
    let (Some(date), Some(content_sha256), Some(authorization)) =
        (received.date, received.content_sha256, received.authorization)
    else {
        return refuse(&app, "it is not signed");
    };
    let now = Utc::now();
    let secrets = app.platform.webhook_secrets();
    let mut verified = verify(&secrets.known(), received, &body, now);
    // None of the secrets we hold: another process's `webhooks sync` may have made a new
    // registration. Read them again, but not for every forgery.
    if matches!(verified, Err(Some(SignatureError::BadSignature) | None)) && secrets.may_reload() {
        match app.store.webhook_registrations().await {
            Ok(saved) => {
                secrets.set(&saved);
                verified = verify(&secrets.known(), received, &body, now);
            }
            Err(e) => tracing::error!(error = %e, "could not read the webhook secrets again"),
        }
    }
    let msn = match verified {
        Ok(msn) => msn,
        Err(why) => {
            let why = why.map_or_else(|| "no webhook registration is known".to_owned(), |e| e.to_string());
            return refuse(&app, &why);
        }
    };
    // The signature verified, so the date is one.
    let Ok(sent_at) = DateTime::parse_from_rfc2822(date).map(|d| d.with_timezone(&Utc)) else {
        return refuse(&app, "x-ms-date is not a date");
    };
    let skew = TimeDelta::from_std(app.config.webhook_max_skew).unwrap_or(TimeDelta::minutes(5));
    if sent_at - now > skew {
        // A delivery from the future is no retry: it is a clock gone wrong, or a forgery's trick.
        return refuse(&app, &format!("x-ms-date is {} s ahead of our clock", (sent_at - now).num_seconds()));
    }
    let age = if now - sent_at > skew { Age::Late } else { Age::Fresh };

    let Ok(text) = std::str::from_utf8(&body) else {
        app.metrics.webhook("refused");
        return ApiError::bad_request(ProblemCode::BadWebhook, "The webhook body is not UTF-8.")
            .into_response();
    };
    let Some(object) =
        serde_json::from_str::<serde_json::Value>(text).ok().filter(serde_json::Value::is_object)
    else {
        app.metrics.webhook("refused");
        return ApiError::bad_request(ProblemCode::BadWebhook, "The webhook body is not a JSON object.")
            .into_response();
    };
    if age == Age::Late && !still_matters(text, sent_at, now) {
        tracing::info!(%msn, %date, "acknowledged a late webhook that no longer matters, without acting on it");
        app.metrics.webhook("expired");
        return StatusCode::OK.into_response();
    }
    let event_type = object.get("name").and_then(|n| n.as_str());
    let hash = delivery_hash(content_sha256, authorization);
    // The platform sends the next webhook when this one is answered: storing it goes first.
    match crate::store::urgently(app.store.insert_inbox(event_type, text, &hash, crate::now_ms())).await {
        Ok(Some(id)) => {
            crate::crash_point("after-store:webhook");
            if age == Age::Late {
                tracing::info!(%msn, %date, "accepted a late webhook: what it says still matters");
            }
            app.metrics.webhook("accepted");
            app.inbox.hand(id, text);
            StatusCode::OK.into_response()
        }
        Ok(None) => {
            tracing::info!(%msn, "acknowledged a webhook delivered before, without acting on it again");
            app.metrics.webhook("duplicate");
            // Delivered again because the first was not answered: the instance that stored it
            // may have died before it worked on it.
            app.inbox.sweep();
            StatusCode::OK.into_response()
        }
        // Not stored means not acknowledged: the platform will deliver it again.
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A refusal, logged and counted.
fn refuse(app: &AppState, why: &str) -> Response {
    tracing::warn!(%why, "refused a webhook delivery");
    app.metrics.webhook("refused");
    ApiError::unauthorized("The webhook signature could not be verified.").into_response()
}

/// The sales unit of the secret that verifies the body hash and signature of a delivery, whatever
/// its date (which the caller judges); else why none does (`None`: no secret is known).
fn verify(
    known: &[KnownSecret],
    received: Received<'_>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, Option<SignatureError>> {
    // Any date passes here: how late a delivery may be depends on what it says.
    let any_date = TimeDelta::days(365 * 100);
    let mut last_error = None;
    for secret in known {
        match signing::verify(&secret.secret, &secret.url, received, body, now, any_date) {
            Ok(()) => return Ok(secret.msn.clone()),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error)
}

/// Whether a late delivery can still matter: a payment event always, a check-in while its
/// customer token can be charged (from the scan, or from the delivery's date if the scan's time
/// cannot be read).
fn still_matters(text: &str, sent_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    if serde_json::from_str::<WebhookEvent>(text).is_ok() {
        return true;
    }
    if let Ok(check_in) = serde_json::from_str::<UserCheckedIn>(text) {
        let scanned =
            DateTime::parse_from_rfc3339(&check_in.initiated_at).map_or(sent_at, |at| at.with_timezone(&Utc));
        return now < scanned + CHECK_IN_LIFETIME;
    }
    false
}

/// What makes a delivery the same delivery: its body hash and its signature (which covers the
/// date, host and path too), hashed.
fn delivery_hash(content_sha256: &str, authorization: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(content_sha256.as_bytes());
    hash.update(b"\n");
    hash.update(authorization.as_bytes());
    crate::hex(&hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn check_in(initiated_at: &str) -> String {
        serde_json::json!({
            "customerToken": "dG9rZW4=", "merchantQrId": "till-1", "msn": "123456", "initiatedAt": initiated_at
        })
        .to_string()
    }

    #[test]
    fn a_late_payment_event_always_matters() {
        let event = serde_json::json!({
            "msn": "123456", "reference": "kasse-till-1-a", "pspReference": "p1", "name": "AUTHORIZED",
            "amount": { "currency": "NOK", "value": 100 }, "timestamp": "2026-01-19T16:26:32.099Z", "success": true
        })
        .to_string();
        let sent = at("2026-01-19T16:26:33Z");
        assert!(still_matters(&event, sent, sent + TimeDelta::days(6)));
    }

    #[test]
    fn a_late_check_in_matters_for_fifteen_minutes_from_the_scan() {
        let scan = "2026-01-19T16:26:32Z";
        let sent = at("2026-01-19T16:26:33Z");
        assert!(still_matters(&check_in(scan), sent, at("2026-01-19T16:41:31Z")));
        assert!(!still_matters(&check_in(scan), sent, at("2026-01-19T16:41:33Z")));
        // A scan time that cannot be read counts from the delivery's date.
        assert!(still_matters(&check_in("soon"), sent, at("2026-01-19T16:41:32Z")));
        assert!(!still_matters(&check_in("soon"), sent, at("2026-01-19T16:41:34Z")));
    }

    #[test]
    fn a_late_delivery_kasse_does_not_know_does_not_matter() {
        let sent = at("2026-01-19T16:26:33Z");
        assert!(!still_matters(r#"{"hello":"world"}"#, sent, sent + TimeDelta::minutes(10)));
    }

    #[test]
    fn the_same_body_and_signature_make_the_same_delivery_and_a_new_signature_another() {
        assert_eq!(delivery_hash("h", "sig-1"), delivery_hash("h", "sig-1"));
        assert_ne!(delivery_hash("h", "sig-1"), delivery_hash("h", "sig-2"));
        assert_ne!(delivery_hash("h1", "sig"), delivery_hash("h2", "sig"));
        assert_eq!(delivery_hash("h", "sig-1").len(), 64);
    }
}

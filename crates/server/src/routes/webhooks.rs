//! The one webhook endpoint, `POST /webhooks/vipps`.
//!
//! A delivery is accepted only if its body hash and HMAC signature verify with one of our
//! registrations' secrets and its `x-ms-date` is fresh (reference/vipps-apis.md §5.1). It is then
//! stored as received and answered at once; [`crate::inbox`] processes it after, so a slow
//! platform read never makes the platform retry.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kasse_api::ProblemCode;
use kasse_vipps::signing::{self, Received};
use url::Url;

use crate::AppState;
use crate::error::ApiError;

/// Where the platform delivers, below the public URL.
pub const PATH: &str = "/webhooks/vipps";

/// Checks, stores and acknowledges a delivery.
pub async fn receive(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let received = Received {
        date: header("x-ms-date"),
        content_sha256: header("x-ms-content-sha256"),
        authorization: header("authorization"),
    };
    let secrets = match app.store.webhook_registrations().await {
        Ok(registrations) => registrations,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let now = chrono::Utc::now();
    let max_skew =
        chrono::Duration::from_std(app.config.webhook_max_skew).unwrap_or(chrono::Duration::minutes(5));
    let mut last_error = None;
    let verified = secrets.iter().any(|registration| {
        let Ok(url) = Url::parse(&registration.url) else { return false };
        match signing::verify(&registration.secret, &url, received, &body, now, max_skew) {
            Ok(()) => true,
            Err(e) => {
                last_error = Some(e);
                false
            }
        }
    });
    if !verified {
        let why = last_error.map_or_else(|| "no webhook registration is known".to_owned(), |e| e.to_string());
        tracing::warn!(%why, "refused a webhook delivery");
        app.metrics.webhook("refused");
        return ApiError::unauthorized("The webhook signature could not be verified.").into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return ApiError::bad_request(ProblemCode::BadWebhook, "The webhook body is not UTF-8.")
            .into_response();
    };
    let event_type = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned));
    match app.store.insert_inbox(event_type.as_deref(), text, crate::now_ms()).await {
        Ok(_) => {
            app.metrics.webhook("accepted");
            app.inbox.notify_one();
            StatusCode::OK.into_response()
        }
        // Not stored means not acknowledged: the platform will deliver it again.
        Err(e) => ApiError::from(e).into_response(),
    }
}

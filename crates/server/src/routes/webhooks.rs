//! The one webhook endpoint, `POST /webhooks/vipps`, and the processing behind it.
//!
//! A delivery is accepted only if its body hash and HMAC signature verify with one of our
//! registrations' secrets and its `x-ms-date` is fresh (reference/vipps-apis.md §5.1). It is then
//! stored as received and answered at once; processing happens after, from the inbox, so a slow
//! platform read never makes the platform retry. Processing is idempotent: an event seen before
//! changes nothing, and the payment's state always comes from the platform's own `GET`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kasse_vipps::epayment::WebhookEvent;
use kasse_vipps::signing::{self, Received};
use kasse_vipps::webhooks::UserCheckedIn;
use tokio::sync::Notify;
use url::Url;

use crate::AppState;
use crate::error::ApiError;
use crate::sales::Sales;
use crate::store::Store;

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
        return ApiError::bad_request("bad-webhook", "The webhook body is not UTF-8.").into_response();
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

/// Processes stored deliveries, oldest first, whenever woken.
pub async fn process_forever(store: Store, sales: Sales, wake: Arc<Notify>) {
    loop {
        if let Err(e) = process_inbox(&store, &sales).await {
            tracing::error!(error = %e, "webhook inbox processing failed");
        }
        wake.notified().await;
    }
}

/// Processes every stored delivery not yet processed.
pub async fn process_inbox(store: &Store, sales: &Sales) -> Result<(), crate::store::StoreError> {
    loop {
        let batch = store.unprocessed_inbox(50).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for (id, body) in batch {
            if let Ok(event) = serde_json::from_str::<WebhookEvent>(&body) {
                let new = store.insert_payment_event(&event).await?;
                tracing::info!(reference = %event.reference, name = ?event.name, new, "payment event");
                // Even a repeated event is worth a read: the payment may have moved on since.
                if let Err(e) = sales.refresh(&event.reference).await {
                    tracing::warn!(reference = %event.reference, error = %e, "could not act on a payment event; polling will");
                }
            } else if let Ok(check_in) = serde_json::from_str::<UserCheckedIn>(&body) {
                if let Err(e) = sales.check_in(&check_in).await {
                    tracing::error!(merchant_qr_id = %check_in.merchant_qr_id, error = %e, "could not record a check-in");
                    // Left unprocessed: the next round tries again.
                    return Err(match e {
                        crate::sales::SaleError::Store(e) => e,
                        other => crate::store::StoreError::Webhook(other.to_string()),
                    });
                }
            } else {
                tracing::warn!(inbox = id, "stored a webhook that kasse does not know");
            }
            store.mark_processed(id, crate::now_ms()).await?;
        }
    }
}

//! The webhook inbox: deliveries the endpoint ([`crate::routes::webhooks`]) verified and stored,
//! processed oldest first whenever one arrives (and at every reconciler round, for any left).
//!
//! Processing is idempotent: an event seen before changes nothing, and the payment's state always
//! comes from the platform's own `GET`. Instances sharing a database each claim a delivery before
//! working on it, so one delivery is worked on once at a time; one held by another instance is
//! left to it (and taken up by the next round here if that instance dies).

use std::sync::Arc;

use kasse_vipps::epayment::WebhookEvent;
use kasse_vipps::webhooks::UserCheckedIn;
use tokio::sync::Notify;

use crate::sales::Sales;
use crate::store::Store;

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
        let mut worked = false;
        for (id, _) in batch {
            let Some(_claim) = store.try_lock(&format!("inbox:{id}")).await? else { continue };
            // Read again once claimed: another instance may have finished it meanwhile.
            let Some(body) = store.unprocessed_delivery(id).await? else { continue };
            worked = true;
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
        if !worked {
            // Nothing left, or nothing left that another instance is not working on.
            return Ok(());
        }
    }
}

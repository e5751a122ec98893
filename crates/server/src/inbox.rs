//! The webhook inbox: deliveries the endpoint ([`crate::routes::webhooks`]) verified and stored,
//! processed oldest first whenever one arrives (and at every reconciler round, for any left).
//!
//! Processing is idempotent: an event seen before changes nothing, and the payment's state always
//! comes from the platform's own `GET`. A payment event is recorded, and settled at once when it
//! only echoes what its payment holds, whichever instance gets there; one to act on is acted on
//! under its payment's lock, which holds across instances. A check-in is claimed first, so that
//! instances sharing a database record it once: one held by another instance is left to it (and
//! taken up by the next round here if that instance dies).

use std::sync::Arc;

use futures_util::StreamExt as _;

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

/// How many deliveries are worked on at once. One at a time, each waiting for a platform read,
/// fell behind a busy shop's webhooks by seconds (measured); a payment's deliveries still go one
/// after the other, and so do check-ins.
const AT_ONCE: usize = 16;
/// How many stored deliveries are read at a time.
const BATCH: i64 = 50;

/// A stored delivery, read.
enum Delivery {
    Payment(WebhookEvent),
    CheckIn(UserCheckedIn),
    Unknown,
}

impl Delivery {
    fn read(body: &str) -> Self {
        if let Ok(event) = serde_json::from_str::<WebhookEvent>(body) {
            Self::Payment(event)
        } else if let Ok(check_in) = serde_json::from_str::<UserCheckedIn>(body) {
            Self::CheckIn(check_in)
        } else {
            Self::Unknown
        }
    }

    /// What it must wait for: deliveries with the same key are worked on in the order received.
    fn key(&self) -> String {
        match self {
            Self::Payment(event) => format!("payment:{}", event.reference),
            Self::CheckIn(_) => "check-ins".to_owned(),
            Self::Unknown => String::new(),
        }
    }
}

/// Processes every stored delivery not yet processed, ahead of the tills' own requests at the
/// database (see [`crate::store::urgently`]): what the platform says happened is shown first.
pub async fn process_inbox(store: &Store, sales: &Sales) -> Result<(), crate::store::StoreError> {
    crate::store::urgently(process_all(store, sales)).await
}

async fn process_all(store: &Store, sales: &Sales) -> Result<(), crate::store::StoreError> {
    loop {
        let batch = store.unprocessed_inbox(BATCH).await?;
        if batch.is_empty() {
            return Ok(());
        }
        // A delivery stored from now on wakes the processing again: no need to look once more.
        let last = i64::try_from(batch.len()).is_ok_and(|read| read < BATCH);
        // Oldest first within each key; the keys side by side.
        let mut queues: Vec<(String, Vec<(i64, Delivery)>)> = Vec::new();
        for (id, body) in batch {
            let delivery = Delivery::read(&body);
            let key = delivery.key();
            match queues.iter_mut().find(|(k, _)| *k == key) {
                Some((_, queue)) => queue.push((id, delivery)),
                None => queues.push((key, vec![(id, delivery)])),
            }
        }
        let outcomes: Vec<Result<bool, crate::store::StoreError>> = futures_util::stream::iter(queues)
            .map(|(_, queue)| async move {
                let mut worked = false;
                for (id, delivery) in queue {
                    worked |= process_one(store, sales, id, delivery).await?;
                }
                Ok(worked)
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        let mut worked = false;
        for outcome in outcomes {
            worked |= outcome?;
        }
        if last || !worked {
            // Nothing left, or nothing left that another instance is not working on.
            return Ok(());
        }
    }
}

/// Processes one delivery, unless another instance has it. Whether it was this one's to do.
async fn process_one(
    store: &Store,
    sales: &Sales,
    id: i64,
    delivery: Delivery,
) -> Result<bool, crate::store::StoreError> {
    if let Delivery::Payment(event) = &delivery {
        // Unclaimed: an echo is settled as it is recorded, and settling one twice (two instances
        // at once) changes nothing. One that is not is acted on under the payment's lock, and
        // marked processed before the lock is let go: of two instances at one delivery, the
        // second finds it processed once it holds the lock, and stops there.
        let Some(taken) = sales.take_payment_event(id, event).await? else { return Ok(false) };
        tracing::info!(reference = %event.reference, name = ?event.name, new = taken.new, "payment event");
        if taken.settled {
            return Ok(true);
        }
        // A repeated event is read back too (the payment may have moved on since), unless it
        // echoes what the payment's row holds.
        return match sales.on_payment_event(id, event).await {
            Ok(acted) => Ok(acted),
            Err(e) => {
                tracing::warn!(reference = %event.reference, error = %e, "could not act on a payment event; polling will");
                store.mark_processed(id, crate::now_ms()).await?;
                Ok(true)
            }
        };
    }
    let Some(_claim) = store.try_lock(&format!("inbox:{id}")).await? else { return Ok(false) };
    // Read again once claimed: another instance may have finished it meanwhile.
    if store.unprocessed_delivery(id).await?.is_none() {
        return Ok(false);
    }
    match delivery {
        // Taken above.
        Delivery::Payment(_) => {}
        Delivery::CheckIn(check_in) => {
            if let Err(e) = sales.check_in(&check_in).await {
                tracing::error!(merchant_qr_id = %check_in.merchant_qr_id, error = %e, "could not record a check-in");
                // Left unprocessed: the next round tries again.
                return Err(match e {
                    crate::sales::SaleError::Store(e) => e,
                    other => crate::store::StoreError::Webhook(other.to_string()),
                });
            }
        }
        Delivery::Unknown => tracing::warn!(inbox = id, "stored a webhook that kasse does not know"),
    }
    store.mark_processed(id, crate::now_ms()).await?;
    Ok(true)
}

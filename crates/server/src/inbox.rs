//! The webhook inbox: deliveries the endpoint ([`crate::routes::webhooks`]) verified and stored,
//! processed oldest first whenever one arrives (and at every reconciler round, for any left).
//!
//! Processing is idempotent: an event seen before changes nothing, and the payment's state always
//! comes from the platform's own `GET`. A payment event is recorded, and settled at once when it
//! only echoes what its payment holds, whichever instance gets there; one to act on is acted on
//! under its payment's lock, which holds across instances. A check-in is claimed first, so that
//! instances sharing a database record it once: one held by another instance is left to it for
//! [`LEFT_FOR`] (and taken up here after that if that instance died).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kasse_vipps::epayment::WebhookEvent;
use kasse_vipps::webhooks::UserCheckedIn;
use tokio::sync::Notify;

use crate::sales::Sales;
use crate::store::Store;

/// Processes stored deliveries, oldest first, whenever woken.
pub async fn process_forever(store: Store, sales: Sales, wake: Arc<Notify>) {
    loop {
        if let Err(e) = process_inbox(&store, &sales, &wake).await {
            tracing::error!(error = %e, "webhook inbox processing failed");
        }
        wake.notified().await;
    }
}

/// How many payments' (or the check-ins') deliveries are worked on at once. One at a time, each
/// waiting for a platform read, fell behind a busy shop's webhooks by seconds (measured); a
/// payment's deliveries still go one after the other, and so do check-ins.
const AT_ONCE: usize = 16;
/// How many stored deliveries are read at a time.
const BATCH: i64 = 50;
/// How long a delivery another instance had claimed is left to it before it is looked at again.
const LEFT_FOR: Duration = Duration::from_secs(1);

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
/// Deliveries stored meanwhile (`wake`) are taken up as they come, not after the ones in hand.
pub async fn process_inbox(
    store: &Store,
    sales: &Sales,
    wake: &Notify,
) -> Result<(), crate::store::StoreError> {
    crate::store::urgently(process_all(store, sales, wake)).await
}

/// One key's deliveries, in the order received, worked on one after the other.
type Queue = (String, Vec<(i64, Delivery)>);

/// How one queue went.
struct Done {
    key: String,
    ids: Vec<i64>,
    /// Whether each delivery was this instance's to do, or the error that stopped the queue.
    worked: Result<Vec<bool>, crate::store::StoreError>,
}

async fn process_all(store: &Store, sales: &Sales, wake: &Notify) -> Result<(), crate::store::StoreError> {
    // A delivery waiting on a payment's lock (its write still at the platform) must not hold up
    // one stored after it about another payment: each key's queue is started as soon as there is
    // room, and the inbox read again when a delivery arrives or a queue ends. Each queue is a
    // task of its own, so that it goes on while this one reads the inbox: a queue left waiting
    // here could hold the very connection the read waits for (measured: stalls of seconds).
    let mut running = tokio::task::JoinSet::new();
    let mut busy_keys: HashSet<String> = HashSet::new();
    let mut in_hand: HashSet<i64> = HashSet::new();
    // Deliveries another instance had claimed, and since when they are left to it.
    let mut left: HashMap<i64, Instant> = HashMap::new();
    let mut failed = None;
    // Whether the inbox may hold deliveries not in hand: at first, once one arrives, and while a
    // read left some for later (a full read, or a key already running).
    let mut look = true;
    loop {
        if look && failed.is_none() && running.len() < AT_ONCE {
            look = false;
            match store.unprocessed_inbox(BATCH).await {
                Ok(batch) => {
                    look = i64::try_from(batch.len()).is_ok_and(|read| read >= BATCH);
                    // What another instance did is gone from the inbox; what it still has not
                    // done after a while is looked at again, in case it died.
                    left.retain(|id, since| {
                        since.elapsed() < LEFT_FOR && batch.iter().any(|(read, _)| read == id)
                    });
                    let fresh =
                        batch.into_iter().filter(|(id, _)| !in_hand.contains(id) && !left.contains_key(id));
                    for (key, queue) in queues(fresh) {
                        if running.len() >= AT_ONCE || busy_keys.contains(&key) {
                            look = true;
                            continue;
                        }
                        busy_keys.insert(key.clone());
                        in_hand.extend(queue.iter().map(|(id, _)| *id));
                        let (store, sales) = (store.clone(), sales.clone());
                        running.spawn(crate::store::urgently(work_through(store, sales, key, queue)));
                    }
                }
                Err(e) => failed = Some(e),
            }
        }
        if running.is_empty() {
            return failed.map_or(Ok(()), Err);
        }
        tokio::select! {
            Some(joined) = running.join_next() => match joined {
                Ok(done) => {
                    busy_keys.remove(&done.key);
                    for id in &done.ids {
                        in_hand.remove(id);
                    }
                    match done.worked {
                        Ok(worked) => {
                            let now = Instant::now();
                            let theirs = done.ids.iter().zip(worked).filter(|(_, ours)| !ours);
                            left.extend(theirs.map(|(id, _)| (*id, now)));
                        }
                        // The others in hand are finished (never stopped halfway); the next round
                        // tries again.
                        Err(e) => failed = failed.or(Some(e)),
                    }
                }
                // Its key stays busy for this round; the next tries its deliveries again.
                Err(e) => {
                    let e = crate::store::StoreError::Webhook(format!("a delivery's processing failed: {e}"));
                    failed = failed.or(Some(e));
                }
            },
            () = wake.notified(), if failed.is_none() => look = true,
        }
    }
}

/// `deliveries` (oldest first) as queues by key, in the order of each key's oldest.
fn queues(deliveries: impl Iterator<Item = (i64, String)>) -> Vec<Queue> {
    let mut queues: Vec<Queue> = Vec::new();
    for (id, body) in deliveries {
        let delivery = Delivery::read(&body);
        let key = delivery.key();
        match queues.iter_mut().find(|(k, _)| *k == key) {
            Some((_, queue)) => queue.push((id, delivery)),
            None => queues.push((key, vec![(id, delivery)])),
        }
    }
    queues
}

/// Works through one key's queue, stopping at the first error.
async fn work_through(store: Store, sales: Sales, key: String, queue: Vec<(i64, Delivery)>) -> Done {
    let ids: Vec<i64> = queue.iter().map(|(id, _)| *id).collect();
    let mut worked = Vec::with_capacity(queue.len());
    for (id, delivery) in queue {
        match process_one(&store, &sales, id, delivery).await {
            Ok(ours) => worked.push(ours),
            Err(e) => return Done { key, ids, worked: Err(e) },
        }
    }
    Done { key, ids, worked: Ok(worked) }
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

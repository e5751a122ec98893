//! The webhook inbox: deliveries the endpoint ([`crate::routes::webhooks`]) verified and stored,
//! processed as they arrive, and swept for every [`SWEEP_EVERY`] (deliveries left over by a
//! failure, or stored by an instance that died before it processed them).
//!
//! The endpoint hands each delivery it stores to this instance's processing ([`Inbox::hand`]),
//! which works on it without reading it back: on PostgreSQL, reading the inbox for every delivery
//! was two of a sale's 23 round trips. A sweep reads every unprocessed delivery in the store, a
//! page at a time, oldest first.
//!
//! Processing is idempotent: an event seen before changes nothing, and the payment's state always
//! comes from the platform's own `GET`. A payment event is recorded, and settled at once when it
//! only echoes what its payment holds, whichever instance gets there; one to act on is acted on
//! under its payment's lock, which holds across instances. A check-in is claimed first, so that
//! instances sharing a database record it once: one held by another instance is left to it for
//! [`LEFT_FOR`] (and taken up by a sweep after that if that instance died).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kasse_vipps::epayment::WebhookEvent;
use kasse_vipps::webhooks::UserCheckedIn;
use tokio::sync::Notify;

use crate::sales::Sales;
use crate::store::{Store, StoreError};

/// How many payments' (or the check-ins') deliveries are worked on at once. One at a time, each
/// waiting for a platform read, fell behind a busy shop's webhooks by seconds (measured); a
/// payment's deliveries still go one after the other, and so do check-ins.
const AT_ONCE: usize = 16;
/// How many stored deliveries a sweep reads at a time.
const BATCH: usize = 50;
/// How many deliveries are held in memory, worked on or waiting for their turn: past that, the
/// endpoint's are left in the store for a sweep to read when there is room.
const IN_HAND: usize = 500;
/// How long a delivery another instance had claimed is left to it before a sweep takes it up.
const LEFT_FOR: Duration = Duration::from_secs(1);
/// How often the store is swept.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// This instance's way into the inbox's processing: deliveries the endpoint stored, handed over
/// as they were stored, and whether the whole store is to be swept.
#[derive(Debug)]
pub struct Inbox {
    handed: Mutex<Handed>,
    wake: Notify,
}

#[derive(Debug)]
struct Handed {
    deliveries: VecDeque<(i64, String)>,
    /// Whether the store is to be swept: at first, every [`SWEEP_EVERY`], after a failure, when a
    /// delivery comes again, and when the endpoint handed more than there is room for.
    sweep: bool,
}

impl Default for Inbox {
    fn default() -> Self {
        Self { handed: Mutex::new(Handed { deliveries: VecDeque::new(), sweep: true }), wake: Notify::new() }
    }
}

impl Inbox {
    /// The delivery `id` with `body`, just stored: processed without reading it back.
    pub fn hand(&self, id: i64, body: &str) {
        {
            let mut handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
            if handed.deliveries.len() < IN_HAND {
                handed.deliveries.push_back((id, body.to_owned()));
            } else {
                // Stored all the same: a sweep reads it when there is room.
                handed.sweep = true;
            }
        }
        self.wake.notify_one();
    }

    /// Has every unprocessed delivery in the store looked at.
    pub fn sweep(&self) {
        self.ask_sweep();
        self.wake.notify_one();
    }

    /// Asks for a sweep at the next look, without waking processing for it.
    fn ask_sweep(&self) {
        self.handed.lock().unwrap_or_else(PoisonError::into_inner).sweep = true;
    }

    /// Up to `room` of the deliveries handed over, oldest first, and whether to sweep.
    fn take(&self, room: usize) -> (Vec<(i64, String)>, bool) {
        let mut handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
        let count = room.min(handed.deliveries.len());
        let deliveries = handed.deliveries.drain(..count).collect();
        (deliveries, std::mem::take(&mut handed.sweep))
    }
}

/// Processes deliveries as they are handed over, and sweeps the store for others every
/// [`SWEEP_EVERY`].
pub async fn process_forever(store: Store, sales: Sales, inbox: Arc<Inbox>) {
    let mut sweeps = tokio::time::interval(SWEEP_EVERY);
    sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Deliveries another instance had claimed, and since when they are left to it.
    let mut left = HashMap::new();
    loop {
        // Ahead of the tills' own requests at the database: what the platform says happened is
        // shown first.
        let round = process_round(&store, &sales, &inbox, &mut sweeps, &mut left);
        if let Err(e) = crate::store::urgently(round).await {
            tracing::error!(error = %e, "webhook inbox processing failed");
            // What was in hand is still stored unprocessed: the next sweep looks again (or the
            // next delivery's round), not a loop here, so that a database that is down is not
            // asked again and again.
            inbox.ask_sweep();
        }
        tokio::select! {
            () = inbox.wake.notified() => {}
            _ = sweeps.tick() => inbox.ask_sweep(),
        }
    }
}

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

/// One key's deliveries, in the order received, worked on one after the other.
type Queue = (String, Vec<(i64, Delivery)>);

/// How one queue went.
struct Done {
    key: String,
    ids: Vec<i64>,
    /// Whether each delivery was this instance's to do, or the error that stopped the queue.
    worked: Result<Vec<bool>, crate::store::StoreError>,
}

/// Processes what has been handed over and, when asked, every delivery stored and not processed.
/// Deliveries handed over meanwhile are taken up as they come, not after the ones in hand. Returns
/// when nothing is left in hand.
async fn process_round(
    store: &Store,
    sales: &Sales,
    inbox: &Inbox,
    sweeps: &mut tokio::time::Interval,
    left: &mut HashMap<i64, Instant>,
) -> Result<(), crate::store::StoreError> {
    let mut round = Round::new(store, sales, left);
    loop {
        if round.failed.is_none() {
            round.take_in(inbox).await;
            round.start();
        }
        if round.running.is_empty() && round.nothing_to_start() {
            return round.failed.map_or(Ok(()), Err);
        }
        let finished = tokio::select! {
            Some(joined) = round.running.join_next() => Some(joined),
            () = inbox.wake.notified(), if round.failed.is_none() => None,
            _ = sweeps.tick(), if round.failed.is_none() => {
                inbox.ask_sweep();
                None
            }
        };
        if let Some(joined) = finished {
            round.finished(joined);
        }
    }
}

/// What one round of processing has in hand.
///
/// A delivery waiting on a payment's lock (its write still at the platform) must not hold up
/// one about another payment: each key's queue is started as soon as there is room. Each queue is
/// a task of its own, so that it goes on while the round reads the store: a queue left waiting
/// here could hold the very connection the read waits for (measured: stalls of seconds).
struct Round<'a> {
    store: &'a Store,
    sales: &'a Sales,
    running: tokio::task::JoinSet<Done>,
    busy_keys: HashSet<String>,
    /// Every delivery running or waiting, by id.
    in_hand: HashSet<i64>,
    /// Queues whose key is running, or that wait for room, in the order of each one's oldest.
    waiting: Vec<Queue>,
    /// Deliveries another instance had claimed, and since when they are left to it (kept from
    /// one round to the next).
    left: &'a mut HashMap<i64, Instant>,
    /// Where a sweep of the store has got to (the last id read), while one is under way.
    sweeping: Option<i64>,
    /// Whether another sweep was asked for while one was under way.
    sweep_again: bool,
    failed: Option<crate::store::StoreError>,
}

impl<'a> Round<'a> {
    fn new(store: &'a Store, sales: &'a Sales, left: &'a mut HashMap<i64, Instant>) -> Self {
        Self {
            store,
            sales,
            running: tokio::task::JoinSet::new(),
            busy_keys: HashSet::new(),
            in_hand: HashSet::new(),
            waiting: Vec::new(),
            left,
            sweeping: None,
            sweep_again: false,
            failed: None,
        }
    }

    fn nothing_to_start(&self) -> bool {
        self.failed.is_some() || (self.waiting.is_empty() && self.sweeping.is_none())
    }

    /// Takes in what was handed over and, when a sweep is asked for or under way, the store's
    /// unprocessed deliveries, page after page, as far as there is room.
    async fn take_in(&mut self, inbox: &Inbox) {
        // Handed deliveries leave room for a sweep's page, so that sweeps go on under any load.
        let (handed, asked) = inbox.take(IN_HAND.saturating_sub(self.in_hand.len() + BATCH));
        if asked {
            if self.sweeping.is_some() {
                self.sweep_again = true;
            } else {
                self.sweeping = Some(0);
            }
        }
        // Read before the handed deliveries are queued, so that a delivery read as well as
        // handed keeps its place among the older ones read.
        while let Some(after) = self.sweeping
            && self.in_hand.len() + handed.len() + BATCH <= IN_HAND
        {
            let limit = i64::try_from(BATCH).unwrap_or(i64::MAX);
            let page = match self.store.unprocessed_inbox(after, limit).await {
                Ok(page) => page,
                Err(e) => {
                    self.failed = Some(e);
                    return;
                }
            };
            self.sweeping = page.last().map(|(id, _)| *id).filter(|_| page.len() >= BATCH);
            if self.sweeping.is_none() && std::mem::take(&mut self.sweep_again) {
                self.sweeping = Some(0);
            }
            // What another instance still has not done after a while is taken up, in case it
            // died.
            self.left.retain(|_, since| since.elapsed() < LEFT_FOR);
            let fresh = page.into_iter().filter(|(id, _)| !self.left.contains_key(id));
            add(&mut self.waiting, &mut self.in_hand, fresh);
        }
        // A handed delivery the sweep under way has yet to reach is left to it (it is stored), so
        // that each payment's deliveries still go in the order they were stored.
        let ahead = self.sweeping;
        let handed = handed.into_iter().filter(|(id, _)| ahead.is_none_or(|after| *id <= after));
        add(&mut self.waiting, &mut self.in_hand, handed);
    }

    /// Starts the waiting queues whose key is not running, oldest first, while there is room.
    fn start(&mut self) {
        let mut still = Vec::new();
        for (key, queue) in self.waiting.drain(..) {
            if self.running.len() >= AT_ONCE || self.busy_keys.contains(&key) {
                still.push((key, queue));
                continue;
            }
            self.busy_keys.insert(key.clone());
            let (store, sales) = (self.store.clone(), self.sales.clone());
            self.running.spawn(crate::store::urgently(work_through(store, sales, key, queue)));
        }
        self.waiting = still;
    }

    /// Takes note of a queue's end.
    fn finished(&mut self, joined: Result<Done, tokio::task::JoinError>) {
        let done = match joined {
            Ok(done) => done,
            // Its key stays busy for this round; a sweep tries its deliveries again.
            Err(e) => {
                let e = crate::store::StoreError::Webhook(format!("a delivery's processing failed: {e}"));
                self.failed = self.failed.take().or(Some(e));
                return;
            }
        };
        self.busy_keys.remove(&done.key);
        for id in &done.ids {
            self.in_hand.remove(id);
        }
        match done.worked {
            Ok(worked) => {
                let now = Instant::now();
                self.left.retain(|_, since| since.elapsed() < LEFT_FOR);
                let theirs = done.ids.iter().zip(worked).filter(|(_, ours)| !ours);
                self.left.extend(theirs.map(|(id, _)| (*id, now)));
            }
            // The others in hand are finished (never stopped halfway); a sweep tries again.
            Err(e) => self.failed = self.failed.take().or(Some(e)),
        }
    }
}

/// Adds `deliveries` (oldest first) not already in hand to the queues by key, in the order of
/// each key's oldest.
fn add(
    waiting: &mut Vec<Queue>,
    in_hand: &mut HashSet<i64>,
    deliveries: impl Iterator<Item = (i64, String)>,
) {
    for (id, body) in deliveries {
        if !in_hand.insert(id) {
            continue;
        }
        let delivery = Delivery::read(&body);
        let key = delivery.key();
        match waiting.iter_mut().find(|(k, _)| *k == key) {
            Some((_, queue)) => queue.push((id, delivery)),
            None => waiting.push((key, vec![(id, delivery)])),
        }
    }
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
        // Unclaimed at the database: an echo is settled as it is recorded, and settling one twice
        // (two instances at once) changes nothing. One that is not is acted on under the
        // payment's lock at every instance, and marked processed before the lock is let go: of
        // two instances at one delivery, the second finds it processed once it holds the lock,
        // and stops there.
        let Some(taken) = sales.take_payment_event(id, event).await? else { return Ok(false) };
        tracing::info!(reference = %event.reference, name = ?event.name, new = taken.new, "payment event");
        if taken.settled {
            return Ok(true);
        }
        // A repeated event is read back too (the payment may have moved on since), unless it
        // echoes what the payment's row holds.
        return match sales.on_payment_event(id, event, taken).await {
            Ok(acted) => Ok(acted),
            // The database out of reach for a moment (restarting, failing over): left unprocessed
            // for the next round, as a check-in is. Marked done, it was acted on by nobody, and a
            // payment nothing polls (a refund made in the merchant portal on a captured sale)
            // never showed it.
            // So is one whose payment changed under it (its lock lost with its connection): read
            // again next round, over the payment as it is then.
            Err(crate::sales::SaleError::Store(e))
                if e.unavailable() || matches!(e, StoreError::ChangedMeanwhile(_)) =>
            {
                Err(e)
            }
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

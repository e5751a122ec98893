//! Webhooks API registrations and signed, ordered, retried delivery.
//!
//! Each registration has its own outbox and one worker task. The platform keeps a registration's
//! events in order per payment (reference/vipps-apis.md §5.2: a failing AUTHORIZED blocks the
//! later CAPTURED), so the worker sends a payment's oldest undelivered event and nothing later of
//! that payment until it is acknowledged with a 2xx (or given up); other payments' events go
//! meanwhile, up to [`IN_FLIGHT`] at once. Every request is signed with the registration's secret
//! exactly as reference/vipps-apis.md §5.1 describes.
//!
//! The webhook fault knobs act when an event is queued: a dropped event is never queued, a
//! duplicated one is queued twice, and with reordering on an event waits in its registration's
//! `held` slot until the next one has been queued, then goes after it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kasse_vipps::Secret;
use kasse_vipps::signing;
use kasse_vipps::webhooks::{
    QueryResponse, RegisterRequest, RegisterResponse, USER_CHECKED_IN, Webhook, epayment_event_types,
};
use tokio::sync::Notify;
use url::Url;

use crate::config::DeliveryPolicy;
use crate::error::SimError;
use crate::faults::{FaultKnobs, WebhookFaults};
use crate::http::lock;
use crate::recent::Recent;
use crate::world::Outgoing;

/// At most this many registrations per sales unit and event type (the 2026 platform limit).
const MAX_PER_EVENT: usize = 25;

/// At most this many of a registration's events are on their way at once (each of another
/// payment). The platform's own figure is not documented; this lets a receiver that answers in a
/// millisecond take a busy shop's webhooks, as a sales unit's queue at the platform would.
const IN_FLIGHT: usize = 16;

/// How many delivery attempts [`Deliveries::attempts`] keeps: the newest.
const ATTEMPTS_KEPT: usize = 10_000;

/// One delivery attempt, as the control API reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The registration.
    pub webhook_id: String,
    /// The event type.
    pub event_type: String,
    /// What the event is kept in order with: its payment's reference (`check-in:` and the
    /// sticker's id for a check-in).
    pub order: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// When the request was sent, in milliseconds (with fractions) since the Unix epoch, on the
    /// machine's real clock: what a receiver's latency is measured from.
    pub sent_at_ms: f64,
}

/// Milliseconds since the Unix epoch, with fractions, on the real clock.
fn unix_ms_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// An event: its type, what it is kept in order with (its payment), and its JSON body.
#[derive(Debug, Clone)]
struct Item {
    event_type: &'static str,
    order: Arc<str>,
    body: Arc<[u8]>,
}

/// An item in its outbox: numbered, so its worker can take it out when delivered.
#[derive(Debug, Clone)]
struct Queued {
    number: u64,
    item: Item,
    /// Whether a delivery of it is under way.
    sending: bool,
}

/// The events waiting for one registration, shared by the registration and its worker.
struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes the worker when something is queued, or the registration deleted.
    notify: Notify,
    /// Set when the registration is deleted: the worker stops.
    closed: AtomicBool,
}

/// An outbox's events, in the order they go out.
#[derive(Default)]
struct Queue {
    /// In the order queued; each stays until acknowledged or given up.
    items: VecDeque<Queued>,
    /// Held back by the reorder fault until the next event has been queued.
    held: Vec<Item>,
    /// The number of the next item queued.
    next: u64,
}

impl Queue {
    fn extend(&mut self, items: impl IntoIterator<Item = Item>) {
        for item in items {
            self.items.push_back(Queued { number: self.next, item, sending: false });
            self.next += 1;
        }
    }

    /// The items that may go now, marked as going: each the oldest of its payment, not already
    /// going, while fewer than [`IN_FLIGHT`] are.
    fn start(&mut self) -> Vec<Queued> {
        let mut going = self.items.iter().filter(|q| q.sending).count();
        let mut seen = std::collections::HashSet::new();
        let mut started = Vec::new();
        for queued in &mut self.items {
            if going >= IN_FLIGHT {
                break;
            }
            // Only a payment's oldest item may be on its way.
            if !seen.insert(Arc::clone(&queued.item.order)) || queued.sending {
                continue;
            }
            queued.sending = true;
            going += 1;
            started.push(queued.clone());
        }
        started
    }

    /// Takes out a delivered (or given up) item.
    fn done(&mut self, number: u64) {
        self.items.retain(|q| q.number != number);
    }
}

impl Outbox {
    /// Queues `item` as its fate says.
    fn push(&self, item: &Item, copies: usize, reorder: bool) {
        let mut queue = lock(&self.queue);
        let copies = std::iter::repeat_n(item.clone(), copies);
        if reorder && queue.held.is_empty() {
            queue.held.extend(copies);
            return;
        }
        queue.extend(copies);
        let earlier = std::mem::take(&mut queue.held);
        queue.extend(earlier);
        drop(queue);
        self.notify.notify_one();
    }

    /// Queues what the reorder fault held back.
    fn release_held(&self) {
        let mut queue = lock(&self.queue);
        if queue.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut queue.held);
        queue.extend(held);
        drop(queue);
        self.notify.notify_one();
    }
}

/// A webhook registration of a sales unit, as `POST /webhooks/v1/webhooks` made it.
struct Registration {
    id: String,
    msn: String,
    url: Url,
    events: Vec<String>,
    outbox: Arc<Outbox>,
}

/// All registrations and their delivery workers.
pub struct Deliveries {
    registrations: Mutex<Vec<Registration>>,
    attempts: Arc<Mutex<Recent<Attempt>>>,
    /// Every attempt ever made, beyond the newest kept in `attempts`.
    attempts_made: Arc<AtomicU64>,
    http: reqwest::Client,
    policy: DeliveryPolicy,
    faults: Mutex<WebhookFaults>,
}

impl Deliveries {
    /// No registrations yet.
    pub fn new(policy: DeliveryPolicy) -> Self {
        Self {
            registrations: Mutex::new(Vec::new()),
            attempts: Arc::new(Mutex::new(Recent::new(ATTEMPTS_KEPT))),
            attempts_made: Arc::new(AtomicU64::new(0)),
            http: reqwest::Client::builder().timeout(policy.timeout).build().unwrap_or_default(),
            policy,
            faults: Mutex::new(WebhookFaults::default()),
        }
    }

    /// Sets the webhook fault knobs. Switching reordering off sends what it held back.
    pub fn set_faults(&self, knobs: FaultKnobs) {
        *lock(&self.faults) = WebhookFaults::new(knobs);
        // Taken after the knobs changed: an event dispatched meanwhile saw them either way, and
        // one held under the old knobs is released here.
        if !knobs.reorder_webhooks {
            for r in lock(&self.registrations).iter() {
                r.outbox.release_held();
            }
        }
    }

    /// `POST /webhooks/v1/webhooks`: validates, stores, starts delivering.
    pub fn register(&self, msn: &str, request: &RegisterRequest) -> Result<RegisterResponse, SimError> {
        let url = Url::parse(&request.url)
            .ok()
            .filter(is_deliverable)
            .ok_or_else(|| SimError::validation("url", "The url must be an absolute https:// URL."))?;
        if request.events.is_empty() {
            return Err(SimError::validation("events", "At least one event type is required."));
        }
        if let Some(unknown) = request.events.iter().find(|e| !is_known_event(e)) {
            return Err(SimError::validation("events", &format!("Unknown event type '{unknown}'.")));
        }
        let mut registrations = lock(&self.registrations);
        for event in &request.events {
            let existing = registrations.iter().filter(|r| r.msn == msn && r.events.contains(event)).count();
            let limit = if event == USER_CHECKED_IN { 1 } else { MAX_PER_EVENT };
            if existing >= limit {
                return Err(SimError::validation(
                    "events",
                    &format!("The limit of {limit} registrations for '{event}' is reached."),
                ));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let secret =
            Secret::new(format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()));
        let outbox = Arc::new(Outbox {
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(deliver(
            Arc::clone(&outbox),
            Target { id: id.clone(), url: url.clone(), secret: secret.clone() },
            self.http.clone(),
            self.policy.clone(),
            Log { kept: Arc::clone(&self.attempts), made: Arc::clone(&self.attempts_made) },
        ));
        registrations.push(Registration {
            id: id.clone(),
            msn: msn.to_owned(),
            url,
            events: request.events.clone(),
            outbox,
        });
        Ok(RegisterResponse { id, secret: secret.expose().to_owned() })
    }

    /// `GET /webhooks/v1/webhooks`.
    pub fn list(&self, msn: &str) -> QueryResponse {
        let webhooks = lock(&self.registrations)
            .iter()
            .filter(|r| r.msn == msn)
            .map(|r| Webhook { id: r.id.clone(), url: r.url.to_string(), events: r.events.clone() })
            .collect();
        QueryResponse { webhooks }
    }

    /// `DELETE /webhooks/v1/webhooks/{id}`: stops its worker; undelivered events are dropped.
    pub fn delete(&self, msn: &str, id: &str) -> Result<(), SimError> {
        let mut registrations = lock(&self.registrations);
        let index = registrations
            .iter()
            .position(|r| r.msn == msn && r.id == id)
            .ok_or_else(|| SimError::not_found("No webhook with this id for this sales unit."))?;
        let gone = registrations.remove(index);
        gone.outbox.closed.store(true, Ordering::SeqCst);
        gone.outbox.notify.notify_one();
        Ok(())
    }

    /// Queues each event for every registration of its sales unit that wants its type, as the
    /// webhook fault knobs decide.
    pub fn dispatch(&self, outgoing: Vec<Outgoing>) {
        let registrations = lock(&self.registrations);
        // Drawn in dispatch order under the registrations' lock, so a seed replays the same fates.
        let mut faults = lock(&self.faults);
        for event in outgoing {
            let item =
                Item { event_type: event.event_type, order: event.order.into(), body: event.body.into() };
            for r in registrations
                .iter()
                .filter(|r| r.msn == event.msn && r.events.iter().any(|e| e == item.event_type))
            {
                let fate = faults.fate();
                r.outbox.push(&item, fate.copies, fate.reorder);
            }
        }
    }

    /// The newest 10 000 attempts, in the order they were answered.
    pub fn attempts(&self) -> Vec<Attempt> {
        lock(&self.attempts).to_vec()
    }

    /// Those of the newest 10 000 attempts sent at or after `since_ms` (Unix ms), in the order they
    /// were answered: [`Deliveries::attempts`] without copying the older ones, which a receiver's
    /// latency measured while thousands are sent a second cannot afford.
    pub fn attempts_sent_since(&self, since_ms: f64) -> Vec<Attempt> {
        lock(&self.attempts).iter().filter(|a| a.sent_at_ms >= since_ms).cloned().collect()
    }

    /// How many attempts were made in all.
    pub fn attempts_made(&self) -> u64 {
        self.attempts_made.load(Ordering::Relaxed)
    }
}

/// Where a worker notes its attempts: the newest kept, and a count of all.
#[derive(Clone)]
struct Log {
    kept: Arc<Mutex<Recent<Attempt>>>,
    made: Arc<AtomicU64>,
}

/// Where and how a worker delivers: the registration's id, URL and signing secret.
struct Target {
    id: String,
    url: Url,
    secret: Secret,
}

/// The worker of one registration: each payment's events oldest first, each until acknowledged
/// or given up, several payments at once.
async fn deliver(
    outbox: Arc<Outbox>,
    target: Target,
    http: reqwest::Client,
    policy: DeliveryPolicy,
    log: Log,
) {
    let target = Arc::new(target);
    // Dropped (aborting every delivery under way) when the registration is deleted.
    let mut sending = tokio::task::JoinSet::new();
    loop {
        if outbox.closed.load(Ordering::SeqCst) {
            return;
        }
        for queued in lock(&outbox.queue).start() {
            let one = deliver_one(queued, Arc::clone(&target), http.clone(), policy.clone(), log.clone());
            sending.spawn(one);
        }
        tokio::select! {
            () = outbox.notify.notified() => {}
            Some(done) = sending.join_next() => {
                match done {
                    Ok(number) => lock(&outbox.queue).done(number),
                    // Only a panic ends a delivery otherwise; its item stays, and goes again.
                    Err(e) => tracing::warn!(error = %e, "a webhook delivery ended early"),
                }
            }
        }
    }
}

/// Delivers one event until acknowledged or given up; returns its number.
async fn deliver_one(
    queued: Queued,
    target: Arc<Target>,
    http: reqwest::Client,
    policy: DeliveryPolicy,
    log: Log,
) -> u64 {
    let Item { event_type, order, body } = queued.item;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let sent_at_ms = unix_ms_now();
        log.made.fetch_add(1, Ordering::Relaxed);
        let status = send(&http, &target, &body).await;
        lock(&log.kept).push(Attempt {
            webhook_id: target.id.clone(),
            event_type: event_type.to_owned(),
            order: order.to_string(),
            status,
            sent_at_ms,
        });
        if status.is_some_and(|s| (200..300).contains(&s)) || attempt >= policy.give_up_after {
            return queued.number;
        }
        let index = usize::try_from(attempt - 1)
            .unwrap_or(usize::MAX)
            .min(policy.retry_delays.len().saturating_sub(1));
        let delay = policy.retry_delays.get(index).copied().unwrap_or_default();
        tracing::debug!(webhook = %target.id, event_type, attempt, ?status, "webhook delivery failed, retrying");
        tokio::time::sleep(delay).await;
    }
}

async fn send(http: &reqwest::Client, target: &Target, body: &[u8]) -> Option<u16> {
    let date = signing::http_date(chrono::Utc::now());
    let signed = signing::sign(target.secret.expose(), &target.url, &date, body).ok()?;
    let response = http
        .post(target.url.clone())
        .header("x-ms-date", signed.date)
        .header("x-ms-content-sha256", signed.content_sha256)
        .header("Authorization", signed.authorization)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

/// HTTPS anywhere; plain HTTP only to this machine, where the simulator's client runs.
fn is_deliverable(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    }
}

fn is_known_event(event: &str) -> bool {
    event == USER_CHECKED_IN || epayment_event_types().any(|e| e == event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_local_http_receivers_are_accepted() {
        let ok = |s: &str| is_deliverable(&Url::parse(s).unwrap());
        assert!(ok("https://shop.example/hooks"));
        assert!(ok("http://127.0.0.1:8080/webhooks/vipps"));
        assert!(!ok("http://shop.example/hooks"));
        assert!(!ok("ftp://shop.example/hooks"));
    }

    fn outbox() -> Outbox {
        Outbox { queue: Mutex::new(Queue::default()), notify: Notify::new(), closed: AtomicBool::new(false) }
    }

    fn queued(outbox: &Outbox) -> Vec<&'static str> {
        lock(&outbox.queue).items.iter().map(|q| q.item.event_type).collect()
    }

    fn item(event_type: &'static str, payment: &str) -> Item {
        Item { event_type, order: payment.into(), body: Arc::from(Vec::new()) }
    }

    #[test]
    fn a_payment_s_events_go_one_after_the_other_and_other_payments_meanwhile() {
        let out = outbox();
        out.push(&item("created", "order-1"), 1, false);
        out.push(&item("authorized", "order-1"), 1, false);
        out.push(&item("created", "order-2"), 1, false);
        let going = |started: Vec<Queued>| {
            started.into_iter().map(|q| format!("{} {}", q.item.order, q.item.event_type)).collect::<Vec<_>>()
        };
        let mut queue = lock(&out.queue);
        assert_eq!(going(queue.start()), ["order-1 created", "order-2 created"]);
        assert!(queue.start().is_empty(), "order-1's next waits for its first");
        let first = queue.items[0].number;
        queue.done(first);
        assert_eq!(going(queue.start()), ["order-1 authorized"]);

        for n in 0..IN_FLIGHT + 3 {
            queue.extend([item("created", &format!("busy-{n}"))]);
        }
        let sending = queue.start().len() + 2;
        assert_eq!(sending, IN_FLIGHT, "at most {IN_FLIGHT} on their way at once");
    }

    #[test]
    fn a_reordered_event_goes_after_the_next_and_a_duplicated_one_twice() {
        let out = outbox();
        let item = |name: &'static str| item(name, "order-1");
        out.push(&item("created"), 1, true);
        assert!(queued(&out).is_empty(), "held until the next event");
        out.push(&item("authorized"), 2, true);
        assert_eq!(queued(&out), ["authorized", "authorized", "created"]);
        out.push(&item("captured"), 1, true);
        out.push(&item("refunded"), 0, false);
        assert_eq!(queued(&out)[3..], ["captured"], "a dropped event releases the held one");
        out.push(&item("cancelled"), 1, true);
        out.release_held();
        assert_eq!(queued(&out)[4..], ["cancelled"]);
    }

    #[test]
    fn only_the_newest_ten_thousand_attempts_are_kept() {
        let deliveries = Deliveries::new(DeliveryPolicy::default());
        for n in 0..ATTEMPTS_KEPT + 5 {
            let attempt = Attempt {
                webhook_id: n.to_string(),
                event_type: "e".into(),
                order: "p".into(),
                status: None,
                sent_at_ms: 0.0,
            };
            lock(&deliveries.attempts).push(attempt);
        }
        let kept = deliveries.attempts();
        assert_eq!((kept.len(), kept[0].webhook_id.as_str()), (ATTEMPTS_KEPT, "5"));
    }

    #[test]
    fn the_attempts_sent_since_a_moment_are_those_sent_then_or_later_oldest_first() {
        let deliveries = Deliveries::new(DeliveryPolicy::default());
        // Noted as answered, so not quite in the order they were sent.
        for (n, sent_at_ms) in [10.0, 30.0, 20.0, 40.0].into_iter().enumerate() {
            let attempt = Attempt {
                webhook_id: n.to_string(),
                event_type: "e".into(),
                order: "p".into(),
                status: None,
                sent_at_ms,
            };
            lock(&deliveries.attempts).push(attempt);
        }
        let since =
            |ms| deliveries.attempts_sent_since(ms).into_iter().map(|a| a.webhook_id).collect::<Vec<_>>();
        assert_eq!(since(20.0), ["1", "2", "3"]);
        assert_eq!(since(25.0), ["1", "3"]);
        assert_eq!(since(41.0), Vec::<String>::new());
    }

    #[test]
    fn event_types_are_checked() {
        assert!(is_known_event("epayments.payment.captured.v1"));
        assert!(is_known_event("user.checked-in.v1"));
        assert!(!is_known_event("epayments.payment.paid.v1"));
    }
}

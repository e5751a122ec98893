//! Webhooks as the platform really delivers them, faults included: the webhooks alone, nothing
//! polling (they move the till), none at all (the till still learns everything by polling), each
//! twice and pairs the wrong way round (state only moves forward, the money is taken once), and a
//! genuine delivery replayed byte for byte later (acknowledged, recognised, harmless). Late deliveries, as the platform's retries bring them,
//! count while what they say still matters; unsigned, forged and malformed ones are refused even
//! without a database. `/metrics` counts what was accepted, refused, seen before, or too late.
//!
//! To see the platform's own deliveries, the server's public URL is a recording relay in the test:
//! the simulator delivers to it, it passes each delivery on unchanged and keeps a copy.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use chrono::{DateTime, TimeDelta, Utc};
use kasse_api::{Currency, Money, ProblemCode, Role, Sale, SaleStatus};
use kasse_sim::FaultKnobs;
use kasse_vipps::epayment::{PaymentEventName, WebhookEvent};
use kasse_vipps::signing::{self, SignedHeaders};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::json;
use sqlx::Connection as _;
use tokio::sync::mpsc;
use url::Url;

use crate::helpers::*;

/// How long polling alone may take: the first poll 5 s after the create, then every 2 s.
const POLLING_PATIENCE: Duration = Duration::from_secs(30);

/// One delivery the platform made, exactly as it came, and what the server answered.
#[derive(Debug, Clone)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
    status: StatusCode,
}

impl Delivery {
    /// The payment event it carries.
    fn event(&self) -> WebhookEvent {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not a payment event ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// The relay: where the server really is, and where copies go.
struct Relay {
    server: OnceLock<String>,
    http: reqwest::Client,
    copies: mpsc::UnboundedSender<Delivery>,
}

async fn relay(AxumState(relay): AxumState<Arc<Relay>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(server) = relay.server.get() else { return StatusCode::SERVICE_UNAVAILABLE };
    let mut passed_on = headers.clone();
    passed_on.remove(header::HOST);
    passed_on.remove(header::CONTENT_LENGTH);
    let answer = relay
        .http
        .post(format!("{server}/webhooks/vipps"))
        .headers(passed_on)
        .body(body.clone())
        .send()
        .await;
    let status = answer.map_or(StatusCode::BAD_GATEWAY, |a| a.status());
    let _ = relay.copies.send(Delivery { headers, body, status });
    status
}

/// A server whose public URL is a recording relay; the copies of what the platform delivers.
async fn spawn_app_behind_relay() -> (TestApp, mpsc::UnboundedReceiver<Delivery>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let (copies, received) = mpsc::unbounded_channel();
    let state = Arc::new(Relay { server: OnceLock::new(), http: browser(), copies });
    let router = axum::Router::new()
        .route("/webhooks/vipps", axum::routing::post(relay))
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = spawn_app_with(|config| config.public_url = Some(public)).await;
    state.server.set(app.base.clone()).unwrap();
    (app, received)
}

/// The next delivery the platform made, whatever it is.
async fn next_delivery(deliveries: &mut mpsc::UnboundedReceiver<Delivery>) -> Delivery {
    let next = tokio::time::timeout(PATIENCE, deliveries.recv()).await;
    next.ok().flatten().unwrap_or_else(|| panic!("no webhook delivery within {PATIENCE:?}"))
}

/// Deliveries until one of `reference` carries `name`; all of them, that one last.
async fn deliveries_until(
    deliveries: &mut mpsc::UnboundedReceiver<Delivery>,
    reference: &str,
    name: PaymentEventName,
) -> Vec<Delivery> {
    let mut all = Vec::new();
    loop {
        let delivery = next_delivery(deliveries).await;
        let event = delivery.event();
        all.push(delivery);
        if event.reference == reference && event.name == name {
            return all;
        }
    }
}

/// Where a status stands on the way to the money: it may only grow.
fn progress(status: SaleStatus) -> u8 {
    match status {
        SaleStatus::Creating => 0,
        SaleStatus::AwaitingCustomer => 1,
        SaleStatus::Authorized => 2,
        _ => 3,
    }
}

/// The statuses `events` show for `reference`, checked never to go backwards.
fn forward_only(events: &[SseEvent], reference: &str) -> Vec<SaleStatus> {
    let shown: Vec<SaleStatus> = events
        .iter()
        .filter_map(SseEvent::sale_if_any)
        .filter(|sale| sale.reference == reference)
        .map(|sale| sale.status)
        .collect();
    assert!(
        shown.windows(2).all(|w| progress(w[0]) <= progress(w[1])),
        "the till showed {reference} going backwards: {shown:?}"
    );
    shown
}

impl TestApp {
    /// `kasse_webhooks_total` for `outcome`, 0 while there was none.
    async fn webhooks_counted(&self, outcome: &str) -> i64 {
        let text = self.metrics_text().await;
        metric(&text, &format!("kasse_webhooks_total{{outcome=\"{outcome}\"}}")).unwrap_or(0)
    }

    /// Sends a delivery straight to the server's webhook endpoint with exactly these headers.
    async fn deliver_as_is(&self, headers: &HeaderMap, body: &[u8]) -> Answer {
        let mut headers = headers.clone();
        headers.remove(header::HOST);
        headers.remove(header::CONTENT_LENGTH);
        let request =
            self.http.post(format!("{}/webhooks/vipps", self.base)).headers(headers).body(body.to_vec());
        self.send(request).await
    }

    /// `body` signed with our registration's secret as the platform signs it at `sent_at`.
    async fn signed_at(&self, body: &str, sent_at: DateTime<Utc>) -> SignedHeaders {
        let secret = self.webhook_secret().await;
        signing::sign(&secret, &self.webhook_url(), &signing::http_date(sent_at), body.as_bytes()).unwrap()
    }

    /// Delivers `body` as the platform does, signed at `sent_at`.
    async fn deliver_signed_at(&self, body: &str, sent_at: DateTime<Utc>) -> Answer {
        let signed = self.signed_at(body, sent_at).await;
        self.deliver_webhook(body.as_bytes(), &signed).await
    }

    /// A QR sale of `value` øre, approved, until the till shows it captured: the events read.
    async fn paid_qr_sale(&self, events: &mut EventStream, value: i64) -> (Sale, Vec<SseEvent>) {
        let sale = self.start_sale(value).await;
        self.approve(&sale).await;
        let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
        (sale, seen)
    }
}

#[tokio::test]
async fn the_till_learns_a_sale_is_captured_by_polling_when_the_platform_delivers_no_webhook_at_all() {
    let app = spawn_app().await;
    app.sim().set_faults(FaultKnobs { drop_webhook_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    app.approve(&sale).await;

    let mut seen = Vec::new();
    let captured = tokio::time::timeout(POLLING_PATIENCE, async {
        loop {
            let event = events.read_event().await;
            let done = event
                .sale_if_any()
                .is_some_and(|s| s.reference == sale.reference && s.status == SaleStatus::Captured);
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await;
    assert!(captured.is_ok(), "the till never showed the sale captured; it showed {seen:#?}");
    forward_only(&seen, &sale.reference);
    assert!(
        app.sim().webhook_attempts().is_empty(),
        "the platform delivered nothing: {:#?}",
        app.sim().webhook_attempts()
    );
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 12_350);
    let received = app.received(&sale.reference);
    assert_eq!(writes(&received, "capture").len(), 1, "captured once: {received:#?}");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Captured);
}

#[tokio::test]
async fn the_till_learns_a_sale_is_captured_from_the_platform_s_webhook_alone_when_nothing_polls() {
    // The counterpart of the test above: the reconciler looks for work at the start and not again
    // while the test lasts, so no poll can be what moves the till; the webhook must.
    let app = spawn_app_with(|config| config.reconcile_every = Duration::from_hours(1)).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    app.approve(&sale).await;

    let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    forward_only(&seen, &sale.reference);
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 12_350);
    let received = app.received(&sale.reference);
    assert_eq!(writes(&received, "capture").len(), 1, "captured once: {received:#?}");
    assert_all_deliveries_acknowledged(&app);
}

#[tokio::test]
async fn duplicated_and_reordered_webhooks_take_the_money_once_and_the_till_never_goes_backwards() {
    let (app, mut deliveries) = spawn_app_behind_relay().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.sim()
        .set_faults(FaultKnobs {
            duplicate_webhook_rate: 1.0,
            reorder_webhooks: true,
            ..FaultKnobs::default()
        })
        .unwrap();

    let (sale, mut seen) = app.paid_qr_sale(&mut events, 12_350).await;

    // Each event twice, and the approval before the creation it follows.
    let delivered = deliveries_until(&mut deliveries, &sale.reference, PaymentEventName::Created).await;
    let names: Vec<PaymentEventName> = delivered.iter().map(|d| d.event().name).collect();
    assert_eq!(names[..2], [PaymentEventName::Authorized, PaymentEventName::Authorized], "{names:?}");
    let last = deliveries_until(&mut deliveries, &sale.reference, PaymentEventName::Created).await;
    assert_eq!(last.len(), 1, "the creation came twice, after the approval: {names:?}");
    assert!(
        delivered.iter().chain(&last).all(|d| d.status == StatusCode::OK),
        "every delivery was acknowledged"
    );

    // The held-back capture event is let go, twice.
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    for _ in 0..2 {
        let captured = deliveries_until(&mut deliveries, &sale.reference, PaymentEventName::Captured).await;
        assert_eq!(captured.last().unwrap().status, StatusCode::OK);
    }

    // Deliveries are processed in the order they arrive: once a later sale's have been acted on,
    // all of the first sale's have been.
    let (next, later) = app.paid_qr_sale(&mut events, 3_000).await;
    seen.extend(later);
    let shown = forward_only(&seen, &sale.reference);
    assert_eq!(shown.last(), Some(&SaleStatus::Captured), "{shown:?}");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Captured);
    let received = app.received(&sale.reference);
    assert_eq!(writes(&received, "capture").len(), 1, "one capture reached the platform: {received:#?}");
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 12_350);
    assert_eq!(writes(&app.received(&next.reference), "capture").len(), 1);
}

/// A payment event of `reference` as the platform delivers it.
fn payment_event(reference: &str) -> String {
    serde_json::json!({
        "msn": MSN, "reference": reference, "pspReference": uuid::Uuid::new_v4().to_string(),
        "name": "AUTHORIZED", "amount": { "currency": "NOK", "value": 5_000 },
        "timestamp": Utc::now().to_rfc3339(), "success": true
    })
    .to_string()
}

/// A customer's check-in at till-1's callback sticker, scanned at `at`.
fn check_in(token: &str, at: DateTime<Utc>) -> String {
    serde_json::json!({ "customerToken": token, "merchantQrId": TILL, "msn": MSN, "initiatedAt": at.to_rfc3339() })
        .to_string()
}

#[tokio::test]
async fn a_payment_event_delivered_days_late_is_accepted_but_one_dated_ahead_of_our_clock_is_refused() {
    let app = spawn_app().await;
    let accepted = app.webhooks_counted("accepted").await;
    let late = Utc::now() - TimeDelta::days(3);
    let answer = app.deliver_signed_at(&payment_event("kasse-till-1-late"), late).await;
    assert_eq!(answer.status, StatusCode::OK, "a retry days later still counts: {}", answer.body);
    assert_eq!(app.webhooks_counted("accepted").await, accepted + 1);

    let refused = app.webhooks_counted("refused").await;
    let ahead = Utc::now() + TimeDelta::minutes(10);
    let answer = app.deliver_signed_at(&payment_event("kasse-till-1-ahead"), ahead).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(app.webhooks_counted("refused").await, refused + 1);
    assert_eq!(app.webhooks_counted("accepted").await, accepted + 1);
}

#[tokio::test]
async fn a_late_check_in_reaches_its_till_while_its_token_can_be_charged_and_is_dropped_once_it_cannot() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    // Delivered ten minutes after the scan: later than the clock skew allowed, yet chargeable.
    let scanned = Utc::now() - TimeDelta::minutes(10);
    let answer = app.deliver_signed_at(&check_in("dG9rZW4tbGF0ZQ==", scanned), scanned).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let shown = events.until_check_in("the late check-in", |c| c.charged_by.is_none()).await;
    assert_eq!(shown.at_ms, scanned.timestamp_millis(), "{shown:?}");

    // Twenty minutes after the scan its token can no longer be charged: acknowledged, dropped.
    let expired = app.webhooks_counted("expired").await;
    let scanned_long_ago = Utc::now() - TimeDelta::minutes(20);
    let answer =
        app.deliver_signed_at(&check_in("dG9rZW4tZ29uZQ==", scanned_long_ago), scanned_long_ago).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "acknowledged, so the platform stops retrying: {}",
        answer.body
    );
    assert_eq!(app.webhooks_counted("expired").await, expired + 1);
    let open = app.check_ins_of(&app.http, TILL).await;
    assert_eq!(open, [shown], "only the one that can be charged");
}

#[tokio::test]
async fn the_same_delivery_twice_is_processed_once_but_the_same_event_signed_again_is_a_new_delivery() {
    let app = spawn_app().await;
    let body = check_in("dG9rZW4tdHdpY2U=", Utc::now());
    let signed = app.signed_at(&body, Utc::now()).await;
    let (accepted, duplicates) =
        (app.webhooks_counted("accepted").await, app.webhooks_counted("duplicate").await);
    for _ in 0..2 {
        let answer = app.deliver_webhook(body.as_bytes(), &signed).await;
        assert_eq!(answer.status, StatusCode::OK, "both are acknowledged: {}", answer.body);
    }
    assert_eq!(app.webhooks_counted("accepted").await, accepted + 1, "taken in once");
    assert_eq!(app.webhooks_counted("duplicate").await, duplicates + 1, "and recognised the second time");

    // The platform's next attempt is signed anew: it is a delivery of its own.
    let again = app.signed_at(&body, Utc::now() + TimeDelta::seconds(2)).await;
    assert_ne!(again.authorization, signed.authorization);
    let answer = app.deliver_webhook(body.as_bytes(), &again).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(app.webhooks_counted("accepted").await, accepted + 2);
    assert_eq!(app.check_ins_of(&app.http, TILL).await.len(), 1, "one customer, checked in once");
}

#[tokio::test]
async fn unsigned_forged_and_malformed_deliveries_are_refused_even_without_a_database() {
    let app = spawn_app().await;
    let url = app.webhook_url();
    let secret = app.webhook_secret().await;
    let event = payment_event("kasse-till-1-nodb");
    let now = signing::http_date(Utc::now());
    app.running.close_database().await;

    let unsigned = app.post_raw("/webhooks/vipps", "application/json", &event).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED, "unsigned: {}", unsigned.body);
    assert_eq!(unsigned.problem().code, Some(ProblemCode::Unauthorized));

    let forged = signing::sign("a secret of somebody else", &url, &now, event.as_bytes()).unwrap();
    let answer = app.deliver_webhook(event.as_bytes(), &forged).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "forged: {}", answer.body);

    let junk = "this is not JSON";
    let signed = signing::sign(&secret, &url, &now, junk.as_bytes()).unwrap();
    let answer = app.deliver_webhook(junk.as_bytes(), &signed).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "malformed: {}", answer.body);
    assert_eq!(answer.problem().code, Some(ProblemCode::BadWebhook));

    // A genuine delivery is kept before it is acknowledged: without a database it is not, and
    // the answer says to come back (the platform delivers it again).
    let genuine = signing::sign(&secret, &url, &now, event.as_bytes()).unwrap();
    let answer = app.deliver_webhook(event.as_bytes(), &genuine).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.body);
    assert!(answer.header("retry-after").is_some(), "{}", answer.body);
}

#[tokio::test]
async fn a_genuine_delivery_replayed_byte_for_byte_is_recognised_and_changes_nothing_and_metrics_count_each_kind()
 {
    let (app, mut deliveries) = spawn_app_behind_relay().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let (sale, _) = app.paid_qr_sale(&mut events, 12_350).await;
    let delivered = deliveries_until(&mut deliveries, &sale.reference, PaymentEventName::Authorized).await;
    let genuine = delivered.last().unwrap().clone();
    assert_eq!(genuine.status, StatusCode::OK, "the genuine delivery was accepted");
    assert!(app.webhooks_counted("accepted").await >= 1, "{}", app.metrics_text().await);

    // A forgery: the genuine headers on a changed body.
    let refused_before = app.webhooks_counted("refused").await;
    let mut forged = genuine.event();
    forged.amount.value = 1;
    let forged = serde_json::to_vec(&forged).unwrap();
    let answer = app.deliver_as_is(&genuine.headers, &forged).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        app.webhooks_counted("refused").await,
        refused_before + 1,
        "the forgery is counted as refused"
    );

    // The genuine delivery again, exactly as it came, well within the skew window.
    let duplicates_before = app.webhooks_counted("duplicate").await;
    let answer = app.deliver_as_is(&genuine.headers, &genuine.body).await;
    assert_eq!(answer.status, StatusCode::OK, "a replay is acknowledged: {}", answer.body);
    assert_eq!(
        app.webhooks_counted("duplicate").await,
        duplicates_before + 1,
        "and recognised as seen before"
    );
    assert_eq!(app.webhooks_counted("refused").await, refused_before + 1, "and not as refused");

    // Once a later sale has been acted on, so has the replay: it told the till nothing.
    let (next, later) = app.paid_qr_sale(&mut events, 3_000).await;
    assert!(
        later.iter().all(|e| e.sale().reference == next.reference),
        "the replay and the forgery told the till nothing: {later:#?}"
    );
    assert_eq!(app.sale(&sale.reference).await.captured, Money::new(12_350, Currency::Nok));
    let received = app.received(&sale.reference);
    assert_eq!(writes(&received, "capture").len(), 1, "no second capture: {received:#?}");
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 12_350);
}

/// Webhooks whose payment another instance is working on (here: its lock held at the database,
/// as an instance holds it in the middle of a capture) wait for it, and hold up no webhook about
/// another payment stored after them, however many there are: more than the inbox reads at a
/// time. PostgreSQL only: on SQLite the one instance's own lock is all there is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_waiting_for_their_payment_hold_up_no_webhook_about_another_payment_however_many() {
    /// More deliveries about the held payment than the inbox reads from the store at a time.
    const BEHIND: i64 = 60;
    let app = spawn_app_with(second_till).await;
    let Some(url) = app.postgres_url().map(str::to_owned) else {
        eprintln!("not on PostgreSQL (KASSE_TEST_DATABASE=postgres): this test checks nothing");
        return;
    };
    let till_2 = browser_with_cookie(&pair_with_till(&app.running, &app.base, "till-2", Role::Till).await);
    let held = app.start_sale(4_000).await;
    let started = app
        .send(
            till_2
                .post(format!("{}/api/tills/till-2/sales", app.base))
                .json(&serde_json::json!({"amount": {"value": 5_000, "currency": "NOK"}, "flow": "qr"})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let other: Sale = started.json();
    app.until_unprocessed_webhooks(|n| n == 0).await;

    let mut instance = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtextextended('payment:' || $1, 0))")
        .bind(&held.reference)
        .execute(&mut instance)
        .await
        .unwrap();
    app.approve(&held).await;
    // Its webhook has come, and waits for the lock.
    let observer = sqlx::PgPool::connect(&url).await.unwrap();
    until(|| async {
        // A 64-bit advisory key is shown in two halves: `classid` the high, `objid` the low.
        let waiting: i64 = sqlx::query_scalar(
            "WITH held AS (SELECT hashtextextended('payment:' || $1, 0) AS key) \
             SELECT count(*) FROM pg_locks, held WHERE locktype = 'advisory' AND NOT granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid = ((key >> 32) & 4294967295)::oid AND objid = (key & 4294967295)::oid",
        )
        .bind(&held.reference)
        .fetch_one(&observer)
        .await
        .unwrap();
        waiting > 0
    })
    .await;

    // The platform delivers more about it meanwhile (each a delivery of its own).
    for _ in 0..BEHIND {
        let answer = app.deliver_signed_at(&payment_event(&held.reference), Utc::now()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let accepted = app.webhooks_counted("accepted").await;
    app.approve(&other).await;
    until(|| async { app.webhooks_counted("accepted").await > accepted }).await;
    // The other payment's webhook is done while the first's still wait.
    app.until_unprocessed_webhooks(|n| n == 1 + BEHIND).await;
    // So is one the endpoint did not hand over, found in the database by a sweep past all those
    // (as one stored by an instance that died before it worked on it is).
    let stored_only = payment_event(&other.reference);
    sqlx::query(
        "INSERT INTO webhook_inbox (received_at, event_type, body, delivery_hash) \
         VALUES (0, 'AUTHORIZED', $1, 'stored-by-an-instance-that-died')",
    )
    .bind(&stored_only)
    .execute(&mut instance)
    .await
    .unwrap();
    until(|| async {
        let processed: Option<i64> = sqlx::query_scalar(
            "SELECT processed_at FROM webhook_inbox WHERE delivery_hash = 'stored-by-an-instance-that-died'",
        )
        .fetch_one(&observer)
        .await
        .unwrap();
        processed.is_some()
    })
    .await;
    app.until_unprocessed_webhooks(|n| n == 1 + BEHIND).await;
    assert_eq!(app.sale(&held.reference).await.status, SaleStatus::AwaitingCustomer, "still waiting");

    // The other instance is done: the first webhook is worked on, and the sale is taken.
    sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut instance).await.unwrap();
    app.until_unprocessed_webhooks(|n| n == 0).await;
    let mut events = app.events_after(0).await;
    events.until_sale_is(&held.reference, SaleStatus::Captured).await;
}

#[tokio::test]
async fn a_sale_whose_create_had_no_answer_moves_on_once_the_platform_says_it_has_the_payment() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    // The platform's gateway holds every create, its own and every one sent again: none is
    // answered. Were they answered, the platform's five writes a minute on one payment could
    // refuse them 429 for up to a minute after the first reached it.
    app.sim().set_faults(FaultKnobs { hold_creates: true, ..FaultKnobs::default() }).unwrap();
    let body =
        json!({"amount": {"value": 4_500, "currency": "NOK"}, "flow": "phone", "phoneNumber": "91234567"});
    let started = app.try_start_sale(&body).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "kept while unanswered: {}", started.body);
    let sale: Sale = started.json();
    assert_eq!(sale.status, SaleStatus::Creating);

    // The held creates reach the platform, which sends its webhook: the customer's phone asks,
    // and the till shows it, without waiting for an answer to a create.
    assert!(app.sim().deliver_held_creates().await >= 1);
    events.until_sale_is(&sale.reference, SaleStatus::AwaitingCustomer).await;
    app.approve_on_phone(CUSTOMER, &sale.reference).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    let received = app.received(&sale.reference);
    let creates = writes(&received, "create");
    assert_eq!(creates.iter().filter(|w| w.applied).count(), 1, "created once: {creates:#?}");
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 4_500);

    // A QR sale in the same state waits on: its QR code comes only with a create's answer.
    let started =
        app.try_start_sale(&json!({"amount": {"value": 2_000, "currency": "NOK"}, "flow": "qr"})).await;
    let qr: Sale = started.json();
    assert_eq!(qr.status, SaleStatus::Creating, "{}", started.body);
    assert!(app.sim().deliver_held_creates().await >= 1);
    until(|| async { app.sim().payment(MSN, &qr.reference).is_some() }).await;
    app.until_unprocessed_webhooks(|n| n == 0).await;
    assert_eq!(app.sale(&qr.reference).await.status, SaleStatus::Creating, "no QR code to show yet");
}

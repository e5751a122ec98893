//! The terminal API (`/terminal/v1`) as a PoS system uses it: one journey per operation through
//! the simulator, every answer checked against the OpenAPI document the server serves (which must
//! be the committed one); idempotent retries; keys scoped to stores and revoked at once; the
//! outcome heard by signed callback (retried until the PoS takes it) and by waiting; and a
//! payment a PoS started being the till's like any other.

use chrono::Utc;
use kasse_api::{ProblemCode, SaleStatus};
use kasse_server::CapturePolicy;
use kasse_server::ops::integrators::Integrators;
use kasse_sim::FaultKnobs;
use kasse_vipps::qr::MerchantCallbackPutRequest;
use kasse_vipps::signing;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::pos::{CallbackEndpoint, Pos, Received};
use crate::helpers::*;

const STORE: &str = "grunerlokka";
const START: &str = "/terminal/v1/tills/till-1/payments";

/// A payment request of `value` øre with `extra` fields.
fn payment(value: i64, extra: &Value) -> Value {
    let mut body = json!({ "amount": { "value": value, "currency": "NOK" } });
    for (name, field) in extra.as_object().unwrap() {
        body[name] = field.clone();
    }
    body
}

fn reference_of(answer: &Answer) -> String {
    let body: Value = answer.json();
    body["reference"].as_str().unwrap_or_else(|| panic!("a payment: {}", answer.body)).to_owned()
}

fn field<'a>(answer: &'a Value, name: &str) -> &'a str {
    answer[name].as_str().unwrap_or_default()
}

/// The customer scans the payment's QR code and approves in the app.
async fn approve(qr: &str) {
    let answer =
        browser().post(qr).form(&[("action", "approve"), ("customer", CUSTOMER)]).send().await.unwrap();
    assert!(answer.status().is_success(), "the phone took the approval: {}", answer.status());
}

/// Checks a callback's signature the documented way: the platform's webhook algorithm, keyed
/// with the integrator's callback secret, bound to the callback URL.
fn assert_signed(delivery: &Received, secret: &str, endpoint: &CallbackEndpoint) {
    let received = signing::Received {
        date: delivery.header("x-ms-date"),
        content_sha256: delivery.header("x-ms-content-sha256"),
        authorization: delivery.header("authorization"),
    };
    signing::verify(
        secret,
        &endpoint.url,
        received,
        &delivery.body,
        Utc::now(),
        chrono::Duration::minutes(5),
    )
    .unwrap_or_else(|e| panic!("the callback is signed with the integrator's secret: {e}"));
    assert!(
        signing::verify(
            "another secret",
            &endpoint.url,
            received,
            &delivery.body,
            Utc::now(),
            chrono::Duration::minutes(5)
        )
        .is_err(),
        "and with nothing else"
    );
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let app = spawn_app().await;
    let served = browser().get(format!("{}/terminal/v1/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert!(served.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let served: Value = served.json().await.unwrap();
    let committed: Value = serde_json::from_str(include_str!("../../openapi/terminal-v1.json")).unwrap();
    assert_eq!(served, committed, "openapi/terminal-v1.json is what the server serves");
    assert_eq!(served["openapi"], "3.1.0");
}

#[tokio::test]
async fn a_pos_starts_a_qr_payment_and_hears_it_approved_by_signed_callbacks_and_by_waiting() {
    let app = spawn_app().await;
    let mut endpoint = CallbackEndpoint::start(&[]).await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], Some(&endpoint.url)).await;

    let tills: Value = pos.get("/terminal/v1/tills").await.json();
    assert_eq!(tills["tills"][0]["id"], TILL);
    assert_eq!(tills["tills"][0]["currency"], "NOK");

    let lines = json!([
        {"name": "Kanelbolle", "quantity": 2, "unitPrice": {"value": 4_500, "currency": "NOK"}, "vatRate": 1_500},
        {"name": "Kaffe", "quantity": 1, "unitPrice": {"value": 3_350, "currency": "NOK"}, "vatRate": 1_500},
    ]);
    let started = pos
        .post(
            START,
            "order-A-1",
            &payment(12_350, &json!({"orderId": "A-1", "payer": {"flow": "qr"}, "lines": lines})),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let started: Value = started.json();
    let reference = field(&started, "reference").to_owned();
    assert_eq!(started["status"], "awaitingCustomer");
    assert_eq!(started["startedBy"], "pos");
    assert_eq!(started["orderId"], "A-1");
    assert_eq!(started["amount"], json!({"value": 12_350, "currency": "NOK"}));
    let qr = field(&started, "qr").to_owned();
    assert!(qr.contains("/sim/pay/"), "{started}");
    assert_eq!(app.snapshot().await.sale.map(|s| s.reference), Some(reference.clone()), "the till shows it");

    // The PoS waits for the outcome while the customer approves.
    let path = format!("/terminal/v1/payments/{reference}?wait=30");
    let (waited, ()) = tokio::join!(pos.get(&path), approve(&qr));
    assert_eq!(waited.status, StatusCode::OK, "{}", waited.body);
    let waited: Value = waited.json();
    assert_eq!(waited["status"], "captured", "the outcome, at a till that captures by itself: {waited}");

    let deliveries = endpoint.until(&reference, "captured").await;
    for delivery in &deliveries {
        assert_signed(delivery, &pos.added.callback_secret, &endpoint);
        assert_eq!(delivery.json()["type"], "payment.changed");
    }
    let ids: Vec<String> = deliveries.iter().map(|d| d.json()["id"].as_str().unwrap().to_owned()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "each change has its own id");
    let last = deliveries.last().unwrap().json();
    assert_eq!(last["payment"]["captured"]["value"], 12_350);
    assert_eq!(last["payment"]["orderId"], "A-1");

    let now: Value = pos.get(&format!("/terminal/v1/payments/{reference}")).await.json();
    assert_eq!(now["status"], "captured");
    let listed: Value = pos.get(&format!("{START}?limit=10")).await.json();
    assert_eq!(listed["payments"][0]["reference"], reference.as_str());
    assert_eq!(app.platform_payment(&reference).aggregate.captured_amount.value, 12_350);
}

#[tokio::test]
async fn a_retried_write_finds_what_the_first_did_and_a_key_used_for_another_request_is_refused() {
    let app = spawn_app().await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let body = payment(5_000, &json!({"payer": {"flow": "qr"}}));

    let first = pos.post(START, "key-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = pos.post(START, "key-1", &body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let reference = reference_of(&first);
    assert_eq!(reference_of(&again), reference, "the same payment");
    assert_eq!(writes(&app.received(&reference), "create").len(), 1, "created once at the platform");

    let other = pos.post(START, "key-1", &payment(6_000, &json!({"payer": {"flow": "qr"}}))).await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    assert_eq!(other.problem().code, Some(ProblemCode::KeyReused));
    let unkeyed = pos.post_without_key(START, &body).await;
    assert_eq!(unkeyed.status, StatusCode::BAD_REQUEST);
    assert_eq!(unkeyed.problem().code, Some(ProblemCode::IdempotencyKeyRequired));
    let busy = pos.post(START, "key-2", &body).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "one payment at a till at a time: {}", busy.body);
    assert_eq!(busy.problem().code, Some(ProblemCode::TillBusy));

    let cancel = format!("/terminal/v1/payments/{reference}/cancel");
    let cancelled = pos.post(&cancel, "cancel-1", &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.json::<Value>()["status"], "cancelled");
    let again = pos.post(&cancel, "cancel-1", &json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "a retried cancel finds it done: {}", again.body);
    assert_eq!(writes(&app.received(&reference), "cancel").len(), 1, "cancelled once at the platform");
    let listed: Value = pos.get(START).await.json();
    assert_eq!(listed["payments"].as_array().unwrap().len(), 1, "nothing else was started: {listed}");
}

#[tokio::test]
async fn waiting_requests_however_many_leave_the_tills_their_quarter_of_the_servers_streams() {
    let app = spawn_app_with(|config| config.limits.streams_total = 4).await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let started: Value =
        pos.post(START, "start", &payment(4_500, &json!({"payer": {"flow": "qr"}}))).await.json();
    let wait = format!("/terminal/v1/payments/{}?wait=60", field(&started, "reference"));
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let request = browser().get(format!("{}{wait}", app.base)).bearer_auth(&pos.added.api_key);
        waiting.push(tokio::spawn(request.send()));
    }
    until(|| async { metric(&app.metrics_text().await, "kasse_terminal_waits") == Some(3) }).await;
    let fourth = pos.get(&wait).await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS, "{}", fourth.body);
    assert_eq!(fourth.problem().code, Some(ProblemCode::TooManyRequests));
    // The tills' browsers still follow their sales.
    let _till = app.events_after(0).await;
    waiting.iter().for_each(tokio::task::JoinHandle::abort);
}

#[tokio::test]
async fn a_wait_goes_on_while_kasse_asks_again_for_a_capture_the_platform_could_not_make_just_now() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.sim().set_faults(FaultKnobs { fail_captures: true, ..FaultKnobs::default() }).unwrap();
    let started: Value =
        pos.post(START, "order-C-1", &payment(4_000, &json!({"payer": {"flow": "qr"}}))).await.json();
    let reference = field(&started, "reference").to_owned();
    approve(field(&started, "qr")).await;
    events.until_sale_says_why(&reference).await;

    // The PoS waits for the outcome: a capture kasse asks again for is none (told "failed", it
    // might have the customer pay another way, and then be charged twice).
    let wait = format!("/terminal/v1/payments/{reference}?wait=30");
    let waiting = pos.get(&wait);
    let then_taken = async {
        until(|| async { metric(&app.metrics_text().await, "kasse_terminal_waits") == Some(1) }).await;
        app.sim().set_faults(FaultKnobs::default()).unwrap();
        a_minute_after_the_capture_was_refused(&data, &reference);
    };
    let (waited, ()) = tokio::join!(waiting, then_taken);
    let waited: Value = waited.json();
    assert_eq!(waited["status"], "captured", "{waited}");
    assert_eq!(waited["failure"], Value::Null, "{waited}");
}

/// 91 days on, as the retention job leaves it: the PoS's keys forgotten, what they made kept.
fn ninety_one_days_on(data: &DataDir) {
    let db = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    db.busy_timeout(PATIENCE).unwrap();
    let days = 91 * 24 * 60 * 60 * 1000_i64;
    db.execute("UPDATE payments SET created_at = created_at - ?1, updated_at = updated_at - ?1", [days])
        .unwrap();
    db.execute("UPDATE operations SET created_at = created_at - ?1, updated_at = updated_at - ?1", [days])
        .unwrap();
    db.execute("DELETE FROM terminal_requests", []).unwrap();
}

#[tokio::test]
async fn a_key_used_again_after_the_retention_forgot_it_is_a_new_request_never_the_old_payment() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let body = payment(4_500, &json!({"payer": {"flow": "qr"}}));
    let first: Value = pos.post(START, "rcpt-17", &body).await.json();
    let old = field(&first, "reference").to_owned();
    approve(field(&first, "qr")).await;
    let paid: Value = pos.get(&format!("/terminal/v1/payments/{old}?wait=30")).await.json();
    assert_eq!(paid["status"], "captured", "{paid}");
    let refund = format!("/terminal/v1/payments/{old}/refund");
    let ten = json!({"amount": {"value": 1_000, "currency": "NOK"}});
    assert_eq!(pos.post(&refund, "r-1", &ten).await.json::<Value>()["refunded"]["value"], 1_000);

    // The PoS's receipt counter started over: the same key, the same till and amount, a new sale.
    ninety_one_days_on(&data);
    let second = pos.post(START, "rcpt-17", &body).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let second: Value = second.json();
    assert_ne!(field(&second, "reference"), old, "not the payment of 91 days ago: {second}");
    assert_eq!(second["status"], "awaitingCustomer", "the customer is asked to pay: {second}");
    let retried: Value = pos.post(START, "rcpt-17", &body).await.json();
    assert_eq!(field(&retried, "reference"), field(&second, "reference"), "and its retry finds it");
    // A refund under a forgotten key gives back again, once.
    assert_eq!(pos.post(&refund, "r-1", &ten).await.json::<Value>()["refunded"]["value"], 2_000);
    assert_eq!(pos.post(&refund, "r-1", &ten).await.json::<Value>()["refunded"]["value"], 2_000, "once");
    assert_eq!(app.platform_payment(&old).aggregate.refunded_amount.value, 2_000);
}

#[tokio::test]
async fn a_pos_captures_and_refunds_in_parts_and_a_retried_refund_gives_back_once() {
    let app = spawn_app_with(|config| config.tills[0].capture = CapturePolicy::Manual).await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let started: Value =
        pos.post(START, "start", &payment(12_000, &json!({"payer": {"flow": "qr"}}))).await.json();
    let reference = field(&started, "reference").to_owned();
    approve(field(&started, "qr")).await;
    let authorized: Value = pos.get(&format!("/terminal/v1/payments/{reference}?wait=30")).await.json();
    assert_eq!(authorized["status"], "authorized", "{authorized}");
    assert_eq!(authorized["authorized"]["value"], 12_000);

    let capture = format!("/terminal/v1/payments/{reference}/capture");
    let part = pos.post(&capture, "capture-1", &json!({"amount": {"value": 5_000, "currency": "NOK"}})).await;
    assert_eq!(part.status, StatusCode::OK, "{}", part.body);
    assert_eq!(part.json::<Value>()["captured"]["value"], 5_000);
    let rest = pos.post(&capture, "capture-2", &json!({})).await;
    assert_eq!(rest.json::<Value>()["captured"]["value"], 12_000, "{}", rest.body);
    let too_much = pos.post(&capture, "capture-3", &json!({})).await;
    assert_eq!(
        too_much.problem().code,
        Some(ProblemCode::AmountOutOfRange),
        "nothing is left: {}",
        too_much.body
    );

    let refund = format!("/terminal/v1/payments/{reference}/refund");
    let two = json!({"amount": {"value": 2_000, "currency": "NOK"}});
    assert_eq!(pos.post(&refund, "refund-1", &two).await.json::<Value>()["refunded"]["value"], 2_000);
    let retried = pos.post(&refund, "refund-1", &two).await;
    assert_eq!(retried.json::<Value>()["refunded"]["value"], 2_000, "given back once: {}", retried.body);
    let other = pos.post(&refund, "refund-1", &json!({"amount": {"value": 3_000, "currency": "NOK"}})).await;
    assert_eq!(other.problem().code, Some(ProblemCode::KeyReused));
    let all = pos.post(&refund, "refund-2", &json!({"amount": {"value": 10_000, "currency": "NOK"}})).await;
    assert_eq!(all.json::<Value>()["status"], "refunded", "{}", all.body);
    let payment = app.platform_payment(&reference);
    assert_eq!(
        (payment.aggregate.captured_amount.value, payment.aggregate.refunded_amount.value),
        (12_000, 12_000)
    );
}

#[tokio::test]
async fn a_key_reaches_only_its_own_stores_and_a_revoked_key_nothing_at_once() {
    let app = spawn_app_with(|config| {
        add_store(config, "norrebro", "Bageriet Nørrebro", "234567", kasse_api::Currency::Dkk);
        let demo_till = config.tills[0].name.clone();
        add_till(config, "till-2", &demo_till, "norrebro");
    })
    .await;
    let oslo = Pos::add(&app, "Oslo PoS", &[STORE], None).await;
    let copenhagen = Pos::add(&app, "Copenhagen PoS", &["norrebro"], None).await;

    let tills: Value = oslo.get("/terminal/v1/tills").await.json();
    assert_eq!(tills["tills"].as_array().unwrap().len(), 1, "only its own store's tills: {tills}");
    let dkk = json!({"amount": {"value": 5_000, "currency": "DKK"}, "payer": {"flow": "qr"}});
    let theirs = oslo.post("/terminal/v1/tills/till-2/payments", "k", &dkk).await;
    assert_eq!(theirs.status, StatusCode::FORBIDDEN, "{}", theirs.body);
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");
    let started = copenhagen.post("/terminal/v1/tills/till-2/payments", "k", &dkk).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let other_store = format!("/terminal/v1/payments/{}", reference_of(&started));
    assert_eq!(oslo.get(&other_store).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        oslo.post(&format!("{other_store}/cancel"), "c", &json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(oslo.get("/terminal/v1/tills/till-9/payments").await.status, StatusCode::NOT_FOUND);

    let stranger = oslo.with_key("kasse_pos_0000");
    let unknown = stranger.get("/terminal/v1/tills").await;
    assert_eq!(
        (unknown.status, unknown.problem().code),
        (StatusCode::UNAUTHORIZED, Some(ProblemCode::Unauthorized))
    );
    let bare = app.send(browser().get(format!("{}/terminal/v1/tills", app.base))).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    // The scheme's name in any case, as HTTP has it and some PoS libraries send it.
    let lower_case = browser()
        .get(format!("{}/terminal/v1/tills", app.base))
        .header("Authorization", format!("bearer {}", oslo.added.api_key));
    assert_eq!(app.send(lower_case).await.status, StatusCode::OK);

    let revoked = Integrators::of_tools(&app.running.tools()).revoke("Oslo PoS").await.unwrap();
    assert!(revoked.revoked_at.is_some());
    let refused = oslo.get("/terminal/v1/tills").await;
    assert_eq!(
        (refused.status, refused.problem().code),
        (StatusCode::UNAUTHORIZED, Some(ProblemCode::KeyRevoked))
    );
    let refused = oslo.post(START, "after", &payment(1_000, &json!({}))).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        copenhagen.get("/terminal/v1/tills").await.status,
        StatusCode::OK,
        "the other key is untouched"
    );
}

#[tokio::test]
async fn a_callback_the_pos_does_not_take_is_sent_again_until_it_does() {
    let app = spawn_app().await;
    let mut endpoint = CallbackEndpoint::start(&[500, 503]).await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], Some(&endpoint.url)).await;
    let started = pos.post(START, "start", &payment(2_500, &json!({"payer": {"flow": "qr"}}))).await;
    let reference = reference_of(&started);

    // Each change has its id; one the PoS refused comes again (unless a newer change replaced it).
    let mut refused = Vec::new();
    let taken = loop {
        let delivery = endpoint.next().await;
        let body = delivery.json();
        assert_eq!(body["payment"]["reference"], reference.as_str());
        assert_signed(&delivery, &pos.added.callback_secret, &endpoint);
        if delivery.answered != 200 {
            refused.push(body["id"].clone());
        } else if refused.contains(&body["id"]) {
            break body;
        }
    };
    assert_eq!(taken["payment"]["status"], "awaitingCustomer", "{taken}");
}

#[tokio::test]
async fn the_till_chooses_the_customer_checked_in_at_its_sticker_or_else_a_qr_code() {
    let app = spawn_app().await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let qr: Value = pos.post(START, "first", &payment(3_000, &json!({}))).await.json();
    assert_eq!(qr["flow"], "qr", "nobody checked in: a QR code ({qr})");
    let cancel = format!("/terminal/v1/payments/{}/cancel", field(&qr, "reference"));
    assert_eq!(pos.post(&cancel, "cancel", &json!({})).await.status, StatusCode::OK);

    app.merchant_client()
        .put_callback_qr(TILL, &MerchantCallbackPutRequest::at("Kasse 1"))
        .await
        .expect("the platform takes the callback sticker");
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.scan_callback_sticker(CUSTOMER, TILL).await;
    events.until_check_in("announcing the check-in", |_| true).await;
    let charged =
        pos.post(START, "second", &payment(4_900, &json!({"payer": {"flow": "tillChooses"}}))).await;
    assert_eq!(charged.status, StatusCode::CREATED, "{}", charged.body);
    let charged: Value = charged.json();
    assert_eq!(charged["flow"], "checkIn", "{charged}");
    assert!(app.on_phone(CUSTOMER, field(&charged, "reference")).await, "the request is on her phone");
}

#[tokio::test]
async fn a_pos_cancel_that_joined_the_cashiers_cancel_is_answered_as_done_when_sent_again() {
    let app = spawn_app().await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let started: Value =
        pos.post(START, "start", &payment(2_000, &json!({"payer": {"flow": "qr"}}))).await.json();
    let reference = field(&started, "reference").to_owned();
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    // The platform answers nothing but 503: the cashier's cancel is kept and sent again, and the
    // PoS's, coming meanwhile, joins it.
    let down = kasse_sim::FaultKnobs { error_rate: 1.0, error_status: Some(503), ..Default::default() };
    app.sim().set_faults(down).unwrap();
    assert_eq!(app.cancel(&reference).await.status, StatusCode::ACCEPTED);
    let cancel = format!("/terminal/v1/payments/{reference}/cancel");
    let joined = pos.post(&cancel, "cancel-1", &json!({})).await;
    assert_eq!(joined.status, StatusCode::ACCEPTED, "{}", joined.body);

    app.sim().set_faults(kasse_sim::FaultKnobs::default()).unwrap();
    events.until_sale_is(&reference, SaleStatus::Cancelled).await;
    // Its answer lost, the PoS sends its cancel again, as the README tells it to after a 202.
    let again = pos.post(&cancel, "cancel-1", &json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json::<Value>()["status"], "cancelled");
    // A new cancel of a cancelled payment is still a 409, as before.
    let fresh = pos.post(&cancel, "cancel-2", &json!({})).await;
    assert_eq!(fresh.status, StatusCode::CONFLICT, "{}", fresh.body);
}

#[tokio::test]
async fn the_cashier_can_cancel_a_payment_a_pos_started_and_a_wait_ends_with_the_time_or_the_outcome() {
    let app = spawn_app().await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    let started: Value =
        pos.post(START, "start", &payment(2_000, &json!({"payer": {"flow": "qr"}}))).await.json();
    let reference = field(&started, "reference").to_owned();

    let waited = pos.get(&format!("/terminal/v1/payments/{reference}?wait=1")).await;
    assert_eq!(waited.json::<Value>()["status"], "awaitingCustomer", "the time is up, nothing happened");
    let too_long = pos.get(&format!("/terminal/v1/payments/{reference}?wait=61")).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);

    let waiting = format!("/terminal/v1/payments/{reference}?wait=30");
    let (waited, cancelled) = tokio::join!(pos.get(&waiting), app.cancel(&reference));
    assert_eq!(cancelled.status, StatusCode::OK, "the till cancels it: {}", cancelled.body);
    assert_eq!(waited.json::<Value>()["status"], "cancelled", "the PoS hears it at once");
    assert_eq!(app.sale(&reference).await.status, SaleStatus::Cancelled);
}

#[tokio::test]
async fn without_its_database_the_api_says_when_to_come_back_as_its_document_declares() {
    let app = spawn_app().await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;
    app.running.close_database().await;

    // Each answer is checked against the served document, which must declare 503 and its header.
    let listed = pos.get("/terminal/v1/tills").await;
    let started = pos.post(START, "outage-1", &payment(2_000, &json!({"payer": {"flow": "qr"}}))).await;
    for answer in [&listed, &started] {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{}", answer.body);
        assert!(answer.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok_and(|s| s >= 1)));
    }
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");
}

#[tokio::test]
async fn a_body_too_large_or_an_address_that_is_not_text_is_a_problem_as_the_document_declares() {
    let app = spawn_app().await;
    let pos = Pos::add(&app, "Acme PoS", &[STORE], None).await;

    // Each answer is checked against the document: status, problem+json, and its schema.
    let huge = payment(2_000, &json!({"payer": {"flow": "qr"}, "orderId": "x".repeat(70 * 1024)}));
    let too_large = pos.post(START, "too-large", &huge).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", too_large.body);
    let not_text = pos.get("/terminal/v1/tills/%FF/payments").await;
    assert_eq!(not_text.status, StatusCode::BAD_REQUEST, "{}", not_text.body);
    // A method an address does not take is a problem too, not an empty answer.
    for (method, path) in [(reqwest::Method::DELETE, "/terminal/v1/tills"), (reqwest::Method::GET, CANCEL_X)]
    {
        let request = browser().request(method.clone(), format!("{}{path}", app.base));
        let answer = app.send(request.bearer_auth(&pos.added.api_key)).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(
            answer.problem().code,
            Some(ProblemCode::MethodNotAllowed),
            "{method} {path}: {}",
            answer.body
        );
    }
    // An address under the API's root that is none of its own is a 404 problem, the root too,
    // never the web app's page.
    for path in ["/terminal/v1", "/terminal/v1/", "/terminal/v1/nothing-here"] {
        let answer =
            app.send(browser().get(format!("{}{path}", app.base)).bearer_auth(&pos.added.api_key)).await;
        assert_eq!(
            (answer.status, answer.problem().code),
            (StatusCode::NOT_FOUND, Some(ProblemCode::NotFound)),
            "{path}"
        );
    }
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");
}

/// A payment's cancel, which only takes `POST`.
const CANCEL_X: &str = "/terminal/v1/payments/till-1-x/cancel";

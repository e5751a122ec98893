//! Fault knobs, rate limits, test magic amounts and sales-unit capabilities, black-box over HTTP.
//!
//! Rate limits and deadlines run on the simulator's clock, so a test moves past a window or a
//! deadline with `advance_clock` instead of waiting. Random faults are drawn from a seeded RNG:
//! with a fixed seed and calls made one after another, every run injects the same faults.

use std::time::Duration;

use kasse_sim::{FaultKnobs, Limits};
use kasse_vipps::epayment::PaymentEvent;

use super::*;

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// An authenticated request with a token fetched beforehand, for when the token endpoint itself
/// may answer with a fault.
fn with_token(sim: &TestSim, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    sim.http
        .request(method, sim.url(path))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
        .header("Merchant-Serial-Number", &sim.unit.msn)
}

/// `PUT /sim/control/faults`.
async fn put_faults(sim: &TestSim, knobs: &Value) -> Answer {
    sim.send(sim.http.put(sim.url("sim/control/faults")).json(knobs)).await
}

/// The `Retry-After` of a 429, in seconds.
fn retry_after(answer: &Answer) -> u64 {
    let value = answer.headers.get(header::RETRY_AFTER).expect("a 429 says when to retry");
    value.to_str().unwrap().parse().unwrap()
}

/// A typed client that retries many times, quickly: enough to get through a run of faults.
fn patient_client(sim: &TestSim) -> Client {
    Client::new(ClientConfig {
        base_url: sim.handle.base_url().clone(),
        credentials: Credentials {
            client_id: sim.unit.client_id.clone(),
            client_secret: sim.unit.client_secret.clone(),
            subscription_key: sim.unit.subscription_key.clone(),
            msn: sim.unit.msn.clone(),
        },
        system: SystemInfo {
            name: "kasse-tests".into(),
            version: "1.0.0".into(),
            plugin_name: "faults-rs".into(),
            plugin_version: "0.1.0".into(),
        },
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 12,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        },
    })
    .unwrap()
}

/// The payment as the platform holds it, read in-process (no API call, no rate limit).
fn platform_payment(sim: &TestSim, reference: &str) -> kasse_vipps::epayment::GetPaymentResponse {
    sim.handle.payment(&sim.unit.msn, reference).unwrap()
}

/// The event log's names and success flags.
fn log(events: &[PaymentEvent]) -> Vec<(PaymentEventName, bool)> {
    events.iter().map(|e| (e.name, e.success)).collect()
}

/// What the platform received for `reference`: operation, key, status, applied.
fn received(sim: &TestSim, reference: &str) -> Vec<(&'static str, Option<String>, u16, bool)> {
    let record = sim.handle.payment_records().into_iter().find(|r| r.reference == reference).unwrap();
    record.received.into_iter().map(|w| (w.operation, w.idempotency_key, w.status, w.applied)).collect()
}

/// Force approve as Kari.
fn kari() -> ForceApprove {
    ForceApprove { customer: Some(Customer::phone_number(KARI)), token: None }
}

// ------------------------------------------------------------------------------------------------
// Rate limits
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_sixth_capture_of_a_reference_within_a_minute_is_a_429_until_the_clock_moves_on() {
    let sim = spawn_sim().await;
    sim.authorized_payment("limited-0001", 10_000).await;
    for i in 1..=5 {
        let captured = sim.modify("capture", "limited-0001", &format!("capture-{i}"), 100).await;
        assert_eq!(captured.status, StatusCode::OK, "capture {i}: {}", captured.text());
    }

    let refused = sim.modify("capture", "limited-0001", "capture-6", 100).await;
    let problem = refused.problem(429);
    assert_eq!(problem["instance"], "/epayment/v1/payments/limited-0001/capture");
    assert!((1..=60).contains(&retry_after(&refused)), "Retry-After {}", retry_after(&refused));
    assert_eq!(platform_payment(&sim, "limited-0001").aggregate.captured_amount.value, 500);

    // The limit is per API and per reference: a refund of it and a capture of another go through.
    assert_eq!(sim.modify("refund", "limited-0001", "refund-1", 100).await.status, StatusCode::OK);
    sim.authorized_payment("limited-0002", 1_000).await;
    assert_eq!(sim.modify("capture", "limited-0002", "other-capture-1", 100).await.status, StatusCode::OK);

    // A minute later on the platform's clock, the same call succeeds.
    sim.handle.advance_clock(chrono::Duration::seconds(60));
    let later = sim.modify("capture", "limited-0001", "capture-6", 100).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text());
    assert_eq!(platform_payment(&sim, "limited-0001").aggregate.captured_amount.value, 600);

    // The throttled call is on the record, unapplied; it did not use up its idempotency key.
    let captures: Vec<_> = received(&sim, "limited-0001")
        .into_iter()
        .filter(|w| w.0 == "capture")
        .map(|(_, key, status, applied)| (key.unwrap(), status, applied))
        .collect();
    assert_eq!(captures[5], ("capture-6".to_owned(), 429, false));
    assert_eq!(captures[6], ("capture-6".to_owned(), 200, true));
    assert_eq!(captures.len(), 7);
}

#[tokio::test]
async fn creates_of_one_reference_are_limited_replays_included() {
    let sim = spawn_sim().await;
    let body = create_body("limited-create", 2_000);
    let first = sim.post("epayment/v1/payments", "key-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    for _ in 2..=5 {
        assert_eq!(sim.post("epayment/v1/payments", "key-1", &body).await.body, first.body);
    }
    let refused = sim.post("epayment/v1/payments", "key-1", &body).await;
    refused.problem(429);
    assert!(retry_after(&refused) >= 1);

    // Another reference is counted on its own.
    let other = sim.post("epayment/v1/payments", "key-2", &create_body("limited-other", 2_000)).await;
    assert_eq!(other.status, StatusCode::CREATED);

    sim.handle.advance_clock(chrono::Duration::seconds(60));
    assert_eq!(sim.post("epayment/v1/payments", "key-1", &body).await.body, first.body);
    let creates = received(&sim, "limited-create");
    assert_eq!(creates.iter().filter(|w| w.3).count(), 1, "one create applied: {creates:?}");
    assert_eq!(creates.iter().filter(|w| w.2 == 429).count(), 1, "{creates:?}");
}

#[tokio::test]
async fn the_121st_read_of_a_reference_within_a_minute_is_a_429_and_the_event_log_counts_apart() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("read-often-1", 2_000).await;
    let token = sim.token().await;
    let get = |path: &str| sim.send(with_token(&sim, &token, Method::GET, path));
    for i in 1..=120 {
        let answer = get("epayment/v1/payments/read-often-1").await;
        assert_eq!(answer.status, StatusCode::OK, "read {i}");
    }
    let refused = get("epayment/v1/payments/read-often-1").await;
    assert_eq!(refused.problem(429)["instance"], "/epayment/v1/payments/read-often-1");
    assert!((1..=60).contains(&retry_after(&refused)));

    assert_eq!(get("epayment/v1/payments/read-often-1/events").await.status, StatusCode::OK);
    sim.handle.advance_clock(chrono::Duration::seconds(60));
    assert_eq!(get("epayment/v1/payments/read-often-1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_limits_come_from_the_configuration() {
    let config =
        SimConfig { limits: Limits { writes_per_minute: 1, reads_per_minute: 2 }, ..SimConfig::demo() };
    let sim = spawn_sim_with(config).await;
    sim.authorized_payment("tight-limit-1", 1_000).await;
    assert_eq!(sim.modify("capture", "tight-limit-1", "capture-1", 100).await.status, StatusCode::OK);
    sim.modify("capture", "tight-limit-1", "capture-2", 100).await.problem(429);
    for _ in 0..2 {
        assert_eq!(sim.get("epayment/v1/payments/tight-limit-1").await.status, StatusCode::OK);
    }
    sim.get("epayment/v1/payments/tight-limit-1").await.problem(429);
}

// ------------------------------------------------------------------------------------------------
// Injected 5xx and 429
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_injected_error_comes_before_anything_happens_and_the_retry_with_its_key_creates_once() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let set = put_faults(&sim, &json!({ "errorRate": 1.0, "seed": 1 })).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let knobs = sim.send(sim.http.get(sim.url("sim/control/faults"))).await.json();
    assert_eq!(knobs["errorRate"], 1.0);
    assert_eq!(knobs["throttleRate"], 0.0);
    assert_eq!(knobs["seed"], 1);

    let body = create_body("faulty-create", 2_000);
    let create =
        with_token(&sim, &token, Method::POST, "epayment/v1/payments").header("Idempotency-Key", "key-1");
    let failed = sim.send(create.json(&body)).await;
    let status = failed.status.as_u16();
    assert!(status == 500 || status == 503, "{status}");
    assert_eq!(failed.problem(status)["instance"], "/epayment/v1/payments");
    assert!(sim.handle.payment(&sim.unit.msn, "faulty-create").is_none(), "the failed call had no effect");
    let injected = sim.handle.injected_faults();
    assert_eq!((injected[0].method.as_str(), injected[0].path.as_str()), ("POST", "/epayment/v1/payments"));

    // The control API and the phone are never faulted.
    assert_eq!(sim.send(sim.http.get(sim.url("sim/control/payments"))).await.status, StatusCode::OK);
    assert_eq!(sim.send(sim.http.get(sim.url("sim/phone"))).await.status, StatusCode::OK);
    let listed = sim.send(sim.http.get(sim.url("sim/control/faults/injected"))).await.json();
    assert_eq!(listed.as_array().unwrap().len(), injected.len());

    sim.handle.set_faults(FaultKnobs::default()).unwrap();
    let create =
        with_token(&sim, &token, Method::POST, "epayment/v1/payments").header("Idempotency-Key", "key-1");
    assert_eq!(sim.send(create.json(&body)).await.status, StatusCode::CREATED);
    assert_eq!(received(&sim, "faulty-create"), [("create", Some("key-1".to_owned()), 201, true)]);
    let events = sim.client().payment_events("faulty-create").await.unwrap();
    assert_eq!(log(&events), [(PaymentEventName::Created, true)]);
}

#[tokio::test]
async fn an_injected_429_says_when_to_retry_and_changes_nothing() {
    let sim = spawn_sim().await;
    sim.authorized_payment("throttled-01", 3_000).await;
    let token = sim.token().await;
    sim.handle.set_faults(FaultKnobs { throttle_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let capture = || {
        with_token(&sim, &token, Method::POST, "epayment/v1/payments/throttled-01/capture")
            .header("Idempotency-Key", "capture-1")
            .json(&json!({ "modificationAmount": nok(3_000) }))
    };
    let throttled = sim.send(capture()).await;
    throttled.problem(429);
    assert_eq!(retry_after(&throttled), 1);
    assert_eq!(platform_payment(&sim, "throttled-01").aggregate.captured_amount.value, 0);
    assert_eq!(sim.handle.injected_faults()[0].status, 429);

    sim.handle.set_faults(FaultKnobs::default()).unwrap();
    assert_eq!(sim.send(capture()).await.status, StatusCode::OK);
    assert_eq!(platform_payment(&sim, "throttled-01").aggregate.captured_amount.value, 3_000);
}

#[tokio::test]
async fn the_typed_client_retries_through_injected_faults_and_every_write_happens_exactly_once() {
    let sim = spawn_sim().await;
    let client = patient_client(&sim);
    let knobs = FaultKnobs { error_rate: 0.3, throttle_rate: 0.2, seed: 2026, ..FaultKnobs::default() };
    sim.handle.set_faults(knobs).unwrap();
    assert_eq!(sim.handle.faults(), knobs);

    let references: Vec<_> = (1..=4).map(|i| format!("flaky-{i:04}")).collect();
    for reference in &references {
        client.create_payment(&qr_request(reference, 5_000), &create_key(reference)).await.unwrap();
        client.force_approve(reference, &kari()).await.unwrap();
        let amount = Amount::new(5_000, Currency::Nok);
        client.capture_payment(reference, amount, &format!("capture-{reference}")).await.unwrap();
    }

    let injected = sim.handle.injected_faults();
    let hit = |suffix: &str| injected.iter().any(|f| f.method == "POST" && f.path.ends_with(suffix));
    assert!(hit("/epayment/v1/payments") && hit("/capture"), "no write was faulted: {injected:?}");
    assert!(injected.iter().any(|f| f.status == 429) && injected.iter().any(|f| f.status >= 500));

    sim.handle.set_faults(FaultKnobs::default()).unwrap();
    for reference in &references {
        let events = sim.client().payment_events(reference).await.unwrap();
        let expected = [
            (PaymentEventName::Created, true),
            (PaymentEventName::Authorized, true),
            (PaymentEventName::Captured, true),
        ];
        assert_eq!(log(&events), expected, "{reference}");
        let applied: Vec<_> = received(&sim, reference).into_iter().filter(|w| w.3).map(|w| w.0).collect();
        assert_eq!(applied, ["create", "capture"], "{reference}");
        assert_eq!(platform_payment(&sim, reference).aggregate.captured_amount.value, 5_000);
    }
}

#[tokio::test]
async fn the_same_seed_injects_the_same_faults() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let knobs = json!({ "errorRate": 0.5, "seed": 7 });
    let mut runs = Vec::new();
    for _ in 0..2 {
        assert_eq!(put_faults(&sim, &knobs).await.status, StatusCode::OK);
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let answer = sim.send(with_token(&sim, &token, Method::GET, "webhooks/v1/webhooks")).await;
            statuses.push(answer.status.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&200) && runs[0].iter().any(|s| *s >= 500), "{:?}", runs[0]);
}

#[tokio::test]
async fn latency_delays_the_answers_but_they_arrive() {
    let sim = spawn_sim().await;
    sim.handle.set_faults(FaultKnobs { latency_ms: 25, ..FaultKnobs::default() }).unwrap();
    sim.authorized_payment("slow-answer-1", 1_000).await;
    let captured = sim
        .client()
        .capture_payment("slow-answer-1", Amount::new(1_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    assert_eq!(captured.aggregate.captured_amount.value, 1_000);
}

#[tokio::test]
async fn fault_knobs_that_are_not_fractions_or_not_knobs_are_refused() {
    let sim = spawn_sim().await;
    let answer = put_faults(&sim, &json!({ "errorRate": 1.5 })).await;
    let problem = answer.problem(400);
    assert!(
        problem["extraDetails"].as_array().unwrap().iter().any(|d| d["name"] == "errorRate"),
        "{problem}"
    );
    put_faults(&sim, &json!({ "errorRates": 0.5 })).await.problem(400);
    assert_eq!(sim.handle.faults(), FaultKnobs::default());
    assert!(sim.handle.set_faults(FaultKnobs { drop_webhook_rate: -1.0, ..FaultKnobs::default() }).is_err());
}

// ------------------------------------------------------------------------------------------------
// Webhook faults
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dropped_webhook_never_arrives_while_later_ones_do() {
    let sim = spawn_sim().await;
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    assert_eq!(put_faults(&sim, &json!({ "dropWebhookRate": 1.0 })).await.status, StatusCode::OK);
    let token = sim.create_qr_payment("dropped-0001", 1_000).await;
    assert_eq!(put_faults(&sim, &json!({})).await.status, StatusCode::OK);
    sim.approve(&token, KARI).await;

    // Deliveries keep event-log order, so had CREATED been queued it would have come first.
    let first = receiver.next_verified(&registration.secret).await.event();
    assert_eq!((first.reference.as_str(), first.name), ("dropped-0001", PaymentEventName::Authorized));
    let attempts = sim.handle.webhook_attempts();
    assert!(!attempts.iter().any(|a| a.event_type == "epayments.payment.created.v1"), "{attempts:?}");
}

#[tokio::test]
async fn a_duplicated_webhook_arrives_twice() {
    let sim = spawn_sim().await;
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    sim.handle.set_faults(FaultKnobs { duplicate_webhook_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let token = sim.create_qr_payment("duplicated-01", 1_000).await;
    let once = receiver.next_verified(&registration.secret).await;
    let twice = receiver.next_verified(&registration.secret).await;
    assert_eq!(once.event().name, PaymentEventName::Created);
    assert_eq!(twice.body, once.body, "the same event, byte for byte");

    sim.handle.set_faults(FaultKnobs::default()).unwrap();
    sim.approve(&token, KARI).await;
    sim.client()
        .capture_payment("duplicated-01", Amount::new(1_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    let names = [
        receiver.next_verified(&registration.secret).await.event().name,
        receiver.next_verified(&registration.secret).await.event().name,
    ];
    assert_eq!(names, [PaymentEventName::Authorized, PaymentEventName::Captured]);
}

#[tokio::test]
async fn reordered_webhooks_arrive_the_wrong_way_round_until_reordering_is_switched_off() {
    let sim = spawn_sim().await;
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    assert_eq!(put_faults(&sim, &json!({ "reorderWebhooks": true })).await.status, StatusCode::OK);
    let token = sim.create_qr_payment("reordered-01", 1_000).await;
    sim.approve(&token, KARI).await;
    let mut next = async || receiver.next_verified(&registration.secret).await.event().name;
    assert_eq!([next().await, next().await], [PaymentEventName::Authorized, PaymentEventName::Created]);

    // The odd one out waits for the next event, or for reordering to end.
    sim.client()
        .capture_payment("reordered-01", Amount::new(1_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    assert_eq!(put_faults(&sim, &json!({})).await.status, StatusCode::OK);
    assert_eq!(next().await, PaymentEventName::Captured);
}

// ------------------------------------------------------------------------------------------------
// Magic amounts
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_magic_amount_fails_the_approval_with_a_failed_authorized_event_and_the_payment_stays_open() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    for amount in [151, 182, 183, 184, 186, 187, 197, 202] {
        let reference = format!("magic-{amount}-01");
        let token = sim.create_qr_payment(&reference, amount).await;
        // Force approve does not support magic amounts.
        let refused = client.force_approve(&reference, &kari()).await.unwrap_err();
        assert_eq!((refused.status(), refused.error_code()), (Some(400), Some(10060)), "{amount}");

        let page = sim.answer(&token, "approve", KARI).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{amount}");
        assert!(
            page.text().contains(&format!("test amount {amount}")),
            "the phone says why: {}",
            page.text()
        );
        let payment = client.get_payment(&reference).await.unwrap();
        assert_eq!(payment.state, PaymentState::Created, "{amount}: the customer may try another card");
        assert_eq!(payment.aggregate.authorized_amount.value, 0);
        let events = client.payment_events(&reference).await.unwrap();
        assert_eq!(log(&events), [(PaymentEventName::Created, true), (PaymentEventName::Authorized, false)]);

        let created = receiver.next_verified(&registration.secret).await.event();
        let failed = receiver.next_verified(&registration.secret).await.event();
        assert_eq!(
            (created.reference.as_str(), created.name),
            (reference.as_str(), PaymentEventName::Created)
        );
        assert_eq!((failed.name, failed.success), (PaymentEventName::Authorized, false), "{amount}");
        assert_eq!(failed.psp_reference, events[1].psp_reference);
        sim.modify("capture", &reference, &format!("capture-{reference}"), amount)
            .await
            .assert_error_code(400, "6080");
    }
    // Nobody picks another card: they expire.
    sim.handle.advance_clock(chrono::Duration::minutes(10));
    for amount in [151, 202] {
        let payment = client.get_payment(&format!("magic-{amount}-01")).await.unwrap();
        assert_eq!(payment.state, PaymentState::Expired);
    }
}

#[tokio::test]
async fn with_201_the_result_is_unknown_for_an_hour_and_then_the_authorization_fails() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    let token = sim.create_qr_payment("unknown-201-1", 201).await;
    assert_eq!(receiver.next_verified(&registration.secret).await.event().name, PaymentEventName::Created);
    assert_eq!(client.force_approve("unknown-201-1", &kari()).await.unwrap_err().error_code(), Some(10060));

    sim.answer(&token, "approve", KARI).await;
    // Past the ten minutes a customer has, but the payment is being processed: it does not expire.
    sim.handle.advance_clock(chrono::Duration::minutes(30));
    assert_eq!(client.get_payment("unknown-201-1").await.unwrap().state, PaymentState::Created);
    assert_eq!(
        log(&client.payment_events("unknown-201-1").await.unwrap()),
        [(PaymentEventName::Created, true)]
    );
    let cancel = sim.post("epayment/v1/payments/unknown-201-1/cancel", "cancel-1", &json!({})).await;
    cancel.assert_error_code(400, "6250");

    sim.handle.advance_clock(chrono::Duration::minutes(30));
    let payment = client.get_payment("unknown-201-1").await.unwrap();
    assert_eq!(payment.state, PaymentState::Expired);
    let events = client.payment_events("unknown-201-1").await.unwrap();
    assert_eq!(
        log(&events),
        [
            (PaymentEventName::Created, true),
            (PaymentEventName::Authorized, false),
            (PaymentEventName::Expired, true)
        ]
    );
    let failed = receiver.next_verified(&registration.secret).await.event();
    assert_eq!((failed.name, failed.success), (PaymentEventName::Authorized, false));
    assert_eq!(receiver.next_verified(&registration.secret).await.event().name, PaymentEventName::Expired);
}

#[tokio::test]
async fn refunds_of_a_123_or_124_payment_are_refused_with_5100_and_6220() {
    let sim = spawn_sim().await;
    for (amount, code) in [(123, "5100"), (124, "6220")] {
        let reference = format!("refund-magic-{amount}");
        sim.authorized_payment(&reference, amount).await;
        let (capture, refund) = (format!("capture-{amount}"), format!("refund-{amount}"));
        assert_eq!(sim.modify("capture", &reference, &capture, amount).await.status, StatusCode::OK);
        sim.modify("refund", &reference, &refund, amount).await.assert_error_code(400, code);
        assert_eq!(platform_payment(&sim, &reference).aggregate.refunded_amount.value, 0);
    }
    // Any other amount refunds.
    sim.authorized_payment("refund-plain-1", 125).await;
    assert_eq!(sim.modify("capture", "refund-plain-1", "capture-125", 125).await.status, StatusCode::OK);
    assert_eq!(sim.modify("refund", "refund-plain-1", "refund-125", 125).await.status, StatusCode::OK);
}

// ------------------------------------------------------------------------------------------------
// Sales-unit capabilities and deadlines
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_sales_unit_without_push_long_living_or_partial_capture_refuses_them() {
    let mut config = SimConfig::demo();
    let unit = config.sales_units.iter_mut().find(|u| u.msn == "123456").unwrap();
    unit.push_allowed = false;
    unit.long_living_allowed = false;
    unit.partial_capture_allowed = false;
    let sim = spawn_sim_with(config).await;

    let push = CreatePaymentRequest {
        customer: Some(Customer::phone_number(KARI)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("no-push-0001", 1_000)
    };
    let raw = sim.post("epayment/v1/payments", "key-1", &serde_json::to_value(&push).unwrap()).await;
    raw.assert_error_code(400, "5080");

    let mut long_living = create_body("no-long-0001", 1_000);
    long_living["expiresAt"] = json!((chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339());
    sim.post("epayment/v1/payments", "key-2", &long_living).await.assert_error_code(400, "5050");

    sim.authorized_payment("no-partial-1", 1_000).await;
    sim.modify("capture", "no-partial-1", "capture-1", 400).await.assert_error_code(400, "6140");
    assert_eq!(sim.modify("capture", "no-partial-1", "capture-2", 1_000).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_capture_deadline_is_180_days_in_norway_and_14_in_denmark() {
    let sim = spawn_sim().await;
    let day = chrono::Duration::days(1);
    let minute = chrono::Duration::minutes(1);

    sim.authorized_payment("deadline-no-1", 1_000).await;
    let dkk_unit = sim.handle.config().sales_unit("234567").unwrap().clone();
    let dkk = sim.client_for(&dkk_unit);
    let request =
        CreatePaymentRequest { amount: Amount::new(1_000, Currency::Dkk), ..qr_request("deadline-dk-1", 0) };
    dkk.create_payment(&request, "create-dk-1").await.unwrap();
    let mette = ForceApprove { customer: Some(Customer::phone_number("4520031801")), token: None };
    dkk.force_approve("deadline-dk-1", &mette).await.unwrap();

    let dkk_capture =
        async |key: &str| dkk.capture_payment("deadline-dk-1", Amount::new(100, Currency::Dkk), key).await;
    sim.handle.advance_clock(day * 14 - minute);
    dkk_capture("capture-1").await.unwrap();
    sim.handle.advance_clock(minute * 2);
    let late = dkk_capture("capture-2").await.unwrap_err();
    assert_eq!((late.status(), late.error_code()), (Some(400), Some(6100)));
    // Past its capture deadline, a reservation cannot be cancelled either.
    assert_eq!(
        dkk.cancel_payment("deadline-dk-1", false, "cancel-1").await.unwrap_err().error_code(),
        Some(6030)
    );

    sim.handle.advance_clock(day * 166 - minute * 2);
    assert_eq!(sim.modify("capture", "deadline-no-1", "capture-1", 100).await.status, StatusCode::OK);
    sim.handle.advance_clock(minute * 2);
    sim.modify("capture", "deadline-no-1", "capture-2", 100).await.assert_error_code(400, "6100");
}

#[tokio::test]
async fn cancelling_ends_with_the_cancel_period_and_refunding_365_days_after_the_last_capture() {
    let mut config = SimConfig::demo();
    let unit = config.sales_units.iter_mut().find(|u| u.msn == "123456").unwrap();
    unit.cancel_period = chrono::Duration::days(7);
    let sim = spawn_sim_with(config).await;
    let day = chrono::Duration::days(1);
    let minute = chrono::Duration::minutes(1);

    sim.authorized_payment("periods-0001", 1_000).await;
    assert_eq!(sim.modify("capture", "periods-0001", "capture-1", 500).await.status, StatusCode::OK);
    sim.handle.advance_clock(day * 7 + minute);
    let cancel = sim.post("epayment/v1/payments/periods-0001/cancel", "cancel-1", &json!({})).await;
    cancel.assert_error_code(400, "6030");
    // Capturing is still possible: the capture deadline is longer.
    assert_eq!(sim.modify("capture", "periods-0001", "capture-2", 100).await.status, StatusCode::OK);

    sim.handle.advance_clock(day * 365 - minute);
    assert_eq!(sim.modify("refund", "periods-0001", "refund-1", 100).await.status, StatusCode::OK);
    sim.handle.advance_clock(minute * 2);
    sim.modify("refund", "periods-0001", "refund-2", 100).await.assert_error_code(400, "6220");
    assert_eq!(platform_payment(&sim, "periods-0001").aggregate.refunded_amount.value, 100);
}

// ------------------------------------------------------------------------------------------------
// What the platform received
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_control_api_lists_every_write_a_payment_received_with_key_and_answer() {
    let sim = spawn_sim().await;
    let body = create_body("recorded-0001", 1_000);
    assert_eq!(sim.post("epayment/v1/payments", "create-1", &body).await.status, StatusCode::CREATED);
    assert_eq!(sim.post("epayment/v1/payments", "create-1", &body).await.status, StatusCode::CREATED);
    sim.post("epayment/v1/payments", "create-2", &body).await.assert_error_code(409, "4150");
    sim.client().force_approve("recorded-0001", &kari()).await.unwrap();
    assert_eq!(sim.modify("capture", "recorded-0001", "capture-1", 600).await.status, StatusCode::OK);
    sim.modify("capture", "recorded-0001", "capture-2", 600).await.assert_error_code(400, "6090");
    assert_eq!(sim.modify("refund", "recorded-0001", "refund-1", 100).await.status, StatusCode::OK);
    let cancelled = sim.post("epayment/v1/payments/recorded-0001/cancel", "cancel-1", &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);

    let record = sim.send(sim.http.get(sim.url("sim/control/payments/123456/recorded-0001"))).await;
    assert_eq!(record.status, StatusCode::OK);
    let record = record.json();
    assert_eq!(record["reference"], "recorded-0001");
    let rows: Vec<_> = record["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (w["operation"].clone(), w["idempotencyKey"].clone(), w["status"].clone(), w["applied"].clone())
        })
        .collect();
    let row = |op: &str, key: &str, status: u16, applied: bool| {
        (json!(op), json!(key), json!(status), json!(applied))
    };
    assert_eq!(
        rows,
        [
            row("create", "create-1", 201, true),
            row("create", "create-1", 201, false),
            row("create", "create-2", 409, false),
            row("capture", "capture-1", 200, true),
            row("capture", "capture-2", 400, false),
            row("refund", "refund-1", 200, true),
            row("cancel", "cancel-1", 200, true),
        ]
    );

    let unknown = sim.send(sim.http.get(sim.url("sim/control/payments/123456/no-such-payment"))).await;
    unknown.problem(404);
}

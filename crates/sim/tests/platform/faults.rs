//! Fault knobs, black-box over HTTP: injected latency, 5xx and 429 answers in each API's shape,
//! and dropped, duplicated and reordered webhooks.
//!
//! Random faults are drawn from a seeded RNG: with a fixed seed and calls made one after another,
//! every run injects the same faults. Where a test needs one particular status it says so with
//! `errorStatus` rather than relying on a draw.

use kasse_sim::FaultKnobs;

use super::*;

// ------------------------------------------------------------------------------------------------
// Injected 5xx and 429
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_injected_error_comes_before_anything_happens_and_the_retry_with_its_key_creates_once() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let set = put_faults(&sim, &json!({ "errorRate": 1.0, "errorStatus": 503, "seed": 1 })).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let knobs = sim.send(sim.http.get(sim.url("sim/control/faults"))).await.json();
    assert_eq!(knobs["errorRate"], 1.0);
    assert_eq!(knobs["errorStatus"], 503);
    assert_eq!(knobs["throttleRate"], 0.0);
    assert_eq!(knobs["seed"], 1);

    let body = create_body("faulty-create", 2_000);
    let create =
        with_token(&sim, &token, Method::POST, "epayment/v1/payments").header("Idempotency-Key", "key-1");
    let failed = sim.send(create.json(&body)).await;
    let problem = failed.problem(503);
    assert_eq!(problem["instance"], "/epayment/v1/payments");
    assert_eq!(problem.get("extraDetails"), None, "only the ePayment API's 500 has a code: {problem}");
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
async fn calls_waiting_for_a_token_the_platform_will_not_give_share_one_fetch_and_its_failure() {
    let sim = spawn_sim().await;
    sim.handle
        .set_faults(FaultKnobs { error_rate: 1.0, error_status: Some(503), ..FaultKnobs::default() })
        .unwrap();
    let client = Arc::new(patient_client(&sim));
    let calls = (0..10).map(|i| {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.get_payment(&format!("no-token-{i}")).await })
    });
    for call in calls.collect::<Vec<_>>() {
        let error = call.await.unwrap().unwrap_err();
        assert!(matches!(&error, kasse_vipps::Error::NoToken(why) if why.status() == Some(503)), "{error:?}");
    }
    let token_requests =
        sim.handle.injected_faults().iter().filter(|fault| fault.path == "/accesstoken/get").count();
    // One fetch's attempts (the patient client makes twelve), where each call queued behind it
    // used to make its own: 120 requests, and the tenth call waited for ten fetches.
    assert_eq!(token_requests, 12);
    assert_eq!(sim.handle.injected_faults().len(), 12, "no payment was asked for without a token");
}

#[tokio::test]
async fn a_token_the_platform_does_not_give_in_time_is_asked_for_once_and_the_call_never_sent() {
    let sim = spawn_sim().await;
    sim.handle.set_faults(FaultKnobs { latency_ms: 2_000, ..FaultKnobs::default() }).unwrap();
    let client = client_waiting(&sim, Duration::from_millis(200));
    let unanswered = client.get_payment("hanging-1").await.unwrap_err();
    assert!(
        matches!(&unanswered, kasse_vipps::client::Error::NoToken(why) if matches!(**why, kasse_vipps::client::Error::Unreachable(_))),
        "{unanswered:?}"
    );
    assert!(unanswered.outcome_unknown(), "a write so left is kept and sent again with its key");
    // One request (the token's), where the client's twelve attempts each waited out the timeout.
    assert_eq!(sim.handle.injected_faults().len(), 1, "{:?}", sim.handle.injected_faults());
}

#[tokio::test]
async fn a_held_create_is_answered_504_and_processed_once_when_delivered_after_its_sender_gave_up() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let set = put_faults(&sim, &json!({ "holdCreates": true })).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    assert_eq!(sim.send(sim.http.get(sim.url("sim/control/faults"))).await.json()["holdCreates"], true);

    let body = create_body("held-create-01", 2_500);
    let create = || {
        with_token(&sim, &token, Method::POST, "epayment/v1/payments")
            .header("Idempotency-Key", "key-held")
            .json(&body)
    };
    // The caller hears a gateway timeout, and tries again with the same key: held too.
    let problem = sim.send(create()).await.problem(504);
    assert_eq!(problem["instance"], "/epayment/v1/payments");
    sim.send(create()).await.problem(504);
    sim.handle.until_creates_held(2).await;
    assert!(sim.handle.payment(&sim.unit.msn, "held-create-01").is_none(), "held, not processed");
    let injected = sim.handle.injected_faults();
    assert_eq!(injected.iter().filter(|f| f.status == Some(504)).count(), 2, "{injected:?}");

    // Switching the knob off lets new creates through and leaves the held ones where they are.
    sim.handle.set_faults(FaultKnobs::default()).unwrap();
    let other = with_token(&sim, &token, Method::POST, "epayment/v1/payments")
        .header("Idempotency-Key", "key-other")
        .json(&create_body("held-create-02", 1_000));
    assert_eq!(sim.send(other).await.status, StatusCode::CREATED);
    assert!(sim.handle.payment(&sim.unit.msn, "held-create-01").is_none(), "still held");

    // Delivered late, long after both callers gave up: created once, the repeat a replay.
    let delivered = sim.send(sim.http.post(sim.url("sim/control/faults/deliver-held"))).await;
    assert_eq!(delivered.json()["delivered"], 2);
    let key = Some("key-held".to_owned());
    assert_eq!(
        received(&sim, "held-create-01"),
        [("create", key.clone(), 201, true), ("create", key, 201, false)]
    );
    let events = sim.client().payment_events("held-create-01").await.unwrap();
    assert_eq!(log(&events), [(PaymentEventName::Created, true)]);
    assert_eq!(sim.handle.deliver_held_creates().await, 0, "delivered once");
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
    assert_eq!(sim.handle.injected_faults()[0].status, Some(429));

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
    assert!(injected.iter().any(|f| f.status == Some(429)));
    assert!(injected.iter().any(|f| f.status.is_some_and(|s| s >= 500)));
    // Every fault was answered to this client, which got through in the end: one retry each.
    assert_eq!(client.retried(), u64::try_from(injected.len()).unwrap(), "the client counts its retries");

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
async fn an_injected_500_of_the_epayment_api_carries_error_code_3010() {
    let sim = spawn_sim().await;
    sim.authorized_payment("internal-0001", 1_000).await;
    let token = sim.token().await;
    let knobs = FaultKnobs { error_rate: 1.0, error_status: Some(500), ..FaultKnobs::default() };
    sim.handle.set_faults(knobs).unwrap();
    let capture = with_token(&sim, &token, Method::POST, "epayment/v1/payments/internal-0001/capture")
        .header("Idempotency-Key", "capture-1")
        .json(&json!({ "modificationAmount": nok(1_000) }));
    let failed = sim.send(capture).await;
    let problem = failed.assert_error_code(500, "3010");
    assert_eq!(problem["title"], "Internal error");
    assert_eq!(problem["instance"], "/epayment/v1/payments/internal-0001/capture");
    assert_eq!(platform_payment(&sim, "internal-0001").aggregate.captured_amount.value, 0);
}

#[tokio::test]
async fn an_injected_fault_of_the_webhooks_or_access_token_api_is_a_problem_without_error_code() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    for status in [500, 503] {
        let knobs = FaultKnobs { error_rate: 1.0, error_status: Some(status), ..FaultKnobs::default() };
        sim.handle.set_faults(knobs).unwrap();
        let listed = sim.send(with_token(&sim, &token, Method::GET, "webhooks/v1/webhooks")).await;
        let problem = listed.problem(status);
        assert_eq!(problem.get("extraDetails"), None, "{problem}");
        let unit = &sim.unit;
        let fetched = sim
            .token_call(&unit.client_id, unit.client_secret.expose(), unit.subscription_key.expose())
            .await;
        let problem = fetched.problem(status);
        assert_eq!((problem.get("extraDetails"), &problem["instance"]), (None, &json!("/accesstoken/get")));
    }
    sim.handle.set_faults(FaultKnobs { throttle_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let throttled = sim.send(with_token(&sim, &token, Method::GET, "webhooks/v1/webhooks")).await;
    assert_eq!(throttled.problem(429).get("extraDetails"), None);
    assert_eq!(retry_after(&throttled), 1);
}

#[tokio::test]
async fn each_call_the_latency_knob_delays_is_listed_with_its_delay() {
    let sim = spawn_sim().await;
    sim.authorized_payment("slow-answer-1", 1_000).await;
    assert!(sim.handle.injected_faults().is_empty(), "nothing is delayed while the knob is off");
    let token = sim.token().await;
    assert_eq!(put_faults(&sim, &json!({ "latencyMs": 7 })).await.status, StatusCode::OK);

    let read = sim.send(with_token(&sim, &token, Method::GET, "epayment/v1/payments/slow-answer-1")).await;
    assert_eq!(read.status, StatusCode::OK, "a delayed call is still answered");
    let captured = sim
        .client()
        .capture_payment("slow-answer-1", Amount::new(1_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    assert_eq!(captured.aggregate.captured_amount.value, 1_000);

    let delayed = sim.handle.injected_faults();
    let calls: Vec<_> = delayed.iter().map(|f| (f.method.as_str(), f.path.as_str())).collect();
    assert_eq!(
        calls,
        [
            ("GET", "/epayment/v1/payments/slow-answer-1"),
            ("POST", "/accesstoken/get"),
            ("POST", "/epayment/v1/payments/slow-answer-1/capture"),
        ]
    );
    assert!(delayed.iter().all(|f| f.latency_ms == 7 && f.status.is_none()), "{delayed:?}");
    let listed = sim.send(sim.http.get(sim.url("sim/control/faults/injected"))).await.json();
    assert_eq!(
        listed[0],
        json!({ "method": "GET", "path": "/epayment/v1/payments/slow-answer-1", "status": null, "latencyMs": 7 })
    );
}

#[tokio::test]
async fn only_the_newest_thousand_injected_faults_are_kept() {
    let sim = spawn_sim().await;
    sim.handle.set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    for i in 0..1_010 {
        let answer = sim.send(sim.http.get(sim.url(&format!("epayment/v1/payments/faulted-{i:04}")))).await;
        assert!(answer.status.is_server_error(), "call {i}: {}", answer.status);
    }
    let injected = sim.handle.injected_faults();
    assert_eq!(injected.len(), 1_000);
    assert_eq!(injected[0].path, "/epayment/v1/payments/faulted-0010");
    assert_eq!(injected[999].path, "/epayment/v1/payments/faulted-1009");
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
    let problem = put_faults(&sim, &json!({ "errorRate": 1.0, "errorStatus": 502 })).await.problem(400);
    assert_eq!(problem["extraDetails"][0]["name"], "errorStatus", "{problem}");
    assert_eq!(sim.handle.faults(), FaultKnobs::default());
    assert!(sim.handle.set_faults(FaultKnobs { drop_webhook_rate: -1.0, ..FaultKnobs::default() }).is_err());
}

#[tokio::test]
async fn a_failed_capture_takes_nothing_stays_failed_with_its_key_and_a_new_key_takes_the_money() {
    let sim = spawn_sim().await;
    sim.authorized_payment("failing-capture", 3_000).await;
    sim.modify("capture", "failing-capture", "capture-0", 1_000).await;
    sim.handle.set_faults(FaultKnobs { fail_captures: true, ..FaultKnobs::default() }).unwrap();
    sim.modify("capture", "failing-capture", "capture-1", 2_000).await.assert_error_code(400, "6280");
    // A capture made before under its key is answered as made; nothing else is touched.
    assert_eq!(sim.modify("capture", "failing-capture", "capture-0", 1_000).await.status, StatusCode::OK);
    assert_eq!(sim.modify("refund", "failing-capture", "refund-1", 100).await.status, StatusCode::OK);
    let payment = sim.handle.payment(&sim.unit.msn, "failing-capture").unwrap();
    assert_eq!(payment.aggregate.captured_amount.value, 1_000, "nothing more taken");
    assert!(sim.handle.injected_faults().is_empty(), "the platform looked at each call");

    // The knob off: the refusal stays with its key, and a new key takes the money.
    sim.handle.set_faults(FaultKnobs::default()).unwrap();
    sim.modify("capture", "failing-capture", "capture-1", 2_000).await.assert_error_code(400, "6280");
    assert_eq!(sim.modify("capture", "failing-capture", "capture-2", 2_000).await.status, StatusCode::OK);
    let payment = sim.handle.payment(&sim.unit.msn, "failing-capture").unwrap();
    assert_eq!(payment.aggregate.captured_amount.value, 3_000);
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

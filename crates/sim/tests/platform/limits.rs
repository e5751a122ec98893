//! The platform's rate limits, black-box over HTTP, and the bound on what a payment's record keeps
//! of a client that keeps running into them.
//!
//! Limits run on the simulator's clock, so a test moves past a window with `advance_clock`
//! instead of waiting.

use kasse_sim::Limits;

use super::*;

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

#[tokio::test]
async fn a_payment_keeps_only_its_newest_hundred_writes_when_a_client_keeps_hitting_the_rate_limit() {
    let sim = spawn_sim().await;
    sim.authorized_payment("hammered-0001", 10_000).await;
    let token = sim.token().await;
    for i in 0..110 {
        let capture = with_token(&sim, &token, Method::POST, "epayment/v1/payments/hammered-0001/capture")
            .header("Idempotency-Key", format!("capture-{i}"))
            .json(&json!({ "modificationAmount": nok(10) }));
        let answer = sim.send(capture).await;
        let expected = if i < 5 { StatusCode::OK } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(answer.status, expected, "capture {i}");
    }

    let kept = received(&sim, "hammered-0001");
    assert_eq!(kept.len(), 100, "the newest hundred writes, not all 111");
    // The oldest went first: the create and the first ten captures.
    assert_eq!(kept[0], ("capture", Some("capture-10".to_owned()), 429, false));
    assert_eq!(kept[99], ("capture", Some("capture-109".to_owned()), 429, false));
    assert_eq!(platform_payment(&sim, "hammered-0001").aggregate.captured_amount.value, 50);
}

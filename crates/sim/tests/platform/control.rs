//! The control API, black-box over HTTP: what the platform received, the clock, and the sales
//! units' credentials.

use super::*;

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

#[tokio::test]
async fn a_refused_key_and_a_conflicting_retry_are_on_the_payments_record_too() {
    let sim = spawn_sim().await;
    sim.authorized_payment("refused-rec-1", 1_000).await;
    let too_long = "k".repeat(51);
    let bad_key = sim.modify("capture", "refused-rec-1", &too_long, 100).await;
    let problem = bad_key.problem(400);
    assert_eq!(problem["extraDetails"][0]["name"], "Idempotency-Key", "{problem}");
    assert_eq!(sim.modify("capture", "refused-rec-1", "capture-1", 100).await.status, StatusCode::OK);
    sim.modify("capture", "refused-rec-1", "capture-1", 200).await.assert_error_code(409, "4010");
    let empty = sim.modify("refund", "refused-rec-1", "", 100).await;
    empty.problem(400);

    let rows: Vec<_> = received(&sim, "refused-rec-1").into_iter().skip(1).collect();
    assert_eq!(
        rows,
        [
            ("capture", Some(too_long), 400, false),
            ("capture", Some("capture-1".to_owned()), 200, true),
            ("capture", Some("capture-1".to_owned()), 409, false),
            ("refund", Some(String::new()), 400, false),
        ]
    );
    assert_eq!(platform_payment(&sim, "refused-rec-1").aggregate.captured_amount.value, 100);
}

#[tokio::test]
async fn the_clock_moves_forward_at_most_ten_years_at_a_time_and_a_refusal_is_a_problem() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("clock-proof-1", 1_000).await;
    for (seconds, reason) in [
        (json!(1_000_000_000_000_000_i64), "ten years"),
        (json!(i64::MAX), "ten years"),
        (json!(-1), "forward"),
        (json!(315_619_201), "ten years"),
    ] {
        let refused = advance(&sim, seconds.clone()).await;
        let problem = refused.problem(400);
        let detail = &problem["extraDetails"][0];
        assert_eq!(detail["name"], "advanceSeconds", "{seconds}: {problem}");
        assert!(detail["reason"].as_str().unwrap().contains(reason), "{seconds}: {problem}");
    }
    // Not a whole number of seconds is no move either.
    for seconds in [json!(1e15), json!("soon")] {
        let problem = advance(&sim, seconds.clone()).await.problem(400);
        assert_eq!(problem["extraDetails"][0]["name"], "body", "{seconds}: {problem}");
    }

    // Nothing moved, and the simulator still answers.
    assert_eq!(sim.client().get_payment("clock-proof-1").await.unwrap().state, PaymentState::Created);
    // Ten years (3653 days) is fine, and everything open expires.
    assert_eq!(advance(&sim, json!(315_619_200)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(sim.client().get_payment("clock-proof-1").await.unwrap().state, PaymentState::Expired);
    let refused = sim.handle.try_advance_clock(chrono::Duration::days(3654)).unwrap_err();
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn the_control_api_lists_each_sales_units_credentials_which_get_an_access_token() {
    let sim = spawn_sim().await;
    let listed = sim.send(sim.http.get(sim.url("sim/control/sales-units"))).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.content_type(), "application/json");
    let units = listed.json();
    let config = sim.handle.config();
    assert_eq!(units.as_array().unwrap().len(), config.sales_units.len());
    for (unit, listed) in config.sales_units.iter().zip(units.as_array().unwrap()) {
        assert_eq!(
            listed,
            &json!({
                "msn": unit.msn,
                "name": unit.name,
                "currency": unit.currency,
                "clientId": unit.client_id,
                "clientSecret": unit.client_secret.expose(),
                "subscriptionKey": unit.subscription_key.expose(),
            })
        );
        let s = |field: &str| listed[field].as_str().unwrap();
        let token = sim.token_call(s("clientId"), s("clientSecret"), s("subscriptionKey")).await;
        assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    }
}

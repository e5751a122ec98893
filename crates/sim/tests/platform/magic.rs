//! The test environment's magic amounts (reference/vipps-apis.md §8) and its test-only errors
//! (10010-10070) of force approve, black-box over HTTP.

use super::*;

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

#[tokio::test]
async fn force_approve_without_a_known_customer_or_the_payments_token_fails_with_10010() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("force-unknown-1", 1_000).await;
    for body in
        [json!({}), json!({ "customer": { "phoneNumber": "4700000000" } }), json!({ "token": "not-it" })]
    {
        let answer = sim.post("epayment/v1/test/payments/force-unknown-1/approve", "unused", &body).await;
        let problem = answer.assert_error_code(400, "10010");
        assert_eq!(problem["title"], "Approve failed", "{body}");
    }
    assert_eq!(platform_payment(&sim, "force-unknown-1").state, PaymentState::Created);
}

#[tokio::test]
async fn force_approving_a_payment_that_is_no_longer_open_is_refused_with_10020() {
    let sim = spawn_sim().await;
    let client = sim.client();
    sim.authorized_payment("force-twice-01", 1_000).await;
    let again = client.force_approve("force-twice-01", &kari()).await.unwrap_err();
    assert_eq!((again.status(), again.error_code()), (Some(400), Some(10020)));

    let token = sim.create_qr_payment("force-late-001", 1_000).await;
    let declined = sim.answer(&token, "decline", KARI).await;
    assert!(declined.text().contains("Declined"), "{}", declined.text());
    let raw = sim.post("epayment/v1/test/payments/force-late-001/approve", "unused", &json!(kari())).await;
    let problem = raw.assert_error_code(400, "10020");
    assert!(problem["detail"].as_str().unwrap().contains("declined"), "{problem}");
    assert_eq!(platform_payment(&sim, "force-late-001").state, PaymentState::Aborted);
}

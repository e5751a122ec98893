//! ePayment error codes, black-box over HTTP: each rule of reference/vipps-apis.md §3.12 the
//! simulator keeps, with the status and code the platform answers; and the problems a path or a
//! method that no API has gets.

use super::*;

/// A raw QR create body for `reference` with `changes` merged in; a `null` change removes a field.
fn create_with(reference: &str, changes: &Value) -> Value {
    let mut body = create_body(reference, 2_000);
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(name);
        } else {
            body[name] = value.clone();
        }
    }
    body
}

/// An RFC 3339 time `by` from now.
fn from_now(by: chrono::Duration) -> Value {
    json!((chrono::Utc::now() + by).to_rfc3339())
}

// ------------------------------------------------------------------------------------------------
// Create
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_broken_create_rule_is_refused_with_its_error_code_and_creates_nothing() {
    let sim = spawn_sim().await;
    let push =
        |customer: Value| json!({ "userFlow": "PUSH_MESSAGE", "qrFormat": null, "customer": customer });
    let redirect =
        |return_url: Value| json!({ "userFlow": "WEB_REDIRECT", "qrFormat": null, "returnUrl": return_url });
    let metadata = |metadata: Value| json!({ "metadata": metadata });
    let long_living =
        |at: chrono::Duration, receipt: Value| json!({ "expiresAt": from_now(at), "receipt": receipt });
    let six: serde_json::Map<String, Value> = (1..=6).map(|i| (format!("key{i}"), json!("value"))).collect();
    let cases = [
        ("4060", push(json!({ "personalQr": "https://qr.vipps.no/p/nobody-has-this-code" }))),
        ("4070", push(json!({ "phoneNumber": "+4791234567" }))),
        ("4070", push(json!({ "phoneNumber": "479123" }))),
        ("4090", redirect(json!("http://shop.example.no/back"))),
        ("4140", redirect(Value::Null)),
        ("4100", metadata(Value::Object(six))),
        ("4120", metadata(json!({ "k".repeat(101): "value" }))),
        ("4130", metadata(json!({ "key": "v".repeat(501) }))),
        ("4160", json!({ "paymentMethod": { "type": "CARD" } })),
        ("6010", json!({ "amount": nok(99) })),
        ("6110", long_living(chrono::Duration::days(61), receipt(2_000))),
        ("6120", long_living(chrono::Duration::minutes(5), receipt(2_000))),
        ("6130", long_living(chrono::Duration::days(2), Value::Null)),
    ];
    for (i, (code, changes)) in cases.iter().enumerate() {
        let reference = format!("broken-rule-{i:02}");
        let body = create_with(&reference, changes);
        let answer = sim.post("epayment/v1/payments", &format!("key-{i}"), &body).await;
        let problem = answer.assert_error_code(400, code);
        assert_eq!(problem["instance"], "/epayment/v1/payments", "{code}");
        assert!(sim.handle.payment(&sim.unit.msn, &reference).is_none(), "{code}: a payment was created");
    }
    // The edges of each rule are fine.
    let fine = [
        metadata(json!({ "k".repeat(100): "v".repeat(500) })),
        json!({ "amount": nok(100) }),
        long_living(chrono::Duration::days(59), receipt(2_000)),
        redirect(json!("https://shop.example.no/back")),
    ];
    for (i, changes) in fine.iter().enumerate() {
        let body = create_with(&format!("fine-rule-{i:02}"), changes);
        let answer = sim.post("epayment/v1/payments", &format!("fine-{i}"), &body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{changes}: {}", answer.text());
    }
}

#[tokio::test]
async fn a_push_payment_to_a_customer_younger_than_the_minimum_age_is_refused_with_7010() {
    let sim = spawn_sim().await;
    let push = |reference: &str, phone: &str| CreatePaymentRequest {
        customer: Some(Customer::phone_number(phone)),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        minimum_user_age: Some(18),
        ..qr_request(reference, 2_000)
    };
    // Ola is 16.
    let refused = sim.client().create_payment(&push("beer-for-ola", OLA), "key-1").await.unwrap_err();
    assert_eq!((refused.status(), refused.error_code()), (Some(400), Some(7010)), "{refused}");
    assert!(sim.handle.payment(&sim.unit.msn, "beer-for-ola").is_none());
    // Kari is 34, and without a minimum age Ola may pay.
    sim.client().create_payment(&push("beer-for-kari", KARI), "key-2").await.unwrap();
    let juice = CreatePaymentRequest { minimum_user_age: None, ..push("juice-for-ola", OLA) };
    sim.client().create_payment(&juice, "key-3").await.unwrap();
}

#[tokio::test]
async fn a_qr_payment_with_a_minimum_age_cannot_be_approved_by_a_younger_customer() {
    let sim = spawn_sim().await;
    let request = CreatePaymentRequest { minimum_user_age: Some(18), ..qr_request("age-check-001", 6_000) };
    let created = sim.client().create_payment(&request, "key-1").await.unwrap();
    let token = token_of(&created.redirect_url.unwrap());

    // Ola scans it and tries to pay: the app says no, and the payment stays open.
    let page = sim.answer(&token, "approve", OLA).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("minimumUserAge"), "{}", page.text());
    assert_eq!(platform_payment(&sim, "age-check-001").state, PaymentState::Created);
    let ola = ForceApprove { customer: Some(Customer::phone_number(OLA)), token: None };
    let forced = sim.client().force_approve("age-check-001", &ola).await.unwrap_err();
    assert_eq!((forced.status(), forced.error_code()), (Some(400), Some(7010)));
    assert_eq!(
        log(&sim.client().payment_events("age-check-001").await.unwrap()),
        [(PaymentEventName::Created, true)]
    );

    // Kari, who is old enough, can.
    sim.approve(&token, KARI).await;
    assert_eq!(platform_payment(&sim, "age-check-001").state, PaymentState::Authorized);
}

// ------------------------------------------------------------------------------------------------
// Capture, refund, cancel
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_capture_or_refund_of_nothing_or_in_another_currency_is_refused_with_4040() {
    let sim = spawn_sim().await;
    sim.authorized_payment("bad-amount-01", 1_000).await;
    let path = |op: &str| format!("epayment/v1/payments/bad-amount-01/{op}");
    let dkk = json!({ "modificationAmount": { "currency": "DKK", "value": 100 } });
    sim.post(&path("capture"), "capture-1", &dkk).await.assert_error_code(400, "4040");
    sim.modify("capture", "bad-amount-01", "capture-2", 0).await.assert_error_code(400, "4040");
    sim.modify("capture", "bad-amount-01", "capture-3", -100).await.assert_error_code(400, "4040");
    assert_eq!(sim.modify("capture", "bad-amount-01", "capture-4", 500).await.status, StatusCode::OK);
    sim.post(&path("refund"), "refund-1", &dkk).await.assert_error_code(400, "4040");
    sim.modify("refund", "bad-amount-01", "refund-2", 0).await.assert_error_code(400, "4040");
    let payment = platform_payment(&sim, "bad-amount-01");
    assert_eq!((payment.aggregate.captured_amount.value, payment.aggregate.refunded_amount.value), (500, 0));
}

#[tokio::test]
async fn a_refund_before_the_customer_approves_is_refused_with_6020() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("early-refund-1", 1_000).await;
    sim.modify("refund", "early-refund-1", "refund-1", 1_000).await.assert_error_code(400, "6020");
}

#[tokio::test]
async fn capturing_a_fully_captured_payment_is_refused_with_6170_and_cancelling_it_with_6040() {
    let sim = spawn_sim().await;
    sim.authorized_payment("all-captured-1", 1_000).await;
    assert_eq!(sim.modify("capture", "all-captured-1", "capture-1", 1_000).await.status, StatusCode::OK);
    let again = sim.modify("capture", "all-captured-1", "capture-2", 1).await;
    assert_eq!(again.assert_error_code(400, "6170")["title"], "Payment already captured");
    let cancel = sim.post("epayment/v1/payments/all-captured-1/cancel", "cancel-1", &json!({})).await;
    cancel.assert_error_code(400, "6040");
    // A partly captured, then cancelled, payment is 6070, as before.
    sim.authorized_payment("part-captured-1", 1_000).await;
    assert_eq!(sim.modify("capture", "part-captured-1", "capture-3", 400).await.status, StatusCode::OK);
    let cancelled = sim.post("epayment/v1/payments/part-captured-1/cancel", "cancel-2", &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    sim.modify("capture", "part-captured-1", "capture-4", 1).await.assert_error_code(400, "6070");
}

#[tokio::test]
async fn refunding_a_fully_refunded_payment_is_refused_with_6180() {
    let sim = spawn_sim().await;
    sim.authorized_payment("all-refunded-1", 1_000).await;
    assert_eq!(sim.modify("capture", "all-refunded-1", "capture-1", 1_000).await.status, StatusCode::OK);
    assert_eq!(sim.modify("refund", "all-refunded-1", "refund-1", 600).await.status, StatusCode::OK);
    // Part of it left: more than that is 6150.
    sim.modify("refund", "all-refunded-1", "refund-2", 401).await.assert_error_code(400, "6150");
    assert_eq!(sim.modify("refund", "all-refunded-1", "refund-3", 400).await.status, StatusCode::OK);
    let again = sim.modify("refund", "all-refunded-1", "refund-4", 1).await;
    assert_eq!(again.assert_error_code(400, "6180")["title"], "Payment already refunded");
    assert_eq!(platform_payment(&sim, "all-refunded-1").aggregate.refunded_amount.value, 1_000);
}

#[tokio::test]
async fn cancelling_twice_is_refused_with_6190_and_cancelling_an_unapproved_ending_with_6050() {
    let sim = spawn_sim().await;
    // Keys belong to one payment: a key of another one would be a 409.
    let cancel = async |reference: &str, key: &str| {
        sim.post(
            &format!("epayment/v1/payments/{reference}/cancel"),
            &format!("{reference}-{key}"),
            &json!({}),
        )
        .await
    };
    // Terminated before approval, then again.
    sim.create_qr_payment("cancel-twice-1", 1_000).await;
    assert_eq!(cancel("cancel-twice-1", "cancel-1").await.status, StatusCode::OK);
    cancel("cancel-twice-1", "cancel-2").await.assert_error_code(400, "6190");
    // Released after approval, then again.
    sim.authorized_payment("cancel-twice-2", 1_000).await;
    assert_eq!(cancel("cancel-twice-2", "cancel-1").await.status, StatusCode::OK);
    cancel("cancel-twice-2", "cancel-2").await.assert_error_code(400, "6190");

    // Declined and expired payments were never reserved.
    let token = sim.create_qr_payment("cancel-declined", 1_000).await;
    sim.answer(&token, "decline", KARI).await;
    cancel("cancel-declined", "cancel-1").await.assert_error_code(400, "6050");
    sim.create_qr_payment("cancel-expired", 1_000).await;
    sim.handle.advance_clock(chrono::Duration::minutes(10));
    cancel("cancel-expired", "cancel-1").await.assert_error_code(400, "6050");
}

#[tokio::test]
async fn capturing_a_declined_expired_or_terminated_payment_is_refused_with_6200() {
    let sim = spawn_sim().await;
    let token = sim.create_qr_payment("capture-declined", 1_000).await;
    sim.answer(&token, "decline", KARI).await;
    sim.create_qr_payment("capture-terminated", 1_000).await;
    sim.client().cancel_payment("capture-terminated", true, "cancel-1").await.unwrap();
    sim.create_qr_payment("capture-expired", 1_000).await;
    sim.handle.advance_clock(chrono::Duration::minutes(10));
    for reference in ["capture-declined", "capture-terminated", "capture-expired"] {
        let refused = sim.modify("capture", reference, &format!("capture-{reference}"), 1_000).await;
        assert_eq!(
            refused.assert_error_code(400, "6200")["title"],
            "Payment cannot be captured",
            "{reference}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Paths and methods no API has
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_path_or_method_of_a_platform_api_is_a_problem_in_that_apis_shape() {
    let sim = spawn_sim().await;
    let call = async |method: Method, path: &str| sim.send(sim.authed(method, path).await).await;

    let nowhere = call(Method::GET, "epayment/v1/nowhere").await;
    let problem = nowhere.problem(404);
    assert_eq!(
        (problem["instance"].as_str(), problem.get("extraDetails")),
        (Some("/epayment/v1/nowhere"), None)
    );
    let wrong_method = call(Method::DELETE, "epayment/v1/payments/some-reference").await;
    assert_eq!(wrong_method.problem(405)["instance"], "/epayment/v1/payments/some-reference");
    assert_eq!(wrong_method.headers[header::ALLOW], "GET,HEAD");
    call(Method::GET, "webhooks/v1/nowhere").await.problem(404);
    call(Method::PUT, "webhooks/v1/webhooks").await.problem(405);
    call(Method::GET, "accesstoken/get").await.problem(405);
    call(Method::GET, "sim/control/nowhere").await.problem(404);

    // The QR API answers in its own shape, with a trace id as instance.
    for (answer, status) in [
        (call(Method::GET, "qr/v1/nowhere").await, 404),
        (call(Method::PATCH, "qr/v1/merchant-redirect").await, 405),
    ] {
        assert_eq!(answer.status.as_u16(), status);
        assert_eq!(answer.content_type(), "application/problem+json");
        let problem = answer.json();
        assert!(
            problem["type"].as_str().unwrap().starts_with("https://datatracker.ietf.org/doc/html/rfc7231")
        );
        assert!(problem["instance"].as_str().unwrap().starts_with("00-"), "{problem}");
        assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
    }

    // The simulator's own pages keep a bare 404.
    let page = sim.send(sim.http.get(sim.url("sim/nowhere"))).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_ne!(page.content_type(), "application/problem+json");
}

//! Sales-unit capabilities and deadlines, black-box over HTTP. Deadlines run on the simulator's
//! clock, so a test moves past one with `advance_clock` instead of waiting.

use super::*;

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

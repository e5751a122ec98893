//! What a v10 integration is told when kasse cannot do what it asks: the status and the numbered
//! `code` v10's "API Errors" page gives for the case, since integrations act on them (on 1301 a
//! PoS finds and cancels the payment it lost track of; on 1000 it creates its point of sale
//! again), and the payment left as it was.

use super::*;

/// A point of sale nobody created: a well-formed v10 id.
const NO_SUCH_POS: &str = "0b9f3c1e-7d2a-4c5b-8e6f-1a2b3c4d5e6f";

/// `reply` is v10's 409 with `code`.
fn refused_with(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.error().code.as_deref(), Some(code), "{}", reply.body);
}

/// A refund of `amount` of `payment`, made under `key`.
async fn refund(v10: &V10, payment: &str, key: &str, amount: f64) -> Reply {
    let body = json!({"paymentId": payment, "refundOrderId": key, "amount": amount, "currencyCode": "DKK"});
    v10.post("/pos/v10/refunds", Some(key), &body).await
}

#[tokio::test]
async fn a_point_of_sale_kasse_does_not_know_is_1000_and_a_second_active_payment_1301_even_beside_a_prepared_one()
 {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = |pos: &str, order: &str| json!({"posId": pos, "orderId": order, "amount": 10, "currencyCode": "DKK", "plannedCaptureDelay": "None"});

    // Deleted, or never made (kasse's database set up again): v10 said 409 1000, and the PoS
    // creates its point of sale again.
    refused_with(&v10.post("/pos/v10/payments", Some("nowhere"), &payment(NO_SUCH_POS, "A")).await, "1000");
    let nowhere = json!({"posId": NO_SUCH_POS, "orderId": "A"});
    refused_with(&v10.post("/pos/v10/payments/prepare", Some("nowhere-p"), &nowhere).await, "1000");

    // A prepared payment is the point of sale's active one: neither a payment nor another
    // prepared one starts beside it, and the first is found again by its key.
    let prepare = json!({"posId": pos_id, "orderId": "B"});
    let prepared = v10.post("/pos/v10/payments/prepare", Some("prep"), &prepare).await;
    assert_eq!(prepared.status, StatusCode::OK, "{}", prepared.body);
    let prepared = prepared.read::<PaymentInitiatedResponse>().payment_id;
    refused_with(&v10.post("/pos/v10/payments", Some("beside"), &payment(&pos_id, "C")).await, "1301");
    let another = json!({"posId": pos_id, "orderId": "D"});
    refused_with(&v10.post("/pos/v10/payments/prepare", Some("prep-2"), &another).await, "1301");
    let again = v10.post("/pos/v10/payments/prepare", Some("prep"), &prepare).await;
    assert_eq!(again.read::<PaymentInitiatedResponse>().payment_id, prepared, "the same prepare sent again");
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");

    // Cancelled, it no longer stands in the way.
    let cancelled = v10.post(&format!("/pos/v10/payments/{prepared}/cancel"), None, &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    initiate(&v10, &pos_id, "after", 10.0).await;
}

#[tokio::test]
async fn a_payment_its_customer_declined_is_not_cancelled_by_its_pos_afterwards_but_said_to_be_over() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    let payment = initiate(&v10, &pos_id, "declined", 25.0).await;
    v10.until(&payment, Status::IssuedToUser).await;
    simulate(&v10, "cancelpaymentbyuser", &json!({"beaconId": BEACON})).await;
    v10.until(&payment, Status::CancelledByUser).await;

    // The PoS cancels "to be safe" after its own time-out: v10's 1300, and the customer's
    // answer stays the payment's outcome.
    refused_with(&v10.post(&format!("/pos/v10/payments/{payment}/cancel"), None, &json!({})).await, "1300");
    assert_eq!(v10.payment(&payment).await.status, Status::CancelledByUser);
}

#[tokio::test]
async fn captures_and_refunds_v10_would_refuse_are_its_409s_with_its_numbers_and_move_no_money() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;

    // Not reserved yet: nothing to capture, nothing to give back.
    let waiting = initiate(&v10, &pos_id, "waiting", 40.0).await;
    let capture = |payment: &str| format!("/pos/v10/payments/{payment}/capture");
    refused_with(&v10.post(&capture(&waiting), None, &json!({"amount": 40.0})).await, "1304");
    refused_with(&refund(&v10, &waiting, "early", 5.0).await, "1354");
    let cancelled = v10.post(&format!("/pos/v10/payments/{waiting}/cancel"), None, &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    v10.until(&waiting, Status::CancelledByClient).await;

    // Reserved: more than the reservation is 1305; captured, another amount is 1307.
    let payment = reserved(&v10, &pos_id, "reserved", 40.0).await;
    refused_with(&v10.post(&capture(&payment), None, &json!({"amount": 50.0})).await, "1305");
    let captured = v10.post(&capture(&payment), None, &json!({"amount": 30.0})).await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.body);
    refused_with(&v10.post(&capture(&payment), None, &json!({"amount": 10.0})).await, "1307");

    // More back than was taken is 1367; a payment nobody made is 1001.
    refused_with(&refund(&v10, &payment, "too-much", 35.0).await, "1367");
    refused_with(&refund(&v10, NO_SUCH_POS, "nobody", 5.0).await, "1001");
    let aggregate = danish_push(&app, 4_000).aggregate;
    assert_eq!(
        (aggregate.captured_amount.value, aggregate.refunded_amount.value),
        (3_000, 0),
        "DKK 30 taken once, nothing given back"
    );
}

#[tokio::test]
async fn a_second_capture_of_another_amount_while_the_first_is_unanswered_is_1307_never_a_second() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = reserved(&v10, &pos_id, "slow-capture", 40.0).await;

    // The platform does not answer the capture: kept, sent again, and the PoS told 200.
    platform_down(&app);
    let capture = format!("/pos/v10/payments/{payment}/capture");
    assert_eq!(v10.post(&capture, None, &json!({"amount": 15.0})).await.status, StatusCode::OK);
    // Another amount meanwhile is not a second capture beside it.
    refused_with(&v10.post(&capture, None, &json!({"amount": 10.0})).await, "1307");

    platform_back(&app);
    until(|| async {
        let now = danish_push(&app, 4_000).aggregate;
        (now.captured_amount.value, now.cancelled_amount.value) == (1_500, 2_500)
    })
    .await;
    assert_eq!(v10.payment(&payment).await.status, Status::Captured, "DKK 15 taken, once");
}

#[tokio::test]
async fn a_prepared_payment_nobody_makes_ready_holds_its_point_of_sale_ten_minutes_not_for_good() {
    let data = DataDir::new();
    let (app, added) = danish_shop_beside(None, Some(&data)).await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let prepared =
        v10.post("/pos/v10/payments/prepare", Some("lost"), &json!({"posId": pos_id, "orderId": "L"})).await;
    assert_eq!(prepared.status, StatusCode::OK, "{}", prepared.body);
    let payment = json!({"posId": pos_id, "orderId": "M", "amount": 10, "currencyCode": "DKK", "plannedCaptureDelay": "None"});
    refused_with(&v10.post("/pos/v10/payments", Some("next"), &payment).await, "1301");

    // Ten minutes on, as its paymentExpiresAt said, the PoS that lost it starts its next sale.
    let db = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    db.busy_timeout(PATIENCE).unwrap();
    let aged = db.execute("UPDATE v10_payments SET created_at = created_at - 600000", []).unwrap();
    assert_eq!(aged, 1);
    let next = v10.post("/pos/v10/payments", Some("next-2"), &payment).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    // The one run out is over, and made ready now it would be a second payment: it is not.
    let lost = prepared.read::<PaymentInitiatedResponse>().payment_id;
    assert_eq!(v10.payment(&lost).await.status, Status::CancelledByClient);
    let ready = json!({"currencyCode": "DKK", "amount": 10, "plannedCaptureDelay": "None"});
    refused_with(&v10.post(&format!("/pos/v10/payments/{lost}/ready"), None, &ready).await, "1303");
}

#[tokio::test]
async fn two_captures_of_different_amounts_sent_at_once_take_the_money_once() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = reserved(&v10, &pos_id, "twice", 40.0).await;

    let capture = format!("/pos/v10/payments/{payment}/capture");
    let (fifteen, ten) = (json!({"amount": 15.0}), json!({"amount": 10.0}));
    let (first, second) = tokio::join!(v10.post(&capture, None, &fifteen), v10.post(&capture, None, &ten));
    let (taken, refused) = if first.status == StatusCode::OK { (1_500, second) } else { (1_000, first) };
    refused_with(&refused, "1307");
    until(|| async {
        let now = danish_push(&app, 4_000).aggregate;
        (now.captured_amount.value, now.cancelled_amount.value) == (taken, 4_000 - taken)
    })
    .await;
}

#[tokio::test]
async fn of_payments_sent_at_once_to_one_point_of_sale_one_starts_and_the_others_are_1301() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;

    // A PoS that lost its answers sends again under new keys, prepared and with an amount, all at
    // once: one becomes the point of sale's payment, never two the customer could both be asked for.
    let sent = (0..16).map(|n| {
        let (path, body) = if n % 2 == 0 {
            ("/pos/v10/payments/prepare", json!({"posId": pos_id, "orderId": format!("O-{n}")}))
        } else {
            let body = json!({"posId": pos_id, "orderId": format!("O-{n}"), "amount": 10, "currencyCode": "DKK", "plannedCaptureDelay": "None"});
            ("/pos/v10/payments", body)
        };
        let key = format!("at-once-{n}");
        let v10 = &v10;
        async move { v10.post(path, Some(&key), &body).await }
    });
    let replies = futures_util::future::join_all(sent).await;
    let started: Vec<&Reply> = replies.iter().filter(|r| r.status == StatusCode::OK).collect();
    assert_eq!(started.len(), 1, "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    for refused in replies.iter().filter(|r| r.status != StatusCode::OK) {
        refused_with(refused, "1301");
    }
    let payments: QueryPaymentIdsResponse = v10.get("/pos/v10/payments").await.read();
    assert_eq!(payments.payment_ids.len(), 1, "one payment at the point of sale: {payments:?}");
    assert!(app.sim().payment_records().len() <= 1, "at most one reached the platform");
}

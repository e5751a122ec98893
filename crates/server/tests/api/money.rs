//! Money after approval: manual, partial and repeated capture, cancelling what is left, refunds,
//! the platform's event log, history with totals, "check again", and browser retries of money
//! actions that must not move money twice.

use kasse_api::{Currency, Flow, History, Money, ProblemCode, Sale, SaleEvent, SaleStatus, Total};
use kasse_server::CapturePolicy;
use kasse_sim::FaultKnobs;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A till whose cashier captures by hand.
async fn spawn_manual_capture_app() -> TestApp {
    spawn_app_with(|config| config.tills[0].capture = CapturePolicy::Manual).await
}

/// NOK in øre, as the browser sends it.
fn nok(value: i64) -> Value {
    json!({ "value": value, "currency": "NOK" })
}

impl TestApp {
    /// Starts a sale pushed to Kari's phone for `value` øre.
    async fn start_phone_sale(&self, value: i64) -> Sale {
        let body = json!({ "amount": nok(value), "flow": "phone", "phoneNumber": "+47 912 34 567" });
        let answer = self.try_start_sale(&body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.json()
    }

    /// A phone sale of `value` øre that Kari approved, once the till shows it `status`.
    async fn approved_sale(&self, events: &mut EventStream, value: i64, status: SaleStatus) -> Sale {
        let sale = self.start_phone_sale(value).await;
        self.approve_on_phone(CUSTOMER, &sale.reference).await;
        events.until_sale_is(&sale.reference, status).await.pop().unwrap().sale()
    }

    /// `POST …/sales/{reference}/{action}` with a JSON body.
    async fn act(&self, reference: &str, action: &str, body: &Value) -> Answer {
        self.post_json(&format!("/api/tills/{TILL}/sales/{reference}/{action}"), body).await
    }

    /// Like [`TestApp::act`], with the browser's `Idempotency-Key`.
    async fn act_with_key(&self, reference: &str, action: &str, body: &Value, key: &str) -> Answer {
        self.post_json_with_key(&format!("/api/tills/{TILL}/sales/{reference}/{action}"), body, key).await
    }

    /// An action the server carried out; the sale after it.
    async fn done(&self, reference: &str, action: &str, body: &Value) -> Sale {
        let answer = self.act(reference, action, body).await;
        assert_eq!(answer.status, StatusCode::OK, "{action} {body}: {}", answer.body);
        answer.json()
    }

    /// An action the server refused with `status` and `code`.
    async fn refused(&self, reference: &str, action: &str, body: &Value, status: StatusCode, code: &str) {
        let answer = self.act(reference, action, body).await;
        assert_eq!(answer.status, status, "{action} {body}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some(code), "{action} {body}");
    }

    /// The till's history with this query string.
    async fn history(&self, query: &str) -> History {
        let answer = self.get(&format!("/api/tills/{TILL}/sales{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
        answer.json()
    }
}

/// The same totals, whatever their order.
fn assert_same_totals(mut got: Vec<Total>, mut expected: Vec<Total>, what: &str) {
    let key = |t: &Total| (t.status.as_str(), t.currency.code());
    got.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(got, expected, "{what}");
}

fn total(status: SaleStatus, count: u32, amount: i64, captured: i64, refunded: i64) -> Total {
    Total { status, currency: Currency::Nok, count, amount, captured, refunded }
}

#[tokio::test]
async fn with_manual_capture_an_approved_sale_stays_authorized_and_nothing_is_taken() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    assert_eq!(sale.authorized, Money::new(10_000, Currency::Nok));
    assert_eq!(sale.captured, Money::zero(Currency::Nok));

    // "Check again" reads the platform and does everything due: capturing is not due.
    let checked =
        app.post_json(&format!("/api/tills/{TILL}/sales/{}/reconcile", sale.reference), &json!({})).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(checked.json::<Sale>().status, SaleStatus::Authorized);
    assert_eq!(app.snapshot().await.sale.map(|s| s.status), Some(SaleStatus::Authorized));
    let received = app.received(&sale.reference);
    assert!(writes(&received, "capture").is_empty(), "nothing was captured: {received:#?}");
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 0);
}

#[tokio::test]
async fn a_sale_is_captured_and_refunded_in_parts_but_never_beyond_what_is_left_and_the_log_shows_each_step()
{
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    let r = sale.reference.as_str();

    let part = app.done(r, "capture", &json!({ "amount": nok(4_000) })).await;
    assert_eq!(part.status, SaleStatus::Captured);
    assert_eq!(part.captured, Money::new(4_000, Currency::Nok));
    assert_eq!(part.capturable(), 6_000);

    for (what, body) in [
        ("more than is left", json!({ "amount": nok(6_001) })),
        ("nothing", json!({ "amount": nok(0) })),
        ("a negative amount", json!({ "amount": nok(-100) })),
    ] {
        let answer = app.act(r, "capture", &body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}: {}", answer.body);
        let problem = answer.problem();
        assert_eq!(problem.code.map(ProblemCode::as_str), Some("amount-out-of-range"), "{what}");
        assert!(problem.sentence().contains("60.00"), "{what}: the sentence says what is left: {problem:?}");
    }
    app.refused(
        r,
        "capture",
        &json!({ "amount": { "value": 100, "currency": "DKK" } }),
        StatusCode::BAD_REQUEST,
        "wrong-currency",
    )
    .await;

    let rest = app.done(r, "capture", &json!({})).await;
    assert_eq!(rest.status, SaleStatus::Captured);
    assert_eq!(rest.captured, Money::new(10_000, Currency::Nok), "an empty capture takes the rest");
    app.refused(r, "capture", &json!({}), StatusCode::BAD_REQUEST, "amount-out-of-range").await;

    let refund = app.done(r, "refund", &json!({ "amount": nok(2_500) })).await;
    assert_eq!(refund.refunded, Money::new(2_500, Currency::Nok));
    assert_eq!(refund.status, SaleStatus::Captured, "money is still taken");
    assert_eq!(refund.refundable(), 7_500);
    app.refused(
        r,
        "refund",
        &json!({ "amount": nok(7_501) }),
        StatusCode::BAD_REQUEST,
        "amount-out-of-range",
    )
    .await;
    app.refused(r, "refund", &json!({ "amount": nok(0) }), StatusCode::BAD_REQUEST, "amount-out-of-range")
        .await;
    let all = app.done(r, "refund", &json!({ "amount": nok(7_500) })).await;
    assert_eq!(all.status, SaleStatus::Refunded);
    assert_eq!(all.refunded, Money::new(10_000, Currency::Nok));
    app.refused(r, "refund", &json!({ "amount": nok(1) }), StatusCode::BAD_REQUEST, "amount-out-of-range")
        .await;
    assert_eq!(app.sale(r).await, all, "a reload shows the same");

    let payment = app.platform_payment(r);
    assert_eq!(payment.aggregate.captured_amount.value, 10_000);
    assert_eq!(payment.aggregate.refunded_amount.value, 10_000);
    let received = app.received(r);
    assert_eq!(
        writes(&received, "capture").len(),
        2,
        "refused amounts never reached the platform: {received:#?}"
    );
    assert_eq!(writes(&received, "refund").len(), 2, "{received:#?}");

    let log = app.get(&format!("/api/tills/{TILL}/sales/{r}/log")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let log: Vec<SaleEvent> = log.json();
    let steps: Vec<(&str, i64)> = log.iter().map(|e| (e.name.as_str(), e.amount.value)).collect();
    assert_eq!(
        steps,
        [
            ("CREATED", 10_000),
            ("AUTHORIZED", 10_000),
            ("CAPTURED", 4_000),
            ("CAPTURED", 6_000),
            ("REFUNDED", 2_500),
            ("REFUNDED", 7_500)
        ]
    );
    assert!(log.iter().all(|e| e.success && e.amount.currency == Currency::Nok), "{log:#?}");
    assert!(log.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "in the order it happened: {log:#?}");
}

#[tokio::test]
async fn cancelling_after_a_partial_capture_releases_the_rest_and_the_platform_agrees() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    let r = sale.reference.as_str();
    app.done(r, "capture", &json!({ "amount": nok(4_000) })).await;

    let cancelled = app.done(r, "cancel", &json!({})).await;
    assert_eq!(cancelled.captured, Money::new(4_000, Currency::Nok));
    assert_eq!(cancelled.cancelled, Money::new(6_000, Currency::Nok), "authorized minus captured");
    assert_eq!(cancelled.status, SaleStatus::Captured, "what was taken stays taken");
    assert_eq!(cancelled.capturable(), 0);
    let aggregate = app.platform_payment(r).aggregate;
    assert_eq!(
        (
            aggregate.authorized_amount.value,
            aggregate.captured_amount.value,
            aggregate.cancelled_amount.value
        ),
        (10_000, 4_000, 6_000)
    );
    app.refused(r, "capture", &json!({}), StatusCode::BAD_REQUEST, "amount-out-of-range").await;
    app.refused(r, "cancel", &json!({}), StatusCode::CONFLICT, "not-cancellable").await;
    // What was taken can still be given back.
    assert_eq!(app.done(r, "refund", &json!({ "amount": nok(4_000) })).await.status, SaleStatus::Refunded);

    // Cancelling an approved sale before any capture releases all of it.
    let other = app.approved_sale(&mut events, 5_000, SaleStatus::Authorized).await;
    let released = app.done(&other.reference, "cancel", &json!({})).await;
    assert_eq!(released.status, SaleStatus::Cancelled);
    assert_eq!(released.cancelled, Money::new(5_000, Currency::Nok));
    assert_eq!(app.platform_payment(&other.reference).aggregate.cancelled_amount.value, 5_000);
    app.refused(&other.reference, "capture", &json!({}), StatusCode::CONFLICT, "not-capturable").await;
}

#[tokio::test]
async fn a_part_captured_and_all_given_back_still_leaves_the_rest_to_capture_or_release() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    let r = sale.reference.as_str();
    app.done(r, "capture", &json!({ "amount": nok(4_000) })).await;

    let refunded = app.done(r, "refund", &json!({ "amount": nok(4_000) })).await;
    assert_eq!(refunded.status, SaleStatus::Captured, "60 kr are still reserved: {refunded:?}");
    assert_eq!(refunded.capturable(), 6_000);
    let rest = app.done(r, "capture", &json!({})).await;
    assert_eq!(rest.captured, Money::new(10_000, Currency::Nok), "the rest is taken");
    assert_eq!(app.platform_payment(r).aggregate.captured_amount.value, 10_000);

    // The same, released instead: then it is refunded, and nothing is left.
    let other = app.approved_sale(&mut events, 5_000, SaleStatus::Authorized).await;
    let o = other.reference.as_str();
    app.done(o, "capture", &json!({ "amount": nok(2_000) })).await;
    app.done(o, "refund", &json!({ "amount": nok(2_000) })).await;
    let released = app.done(o, "cancel", &json!({})).await;
    assert_eq!((released.status, released.cancelled.value), (SaleStatus::Refunded, 3_000));
}

#[tokio::test]
async fn a_refused_write_is_refused_again_when_retried_with_its_key_and_a_refused_cancel_can_be_asked_again()
{
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    // A refund the platform refuses (its year is over): the retry with the same key hears so too.
    let paid = app.approved_sale(&mut events, 10_000, SaleStatus::Captured).await;
    app.sim().advance_clock(chrono::Duration::days(366));
    let refund = json!({ "amount": nok(1_000) });
    let first = app.act_with_key(&paid.reference, "refund", &refund, "late-refund").await;
    assert_eq!(first.status, StatusCode::BAD_GATEWAY, "{}", first.body);
    let again = app.act_with_key(&paid.reference, "refund", &refund, "late-refund").await;
    assert_eq!(again.status, StatusCode::BAD_GATEWAY, "not \"refunded\": {}", again.body);
    assert_eq!(again.problem().code.map(ProblemCode::as_str), Some("platform-refused"));
    assert_eq!(app.sale(&paid.reference).await.refunded.value, 0);

    // The customer approves, and the result is a while coming (test amount 201): a cancel is
    // refused meanwhile. Asked again, with its key or by pressing Cancel again, it is sent again
    // (with a new key of its own: the refusal stays with the first), never answered as done.
    let sale = app.start_phone_sale(201).await;
    let r = sale.reference.as_str();
    let _ = app.answer_request_on_phone(CUSTOMER, r, "approve").await;
    let first = app.act_with_key(r, "cancel", &json!({}), "cancel-1").await;
    assert_eq!(first.status, StatusCode::BAD_GATEWAY, "{}", first.body);
    let retried = app.act_with_key(r, "cancel", &json!({}), "cancel-1").await;
    assert_eq!(retried.status, StatusCode::BAD_GATEWAY, "not \"cancelled\": {}", retried.body);
    let pressed = app.act_with_key(r, "cancel", &json!({}), "cancel-2").await;
    assert_eq!(pressed.status, StatusCode::BAD_GATEWAY, "{}", pressed.body);
    assert_eq!(keys_of(&app, r, "cancel").len(), 3, "each one reached the platform");
}

#[tokio::test]
async fn a_refund_the_platform_refuses_only_when_it_is_sent_again_is_said_on_the_sale_not_dropped() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let paid = app.approved_sale(&mut events, 10_000, SaleStatus::Captured).await;
    let r = paid.reference.as_str();
    // The refund gets no answer: the cashier hears it is kept and sent again.
    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let kept = app.act(r, "refund", &json!({ "amount": nok(1_000) })).await;
    assert_eq!(kept.status, StatusCode::ACCEPTED, "{}", kept.body);
    // By the time the platform answers again, the refund's year is over: the resend is refused.
    app.sim().advance_clock(chrono::Duration::days(366));
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    let sale = events.until_sale_says_why(r).await;
    assert!(sale.failure.as_deref().is_some_and(|f| f.starts_with("A refund was refused")), "{sale:?}");
    assert_eq!((sale.status, sale.refunded.value), (SaleStatus::Captured, 0), "nothing was given back");
    assert_eq!(app.sale(r).await.failure, sale.failure, "a reloaded till sees it too");
}

#[tokio::test]
async fn an_automatic_capture_the_platform_could_not_make_just_now_is_asked_again_later_and_takes_the_money()
{
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    // The platform cannot take the money just now (error 6280, "try again later").
    app.sim().set_faults(FaultKnobs { fail_captures: true, ..FaultKnobs::default() }).unwrap();
    let sale = app.start_sale(4_200).await;
    let r = sale.reference.as_str();
    app.approve(&sale).await;
    let failed = events.until_sale_says_why(r).await;
    assert_eq!(failed.status, SaleStatus::Authorized);
    assert!(failed.failure.as_deref().is_some_and(|f| f.contains("kasse asks again")), "{failed:?}");

    // The platform takes money again; a minute on (the refusal made that old in the database, and
    // the payment due to be read), kasse asks again, under a key of its own: the refusal stays
    // with the first.
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    a_minute_after_the_capture_was_refused(&data, r);
    events.until_sale_is(r, SaleStatus::Captured).await;
    let captured = app.sale(r).await;
    assert_eq!((captured.captured.value, captured.failure), (4_200, None), "taken, and the note gone");
    assert_eq!(app.platform_payment(r).aggregate.captured_amount.value, 4_200, "taken once");
    let received = app.received(r);
    let captures: Vec<(u16, bool)> =
        writes(&received, "capture").iter().map(|w| (w.status, w.applied)).collect();
    assert_eq!(captures, [(400, false), (200, true)]);
    assert_eq!(keys_of(&app, r, "capture").len(), 2, "each under a key of its own");
}

#[tokio::test]
async fn a_sale_whose_capture_kasse_would_ask_again_for_no_longer_says_so_once_cancelled() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.sim().set_faults(FaultKnobs { fail_captures: true, ..FaultKnobs::default() }).unwrap();
    let sale = app.start_sale(3_000).await;
    let r = sale.reference.as_str();
    app.approve(&sale).await;
    events.until_sale_says_why(r).await;
    // The customer changes their mind: the cashier releases the money.
    let cancelled = app.done(r, "cancel", &json!({})).await;
    assert_eq!((cancelled.status, cancelled.failure), (SaleStatus::Cancelled, None), "nobody asks again");
    assert_eq!(app.sale(r).await.failure, None);
}

#[tokio::test]
async fn a_capture_the_platform_could_not_make_just_now_is_made_when_the_cashier_asks_again_with_its_key() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    let r = sale.reference.as_str();
    app.sim().set_faults(FaultKnobs { fail_captures: true, ..FaultKnobs::default() }).unwrap();
    let capture = json!({ "amount": nok(6_000) });
    let refused = app.act_with_key(r, "capture", &capture, "capture-press").await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert!(refused.body.contains("Try again in a while"), "{}", refused.body);

    // The cashier tries again (the till resending its press, with its key): asked anew.
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    let again = app.act_with_key(r, "capture", &capture, "capture-press").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json::<Sale>().captured, Money::new(6_000, Currency::Nok));
    // And once more: the capture made, found, not made twice.
    let replayed = app.act_with_key(r, "capture", &capture, "capture-press").await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert_eq!(app.platform_payment(r).aggregate.captured_amount.value, 6_000, "taken once");
    assert_eq!(keys_of(&app, r, "capture").len(), 2);
}

#[tokio::test]
async fn money_cannot_be_taken_before_approval_or_from_a_declined_sale_nor_given_back_before_it_was_taken() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    let waiting = app.start_phone_sale(2_000).await;
    app.refused(&waiting.reference, "capture", &json!({}), StatusCode::CONFLICT, "not-capturable").await;
    app.refused(
        &waiting.reference,
        "refund",
        &json!({ "amount": nok(2_000) }),
        StatusCode::CONFLICT,
        "not-refundable",
    )
    .await;

    app.decline_on_phone(CUSTOMER, &waiting.reference).await;
    events.until_sale_is(&waiting.reference, SaleStatus::Declined).await;
    let declined = &waiting.reference;
    app.refused(declined, "capture", &json!({}), StatusCode::CONFLICT, "not-capturable").await;
    app.refused(
        declined,
        "capture",
        &json!({ "amount": nok(1_000) }),
        StatusCode::CONFLICT,
        "not-capturable",
    )
    .await;
    app.refused(declined, "refund", &json!({ "amount": nok(1_000) }), StatusCode::CONFLICT, "not-refundable")
        .await;

    let authorized = app.approved_sale(&mut events, 3_000, SaleStatus::Authorized).await;
    app.refused(
        &authorized.reference,
        "refund",
        &json!({ "amount": nok(1_000) }),
        StatusCode::CONFLICT,
        "not-refundable",
    )
    .await;

    for reference in [declined, &authorized.reference] {
        let received = app.received(reference);
        assert!(
            writes(&received, "capture").is_empty() && writes(&received, "refund").is_empty(),
            "nothing reached the platform: {received:#?}"
        );
    }
    assert_eq!(app.sale(&authorized.reference).await.status, SaleStatus::Authorized);
}

#[tokio::test]
async fn a_capture_or_refund_sent_twice_with_one_idempotency_key_is_applied_once() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    let r = sale.reference.as_str();

    let capture = json!({ "amount": nok(3_000) });
    let first = app.act_with_key(r, "capture", &capture, "capture-key-1").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = app.act_with_key(r, "capture", &capture, "capture-key-1").await;
    assert_eq!(again.status, StatusCode::OK, "a retried capture is answered, not refused: {}", again.body);
    assert_eq!(again.json::<Sale>().captured, Money::new(3_000, Currency::Nok), "taken once");

    let refund = json!({ "amount": nok(1_000) });
    let first = app.act_with_key(r, "refund", &refund, "refund-key-1").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = app.act_with_key(r, "refund", &refund, "refund-key-1").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json::<Sale>().refunded, Money::new(1_000, Currency::Nok), "given back once");

    // Each at once, twice, as a double-click on a slow connection sends them.
    let capture = json!({ "amount": nok(2_000) });
    let (a, b) = tokio::join!(
        app.act_with_key(r, "capture", &capture, "capture-key-2"),
        app.act_with_key(r, "capture", &capture, "capture-key-2"),
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} / {}", a.body, b.body);
    let refund = json!({ "amount": nok(500) });
    let (a, b) = tokio::join!(
        app.act_with_key(r, "refund", &refund, "refund-key-2"),
        app.act_with_key(r, "refund", &refund, "refund-key-2"),
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "{} / {}", a.body, b.body);

    let now = app.sale(r).await;
    assert_eq!((now.captured.value, now.refunded.value), (5_000, 1_500));
    let aggregate = app.platform_payment(r).aggregate;
    assert_eq!((aggregate.captured_amount.value, aggregate.refunded_amount.value), (5_000, 1_500));
    let received = app.received(r);
    assert_eq!(writes(&received, "capture").len(), 2, "{received:#?}");
    assert_eq!(writes(&received, "refund").len(), 2, "{received:#?}");

    // A key used again for a different request is a mistake, not a retry: refused, nothing done.
    let other = app.act_with_key(r, "capture", &json!({ "amount": nok(1_000) }), "capture-key-1").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    assert_eq!(other.problem().code.map(ProblemCode::as_str), Some("key-reused"));
    let other = app.act_with_key(r, "refund", &json!({ "amount": nok(1_000) }), "capture-key-1").await;
    assert_eq!(other.problem().code.map(ProblemCode::as_str), Some("key-reused"));
    assert_eq!(app.sale(r).await.captured.value, 5_000, "nothing more was taken");
}

#[tokio::test]
async fn history_lists_a_tills_sales_newest_first_filtered_by_time_status_and_flow_with_totals_that_add_up() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    let qr = app.start_sale(1_000).await;
    app.approve(&qr).await;
    events.until_sale_is(&qr.reference, SaleStatus::Captured).await;
    let phone = app.approved_sale(&mut events, 2_000, SaleStatus::Captured).await;
    let declined = app.start_phone_sale(3_000).await;
    app.decline_on_phone(CUSTOMER, &declined.reference).await;
    events.until_sale_is(&declined.reference, SaleStatus::Declined).await;
    let part_refunded = app.approved_sale(&mut events, 4_000, SaleStatus::Captured).await;
    app.done(&part_refunded.reference, "refund", &json!({ "amount": nok(1_500) })).await;
    let cancelled = app.start_sale(500).await;
    app.done(&cancelled.reference, "cancel", &json!({})).await;

    let all = app.history("").await;
    let references: Vec<&str> = all.sales.iter().map(|s| s.reference.as_str()).collect();
    assert_eq!(
        references,
        [
            &cancelled.reference,
            &part_refunded.reference,
            &declined.reference,
            &phone.reference,
            &qr.reference
        ],
        "newest first"
    );
    assert_same_totals(
        all.totals.clone(),
        vec![
            total(SaleStatus::Captured, 3, 7_000, 7_000, 1_500),
            total(SaleStatus::Declined, 1, 3_000, 0, 0),
            total(SaleStatus::Cancelled, 1, 500, 0, 0),
        ],
        "every sale",
    );
    assert_same_totals(all.totals, Total::of(&all.sales), "the totals are the sums of the sales listed");

    let captured_by_phone = app.history("?status=captured&flow=phone").await;
    let references: Vec<&str> = captured_by_phone.sales.iter().map(|s| s.reference.as_str()).collect();
    assert_eq!(references, [&part_refunded.reference, &phone.reference]);
    assert_eq!(captured_by_phone.totals, [total(SaleStatus::Captured, 2, 6_000, 6_000, 1_500)]);

    let since = format!("?sinceMs={}&status=captured&flow=phone", declined.created_at_ms);
    let later = app.history(&since).await;
    assert_eq!(
        later.sales.iter().map(|s| s.reference.as_str()).collect::<Vec<_>>(),
        [&part_refunded.reference]
    );
    assert_eq!(later.totals, [total(SaleStatus::Captured, 1, 4_000, 4_000, 1_500)]);

    let from_phone = format!("?sinceMs={}", phone.created_at_ms);
    assert_eq!(app.history(&from_phone).await.sales.len(), 4, "a sale started at sinceMs is included");
    let before_phone = app.history(&format!("?untilMs={}", phone.created_at_ms)).await;
    assert_eq!(before_phone.sales.iter().map(|s| s.reference.as_str()).collect::<Vec<_>>(), [&qr.reference]);

    let qr_flow = app.history("?flow=qr").await;
    assert!(qr_flow.sales.iter().all(|s| s.flow == Flow::Qr) && qr_flow.sales.len() == 2, "{qr_flow:#?}");
    let none = app.history(&format!("?sinceMs={}", cancelled.created_at_ms + 1)).await;
    assert!(none.sales.is_empty() && none.totals.is_empty(), "{none:#?}");
}

#[tokio::test]
async fn history_finds_a_sale_by_its_reference_its_amount_or_the_last_digits_of_the_customers_phone() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let by_phone = app.approved_sale(&mut events, 2_000, SaleStatus::Captured).await;
    let by_qr = app.start_sale(12_550).await;
    app.done(&by_qr.reference, "cancel", &json!({})).await;
    let other = app.start_sale(900).await;
    app.done(&other.reference, "cancel", &json!({})).await;
    let sales = [&by_phone, &by_qr, &other];
    let found = async |search: &str| {
        let query = format!("?search={}", search.replace('%', "%25").replace(',', "%2C").replace(' ', "+"));
        let mut references: Vec<String> =
            app.history(&query).await.sales.into_iter().map(|s| s.reference).collect();
        references.sort();
        references
    };
    // A reference holds hex digits, so one may contain the digits searched for: those match too.
    let expected = |matching: &[&Sale], digits: &str| {
        let mut references: Vec<String> = sales
            .iter()
            .filter(|s| matching.contains(s) || s.reference.contains(digits))
            .map(|s| s.reference.clone())
            .collect();
        references.sort();
        references
    };

    // Kari's number is +47 912 34 567: its last digits find her sale.
    assert_eq!(found("567").await, expected(&[&by_phone], "567"));
    assert_eq!(found(" 67").await, expected(&[&by_phone], "67"), "spaces around are ignored");
    // The amount, as a cashier types it.
    assert_eq!(found("125,50").await, expected(&[&by_qr], "125,50"));
    assert_eq!(found("125.5").await, expected(&[&by_qr], "125.5"));
    assert_eq!(found("20").await, expected(&[&by_phone], "20"));
    // Part of a reference, in any case.
    let part = by_qr.reference[by_qr.reference.len() - 8..].to_uppercase();
    assert_eq!(found(&part).await, expected(&[&by_qr], "no other"));
    // A wildcard is a character like any other, and finds nothing here.
    assert!(found("%").await.is_empty() && found("_").await.is_empty());
    // Search and filters together: only Kari's sale is captured.
    let captured = app.history("?status=captured&search=567").await;
    assert_eq!(
        captured.sales.iter().map(|s| s.reference.as_str()).collect::<Vec<_>>(),
        [&by_phone.reference]
    );
    assert_eq!(captured.totals, [total(SaleStatus::Captured, 1, 2_000, 2_000, 0)]);

    let too_long = app.get(&format!("/api/tills/{TILL}/sales?search={}", "a".repeat(65))).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST, "{}", too_long.body);
    assert_eq!(too_long.problem().code, Some(ProblemCode::BadQuery));
}

#[tokio::test]
async fn an_unreadable_history_filter_or_resume_point_is_a_problem_with_a_sentence() {
    let app = spawn_app().await;
    for path in [
        format!("/api/tills/{TILL}/sales?status=paid"),
        format!("/api/tills/{TILL}/sales?flow=cash"),
        format!("/api/tills/{TILL}/sales?sinceMs=yesterday"),
        format!("/api/tills/{TILL}/events?after=the-beginning"),
    ] {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}: {}", answer.body);
        answer.problem();
    }
}

#[tokio::test]
async fn check_again_answers_with_what_the_platform_holds_even_when_its_webhooks_are_lost() {
    let app = spawn_manual_capture_app().await;
    app.sim().set_faults(FaultKnobs { drop_webhook_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let sale = app.start_phone_sale(7_000).await;
    app.approve_on_phone(CUSTOMER, &sale.reference).await;

    let path = format!("/api/tills/{TILL}/sales/{}/reconcile", sale.reference);
    let checked = app.post_json(&path, &json!({})).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    let checked: Sale = checked.json();
    let platform = app.platform_payment(&sale.reference);
    assert_eq!(checked.status, SaleStatus::Authorized);
    assert_eq!(checked.authorized.value, platform.aggregate.authorized_amount.value);
    assert_eq!(checked.authorized, Money::new(7_000, Currency::Nok));
    assert_eq!(app.sale(&sale.reference).await, checked, "the till keeps what it learned");

    let unknown =
        app.post_json(&format!("/api/tills/{TILL}/sales/{TILL}-000000000000/reconcile"), &json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert_eq!(unknown.problem().code.map(ProblemCode::as_str), Some("unknown-payment"));
}

/// The idempotency keys of the writes of one kind the platform received for a payment: one per
/// write, however often each was sent.
fn keys_of(app: &TestApp, reference: &str, operation: &str) -> std::collections::BTreeSet<String> {
    writes(&app.received(reference), operation).iter().filter_map(|w| w.idempotency_key.clone()).collect()
}

#[tokio::test]
async fn a_second_refund_over_the_rest_while_the_first_waits_for_the_platform_is_refused_at_once() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Captured).await;
    let r = sale.reference.as_str();

    // The platform stops answering: the first refund is kept, to be sent again until answered.
    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let first = app.act(r, "refund", &json!({ "amount": nok(6_000) })).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);

    // What is left counts it: 6 000 more is over the rest, refused here and never sent.
    let answer = app.act(r, "refund", &json!({ "amount": nok(6_000) })).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let problem = answer.problem();
    assert_eq!(problem.code, Some(ProblemCode::AmountOutOfRange));
    assert!(problem.sentence().contains("40.00"), "the sentence says what is left: {problem:?}");
    let rest = app.act(r, "refund", &json!({ "amount": nok(4_000) })).await;
    assert_eq!(rest.status, StatusCode::ACCEPTED, "the rest can still be given back: {}", rest.body);

    app.sim().set_faults(FaultKnobs::default()).unwrap();
    let refunded = events.until_sale_is(r, SaleStatus::Refunded).await.pop().unwrap().sale();
    assert_eq!(refunded.refunded, Money::new(10_000, Currency::Nok));
    assert_eq!(app.platform_payment(r).aggregate.refunded_amount.value, 10_000);
    assert_eq!(
        keys_of(&app, r, "refund").len(),
        2,
        "two refunds reached the platform: {:#?}",
        app.received(r)
    );
}

#[tokio::test]
async fn a_second_capture_over_the_rest_while_the_first_waits_for_the_platform_is_refused_at_once() {
    let app = spawn_manual_capture_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.approved_sale(&mut events, 10_000, SaleStatus::Authorized).await;
    let r = sale.reference.as_str();

    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let first = app.act(r, "capture", &json!({ "amount": nok(7_000) })).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let answer = app.act(r, "capture", &json!({ "amount": nok(7_000) })).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let problem = answer.problem();
    assert_eq!(problem.code, Some(ProblemCode::AmountOutOfRange));
    assert!(problem.sentence().contains("30.00"), "the sentence says what is left: {problem:?}");
    let rest = app.act(r, "capture", &json!({})).await;
    assert_eq!(rest.status, StatusCode::ACCEPTED, "an empty capture asks for the rest: {}", rest.body);

    app.sim().set_faults(FaultKnobs::default()).unwrap();
    events
        .next_event_until("showing everything captured", |e| {
            e.sale_if_any().is_some_and(|s| s.reference == r && s.captured.value == 10_000)
        })
        .await;
    assert_eq!(app.platform_payment(r).aggregate.captured_amount.value, 10_000);
    assert_eq!(
        keys_of(&app, r, "capture").len(),
        2,
        "two captures reached the platform: {:#?}",
        app.received(r)
    );
}

#[tokio::test]
async fn past_five_hundred_sales_the_history_shows_the_newest_and_says_there_are_more() {
    let app = spawn_app().await;
    let mut last = None;
    for n in 0..501 {
        let sale = app.start_sale(1_000 + n).await;
        let cancelled = app.cancel(&sale.reference).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        last = Some(sale);
    }
    let all = app.history("").await;
    assert_eq!((all.sales.len(), all.more), (500, true));
    assert_eq!(all.sales[0].reference, last.unwrap().reference, "the newest first");
    assert_eq!(all.totals.iter().map(|t| t.count).sum::<u32>(), 500, "the totals are of those shown");
    let found = app.history("?search=10%2C00").await;
    assert_eq!((found.sales.len(), found.more), (1, false), "a narrower search shows all it finds");
}

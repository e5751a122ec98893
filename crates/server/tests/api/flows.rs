//! The in-store flows beyond the one-time QR: a phone number the cashier types, a personal QR code
//! the till scans, a customer who checked in at the till's callback sticker; and what the till
//! can rely on when the browser or the platform is unreliable (idempotent starts, a create kept
//! and sent again while the platform is unreachable).

use chrono::Utc;
use kasse_api::{
    CheckIn, Country, Currency, Flow, Identified, Money, Msisdn, PhoneError, ProblemCode, Sale, SaleStatus,
};
use kasse_sim::{FaultKnobs, SimCustomer};
use kasse_vipps::epayment::UserFlow;
use kasse_vipps::qr::MerchantCallbackPutRequest;
use kasse_vipps::signing;
use kasse_vipps::webhooks::UserCheckedIn;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Kari Nordmann, a Norwegian customer of the simulator.
const KARI: &str = CUSTOMER;
/// Ola Nordmann, another Norwegian customer.
const OLA: &str = "4798765432";

/// A start-sale body for `value` øre by `payer` (the flow's fields, e.g. `{"flow":"qr"}`).
fn new_sale(value: i64, payer: &Value) -> Value {
    let mut body = json!({ "amount": { "value": value, "currency": "NOK" } });
    for (name, field) in payer.as_object().expect("a payer is an object") {
        body[name] = field.clone();
    }
    body
}

/// The till is told nothing, records nothing and sends nothing to the platform.
async fn assert_nothing_happened(app: &TestApp, what: &str) {
    let snapshot = app.snapshot().await;
    assert_eq!(snapshot.sale, None, "{what}: no sale was recorded");
    assert_eq!(snapshot.last_event_id, 0, "{what}: the till was told nothing");
    assert!(app.sim().payment_records().is_empty(), "{what}: nothing reached the platform");
}

impl TestApp {
    /// A simulated customer by phone number.
    fn customer(&self, phone_number: &str) -> SimCustomer {
        self.sim()
            .config()
            .customers
            .iter()
            .find(|c| c.phone_number == phone_number)
            .cloned()
            .unwrap_or_else(|| panic!("the simulator has customer {phone_number}"))
    }

    /// The merchant's set-up of the till's callback sticker at the platform (what the QR tools
    /// do once per store): the demo till's `callback_qr`, `till-1`.
    async fn put_up_callback_sticker(&self) {
        self.merchant_client()
            .put_callback_qr(TILL, &MerchantCallbackPutRequest::at("Kasse 1"))
            .await
            .expect("the platform takes the callback sticker");
    }

    /// The till's open check-ins.
    async fn check_ins(&self) -> Vec<CheckIn> {
        let answer = self.get(&format!("/api/tills/{TILL}/check-ins")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }
}

#[tokio::test]
async fn a_phone_number_sale_reaches_that_customers_phone_shows_the_number_masked_and_is_captured_when_she_approves()
 {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    let answer =
        app.try_start_sale(&new_sale(4_500, &json!({"flow": "phone", "phoneNumber": "912 34 567"}))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(sale.flow, Flow::Phone);
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    assert_eq!(sale.qr, None, "a push payment has no QR code to show");
    let identified = sale.customer.clone().expect("the cashier sees who was asked");
    let Identified::Phone { masked: label } = identified.clone() else {
        panic!("a number the cashier typed: {identified:?}")
    };
    assert_eq!(label, Msisdn::parse("91234567", Country::No).unwrap().masked(), "the number, masked");
    assert!(label.starts_with("+47") && label.ends_with("567"), "{label}");
    assert!(!label.contains("91234567") && !label.contains("234"), "the middle is hidden: {label}");

    let records = app.sim().payment_records();
    assert_eq!(records.len(), 1, "one payment at the platform");
    assert_eq!(records[0].user_flow, UserFlow::PushMessage);
    assert_eq!(records[0].amount.value, 4_500);
    assert!(app.on_phone(KARI, &sale.reference).await, "the request is on Kari's phone");
    assert!(!app.on_phone(OLA, &sale.reference).await, "and on nobody else's");

    app.approve_on_phone(KARI, &sale.reference).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert!(statuses(&seen).contains(&SaleStatus::AwaitingCustomer), "{seen:#?}");
    let captured = seen.last().unwrap().sale();
    assert_eq!(captured.captured, Money::new(4_500, Currency::Nok));
    assert_eq!(captured.customer, Some(identified));
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 4_500);

    // The full number the cashier typed never comes back to a browser.
    let seen = app.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|text| !text.contains("91234567")), "the number leaked: {seen:#?}");
}

#[tokio::test]
async fn a_number_no_payment_can_reach_is_refused_with_the_reason_and_nothing_is_recorded_or_sent() {
    let app = spawn_app().await;
    let cases = [
        ("too short", "912 34 56", PhoneError::TooShort),
        ("too long", "912 34 5678", PhoneError::TooLong),
        ("letters", "912 3A 567", PhoneError::NotDigits),
        ("a Swedish number", "+46 70 123 45 67", PhoneError::UnknownCountry),
        ("a Norwegian landline", "22222222", PhoneError::NotMobile),
        ("nothing typed", "  ", PhoneError::Empty),
    ];
    for (what, typed, error) in cases {
        let answer =
            app.try_start_sale(&new_sale(4_500, &json!({"flow": "phone", "phoneNumber": typed}))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}: {}", answer.body);
        let problem = answer.problem();
        assert_eq!(problem.code.map(ProblemCode::as_str), Some("bad-phone-number"), "{what}");
        assert_eq!(problem.sentence(), error.to_string(), "{what}: the cashier is told why");
        assert_nothing_happened(&app, what).await;
    }
}

#[tokio::test]
async fn a_scanned_personal_qr_code_with_the_scanners_line_ending_reaches_that_customer() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let code = app.customer(KARI).personal_qr();

    // A keyboard-wedge scanner ends its burst of keys with Enter.
    let scanned = format!("{code}\r\n");
    let answer =
        app.try_start_sale(&new_sale(6_000, &json!({"flow": "personalQr", "personalQr": scanned}))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(sale.flow, Flow::PersonalQr);
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    assert_eq!(
        sale.customer,
        Some(Identified::PersonalQr),
        "the cashier is told a code was scanned, not the number inside it: {sale:?}"
    );
    assert_eq!(app.sim().payment_records()[0].user_flow, UserFlow::PushMessage);
    // The platform matched the code exactly as Kari's app shows it.
    assert!(app.on_phone(KARI, &sale.reference).await, "the request is on Kari's phone");
    assert!(!app.on_phone(OLA, &sale.reference).await, "and on nobody else's");

    app.approve_on_phone(KARI, &sale.reference).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert_eq!(seen.last().unwrap().sale().captured, Money::new(6_000, Currency::Nok));
}

#[tokio::test]
async fn a_scanned_code_that_is_not_a_personal_qr_code_fails_with_the_platforms_reason_in_words() {
    let app = spawn_app().await;
    let junk = "https://qr.vipps.no/28/2/01/031/4700000000?v=1";
    let answer =
        app.try_start_sale(&new_sale(6_000, &json!({"flow": "personalQr", "personalQr": junk}))).await;
    // The platform refuses the code (4060). The sale is recorded as failed, with a sentence for
    // the cashier, and the till is free for the next attempt.
    assert!(answer.status.is_success(), "{}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(sale.status, SaleStatus::Failed, "{sale:?}");
    let failure = sale.failure.clone().expect("a failed sale says why");
    assert!(failure.contains("personal code"), "the cashier is told the code is not one: {failure}");
    assert!(!failure.contains("4060"), "a sentence, not a code: {failure}");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Failed, "a reload shows the same");
    assert!(app.sim().payment(MSN, &sale.reference).is_none(), "the platform holds no payment");

    let next = app.try_start_sale(&new_sale(6_000, &json!({"flow": "qr"}))).await;
    assert_eq!(next.status, StatusCode::CREATED, "the till is free again: {}", next.body);
}

#[tokio::test]
async fn a_scanned_code_with_control_characters_inside_or_of_impossible_length_is_refused_before_anything_is_sent()
 {
    let app = spawn_app().await;
    let code = app.customer(KARI).personal_qr();
    let (head, tail) = code.split_at(20);
    let cases = [
        ("an escape character inside", format!("{head}\u{1b}{tail}")),
        ("a line break inside", format!("{head}\n{tail}")),
        ("a tab inside", format!("{head}\t{tail}")),
        ("longer than 255 characters", format!("{code}&{}", "x".repeat(256))),
        ("shorter than 5 characters", "abc".to_owned()),
        ("nothing but a line ending", "\r\n".to_owned()),
    ];
    for (what, scanned) in cases {
        let answer =
            app.try_start_sale(&new_sale(6_000, &json!({"flow": "personalQr", "personalQr": scanned}))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("bad-personal-qr"), "{what}");
        assert_nothing_happened(&app, what).await;
    }
}

#[tokio::test]
async fn a_customer_who_scans_the_tills_callback_sticker_appears_at_the_till_and_can_be_charged_once() {
    let app = spawn_app().await;
    app.put_up_callback_sticker().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    assert!(app.check_ins().await.is_empty(), "nobody has checked in yet");

    app.scan_callback_sticker(KARI, TILL).await;
    let check_in = events.until_check_in("announcing Kari's check-in", |_| true).await;
    assert_eq!(check_in.charged_by, None);
    assert_eq!(check_in.expires_at_ms - check_in.at_ms, 15 * 60 * 1000, "a check-in lasts 15 minutes");
    assert_eq!(app.check_ins().await, std::slice::from_ref(&check_in), "the till lists it");

    let charge = new_sale(4_900, &json!({"flow": "checkIn", "checkIn": check_in.id}));
    let answer = app.try_start_sale(&charge).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(sale.flow, Flow::CheckIn);
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    assert!(app.on_phone(KARI, &sale.reference).await, "the request is on Kari's phone");
    assert!(!app.on_phone(OLA, &sale.reference).await, "and on nobody else's");
    let charged = events
        .until_check_in("showing the check-in charged", |c| c.id == check_in.id && c.charged_by.is_some())
        .await;
    assert_eq!(charged.charged_by.as_deref(), Some(sale.reference.as_str()));
    assert!(app.check_ins().await.is_empty(), "a charged check-in is no longer offered");

    app.approve_on_phone(KARI, &sale.reference).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;

    let again = app.try_start_sale(&charge).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.problem().code.map(ProblemCode::as_str), Some("check-in-gone"));
    let unknown = app
        .try_start_sale(&new_sale(4_900, &json!({"flow": "checkIn", "checkIn": "no-such-check-in"})))
        .await;
    assert_eq!(unknown.status, StatusCode::CONFLICT, "{}", unknown.body);
    assert_eq!(unknown.problem().code.map(ProblemCode::as_str), Some("check-in-gone"));
    assert_eq!(app.sim().payment_records().len(), 1, "Kari was asked to pay once");
    assert_eq!(app.snapshot().await.sale.map(|s| s.reference), Some(sale.reference));
}

#[tokio::test]
async fn a_till_charging_at_check_in_offers_its_amount_again_only_while_no_payment_carries_it() {
    let app = spawn_app_with(|config| config.tills[0].charge_on_check_in = true).await;
    app.put_up_callback_sticker().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let charged = |c: &CheckIn| c.charged_by.is_some();

    // Kari checks in while the till presents 49 kr: she is asked for it, and it is used up.
    app.present(4_900).await;
    app.scan_callback_sticker(KARI, TILL).await;
    let kari = events.until_check_in("Kari's check-in, charged", charged).await.charged_by.unwrap();
    events.until_sale_is(&kari, SaleStatus::AwaitingCustomer).await;
    assert!(app.on_phone(KARI, &kari).await, "the request is on Kari's phone");
    app.until_unprocessed_webhooks(|n| n == 0).await;
    assert_eq!(app.presented_at_till().await, None, "the amount is Kari's to pay");
    app.approve_on_phone(KARI, &kari).await;
    events.until_sale_is(&kari, SaleStatus::Captured).await;

    // A check-in the platform refuses to charge (its token is none it gave out): the till
    // offers the amount again.
    app.present(3_000).await;
    let unknown = UserCheckedIn {
        customer_token: "dW5rbm93biB0byB0aGUgcGxhdGZvcm0gb2YgdGhpcyB0ZXN0".to_owned(),
        merchant_qr_id: TILL.to_owned(),
        msn: MSN.to_owned(),
        initiated_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let body = serde_json::to_vec(&unknown).unwrap();
    let secret = app.webhook_secret().await;
    let signed = signing::sign(&secret, &app.webhook_url(), &signing::http_date(Utc::now()), &body).unwrap();
    assert_eq!(app.deliver_webhook(&body, &signed).await.status, StatusCode::OK);
    let refused = events.until_check_in("the unknown check-in, charged", charged).await.charged_by.unwrap();
    events.until_sale_is(&refused, SaleStatus::Failed).await;
    app.until_unprocessed_webhooks(|n| n == 0).await;
    let offered = app.presented_at_till().await.map(|p| p.amount);
    assert_eq!(offered, Some(Money::new(3_000, Currency::Nok)), "offered again after the refusal");

    // The same check-in delivered again (as after an answer lost on its way, or a delivery cut
    // short): the till is told of it as it stands, and it is not charged again.
    let a_minute_ago = signing::http_date(Utc::now() - chrono::Duration::minutes(1));
    let again = signing::sign(&secret, &app.webhook_url(), &a_minute_ago, &body).unwrap();
    assert_eq!(app.deliver_webhook(&body, &again).await.status, StatusCode::OK);
    let told = events.until_check_in("the check-in told again", |c| c.charged_by.is_some()).await;
    assert_eq!(told.charged_by.as_deref(), Some(refused.as_str()));
    app.until_unprocessed_webhooks(|n| n == 0).await;
    assert_eq!(app.presented_at_till().await.map(|p| p.amount), offered, "still offered");
    assert_eq!(app.sim().payment_records().len(), 1, "only Kari's payment reached the platform");

    // Ola checks in, and the platform takes the create but its answers never come back: his
    // payment goes ahead (sent again with its key), so the amount is not offered to anyone else.
    app.sim().set_faults(FaultKnobs { hold_creates: true, ..FaultKnobs::default() }).unwrap();
    app.scan_callback_sticker(OLA, TILL).await;
    let ola = events
        .until_check_in("Ola's check-in, charged", |c| c.charged_by.as_ref().is_some_and(|r| *r != refused))
        .await
        .charged_by
        .unwrap();
    app.until_unprocessed_webhooks(|n| n == 0).await;
    assert_eq!(app.sale(&ola).await.status, SaleStatus::Creating, "its create is unanswered");
    assert_eq!(app.presented_at_till().await, None, "Ola's payment carries the amount");
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    assert!(app.sim().deliver_held_creates().await >= 1);
    events.until_sale_is(&ola, SaleStatus::AwaitingCustomer).await;
    app.approve_on_phone(OLA, &ola).await;
    events.until_sale_is(&ola, SaleStatus::Captured).await;

    // Kari comes back and checks in again: nothing is presented, so nothing is charged.
    app.scan_callback_sticker(KARI, TILL).await;
    events.until_check_in("Kari's new check-in", |c| c.charged_by.is_none()).await;
    app.until_unprocessed_webhooks(|n| n == 0).await;
    let mut paid: Vec<i64> = app.sim().payment_records().iter().map(|p| p.amount.value).collect();
    paid.sort_unstable();
    assert_eq!(paid, [3_000, 4_900], "Kari paid 49 kr and Ola 30 kr, once each");
    assert_eq!(app.platform_payment(&ola).aggregate.captured_amount.value, 3_000);
}

#[tokio::test]
async fn a_check_in_that_arrives_after_its_fifteen_minutes_cannot_be_charged() {
    let app = spawn_app().await;
    app.put_up_callback_sticker().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    // The platform retries a delivery for a while; this one arrives sixteen minutes after the scan.
    let scanned_at = Utc::now() - chrono::Duration::minutes(16);
    let late = UserCheckedIn {
        customer_token: "bGF0ZSBjaGVjay1pbiBmcm9tIHRoZSB0ZXN0cw==".to_owned(),
        merchant_qr_id: TILL.to_owned(),
        msn: MSN.to_owned(),
        initiated_at: scanned_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let body = serde_json::to_vec(&late).unwrap();
    let secret = app.webhook_secret().await;
    let signed = signing::sign(&secret, &app.webhook_url(), &signing::http_date(Utc::now()), &body).unwrap();
    let delivered = app.deliver_webhook(&body, &signed).await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);

    // A fresh scan after it: once the till hears of that one, it has heard of the late one.
    app.scan_callback_sticker(KARI, TILL).await;
    let mut stale = None;
    let fresh = events
        .until_check_in("announcing the fresh check-in", |c| {
            if c.at_ms == scanned_at.timestamp_millis() {
                stale = Some(c.clone());
                return false;
            }
            true
        })
        .await;
    let stale = stale.expect("the till heard of the late check-in, expired");
    assert_eq!(stale.expires_at_ms, scanned_at.timestamp_millis() + 15 * 60 * 1000);
    assert_eq!(app.check_ins().await, [fresh], "only the fresh check-in is offered");

    let answer = app.try_start_sale(&new_sale(4_900, &json!({"flow": "checkIn", "checkIn": stale.id}))).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("check-in-gone"));
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");
    assert_eq!(app.snapshot().await.sale, None, "no sale was recorded");
}

#[tokio::test]
async fn the_same_start_sent_twice_with_one_idempotency_key_is_one_sale_and_one_payment() {
    let app = spawn_app().await;
    let path = format!("/api/tills/{TILL}/sales");
    let body = new_sale(3_300, &json!({"flow": "phone", "phoneNumber": "91234567"}));

    let first = app.post_json_with_key(&path, &body, "browser-key-1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let first: Sale = first.json();
    let again = app.post_json_with_key(&path, &body, "browser-key-1").await;
    assert!(again.status.is_success(), "a retried start is not refused as busy: {}", again.body);
    let again: Sale = again.json();
    assert_eq!(again.reference, first.reference, "the retry finds the first sale");
    let received = app.received(&first.reference);
    assert_eq!(app.sim().payment_records().len(), 1, "one payment at the platform");
    assert_eq!(writes(&received, "create").len(), 1, "created once: {received:#?}");

    // The same start sent twice at once, as a double-click on a slow connection does.
    assert_eq!(app.cancel(&first.reference).await.status, StatusCode::OK);
    let body = new_sale(3_400, &json!({"flow": "qr"}));
    let (a, b) = tokio::join!(
        app.post_json_with_key(&path, &body, "browser-key-2"),
        app.post_json_with_key(&path, &body, "browser-key-2"),
    );
    assert!(a.status.is_success() && b.status.is_success(), "{} / {}", a.body, b.body);
    let (a, b): (Sale, Sale) = (a.json(), b.json());
    assert_eq!(a.reference, b.reference, "both answers are the same sale");
    assert_eq!(app.sim().payment_records().len(), 2, "one more payment at the platform, not two");
    assert_eq!(writes(&app.received(&a.reference), "create").len(), 1);

    // The same key for a different sale is refused, and starts nothing.
    let other =
        app.post_json_with_key(&path, &new_sale(9_900, &json!({"flow": "qr"})), "browser-key-2").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    assert_eq!(other.problem().code.map(ProblemCode::as_str), Some("key-reused"));
    assert_eq!(app.sim().payment_records().len(), 2, "nothing more reached the platform");

    // A browser's key never passes for a PoS system's (kasse keeps `pos:` and `v10:` for them):
    // a v10 key would have turned the till's automatic capture off for its sale.
    assert_eq!(app.cancel(&a.reference).await.status, StatusCode::OK);
    for key in ["v10:order-7", "pos:int-1:order-7", "POS:int-1:order-7"] {
        let refused = app.post_json_with_key(&path, &new_sale(1_200, &json!({"flow": "qr"})), key).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{key}: {}", refused.body);
        assert_eq!(refused.problem().code, Some(ProblemCode::BadIdempotencyKey), "{key}");
    }
    assert_eq!(app.sim().payment_records().len(), 2, "nothing more reached the platform");
}

/// Every platform call fails, until the test clears the knobs.
fn platform_unreachable() -> FaultKnobs {
    FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }
}

#[tokio::test]
async fn a_sale_started_while_the_platform_is_unreachable_is_kept_and_created_once_when_it_is_back() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.sim().set_faults(platform_unreachable()).unwrap();

    let path = format!("/api/tills/{TILL}/sales");
    let body = new_sale(8_800, &json!({"flow": "qr"}));
    let answer = app.post_json_with_key(&path, &body, "outage-key").await;
    assert!(answer.status.is_success(), "the sale is kept, not refused: {}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(sale.status, SaleStatus::Creating, "{sale:?}");
    let tried = app.sim().injected_faults();
    assert!(
        tried.iter().any(|f| f.method == "POST" && f.path == "/epayment/v1/payments"),
        "the server tried to create it: {tried:#?}"
    );
    assert!(app.sim().payment_records().is_empty(), "the platform has nothing yet");
    // The browser, unsure, asks again with its key: the same sale, still kept.
    let retried = app.post_json_with_key(&path, &body, "outage-key").await;
    assert!(retried.status.is_success(), "{}", retried.body);
    assert_eq!(retried.json::<Sale>().reference, sale.reference);

    app.sim().set_faults(FaultKnobs::default()).unwrap();
    let seen = events.until_sale_is(&sale.reference, SaleStatus::AwaitingCustomer).await;
    assert_eq!(seen[0].sale().status, SaleStatus::Creating, "the till showed it being created: {seen:#?}");
    let shown = seen.last().unwrap().sale();
    assert!(shown.qr.is_some(), "the QR code is shown once the payment exists: {shown:?}");

    let records = app.sim().payment_records();
    assert_eq!(records.len(), 1, "one payment: {records:#?}");
    assert_eq!(records[0].reference, sale.reference, "the recorded create, under its reference");
    assert_eq!(records[0].amount.value, 8_800);
    let creates = writes(&records[0].received, "create");
    assert_eq!(creates.iter().filter(|w| w.applied).count(), 1, "applied once: {creates:#?}");
    let keys: Vec<_> = creates.iter().map(|w| w.idempotency_key.clone()).collect();
    assert!(keys[0].is_some() && keys.iter().all(|k| *k == keys[0]), "one idempotency key: {keys:?}");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::AwaitingCustomer);
}

#[tokio::test]
async fn a_sale_started_while_the_platform_is_unreachable_is_answered_202_creating() {
    let app = spawn_app().await;
    app.sim().set_faults(platform_unreachable()).unwrap();
    let answer = app.try_start_sale(&new_sale(8_800, &json!({"flow": "qr"}))).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(answer.json::<Sale>().status, SaleStatus::Creating);
}

#[tokio::test]
async fn a_cancel_sent_again_with_its_key_after_the_platform_had_no_payment_withdraws_the_sale() {
    // No reconciler round in between: the browser's own retry is what meets the platform's 404.
    let app = spawn_app_with(|config| config.reconcile_every = std::time::Duration::from_hours(1)).await;
    let held = FaultKnobs { hold_creates: true, ..FaultKnobs::default() };
    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..held }).unwrap();
    let started = app.try_start_sale(&new_sale(4_200, &json!({"flow": "qr"}))).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "kept while the platform fails: {}", started.body);
    let sale: Sale = started.json();

    // The cashier's cancel meets the same outage: kept, and the browser will ask again.
    let cancel = format!("/api/tills/{TILL}/sales/{}/cancel", sale.reference);
    let first = app.post_json_with_key(&cancel, &json!({}), "cancel-key").await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.json::<Sale>().status, SaleStatus::Cancelling);

    // The platform answers again but has no such payment (its create is still on the way).
    app.sim().set_faults(held).unwrap();
    let again = app.post_json_with_key(&cancel, &json!({}), "cancel-key").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json::<Sale>().status, SaleStatus::Cancelled, "withdrawn, and the till is free");
    let metrics = app.get("/metrics").await.body;
    assert_eq!(metric(&metrics, "kasse_operations_pending"), Some(0), "no write is left waiting: {metrics}");
    app.sim().set_faults(FaultKnobs::default()).unwrap();
    assert_eq!(
        app.start_sale(1_000).await.status,
        SaleStatus::AwaitingCustomer,
        "the till takes the next sale"
    );
}

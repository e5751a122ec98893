//! The landing page behind a static sticker, as a customer's phone uses it: public endpoints, no
//! session cookie. A till's sticker pays exactly what the till presents, once; an open-amount
//! sticker any amount within its bounds, for several customers at once; bad numbers, busy
//! checkouts and too many requests are refused with a sentence and take nothing.
//!
//! The landing page's limits count per client address too (10 requests in 10 minutes), and every
//! request here comes from 127.0.0.1, so each test stays under that with its own server; a test of
//! many clients sends from other loopback addresses (127.0.0.2, …), each its own client.

use std::net::IpAddr;

use kasse_api::{
    Country, Currency, Flow, LandingEvent, LandingPayment, Money, Msisdn, PhoneError, ProblemCode,
    SaleStatus, StickerInfo,
};
use kasse_vipps::epayment::UserFlow;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

use crate::helpers::*;

/// The demo till's Merchant Redirect QR sticker.
const STICKER: &str = "demo";
/// The demo's open-amount sticker: 10.00 to 1000.00.
pub(crate) const DONATIONS: &str = "donations";
/// Kari's number as a customer types it, and Ola's.
pub(crate) const KARI_TYPED: &str = "912 34 567";
const OLA_TYPED: &str = "987 65 432";
const OLA: &str = "4798765432";

/// NOK in øre, as the browser sends it.
pub(crate) fn nok(value: i64) -> Value {
    json!({ "value": value, "currency": "NOK" })
}

/// A customer's browser on its own address, 127.0.0.`n`: another client to the server.
fn browser_at(n: u8) -> reqwest::Client {
    reqwest::Client::builder().no_proxy().local_address(IpAddr::from([127, 0, 0, n])).build().unwrap()
}

impl TestApp {
    /// What the landing page of `sticker` shows, read without a session.
    async fn sticker(&self, sticker: &str) -> StickerInfo {
        let answer = self.send(browser().get(format!("{}/api/stickers/{sticker}", self.base))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// A customer asks to pay at `sticker` with `body`, without a session.
    pub(crate) async fn pay_at(&self, sticker: &str, body: &Value) -> Answer {
        let request = browser().post(format!("{}/api/stickers/{sticker}/payments", self.base)).json(body);
        self.send(request).await
    }

    /// Like [`TestApp::pay_at`], insisting the payment was started; the payment.
    pub(crate) async fn paid_at(&self, sticker: &str, body: &Value) -> LandingPayment {
        let answer = self.pay_at(sticker, body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{body}: {}", answer.body);
        answer.json()
    }

    /// A refusal at `sticker` of `body` with `status` and `code`; its sentence.
    async fn refused_at(&self, sticker: &str, body: &Value, status: StatusCode, code: &str) -> String {
        let answer = self.pay_at(sticker, body).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        let problem = answer.problem();
        assert_eq!(problem.code.map(ProblemCode::as_str), Some(code), "{body}: {problem:?}");
        problem.sentence().to_owned()
    }

    /// `client` asks to pay at `sticker` with the raw JSON text `body`, whatever it is.
    async fn pay_raw_from(&self, client: &reqwest::Client, sticker: &str, body: &str) -> Answer {
        let request = client
            .post(format!("{}/api/stickers/{sticker}/payments", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        self.send(request).await
    }

    /// The till takes back what it presents.
    async fn withdraw(&self) -> Answer {
        self.send(self.http.delete(format!("{}/api/tills/{TILL}/presented", self.base))).await
    }

    /// A landing-page payment by its token, as the customer's page reads it.
    async fn landing_payment(&self, token: &str) -> Answer {
        self.send(browser().get(format!("{}/api/payments/{token}", self.base))).await
    }

    /// The live events of a landing-page payment, opened without a session.
    pub(crate) async fn landing_events(&self, token: &str) -> EventStream {
        let response = browser()
            .get(format!("{}/api/payments/{token}/events", self.base))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the payment's event stream opens");
        EventStream::new(response, &self.seen)
    }

    /// A sticker's live events, as a landing page waiting there opens them.
    async fn sticker_events(&self, sticker: &str) -> EventStream {
        let response = browser()
            .get(format!("{}/api/stickers/{sticker}/events", self.base))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the sticker's event stream opens");
        EventStream::new(response, &self.seen)
    }

    /// The reference of the one payment at the platform for `value` øre.
    pub(crate) fn reference_of_amount(&self, value: i64) -> String {
        let records = self.sim().payment_records();
        let found: Vec<_> = records.iter().filter(|p| p.amount.value == value).collect();
        assert_eq!(found.len(), 1, "one payment of {value} at the platform: {records:#?}");
        found[0].reference.clone()
    }
}

impl EventStream {
    /// The next event on a sticker's stream: the sticker as it is then.
    async fn next_sticker(&mut self) -> StickerInfo {
        let event = self.next_events(1).await.remove(0);
        match serde_json::from_str::<LandingEvent>(&event.data) {
            Ok(LandingEvent::Sticker { sticker }) => sticker,
            _ => panic!("not a sticker event: {}", event.data),
        }
    }

    /// The next event on a till's sticker's stream: the amount it offers then, if any.
    async fn next_offer(&mut self) -> Option<i64> {
        self.next_sticker().await.presented.map(|p| p.amount.value)
    }

    /// The next event on an open-amount sticker's stream: whether it offers an amount field.
    async fn next_open(&mut self) -> bool {
        self.next_sticker().await.open.is_some()
    }

    /// Reads a landing payment's events until it shows `status`; the statuses shown on the way.
    pub(crate) async fn until_landing_is(&mut self, status: SaleStatus) -> Vec<SaleStatus> {
        let events = self
            .next_event_until(&format!("showing the payment {status:?}"), |e| landing_status(e) == status)
            .await;
        events.iter().map(landing_status).collect()
    }
}

/// The status a landing payment's event shows.
fn landing_status(event: &SseEvent) -> SaleStatus {
    match serde_json::from_str::<LandingEvent>(&event.data) {
        Ok(LandingEvent::Payment { payment }) => payment.status,
        Ok(other) => panic!("a sticker's event on a payment's stream: {other:?}"),
        Err(e) => panic!("not a landing event ({e}): {}", event.data),
    }
}

/// What the customer sees of Kari's number.
fn kari_masked() -> String {
    Msisdn::parse(KARI_TYPED, Country::No).unwrap().masked()
}

#[tokio::test]
async fn a_customer_pays_what_the_till_presents_by_phone_and_both_follow_it_to_captured() {
    let app = spawn_app().await;
    let mut till_events = app.events_after(app.snapshot().await.last_event_id).await;

    let sticker = app.sticker(STICKER).await;
    assert_eq!((sticker.id.as_str(), sticker.country), (STICKER, Country::No));
    assert_eq!(sticker.presented, None, "the till presents nothing yet");
    assert_eq!(sticker.open, None, "a till's sticker takes no amount from the customer");
    let by_kari = json!({ "phoneNumber": KARI_TYPED });
    app.refused_at(STICKER, &by_kari, StatusCode::CONFLICT, "nothing-to-pay").await;
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");

    app.present(4_500).await;
    let shown = app.sticker(STICKER).await.presented.expect("the sticker shows what the till presents");
    assert_eq!(shown.amount, Money::new(4_500, Currency::Nok));

    let payment = app.paid_at(STICKER, &by_kari).await;
    assert!(payment.token.len() >= 32, "an unguessable token: {payment:?}");
    assert_eq!(payment.status, SaleStatus::AwaitingCustomer);
    assert_eq!(payment.amount, Money::new(4_500, Currency::Nok));
    assert_eq!(payment.sticker, STICKER);
    assert_eq!(payment.phone.as_deref(), Some(kari_masked().as_str()), "the number, masked");
    assert_eq!(payment.redirect_url, None, "a push payment opens nothing");

    // The amount is taken: the sticker shows nothing, and the next customer has nothing to pay.
    assert_eq!(app.sticker(STICKER).await.presented, None);
    app.refused_at(STICKER, &json!({ "phoneNumber": OLA_TYPED }), StatusCode::CONFLICT, "nothing-to-pay")
        .await;
    let records = app.sim().payment_records();
    assert_eq!(records.len(), 1, "one payment at the platform: {records:#?}");
    assert_eq!((records[0].user_flow, records[0].amount.value), (UserFlow::PushMessage, 4_500));

    let read = app.landing_payment(&payment.token).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json::<LandingPayment>(), payment, "the page reads the same payment back");
    let mut landing_events = app.landing_events(&payment.token).await;

    // The till follows the same sale.
    let at_till = till_events.until_sale_is(&records[0].reference, SaleStatus::AwaitingCustomer).await;
    let sale = at_till.last().unwrap().sale();
    assert_eq!((sale.flow, sale.amount), (Flow::Sticker, Money::new(4_500, Currency::Nok)));
    assert!(app.on_phone(CUSTOMER, &sale.reference).await, "the request is on Kari's phone");
    assert!(!app.on_phone(OLA, &sale.reference).await, "and on nobody else's");

    app.approve_on_phone(CUSTOMER, &sale.reference).await;
    let statuses = landing_events.until_landing_is(SaleStatus::Captured).await;
    assert!(!statuses.contains(&SaleStatus::Declined), "{statuses:?}");
    till_events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    let read = app.landing_payment(&payment.token).await.json::<LandingPayment>();
    assert_eq!(read.status, SaleStatus::Captured);
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 4_500);

    // Nothing the customer's browser got holds the number itself.
    let seen = app.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|text| !text.contains("91234567")), "the number leaked: {seen:#?}");
}

#[tokio::test]
async fn opening_the_app_from_the_sticker_page_comes_back_to_the_page_with_the_payment_token() {
    let app = spawn_app().await;
    let mut till_events = app.events_after(app.snapshot().await.last_event_id).await;
    app.present(4_500).await;

    let payment = app.paid_at(STICKER, &json!({})).await;
    assert_eq!(payment.status, SaleStatus::AwaitingCustomer);
    assert_eq!(payment.phone, None);
    let redirect = payment.redirect_url.clone().expect("an app switch says where to send the browser");
    let records = app.sim().payment_records();
    assert_eq!((records.len(), records[0].user_flow), (1, UserFlow::WebRedirect), "{records:#?}");
    assert_eq!(app.sticker(STICKER).await.presented, None, "the amount is taken");

    // Kari approves in the app, which then sends her back where the platform was told to.
    let app_switch =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let approved = app_switch
        .post(&redirect)
        .form(&[("action", "approve"), ("customer", CUSTOMER)])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::SEE_OTHER, "the app switches back");
    let back = approved.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(back, format!("{}/q/{STICKER}?payment={}", app.base, payment.token), "the returnUrl it got");

    let reference = records[0].reference.clone();
    let seen = till_events.until_sale_is(&reference, SaleStatus::Captured).await;
    assert_eq!(seen.last().unwrap().sale().flow, Flow::AppSwitch);
    let read = app.landing_payment(&payment.token).await.json::<LandingPayment>();
    assert_eq!((read.status, read.redirect_url), (SaleStatus::Captured, None));
}

#[tokio::test]
async fn an_open_amount_sticker_takes_any_amount_within_its_bounds_from_several_customers_at_once() {
    let app = spawn_app().await;
    let sticker = app.sticker(DONATIONS).await;
    assert_eq!(sticker.presented, None);
    let open = sticker.open.expect("an open-amount sticker shows its bounds");
    assert_eq!((open.min, open.max), (Money::new(1_000, Currency::Nok), Money::new(100_000, Currency::Nok)));

    for value in [999, 100_001] {
        let sentence = app
            .refused_at(
                DONATIONS,
                &json!({ "amount": nok(value) }),
                StatusCode::BAD_REQUEST,
                "amount-outside-bounds",
            )
            .await;
        assert!(sentence.contains("10.00") && sentence.contains("1000.00"), "{value}: {sentence}");
    }
    app.refused_at(DONATIONS, &json!({ "phoneNumber": KARI_TYPED }), StatusCode::CONFLICT, "nothing-to-pay")
        .await;
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");

    let by_kari = json!({ "amount": nok(2_000), "phoneNumber": KARI_TYPED });
    let by_ola = json!({ "amount": nok(3_500), "phoneNumber": OLA_TYPED });
    let (kari, ola) = tokio::join!(app.paid_at(DONATIONS, &by_kari), app.paid_at(DONATIONS, &by_ola));
    assert_ne!(kari.token, ola.token);
    for (payment, value) in [(&kari, 2_000), (&ola, 3_500)] {
        assert_eq!(payment.amount, Money::new(value, Currency::Nok));
        let read = app.landing_payment(&payment.token).await.json::<LandingPayment>();
        assert_eq!(read.status, SaleStatus::AwaitingCustomer, "both are in progress at once: {read:?}");
    }
    let kari_reference = app.reference_of_amount(2_000);
    let ola_reference = app.reference_of_amount(3_500);
    assert!(app.on_phone(CUSTOMER, &kari_reference).await && !app.on_phone(CUSTOMER, &ola_reference).await);
    assert!(app.on_phone(OLA, &ola_reference).await && !app.on_phone(OLA, &kari_reference).await);

    let mut events = app.landing_events(&kari.token).await;
    app.approve_on_phone(CUSTOMER, &kari_reference).await;
    events.until_landing_is(SaleStatus::Authorized).await;
    let read = app.landing_payment(&ola.token).await.json::<LandingPayment>();
    assert_eq!(read.status, SaleStatus::AwaitingCustomer, "Ola's payment is his own");
}

#[tokio::test]
async fn a_payment_at_an_open_amount_sticker_is_captured_once_the_customer_approves() {
    let app = spawn_app().await;
    let payment = app.paid_at(DONATIONS, &json!({ "amount": nok(2_000), "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&payment.token).await;
    let reference = app.reference_of_amount(2_000);
    app.approve_on_phone(CUSTOMER, &reference).await;
    events.until_landing_is(SaleStatus::Captured).await;
    assert_eq!(app.platform_payment(&reference).aggregate.captured_amount.value, 2_000);
}

#[tokio::test]
async fn a_number_no_payment_can_reach_is_refused_at_the_sticker_and_takes_nothing_the_till_presented() {
    let app = spawn_app().await;
    app.present(4_500).await;
    let cases = [
        ("too short", "912 34 56", PhoneError::TooShort),
        ("letters", "912 3A 567", PhoneError::NotDigits),
        ("a Swedish number", "+46 70 123 45 67", PhoneError::UnknownCountry),
        ("a Norwegian landline", "22222222", PhoneError::NotMobile),
    ];
    for (what, typed, error) in cases {
        let sentence = app
            .refused_at(
                STICKER,
                &json!({ "phoneNumber": typed }),
                StatusCode::BAD_REQUEST,
                "bad-phone-number",
            )
            .await;
        assert_eq!(sentence, error.to_string(), "{what}: the customer is told why");
        assert!(app.sim().payment_records().is_empty(), "{what}: nothing reached the platform");
        let presented = app.sticker(STICKER).await.presented;
        assert_eq!(
            presented.map(|p| p.amount),
            Some(Money::new(4_500, Currency::Nok)),
            "{what}: nothing taken"
        );
    }
    assert_eq!(app.snapshot().await.sale, None, "no sale was recorded");
    // The right number still pays it.
    app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
}

#[tokio::test]
async fn a_payment_the_platform_refuses_leaves_what_the_till_presented_for_the_next_customer() {
    let app = spawn_app().await;
    app.present(4_500).await;
    // A well-formed Norwegian mobile number that has no account: the platform refuses it (7010).
    let answer = app.pay_at(STICKER, &json!({ "phoneNumber": "400 00 000" })).await;
    let refused = if answer.status == StatusCode::CREATED {
        answer.json::<LandingPayment>().status == SaleStatus::Failed
    } else {
        answer.status.is_client_error() || answer.status.is_server_error()
    };
    assert!(refused, "the customer is told it did not work: {} {}", answer.status, answer.body);
    assert!(app.sim().payment_records().is_empty(), "the platform holds no payment");
    let presented = app.sticker(STICKER).await.presented;
    assert_eq!(
        presented.map(|p| p.amount),
        Some(Money::new(4_500, Currency::Nok)),
        "the amount is still there"
    );
    let payment = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    assert_eq!(payment.amount, Money::new(4_500, Currency::Nok), "and the next customer pays it");
}

#[tokio::test]
async fn a_fourth_request_to_one_number_within_ten_minutes_is_refused_and_takes_nothing() {
    let app = spawn_app().await;
    for value in [1_000, 1_100, 1_200] {
        app.paid_at(DONATIONS, &json!({ "amount": nok(value), "phoneNumber": KARI_TYPED })).await;
    }
    // However it is typed, it is the same number.
    let fourth = json!({ "amount": nok(1_300), "phoneNumber": "+47 91 23 45 67" });
    let answer = app.pay_at(DONATIONS, &fourth).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert_eq!(
        answer.problem().code.map(ProblemCode::as_str),
        Some("number-rate-limited"),
        "which limit, for the page"
    );
    let sentence = answer.problem().sentence().to_owned();
    assert!(
        sentence.contains("Try again in") && sentence.ends_with('.'),
        "a sentence saying when: {sentence}"
    );
    let retry_after: i64 = answer.header("retry-after").expect("Retry-After says when").parse().unwrap();
    assert!((590..=600).contains(&retry_after), "about ten minutes, in seconds: {retry_after}");
    assert_eq!(app.sim().payment_records().len(), 3, "the fourth reached nobody's phone");

    // Refused before anything is taken: what the till presents stays for the next customer.
    app.present(4_500).await;
    app.refused_at(
        STICKER,
        &json!({ "phoneNumber": KARI_TYPED }),
        StatusCode::TOO_MANY_REQUESTS,
        "number-rate-limited",
    )
    .await;
    let presented = app.sticker(STICKER).await.presented;
    assert_eq!(presented.map(|p| p.amount), Some(Money::new(4_500, Currency::Nok)), "nothing was taken");
    let ola = app.paid_at(STICKER, &json!({ "phoneNumber": OLA_TYPED })).await;
    assert_eq!(ola.amount, Money::new(4_500, Currency::Nok), "another number pays it");
}

#[tokio::test]
async fn a_customer_at_a_checkout_busy_with_another_sale_is_told_to_wait_and_the_presented_amount_stays() {
    let app = spawn_app().await;
    let other = app.start_sale(9_900).await;
    app.present(4_500).await;

    let sentence = app
        .refused_at(STICKER, &json!({ "phoneNumber": KARI_TYPED }), StatusCode::CONFLICT, "checkout-busy")
        .await;
    assert!(!sentence.contains(&other.reference), "the customer is not shown the till's sale: {sentence}");
    let presented = app.sticker(STICKER).await.presented;
    assert_eq!(
        presented.map(|p| p.amount),
        Some(Money::new(4_500, Currency::Nok)),
        "the amount is still there"
    );
    assert_eq!(app.sim().payment_records().len(), 1, "only the till's own sale reached the platform");
    assert_eq!(app.snapshot().await.sale.map(|s| s.reference), Some(other.reference.clone()));

    // Once the till is free, the customer pays it.
    assert_eq!(app.cancel(&other.reference).await.status, StatusCode::OK);
    let payment = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    assert_eq!(payment.amount, Money::new(4_500, Currency::Nok));
}

#[tokio::test]
async fn an_unknown_sticker_or_a_made_up_payment_token_is_not_found() {
    let app = spawn_app().await;
    let unknown = app.send(browser().get(format!("{}/api/stickers/no-such-sticker", app.base))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    assert_eq!(unknown.problem().code.map(ProblemCode::as_str), Some("unknown-sticker"));
    app.refused_at(
        "no-such-sticker",
        &json!({ "phoneNumber": KARI_TYPED }),
        StatusCode::NOT_FOUND,
        "unknown-sticker",
    )
    .await;

    let made_up = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    for path in [format!("/api/payments/{made_up}"), format!("/api/payments/{made_up}/events")] {
        let answer = app.send(browser().get(format!("{}{path}", app.base))).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {}", answer.body);
        assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("unknown-payment"), "{path}");
    }
    assert!(app.sim().payment_records().is_empty());
}

#[tokio::test]
async fn requests_refused_because_the_till_was_not_ready_do_not_count_against_the_number() {
    let app = spawn_app().await;
    let by_kari = json!({ "phoneNumber": KARI_TYPED });
    // Kari tries before the cashier has presented the amount, again and again.
    for _ in 0..4 {
        app.refused_at(STICKER, &by_kari, StatusCode::CONFLICT, "nothing-to-pay").await;
    }
    app.present(4_500).await;
    let payment = app.paid_at(STICKER, &by_kari).await;
    assert_eq!(payment.amount, Money::new(4_500, Currency::Nok), "her number was never used up");
}

#[tokio::test]
async fn a_refused_request_naming_a_number_counts_against_that_number_but_not_against_the_sticker() {
    let app = spawn_app().await;
    // Three donations outside the sticker's bounds, each naming Kari's number, from three clients.
    let too_little = json!({ "amount": { "value": 5, "currency": "NOK" }, "phoneNumber": KARI_TYPED });
    for n in 2..=4 {
        let answer = app.pay_raw_from(&browser_at(n), DONATIONS, &too_little.to_string()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert_eq!(answer.problem().code, Some(ProblemCode::AmountOutsideBounds));
    }
    // They used up her number's window: a good request to it now waits.
    let good = json!({ "amount": { "value": 5_000, "currency": "NOK" }, "phoneNumber": KARI_TYPED });
    app.refused_at(DONATIONS, &good, StatusCode::TOO_MANY_REQUESTS, "number-rate-limited").await;
    // The sticker itself was not used up: Ola gives.
    let ola = json!({ "amount": { "value": 5_000, "currency": "NOK" }, "phoneNumber": OLA_TYPED });
    app.paid_at(DONATIONS, &ola).await;
}

#[tokio::test]
async fn junk_at_a_sticker_costs_its_senders_but_never_the_stickers_budget_so_a_real_customer_still_pays() {
    let app = spawn_app().await;
    // Five clients send ten requests each that nobody could pay by, 35 of them well-formed: more
    // than the 30 a minute the sticker takes, while the till presents nothing.
    let junk = [
        "{\"phoneNumber\": ",
        "{\"amount\": \"lots\"}",
        "{\"phoneNumber\": \"22222222\"}",
        "{\"phoneNumber\": \"987 65 432\"}",
        "{\"amount\": {\"value\": 4500, \"currency\": \"NOK\"}, \"phoneNumber\": \"912 34 567\"}",
        "{\"amount\": {\"value\": 4500, \"currency\": \"NOK\"}}",
        "{\"amount\": {\"value\": 4500, \"currency\": \"NOK\"}}",
        "{}",
        "{}",
        "{}",
    ];
    for n in 2..=6 {
        let client = browser_at(n);
        for body in junk {
            let answer = app.pay_raw_from(&client, STICKER, body).await;
            assert!(
                [StatusCode::BAD_REQUEST, StatusCode::CONFLICT].contains(&answer.status),
                "client {n}, {body}: {} {}",
                answer.status,
                answer.body
            );
        }
        // Each client's own budget paid for its junk.
        let eleventh = app.pay_raw_from(&client, STICKER, "{}").await;
        assert_eq!(eleventh.status, StatusCode::TOO_MANY_REQUESTS, "client {n}: {}", eleventh.body);
        assert_eq!(eleventh.problem().code.map(ProblemCode::as_str), Some("client-rate-limited"));
    }
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");

    app.present(4_500).await;
    let payment = app.paid_at(STICKER, &json!({ "amount": nok(4_500), "phoneNumber": KARI_TYPED })).await;
    assert_eq!(payment.amount, Money::new(4_500, Currency::Nok), "the sticker is not locked");
}

#[tokio::test]
async fn a_number_is_sent_at_most_the_days_cap_of_requests_at_any_sticker_open_amount_ones_too() {
    let app = spawn_app_with(|c| c.limits.requests_per_number_per_day = 2).await;
    app.paid_at(DONATIONS, &json!({ "amount": nok(1_000), "phoneNumber": KARI_TYPED })).await;
    app.present(4_500).await;
    app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;

    // Under the short window's three, but the day's two are used up.
    let third = json!({ "amount": nok(1_100), "phoneNumber": "+47 91 23 45 67" });
    let answer = app.pay_at(DONATIONS, &third).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("number-rate-limited"));
    let sentence = answer.problem().sentence().to_owned();
    assert!(sentence.contains("in a day") && sentence.contains("hours"), "{sentence}");
    let retry_after: i64 = answer.header("retry-after").expect("Retry-After says when").parse().unwrap();
    assert!((86_300..=86_400).contains(&retry_after), "about a day, in seconds: {retry_after}");
    assert_eq!(app.sim().payment_records().len(), 2, "the third reached nobody's phone");

    let ola = app.paid_at(DONATIONS, &json!({ "amount": nok(1_200), "phoneNumber": OLA_TYPED })).await;
    assert_eq!(ola.status, SaleStatus::AwaitingCustomer, "another number has its own day");
}

#[tokio::test]
async fn reading_a_stickers_state_is_limited_per_client_with_a_code_the_page_knows() {
    let app = spawn_app().await;
    let read = |client: reqwest::Client| {
        let request = client.get(format!("{}/api/stickers/{STICKER}", app.base));
        app.send(request)
    };
    for n in 1..=60 {
        let answer = read(browser_at(2)).await;
        assert_eq!(answer.status, StatusCode::OK, "read {n}: {}", answer.body);
    }
    let answer = read(browser_at(2)).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("client-rate-limited"));
    let retry_after: i64 = answer.header("retry-after").expect("Retry-After says when").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "within a minute: {retry_after}");
    assert_eq!(read(browser_at(3)).await.status, StatusCode::OK, "another client reads it");
}

#[tokio::test]
async fn a_page_waiting_at_a_sticker_sees_each_amount_the_till_presents_and_sees_it_go_when_taken() {
    let app = spawn_app().await;
    let mut kari = app.sticker_events(STICKER).await;
    assert_eq!(kari.next_offer().await, None, "the first event is the sticker now: nothing to pay");

    app.present(4_500).await;
    assert_eq!(kari.next_offer().await, Some(4_500), "the amount, the moment the till presents it");
    app.present(5_000).await;
    assert_eq!(kari.next_offer().await, Some(5_000), "a new amount replaces it");
    let withdrawn = app.withdraw().await;
    assert_eq!(withdrawn.status, StatusCode::NO_CONTENT, "{}", withdrawn.body);
    assert_eq!(kari.next_offer().await, None, "taken back: the page waits again");

    // A page that opens later starts from the sticker as it is then.
    app.present(3_000).await;
    assert_eq!(kari.next_offer().await, Some(3_000));
    let mut ola = app.sticker_events(STICKER).await;
    assert_eq!(ola.next_offer().await, Some(3_000));
    // Kari claims it: it is hers, and nobody else's page offers it any more.
    app.paid_at(STICKER, &json!({ "amount": nok(3_000), "phoneNumber": KARI_TYPED })).await;
    assert_eq!(ola.next_offer().await, None);
    assert_eq!(kari.next_offer().await, None);
    // The till takes the claimed amount back and presents another: each page hears of it once.
    app.withdraw().await;
    app.present(2_000).await;
    assert_eq!(ola.next_offer().await, Some(2_000), "nothing sent for a change nobody could see");
}

#[tokio::test]
async fn an_open_amount_sticker_switched_off_offers_nothing_to_its_pages_and_refuses_payments_until_on() {
    use kasse_server::ops::sticker_switch::{SwitchError, switch_with};
    let app = spawn_app().await;
    let tools = app.running.tools();
    let mut page = app.sticker_events(DONATIONS).await;
    assert!(page.next_open().await, "on: the page offers the amount field");

    assert!(switch_with(&tools, DONATIONS, false).await.unwrap(), "switched off");
    assert!(!page.next_open().await, "the waiting page follows: nothing to pay");
    assert!(!switch_with(&tools, DONATIONS, false).await.unwrap(), "off already: nothing changes");
    let now = app.sticker(DONATIONS).await;
    assert_eq!((now.open, now.closed), (None, true), "a page opened now sees it off too, and why");
    let request = json!({ "amount": nok(5_000), "phoneNumber": KARI_TYPED });
    app.refused_at(DONATIONS, &request, StatusCode::CONFLICT, "nothing-to-pay").await;
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");

    assert!(switch_with(&tools, DONATIONS, true).await.unwrap(), "switched on");
    assert!(page.next_open().await, "on again: the amount field is back");
    assert!(!app.sticker(DONATIONS).await.closed);
    app.paid_at(DONATIONS, &request).await;
    assert!(
        matches!(switch_with(&tools, STICKER, false).await, Err(SwitchError::UnknownSticker(_))),
        "a till's sticker"
    );
}

#[tokio::test]
async fn an_unknown_stickers_events_are_not_found() {
    let app = spawn_app().await;
    let answer = app.send(browser().get(format!("{}/api/stickers/nowhere/events", app.base))).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    assert_eq!(answer.problem().code, Some(ProblemCode::UnknownSticker));
}

#[tokio::test]
async fn the_till_sees_the_masked_number_that_claimed_its_amount_and_taking_it_back_cancels_the_request() {
    let app = spawn_app().await;
    app.present(4_500).await;
    let waiting = app.presented_at_till().await.expect("presented");
    assert_eq!((waiting.claimed, waiting.claimed_by), (false, None), "nobody has claimed it yet");

    let payment = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    let reference = app.reference_of_amount(4_500);
    let claimed = app.presented_at_till().await.expect("still the till's, now claimed");
    assert_eq!(claimed.amount, Money::new(4_500, Currency::Nok));
    assert_eq!((claimed.claimed, claimed.claimed_by.as_deref()), (true, Some(kari_masked().as_str())));
    assert_eq!(app.snapshot().await.presented, Some(claimed), "a reloaded till sees the same");
    assert_eq!(app.sticker(STICKER).await.presented, None, "no other customer can claim it");

    // The cashier takes it back in one tap: Kari's request is cancelled, as the till's cancel does.
    let mut events = app.landing_events(&payment.token).await;
    let answer = app.withdraw().await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.body);
    events.until_landing_is(SaleStatus::Cancelled).await;
    assert_eq!(app.sale(&reference).await.status, SaleStatus::Cancelled);
    assert!(!app.on_phone(CUSTOMER, &reference).await, "the request is gone from Kari's phone");
    assert_eq!(app.presented_at_till().await, None);
    app.refused_at(STICKER, &json!({ "phoneNumber": OLA_TYPED }), StatusCode::CONFLICT, "nothing-to-pay")
        .await;
}

#[tokio::test]
async fn a_new_amount_voids_the_claim_on_the_old_one_and_the_next_customer_pays_the_new() {
    let app = spawn_app().await;
    app.present(4_500).await;
    let kari = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    let old = app.reference_of_amount(4_500);
    let mut events = app.landing_events(&kari.token).await;

    app.present(5_000).await;
    events.until_landing_is(SaleStatus::Cancelled).await;
    let presented = app.presented_at_till().await.expect("the new amount");
    assert_eq!((presented.amount.value, presented.claimed), (5_000, false));
    // Kari's page read 45.00: that request cannot claim the new amount.
    let seen = json!({ "amount": nok(4_500), "phoneNumber": KARI_TYPED });
    app.refused_at(STICKER, &seen, StatusCode::CONFLICT, "amount-changed").await;
    let ola = app.paid_at(STICKER, &json!({ "amount": nok(5_000), "phoneNumber": OLA_TYPED })).await;
    assert_eq!(ola.amount, Money::new(5_000, Currency::Nok));
    assert_eq!(app.sale(&old).await.status, SaleStatus::Cancelled);
}

#[tokio::test]
async fn a_claimed_amount_is_used_up_once_its_customer_has_paid() {
    let app = spawn_app().await;
    app.present(4_500).await;
    let payment = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&payment.token).await;
    app.approve_on_phone(CUSTOMER, &app.reference_of_amount(4_500)).await;
    events.until_landing_is(SaleStatus::Captured).await;
    assert_eq!(app.presented_at_till().await, None, "nothing is presented any more");
    assert_eq!(app.withdraw().await.status, StatusCode::NO_CONTENT, "taking back nothing is fine");
    assert_eq!(app.sim().payment_records().len(), 1);
}

#[tokio::test]
async fn a_request_one_limit_refuses_uses_up_nothing_of_the_phones_own_allowance() {
    let app = spawn_app().await;
    for value in [1_000, 1_100, 1_200] {
        app.paid_at(DONATIONS, &json!({ "amount": nok(value), "phoneNumber": KARI_TYPED })).await;
    }
    // Kari's number is used up; retrying it does not count against this phone.
    for _ in 0..3 {
        let again = json!({ "amount": nok(1_300), "phoneNumber": KARI_TYPED });
        app.refused_at(DONATIONS, &again, StatusCode::TOO_MANY_REQUESTS, "number-rate-limited").await;
    }
    // So this phone still has seven of its ten requests, whatever the platform makes of them.
    for n in 1..=7 {
        let other = json!({ "amount": nok(1_000 + n), "phoneNumber": format!("4000000{n}") });
        let answer = app.pay_at(DONATIONS, &other).await;
        assert_ne!(answer.status, StatusCode::TOO_MANY_REQUESTS, "request {n} of seven: {}", answer.body);
    }
    let eleventh = json!({ "amount": nok(1_500), "phoneNumber": OLA_TYPED });
    let answer = app.pay_at(DONATIONS, &eleventh).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert_eq!(answer.problem().code.map(ProblemCode::as_str), Some("client-rate-limited"));
    assert!(answer.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok_and(|s| s > 0)));
}

#[tokio::test]
async fn a_customer_shown_an_amount_the_till_has_since_changed_is_refused_and_pays_nothing() {
    let app = spawn_app().await;
    app.present(4_000).await;
    // The page showed 40.00; the cashier corrects it to 45.00 before the customer presses Pay.
    app.present(4_500).await;
    let seen = json!({ "amount": nok(4_000), "phoneNumber": KARI_TYPED });
    let sentence = app.refused_at(STICKER, &seen, StatusCode::CONFLICT, "amount-changed").await;
    assert!(sentence.contains("changed"), "{sentence}");
    assert!(app.sim().payment_records().is_empty(), "nothing reached the platform");
    let presented = app.sticker(STICKER).await.presented.map(|p| p.amount);
    assert_eq!(presented, Some(Money::new(4_500, Currency::Nok)), "the new amount stays for the customer");

    let payment = app.paid_at(STICKER, &json!({ "amount": nok(4_500), "phoneNumber": KARI_TYPED })).await;
    assert_eq!(payment.amount, Money::new(4_500, Currency::Nok));
}

#[tokio::test]
async fn a_customer_who_declined_sends_the_same_amount_again_until_the_till_moves_on() {
    let app = spawn_app().await;
    app.present(4_500).await;
    let first = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&first.token).await;
    let first_reference = app.reference_of_amount(4_500);
    app.decline_on_phone(CUSTOMER, &first_reference).await;
    events.until_landing_is(SaleStatus::Declined).await;
    assert_eq!(app.sticker(STICKER).await.presented, None, "the declined payment took the amount");

    // Without naming the declined payment there is nothing to pay here.
    let plain = json!({ "phoneNumber": KARI_TYPED });
    app.refused_at(STICKER, &plain, StatusCode::CONFLICT, "nothing-to-pay").await;

    let again = json!({ "phoneNumber": KARI_TYPED, "again": first.token });
    let second = app.paid_at(STICKER, &again).await;
    assert_ne!(second.token, first.token, "a new payment, followed by its own token");
    assert_eq!(
        (second.amount, second.status),
        (Money::new(4_500, Currency::Nok), SaleStatus::AwaitingCustomer)
    );
    let records = app.sim().payment_records();
    assert_eq!(records.len(), 2, "{records:#?}");
    let second_reference =
        records.iter().find(|p| p.reference != first_reference).map(|p| p.reference.clone()).unwrap();
    assert!(app.on_phone(CUSTOMER, &second_reference).await, "the request is on Kari's phone again");

    // The till has moved on (to the second payment): the first cannot be sent once more.
    app.refused_at(STICKER, &again, StatusCode::CONFLICT, "nothing-to-pay").await;
    let mut events = app.landing_events(&second.token).await;
    app.approve_on_phone(CUSTOMER, &second_reference).await;
    events.until_landing_is(SaleStatus::Captured).await;
    // A paid payment is never sent again.
    let paid_again = json!({ "phoneNumber": KARI_TYPED, "again": second.token });
    app.refused_at(STICKER, &paid_again, StatusCode::CONFLICT, "nothing-to-pay").await;
    assert_eq!(app.sim().payment_records().len(), 2, "nothing more reached the platform");
}

#[tokio::test]
async fn a_payment_request_sent_again_with_its_key_finds_the_payment_the_first_made() {
    let app = spawn_app().await;
    let keyed = |key: &str, value: i64| {
        let body = json!({ "amount": nok(value), "phoneNumber": KARI_TYPED });
        browser()
            .post(format!("{}/api/stickers/{DONATIONS}/payments", app.base))
            .header("idempotency-key", key)
            .json(&body)
    };
    let first = app.send(keyed("tap-1", 5_000)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let first: LandingPayment = first.json();
    // The answer never reached the phone; the page sends the same request again.
    let again = app.send(keyed("tap-1", 5_000)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.json::<LandingPayment>(), first, "the same payment, followed by the same token");
    assert_eq!(app.sim().payment_records().len(), 1, "one request on Kari's phone");
    // A new tap is a new payment.
    let second: LandingPayment = app.send(keyed("tap-2", 5_000)).await.json();
    assert_ne!(second.token, first.token);
    assert_eq!(app.sim().payment_records().len(), 2);
}

#[tokio::test]
async fn an_amount_presented_at_the_sticker_goes_when_the_till_takes_the_sale_another_way() {
    let app = spawn_app().await;
    app.present(4_500).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    // The customer cannot use the sticker: the cashier shows a QR code for the same amount.
    let sale = app.start_sale(4_500).await;
    assert_eq!(app.sticker(STICKER).await.presented, None, "the sticker no longer offers it");
    assert_eq!(app.presented_at_till().await, None);
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    // The next customer who scans the sticker is asked for nothing.
    app.refused_at(STICKER, &json!({ "phoneNumber": OLA_TYPED }), StatusCode::CONFLICT, "nothing-to-pay")
        .await;
    assert_eq!(app.sim().payment_records().len(), 1, "only the QR payment");
}

/// Kari declines 45.00 at the till's sticker; returns her payment's token and reference.
async fn declined_at_the_sticker(app: &TestApp) -> (String, String) {
    app.present(4_500).await;
    let first = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&first.token).await;
    let reference = app.reference_of_amount(4_500);
    app.decline_on_phone(CUSTOMER, &reference).await;
    events.until_landing_is(SaleStatus::Declined).await;
    (first.token, reference)
}

#[tokio::test]
async fn nothing_is_sent_again_once_the_till_took_the_amount_back() {
    let app = spawn_app().await;
    let (token, _) = declined_at_the_sticker(&app).await;
    // The customer declined; the cashier takes cash and takes the amount back.
    assert_eq!(app.withdraw().await.status, StatusCode::NO_CONTENT);
    let again = json!({ "amount": nok(4_500), "phoneNumber": KARI_TYPED, "again": token });
    app.refused_at(STICKER, &again, StatusCode::CONFLICT, "nothing-to-pay").await;
    assert_eq!(app.sim().payment_records().len(), 1, "nothing more reached the platform");
}

#[tokio::test]
async fn a_request_sent_again_is_the_tills_to_take_back_as_the_first_was() {
    let app = spawn_app().await;
    let (token, first_reference) = declined_at_the_sticker(&app).await;
    let again = json!({ "amount": nok(4_500), "phoneNumber": KARI_TYPED, "again": token });
    let second = app.paid_at(STICKER, &again).await;
    let second_reference = app
        .sim()
        .payment_records()
        .into_iter()
        .find(|p| p.reference != first_reference)
        .map(|p| p.reference)
        .expect("sent again");
    let claimed = app.presented_at_till().await.expect("the till presents it, claimed again");
    assert_eq!((claimed.claimed, claimed.claimed_by.as_deref()), (true, Some(kari_masked().as_str())));

    // The cashier moves on to the next customer's amount: Kari's request is taken back.
    let mut events = app.landing_events(&second.token).await;
    app.present(6_000).await;
    events.until_landing_is(SaleStatus::Cancelled).await;
    assert_eq!(app.sale(&second_reference).await.status, SaleStatus::Cancelled);
    assert!(!app.on_phone(CUSTOMER, &second_reference).await, "gone from Kari's phone");
    let presented = app.presented_at_till().await.expect("the new amount");
    assert_eq!((presented.amount.value, presented.claimed), (6_000, false), "free for the next customer");
}

#[tokio::test]
async fn send_again_cannot_reuse_a_payment_from_another_sticker_or_after_the_till_started_a_sale() {
    let app = spawn_app().await;
    let donation = app.paid_at(DONATIONS, &json!({ "amount": nok(2_000), "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&donation.token).await;
    app.decline_on_phone(CUSTOMER, &app.reference_of_amount(2_000)).await;
    events.until_landing_is(SaleStatus::Declined).await;
    let elsewhere = json!({ "phoneNumber": KARI_TYPED, "again": donation.token });
    app.refused_at(STICKER, &elsewhere, StatusCode::CONFLICT, "nothing-to-pay").await;

    app.present(4_500).await;
    let first = app.paid_at(STICKER, &json!({ "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&first.token).await;
    app.decline_on_phone(CUSTOMER, &app.reference_of_amount(4_500)).await;
    events.until_landing_is(SaleStatus::Declined).await;
    // The cashier takes the next customer's payment at the till.
    let sale = app.start_sale(9_900).await;
    assert_eq!(app.cancel(&sale.reference).await.status, StatusCode::OK);
    let again = json!({ "phoneNumber": KARI_TYPED, "again": first.token });
    app.refused_at(STICKER, &again, StatusCode::CONFLICT, "nothing-to-pay").await;
    assert_eq!(
        app.sim().payment_records().len(),
        3,
        "the donation, the declined payment and the till's sale"
    );
}

#[tokio::test]
async fn a_stickers_address_serves_the_landing_pages_own_bundle_precompressed_when_the_browser_takes_it() {
    let app = spawn_app().await;
    let landing = app.dir.join("dist").join("landing");
    std::fs::create_dir_all(&landing).unwrap();
    let page = "<!doctype html><title>landing</title>";
    std::fs::write(landing.join("index.html"), page).unwrap();
    // The server sends these as they are: it never compresses or decompresses them itself.
    std::fs::write(landing.join("index.html.br"), "brotli bytes").unwrap();
    std::fs::write(landing.join("index.html.gz"), "gzip bytes").unwrap();
    let wasm = "landing-0123456789abcdef_bg.wasm";
    std::fs::write(landing.join(wasm), "raw wasm").unwrap();
    std::fs::write(landing.join(format!("{wasm}.br")), "brotli wasm").unwrap();

    let get = |path: &str, accept: Option<&str>| {
        let mut request = browser().get(format!("{}{path}", app.base));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        app.send(request)
    };
    let brotli = get("/q/demo", Some("gzip, deflate, br")).await;
    assert_eq!((brotli.status, brotli.body.as_str()), (StatusCode::OK, "brotli bytes"));
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    assert!(
        brotli.header("content-type").is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        brotli.headers
    );
    assert_eq!(brotli.header("vary"), Some("accept-encoding"), "caches keep each encoding apart");
    assert_eq!(brotli.header("content-security-policy"), Some(kasse_server::CSP));
    let gzip = get("/q/donations", Some("gzip")).await;
    assert_eq!((gzip.body.as_str(), gzip.header("content-encoding")), ("gzip bytes", Some("gzip")));
    let plain = get("/q/demo", None).await;
    assert_eq!((plain.body.as_str(), plain.header("content-encoding")), (page, None));
    // The page's first request starts with the page, not after its code has loaded.
    assert_eq!(plain.header("link"), Some("</api/stickers/demo>; rel=preload; as=fetch; crossorigin"));
    assert_eq!(gzip.header("link"), Some("</api/stickers/donations>; rel=preload; as=fetch; crossorigin"));
    assert_eq!(get("/q/no%20such", None).await.header("link"), None, "an id the page does not read");
    assert_eq!(get("/till", None).await.header("link"), None);

    let bundle = get(&format!("/landing/{wasm}"), Some("br")).await;
    assert_eq!((bundle.body.as_str(), bundle.header("content-encoding")), ("brotli wasm", Some("br")));
    assert_eq!(bundle.header("content-type"), Some("application/wasm"), "streaming compilation needs it");
    assert!(bundle.header("cache-control").is_some_and(|c| c.contains("immutable")));
    // No .gz beside it: a browser taking only gzip gets the file as it is.
    let raw = get(&format!("/landing/{wasm}"), Some("gzip")).await;
    assert_eq!((raw.body.as_str(), raw.header("content-encoding")), ("raw wasm", None));

    // The till's routes are still the till's page.
    assert_eq!(get("/till", Some("br")).await.body, INDEX_HTML);
}

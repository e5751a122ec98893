//! Loyalty by consent, through the server and the simulator's phone: at a store with loyalty a
//! till may ask a customer, sale by sale, to share their phone number; the app then asks them,
//! and they pay only if they agree (the platform's rule). Shared, the number (read through
//! Userinfo by the payment's `sub`) is looked up in the member list, a CSV file or the merchant's
//! loyalty system, and the sale says "member" with the member's name, in the till's events, the
//! sale and the history. A sale that does not ask asks nothing; a store without loyalty refuses
//! to ask.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use kasse_api::{Loyalty, Sale, SaleStatus};
use kasse_server::config::{LoyaltyConfig, MemberList};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Kari Nordmann's number is on the list, written as people write it; Ola's is not.
const MEMBERS: &str = "phone_number,name\n+47 912 34 567,Kari Nordmann\n";
/// Ola Nordmann, a simulated customer who is not a member.
const NOT_A_MEMBER: &str = "4798765432";

/// The demo store with loyalty, its members in `members`.
async fn app_with(members: MemberList) -> TestApp {
    spawn_app_with(|config| {
        config.stores[0].loyalty = Some(LoyaltyConfig { members, check_in_screen: false });
    })
    .await
}

/// A member list file in a folder of its own.
fn member_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kasse-members-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("members.csv");
    std::fs::write(&path, MEMBERS).unwrap();
    path
}

impl TestApp {
    /// Starts a QR sale that asks the customer to share their number.
    async fn start_loyalty_sale(&self) -> Sale {
        let body = json!({"amount": {"value": 2_500, "currency": "NOK"}, "flow": "qr", "loyalty": true});
        let answer = self.try_start_sale(&body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.json()
    }

    /// `customer` scans the sale's QR code, is asked for their number, answers `share`, and
    /// approves; the phone's status.
    async fn approve_sharing(&self, sale: &Sale, customer: &str, share: &str) -> StatusCode {
        let qr = sale.qr.as_deref().expect("a QR sale has a QR code");
        let page = self.http.get(qr).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("asks for your phone number"), "the app asks first: {page}");
        let answer = self
            .http
            .post(qr)
            .form(&[("action", "approve"), ("customer", customer), ("share", share)])
            .send()
            .await
            .unwrap();
        answer.status()
    }

    /// A QR sale that does not ask: the phone page asks nothing, the payment goes through, and
    /// nothing is shared or looked up.
    async fn pays_without_asking(&self) {
        let mut events = self.events_after(self.snapshot().await.last_event_id).await;
        let sale = self.start_sale(2_500).await;
        let page = self.http.get(sale.qr.as_deref().unwrap()).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("asks for"), "{page}");
        self.approve(&sale).await;
        let captured = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
        assert_eq!(captured.last().unwrap().sale().loyalty, None);
        assert!(self.platform_payment(&sale.reference).profile.sub.is_none(), "nothing shared");
    }

    /// A QR sale that asks, approved by `customer`, who shares; the sale once the till has been
    /// told whether they are a member.
    async fn recognised_sale(&self, customer: &str) -> Sale {
        let mut events = self.events_after(self.snapshot().await.last_event_id).await;
        let sale = self.start_loyalty_sale().await;
        assert!(self.approve_sharing(&sale, customer, "yes").await.is_success());
        let shown = events
            .next_event_until("with the customer's loyalty", |e| {
                e.sale_if_any().is_some_and(|s| s.reference == sale.reference && s.loyalty.is_some())
            })
            .await;
        let statuses = statuses(&shown);
        assert!(statuses.contains(&SaleStatus::Captured), "captured first, then recognised: {statuses:?}");
        shown.last().unwrap().sale()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_who_shares_is_shown_as_a_member_by_name_on_the_sale_and_in_the_history() {
    let app = app_with(MemberList::File(member_file())).await;
    let till: Value = app.get(&format!("/api/tills/{TILL}")).await.json();
    assert_eq!(till["till"]["loyalty"], true, "the till offers to ask: {till}");
    let sale = app.recognised_sale(CUSTOMER).await;
    let member = Some(Loyalty::Member { name: Some("Kari Nordmann".to_owned()) });
    assert_eq!(sale.loyalty, member);
    assert_eq!(sale.status, SaleStatus::Captured, "the payment went through as ever");
    assert_eq!(app.sale(&sale.reference).await.loyalty, member, "the sale as the till reads it");
    let history = app.get(&format!("/api/tills/{TILL}/sales")).await;
    assert!(history.body.contains(r#""loyalty":{"is":"member","name":"Kari Nordmann"}"#), "{}", history.body);
    // The platform was asked for the profile, and Kari shared it: the payment names her.
    let kari = app.sim().config().customer(CUSTOMER).unwrap().sub();
    assert_eq!(app.platform_payment(&sale.reference).profile.sub, Some(kari));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_who_will_not_share_cannot_pay_that_way_and_the_till_rings_it_up_again_without_asking() {
    let app = app_with(MemberList::File(member_file())).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let asked = app.start_loyalty_sale().await;
    let refused = app.approve_sharing(&asked, CUSTOMER, "no").await;
    assert_eq!(refused, StatusCode::BAD_REQUEST, "the app lets no one pay without agreeing");
    let ended = events.until_sale_is(&asked.reference, SaleStatus::Declined).await;
    assert_eq!(ended.last().unwrap().sale().loyalty, None, "nothing looked up");

    // Rung up again without asking: no question, and the payment goes through.
    app.pays_without_asking().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_not_on_the_list_is_not_a_member() {
    let app = app_with(MemberList::File(member_file())).await;
    let sale = app.recognised_sale(NOT_A_MEMBER).await;
    assert_eq!(sale.loyalty, Some(Loyalty::NotMember));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_merchants_loyalty_system_is_asked_with_a_signed_question_and_its_answer_shown() {
    // The merchant's loyalty system: members by number, every question kept.
    let asked: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let kept = Arc::clone(&asked);
    let system = axum::Router::new().route(
        "/member",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let kept = Arc::clone(&kept);
            async move {
                let question: Value = serde_json::from_slice(&body).unwrap();
                let mut kept = kept.lock().unwrap();
                kept.push((headers, body));
                if kept.len() == 1 {
                    // Down for the first question: kasse asks again a little later.
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})));
                }
                let member = question["phoneNumber"] == CUSTOMER;
                (
                    axum::http::StatusCode::OK,
                    axum::Json(json!({"member": member, "name": member.then_some("Kari N.")})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/member", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, system).await });
    let secret = "loyalty-secret-of-the-merchant";
    let app = app_with(MemberList::Callback {
        url: url.parse().unwrap(),
        secret: kasse_vipps::Secret::new(secret.to_owned()),
    })
    .await;

    let sale = app.recognised_sale(CUSTOMER).await;
    assert_eq!(sale.loyalty, Some(Loyalty::Member { name: Some("Kari N.".to_owned()) }), "asked again");
    let other = app.recognised_sale(NOT_A_MEMBER).await;
    assert_eq!(other.loyalty, Some(Loyalty::NotMember));

    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 3, "Kari twice (the first went unanswered), Ola once");
    let (headers, body) = &asked[0];
    assert_eq!(
        serde_json::from_slice::<Value>(body).unwrap(),
        json!({"phoneNumber": CUSTOMER, "store": "grunerlokka"})
    );
    // Signed as the platform signs its webhooks, so the merchant's system can verify it with
    // the same code.
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    let expected =
        kasse_vipps::signing::sign(secret, &url.parse().unwrap(), &header("x-ms-date"), body).unwrap();
    assert_eq!(header("authorization"), expected.authorization);
    assert_eq!(header("x-ms-content-sha256"), expected.content_sha256);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_without_loyalty_asks_nothing_and_refuses_a_sale_that_would() {
    let app = spawn_app().await;
    let body = json!({"amount": {"value": 2_500, "currency": "NOK"}, "flow": "qr", "loyalty": true});
    let refused = app.try_start_sale(&body).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.json::<Value>()["code"], "no-loyalty", "{}", refused.body);
    assert!(app.sim().payment_records().is_empty(), "nothing sent");

    app.pays_without_asking().await;
}

impl TestApp {
    /// The loyalty check-ins the platform was asked for, once there are `n` of them (each is
    /// sent on its own, after the till's request is answered).
    async fn loyalty_check_ins(&self, n: usize) -> Vec<kasse_sim::LoyaltyCheckInRecord> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let made = self.sim().loyalty_check_ins();
            if made.len() >= n || tokio::time::Instant::now() > deadline {
                return made;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// (phone number, member) of each loyalty check-in.
fn greeted(made: &[kasse_sim::LoyaltyCheckInRecord]) -> Vec<(&str, bool)> {
    made.iter().map(|c| (c.phone_number.as_str(), c.is_member)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_typed_or_checked_in_in_norway_is_shown_the_apps_loyalty_check_in_and_others_are_not() {
    let app = spawn_app_with(|config| {
        let members = MemberList::File(member_file());
        config.stores[0].loyalty = Some(LoyaltyConfig { members, check_in_screen: true });
    })
    .await;
    // Kari's number typed by the cashier.
    let typed = app
        .try_start_sale(&json!({"amount": {"value": 1000, "currency": "NOK"}, "flow": "phone", "phoneNumber": "912 34 567"}))
        .await;
    assert_eq!(typed.status, StatusCode::CREATED, "{}", typed.body);
    assert_eq!(greeted(&app.loyalty_check_ins(1).await), [(CUSTOMER, true)]);
    assert_eq!(app.cancel(&typed.json::<Sale>().reference).await.status, StatusCode::OK);

    // Ola's personal QR scanned: the platform tells kasse his number; he is not a member, so no
    // screen.
    let code = app.sim().config().customer(NOT_A_MEMBER).unwrap().personal_qr();
    let scanned = app
        .try_start_sale(
            &json!({"amount": {"value": 1000, "currency": "NOK"}, "flow": "personalQr", "personalQr": code}),
        )
        .await;
    assert_eq!(scanned.status, StatusCode::CREATED, "{}", scanned.body);
    assert_eq!(app.cancel(&scanned.json::<Sale>().reference).await.status, StatusCode::OK);

    // Kari checks in at the till's sticker.
    app.merchant_client()
        .put_callback_qr(TILL, &kasse_vipps::qr::MerchantCallbackPutRequest::at("Kasse 1"))
        .await
        .unwrap();
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.scan_callback_sticker(CUSTOMER, TILL).await;
    events.until_check_in("announcing Kari's check-in", |_| true).await;
    assert_eq!(greeted(&app.loyalty_check_ins(2).await), [(CUSTOMER, true), (CUSTOMER, true)], "Ola never");
    assert!(app.sim().loyalty_check_ins().iter().all(|c| c.msn == MSN));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_check_in_screen_nobody_is_greeted_only_recognised_after_sharing() {
    let app = app_with(MemberList::File(member_file())).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let typed = app
        .try_start_sale(&json!({"amount": {"value": 1000, "currency": "NOK"}, "flow": "phone", "phoneNumber": "912 34 567", "loyalty": true}))
        .await;
    let sale: Sale = typed.json();
    app.approve_on_phone_sharing(&sale.reference).await;
    events
        .next_event_until("with Kari recognised", |e| {
            e.sale_if_any().is_some_and(|s| s.reference == sale.reference && s.loyalty.is_some())
        })
        .await;
    assert!(app.sim().loyalty_check_ins().is_empty(), "{:?}", app.sim().loyalty_check_ins());
}

impl TestApp {
    /// Kari approves the push request for `reference` on her phone, sharing her number.
    async fn approve_on_phone_sharing(&self, reference: &str) {
        let page = phone_page(self.sim(), CUSTOMER).await;
        assert!(page.contains("asks for your phone number"), "the request asks first: {page}");
        let form = attribute_after(&page, &format!("data-reference=\"{reference}\""), "action")
            .unwrap_or_else(|| panic!("{reference} waits on Kari's phone: {page}"));
        let url = self.sim().base_url().join(form).unwrap();
        let answer = self
            .http
            .post(url)
            .form(&[("action", "approve"), ("customer", CUSTOMER), ("share", "yes")])
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "the phone took the approval: {}", answer.status());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn loyalty_forget_run_by_the_binary_forgets_a_members_name_on_their_sales_and_keeps_that_they_were_one()
{
    let operator = crate::cli::Operator::new().await;
    // Any tool makes the database, migrated.
    assert_eq!(operator.run(&["till", "list"]).await.status.code(), Some(0));
    let database = operator.config.with_file_name("kasse.db");
    let db = rusqlite::Connection::open(&database).unwrap();
    for (reference, name) in [("till-1-aaaa", "Kari Nordmann"), ("till-1-bbbb", "Ola Nordmann")] {
        db.execute(
            "INSERT INTO payments (reference, till_id, msn, flow, currency, amount, status, active, authorized, \
             captured, cancelled, refunded, created_at, updated_at, loyalty, member_name) \
             VALUES (?1, 'till-1', '123456', 'qr', 'NOK', 1000, 'captured', 0, 1000, 1000, 0, 0, 1, 1, 'member', ?2)",
            (reference, name),
        )
        .unwrap();
    }
    let out = operator.run(&["loyalty", "forget", "Kari Nordmann"]).await;
    let said = crate::cli::text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", crate::cli::text(&out.stderr));
    assert!(said.contains("Kari Nordmann: forgotten on 1 sale and"), "{said}");
    let names: Vec<(String, Option<String>)> = db
        .prepare("SELECT loyalty, member_name FROM payments ORDER BY reference")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        names,
        [("member".to_owned(), None), ("member".to_owned(), Some("Ola Nordmann".to_owned()))],
        "Kari is still a member who paid, unnamed; Ola is untouched"
    );
}

//! A sale in the back office: its detail and event log, and what a manager can do with it from
//! there: refund (with the PIN above the store's limit, and nothing sent when the PIN is wrong),
//! take part of a reservation and release the rest. A sale of a store the manager does not
//! manage is not found (nor is its sales unit on their health page). A payment on an open-amount
//! sticker, which no till took, is its store's all the same: listed, counted and refundable.

use kasse_api::{
    AdminSale, EndOfDay, History, ManagerSession, Money, OpenSticker, ProblemCode, Sale, SaleEvent,
    SaleStatus,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{ManagerBrowser, PIN, code_of, manager, two_stores};
use crate::helpers::*;
use crate::landing::{DONATIONS, KARI_TYPED, nok};

impl ManagerBrowser {
    async fn sale(&self, reference: &str) -> AdminSale {
        let (status, body) = self.get(&format!("/api/admin/sales/{reference}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn refund(&self, reference: &str, value: i64, pin: Option<&str>) -> (StatusCode, String) {
        let body = json!({ "amount": { "value": value, "currency": "NOK" }, "pin": pin });
        self.post(&format!("/api/admin/sales/{reference}/refund"), &body).await
    }
}

#[tokio::test]
async fn a_manager_opens_any_days_sale_with_its_log_and_refunds_part_of_it_with_the_pin() {
    let app = spawn_app().await;
    let sale = app.taken_sale(12_550).await;
    let manager = manager(&app, "Ingrid", None).await;

    let shown = manager.sale(&sale.reference).await;
    assert_eq!((shown.till.as_str(), shown.sale.captured.value), (TILL, 12_550));
    assert_eq!(shown.refund_pin_above, Money::new(0, kasse_api::Currency::Nok), "by default every refund");
    let (status, body) = manager.get(&format!("/api/admin/sales/{}/log", sale.reference)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let log: Vec<SaleEvent> = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = log.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&"AUTHORIZED") && names.contains(&"CAPTURED"), "{names:?}");

    // No PIN, or a wrong one: refused, and nothing is refunded.
    let (status, body) = manager.refund(&sale.reference, 2_000, None).await;
    assert_eq!((status, code_of(&body)), (StatusCode::BAD_REQUEST, Some(ProblemCode::PinRequired)), "{body}");
    let (status, body) = manager.refund(&sale.reference, 2_000, Some("0000")).await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)), "{body}");
    assert_eq!(manager.sale(&sale.reference).await.sale.refunded.value, 0);

    let (status, body) = manager.refund(&sale.reference, 2_000, Some(PIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refunded: Sale = serde_json::from_str(&body).unwrap();
    assert_eq!((refunded.refunded.value, refunded.status), (2_000, SaleStatus::Captured));
    // As the platform has it, and as the till sees it.
    let remote = app.sim().payment(MSN, &sale.reference).unwrap().aggregate;
    assert_eq!(remote.refunded_amount.value, 2_000);
    assert_eq!(app.sale(&sale.reference).await.refunded.value, 2_000);
    // More than is left is refused, PIN or not.
    let (status, body) = manager.refund(&sale.reference, 12_550, Some(PIN)).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::BAD_REQUEST, Some(ProblemCode::AmountOutOfRange)),
        "{body}"
    );
}

#[tokio::test]
async fn refunds_up_to_the_stores_limit_in_all_need_no_pin_and_any_past_it_does() {
    let app = spawn_app_with(|config| config.stores[0].refund_pin_above = 5_000).await;
    let sale = app.taken_sale(12_550).await;
    let manager = manager(&app, "Ingrid", None).await;
    assert_eq!(manager.sale(&sale.reference).await.refund_pin_above.value, 5_000);

    let (status, body) = manager.refund(&sale.reference, 3_000, None).await;
    assert_eq!(status, StatusCode::OK, "up to the limit: {body}");
    let (status, body) = manager.refund(&sale.reference, 2_000, None).await;
    assert_eq!(status, StatusCode::OK, "5 000 in all, still up to the limit: {body}");
    // One more, however small, would make more than the limit in all: small refunds are no way
    // around it.
    let (status, body) = manager.refund(&sale.reference, 1, None).await;
    assert_eq!((status, code_of(&body)), (StatusCode::BAD_REQUEST, Some(ProblemCode::PinRequired)), "{body}");
    let (status, body) = manager.refund(&sale.reference, 5_001, Some(PIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(manager.sale(&sale.reference).await.sale.refunded.value, 10_001);
    // A refund in another currency is refused before its PIN costs an attempt.
    let body = json!({ "amount": { "value": 100, "currency": "DKK" }, "pin": "0000" });
    let (status, answer) = manager.post(&format!("/api/admin/sales/{}/refund", sale.reference), &body).await;
    assert_eq!(
        (status, code_of(&answer)),
        (StatusCode::BAD_REQUEST, Some(ProblemCode::WrongCurrency)),
        "{answer}"
    );
}

#[tokio::test]
async fn a_manager_takes_part_of_a_reservation_and_releases_the_rest() {
    let app =
        spawn_app_with(|config| config.tills[0].capture = kasse_server::config::CapturePolicy::Manual).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_550).await;
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Authorized).await;
    let manager = manager(&app, "Ingrid", None).await;

    let path = |action: &str| format!("/api/admin/sales/{}/{action}", sale.reference);
    let (status, body) =
        manager.post(&path("capture"), &json!({ "amount": { "value": 5_000, "currency": "NOK" } })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = manager.post(&path("cancel"), &json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let released: Sale = serde_json::from_str(&body).unwrap();
    assert_eq!((released.captured.value, released.cancelled.value), (5_000, 7_550));
    let remote = app.sim().payment(MSN, &sale.reference).unwrap().aggregate;
    assert_eq!((remote.captured_amount.value, remote.cancelled_amount.value), (5_000, 7_550));
}

#[tokio::test]
async fn a_sale_of_a_store_the_manager_does_not_manage_is_not_found() {
    let app = two_stores().await;
    let sale = app.taken_sale(12_550).await;
    let other = manager(&app, "Mette", Some("norrebro")).await;
    for path in ["", "/log"] {
        let (status, body) = other.get(&format!("/api/admin/sales/{}{path}", sale.reference)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = other.refund(&sale.reference, 100, Some(PIN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other.get("/api/admin/sales/till-1-nosuchsale").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor is the other store's sales unit on their health page.
    let (status, body) = other.get("/api/admin/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let health: kasse_api::AdminHealth = serde_json::from_str(&body).unwrap();
    assert_eq!(health.units.iter().map(|u| u.msn.as_str()).collect::<Vec<_>>(), ["234567"]);
}

#[tokio::test]
async fn a_payment_on_an_open_amount_sticker_is_in_its_stores_sales_end_of_day_and_csv_and_refunds_there() {
    let app = two_stores().await;
    let payment = app.paid_at(DONATIONS, &json!({ "amount": nok(2_000), "phoneNumber": KARI_TYPED })).await;
    let mut events = app.landing_events(&payment.token).await;
    let reference = app.reference_of_amount(2_000);
    app.approve_on_phone(CUSTOMER, &reference).await;
    events.until_landing_is(SaleStatus::Captured).await;
    let ingrid = manager(&app, "Ingrid", None).await;

    // The store lists its sticker, and the sale is the sticker's, not a till's.
    let (_, body) = ingrid.get("/api/admin/session").await;
    let session: ManagerSession = serde_json::from_str(&body).unwrap();
    let donations =
        OpenSticker { id: DONATIONS.to_owned(), description: "Donation to the coffee fund".to_owned() };
    assert_eq!(session.stores[0].stickers, [donations]);
    assert!(session.stores[1].stickers.is_empty());
    let shown = ingrid.sale(&reference).await;
    assert_eq!((shown.till.as_str(), shown.sale.sticker_id.as_deref()), ("", Some(DONATIONS)));
    assert_eq!(shown.sale.captured.value, 2_000);
    let listed = |query: &'static str| {
        let ingrid = &ingrid;
        async move {
            let (status, body) = ingrid.get(&format!("/api/admin/sales{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            let history: History = serde_json::from_str(&body).unwrap();
            history.sales.into_iter().map(|s| s.reference).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("").await, [reference.as_str()], "every till's and sticker's");
    assert_eq!(listed("?sticker=donations").await, [reference.as_str()]);
    assert!(listed("?till=till-1").await.is_empty(), "no till took it");
    for (query, status, code) in [
        ("?till=till-1&sticker=donations", StatusCode::BAD_REQUEST, ProblemCode::BadQuery),
        ("?sticker=no-such-sticker", StatusCode::NOT_FOUND, ProblemCode::UnknownSticker),
    ] {
        let (answered, body) = ingrid.get(&format!("/api/admin/sales{query}")).await;
        assert_eq!((answered, code_of(&body)), (status, Some(code)), "{query}: {body}");
    }

    // Its day: the sticker's figures, in its store's, and a line of the CSV named after it.
    // Oslo's date of the sale (the store's), at noon UTC on it.
    let oslo_day = kasse_server::local_day::start_of_day(shown.sale.created_at_ms, kasse_api::Currency::Nok);
    let noon = chrono::DateTime::from_timestamp_millis(oslo_day + 12 * 3_600_000).unwrap();
    let day = format!("?day={}", noon.format("%Y-%m-%d"));
    let (_, body) = ingrid.get(&format!("/api/admin/end-of-day{day}")).await;
    let end: EndOfDay = serde_json::from_str(&body).unwrap();
    let oslo = &end.stores[0];
    assert_eq!(oslo.stickers.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [DONATIONS]);
    assert_eq!(oslo.stickers[0].figures, oslo.figures, "the store's one sale is the sticker's");
    assert_eq!((oslo.figures.count, oslo.figures.money[0].captured), (1, 2_000));
    assert_eq!(oslo.tills[0].figures.count, 0, "the till sold nothing");
    let (_, csv) = ingrid.get(&format!("/api/admin/end-of-day.csv{day}")).await;
    let line = csv.lines().find(|l| l.contains(&reference)).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        line.starts_with("Kaffebrenneriet Grünerløkka,Donation to the coffee fund,")
            && line.ends_with(",NOK,20.00,20.00,0.00,0.00"),
        "{line}"
    );

    // Refunded from the back office, as the platform has it.
    let (status, body) = ingrid.refund(&reference, 500, Some(PIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.sim().payment(MSN, &reference).unwrap().aggregate.refunded_amount.value, 500);

    // Another store's manager sees none of it.
    let ola = manager(&app, "Ola", Some("norrebro")).await;
    assert_eq!(ola.get(&format!("/api/admin/sales/{reference}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ola.get("/api/admin/sales?sticker=donations").await.0, StatusCode::FORBIDDEN);
    let (_, body) = ola.get("/api/admin/sales").await;
    assert!(!body.contains(&reference), "{body}");
}

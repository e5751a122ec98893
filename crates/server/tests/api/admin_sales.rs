//! A sale in the back office: its detail and event log, and what a manager can do with it from
//! there: refund (with the PIN above the store's limit, and nothing sent when the PIN is wrong),
//! take part of a reservation and release the rest. A sale of a store the manager does not
//! manage is not found (nor is its sales unit on their health page).

use kasse_api::{AdminSale, Money, ProblemCode, Sale, SaleEvent, SaleStatus};
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{ManagerBrowser, PIN, code_of, manager, two_stores};
use crate::helpers::*;

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

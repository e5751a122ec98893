//! A till's refund of a sale from an earlier day, at a store that says a manager must agree
//! (`earlier_day_refunds_need_manager`): a sale of the store's day (from its own midnight)
//! refunds as always; one from a minute before asks for the PIN of one of the store's managers
//! (never another store's), refunds nothing without the right one, and five wrong ones at a till
//! lock it for a while. A manager's PIN locked in the back office is not taken at a till either.

use kasse_api::{ProblemCode, Sale};
use reqwest::StatusCode;
use serde_json::json;

use crate::admin::{PIN, code_of, manager};
use crate::helpers::*;

/// The demo on the database file in `data`, its store asking for a manager's PIN to refund an
/// earlier day's sale at the till.
async fn asking_store(data: &DataDir) -> TestApp {
    let url = data.url();
    spawn_app_with(move |config| {
        config.database_url = url;
        config.stores[0].earlier_day_refunds_need_manager = true;
    })
    .await
}

/// The till refunds `value` of `sale`, with `manager_pin` if any.
async fn refund(app: &TestApp, sale: &Sale, value: i64, manager_pin: Option<&str>) -> (StatusCode, String) {
    let body = json!({ "amount": { "value": value, "currency": "NOK" }, "managerPin": manager_pin });
    let answer = app
        .http
        .post(format!("{}/api/tills/{TILL}/sales/{}/refund", app.base, sale.reference))
        .json(&body)
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

/// Moves `sale` back two days, as if it had been taken then.
fn two_days_ago(data: &DataDir, sale: &Sale) {
    started_at(data, sale, sale.created_at_ms - 2 * 86_400_000);
}

/// When the demo store's day began (Oslo's midnight).
fn store_midnight() -> i64 {
    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis(),
    );
    kasse_server::local_day::start_of_day(now.unwrap(), kasse_api::Currency::Nok)
}

/// What the platform has refunded of `sale`.
fn refunded_at_platform(app: &TestApp, sale: &Sale) -> i64 {
    app.sim().payment(MSN, &sale.reference).unwrap().aggregate.refunded_amount.value
}

#[tokio::test]
async fn an_earlier_days_refund_at_the_till_needs_a_store_managers_pin_and_todays_does_not() {
    let data = DataDir::new();
    let app = asking_store(&data).await;
    let _ingrid = manager(&app, "Ingrid", None).await;

    // Started at the store's midnight: today's, refunded as always.
    let today = app.taken_sale(12_550).await;
    started_at(&data, &today, store_midnight());
    let (status, body) = refund(&app, &today, 1_000, None).await;
    assert_eq!(status, StatusCode::OK, "today's sale refunds as always: {body}");

    // A minute before it: yesterday's.
    let old = app.taken_sale(12_550).await;
    started_at(&data, &old, store_midnight() - 60_000);
    let (status, body) = refund(&app, &old, 2_000, None).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::FORBIDDEN, Some(ProblemCode::ManagerPinRequired)),
        "{body}"
    );
    let (status, body) = refund(&app, &old, 2_000, Some("0000")).await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)), "{body}");
    assert_eq!(refunded_at_platform(&app, &old), 0, "nothing is refunded without the right PIN");

    let (status, body) = refund(&app, &old, 2_000, Some(PIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(refunded_at_platform(&app, &old), 2_000);
}

#[tokio::test]
async fn five_wrong_manager_pins_at_a_till_lock_it_even_for_the_right_one_and_a_store_that_does_not_ask_never_does()
 {
    let data = DataDir::new();
    let app = asking_store(&data).await;
    let _ingrid = manager(&app, "Ingrid", None).await;
    let old = app.taken_sale(12_550).await;
    two_days_ago(&data, &old);
    for _ in 0..5 {
        let (status, _) = refund(&app, &old, 100, Some("9999")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, body) = refund(&app, &old, 100, Some(PIN)).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::TOO_MANY_REQUESTS, Some(ProblemCode::PinLocked)),
        "{body}"
    );
    assert_eq!(refunded_at_platform(&app, &old), 0);

    // The demo store does not ask: an earlier day's sale refunds at the till as always.
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    let old = app.taken_sale(12_550).await;
    two_days_ago(&data, &old);
    let (status, body) = refund(&app, &old, 100, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_managers_pin_locked_by_wrong_ones_in_the_back_office_is_not_taken_at_a_till_until_it_opens() {
    let data = DataDir::new();
    let app = asking_store(&data).await;
    let ingrid = manager(&app, "Ingrid", None).await;
    let old = app.taken_sale(12_550).await;
    two_days_ago(&data, &old);

    // Five wrong PINs in the back office, and the sixth try finds it locked.
    let code_with = |pin: &str| json!({ "for": { "kind": "till", "till": TILL }, "pin": pin });
    for _ in 0..5 {
        let (status, body) = ingrid.post("/api/admin/pairing-codes", &code_with("0000")).await;
        assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)), "{body}");
    }
    let (status, body) = ingrid.post("/api/admin/pairing-codes", &code_with(PIN)).await;
    assert_eq!(
        (status, code_of(&body)),
        (StatusCode::TOO_MANY_REQUESTS, Some(ProblemCode::PinLocked)),
        "{body}"
    );

    // The right PIN at a till is no way around it, and says no more than a wrong one.
    let (status, body) = refund(&app, &old, 2_000, Some(PIN)).await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)), "{body}");
    assert_eq!(refunded_at_platform(&app, &old), 0);

    // Once the lock has run out, the till takes it.
    let conn = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    conn.busy_timeout(PATIENCE).unwrap();
    conn.execute("UPDATE managers SET pin_locked_until = 1 WHERE name = 'Ingrid'", []).unwrap();
    let (status, body) = refund(&app, &old, 2_000, Some(PIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(refunded_at_platform(&app, &old), 2_000);
}

#[tokio::test]
async fn the_pin_of_another_stores_manager_refunds_nothing_at_this_stores_till() {
    let data = DataDir::new();
    let url = data.url();
    let app = crate::admin::two_stores_with(move |config| {
        config.database_url = url;
        config.stores[0].earlier_day_refunds_need_manager = true;
    })
    .await;
    // Mette manages Nørrebro only; her PIN is the same digits as any other's in these tests.
    let _mette = manager(&app, "Mette", Some("norrebro")).await;
    let old = app.taken_sale(12_550).await;
    two_days_ago(&data, &old);
    let (status, body) = refund(&app, &old, 100, Some(PIN)).await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)), "{body}");
    assert_eq!(refunded_at_platform(&app, &old), 0);
}

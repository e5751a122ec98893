//! The back office's API: a manager paired with a code and a PIN, what a manager may see and do
//! (and a till's or display's session may not), pairing and revoking devices with the PIN, wrong
//! PINs locked out, and the sales of any till, day and search.

use kasse_api::{
    Device, DeviceKind, History, ManagerSession, Paired, PairingCode, ProblemCode, Role, SaleStatus,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The manager's PIN in these tests.
pub(crate) const PIN: &str = "4711";

/// A browser paired as a manager: its client and the answer to its pairing.
pub(crate) struct ManagerBrowser {
    pub(crate) http: reqwest::Client,
    base: String,
}

impl ManagerBrowser {
    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String) {
        let answer = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (answer.status(), answer.text().await.unwrap())
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (StatusCode, String) {
        let answer = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        (answer.status(), answer.text().await.unwrap())
    }

    async fn devices(&self) -> Vec<Device> {
        let (status, body) = self.get("/api/admin/devices").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A pairing code made in the back office for `pairing_for`.
    async fn code_for(&self, pairing_for: Value) -> PairingCode {
        let (status, body) =
            self.post("/api/admin/pairing-codes", &json!({ "for": pairing_for, "pin": PIN })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// `POST /api/pair` from a fresh browser; the answer and the cookie it set, if any.
async fn pair(app: &TestApp, body: Value) -> (StatusCode, String, Option<String>) {
    let answer = browser().post(format!("{}/api/pair", app.base)).json(&body).send().await.unwrap();
    let cookie = answer.headers().get(reqwest::header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
    (answer.status(), answer.text().await.unwrap(), cookie)
}

pub(crate) fn code_of(body: &str) -> Option<ProblemCode> {
    serde_json::from_str::<kasse_api::Problem>(body).ok().and_then(|p| p.code)
}

/// Pairs a new manager `name` (for `store`, or every store) with [`PIN`].
pub(crate) async fn manager(app: &TestApp, name: &str, store: Option<&str>) -> ManagerBrowser {
    let code = app.running.manager_pairing_code(name, store).await.unwrap();
    let (status, body, cookie) = pair(app, json!({ "code": code, "pin": PIN })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = cookie.unwrap().split(';').next().unwrap().to_owned();
    ManagerBrowser { http: browser_with_cookie(&cookie), base: app.base.clone() }
}

/// A second store, Nørrebro, with its own till `till-dk`.
pub(crate) async fn two_stores() -> TestApp {
    two_stores_with(|_| {}).await
}

/// [`two_stores`], then changed by `configure`.
pub(crate) async fn two_stores_with(configure: impl FnOnce(&mut kasse_server::Config)) -> TestApp {
    spawn_app_with(|config| {
        add_store(config, "norrebro", "Bageriet Nørrebro", "234567", kasse_api::Currency::Dkk);
        add_till(config, "till-dk", "Kasse A", "norrebro");
        configure(config);
    })
    .await
}

#[tokio::test]
async fn a_manager_chooses_a_pin_at_the_first_pairing_and_then_holds_a_shorter_session_that_opens_no_till() {
    let app = spawn_app().await;
    let code = app.running.manager_pairing_code("Ingrid", None).await.unwrap();

    // Without a PIN, or with one too short, the code is not spent.
    let (status, body, cookie) = pair(&app, json!({ "code": code })).await;
    assert_eq!(
        (status, code_of(&body), cookie),
        (StatusCode::BAD_REQUEST, Some(ProblemCode::PinRequired), None)
    );
    let (status, body, _) = pair(&app, json!({ "code": code, "pin": "12" })).await;
    assert_eq!((status, code_of(&body)), (StatusCode::BAD_REQUEST, Some(ProblemCode::BadPin)));

    let (status, body, cookie) = pair(&app, json!({ "code": code, "pin": PIN })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let Paired::Manager(session) = serde_json::from_str(&body).unwrap() else { panic!("a manager: {body}") };
    assert_eq!((session.manager.name.as_str(), session.manager.store.as_deref()), ("Ingrid", None));
    assert_eq!(session.stores.len(), 1);
    assert_eq!(session.stores[0].tills.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [TILL]);
    let cookie = cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Max-Age=43200"), "twelve hours: {cookie}");
    let (status, _, _) = pair(&app, json!({ "code": code, "pin": PIN })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code pairs once");

    let manager = ManagerBrowser {
        http: browser_with_cookie(cookie.split(';').next().unwrap()),
        base: app.base.clone(),
    };
    let (status, body) = manager.get("/api/admin/session").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<ManagerSession>(&body).unwrap().manager, session.manager);
    // A manager's browser is no till.
    for path in ["/api/session".to_owned(), format!("/api/tills/{TILL}"), format!("/api/tills/{TILL}/sales")]
    {
        let (status, body) = manager.get(&path).await;
        assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::Forbidden)), "{path}");
    }
    // The PIN chosen is the one asked for; a second device of the same manager needs no new one.
    let another = app.running.manager_pairing_code("Ingrid", None).await.unwrap();
    let (status, body, _) = pair(&app, json!({ "code": another })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_till_or_display_session_gets_403_on_every_manager_endpoint_and_no_session_401() {
    let app = spawn_app().await;
    let display = browser_with_cookie(&pair_with_till(&app.running, &app.base, TILL, Role::Display).await);
    let requests = [
        ("GET", "/api/admin/session", Value::Null),
        ("GET", "/api/admin/devices", Value::Null),
        ("GET", "/api/admin/sales", Value::Null),
        ("GET", "/api/admin/end-of-day?day=2026-12-05", Value::Null),
        ("GET", "/api/admin/end-of-day.csv?day=2026-12-05", Value::Null),
        ("POST", "/api/admin/pairing-codes", json!({ "for": { "kind": "till", "till": TILL }, "pin": PIN })),
        ("POST", "/api/admin/devices/0123456789ab/revoke", json!({ "pin": PIN })),
        ("GET", "/api/admin/health", Value::Null),
        ("GET", "/api/admin/stickers", Value::Null),
        ("POST", "/api/admin/stickers", json!({ "till": TILL })),
        ("GET", "/api/admin/stickers/sheet", Value::Null),
        ("GET", "/api/admin/stickers/sheet.css", Value::Null),
        ("GET", "/api/admin/sales/till-1-0123", Value::Null),
        ("GET", "/api/admin/sales/till-1-0123/log", Value::Null),
        ("POST", "/api/admin/sales/till-1-0123/capture", json!({})),
        ("POST", "/api/admin/sales/till-1-0123/cancel", Value::Null),
        (
            "POST",
            "/api/admin/sales/till-1-0123/refund",
            json!({ "amount": { "value": 100, "currency": "NOK" }, "pin": PIN }),
        ),
        ("POST", "/api/admin/sales/till-1-0123/reconcile", Value::Null),
    ];
    for (who, client, expected) in [
        ("a till", &app.http, StatusCode::FORBIDDEN),
        ("a display", &display, StatusCode::FORBIDDEN),
        ("no one", &browser(), StatusCode::UNAUTHORIZED),
    ] {
        for (method, path, body) in &requests {
            let url = format!("{}{path}", app.base);
            let request = if *method == "GET" { client.get(url) } else { client.post(url).json(body) };
            let answer = request.send().await.unwrap();
            let status = answer.status();
            let problem: kasse_api::Problem = answer.json().await.unwrap();
            assert_eq!(status, expected, "{who}: {method} {path}: {problem:?}");
        }
    }
}

#[tokio::test]
async fn a_manager_pairs_a_till_from_the_back_office_sees_it_and_unpairs_it_with_the_pin() {
    let app = spawn_app().await;
    let manager = manager(&app, "Ingrid", None).await;

    // A wrong PIN makes no code.
    let (status, body) = manager
        .post("/api/admin/pairing-codes", &json!({ "for": { "kind": "till", "till": TILL }, "pin": "0000" }))
        .await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)));
    let (status, body) = manager
        .post("/api/admin/pairing-codes", &json!({ "for": { "kind": "till", "till": "till-9" }, "pin": PIN }))
        .await;
    assert_eq!((status, code_of(&body)), (StatusCode::NOT_FOUND, Some(ProblemCode::UnknownTill)));

    let made = manager.code_for(json!({ "kind": "till", "till": TILL })).await;
    assert!(made.url.ends_with(&format!("/pair?code={}", made.code)), "{made:?}");
    let (status, body, cookie) = pair(&app, json!({ "code": made.code })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_till = browser_with_cookie(cookie.unwrap().split(';').next().unwrap());
    let opened = new_till.get(format!("{}/api/tills/{TILL}", app.base)).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK);

    // The back office lists it (with the test's own till, and the manager's device).
    let devices = manager.devices().await;
    let kinds: Vec<(DeviceKind, &str)> = devices.iter().map(|d| (d.kind, d.of.as_str())).collect();
    assert_eq!(kinds, [(DeviceKind::Till, TILL), (DeviceKind::Till, TILL), (DeviceKind::Manager, "Ingrid")]);
    let newest =
        devices.iter().filter(|d| d.kind == DeviceKind::Till).max_by_key(|d| d.paired_at_ms).unwrap();

    // Unpairing asks for the PIN, and then ends the session at once.
    let path = format!("/api/admin/devices/{}/revoke", newest.id);
    let (status, body) = manager.post(&path, &json!({ "pin": "1234" })).await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)));
    assert_eq!(
        new_till.get(format!("{}/api/tills/{TILL}", app.base)).send().await.unwrap().status(),
        StatusCode::OK
    );
    let (status, body) = manager.post(&path, &json!({ "pin": PIN })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = new_till.get(format!("{}/api/tills/{TILL}", app.base)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let problem: kasse_api::Problem = refused.json().await.unwrap();
    assert_eq!(problem.code, Some(ProblemCode::SessionRevoked));
    assert_eq!(manager.devices().await.len(), 2, "gone from the list");
    let (status, body) = manager.post(&path, &json!({ "pin": PIN })).await;
    assert_eq!((status, code_of(&body)), (StatusCode::NOT_FOUND, Some(ProblemCode::UnknownDevice)));
    assert_eq!(app.snapshot().await.till.id, TILL, "the other till works on");
}

#[tokio::test]
async fn after_five_wrong_pins_the_pin_is_locked_for_a_while_even_when_then_right() {
    let app = spawn_app().await;
    let manager = manager(&app, "Ingrid", None).await;
    let body = |pin: &str| json!({ "for": { "kind": "display", "till": TILL }, "pin": pin });
    for n in 0..5 {
        let (status, answer) = manager.post("/api/admin/pairing-codes", &body("0000")).await;
        assert_eq!((status, code_of(&answer)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)), "{n}");
    }
    let answer = manager
        .http
        .post(format!("{}/api/admin/pairing-codes", app.base))
        .json(&body(PIN))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = answer.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((14 * 60..=15 * 60).contains(&wait), "about a quarter of an hour: {wait} s");
    assert_eq!(code_of(&answer.text().await.unwrap()), Some(ProblemCode::PinLocked));
}

#[tokio::test]
async fn a_store_manager_sees_pairs_and_finds_only_their_own_stores_tills() {
    let app = two_stores().await;
    let dk_till = browser_with_cookie(&pair_with_till(&app.running, &app.base, "till-dk", Role::Till).await);
    assert_eq!(
        dk_till.get(format!("{}/api/tills/till-dk", app.base)).send().await.unwrap().status(),
        StatusCode::OK
    );
    let oslo = manager(&app, "Ola", Some("grunerlokka")).await;

    let (_, body) = oslo.get("/api/admin/session").await;
    let session: ManagerSession = serde_json::from_str(&body).unwrap();
    assert_eq!(session.stores.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["grunerlokka"]);
    assert!(oslo.devices().await.iter().all(|d| d.of != "till-dk"), "not the other store's till");
    for (what, pairing_for) in [
        ("the other store's till", json!({ "kind": "till", "till": "till-dk" })),
        ("a manager of every store", json!({ "kind": "manager", "name": "Eva", "store": null })),
        ("a manager of the other store", json!({ "kind": "manager", "name": "Eva", "store": "norrebro" })),
    ] {
        let (status, body) =
            oslo.post("/api/admin/pairing-codes", &json!({ "for": pairing_for, "pin": PIN })).await;
        assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::Forbidden)), "{what}");
    }
    let (status, _) = oslo.get("/api/admin/sales?till=till-dk").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A manager of their own store, paired from the back office, chooses a PIN of their own.
    let made = oslo.code_for(json!({ "kind": "manager", "name": "Per", "store": "grunerlokka" })).await;
    let (status, body, _) = pair(&app, json!({ "code": made.code, "pin": "2468" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kinds: Vec<String> =
        oslo.devices().await.iter().filter(|d| d.kind == DeviceKind::Manager).map(|d| d.of.clone()).collect();
    assert_eq!(kinds, ["Ola", "Per"]);
    // A name another manager has for another store is refused.
    let everywhere = manager(&app, "Eva", None).await;
    let (status, body) = everywhere
        .post(
            "/api/admin/pairing-codes",
            &json!({ "for": { "kind": "manager", "name": "Ola", "store": "norrebro" }, "pin": PIN }),
        )
        .await;
    assert_eq!((status, code_of(&body)), (StatusCode::CONFLICT, Some(ProblemCode::ManagerNameTaken)));
    assert_eq!(everywhere.devices().await.iter().filter(|d| d.of == "till-dk").count(), 1, "every store's");
}

#[tokio::test]
async fn a_manager_makes_codes_for_their_own_devices_and_new_managers_but_never_for_another_manager() {
    let app = spawn_app().await;
    let ola = manager(&app, "Ola", Some("grunerlokka")).await;
    let kari = manager(&app, "Kari", Some("grunerlokka")).await;
    let everywhere = manager(&app, "Eva", None).await;
    let code_for = |name: &str, store: Option<&str>| json!({ "for": { "kind": "manager", "name": name, "store": store }, "pin": PIN });

    // A code for Kari would be Kari's back office without Kari's PIN: nobody else gets one, not
    // even a manager of every store.
    for (who, asking, store) in
        [("Ola", &ola, Some("grunerlokka")), ("Eva", &everywhere, Some("grunerlokka"))]
    {
        let (status, body) = asking.post("/api/admin/pairing-codes", &code_for("Kari", store)).await;
        assert_eq!(
            (status, code_of(&body)),
            (StatusCode::CONFLICT, Some(ProblemCode::ManagerNameTaken)),
            "{who} asked for Kari's code: {body}"
        );
    }
    // Kari's own second device, and a new manager, are made as before.
    let second = kari.code_for(json!({ "kind": "manager", "name": "Kari", "store": "grunerlokka" })).await;
    let (status, body, cookie) = pair(&app, json!({ "code": second.code })).await;
    assert_eq!((status, cookie.is_some()), (StatusCode::OK, true), "{body}");
    let new = ola.code_for(json!({ "kind": "manager", "name": "Per", "store": "grunerlokka" })).await;
    // Per has chosen no PIN yet: a second code for Per, from whoever added him, is still fine.
    ola.code_for(json!({ "kind": "manager", "name": "Per", "store": "grunerlokka" })).await;
    let (status, body, _) = pair(&app, json!({ "code": new.code, "pin": "2468" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = ola.post("/api/admin/pairing-codes", &code_for("Per", Some("grunerlokka"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "Per has chosen his PIN: his devices are his to pair");
}

#[tokio::test]
async fn the_back_office_finds_a_sale_of_any_till_by_day_and_search() {
    let app = spawn_app().await;
    let sale = app.taken_sale(12_550).await;
    let manager = manager(&app, "Ingrid", None).await;

    let history = |query: String| {
        let manager = &manager;
        async move {
            let (status, body) = manager.get(&format!("/api/admin/sales{query}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            serde_json::from_str::<History>(&body).unwrap()
        }
    };
    let found = history("?search=125%2C50".to_owned()).await;
    assert_eq!(found.sales.iter().map(|s| s.reference.as_str()).collect::<Vec<_>>(), [&sale.reference]);
    assert_eq!(found.sales[0].till_id, TILL);
    let that_day =
        history(format!("?till={TILL}&sinceMs={}&untilMs={}", sale.created_at_ms, sale.created_at_ms + 1))
            .await;
    assert_eq!(that_day.sales.len(), 1);
    assert!(history(format!("?sinceMs={}", sale.created_at_ms + 1)).await.sales.is_empty());
    let (status, _) = manager.get("/api/admin/sales?till=till-9").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_manager_is_added_only_once_the_pin_is_right_and_a_taken_name_names_no_other_store() {
    let app = two_stores().await;
    let everywhere = manager(&app, "Eva", None).await;
    let new_manager = |name: &str, store: Option<&str>, pin: &str| json!({ "for": { "kind": "manager", "name": name, "store": store }, "pin": pin });
    // A wrong PIN adds nobody: the name is still free for any store afterwards.
    let (status, body) =
        everywhere.post("/api/admin/pairing-codes", &new_manager("Per", Some("norrebro"), "0000")).await;
    assert_eq!((status, code_of(&body)), (StatusCode::FORBIDDEN, Some(ProblemCode::WrongPin)));
    let made = everywhere.code_for(json!({ "kind": "manager", "name": "Per", "store": "grunerlokka" })).await;
    assert_eq!(made.code.len(), 9);

    let (status, body) =
        everywhere.post("/api/admin/pairing-codes", &new_manager("Per", Some("norrebro"), PIN)).await;
    assert_eq!((status, code_of(&body)), (StatusCode::CONFLICT, Some(ProblemCode::ManagerNameTaken)));
    assert!(!body.contains("grunerlokka") && !body.contains("Grünerløkka"), "{body}");
}

#[tokio::test]
async fn of_two_codes_for_a_new_manager_the_first_pairing_chooses_the_pin_and_spends_the_second() {
    let app = spawn_app().await;
    let first = app.running.manager_pairing_code("Ingrid", None).await.unwrap();
    let second = app.running.manager_pairing_code("Ingrid", None).await.unwrap();
    let (status, body, cookie) = pair(&app, json!({ "code": first, "pin": "1111" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Whoever holds the other code made while she was being added cannot be Ingrid now, with a PIN
    // of their own or with none: once she has one, only she makes codes for her.
    for second in [json!({ "code": second, "pin": "2222" }), json!({ "code": second })] {
        let (status, body, cookie) = pair(&app, second).await;
        assert_eq!((status, cookie), (StatusCode::UNAUTHORIZED, None), "{body}");
    }
    // The PIN is the first one's: it makes codes, the one tried with the second does not.
    let ingrid = ManagerBrowser {
        http: browser_with_cookie(cookie.unwrap().split(';').next().unwrap()),
        base: app.base.clone(),
    };
    let body = |pin: &str| json!({ "for": { "kind": "till", "till": TILL }, "pin": pin });
    assert_eq!(ingrid.post("/api/admin/pairing-codes", &body("2222")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(ingrid.post("/api/admin/pairing-codes", &body("1111")).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn the_end_of_day_sums_each_till_and_store_and_its_csv_lists_the_days_sales() {
    let data = DataDir::new();
    let url = data.url();
    let app = two_stores_with(move |config| config.database_url = url).await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let paid = app.start_sale(12_550).await;
    app.approve(&paid).await;
    events.until_sale_is(&paid.reference, SaleStatus::Captured).await;
    let refunded = app.start_sale(4_200).await;
    app.approve(&refunded).await;
    events.until_sale_is(&refunded.reference, SaleStatus::Captured).await;
    let answer = app
        .post_json(
            &format!("/api/tills/{TILL}/sales/{}/refund", refunded.reference),
            &json!({ "amount": { "value": 1_000, "currency": "NOK" } }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let cancelled = app.start_sale(900).await;
    assert_eq!(app.cancel(&cancelled.reference).await.status, StatusCode::OK);

    // Started on 5 December, in the morning in Oslo (whenever the test runs), a minute apart.
    for (minute, sale) in [&paid, &refunded, &cancelled].into_iter().enumerate() {
        started_at(&data, sale, utc("2026-12-05T09:00:00Z") + i64::try_from(minute).unwrap() * 60_000);
    }

    let ingrid = manager(&app, "Ingrid", None).await;
    let day = "?day=2026-12-05";
    let (status, body) = ingrid.get(&format!("/api/admin/end-of-day{day}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let end: kasse_api::EndOfDay = serde_json::from_str(&body).unwrap();
    assert_eq!(end.stores.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["grunerlokka", "norrebro"]);
    let oslo = &end.stores[0];
    assert_eq!(oslo.figures, oslo.tills[0].figures, "one till: the store's figures are its");
    let figures = &oslo.figures;
    assert_eq!(figures.count, 3);
    assert_eq!(figures.money.len(), 1);
    let nok = &figures.money[0];
    assert_eq!((nok.captured, nok.refunded, nok.net(), nok.open), (16_750, 1_000, 15_750, 0));
    let captured = figures.by_status.iter().find(|t| t.status == SaleStatus::Captured).unwrap();
    assert_eq!((captured.count, captured.captured, captured.refunded), (2, 16_750, 1_000));
    assert!(figures.by_status.iter().any(|t| t.status == SaleStatus::Cancelled && t.count == 1));
    assert_eq!(end.stores[1].figures.count, 0, "nothing sold in Nørrebro");

    let answer = ingrid.http.get(format!("{}/api/admin/end-of-day.csv{day}", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        answer.headers()["content-disposition"],
        "attachment; filename=\"kasse-end-of-day-2026-12-05.csv\""
    );
    let csv = answer.text().await.unwrap();
    let csv = csv.strip_prefix('\u{feff}').expect("a byte order mark, for spreadsheets");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "store,till,reference,started_utc,started_local,status,flow,customer,currency,amount,captured,refunded,released"
    );
    assert_eq!(lines.len(), 4, "a header and the day's three sales, oldest first: {csv}");
    assert!(
        lines[1].contains(&paid.reference) && lines[1].ends_with(",NOK,125.50,125.50,0.00,0.00"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(&refunded.reference) && lines[2].ends_with(",42.00,42.00,10.00,0.00"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(&cancelled.reference) && lines[3].contains(",cancelled,"), "{}", lines[3]);

    // A store's manager sees only their store; a span that is no day is refused.
    let ola = manager(&app, "Ola", Some("norrebro")).await;
    let (_, body) = ola.get(&format!("/api/admin/end-of-day{day}")).await;
    let theirs: kasse_api::EndOfDay = serde_json::from_str(&body).unwrap();
    assert_eq!(theirs.stores.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["norrebro"]);
    let (_, csv) = ola.get(&format!("/api/admin/end-of-day.csv{day}")).await;
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
    let (_, next_day) = ingrid.get("/api/admin/end-of-day?day=2026-12-06").await;
    let next_day: kasse_api::EndOfDay = serde_json::from_str(&next_day).unwrap();
    assert_eq!(next_day.stores[0].figures.count, 0, "the next day has none of them");
    for day in ["", "2026-13-01", "2026-12-32", "5.12.2026", "yesterday", "+2026-12-05", "12026-12-05"] {
        for path in ["/api/admin/end-of-day", "/api/admin/end-of-day.csv"] {
            let (status, body) = ingrid.get(&format!("{path}?day={day}")).await;
            assert_eq!(
                (status, code_of(&body)),
                (StatusCode::BAD_REQUEST, Some(ProblemCode::BadQuery)),
                "{day:?}"
            );
        }
    }
    let (status, _) = ingrid.get("/api/admin/end-of-day").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a day is required");
}

/// Unix ms of an RFC 3339 moment.
fn utc(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
}

#[tokio::test]
async fn each_stores_day_runs_in_its_own_time_helsinkis_an_hour_ahead_of_oslos_whoever_asks() {
    let data = DataDir::new();
    let url = data.url();
    let app = two_stores_with(move |config| {
        config.database_url = url;
        add_store(config, "kamppi", "Kahvila Kamppi", "345678", kasse_api::Currency::Eur);
        add_till(config, "till-fi", "Kassa 1", "kamppi");
    })
    .await;
    let helsinki_till =
        browser_with_cookie(&pair_with_till(&app.running, &app.base, "till-fi", Role::Till).await);
    let base = app.base.clone();
    let sale_in_helsinki = |value: i64| {
        let body = json!({"amount": {"value": value, "currency": "EUR"}, "flow": "qr"});
        let till = helsinki_till.clone();
        let base = base.clone();
        async move {
            let url = format!("{base}/api/tills/till-fi/sales");
            let answer = till.post(url).json(&body).send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::CREATED);
            let sale: kasse_api::Sale = answer.json().await.unwrap();
            let cancelled = till
                .post(format!("{base}/api/tills/till-fi/sales/{}/cancel", sale.reference))
                .send()
                .await
                .unwrap();
            assert_eq!(cancelled.status(), StatusCode::OK, "the till free for the next");
            sale
        }
    };
    // 00:30 on 7 December in Helsinki (23:30 on the 6th in Oslo), and 00:30 on the 8th there
    // (23:30 on the 7th in Oslo); and in Oslo, 23:30 on the 7th.
    let early = sale_in_helsinki(1_000).await;
    let late = sale_in_helsinki(2_000).await;
    started_at(&data, &early, utc("2026-12-06T22:30:00Z"));
    started_at(&data, &late, utc("2026-12-07T22:30:00Z"));
    let oslo = app.start_sale(500).await;
    assert_eq!(app.cancel(&oslo.reference).await.status, StatusCode::OK);
    started_at(&data, &oslo, utc("2026-12-07T22:30:00Z"));

    let ingrid = manager(&app, "Ingrid", None).await;
    let (status, body) = ingrid.get("/api/admin/end-of-day?day=2026-12-07").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let day: kasse_api::EndOfDay = serde_json::from_str(&body).unwrap();
    let store = |id: &str| day.stores.iter().find(|s| s.id == id).unwrap();
    let (kamppi, grunerlokka, norrebro) = (store("kamppi"), store("grunerlokka"), store("norrebro"));
    assert_eq!(
        (kamppi.since_ms, kamppi.until_ms),
        (utc("2026-12-06T22:00:00Z"), utc("2026-12-07T22:00:00Z")),
        "Helsinki's midnight to midnight"
    );
    assert_eq!(
        (grunerlokka.since_ms, grunerlokka.until_ms),
        (utc("2026-12-06T23:00:00Z"), utc("2026-12-07T23:00:00Z")),
        "Oslo's"
    );
    assert_eq!(
        (norrebro.since_ms, norrebro.until_ms),
        (grunerlokka.since_ms, grunerlokka.until_ms),
        "Copenhagen's"
    );
    assert_eq!(kamppi.figures.count, 1, "its sale at 00:30 on the 7th, not the one at 00:30 on the 8th");
    assert_eq!(kamppi.tills[0].figures.by_status[0].amount, 1_000);
    assert_eq!(grunerlokka.figures.count, 1, "its sale at 23:30 on the 7th");

    let (_, csv) = ingrid.get("/api/admin/end-of-day.csv?day=2026-12-07").await;
    let line =
        |reference: &str| csv.lines().find(|l| l.contains(reference)).unwrap_or_else(|| panic!("{csv}"));
    assert!(line(&early.reference).contains(",2026-12-06T22:30:00Z,2026-12-07T00:30:00+02:00,"), "{csv}");
    assert!(line(&oslo.reference).contains(",2026-12-07T22:30:00Z,2026-12-07T23:30:00+01:00,"), "{csv}");
    assert!(!csv.contains(&late.reference), "{csv}");
    assert!(csv.lines().next().unwrap().contains("started_utc,started_local,"));
}

//! Alive when the platform is not: `/healthz` reports each dependency (the store, the platform
//! per sales unit, webhook registrations) and fails only without a store; a server whose platform
//! is down at start still starts and serves tills, and registers its webhooks once the platform
//! is back; tills are told, live, when the platform stops and starts answering.

use std::time::Duration;

use kasse_api::{TillEvent, TillSnapshot};
use kasse_server::{Provider, ProviderKind};
use kasse_sim::{FaultKnobs, SalesUnit, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::*;

impl TestApp {
    /// `/healthz`: its status and its JSON.
    async fn health(&self) -> (StatusCode, Value) {
        let answer = self.get("/healthz").await;
        assert_eq!(answer.header("content-type"), Some("application/json"), "{}", answer.body);
        (answer.status, answer.json())
    }
}

impl EventStream {
    /// Reads until the till is told the platform is (or is not) reachable.
    async fn until_platform(&mut self, reachable: bool) {
        self.next_event_until(&format!("saying the platform is reachable: {reachable}"), |e| {
            e.event() == TillEvent::Platform { reachable }
        })
        .await;
    }
}

/// The demo sales unit's part of a `/healthz` list.
fn unit<'a>(health: &'a Value, list: &str) -> &'a Value {
    let units = health[list].as_array().unwrap_or_else(|| panic!("{list} is a list: {health}"));
    units.iter().find(|u| u["msn"] == MSN).unwrap_or_else(|| panic!("{list} names {MSN}: {health}"))
}

#[tokio::test]
async fn a_healthy_server_reports_its_store_its_platform_and_its_webhooks_in_order() {
    let app = spawn_app().await;
    let (status, health) = app.health().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["store"], json!({ "ok": true }));
    assert_eq!(unit(&health, "platform")["reachable"], true, "{health}");
    let webhooks = unit(&health, "webhooks");
    assert_eq!((&webhooks["registered"], &webhooks["attempts"]), (&json!(true), &json!(1)), "{health}");
    assert!(webhooks.get("lastError").is_none(), "{health}");
}

#[tokio::test]
async fn without_its_database_the_server_says_it_cannot_work_with_a_503() {
    let app = spawn_app().await;
    app.running.close_database().await;
    let (status, health) = app.health().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["status"], "down");
    assert_eq!(health["store"]["ok"], false);
    assert!(health["store"]["error"].as_str().is_some_and(|e| !e.is_empty()), "says why: {health}");
}

#[tokio::test]
async fn a_server_whose_platform_is_down_at_start_serves_its_tills_and_registers_when_the_platform_is_back() {
    // The platform's address, closed until the simulator starts there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let platform = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let unit_at_platform =
        SalesUnit::generated(MSN, "Kaffebrenneriet Grünerløkka", kasse_vipps::Currency::Nok);
    let credentials = kasse_vipps::Credentials {
        client_id: unit_at_platform.client_id.clone(),
        client_secret: unit_at_platform.client_secret.clone(),
        subscription_key: unit_at_platform.subscription_key.clone(),
        msn: MSN.to_owned(),
    };
    let app = spawn_app_with(|config| {
        config.provider = Provider::Platform { base_url: platform.clone() };
        config.provider_kind = ProviderKind::Sim;
        config.stores[0].credentials = Some(credentials);
    })
    .await;

    // Started and serving: the till loads, and is told the platform cannot be reached.
    let mut events = app.events_after(0).await;
    events.until_platform(false).await;
    let snapshot: TillSnapshot = app.snapshot().await;
    assert!(!snapshot.platform_reachable, "the till's snapshot says so too");
    let history = app.get(&format!("/api/tills/{TILL}/sales")).await;
    assert_eq!(history.status, StatusCode::OK, "the history loads: {}", history.body);
    let sticker = app.get("/api/stickers/donations").await;
    assert_eq!(sticker.status, StatusCode::OK, "the landing page loads: {}", sticker.body);
    assert_eq!(app.get("/till").await.status, StatusCode::OK, "the app loads");

    let (status, health) = app.health().await;
    assert_eq!(status, StatusCode::OK, "the server itself can work: {health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let reach = unit(&health, "platform");
    assert_eq!(reach["reachable"], false, "{health}");
    assert!(reach["error"].as_str().is_some_and(|e| e.contains("reach")), "says why: {health}");
    assert_eq!(unit(&health, "webhooks")["registered"], false, "{health}");

    // The platform comes back: tills hear of it, and the webhooks are registered.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let sim =
        kasse_sim::start(SimConfig { sales_units: vec![unit_at_platform], ..SimConfig::demo() }, listener)
            .unwrap();
    events.until_platform(true).await;
    tokio::time::timeout(PATIENCE, app.running.until_webhooks_registered())
        .await
        .expect("the webhooks are registered once the platform is back");
    let (status, health) = app.health().await;
    assert_eq!((status, &health["status"]), (StatusCode::OK, &json!("ok")), "{health}");
    let webhooks = unit(&health, "webhooks");
    assert!(webhooks["attempts"].as_u64().is_some_and(|n| n >= 2), "it tried again: {health}");
    assert!(webhooks.get("lastError").is_none(), "{health}");
    assert!(app.snapshot().await.platform_reachable);
    drop(sim);
}

#[tokio::test]
async fn a_registration_deleted_at_the_platform_is_made_again_and_its_webhooks_move_the_till_once_more() {
    let app = spawn_app_with(|config| {
        // Nothing polls: only webhooks tell the till a sale was paid.
        config.reconcile_every = Duration::from_hours(1);
        config.webhooks_check_every = Duration::from_secs(1);
    })
    .await;
    tokio::time::timeout(PATIENCE, app.running.until_webhooks_registered()).await.expect("registered");
    // Someone deletes it in the merchant portal (or the platform does, after two weeks of failed
    // deliveries).
    let merchant = app.merchant_client();
    let before = merchant.list_webhooks().await.unwrap().webhooks;
    assert_eq!(before.len(), 1, "{before:?}");
    merchant.delete_webhook(&before[0].id).await.unwrap();

    until(|| async {
        let now = merchant.list_webhooks().await.unwrap().webhooks;
        now.len() == 1 && now[0].id != before[0].id
    })
    .await;
    // Its deliveries verify: a paid sale reaches the till by its webhooks alone.
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(2_500).await;
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, kasse_api::SaleStatus::Captured).await;
    let (_, health) = app.health().await;
    assert_eq!(unit(&health, "webhooks")["registered"], true, "{health}");
}

#[tokio::test]
async fn a_check_the_platform_does_not_answer_leaves_the_registration_known_as_registered() {
    let app = spawn_app_with(|config| config.webhooks_check_every = Duration::from_secs(1)).await;
    tokio::time::timeout(PATIENCE, app.running.until_webhooks_registered()).await.expect("registered");
    app.sim()
        .set_faults(FaultKnobs { error_rate: 1.0, error_status: Some(503), ..FaultKnobs::default() })
        .unwrap();
    until(|| async { unit(&app.health().await.1, "webhooks").get("lastError").is_some() }).await;
    let (_, health) = app.health().await;
    // A check that learnt nothing says why, and does not call the registration missing.
    assert_eq!(unit(&health, "webhooks")["registered"], true, "{health}");
}

#[tokio::test]
async fn tills_are_told_while_the_platform_fails_every_call_and_again_when_it_answers() {
    let app = spawn_app().await;
    let snapshot = app.snapshot().await;
    assert!(snapshot.platform_reachable);
    let mut events = app.events_after(snapshot.last_event_id).await;

    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let answer =
        app.try_start_sale(&json!({"amount": {"value": 5_000, "currency": "NOK"}, "flow": "qr"})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "the platform did not answer: {}", answer.body);
    events.until_platform(false).await;
    assert!(!app.snapshot().await.platform_reachable);
    let (status, health) = app.health().await;
    assert_eq!((status, &health["status"]), (StatusCode::OK, &json!("degraded")), "{health}");
    assert_eq!(unit(&health, "platform")["reachable"], false, "{health}");
    let history = app.get(&format!("/api/tills/{TILL}/sales")).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);

    app.sim().set_faults(FaultKnobs::default()).unwrap();
    events.until_platform(true).await;
    assert!(app.snapshot().await.platform_reachable);
    assert_eq!(app.health().await.1["status"], "ok");
}

/// The back office's health page, read as `manager`.
async fn admin_health(manager: &crate::admin::ManagerBrowser) -> kasse_api::AdminHealth {
    let (status, body) = manager.get("/api/admin/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn the_back_office_says_which_store_cannot_reach_the_platform_and_what_waits_for_it() {
    let app = spawn_app().await;
    let manager = crate::admin::manager(&app, "Ingrid", None).await;
    // The reconciler's first round runs as the server starts; its end is noted.
    let deadline = std::time::Instant::now() + PATIENCE;
    let health = loop {
        let health = admin_health(&manager).await;
        if health.reconciler.is_some() || std::time::Instant::now() > deadline {
            break health;
        }
        tokio::task::yield_now().await;
    };
    assert!(health.in_order(), "{health:?}");
    assert!(health.reconciler.is_some_and(|round| round.ok), "{health:?}");
    let unit = &health.units[0];
    assert_eq!((unit.msn.as_str(), unit.webhooks_registered, unit.webhook_attempts), (MSN, true, 1));
    assert_eq!(health.pending_writes, 0);

    // The platform fails every call: a sale's create waits, and the page says why.
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    app.sim().set_faults(FaultKnobs { error_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let answer =
        app.try_start_sale(&json!({"amount": {"value": 5_000, "currency": "NOK"}, "flow": "qr"})).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    events.until_platform(false).await;
    let health = admin_health(&manager).await;
    assert!(!health.in_order() && !health.units[0].reachable, "{health:?}");
    assert!(health.units[0].error.as_deref().is_some_and(|e| !e.is_empty()), "says why: {health:?}");
    assert_eq!((health.pending_writes, health.sales_in_progress), (1, 1), "{health:?}");

    app.sim().set_faults(FaultKnobs::default()).unwrap();
    events.until_platform(true).await;
    assert!(admin_health(&manager).await.units[0].reachable);
}

//! `webhooks sync` as a library call on a running server: exactly one registration of ours per
//! sales unit, stale ones of ours removed, others' left alone, secrets saved and used, and a second
//! run that changes nothing.

use kasse_api::SaleStatus;
use kasse_server::ops::webhooks::{self as subscriptions, Options, SyncReport, our_events};
use kasse_vipps::webhooks::{RegisterRequest, USER_CHECKED_IN, Webhook};

use crate::helpers::*;

/// A registration somebody else (the merchant's old integration) made, at another address.
const THEIRS: &str = "https://pos.example.com/vipps/hook";

async fn sync(app: &TestApp, dry_run: bool) -> SyncReport {
    subscriptions::sync(&app.running.tools(), Options { dry_run }).await
}

impl TestApp {
    /// The demo sales unit's registrations, as the platform lists them.
    async fn registrations(&self) -> Vec<Webhook> {
        self.merchant_client().list_webhooks().await.expect("the platform lists the webhooks").webhooks
    }

    /// Registers `url` for `events` with the store's own credentials, as other tools would.
    async fn register(&self, url: &str, events: &[&str]) -> String {
        let request =
            RegisterRequest { url: url.to_owned(), events: events.iter().map(|e| (*e).to_owned()).collect() };
        self.merchant_client().register_webhook(&request).await.expect("the platform registers it").id
    }
}

#[tokio::test]
async fn a_sync_removes_our_stale_registrations_keeps_others_and_a_second_sync_changes_nothing() {
    let app = spawn_app().await;
    let url = app.webhook_url().to_string();
    let ours = app.registrations().await;
    assert_eq!(ours.len(), 1, "the server registered once at start: {ours:?}");
    let secret = app.webhook_secret().await;

    let duplicate = app.register(&url, &["epayments.payment.captured.v1"]).await;
    let theirs = app.register(THEIRS, &["epayments.payment.authorized.v1"]).await;

    let dry = sync(&app, true).await;
    assert_eq!((dry.created(), dry.removed(), dry.failed()), (0, 1, 0), "{dry:#?}");
    assert_eq!(app.registrations().await.len(), 3, "a dry run changes nothing");

    let first = sync(&app, false).await;
    assert_eq!(first.url, url);
    let unit = &first.units[0];
    assert_eq!(unit.kept.as_deref(), Some(ours[0].id.as_str()), "{first:#?}");
    assert_eq!(unit.removed.len(), 1);
    assert_eq!(unit.removed[0].id, duplicate);
    assert_eq!(unit.removed[0].why, "a second registration of ours");
    assert_eq!(unit.others, [format!("{theirs} ({THEIRS})")]);

    let second = sync(&app, false).await;
    assert_eq!((second.created(), second.removed(), second.failed()), (0, 0, 0), "{second:#?}");
    assert_eq!(second.units[0].kept.as_deref(), Some(ours[0].id.as_str()));
    let left: Vec<_> = app.registrations().await.into_iter().map(|w| w.id).collect();
    assert_eq!(left, [ours[0].id.clone(), theirs], "ours once, and theirs");
    assert_eq!(app.webhook_secret().await, secret, "the kept registration's secret is the same");
}

#[tokio::test]
async fn a_registration_at_our_url_whose_secret_we_lack_is_replaced_and_the_new_secret_verifies_deliveries() {
    let app = spawn_app().await;
    let url = app.webhook_url().to_string();
    let old = app.registrations().await.remove(0);
    let old_secret = app.webhook_secret().await;
    // Somebody re-registered our URL by hand: the platform signs with a secret we never saw.
    app.merchant_client().delete_webhook(&old.id).await.unwrap();
    let events: Vec<String> = our_events().into_iter().collect();
    let events: Vec<&str> = events.iter().map(String::as_str).collect();
    let unknown = app.register(&url, &events).await;

    let report = sync(&app, false).await;
    let unit = &report.units[0];
    assert_eq!(unit.removed.len(), 1, "{report:#?}");
    assert_eq!(unit.removed[0].id, unknown);
    assert!(unit.removed[0].why.contains("secret is not in our database"), "{}", unit.removed[0].why);
    let created = unit.created.clone().expect("a new registration");
    let listed = app.registrations().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created);
    assert_eq!(listed[0].events.iter().cloned().collect::<std::collections::BTreeSet<_>>(), our_events());
    assert_ne!(app.webhook_secret().await, old_secret, "the new registration's secret is saved");

    // Deliveries signed with the new secret are verified: a sale goes through by webhook.
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(5_000).await;
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert!(!app.sim().webhook_attempts().is_empty(), "the platform delivered webhooks");
    assert_all_deliveries_acknowledged(&app);
    assert_eq!(sync(&app, false).await.units[0].kept.as_deref(), Some(created.as_str()));
}

#[tokio::test]
async fn a_check_in_registration_of_someone_else_stops_the_sync_for_that_sales_unit_and_changes_nothing() {
    let app = spawn_app().await;
    let ours = app.registrations().await.remove(0);
    app.merchant_client().delete_webhook(&ours.id).await.unwrap();
    let theirs = app.register(THEIRS, &[USER_CHECKED_IN]).await;

    let report = sync(&app, false).await;
    let error = report.units[0].error.clone().expect("the sales unit cannot be put in order");
    assert!(error.contains(&theirs) && error.contains("only one per sales unit"), "{error}");
    assert_eq!((report.created(), report.removed(), report.failed()), (0, 0, 1));
    let left: Vec<_> = app.registrations().await.into_iter().map(|w| w.id).collect();
    assert_eq!(left, [theirs], "nothing was changed");
}

//! The PostgreSQL database restarting under a running server, as a managed database's failover or
//! maintenance does: a cluster of the test's own (`kasse-pgtemp`), stopped and started again on
//! its port while a till is paired, in the middle of a sale, and following its live events.
//! Meanwhile the server says in `/healthz` that its store is down and answers the till's requests
//! 503 with a problem and a `Retry-After`, having done nothing; afterwards it serves again on new
//! connections, and the stream the till kept open shows the sale paid, captured once.
//!
//! Needs Debian's PostgreSQL server binaries (`cargo xtask test` installs them); without them the
//! test says so and checks nothing.

use kasse_api::{ProblemCode, SaleStatus};
use kasse_sim::FaultKnobs;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A PostgreSQL cluster of the test's own, to stop and start, and a server on it; `None` (said
/// on stderr) without PostgreSQL's server binaries.
async fn on_a_cluster_of_its_own() -> Option<(kasse_pgtemp::Cluster, TestApp)> {
    if !kasse_pgtemp::installed() {
        eprintln!(
            "no PostgreSQL server binaries, so this test checks nothing (`cargo xtask test` installs them)"
        );
        return None;
    }
    let cluster = tokio::task::block_in_place(|| kasse_pgtemp::Cluster::start(&[])).unwrap();
    let url = cluster.url("postgres");
    let app = spawn_app_with(move |config| config.database_url = url).await;
    Some((cluster, app))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_restarts_the_till_is_answered_503_and_afterwards_its_sale_is_paid_and_shown() {
    let Some((cluster, app)) = on_a_cluster_of_its_own().await else { return };
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(4_900).await;
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    let sale_path = format!("/api/tills/{TILL}/sales/{}", sale.reference);

    tokio::task::block_in_place(|| cluster.pause()).unwrap();
    let health = app.get("/healthz").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE, "{}", health.body);
    assert_eq!(health.json::<Value>()["store"]["ok"], false, "{}", health.body);
    let refused = app.get(&sale_path).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.body);
    assert_eq!(refused.problem().code, Some(ProblemCode::Internal), "{}", refused.body);
    assert!(refused.header("retry-after").is_some(), "says when to try again: {}", refused.body);
    let cancel = app.cancel(&sale.reference).await;
    assert_eq!(cancel.status, StatusCode::SERVICE_UNAVAILABLE, "{}", cancel.body);

    tokio::task::block_in_place(|| cluster.resume()).unwrap();
    // No event says the database is back; a load balancer asks `/healthz`, and so does this.
    let back = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while app.get("/healthz").await.status != StatusCode::OK {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "the server never found its database again");
    assert_eq!(
        app.sale(&sale.reference).await.status,
        SaleStatus::AwaitingCustomer,
        "the cancel did nothing"
    );

    app.approve(&sale).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    let captured = seen.last().unwrap().sale();
    assert_eq!(captured.captured.value, 4_900, "{captured:?}");
    let received = app.received(&sale.reference);
    assert_eq!(
        writes(&received, "cancel").len(),
        0,
        "the refused cancel never reached the platform: {received:#?}"
    );
    assert_eq!(writes(&received, "capture").len(), 1, "captured once: {received:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_the_platform_made_while_the_database_went_away_is_kept_and_confirmed_never_failed() {
    let Some((cluster, app)) = on_a_cluster_of_its_own().await else { return };
    let sale = app.taken_sale(8_000).await;

    // The refund is on its way to a slow platform when the database goes away: the platform gives
    // the money back, and kasse cannot write down that it did.
    app.sim().set_faults(FaultKnobs { latency_ms: 1_500, ..FaultKnobs::default() }).unwrap();
    let refund = tokio::spawn({
        let (http, url) =
            (app.http.clone(), format!("{}/api/tills/{TILL}/sales/{}/refund", app.base, sale.reference));
        async move {
            let body = serde_json::json!({ "amount": { "value": 3_000, "currency": "NOK" } });
            let answer = http.post(url).json(&body).send().await.unwrap();
            (answer.status(), answer.text().await.unwrap())
        }
    });
    until(|| async { app.sim().injected_faults().iter().any(|f| f.path.ends_with("/refund")) }).await;
    tokio::task::block_in_place(|| cluster.pause()).unwrap();
    let (status, body) = refund.await.unwrap();
    // Not "try again": the cashier would refund a second time, under a new key.
    assert_eq!(status, StatusCode::ACCEPTED, "kept and sent again: {body}");
    app.sim().set_faults(FaultKnobs::default()).unwrap();

    tokio::task::block_in_place(|| cluster.resume()).unwrap();
    until(|| async { app.sim().payment_records().iter().all(|p| p.aggregate.refunded_amount.value > 0) })
        .await;
    // Sent again with its key, it is found applied, and written down once.
    until(|| async {
        let answer = app.get(&format!("/api/tills/{TILL}/sales/{}", sale.reference)).await;
        answer.status == StatusCode::OK && answer.json::<kasse_api::Sale>().refunded.value == 3_000
    })
    .await;
    let record = app.sim().payment_records().into_iter().find(|p| p.reference == sale.reference).unwrap();
    assert_eq!(record.aggregate.refunded_amount.value, 3_000, "given back once");
}

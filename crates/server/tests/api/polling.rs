//! The reconciler's polling when some payments cannot be read: those of a sales unit that left
//! the configuration (an operator closed a store with sales still open) are put off, not polled
//! first in every round, so that the payments it can read are still followed when the platform's
//! webhooks do not come.

use kasse_api::SaleStatus;
use kasse_sim::FaultKnobs;

use crate::helpers::*;

/// More payments than one round of polling reads (a hundred).
const UNREADABLE: usize = 150;

#[tokio::test]
async fn payments_no_sales_unit_can_read_do_not_keep_the_others_from_being_polled() {
    let data = DataDir::new();
    let app = spawn_app_on(&data).await;
    // No webhook comes: only a poll can tell the till the customer paid.
    app.sim().set_faults(FaultKnobs { drop_webhook_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let open = app.start_sale(1_000).await;
    {
        // Copies of an open sale, at a till and a sales unit the configuration no longer has,
        // every one of them due for a poll long before anything else.
        let db = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
        db.busy_timeout(PATIENCE).unwrap();
        db.execute_batch(
            "CREATE TEMP TABLE copy AS SELECT * FROM payments;
             UPDATE copy SET till_id = 'closed-till', msn = 'closed-unit', active = 0,
                 client_key = NULL, landing_token = NULL, next_poll_at = 1;",
        )
        .unwrap();
        for n in 0..UNREADABLE {
            db.execute("UPDATE copy SET reference = ?1", [format!("closed-till-{n}")]).unwrap();
            db.execute("INSERT INTO payments SELECT * FROM copy", []).unwrap();
        }
    }
    assert_eq!(app.cancel(&open.reference).await.status, reqwest::StatusCode::OK);

    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert!(app.sim().webhook_attempts().is_empty(), "the till learnt it by polling");
}

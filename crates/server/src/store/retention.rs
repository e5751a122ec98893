//! The retention job's deletes: what the server no longer needs once it is older than
//! `[server] retention_days`.
//!
//! Gone are processed webhook deliveries, till events, sessions that were revoked (or are older
//! than the retention, so long expired), pairing codes used or expired, the Idempotency-Keys of PoS
//! systems' requests (a retry that late is a new request), the landing tokens of finished
//! payments (a customer's page cannot follow a payment that old any more), and the names of
//! loyalty members on payments (whether a sale's customer was a member stays). Payments,
//! their platform event logs and their writes are kept for good: they are the merchant's books.
//! A delivery not yet processed is kept whatever its age, and each till keeps its newest event,
//! so the numbering a reconnecting browser replays from never starts over.

use super::statement::{query, query_as};
use kasse_api::SaleStatus;

use super::backend::on;
use super::names::Named as _;
use super::{Store, StoreError};

/// A stored till event showing a named member (a LIKE pattern with no `_` or backslash, so both
/// databases read it alike).
const NAMED_MEMBER: &str = "%\"is\":\"member\",\"name\":\"%";

/// Rows of the big tables deleted per statement: a first prune after a long time deletes in
/// short writes, between which the tills' own writes get their turn.
const BATCH: i64 = 5_000;

/// What one prune deleted (or, for payments, forgot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Processed webhook deliveries.
    pub inbox: u64,
    /// Live events of tills.
    pub till_events: u64,
    /// Revoked or long-expired sessions.
    pub sessions: u64,
    /// Used or expired pairing codes.
    pub pairing_codes: u64,
    /// Finished payments whose landing token was forgotten.
    pub landing_tokens: u64,
    /// PoS systems' Idempotency-Keys.
    pub idempotency_keys: u64,
    /// Payments, and kept till events, whose loyalty member's name was forgotten.
    pub member_names: u64,
}

impl Pruned {
    /// Rows touched in all.
    pub fn total(&self) -> u64 {
        self.inbox
            + self.till_events
            + self.sessions
            + self.pairing_codes
            + self.landing_tokens
            + self.idempotency_keys
            + self.member_names
    }
}

impl Store {
    /// Deletes what the server keeps only for a while and that is older than `before_ms` (Unix
    /// milliseconds): see the module's docs for what goes and what stays.
    pub async fn prune(&self, before_ms: i64) -> Result<Pruned, StoreError> {
        // Each step takes its own turn at the database, so the tills wait at most for one.
        let inbox = self
            .delete_in_batches(
                "DELETE FROM webhook_inbox WHERE id IN (SELECT id FROM webhook_inbox \
                 WHERE processed_at IS NOT NULL AND received_at < $1 LIMIT $2)",
                before_ms,
            )
            .await?;
        let till_events = self
            .delete_in_batches(
                "DELETE FROM till_events WHERE id IN (SELECT id FROM till_events AS old WHERE created_at < $1 \
                 AND id < (SELECT MAX(id) FROM till_events AS newer WHERE newer.till_id = old.till_id) LIMIT $2)",
                before_ms,
            )
            .await?;
        let idempotency_keys = on!(self.db().await?.conn(), |db| {
            query("DELETE FROM terminal_requests WHERE created_at < $1")
                .bind(before_ms)
                .execute(&mut *db)
                .await?
                .rows_affected()
        });
        let (sessions, pairing_codes, landing_tokens) = on!(self.db().await?.conn(), |db| {
            let sessions = query(
                "DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR created_at < $2",
            )
            .bind(before_ms)
            .bind(before_ms)
            .execute(&mut *db)
            .await?
            .rows_affected();
            let pairing_codes = query("DELETE FROM pairing_codes WHERE COALESCE(used_at, expires_at) < $1")
                .bind(before_ms)
                .execute(&mut *db)
                .await?
                .rows_affected();
            // The final statuses' names are kasse's own constants, so they are written into the
            // statement as they are, which both databases take.
            let finals: Vec<String> = SaleStatus::ALL
                .into_iter()
                .filter(|s| s.is_final())
                .map(|s| format!("'{}'", s.name()))
                .collect();
            let landing_tokens = query(&format!(
                "UPDATE payments SET landing_token = NULL WHERE landing_token IS NOT NULL AND NOT active \
                 AND status IN ({}) AND updated_at < $1",
                finals.join(", ")
            ))
            .bind(before_ms)
            .execute(&mut *db)
            .await?
            .rows_affected();
            (sessions, pairing_codes, landing_tokens)
        });
        let member_names = on!(self.db().await?.conn(), |db| {
            query("UPDATE payments SET member_name = NULL WHERE member_name IS NOT NULL AND created_at < $1")
                .bind(before_ms)
                .execute(&mut *db)
                .await?
                .rows_affected()
        });
        // Its own statement: the turn above is let go at the end of the one it is in.
        let member_names = member_names + self.unname_old_events(before_ms).await?;
        Ok(Pruned {
            inbox,
            till_events,
            sessions,
            pairing_codes,
            landing_tokens,
            idempotency_keys,
            member_names,
        })
    }

    /// Forgets the member names in the till events older than `before_ms` that are kept (each
    /// till's newest): the event still shows the sale, its member unnamed. How many were changed.
    async fn unname_old_events(&self, before_ms: i64) -> Result<u64, StoreError> {
        let named: Vec<(i64, String)> = on!(self.db().await?.conn(), |db| {
            query_as("SELECT id, payload FROM till_events WHERE created_at < $1 AND payload LIKE $2")
                .bind(before_ms)
                .bind(NAMED_MEMBER)
                .fetch_all(&mut *db)
                .await?
        });
        let mut changed = 0;
        for (id, payload) in named {
            let Ok(mut event) = serde_json::from_str::<serde_json::Value>(&payload) else { continue };
            let Some(name) = event.pointer_mut("/sale/loyalty/name").filter(|name| !name.is_null()) else {
                continue;
            };
            *name = serde_json::Value::Null;
            changed += on!(self.db().await?.conn(), |db| {
                query("UPDATE till_events SET payload = $1 WHERE id = $2")
                    .bind(event.to_string())
                    .bind(id)
                    .execute(&mut *db)
                    .await?
                    .rows_affected()
            });
        }
        Ok(changed)
    }

    /// Runs `statement` (binding `before_ms`, then the batch size) until it deletes less than a
    /// batch; the rows deleted in all.
    async fn delete_in_batches(&self, statement: &str, before_ms: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let batch = on!(self.db().await?.conn(), |db| {
                query(statement).bind(before_ms).bind(BATCH).execute(&mut *db).await?.rows_affected()
            });
            deleted += batch;
            if batch < BATCH.unsigned_abs() {
                return Ok(deleted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::SaleStatus;
    use sqlx::Row as _;

    use super::*;
    use crate::store::fixtures;

    /// The cut-off the tests prune before: everything at 1000 or later is recent.
    const CUT: i64 = 1_000;
    const OLD: i64 = 10;
    const RECENT: i64 = 5_000;

    async fn count(store: &Store, sql: &str) -> i64 {
        on!(store.db().await.unwrap().conn(), |db| query(sql)
            .fetch_one(&mut *db)
            .await
            .unwrap()
            .try_get(0)
            .unwrap())
    }

    async fn strings(store: &Store, sql: &str) -> Vec<String> {
        on!(store.db().await.unwrap().conn(), |db| {
            let rows = query(sql).fetch_all(&mut *db).await.unwrap();
            rows.iter().map(|r| r.try_get(0).unwrap()).collect()
        })
    }

    /// An open-amount sticker's sale in `status` with a landing token, last changed at `updated_at`.
    async fn landing_sale(store: &Store, reference: &str, status: SaleStatus, updated_at: i64) {
        let mut row = fixtures::row(reference, "");
        row.set_status(status);
        row.landing_token = Some(format!("token-{reference}"));
        row.sticker_id = Some("donations".into());
        row.created_at = updated_at;
        row.updated_at = updated_at;
        let key = format!("{reference}-create");
        store.insert_sale(&row, fixtures::create(&key), None).await.unwrap();
        on!(store.db().await.unwrap().conn(), |db| {
            query(
            "INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
             VALUES ($1, 'psp-1', 'CREATED', 1000, 'NOK', '2024-01-01T00:00:00Z', TRUE)",
        )
        .bind(reference)
        .execute(&mut *db)
        .await
        .unwrap();
        });
    }

    #[tokio::test]
    async fn a_pos_systems_idempotency_keys_are_kept_for_the_retention_and_then_forgotten() {
        for store in crate::store::testing::stores().await {
            for (key, at) in [("old", OLD), ("recent", RECENT)] {
                store.use_idempotency_key("int-1", key, "hash", at).await.unwrap();
            }
            assert_eq!(store.prune(CUT).await.unwrap().idempotency_keys, 1);
            assert_eq!(strings(&store, "SELECT idempotency_key FROM terminal_requests").await, ["recent"]);
        }
    }

    #[tokio::test]
    async fn old_processed_webhooks_are_deleted_and_unprocessed_or_recent_ones_kept() {
        for store in crate::store::testing::stores().await {
            for (body, received, processed) in [
                ("old, processed", OLD, Some(OLD)),
                ("old, never processed", OLD, None),
                ("recent, processed", RECENT, Some(RECENT)),
            ] {
                on!(store.db().await.unwrap().conn(), |db| {
                    query("INSERT INTO webhook_inbox (received_at, body, processed_at) VALUES ($1, $2, $3)")
                        .bind(received)
                        .bind(body)
                        .bind(processed)
                        .execute(&mut *db)
                        .await
                        .unwrap();
                });
            }

            let pruned = store.prune(CUT).await.unwrap();
            assert_eq!(pruned.inbox, 1);
            assert_eq!(
                strings(&store, "SELECT body FROM webhook_inbox ORDER BY id").await,
                ["old, never processed", "recent, processed"]
            );
        }
    }

    #[tokio::test]
    async fn old_till_events_are_deleted_but_each_till_keeps_its_newest() {
        for store in crate::store::testing::stores().await {
            store.insert_till_event("till-1", "1 old", OLD).await.unwrap();
            store.insert_till_event("till-1", "1 old too", OLD).await.unwrap();
            store.insert_till_event("till-1", "1 recent", RECENT).await.unwrap();
            store.insert_till_event("till-2", "2 old", OLD).await.unwrap();
            let newest = store.insert_till_event("till-2", "2 old, its newest", OLD).await.unwrap();

            let pruned = store.prune(CUT).await.unwrap();
            assert_eq!(pruned.till_events, 3);
            assert_eq!(
                strings(&store, "SELECT payload FROM till_events ORDER BY id").await,
                ["1 recent", "2 old, its newest"]
            );
            assert_eq!(store.last_till_event_id("till-2").await.unwrap(), newest, "numbering goes on");
        }
    }

    #[tokio::test]
    async fn revoked_and_long_expired_sessions_and_spent_pairing_codes_are_deleted() {
        for store in crate::store::testing::stores().await {
            // Paired at, revoked at.
            for (hash, created, revoked) in [
                ("revoked-old", OLD, Some(OLD + 1)),
                ("revoked-recently", CUT, Some(RECENT)),
                ("live", RECENT, None),
                ("ancient", OLD, None),
            ] {
                on!(store.db().await.unwrap().conn(), |db| {
                    query(
                    "INSERT INTO sessions (token_hash, till_id, role, created_at, revoked_at) VALUES ($1, 'till-1', 'till', $2, $3)",
                )
                .bind(hash)
                .bind(created)
                .bind(revoked)
                .execute(&mut *db)
                .await
                .unwrap();
                });
            }
            // Made at, expiring at, used at.
            for (hash, created, expires, used) in [
                ("used-old", OLD, OLD + 600, Some(OLD + 1)),
                ("expired-old", OLD, OLD + 600, None),
                ("used-recently", OLD, RECENT + 600, Some(RECENT)),
                ("open", RECENT, RECENT + 600, None),
            ] {
                on!(store.db().await.unwrap().conn(), |db| {
                    query(
                    "INSERT INTO pairing_codes (code_hash, till_id, role, created_at, expires_at, used_at) \
                     VALUES ($1, 'till-1', 'till', $2, $3, $4)",
                )
                .bind(hash)
                .bind(created)
                .bind(expires)
                .bind(used)
                .execute(&mut *db)
                .await
                .unwrap();
                });
            }

            let pruned = store.prune(CUT).await.unwrap();
            assert_eq!((pruned.sessions, pruned.pairing_codes), (2, 2));
            assert_eq!(
                strings(&store, "SELECT token_hash FROM sessions ORDER BY token_hash").await,
                ["live", "revoked-recently"]
            );
            assert_eq!(
                strings(&store, "SELECT code_hash FROM pairing_codes ORDER BY code_hash").await,
                ["open", "used-recently"]
            );
        }
    }

    #[tokio::test]
    async fn old_finished_payments_lose_their_landing_token_and_keep_everything_else() {
        for store in crate::store::testing::stores().await {
            landing_sale(&store, "old-paid", SaleStatus::Captured, OLD).await;
            landing_sale(&store, "old-declined", SaleStatus::Declined, OLD).await;
            landing_sale(&store, "recent-paid", SaleStatus::Captured, RECENT).await;
            landing_sale(&store, "old-but-open", SaleStatus::Authorized, OLD).await;

            let pruned = store.prune(CUT).await.unwrap();
            assert_eq!(pruned.landing_tokens, 2);
            assert_eq!(pruned.total(), 2, "nothing else was there to prune");
            assert_eq!(
                strings(
                    &store,
                    "SELECT reference FROM payments WHERE landing_token IS NOT NULL ORDER BY reference"
                )
                .await,
                ["old-but-open", "recent-paid"]
            );
            assert_eq!(count(&store, "SELECT COUNT(*) FROM payments").await, 4, "no payment is deleted");
            assert_eq!(count(&store, "SELECT COUNT(*) FROM payment_events").await, 4, "nor its events");
            assert_eq!(count(&store, "SELECT COUNT(*) FROM operations").await, 4, "nor its writes");
            let paid = store.payment("old-paid").await.unwrap().unwrap();
            assert_eq!((paid.status, paid.amount, paid.landing_token), (SaleStatus::Captured, 1000, None));
            assert!(store.payment_by_landing_token("token-old-paid").await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn an_old_sales_member_name_is_forgotten_and_that_the_customer_was_a_member_kept() {
        use kasse_api::Loyalty;
        for store in crate::store::testing::stores().await {
            let kari = Loyalty::Member { name: Some("Kari Nordmann".into()) };
            for (reference, at) in [("old", OLD), ("recent", RECENT)] {
                let mut row = fixtures::row(reference, "");
                row.set_status(SaleStatus::Captured);
                row.loyalty = Some(kari.clone());
                (row.created_at, row.updated_at) = (at, at);
                store
                    .insert_sale(&row, fixtures::create(&format!("{reference}-create")), None)
                    .await
                    .unwrap();
            }
            // The till's newest event, kept whatever its age, showed the old sale.
            let shown = r#"{"type":"sale","sale":{"reference":"old","loyalty":{"is":"member","name":"Kari Nordmann"}}}"#;
            store.insert_till_event("till-9", shown, OLD).await.unwrap();
            assert_eq!(store.prune(CUT).await.unwrap().member_names, 2, "the payment and the kept event");
            let kept = store.till_events_after("till-9", 0, 10).await.unwrap();
            assert_eq!(kept.len(), 1, "still kept");
            assert!(kept[0].1.contains(r#""loyalty":{"is":"member","name":null}"#), "{}", kept[0].1);
            let old = store.payment("old").await.unwrap().unwrap();
            assert_eq!(old.loyalty, Some(Loyalty::Member { name: None }), "a member, no longer named");
            assert_eq!(store.payment("recent").await.unwrap().unwrap().loyalty, Some(kari));
            assert_eq!(store.prune(CUT).await.unwrap().member_names, 0, "once");
        }
    }

    #[tokio::test]
    async fn pruning_a_table_larger_than_a_batch_deletes_all_of_it() {
        for store in crate::store::testing::stores().await {
            let rows = BATCH * 2 + 7;
            on!(store.db().await.unwrap().conn(), |db| {
                query(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO webhook_inbox (received_at, body, processed_at) SELECT $2, 'x', $3 FROM n",
                )
                .bind(rows)
                .bind(OLD)
                .bind(OLD)
                .execute(&mut *db)
                .await
                .unwrap();
            });
            assert_eq!(store.prune(CUT).await.unwrap().inbox, rows.unsigned_abs());
            assert_eq!(count(&store, "SELECT COUNT(*) FROM webhook_inbox").await, 0);
            assert_eq!(store.prune(CUT).await.unwrap(), Pruned::default(), "a second prune finds nothing");
        }
    }
}

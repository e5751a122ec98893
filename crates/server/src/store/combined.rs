//! Writes that commit together, sent to PostgreSQL as one statement.
//!
//! On PostgreSQL every statement is a round trip between processes, and a transaction costs two
//! more (`BEGIN` and `COMMIT`). Under load half the machine's time went to switching between the
//! server and PostgreSQL's backends at each of them, while PostgreSQL's own work took under half a
//! core. So the writes a change is made of (a payment's row, the operations it confirms, and the
//! live event that announces it) go as one statement: each write a data-modifying `WITH` query,
//! then the event. One statement is one transaction, so they still commit together or not at
//! all. SQLite keeps its transactions, which are one turn at its connection there.

use std::borrow::Cow;
use std::fmt::Write as _;

use sqlx::postgres::PgConnection;

use super::statement::{Done, Executor, Param, query_from};
use super::till_events::{NewTillEvent, announced_insert, event_params};

/// One write: a statement whose parameters are numbered from `$1`.
#[derive(Debug, Clone)]
pub(super) struct Write<'q> {
    /// The statement: an `INSERT` or `UPDATE` without `RETURNING`.
    pub sql: Cow<'static, str>,
    /// Its parameters, in order.
    pub params: Vec<Param<'q>>,
}

impl Write<'_> {
    /// Runs it alone (on SQLite, in a transaction of the caller's).
    pub async fn execute<E: Executor>(self, db: E) -> Result<Done, sqlx::Error> {
        query_from(&self.sql, self.params).execute(db).await
    }
}

/// Writes gathered into one statement, in the order they were added.
#[derive(Debug, Default)]
#[must_use = "nothing is written until the statement runs"]
pub(super) struct Combined<'q> {
    /// The `WITH` queries so far, comma-separated.
    ctes: String,
    /// Their names.
    names: Vec<String>,
    /// Their parameters, in order: `$1` onwards.
    params: Vec<Param<'q>>,
}

impl<'q> Combined<'q> {
    /// Adds `write`.
    pub fn with(mut self, write: Write<'q>) -> Self {
        let name = format!("write{}", self.names.len());
        let sql = renumbered(&write.sql, self.params.len());
        if !self.ctes.is_empty() {
            self.ctes.push_str(", ");
        }
        // A write in `WITH` can only be read from (to order the event after it) if it returns rows.
        let _ = write!(self.ctes, "{name} AS ({sql} RETURNING 1)");
        self.names.push(name);
        self.params.extend(write.params);
        self
    }

    /// Runs the writes and then, if there is one, appends `event` to its channel (under the
    /// channel's lock, announced to every instance at the commit), all in one statement. Returns
    /// the event's id.
    pub async fn run(
        mut self,
        conn: &mut PgConnection,
        event: Option<NewTillEvent<'q>>,
    ) -> Result<Option<i64>, sqlx::Error> {
        let sql = match event {
            Some(event) => {
                let tail = announced_insert(self.params.len() + 1, &self.names);
                self.params.extend(event_params(event));
                if self.ctes.is_empty() {
                    format!("WITH {tail}")
                } else {
                    format!("WITH {}, {tail}", self.ctes)
                }
            }
            // Nothing to write is a caller's mistake: nothing is sent.
            None if self.ctes.is_empty() => return Ok(None),
            None => format!("WITH {} SELECT NULL::BIGINT", self.ctes),
        };
        let row = query_from(&sql, self.params).fetch_one(conn).await?;
        super::backend::StoreRow::read_at(&row, 0)
    }
}

/// `sql` with each parameter `$n` renumbered `$(n + by)`. The statements combined have no other
/// `$` (no dollar quoting), as a unit test checks of each.
fn renumbered(sql: &str, by: usize) -> Cow<'_, str> {
    if by == 0 {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        match rest[..digits].parse::<usize>() {
            Ok(n) => {
                let _ = write!(out, "{}", n + by);
            }
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{create, row};
    use crate::store::{NewOperation, OperationKind, OperationStatus, StoreError};
    use kasse_api::SaleStatus;

    fn event(channel: &str) -> NewTillEvent<'_> {
        NewTillEvent { channel, payload: r#"{"shown":"new sale"}"#, at: 5 }
    }

    // The statements of this module run through the store's own methods, on both databases:
    // what a till is shown must commit with the change it shows, or neither must.

    #[tokio::test]
    async fn a_sale_its_create_and_its_event_are_written_together_or_not_at_all() {
        for store in crate::store::testing::stores().await {
            let id = store
                .insert_sale(
                    &row("till-1-aaaa", "till-1"),
                    create("till-1-aaaa-create"),
                    Some(event("till-1")),
                )
                .await
                .unwrap()
                .expect("the event's id");
            assert_eq!(
                store.till_events_after("till-1", 0, 10).await.unwrap(),
                [(id, event("till-1").payload.to_owned())]
            );
            assert_eq!(store.operations_for("till-1-aaaa").await.unwrap().len(), 1);

            // Another till's sale whose create clashes with a recorded one: an error of ours, not
            // a busy till, and none of it is written.
            let clash = NewOperation { reference: "till-2-bbbb", ..create("till-1-aaaa-create") };
            let refused = store
                .insert_sale(&row("till-2-bbbb", "till-2"), clash, Some(event("till-2")))
                .await
                .unwrap_err();
            assert!(!matches!(refused, StoreError::TillBusy), "{refused:?}");
            assert_eq!(store.payment("till-2-bbbb").await.unwrap(), None);
            assert!(store.till_events_after("till-2", 0, 10).await.unwrap().is_empty());

            // A second sale at a busy till: the till is busy, and nothing of it is written either.
            let busy = store
                .insert_sale(
                    &row("till-1-cccc", "till-1"),
                    create("till-1-cccc-create"),
                    Some(event("till-1")),
                )
                .await;
            assert!(matches!(busy, Err(StoreError::TillBusy)), "{busy:?}");
            assert!(store.operations_for("till-1-cccc").await.unwrap().is_empty());
            assert_eq!(store.till_events_after("till-1", 0, 10).await.unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_confirmation_writes_its_operations_the_payment_and_the_event_as_one() {
        for store in crate::store::testing::stores().await {
            let mut payment = row("till-1-aaaa", "till-1");
            store.insert_sale(&payment, create("till-1-aaaa-create"), None).await.unwrap();
            let cancel = NewOperation {
                key: "till-1-aaaa-cancel",
                kind: OperationKind::Cancel,
                amount: None,
                ..create("till-1-aaaa-create")
            };
            assert!(store.begin_operation(cancel, 2).await.unwrap());

            payment.set_status(SaleStatus::Cancelled);
            payment.updated_at = 3;
            let id = store
                .confirm(
                    &["till-1-aaaa-create", "till-1-aaaa-cancel"],
                    &mut payment,
                    3,
                    Some(event("till-1")),
                )
                .await
                .unwrap()
                .expect("the event's id");

            let operations = store.operations_for("till-1-aaaa").await.unwrap();
            assert_eq!(operations.len(), 2);
            assert!(
                operations.iter().all(|op| op.status == OperationStatus::Done && op.updated_at == 3),
                "{operations:?}"
            );
            assert_eq!(store.payment("till-1-aaaa").await.unwrap().as_ref(), Some(&payment));
            assert_eq!(
                store.till_events_after("till-1", 0, 10).await.unwrap(),
                [(id, event("till-1").payload.to_owned())]
            );

            // Saved with no event: the row alone, and no id.
            payment.failure = Some("shown".to_owned());
            assert_eq!(store.save_payment(&mut payment, None).await.unwrap(), None);
            assert_eq!(store.payment("till-1-aaaa").await.unwrap().as_ref(), Some(&payment));
            let next = store.save_payment(&mut payment, Some(event("till-1"))).await.unwrap().expect("an id");
            assert!(next > id, "one till's events are numbered in order");
        }
    }

    #[tokio::test]
    async fn a_write_recorded_with_the_payment_as_it_is_meanwhile_is_written_with_it_or_not_at_all() {
        for store in crate::store::testing::stores().await {
            let mut payment = row("till-1-aaaa", "till-1");
            store.insert_sale(&payment, create("till-1-aaaa-create"), None).await.unwrap();
            let cancel = |key| NewOperation {
                key,
                kind: OperationKind::Cancel,
                amount: None,
                ..create("till-1-aaaa-create")
            };
            payment.set_status(SaleStatus::Cancelling);
            payment.updated_at = 2;
            let id = store
                .begin_operation_saving(
                    cancel("till-1-aaaa-cancel-1"),
                    2,
                    &mut payment,
                    Some(event("till-1")),
                )
                .await
                .unwrap()
                .expect("the event's id");
            let operations = store.operations_for("till-1-aaaa").await.unwrap();
            let recorded: Vec<_> =
                operations.iter().map(|op| (op.idempotency_key.as_str(), op.status)).collect();
            assert_eq!(
                recorded,
                [
                    ("till-1-aaaa-create", OperationStatus::Pending),
                    ("till-1-aaaa-cancel-1", OperationStatus::Pending)
                ]
            );
            assert_eq!(store.payment("till-1-aaaa").await.unwrap().as_ref(), Some(&payment));
            assert_eq!(
                store.till_events_after("till-1", 0, 10).await.unwrap(),
                [(id, event("till-1").payload.to_owned())]
            );

            // Under a key already recorded: an error, and neither the row nor an event is written.
            let mut again = payment.clone();
            again.failure = Some("not saved".to_owned());
            let refused = store
                .begin_operation_saving(cancel("till-1-aaaa-cancel-1"), 3, &mut again, Some(event("till-1")))
                .await;
            assert!(refused.is_err(), "{refused:?}");
            assert_eq!(store.payment("till-1-aaaa").await.unwrap().as_ref(), Some(&payment));
            assert_eq!(store.till_events_after("till-1", 0, 10).await.unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn a_writer_that_lost_the_payment_to_another_writes_nothing_over_what_the_other_wrote() {
        for store in crate::store::testing::stores().await {
            store
                .insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create"), None)
                .await
                .unwrap();
            // Two requests read the payment: one whose lock went with its connection (a database
            // restart, a cut link), and one, here or at another instance, that took it over.
            let mut lost = store.payment("till-1-aaaa").await.unwrap().unwrap();
            let mut took_over = lost.clone();
            took_over.set_status(SaleStatus::Cancelled);
            took_over.touch();
            store.save_payment(&mut took_over, Some(event("till-1"))).await.unwrap();
            // Its own next change goes over its own write.
            took_over.failure = Some("shown to the cashier".to_owned());
            took_over.touch();
            store.save_payment(&mut took_over, Some(event("till-1"))).await.unwrap();

            // The first now writes what it saw, each way a change is written: refused, and
            // nothing of it written, not the operation it records nor the event it announces.
            lost.set_status(SaleStatus::Authorized);
            lost.touch();
            let cancel = NewOperation {
                key: "till-1-aaaa-cancel-1",
                kind: OperationKind::Cancel,
                amount: None,
                ..create("till-1-aaaa-create")
            };
            let refusals = [
                store.save_payment(&mut lost.clone(), Some(event("till-1"))).await,
                store.begin_operation_saving(cancel, 5, &mut lost.clone(), Some(event("till-1"))).await,
                store.confirm(&["till-1-aaaa-create"], &mut lost.clone(), 5, Some(event("till-1"))).await,
                store.update_payment(&mut lost.clone()).await.map(|()| None),
                store
                    .refuse("till-1-aaaa-create", "refused", 5, &mut lost.clone(), Some(event("till-1")))
                    .await,
            ];
            for refused in refusals {
                assert!(
                    matches!(&refused, Err(StoreError::ChangedMeanwhile(r)) if r == "till-1-aaaa"),
                    "{refused:?}"
                );
            }
            assert_eq!(store.payment("till-1-aaaa").await.unwrap().as_ref(), Some(&took_over));
            assert_eq!(store.till_events_after("till-1", 0, 10).await.unwrap().len(), 2);
            let operations = store.operations_for("till-1-aaaa").await.unwrap();
            let recorded: Vec<_> =
                operations.iter().map(|op| (op.idempotency_key.as_str(), op.status)).collect();
            assert_eq!(recorded, [("till-1-aaaa-create", OperationStatus::Pending)]);

            // Read again, its change is made over the payment as it is now.
            let mut again = store.payment("till-1-aaaa").await.unwrap().unwrap();
            again.next_poll_at = Some(9);
            store.update_payment(&mut again).await.unwrap();
            assert_eq!(store.payment("till-1-aaaa").await.unwrap(), Some(again));
        }
    }

    #[tokio::test]
    async fn a_refusal_is_recorded_with_the_sale_saying_so_and_its_event_or_not_at_all() {
        for store in crate::store::testing::stores().await {
            let mut payment = row("till-1-aaaa", "till-1");
            store.insert_sale(&payment, create("till-1-aaaa-create"), None).await.unwrap();
            payment.failure = Some("Approved, but taking the money failed: too late.".to_owned());
            payment.touch();
            let id = store
                .refuse("till-1-aaaa-create", "too late", 7, &mut payment, Some(event("till-1")))
                .await
                .unwrap()
                .expect("the event's id");
            let operations = store.operations_for("till-1-aaaa").await.unwrap();
            let refused: Vec<_> =
                operations.iter().map(|op| (op.status, op.error.as_deref(), op.updated_at)).collect();
            assert_eq!(refused, [(OperationStatus::Failed, Some("too late"), 7)]);
            assert_eq!(store.payment("till-1-aaaa").await.unwrap().as_ref(), Some(&payment));
            assert_eq!(
                store.till_events_after("till-1", 0, 10).await.unwrap(),
                [(id, event("till-1").payload.to_owned())]
            );
        }
    }

    #[test]
    fn each_write_combined_numbers_its_parameters_one_to_as_many_as_it_binds_and_has_no_other_dollar() {
        let payment = row("till-1-aaaa", "till-1");
        let writes = [
            crate::store::payments::payment_insert(&payment),
            crate::store::payments::payment_update(&payment),
            crate::store::operations::operation_insert(create("till-1-aaaa-create"), 1),
            crate::store::operations::operation_confirm("till-1-aaaa-create", 1),
            crate::store::operations::operation_refused("till-1-aaaa-create", "refused", 1),
        ];
        for write in writes {
            let numbers: Vec<usize> = write
                .sql
                .split('$')
                .skip(1)
                .map(|after| {
                    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().unwrap_or_else(|_| panic!("a `$` that is no parameter in {}", write.sql))
                })
                .collect();
            let mut distinct = numbers.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct, (1..=write.params.len()).collect::<Vec<_>>(), "{}", write.sql);
        }
    }

    #[test]
    fn parameters_are_renumbered_after_the_ones_before_and_nothing_else_changes() {
        assert_eq!(
            renumbered("UPDATE t SET a = $1, b = $12 WHERE c = $2", 0),
            "UPDATE t SET a = $1, b = $12 WHERE c = $2"
        );
        assert_eq!(
            renumbered("UPDATE t SET a = $1, b = $12 WHERE c = $2", 9),
            "UPDATE t SET a = $10, b = $21 WHERE c = $11"
        );
        assert_eq!(renumbered("SELECT E'\\n' || $3", 1), "SELECT E'\\n' || $4");
    }
}

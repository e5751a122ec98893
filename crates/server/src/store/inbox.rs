//! Webhook deliveries as received, and the platform's payment events, once each.

use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

use super::statement::{FromStoreRow, query, query_as, query_scalar};

use kasse_vipps::epayment::WebhookEvent;

use super::backend::{Backend, Conn, StoreRow, on};
use super::names::Named as _;
use super::operations::read_operation;
use super::payments::{PAYMENT_COLUMNS, read_payment};
use super::{OperationRow, PaymentRow, Store, StoreError};
use kasse_api::SaleStatus;
use kasse_vipps::epayment::State;

impl Store {
    /// Stores a verified webhook delivery under its `delivery_hash` (see the migration
    /// `0010_deliveries.sql`). Returns its inbox id, or `None` if a delivery with the same hash
    /// is stored already: the same delivery again, acknowledged but not processed twice.
    pub async fn insert_inbox(
        &self,
        event_type: Option<&str>,
        body: &str,
        delivery_hash: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "INSERT INTO webhook_inbox (received_at, event_type, body, delivery_hash) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (delivery_hash) DO NOTHING RETURNING id",
            )
            .bind(now)
            .bind(event_type)
            .bind(body)
            .bind(delivery_hash)
            .fetch_optional(&mut *db)
            .await?;
            row.map(|r| r.try_get(0)).transpose().map_err(StoreError::from)
        })
    }

    /// The oldest unprocessed deliveries of those stored after `after` (an id; 0 for all).
    pub async fn unprocessed_inbox(&self, after: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(
                "SELECT id, body FROM webhook_inbox WHERE processed_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *db)
            .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        })
    }

    /// A delivery's body, if it is stored and not processed yet.
    pub async fn unprocessed_delivery(&self, id: i64) -> Result<Option<String>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_scalar("SELECT body FROM webhook_inbox WHERE id = $1 AND processed_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *db)
                .await?)
        })
    }

    /// Marks a delivery processed.
    pub async fn mark_processed(&self, id: i64, now: i64) -> Result<(), StoreError> {
        Ok(mark_processed(self.db().await?.conn(), id, now).await?)
    }

    /// Takes the stored delivery `id` of the payment event `event` for processing: `None` if it
    /// has been processed meanwhile (by another instance). Otherwise the event is recorded among
    /// the payment's events, and `settled` is shown the payment (`None`: not one of ours) and the
    /// operation stored under `operation_key`, to say whether the event leaves nothing to do; if
    /// so, the delivery is marked processed. A webhook that only echoes what its payment's row
    /// holds (most of them: the platform announces every write it answers) costs one turn at
    /// SQLite this way, not four, and one round trip to PostgreSQL, not eight, when `settles_if`
    /// lets the database see the decision coming (two when it does not, three when the event
    /// names a write of ours).
    ///
    /// Recording is idempotent and so is the decision, so nothing needs the two to be one
    /// transaction: a delivery recorded but not marked (a crash between) is taken again, and two
    /// instances taking one delivery at once record its event once and mark it twice.
    pub async fn take_payment_event(
        &self,
        id: i64,
        event: &WebhookEvent,
        operation_key: Option<&str>,
        settled: impl FnOnce(Option<&PaymentRow>, Option<&OperationRow>) -> bool + Send,
        settles_if: Option<SettlesIf<'_>>,
        now: i64,
    ) -> Result<Option<TakenEvent>, StoreError> {
        let mut db = self.db().await?;
        if let Backend::Postgres(conn) = db.conn() {
            let take = Take { id, event, operation_key, settles_if, now };
            return take_in_one_statement(conn, take, settled).await;
        }
        on!(db.conn(), |db| {
            let mut tx = db.begin().await?;
            let unprocessed = query("SELECT 1 FROM webhook_inbox WHERE id = $1 AND processed_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if unprocessed.is_none() {
                return Ok(None);
            }
            let result = query(
                "INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&event.reference)
            .bind(&event.psp_reference)
            .bind(wire_name(event.name))
            .bind(event.amount.value)
            .bind(wire_name(event.amount.currency))
            .bind(event.timestamp.to_rfc3339())
            .bind(event.success)
            .execute(&mut *tx)
            .await?;
            let payment = read_payment((&mut *tx).into(), &event.reference).await?;
            let operation = match operation_key {
                Some(key) => read_operation((&mut *tx).into(), key).await?,
                None => None,
            };
            let settled = settled(payment.as_ref(), operation.as_ref());
            if settled {
                mark_processed((&mut *tx).into(), id, now).await?;
            }
            tx.commit().await?;
            Ok(Some(TakenEvent { new: result.rows_affected() == 1, settled }))
        })
    }
}

/// A payment event taken from the inbox (see [`Store::take_payment_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenEvent {
    /// Whether it was new among the payment's events (not recorded by an earlier delivery).
    pub new: bool,
    /// Whether it left nothing to do, and its delivery is marked processed.
    pub settled: bool,
}

/// How a value is spelt on the wire (the platform's `"AUTHORIZED"`, `"NOK"`), as stored.
fn wire_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A condition on the row of a payment event's payment that the database checks as it takes the
/// event ([`Store::take_payment_event`]), to mark the delivery processed in the same statement:
/// there is no payment of the event's reference, or its row is not withdrawn, its sale status is
/// none of `status_not`, and its platform state is one of `platform_state` (any the platform has
/// told, when that is `None`).
///
/// The caller's own decision stays the one that counts; this is how the database sees it coming.
#[derive(Debug, Clone, Copy)]
pub struct SettlesIf<'a> {
    pub status_not: &'a [SaleStatus],
    pub platform_state: Option<&'a [State]>,
}

impl SettlesIf<'_> {
    /// Whether `row` (`None`: no payment of that reference) meets the condition, as the database
    /// decides it.
    #[cfg(test)]
    pub(crate) fn holds(&self, row: Option<&PaymentRow>) -> bool {
        let Some(row) = row else { return true };
        let state = match (row.platform_state, self.platform_state) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(state), Some(states)) => states.contains(&state),
        };
        !row.withdrawn() && !self.status_not.contains(&row.status()) && state
    }

    /// The condition in SQL, its values bound from `$first` on; and those values.
    fn sql(&self, first: usize) -> (String, Vec<&'static str>) {
        let names: Vec<&'static str> = self.status_not.iter().map(|status| status.name()).collect();
        let states: Vec<&'static str> =
            self.platform_state.unwrap_or_default().iter().map(|state| state.name()).collect();
        let list = |from: usize, count: usize| {
            (from..from + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
        };
        let status = if names.is_empty() {
            String::new()
        } else {
            format!(" AND status NOT IN ({})", list(first, names.len()))
        };
        let state = match self.platform_state {
            None => "platform_state IS NOT NULL".to_owned(),
            Some([]) => "FALSE".to_owned(),
            Some(_) => format!("platform_state IN ({})", list(first + names.len(), states.len())),
        };
        let sql = format!(
            "(NOT EXISTS (SELECT 1 FROM payments WHERE reference = $2) OR EXISTS (SELECT 1 FROM payments \
             WHERE reference = $2 AND withdrawn_at IS NULL{status} AND {state}))"
        );
        (sql, names.into_iter().chain(states).collect())
    }
}

/// What [`take_in_one_statement`] is asked to take.
#[derive(Clone, Copy)]
struct Take<'a> {
    id: i64,
    event: &'a WebhookEvent,
    operation_key: Option<&'a str>,
    settles_if: Option<SettlesIf<'a>>,
    now: i64,
}

/// [`Store::take_payment_event`] on PostgreSQL, where every statement is a round trip between
/// processes (measured: half the machine's time went to switching between them): the delivery's
/// check, the event's record, the payment's read and, when the row meets `settles_if`, the mark
/// are one statement; otherwise the mark is a second.
async fn take_in_one_statement(
    conn: &mut PgConnection,
    take: Take<'_>,
    settled: impl FnOnce(Option<&PaymentRow>, Option<&OperationRow>) -> bool + Send,
) -> Result<Option<TakenEvent>, StoreError> {
    let Take { id, event, operation_key, now, .. } = take;
    let taken = take_statement(conn, &take).await?;
    if !taken.unprocessed {
        return Ok(None);
    }
    let payment = match taken.payment {
        Ok(payment) => payment,
        Err(e) => {
            // A row this build cannot read (written by a newer one, say) decides nothing: the
            // delivery is left for a later round, as it was before the database marked it.
            if taken.marked {
                unmark_processed((&mut *conn).into(), id, now).await?;
            }
            return Err(e.into());
        }
    };
    let operation = match operation_key {
        Some(key) => read_operation((&mut *conn).into(), key).await?,
        None => None,
    };
    let settled = settled(payment.as_ref(), operation.as_ref());
    if settled && !taken.marked {
        mark_processed((&mut *conn).into(), id, now).await?;
    } else if taken.marked && !settled {
        // The condition and the decision disagree (a test checks they do not): the decision
        // counts, and the delivery is processed as it asks.
        tracing::error!(inbox = id, reference = %event.reference, "a webhook marked processed at the database is not settled; processing it");
        unmark_processed((&mut *conn).into(), id, now).await?;
    }
    Ok(Some(TakenEvent { new: taken.recorded, settled }))
}

/// The statement of [`take_in_one_statement`].
async fn take_statement(conn: &mut PgConnection, take: &Take<'_>) -> Result<Taken, StoreError> {
    let Take { id, event, operation_key, settles_if, now } = *take;
    // A write of ours the event names is read with a statement of its own; so is its mark.
    let settles_if = settles_if.filter(|_| operation_key.is_none());
    let (marking, values) = match settles_if {
        Some(condition) => {
            let (sql, values) = condition.sql(10);
            let marking = format!(
                ", marked AS (UPDATE webhook_inbox SET processed_at = $9 \
                 WHERE id = $1 AND processed_at IS NULL AND {sql} RETURNING 1)"
            );
            (marking, values)
        }
        None => (String::new(), Vec::new()),
    };
    let marked = if settles_if.is_some() { "EXISTS (SELECT 1 FROM marked)" } else { "FALSE" };
    let statement = format!(
        "WITH unprocessed AS (SELECT id FROM webhook_inbox WHERE id = $1 AND processed_at IS NULL), \
         recorded AS (INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
         SELECT $2, $3, $4, $5, $6, $7, $8 FROM unprocessed ON CONFLICT DO NOTHING RETURNING 1){marking} \
         SELECT EXISTS (SELECT 1 FROM unprocessed) AS unprocessed, EXISTS (SELECT 1 FROM recorded) AS recorded, \
         {marked} AS marked, {PAYMENT_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN payments ON payments.reference = $2"
    );
    let mut statement = query_as(&statement)
        .bind(id)
        .bind(&event.reference)
        .bind(&event.psp_reference)
        .bind(wire_name(event.name))
        .bind(event.amount.value)
        .bind(wire_name(event.amount.currency))
        .bind(event.timestamp.to_rfc3339())
        .bind(event.success);
    if settles_if.is_some() {
        statement = statement.bind(now);
        for value in values {
            statement = statement.bind(value);
        }
    }
    Ok(statement.fetch_one(&mut *conn).await?)
}

/// What [`take_in_one_statement`]'s statement reads.
struct Taken {
    /// Whether the delivery was there to take.
    unprocessed: bool,
    /// Whether its event was new among the payment's events.
    recorded: bool,
    /// Whether the database marked it processed (its payment's row met the condition).
    marked: bool,
    /// The payment, if it is ours; an error if this build cannot read its row.
    payment: Result<Option<PaymentRow>, sqlx::Error>,
}

impl FromStoreRow for Taken {
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
        // No payment of that reference: the left join's columns are all NULL.
        let ours = row.read::<Option<String>>("reference")?.is_some();
        Ok(Self {
            unprocessed: row.read("unprocessed")?,
            recorded: row.read("recorded")?,
            marked: row.read("marked")?,
            // Read apart from the rest, so that what the statement did is known either way.
            payment: if ours { PaymentRow::from_row(row).map(Some) } else { Ok(None) },
        })
    }
}

async fn mark_processed(conn: Conn<'_>, id: i64, now: i64) -> Result<(), sqlx::Error> {
    on!(conn, |conn| query("UPDATE webhook_inbox SET processed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop))
}

/// Takes back the mark this take put on a delivery at `marked_at` (another instance's stays).
async fn unmark_processed(conn: Conn<'_>, id: i64, marked_at: i64) -> Result<(), sqlx::Error> {
    on!(conn, |conn| query(
        "UPDATE webhook_inbox SET processed_at = NULL WHERE id = $1 AND processed_at = $2"
    )
    .bind(id)
    .bind(marked_at)
    .execute(conn)
    .await
    .map(drop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_delivery_stored_twice_is_one_row_and_the_second_is_told_so() {
        for store in crate::store::testing::stores().await {
            let first = store.insert_inbox(Some("user.checked-in.v1"), "{}", "h1", 1).await.unwrap();
            assert!(first.is_some());
            assert_eq!(store.insert_inbox(Some("user.checked-in.v1"), "{}", "h1", 2).await.unwrap(), None);
            assert!(store.insert_inbox(None, "{}", "h2", 3).await.unwrap().is_some(), "another delivery");
            assert_eq!(store.unprocessed_inbox(0, 10).await.unwrap().len(), 2);
            let after_first = store.unprocessed_inbox(first.unwrap(), 10).await.unwrap();
            assert_eq!(after_first.len(), 1, "a sweep goes on after the last it read");
        }
    }

    fn created(reference: &str) -> WebhookEvent {
        WebhookEvent {
            msn: "123456".into(),
            reference: reference.into(),
            psp_reference: "psp-1".into(),
            name: kasse_vipps::epayment::PaymentEventName::Created,
            amount: kasse_vipps::epayment::Amount::new(1000, kasse_vipps::Currency::Nok),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            idempotency_key: None,
            success: true,
        }
    }

    #[tokio::test]
    async fn a_settled_event_is_recorded_and_its_delivery_processed_together_and_an_unsettled_one_is_left_to_process()
     {
        use crate::store::fixtures::{create, row};
        for store in crate::store::testing::stores().await {
            store
                .insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create"), None)
                .await
                .unwrap();
            let event = created("till-1-aaaa");
            let first = store.insert_inbox(None, "{}", "h1", 1).await.unwrap().unwrap();
            let second = store.insert_inbox(None, "{}", "h2", 2).await.unwrap().unwrap();

            // The settling decision sees the payment as stored.
            let unsettled = store
                .take_payment_event(first, &event, None, |payment, _| payment.is_none(), None, 3)
                .await
                .unwrap();
            assert_eq!(unsettled, Some(TakenEvent { new: true, settled: false }));
            assert_eq!(store.unprocessed_inbox(0, 10).await.unwrap().len(), 2, "left to process");

            let settled = store.take_payment_event(second, &event, None, |_, _| true, None, 4).await.unwrap();
            assert_eq!(settled, Some(TakenEvent { new: false, settled: true }), "the same event, once");
            let left: Vec<i64> =
                store.unprocessed_inbox(0, 10).await.unwrap().into_iter().map(|(id, _)| id).collect();
            assert_eq!(left, [first]);
            assert_eq!(
                store.take_payment_event(second, &event, None, |_, _| true, None, 5).await.unwrap(),
                None,
                "processed already: nothing to take"
            );

            // The operation named by the event's key is shown with the payment.
            let key = "till-1-aaaa-create";
            let seen = store
                .take_payment_event(
                    first,
                    &event,
                    Some(key),
                    |payment, op| {
                        payment.is_some_and(|p| p.reference == "till-1-aaaa")
                            && op.is_some_and(|op| op.idempotency_key == key)
                    },
                    None,
                    6,
                )
                .await
                .unwrap();
            assert_eq!(seen, Some(TakenEvent { new: false, settled: true }));
            assert!(store.unprocessed_inbox(0, 10).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn on_postgresql_a_delivery_is_marked_as_its_event_is_taken_exactly_when_its_payment_meets_the_condition()
     {
        use crate::store::fixtures::{create, row};
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let store = Store::open(&url).await.unwrap();
        let not_yet_or_never = &[SaleStatus::Creating, SaleStatus::Failed];
        let conditions = [
            // The two that the sales engine asks for (a creation, anything else), and two others.
            SettlesIf { status_not: not_yet_or_never, platform_state: None },
            SettlesIf {
                status_not: not_yet_or_never,
                platform_state: Some(&[State::Aborted, State::Expired, State::Terminated]),
            },
            SettlesIf {
                status_not: &[SaleStatus::Failed],
                platform_state: Some(&[State::Aborted, State::Terminated]),
            },
            SettlesIf { status_not: &[], platform_state: Some(&[]) },
        ];
        let states = [
            None,
            Some(State::Created),
            Some(State::Authorized),
            Some(State::Aborted),
            Some(State::Expired),
            Some(State::Terminated),
        ];
        // Every status, state and withdrawal, and a payment that is not ours.
        let mut references = vec!["someone-elses".to_owned()];
        for status in SaleStatus::ALL {
            for state in states {
                for withdrawn in [false, true] {
                    let till = format!("till-{}", references.len());
                    let reference = format!("{till}-abcd");
                    let key = format!("{reference}-create");
                    let mut payment = row(&reference, &till);
                    store.insert_sale(&payment, create(&key), None).await.unwrap();
                    payment.set_status(status);
                    payment.platform_state = state;
                    payment.withdrawn_at = withdrawn.then_some(5);
                    store.update_payment(&mut payment).await.unwrap();
                    references.push(reference);
                }
            }
        }
        let (mut marked, mut left) = (0, 0);
        for reference in &references {
            for settles_if in conditions {
                let hash = format!("{reference}-{marked}-{left}");
                let id = store.insert_inbox(None, "{}", &hash, 1).await.unwrap().unwrap();
                let mut event = created(reference);
                event.name = kasse_vipps::epayment::PaymentEventName::Authorized;
                let take =
                    Take { id, event: &event, operation_key: None, settles_if: Some(settles_if), now: 2 };
                let taken = {
                    let mut db = store.db().await.unwrap();
                    let Backend::Postgres(conn) = db.conn() else { unreachable!("a PostgreSQL store") };
                    take_statement(conn, &take).await.unwrap()
                };
                let read = taken.payment.as_ref().expect("a row this build reads");
                let holds = settles_if.holds(read.as_ref());
                let payment = read.as_ref().map(|p| (p.status(), p.platform_state, p.withdrawn()));
                assert_eq!(taken.marked, holds, "{settles_if:?} at {payment:?}");
                let processed = store.unprocessed_delivery(id).await.unwrap().is_none();
                assert_eq!(processed, holds, "marked in the store as the statement said");
                if holds { marked += 1 } else { left += 1 }
            }
        }
        assert!(marked > 20 && left > 20, "both ways, many times: {marked} marked, {left} left");

        // Where the condition and the caller's decision disagree, the decision counts.
        let always = SettlesIf { status_not: &[], platform_state: None };
        let never = SettlesIf { status_not: &[], platform_state: Some(&[]) };
        for (reference, settles_if, settled) in
            [("someone-elses", always, false), (references[1].as_str(), never, true)]
        {
            let event = created(reference);
            let id =
                store.insert_inbox(None, "{}", &format!("disagree-{settled}"), 1).await.unwrap().unwrap();
            let taken = store.take_payment_event(id, &event, None, |_, _| settled, Some(settles_if), 2);
            assert_eq!(taken.await.unwrap().map(|t| t.settled), Some(settled));
            assert_eq!(
                store.unprocessed_delivery(id).await.unwrap().is_none(),
                settled,
                "processed as decided"
            );
        }

        // A row this build cannot read decides nothing: the delivery stays for a later round.
        let reference = references[2].as_str();
        {
            let mut db = store.db().await.unwrap();
            let Backend::Postgres(conn) = db.conn() else { unreachable!("a PostgreSQL store") };
            sqlx::query(
                "UPDATE payments SET status = 'settled-by-a-newer-build', platform_state = 'ABORTED', \
                 withdrawn_at = NULL WHERE reference = $1",
            )
            .bind(reference)
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        let id = store.insert_inbox(None, "{}", "unreadable", 1).await.unwrap().unwrap();
        let event = created(reference);
        let taken = store.take_payment_event(id, &event, None, |_, _| true, Some(always), 2).await;
        assert!(taken.is_err(), "the row cannot be read: {taken:?}");
        assert!(store.unprocessed_delivery(id).await.unwrap().is_some(), "not marked processed");
    }
}

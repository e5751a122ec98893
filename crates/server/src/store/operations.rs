//! Platform writes, each recorded with its idempotency key and exact body before it is sent.

use std::borrow::Cow;
use std::sync::LazyLock;

use super::backend::{Conn, StoreRow, Value, on};
use super::combined::Write;
use super::statement::{Bind as _, FromStoreRow as _, query, query_scalar};

use super::names::{Named, decode};
use super::payments::PAYMENT_COLUMNS;
use super::{NewTillEvent, PaymentRow, Store, StoreError};

const OPERATION_COLUMNS: &str = "idempotency_key, reference, kind, amount, status, error, attempts, updated_at, request, client_key, reason";

/// A capture of part of a payment, and the platform's answer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialCapture {
    /// The sale.
    pub reference: String,
    /// What that capture asked for, in minor units.
    pub amount: i64,
    /// What the customer approved, in minor units.
    pub authorized: i64,
    /// Confirmed (true), or refused with error 6140 (false).
    pub allowed: bool,
}

/// What kind of platform write an operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// Create the payment.
    Create,
    /// Capture (an amount).
    Capture,
    /// Cancel.
    Cancel,
    /// Refund (an amount).
    Refund,
}

impl OperationKind {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Capture => "capture",
            Self::Cancel => "cancel",
            Self::Refund => "refund",
        }
    }
}

impl Named for OperationKind {
    const WHAT: &'static str = "kind of platform write";
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(name: &str) -> Option<Self> {
        [Self::Create, Self::Capture, Self::Cancel, Self::Refund].into_iter().find(|k| k.as_str() == name)
    }
}

/// Where a recorded write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationStatus {
    /// Recorded, not (yet) confirmed: sent again with the same key until it is.
    Pending,
    /// The platform confirmed it.
    Done,
    /// The platform refused it, or it was given up on purpose; `error` says why.
    Failed,
}

impl Named for OperationStatus {
    const WHAT: &'static str = "status of a platform write";
    fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
    fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Done, Self::Failed].into_iter().find(|s| s.name() == name)
    }
}

/// A recorded platform write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRow {
    pub idempotency_key: String,
    pub reference: String,
    pub kind: OperationKind,
    pub amount: Option<i64>,
    pub status: OperationStatus,
    pub error: Option<String>,
    pub attempts: i64,
    pub updated_at: i64,
    pub request: Option<String>,
    pub client_key: Option<String>,
    /// Why kasse sent it on its own, when no cashier asked for it.
    pub reason: Option<String>,
}

/// A platform write about to be recorded.
#[derive(Debug, Clone, Copy)]
pub struct NewOperation<'a> {
    /// The idempotency key it will be sent with, every time.
    pub key: &'a str,
    /// The payment.
    pub reference: &'a str,
    /// What kind of write.
    pub kind: OperationKind,
    /// The amount it moves, if any.
    pub amount: Option<i64>,
    /// The exact JSON body it will be sent with, every time.
    pub request: &'a str,
    /// The browser's key for the action that asked for it.
    pub client_key: Option<&'a str>,
    /// Why kasse sends it on its own, when no cashier asked for it.
    pub reason: Option<&'a str>,
}

impl Store {
    /// Records the intent of a platform write. Returns false if an operation with this key is
    /// already recorded (someone else is doing it).
    pub async fn begin_operation(&self, operation: NewOperation<'_>, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            match operation_insert(operation, now).execute(&mut *db).await {
                Ok(_) => Ok(true),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Records the intent of a platform write and saves the payment as it is while the write is
    /// on its way, with the live event that shows it: together or not at all (on PostgreSQL, one
    /// statement; see `combined`). Returns the event's id. A write already recorded under the key
    /// is an error here, not a `false`: the caller holds the payment's lock, and took a key no
    /// write of the payment has.
    pub async fn begin_operation_saving(
        &self,
        operation: NewOperation<'_>,
        now: i64,
        row: &mut PaymentRow,
        event: Option<NewTillEvent<'_>>,
    ) -> Result<Option<i64>, StoreError> {
        self.save_payment_with(vec![operation_insert(operation, now)], row, event).await
    }

    /// The operation a browser's key asked for on a payment, if any.
    pub async fn operation_by_client_key(
        &self,
        reference: &str,
        client_key: &str,
    ) -> Result<Option<OperationRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!(
                "SELECT {OPERATION_COLUMNS} FROM operations WHERE reference = $1 AND client_key = $2"
            ))
            .bind(reference)
            .bind(client_key)
            .fetch_optional(&mut *db)
            .await?;
            Ok(row.as_ref().map(operation_from).transpose()?)
        })
    }

    /// When the operation a browser's key asked for on a payment was recorded, if there is one.
    pub async fn operation_by_client_key_made_at(
        &self,
        reference: &str,
        client_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_scalar("SELECT created_at FROM operations WHERE reference = $1 AND client_key = $2")
                .bind(reference)
                .bind(client_key)
                .fetch_optional(&mut *db)
                .await?)
        })
    }

    /// What the platform last answered a capture of less than the whole authorized amount at
    /// sales unit `msn`: confirmed (the unit may capture in part) or refused with error 6140 ("Must
    /// capture full amount"; the refusal is stored as the client's error says it, code in
    /// brackets). `None` when no such capture was sent.
    pub async fn partial_capture_answer(&self, msn: &str) -> Result<Option<PartialCapture>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "SELECT o.reference, o.amount, p.authorized, o.status = 'done' AS allowed FROM operations o \
                 JOIN payments p ON p.reference = o.reference \
                 WHERE p.msn = $1 AND o.kind = 'capture' \
                   AND ((o.status = 'done' AND o.amount < p.authorized) \
                        OR (o.status = 'failed' AND o.error LIKE '%[6140]%')) \
                 ORDER BY o.updated_at DESC LIMIT 1",
            )
            .bind(msn)
            .fetch_optional(&mut *db)
            .await?;
            let read = |row: &_| -> Result<PartialCapture, sqlx::Error> {
                Ok(PartialCapture {
                    reference: StoreRow::read(row, "reference")?,
                    amount: StoreRow::read(row, "amount")?,
                    authorized: StoreRow::read(row, "authorized")?,
                    allowed: StoreRow::read(row, "allowed")?,
                })
            };
            Ok(row.as_ref().map(read).transpose()?)
        })
    }

    /// The operation sent with this idempotency key.
    pub async fn operation(&self, key: &str) -> Result<Option<OperationRow>, StoreError> {
        Ok(read_operation(self.db().await?.conn(), key).await?)
    }

    /// Starts one more attempt at a pending operation: counts it and returns the operation, or
    /// `None` if it is not pending (confirmed, refused, or unknown).
    pub async fn begin_attempt(&self, key: &str, now: i64) -> Result<Option<OperationRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!(
                "UPDATE operations SET attempts = attempts + 1, updated_at = $1 \
                 WHERE idempotency_key = $2 AND status = 'pending' RETURNING {OPERATION_COLUMNS}"
            ))
            .bind(now)
            .bind(key)
            .fetch_optional(&mut *db)
            .await?;
            Ok(row.as_ref().map(operation_from).transpose()?)
        })
    }

    /// Records in one transaction that the platform confirmed the operations `keys`, the payment
    /// as the answer left it, and the live event that announces it. Returns the event's id.
    pub async fn confirm(
        &self,
        keys: &[&str],
        row: &mut PaymentRow,
        now: i64,
        event: Option<NewTillEvent<'_>>,
    ) -> Result<Option<i64>, StoreError> {
        let confirmed = keys.iter().map(|key| operation_confirm(key, now)).collect();
        self.save_payment_with(confirmed, row, event).await
    }

    /// Records in one transaction that the platform refused the pending operation `key` (saying
    /// `error`), the payment as that leaves it (the refusal said on the sale), and the live event
    /// that announces it: together or not at all, so a refusal is never recorded unsaid. Returns
    /// the event's id.
    pub async fn refuse(
        &self,
        key: &str,
        error: &str,
        now: i64,
        row: &mut PaymentRow,
        event: Option<NewTillEvent<'_>>,
    ) -> Result<Option<i64>, StoreError> {
        self.save_payment_with(vec![operation_refused(key, error, now)], row, event).await
    }

    /// Marks a pending operation confirmed (`error` is None) or refused by the platform. An
    /// operation already finished stays as it was.
    pub async fn finish_operation(&self, key: &str, error: Option<&str>, now: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            let status = if error.is_some() { "failed" } else { "done" };
            query("UPDATE operations SET status = $1, error = $2, updated_at = $3 WHERE idempotency_key = $4 AND status = 'pending'")
                .bind(status)
                .bind(error)
                .bind(now)
                .bind(key)
                .execute(&mut *db)
                .await?;
            Ok(())
        })
    }

    /// Operations recorded but not confirmed, last touched before `before`. A row that cannot be
    /// read is there as its error, so the caller says so, and the others still go.
    pub async fn pending_operations(
        &self,
        before: i64,
    ) -> Result<Vec<Result<OperationRow, StoreError>>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {OPERATION_COLUMNS} FROM operations WHERE status = 'pending' AND updated_at <= $1 \
                 ORDER BY updated_at LIMIT 100"
            ))
            .bind(before)
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(|row| operation_from(row).map_err(StoreError::from)).collect())
        })
    }

    /// Every operation of a payment, oldest first.
    pub async fn operations_for(&self, reference: &str) -> Result<Vec<OperationRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {OPERATION_COLUMNS} FROM operations WHERE reference = $1 ORDER BY created_at, idempotency_key"
            ))
            .bind(reference)
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(operation_from).collect::<Result<_, _>>()?)
        })
    }

    /// A payment and every operation of it, oldest first, read together: one statement, where a
    /// till's write read the payment, the write its key named, the writes still waiting and those
    /// of the same kind, each apart (on PostgreSQL, a round trip each).
    pub async fn payment_with_operations(
        &self,
        reference: &str,
    ) -> Result<Option<(PaymentRow, Vec<OperationRow>)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&PAYMENT_WITH_OPERATIONS).bind(reference).fetch_all(&mut *db).await?;
            let Some(first) = rows.first() else { return Ok(None) };
            let payment = PaymentRow::from_row(first)?;
            let mut operations = Vec::with_capacity(rows.len());
            for row in &rows {
                // A payment with no operation: one row, the operation's columns NULL.
                if row.read::<Option<String>>("op_idempotency_key")?.is_some() {
                    operations.push(operation_from(&Prefixed(row))?);
                }
            }
            Ok(Some((payment, operations)))
        })
    }
}

/// The statement of [`Store::payment_with_operations`], made once: the operations' columns are
/// named apart from the payment's (`op_…`), which share some names.
static PAYMENT_WITH_OPERATIONS: LazyLock<String> = LazyLock::new(|| {
    let operation_columns: Vec<String> =
        OPERATION_COLUMNS.split(", ").map(|column| format!("{column} AS op_{column}")).collect();
    format!(
        "SELECT p.*, o.* FROM (SELECT {PAYMENT_COLUMNS} FROM payments WHERE reference = $1) AS p \
         LEFT JOIN (SELECT {}, created_at AS op_created_at FROM operations WHERE reference = $1) AS o ON TRUE \
         ORDER BY o.op_created_at, o.op_idempotency_key",
        operation_columns.join(", ")
    )
});

/// A row's operation columns, named `op_…` (see [`Store::payment_with_operations`]).
struct Prefixed<'r, R>(&'r R);

impl<R: StoreRow> StoreRow for Prefixed<'_, R> {
    fn read<T: Value>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.0.read(&format!("op_{column}"))
    }

    fn read_at<T: Value>(&self, index: usize) -> Result<T, sqlx::Error> {
        // Positions are the whole row's; only names are the operation's own.
        Err(sqlx::Error::ColumnNotFound(format!("{index} (an operation's columns are read by name)")))
    }
}

/// The operation sent with this idempotency key, read on `conn`.
pub(super) async fn read_operation(conn: Conn<'_>, key: &str) -> Result<Option<OperationRow>, sqlx::Error> {
    on!(conn, |conn| {
        query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE idempotency_key = $1"))
            .bind(key)
            .fetch_optional(conn)
            .await?
            .as_ref()
            .map(operation_from)
            .transpose()
    })
}

/// The statement that records a new pending operation.
pub(super) fn operation_insert(operation: NewOperation<'_>, now: i64) -> Write<'_> {
    Write {
        sql: Cow::Borrowed(
            "INSERT INTO operations (idempotency_key, reference, kind, amount, status, request, client_key, \
             reason, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)",
        ),
        params: vec![
            operation.key.param(),
            operation.reference.param(),
            operation.kind.as_str().param(),
            operation.amount.param(),
            operation.request.param(),
            operation.client_key.param(),
            operation.reason.param(),
            now.param(),
            now.param(),
        ],
    }
}

/// The statement that marks the pending operation `key` confirmed.
pub(super) fn operation_confirm(key: &str, now: i64) -> Write<'_> {
    Write {
        sql: Cow::Borrowed(
            "UPDATE operations SET status = 'done', error = NULL, updated_at = $1 \
             WHERE idempotency_key = $2 AND status = 'pending'",
        ),
        params: vec![now.param(), key.param()],
    }
}

/// The statement that marks the pending operation `key` refused by the platform, saying `error`.
pub(super) fn operation_refused<'q>(key: &'q str, error: &'q str, now: i64) -> Write<'q> {
    Write {
        sql: Cow::Borrowed(
            "UPDATE operations SET status = 'failed', error = $1, updated_at = $2 \
             WHERE idempotency_key = $3 AND status = 'pending'",
        ),
        params: vec![error.param(), now.param(), key.param()],
    }
}

/// A row of `operations`; a value that cannot be read is an error naming its column.
fn operation_from(row: &impl StoreRow) -> Result<OperationRow, sqlx::Error> {
    Ok(OperationRow {
        idempotency_key: row.read("idempotency_key")?,
        reference: row.read("reference")?,
        kind: decode(row, "kind")?,
        amount: row.read("amount")?,
        status: decode(row, "status")?,
        error: row.read("error")?,
        attempts: row.read("attempts")?,
        updated_at: row.read("updated_at")?,
        request: row.read("request")?,
        client_key: row.read("client_key")?,
        reason: row.read("reason")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{create, row};

    #[tokio::test]
    async fn a_payment_is_read_with_its_own_operations_oldest_first_each_column_its_own() {
        for store in crate::store::testing::stores().await {
            assert_eq!(store.payment_with_operations("till-1-none").await.unwrap(), None, "no such payment");
            let mut payment = row("till-1-aaaa", "till-1");
            payment.client_key = Some("browser-start".into());
            store.insert_sale(&payment, create("till-1-aaaa-create"), None).await.unwrap();
            store
                .insert_sale(&row("till-2-bbbb", "till-2"), create("till-2-bbbb-create"), None)
                .await
                .unwrap();
            let capture = NewOperation {
                key: "till-1-aaaa-capture-1",
                reference: "till-1-aaaa",
                kind: OperationKind::Capture,
                amount: Some(400),
                request: r#"{"modificationAmount":{"value":400}}"#,
                client_key: Some("browser-capture"),
                reason: None,
            };
            assert!(store.begin_operation(capture, 5).await.unwrap());
            store.finish_operation("till-1-aaaa-create", None, 6).await.unwrap();

            let (read, operations) = store.payment_with_operations("till-1-aaaa").await.unwrap().unwrap();
            assert_eq!(read, store.payment("till-1-aaaa").await.unwrap().unwrap(), "the payment as stored");
            assert_eq!(
                operations,
                store.operations_for("till-1-aaaa").await.unwrap(),
                "its operations as stored"
            );
            let seen: Vec<_> = operations
                .iter()
                .map(|op| (op.idempotency_key.as_str(), op.amount, op.status, op.client_key.as_deref()))
                .collect();
            assert_eq!(
                seen,
                [
                    ("till-1-aaaa-create", Some(1000), OperationStatus::Done, None),
                    ("till-1-aaaa-capture-1", Some(400), OperationStatus::Pending, Some("browser-capture")),
                ]
            );

            let (alone, own) = store.payment_with_operations("till-2-bbbb").await.unwrap().unwrap();
            assert_eq!(
                (alone.reference.as_str(), own.len()),
                ("till-2-bbbb", 1),
                "another payment's own only"
            );

            // A payment without any operation (none is stored without its create, but an operator
            // may have cleaned up) is read alone.
            let mut db = store.db().await.unwrap();
            on!(db.conn(), |db| query("DELETE FROM operations WHERE reference = $1")
                .bind("till-2-bbbb")
                .execute(&mut *db)
                .await
                .map(drop))
            .unwrap();
            drop(db);
            let (alone, none) = store.payment_with_operations("till-2-bbbb").await.unwrap().unwrap();
            assert_eq!((alone, none), (store.payment("till-2-bbbb").await.unwrap().unwrap(), vec![]));
        }
    }

    #[tokio::test]
    async fn a_sale_is_recorded_with_its_pending_create_intent() {
        for store in crate::store::testing::stores().await {
            store
                .insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create"), None)
                .await
                .unwrap();
            let ops: Vec<_> =
                store.pending_operations(i64::MAX).await.unwrap().into_iter().map(Result::unwrap).collect();
            assert_eq!(ops.len(), 1);
            assert_eq!(
                (ops[0].kind, ops[0].idempotency_key.as_str()),
                (OperationKind::Create, "till-1-aaaa-create")
            );
            assert!(!store.begin_operation(create("till-1-aaaa-create"), 2).await.unwrap());
            store.finish_operation("till-1-aaaa-create", None, 3).await.unwrap();
            assert!(store.pending_operations(i64::MAX).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn a_pending_write_that_cannot_be_read_is_an_error_and_the_others_still_go() {
        for store in crate::store::testing::stores().await {
            store
                .insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create"), None)
                .await
                .unwrap();
            store
                .insert_sale(&row("till-2-bbbb", "till-2"), create("till-2-bbbb-create"), None)
                .await
                .unwrap();
            // A row damaged by something that is not kasse: SQLite keeps text in an integer column.
            // PostgreSQL keeps every column's type, so no such row can exist there.
            if store.postgres() {
                continue;
            }
            on!(store.db().await.unwrap().conn(), |db| {
                query("UPDATE operations SET attempts = 'teleport' WHERE reference = 'till-2-bbbb'")
                    .execute(&mut *db)
                    .await
                    .unwrap();
            });
            let pending = store.pending_operations(i64::MAX).await.unwrap();
            assert_eq!(pending.len(), 2, "nothing is dropped");
            let readable: Vec<_> = pending.iter().filter_map(|p| p.as_ref().ok()).collect();
            assert_eq!(readable.len(), 1);
            let unreadable = pending.iter().find_map(|p| p.as_ref().err()).unwrap().to_string();
            assert!(unreadable.contains("attempts"), "the error names the column: {unreadable}");
            assert!(
                store.operations_for("till-2-bbbb").await.is_err(),
                "a listing that cannot be read whole says so"
            );
        }
    }

    #[tokio::test]
    async fn the_newest_answer_to_a_partial_capture_is_found_and_whole_captures_say_nothing() {
        for store in crate::store::testing::stores().await {
            let capture = |key, reference, amount| NewOperation {
                key,
                reference,
                kind: OperationKind::Capture,
                amount: Some(amount),
                request: "{}",
                client_key: None,
                reason: None,
            };
            let authorized = |reference, till| PaymentRow { authorized: 1000, ..row(reference, till) };
            store
                .insert_sale(&row("till-1-whole", "till-1"), create("till-1-whole-create"), None)
                .await
                .unwrap();
            store.begin_operation(capture("whole-capture", "till-1-whole", 1000), 1).await.unwrap();
            store
                .confirm(&["whole-capture"], &mut authorized("till-1-whole", "till-1"), 2, None)
                .await
                .unwrap();
            assert_eq!(
                store.partial_capture_answer("123456").await.unwrap(),
                None,
                "a whole capture says nothing"
            );

            // Refused as the client says it: the error as the sale stores it.
            let refusal = kasse_vipps::Error::Rejected {
                status: 400,
                problem: serde_json::from_value(serde_json::json!({
                    "title": "Must capture full amount",
                    "extraDetails": [{"name": "ErrorCode", "reason": "6140"}],
                }))
                .unwrap(),
            };
            store
                .insert_sale(&row("till-2-part", "till-2"), create("till-2-part-create"), None)
                .await
                .unwrap();
            store.begin_operation(capture("refused-capture", "till-2-part", 400), 3).await.unwrap();
            store.finish_operation("refused-capture", Some(&refusal.to_string()), 4).await.unwrap();
            store.update_payment(&mut authorized("till-2-part", "till-2")).await.unwrap();
            let refused = PartialCapture {
                reference: "till-2-part".into(),
                amount: 400,
                authorized: 1000,
                allowed: false,
            };
            assert_eq!(store.partial_capture_answer("123456").await.unwrap(), Some(refused));

            // Allowed since (the sales unit's setting changed): the newest answer counts.
            store.begin_operation(capture("part-capture", "till-2-part", 400), 5).await.unwrap();
            store
                .confirm(&["part-capture"], &mut authorized("till-2-part", "till-2"), 6, None)
                .await
                .unwrap();
            let allowed = PartialCapture {
                reference: "till-2-part".into(),
                amount: 400,
                authorized: 1000,
                allowed: true,
            };
            assert_eq!(store.partial_capture_answer("123456").await.unwrap(), Some(allowed));
            assert_eq!(store.partial_capture_answer("234567").await.unwrap(), None, "another unit's");
        }
    }

    #[tokio::test]
    async fn the_exact_request_is_kept_with_its_operation_for_a_resend() {
        for store in crate::store::testing::stores().await {
            let body = r#"{"amount":{"currency":"NOK","value":1000}}"#;
            let operation =
                NewOperation { request: body, client_key: Some("browser-1"), ..create("till-1-aaaa-create") };
            store.insert_sale(&row("till-1-aaaa", "till-1"), operation, None).await.unwrap();
            let found = store.operation_by_client_key("till-1-aaaa", "browser-1").await.unwrap().unwrap();
            assert_eq!(found.request.as_deref(), Some(body));
            assert_eq!(store.operation("till-1-aaaa-create").await.unwrap(), Some(found));
        }
    }
}

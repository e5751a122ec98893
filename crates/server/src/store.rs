//! The server's durable state, in SQLite through sqlx (migrations in `migrations/sqlite`).
//!
//! Every query is here, so the rest of the server speaks in rows and intents, not SQL. All times
//! are Unix milliseconds.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The till already has a sale in progress.
    #[error("the till already has a payment in progress")]
    TillBusy,
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored webhook could not be acted on.
    #[error("a stored webhook could not be processed: {0}")]
    Webhook(String),
    /// The database file's folder could not be created.
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A payment row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentRow {
    pub reference: String,
    pub till_id: String,
    pub msn: String,
    pub flow: String,
    pub currency: String,
    pub amount: i64,
    pub status: String,
    pub active: bool,
    pub platform_state: Option<String>,
    pub qr: Option<String>,
    pub expires_at: Option<i64>,
    pub authorized: i64,
    pub captured: i64,
    pub cancelled: i64,
    pub refunded: i64,
    pub failure: Option<String>,
    pub next_poll_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub description: Option<String>,
    pub customer_label: Option<String>,
    pub client_key: Option<String>,
    pub sticker_id: Option<String>,
    pub landing_token: Option<String>,
    /// When the cashier's cancel ended the sale before the platform had its payment.
    pub withdrawn_at: Option<i64>,
    /// Until when a withdrawn sale's reference is watched for a create that arrives late.
    pub watch_until: Option<i64>,
}

impl PaymentRow {
    /// The sale status (a row with an unknown status reads as `Creating`: ask the platform).
    pub fn status(&self) -> kasse_api::SaleStatus {
        kasse_api::SaleStatus::parse(&self.status).unwrap_or(kasse_api::SaleStatus::Creating)
    }

    /// Sets the sale status, and whether the sale still occupies its till. A sale that has left
    /// its till never occupies it again: whatever happens to it later is that sale's, and the
    /// till may have rung up the next one meanwhile.
    pub fn set_status(&mut self, status: kasse_api::SaleStatus) {
        status.as_str().clone_into(&mut self.status);
        self.active = self.active && !status.is_final();
    }

    /// Whether the cashier cancelled the sale before the platform had its payment.
    pub const fn withdrawn(&self) -> bool {
        self.withdrawn_at.is_some()
    }
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

    fn parse(s: &str) -> Option<Self> {
        [Self::Create, Self::Capture, Self::Cancel, Self::Refund].into_iter().find(|k| k.as_str() == s)
    }
}

/// A recorded platform write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRow {
    pub idempotency_key: String,
    pub reference: String,
    pub kind: OperationKind,
    pub amount: Option<i64>,
    pub status: String,
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

/// Which sales to list.
#[derive(Debug, Clone, Copy)]
pub struct SalesQuery<'a> {
    pub till_id: &'a str,
    pub since: i64,
    pub until: i64,
    pub status: Option<&'a str>,
    pub flow: Option<&'a str>,
    pub limit: i64,
}

/// What a till presents to its sticker.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PresentedRow {
    pub till_id: String,
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
}

/// A customer's check-in at a callback sticker.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckInRow {
    pub id: String,
    pub msn: String,
    pub merchant_qr_id: String,
    pub till_id: Option<String>,
    pub customer_token: String,
    pub initiated_at: i64,
    pub expires_at: i64,
    pub charged_by: Option<String>,
    pub received_at: i64,
}

const CHECK_IN_COLUMNS: &str =
    "id, msn, merchant_qr_id, till_id, customer_token, initiated_at, expires_at, charged_by, received_at";

/// Our webhook registration for a sales unit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRegistration {
    pub msn: String,
    pub webhook_id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

const OPERATION_COLUMNS: &str = "idempotency_key, reference, kind, amount, status, error, attempts, updated_at, request, client_key, reason";

const PAYMENT_COLUMNS: &str = "reference, till_id, msn, flow, currency, amount, status, active, platform_state, qr, \
     expires_at, authorized, captured, cancelled, refunded, failure, next_poll_at, created_at, updated_at, \
     description, customer_label, client_key, sticker_id, landing_token, withdrawn_at, watch_until";

impl Store {
    /// Opens (creating if needed) the database at `url`, e.g. `sqlite://data/kasse.db` or
    /// `sqlite::memory:`, and applies the migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable across a process crash; only power loss may drop the
            // last transactions, which the reconciler then finds missing at the platform.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let filename = options.get_filename();
        if let Some(dir) = filename.parent().filter(|d| !d.as_os_str().is_empty() && !is_memory(filename)) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })?;
        }
        // An in-memory database lives as long as its one connection.
        let max = if is_memory(filename) { 1 } else { 4 };
        let pool = SqlitePoolOptions::new().max_connections(max).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Records a new sale and the intent to create it at the platform, in one transaction.
    pub async fn insert_sale(&self, row: &PaymentRow, create: NewOperation<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&row.reference)
        .bind(&row.till_id)
        .bind(&row.msn)
        .bind(&row.flow)
        .bind(&row.currency)
        .bind(row.amount)
        .bind(&row.status)
        .bind(row.active)
        .bind(&row.platform_state)
        .bind(&row.qr)
        .bind(row.expires_at)
        .bind(row.authorized)
        .bind(row.captured)
        .bind(row.cancelled)
        .bind(row.refunded)
        .bind(&row.failure)
        .bind(row.next_poll_at)
        .bind(row.created_at)
        .bind(row.updated_at)
        .bind(&row.description)
        .bind(&row.customer_label)
        .bind(&row.client_key)
        .bind(&row.sticker_id)
        .bind(&row.landing_token)
        .bind(row.withdrawn_at)
        .bind(row.watch_until)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(StoreError::TillBusy),
            other => other?,
        };
        insert_operation(&mut tx, create, row.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A payment by reference.
    pub async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE reference = ?"))
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The till's sale in progress, or else its newest one.
    pub async fn current_payment(&self, till_id: &str) -> Result<Option<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = ? ORDER BY active DESC, created_at DESC, reference DESC LIMIT 1"
        ))
        .bind(till_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The till's sale in progress.
    pub async fn active_payment(&self, till_id: &str) -> Result<Option<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = ? AND active"))
            .bind(till_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Writes every mutable column of a payment.
    pub async fn update_payment(&self, row: &PaymentRow) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        write_payment(&mut conn, row).await?;
        Ok(())
    }

    /// Payments whose next poll is due.
    pub async fn payments_to_poll(&self, now: i64) -> Result<Vec<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE next_poll_at IS NOT NULL AND next_poll_at <= ? ORDER BY next_poll_at LIMIT 100"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records the intent of a platform write. Returns false if an operation with this key is
    /// already recorded (someone else is doing it).
    pub async fn begin_operation(&self, operation: NewOperation<'_>, now: i64) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        match insert_operation(&mut conn, operation, now).await {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The operation a browser's key asked for on a payment, if any.
    pub async fn operation_by_client_key(
        &self,
        reference: &str,
        client_key: &str,
    ) -> Result<Option<OperationRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE reference = ? AND client_key = ?"
        ))
        .bind(reference)
        .bind(client_key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(operation_from))
    }

    /// The operation sent with this idempotency key.
    pub async fn operation(&self, key: &str) -> Result<Option<OperationRow>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE idempotency_key = ?"))
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.as_ref().and_then(operation_from))
    }

    /// Starts one more attempt at a pending operation: counts it and returns the operation, or
    /// `None` if it is not pending (confirmed, refused, or unknown).
    pub async fn begin_attempt(&self, key: &str, now: i64) -> Result<Option<OperationRow>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE operations SET attempts = attempts + 1, updated_at = ? \
             WHERE idempotency_key = ? AND status = 'pending' RETURNING {OPERATION_COLUMNS}"
        ))
        .bind(now)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(operation_from))
    }

    /// Records in one transaction that the platform confirmed an operation, and the payment as
    /// the answer left it.
    pub async fn confirm(&self, key: &str, row: &PaymentRow, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE operations SET status = 'done', error = NULL, updated_at = ? \
             WHERE idempotency_key = ? AND status = 'pending'",
        )
        .bind(now)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        write_payment(&mut tx, row).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks a pending operation confirmed (`error` is None) or refused by the platform. An
    /// operation already finished stays as it was.
    pub async fn finish_operation(&self, key: &str, error: Option<&str>, now: i64) -> Result<(), StoreError> {
        let status = if error.is_some() { "failed" } else { "done" };
        sqlx::query("UPDATE operations SET status = ?, error = ?, updated_at = ? WHERE idempotency_key = ? AND status = 'pending'")
            .bind(status)
            .bind(error)
            .bind(now)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Operations recorded but not confirmed, last touched before `before`.
    pub async fn pending_operations(&self, before: i64) -> Result<Vec<OperationRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE status = 'pending' AND updated_at <= ? \
             ORDER BY updated_at LIMIT 100"
        ))
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(operation_from).collect())
    }

    /// Every operation of a payment, oldest first.
    pub async fn operations_for(&self, reference: &str) -> Result<Vec<OperationRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE reference = ? ORDER BY created_at, idempotency_key"
        ))
        .bind(reference)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(operation_from).collect())
    }

    /// Stores a verified webhook delivery. Returns its inbox id.
    pub async fn insert_inbox(
        &self,
        event_type: Option<&str>,
        body: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO webhook_inbox (received_at, event_type, body) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(now)
        .bind(event_type)
        .bind(body)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// The oldest unprocessed deliveries.
    pub async fn unprocessed_inbox(&self, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT id, body FROM webhook_inbox WHERE processed_at IS NULL ORDER BY id LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Marks a delivery processed.
    pub async fn mark_processed(&self, id: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE webhook_inbox SET processed_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a platform payment event. Returns false if it was already recorded.
    pub async fn insert_payment_event(
        &self,
        event: &kasse_vipps::epayment::WebhookEvent,
    ) -> Result<bool, StoreError> {
        let name = serde_json::to_value(event.name)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let currency = serde_json::to_value(event.amount.currency)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let result = sqlx::query(
            "INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&event.reference)
        .bind(&event.psp_reference)
        .bind(name)
        .bind(event.amount.value)
        .bind(currency)
        .bind(event.timestamp.to_rfc3339())
        .bind(event.success)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Appends a live event for a till. Returns its id.
    pub async fn insert_till_event(&self, till_id: &str, payload: &str, now: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO till_events (till_id, payload, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(till_id)
        .bind(payload)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// A till's live events after `after`, oldest first.
    pub async fn till_events_after(
        &self,
        till_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, payload FROM till_events WHERE till_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(till_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The id of a till's newest live event (0 if none).
    pub async fn last_till_event_id(&self, till_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM till_events WHERE till_id = ?")
            .bind(till_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The sale a browser's key started at a till, if any.
    pub async fn payment_by_client_key(
        &self,
        till_id: &str,
        client_key: &str,
    ) -> Result<Option<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = ? AND client_key = ?"
        ))
        .bind(till_id)
        .bind(client_key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A till's sales started in `[since, until)`, newest first, optionally of one status and flow
    /// (at most `limit`).
    pub async fn sales(&self, query: &SalesQuery<'_>) -> Result<Vec<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = ? AND created_at >= ? AND created_at < ? \
             AND (? IS NULL OR status = ?) AND (? IS NULL OR flow = ?) \
             ORDER BY created_at DESC, reference DESC LIMIT ?"
        ))
        .bind(query.till_id)
        .bind(query.since)
        .bind(query.until)
        .bind(query.status)
        .bind(query.status)
        .bind(query.flow)
        .bind(query.flow)
        .bind(query.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores a check-in. Returns false if it was stored before (a repeated webhook).
    pub async fn insert_check_in(&self, check_in: &CheckInRow) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO check_ins (id, msn, merchant_qr_id, till_id, customer_token, initiated_at, expires_at, \
             charged_by, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&check_in.id)
        .bind(&check_in.msn)
        .bind(&check_in.merchant_qr_id)
        .bind(&check_in.till_id)
        .bind(&check_in.customer_token)
        .bind(check_in.initiated_at)
        .bind(check_in.expires_at)
        .bind(&check_in.charged_by)
        .bind(check_in.received_at)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// A check-in by id.
    pub async fn check_in(&self, id: &str) -> Result<Option<CheckInRow>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A till's check-ins that can still be charged at `now`, newest first.
    pub async fn open_check_ins(&self, till_id: &str, now: i64) -> Result<Vec<CheckInRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE till_id = ? AND expires_at > ? AND charged_by IS NULL \
             ORDER BY initiated_at DESC"
        ))
        .bind(till_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks a check-in charged by a sale, unless something charged it first. Returns whether
    /// this sale got it.
    pub async fn charge_check_in(&self, id: &str, reference: &str, now: i64) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE check_ins SET charged_by = ? WHERE id = ? AND charged_by IS NULL AND expires_at > ?",
        )
        .bind(reference)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Forgets the platform's tokens of check-ins that can no longer be charged.
    pub async fn expire_check_ins(&self, now: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE check_ins SET customer_token = '' WHERE expires_at <= ? AND customer_token <> ''",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Stores a pairing code's hash.
    pub async fn insert_pairing_code(
        &self,
        code_hash: &str,
        till_id: &str,
        role: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pairing_codes (code_hash, till_id, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(code_hash)
        .bind(till_id)
        .bind(role)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses a pairing code: returns its till and role if it was unused and unexpired, and marks it
    /// used in the same statement, so two browsers can never both use one code.
    pub async fn use_pairing_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "UPDATE pairing_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? \
             RETURNING till_id, role",
        )
        .bind(now)
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Stores a session's hash.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        till_id: &str,
        role: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, till_id, role, created_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(till_id)
            .bind(role)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The till and role of a live session.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(String, String)>, StoreError> {
        let row =
            sqlx::query("SELECT till_id, role FROM sessions WHERE token_hash = ? AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// A payment by its landing-page token.
    pub async fn payment_by_landing_token(&self, token: &str) -> Result<Option<PaymentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE landing_token = ?"))
            .bind(token)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// What a till presents to its sticker now.
    pub async fn presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        Ok(sqlx::query_as("SELECT till_id, amount, currency, description FROM presented WHERE till_id = ?")
            .bind(till_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Presents an amount (replacing what was presented).
    pub async fn present(&self, presented: &PresentedRow, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO presented (till_id, amount, currency, description, presented_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (till_id) DO UPDATE SET amount = excluded.amount, currency = excluded.currency, \
             description = excluded.description, presented_at = excluded.presented_at",
        )
        .bind(&presented.till_id)
        .bind(presented.amount)
        .bind(&presented.currency)
        .bind(&presented.description)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes back what a till presented. Returns what it was, so exactly one payment can use it.
    pub async fn take_presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        Ok(sqlx::query_as(
            "DELETE FROM presented WHERE till_id = ? RETURNING till_id, amount, currency, description",
        )
        .bind(till_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Numbers for `/metrics`: writes recorded but unconfirmed, sales in progress, webhooks stored
    /// but not processed.
    pub async fn gauges(&self) -> Result<(i64, i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM operations WHERE status = 'pending'), \
                    (SELECT COUNT(*) FROM payments WHERE active), \
                    (SELECT COUNT(*) FROM webhook_inbox WHERE processed_at IS NULL)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
    }

    /// Our webhook registrations, all sales units.
    pub async fn webhook_registrations(&self) -> Result<Vec<WebhookRegistration>, StoreError> {
        Ok(sqlx::query_as("SELECT msn, webhook_id, url, events, secret FROM webhook_registrations")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Saves (replacing) our registration for a sales unit.
    pub async fn save_webhook_registration(
        &self,
        reg: &WebhookRegistration,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_registrations (msn, webhook_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (msn) DO UPDATE SET webhook_id = excluded.webhook_id, url = excluded.url, \
             events = excluded.events, secret = excluded.secret, created_at = excluded.created_at",
        )
        .bind(&reg.msn)
        .bind(&reg.webhook_id)
        .bind(&reg.url)
        .bind(&reg.events)
        .bind(&reg.secret)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

async fn write_payment(conn: &mut sqlx::SqliteConnection, row: &PaymentRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET status = ?, active = ?, platform_state = ?, qr = ?, expires_at = ?, authorized = ?, \
         captured = ?, cancelled = ?, refunded = ?, failure = ?, next_poll_at = ?, updated_at = ?, withdrawn_at = ?, \
         watch_until = ? WHERE reference = ?",
    )
    .bind(&row.status)
    .bind(row.active)
    .bind(&row.platform_state)
    .bind(&row.qr)
    .bind(row.expires_at)
    .bind(row.authorized)
    .bind(row.captured)
    .bind(row.cancelled)
    .bind(row.refunded)
    .bind(&row.failure)
    .bind(row.next_poll_at)
    .bind(row.updated_at)
    .bind(row.withdrawn_at)
    .bind(row.watch_until)
    .bind(&row.reference)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_operation(
    conn: &mut sqlx::SqliteConnection,
    operation: NewOperation<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO operations (idempotency_key, reference, kind, amount, status, request, client_key, \
         reason, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
    )
    .bind(operation.key)
    .bind(operation.reference)
    .bind(operation.kind.as_str())
    .bind(operation.amount)
    .bind(operation.request)
    .bind(operation.client_key)
    .bind(operation.reason)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn operation_from(row: &sqlx::sqlite::SqliteRow) -> Option<OperationRow> {
    Some(OperationRow {
        idempotency_key: row.try_get(0).ok()?,
        reference: row.try_get(1).ok()?,
        kind: OperationKind::parse(row.try_get::<&str, _>(2).ok()?)?,
        amount: row.try_get(3).ok()?,
        status: row.try_get(4).ok()?,
        error: row.try_get(5).ok()?,
        attempts: row.try_get(6).ok()?,
        updated_at: row.try_get(7).ok()?,
        request: row.try_get(8).ok()?,
        client_key: row.try_get(9).ok()?,
        reason: row.try_get(10).ok()?,
    })
}

fn is_memory(filename: &Path) -> bool {
    filename.as_os_str() == ":memory:" || filename.as_os_str().is_empty()
}

/// What a callback sticker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CallbackQrKind {
    /// A printed MobilePay PoS beacon, migrated with `qr migrate`.
    Beacon,
    /// A merchant callback QR made with `qr callback create`.
    Callback,
}

impl CallbackQrKind {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Beacon => "beacon",
            Self::Callback => "callback",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Beacon, Self::Callback].into_iter().find(|k| k.as_str() == s)
    }
}

/// A callback sticker the QR tools put up, and the till its check-ins reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackQrRow {
    /// The sales unit it belongs to.
    pub msn: String,
    /// Its id at the platform (a migrated beacon's id in lower case).
    pub merchant_qr_id: String,
    /// Beacon or callback QR.
    pub kind: CallbackQrKind,
    /// The till a check-in there reaches; `None` for none yet.
    pub till_id: Option<String>,
    /// What the app shows after a scan.
    pub location_description: String,
}

const CALLBACK_QR_COLUMNS: &str = "msn, merchant_qr_id, kind, till_id, location_description";

fn callback_qr_from(row: &sqlx::sqlite::SqliteRow) -> Option<CallbackQrRow> {
    Some(CallbackQrRow {
        msn: row.try_get(0).ok()?,
        merchant_qr_id: row.try_get(1).ok()?,
        kind: CallbackQrKind::parse(row.try_get::<&str, _>(2).ok()?)?,
        till_id: row.try_get(3).ok()?,
        location_description: row.try_get(4).ok()?,
    })
}

// The QR tools' records: migrated beacons and callback stickers, and the till each one reaches.
impl Store {
    /// The callback sticker `merchant_qr_id` of sales unit `msn`. A GUID beacon id is found
    /// however it is spelled: the platform sends it in lower case, and so it is kept.
    pub async fn callback_qr(
        &self,
        msn: &str,
        merchant_qr_id: &str,
    ) -> Result<Option<CallbackQrRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CALLBACK_QR_COLUMNS} FROM callback_qrs WHERE msn = ? AND merchant_qr_id IN (?, ?) \
             ORDER BY merchant_qr_id = ? DESC LIMIT 1"
        ))
        .bind(msn)
        .bind(merchant_qr_id)
        .bind(merchant_qr_id.to_ascii_lowercase())
        .bind(merchant_qr_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(callback_qr_from))
    }

    /// Every callback sticker the QR tools put up, by sales unit and id.
    pub async fn callback_qrs(&self) -> Result<Vec<CallbackQrRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CALLBACK_QR_COLUMNS} FROM callback_qrs ORDER BY msn, merchant_qr_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(callback_qr_from).collect())
    }

    /// Records a callback sticker, or what changed about it (its till, kind or location).
    pub async fn save_callback_qr(&self, qr: &CallbackQrRow, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO callback_qrs (msn, merchant_qr_id, kind, till_id, location_description, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (msn, merchant_qr_id) DO UPDATE SET kind = excluded.kind, \
             till_id = excluded.till_id, location_description = excluded.location_description, \
             updated_at = excluded.updated_at",
        )
        .bind(&qr.msn)
        .bind(&qr.merchant_qr_id)
        .bind(qr.kind.as_str())
        .bind(&qr.till_id)
        .bind(&qr.location_description)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a callback sticker. Returns whether there was one.
    pub async fn delete_callback_qr(&self, msn: &str, merchant_qr_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM callback_qrs WHERE msn = ? AND merchant_qr_id IN (?, ?)")
            .bind(msn)
            .bind(merchant_qr_id)
            .bind(merchant_qr_id.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reference: &str, till: &str) -> PaymentRow {
        PaymentRow {
            reference: reference.into(),
            till_id: till.into(),
            msn: "123456".into(),
            flow: "qr".into(),
            currency: "NOK".into(),
            amount: 1000,
            status: "creating".into(),
            active: true,
            platform_state: None,
            qr: None,
            expires_at: None,
            authorized: 0,
            captured: 0,
            cancelled: 0,
            refunded: 0,
            failure: None,
            next_poll_at: None,
            created_at: 1,
            updated_at: 1,
            description: None,
            customer_label: None,
            client_key: None,
            sticker_id: None,
            landing_token: None,
            withdrawn_at: None,
            watch_until: None,
        }
    }

    fn create(key: &str) -> NewOperation<'_> {
        let reference = key.trim_end_matches("-create");
        NewOperation {
            key,
            reference,
            kind: OperationKind::Create,
            amount: Some(1000),
            request: "{}",
            client_key: None,
            reason: None,
        }
    }

    #[tokio::test]
    async fn a_till_can_have_only_one_active_sale() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create")).await.unwrap();
        let second = store.insert_sale(&row("till-1-bbbb", "till-1"), create("till-1-bbbb-create")).await;
        assert!(matches!(second, Err(StoreError::TillBusy)));
        // Nothing of the refused sale was written.
        assert_eq!(store.payment("till-1-bbbb").await.unwrap(), None);
        assert!(store.operations_for("till-1-bbbb").await.unwrap().is_empty());
        store.insert_sale(&row("till-2-cccc", "till-2"), create("till-2-cccc-create")).await.unwrap();

        let mut done = store.payment("till-1-aaaa").await.unwrap().unwrap();
        done.active = false;
        store.update_payment(&done).await.unwrap();
        store.insert_sale(&row("till-1-bbbb", "till-1"), create("till-1-bbbb-create")).await.unwrap();
    }

    #[tokio::test]
    async fn a_sale_an_earlier_version_cancelled_on_a_404_is_looked_at_again_after_the_upgrade() {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        let all = sqlx::migrate!("./migrations/sqlite");
        let before = sqlx::migrate::Migrator {
            migrations: all.migrations.iter().filter(|m| m.version < 6).cloned().collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.run(&pool).await.unwrap();
        // How the earlier version left a sale whose cancel met a 404, and one never sent at all.
        for (reference, error) in [
            ("till-1-late", "cancelled before it reached the platform"),
            ("till-1-fine", "the check-in was charged by another sale"),
        ] {
            sqlx::query(
                "INSERT INTO payments (reference, till_id, msn, flow, currency, amount, status, active, \
                 created_at, updated_at) VALUES (?, 'till-1', '123456', 'phone', 'NOK', 1000, 'cancelled', FALSE, 1, 5000)",
            )
            .bind(reference)
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO operations (idempotency_key, reference, kind, status, error, created_at, updated_at) \
                 VALUES (?, ?, 'create', 'failed', ?, 1, 5000)",
            )
            .bind(format!("{reference}-create"))
            .bind(reference)
            .bind(error)
            .execute(&pool)
            .await
            .unwrap();
        }

        all.run(&pool).await.unwrap();
        let store = Store { pool };
        let late = store.payment("till-1-late").await.unwrap().unwrap();
        assert_eq!((late.withdrawn_at, late.next_poll_at), (Some(5_000), Some(5_000)), "looked at now");
        assert!(late.watch_until.is_some());
        let fine = store.payment("till-1-fine").await.unwrap().unwrap();
        assert_eq!((fine.withdrawn_at, fine.next_poll_at), (None, None), "never sent: nothing to look for");
    }

    #[tokio::test]
    async fn a_sale_is_recorded_with_its_pending_create_intent() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        store.insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create")).await.unwrap();
        let ops = store.pending_operations(i64::MAX).await.unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(
            (ops[0].kind, ops[0].idempotency_key.as_str()),
            (OperationKind::Create, "till-1-aaaa-create")
        );
        assert!(!store.begin_operation(create("till-1-aaaa-create"), 2).await.unwrap());
        store.finish_operation("till-1-aaaa-create", None, 3).await.unwrap();
        assert!(store.pending_operations(i64::MAX).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_exact_request_is_kept_with_its_operation_for_a_resend() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let body = r#"{"amount":{"currency":"NOK","value":1000}}"#;
        let operation =
            NewOperation { request: body, client_key: Some("browser-1"), ..create("till-1-aaaa-create") };
        store.insert_sale(&row("till-1-aaaa", "till-1"), operation).await.unwrap();
        let found = store.operation_by_client_key("till-1-aaaa", "browser-1").await.unwrap().unwrap();
        assert_eq!(found.request.as_deref(), Some(body));
        assert_eq!(store.operation("till-1-aaaa-create").await.unwrap(), Some(found));
    }

    #[tokio::test]
    async fn a_check_in_is_charged_once_and_only_while_it_lasts() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let check_in = CheckInRow {
            id: "c1".into(),
            msn: "123456".into(),
            merchant_qr_id: "till-1".into(),
            till_id: Some("till-1".into()),
            customer_token: "token".into(),
            initiated_at: 0,
            expires_at: 900_000,
            charged_by: None,
            received_at: 0,
        };
        assert!(store.insert_check_in(&check_in).await.unwrap());
        assert!(!store.insert_check_in(&check_in).await.unwrap(), "a repeated webhook stores nothing");
        assert_eq!(store.open_check_ins("till-1", 1).await.unwrap().len(), 1);
        assert!(!store.charge_check_in("c1", "sale-a", 900_000).await.unwrap(), "expired");
        assert!(store.charge_check_in("c1", "sale-a", 1).await.unwrap());
        assert!(!store.charge_check_in("c1", "sale-b", 2).await.unwrap(), "charged once");
        assert!(store.open_check_ins("till-1", 2).await.unwrap().is_empty());
        assert_eq!(store.expire_check_ins(900_000).await.unwrap(), 1);
        assert_eq!(store.check_in("c1").await.unwrap().unwrap().customer_token, "", "the token is forgotten");
    }

    #[tokio::test]
    async fn a_presented_amount_is_taken_by_exactly_one_payment() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let presented = PresentedRow {
            till_id: "till-1".into(),
            amount: 4900,
            currency: "NOK".into(),
            description: None,
        };
        store.present(&presented, 0).await.unwrap();
        store.present(&PresentedRow { amount: 5000, ..presented.clone() }, 1).await.unwrap();
        assert_eq!(
            store.presented("till-1").await.unwrap().unwrap().amount,
            5000,
            "the newest amount counts"
        );
        assert_eq!(store.take_presented("till-1").await.unwrap().unwrap().amount, 5000);
        assert_eq!(store.take_presented("till-1").await.unwrap(), None, "taken once");
    }

    #[tokio::test]
    async fn many_payments_of_an_open_amount_sticker_may_be_in_progress_at_once() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        for reference in ["donate-aaaa", "donate-bbbb"] {
            let payment = PaymentRow { till_id: String::new(), ..row(reference, "") };
            store.insert_sale(&payment, create(&format!("{reference}-create"))).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_callback_sticker_is_found_however_its_guid_is_spelled_and_saving_it_again_updates_it() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let beacon = CallbackQrRow {
            msn: "123456".into(),
            merchant_qr_id: "27072f82-c4b6-49cd-9838-10f21d87496e".into(),
            kind: CallbackQrKind::Beacon,
            till_id: Some("till-1".into()),
            location_description: "Kasse 1".into(),
        };
        store.save_callback_qr(&beacon, 1).await.unwrap();
        let upper = beacon.merchant_qr_id.to_uppercase();
        assert_eq!(store.callback_qr("123456", &upper).await.unwrap(), Some(beacon.clone()));
        assert_eq!(
            store.callback_qr("234567", &beacon.merchant_qr_id).await.unwrap(),
            None,
            "per sales unit"
        );
        let moved = CallbackQrRow { till_id: Some("till-2".into()), ..beacon.clone() };
        store.save_callback_qr(&moved, 2).await.unwrap();
        assert_eq!(store.callback_qrs().await.unwrap(), [moved]);
        assert!(store.delete_callback_qr("123456", &upper).await.unwrap());
        assert!(!store.delete_callback_qr("123456", &upper).await.unwrap(), "gone once");
    }

    #[tokio::test]
    async fn till_events_replay_after_a_given_id_in_order() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let first = store.insert_till_event("till-1", "a", 1).await.unwrap();
        store.insert_till_event("till-2", "x", 1).await.unwrap();
        let second = store.insert_till_event("till-1", "b", 2).await.unwrap();
        assert!(second > first);
        let after = store.till_events_after("till-1", first, 10).await.unwrap();
        assert_eq!(after, vec![(second, "b".to_owned())]);
        assert_eq!(store.last_till_event_id("till-1").await.unwrap(), second);
        assert_eq!(store.last_till_event_id("till-9").await.unwrap(), 0);
    }
}

//! Payments: one row per sale attempt, and the one sale in progress per till.

use std::borrow::Cow;
use std::sync::LazyLock;

use super::backend::{Backend, Conn, StoreRow, on};
use super::combined::{Combined, Write};
use super::statement::{Bind as _, FromStoreRow, Param, Query, query, query_as};
use kasse_api::{Currency, Flow, Loyalty, SaleStatus};
use kasse_vipps::epayment::State;
use sqlx::Connection as _;

use super::names::{Named as _, decode, decode_optional};
use super::operations::operation_insert;
use super::sqlite::SqliteConn;
use super::till_events::insert_event_if;
use super::{NewOperation, NewTillEvent, Store, StoreError};

pub(super) const PAYMENT_COLUMNS: &str = "reference, till_id, msn, flow, currency, amount, status, active, platform_state, qr, \
     expires_at, authorized, captured, cancelled, refunded, failure, next_poll_at, created_at, updated_at, \
     description, masked_phone, client_key, sticker_id, landing_token, withdrawn_at, watch_until, integrator_id, order_id, \
     loyalty, member_name";

/// A payment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub reference: String,
    pub till_id: String,
    pub msn: String,
    pub flow: Flow,
    pub currency: Currency,
    pub amount: i64,
    /// What the till shows; change it with [`PaymentRow::set_status`].
    pub status: SaleStatus,
    pub active: bool,
    /// The platform's state, once the platform has told it.
    pub platform_state: Option<State>,
    pub qr: Option<String>,
    pub expires_at: Option<i64>,
    pub authorized: i64,
    pub captured: i64,
    pub cancelled: i64,
    pub refunded: i64,
    pub failure: Option<String>,
    pub next_poll_at: Option<i64>,
    pub created_at: i64,
    /// The row's version: it moves forward with every change a till or a PoS is shown (see
    /// [`PaymentRow::touch`]).
    pub updated_at: i64,
    /// The version this row had in the store when it was read, or last written from here: the
    /// store writes the row only over that same version (see [`PaymentRow::written`]).
    pub read_version: i64,
    pub description: Option<String>,
    /// For the phone flows: the customer's number, masked for the cashier.
    pub masked_phone: Option<String>,
    pub client_key: Option<String>,
    pub sticker_id: Option<String>,
    pub landing_token: Option<String>,
    /// When the cashier's cancel ended the sale before the platform had its payment.
    pub withdrawn_at: Option<i64>,
    /// Until when a withdrawn sale's reference is watched for a create that arrives late.
    pub watch_until: Option<i64>,
    /// The PoS system (integrator) that started it through the terminal API, if one did.
    pub integrator_id: Option<String>,
    /// The PoS's own order id, as it gave it.
    pub order_id: Option<String>,
    /// At a store with loyalty, once approved: what the customer let the store know.
    pub loyalty: Option<Loyalty>,
}

impl FromStoreRow for PaymentRow {
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            reference: row.read("reference")?,
            till_id: row.read("till_id")?,
            msn: row.read("msn")?,
            flow: decode(row, "flow")?,
            currency: decode(row, "currency")?,
            amount: row.read("amount")?,
            status: decode(row, "status")?,
            active: row.read("active")?,
            platform_state: decode_optional(row, "platform_state")?,
            qr: row.read("qr")?,
            expires_at: row.read("expires_at")?,
            authorized: row.read("authorized")?,
            captured: row.read("captured")?,
            cancelled: row.read("cancelled")?,
            refunded: row.read("refunded")?,
            failure: row.read("failure")?,
            next_poll_at: row.read("next_poll_at")?,
            created_at: row.read("created_at")?,
            updated_at: row.read("updated_at")?,
            read_version: row.read("updated_at")?,
            description: row.read("description")?,
            masked_phone: row.read("masked_phone")?,
            client_key: row.read("client_key")?,
            sticker_id: row.read("sticker_id")?,
            landing_token: row.read("landing_token")?,
            withdrawn_at: row.read("withdrawn_at")?,
            watch_until: row.read("watch_until")?,
            integrator_id: row.read("integrator_id")?,
            order_id: row.read("order_id")?,
            loyalty: read_loyalty(row)?,
        })
    }
}

impl PaymentRow {
    /// The sale status.
    pub const fn status(&self) -> SaleStatus {
        self.status
    }

    /// Sets the sale status, and whether the sale still occupies its till. A sale that has left
    /// its till never occupies it again: whatever happens to it later is that sale's, and the
    /// till may have rung up the next one meanwhile.
    pub fn set_status(&mut self, status: SaleStatus) {
        self.status = status;
        self.active = self.active && !status.is_final();
    }

    /// Marks the row changed now: `updated_at` moves forward by at least a millisecond with each
    /// change, so it versions the row (a PoS's callbacks say which version they delivered).
    pub fn touch(&mut self) {
        self.updated_at = crate::now_ms().max(self.updated_at + 1);
    }

    /// Notes that the store now holds this row as it is: the next write is made over this version.
    pub(super) const fn written(&mut self) {
        self.read_version = self.updated_at;
    }

    /// Whether the cashier cancelled the sale before the platform had its payment.
    pub const fn withdrawn(&self) -> bool {
        self.withdrawn_at.is_some()
    }
}

/// Which sales to list.
#[derive(Debug, Clone, Copy)]
pub struct SalesQuery<'a> {
    /// The tills whose sales are listed, together.
    pub till_ids: &'a [&'a str],
    /// The open-amount stickers whose sales (those no till took) are listed with them.
    pub sticker_ids: &'a [&'a str],
    pub since: i64,
    pub until: i64,
    pub status: Option<SaleStatus>,
    pub flow: Option<Flow>,
    /// Only sales this text finds (any of its criteria).
    pub text: Option<SalesText<'a>>,
    pub limit: i64,
}

/// What a search for sales asks: a sale matches when any criterion does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesText<'a> {
    /// Lowercase text the reference or the PoS order id contains.
    pub contains: &'a str,
    /// Digits the customer's (masked) phone number ends in.
    pub phone_ends: Option<&'a str>,
    /// The amount asked for, in minor units.
    pub amount: Option<i64>,
}

/// `text` as a `LIKE` pattern's literal part: its wildcards and the escape itself escaped
/// (with `\`, named by `ESCAPE` in the statement, as PostgreSQL and SQLite both take it).
fn like_literal(text: &str) -> String {
    let mut literal = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal
}

impl Store {
    /// Records a new sale, the intent to create it at the platform and the live event that
    /// announces it, in one transaction. Returns the event's id.
    #[cfg(test)]
    pub async fn insert_sale(
        &self,
        row: &PaymentRow,
        create: NewOperation<'_>,
        event: Option<NewTillEvent<'_>>,
    ) -> Result<Option<i64>, StoreError> {
        self.insert_sale_charging(row, create, event, None).await
    }

    /// [`Store::insert_sale`], charging the check-in `check_in` (if any) to the sale in the same
    /// transaction: a sale recorded to charge a check-in's customer holds that check-in, or is
    /// not recorded at all ([`StoreError::CheckInGone`]: charged by another sale, or expired).
    /// Apart, a crash between the two left a sale whose recorded create the reconciler sends,
    /// charging the customer, beside a check-in still offered to the till for the next sale.
    pub async fn insert_sale_charging(
        &self,
        row: &PaymentRow,
        create: NewOperation<'_>,
        event: Option<NewTillEvent<'_>>,
        check_in: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let operation = operation_insert(create, row.created_at);
        // Any of the payment's unique indexes; the operation's would be a fault of ours.
        let busy_or = |e: sqlx::Error| match &e {
            sqlx::Error::Database(db)
                if db.is_unique_violation() && db.table().is_none_or(|t| t == "payments") =>
            {
                StoreError::TillBusy
            }
            _ => e.into(),
        };
        match self.db().await?.conn() {
            Backend::Postgres(conn) => {
                let combined = Combined::default().with(payment_insert(row)).with(operation);
                let Some(check_in) = check_in else {
                    return combined.run(conn, event).await.map_err(busy_or);
                };
                let mut tx = conn.begin().await?;
                if charge(check_in, row).execute(&mut *tx).await?.rows_affected() != 1 {
                    return Err(StoreError::CheckInGone);
                }
                let id = combined.run(&mut tx, event).await.map_err(busy_or)?;
                tx.commit().await?;
                Ok(id)
            }
            Backend::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                payment_insert(row).execute(&mut *tx).await.map_err(busy_or)?;
                operation.execute(&mut *tx).await?;
                if let Some(check_in) = check_in
                    && charge(check_in, row).execute(&mut *tx).await?.rows_affected() != 1
                {
                    return Err(StoreError::CheckInGone);
                }
                let id = insert_event_if(&mut tx, event).await?;
                tx.commit().await?;
                Ok(id)
            }
        }
    }

    /// A payment by reference.
    pub async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, StoreError> {
        Ok(read_payment(self.db().await?.conn(), reference).await?)
    }

    /// The till's sale in progress, or else its newest one.
    pub async fn current_payment(&self, till_id: &str) -> Result<Option<PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = $1 ORDER BY active DESC, created_at DESC, reference DESC LIMIT 1"
            ))
            .bind(till_id)
            .fetch_optional(&mut *db)
            .await?)
        })
    }

    /// The till's sale in progress.
    pub async fn active_payment(&self, till_id: &str) -> Result<Option<PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = $1 AND active"))
                .bind(till_id)
                .fetch_optional(&mut *db)
                .await?)
        })
    }

    /// Writes every mutable column of a payment, over the version it was read at:
    /// [`StoreError::ChangedMeanwhile`], and nothing written, if the row moved on since.
    pub async fn update_payment(&self, row: &mut PaymentRow) -> Result<(), StoreError> {
        match self.db().await?.conn() {
            Backend::Postgres(conn) => {
                payment_update(row).execute(conn).await.map_err(changed_meanwhile(row))?;
            }
            Backend::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                write_sqlite_payment(&mut tx, row).await?;
                tx.commit().await?;
            }
        }
        row.written();
        Ok(())
    }

    /// Writes every mutable column of a payment, over the version it was read at, and the live
    /// event that announces the change, in one transaction. Returns the event's id.
    pub async fn save_payment(
        &self,
        row: &mut PaymentRow,
        event: Option<NewTillEvent<'_>>,
    ) -> Result<Option<i64>, StoreError> {
        self.save_payment_with(Vec::new(), row, event).await
    }

    /// Runs `writes` (of the payment's operations), then writes every mutable column of the
    /// payment over the version it was read at, and the live event that announces the change:
    /// together or not at all (on PostgreSQL one statement, see `combined`; on SQLite one
    /// transaction). [`StoreError::ChangedMeanwhile`], and nothing written, if the row moved on
    /// since it was read. Returns the event's id.
    pub(super) async fn save_payment_with(
        &self,
        writes: Vec<Write<'_>>,
        row: &mut PaymentRow,
        event: Option<NewTillEvent<'_>>,
    ) -> Result<Option<i64>, StoreError> {
        let id = match self.db().await?.conn() {
            Backend::Postgres(conn) => writes
                .into_iter()
                .fold(Combined::default(), Combined::with)
                .with(payment_update(row))
                .run(conn, event)
                .await
                .map_err(changed_meanwhile(row))?,
            Backend::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                for write in writes {
                    write.execute(&mut *tx).await?;
                }
                write_sqlite_payment(&mut tx, row).await?;
                let id = insert_event_if(&mut tx, event).await?;
                tx.commit().await?;
                id
            }
        };
        row.written();
        Ok(id)
    }

    /// Payments whose next poll is due.
    pub async fn payments_to_poll(&self, now: i64) -> Result<Vec<PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "SELECT {PAYMENT_COLUMNS} FROM payments WHERE next_poll_at IS NOT NULL AND next_poll_at <= $1 ORDER BY next_poll_at LIMIT 100"
            ))
            .bind(now)
            .fetch_all(&mut *db)
            .await?)
        })
    }

    /// The sale a browser's key started at a till, if any.
    pub async fn payment_by_client_key(
        &self,
        till_id: &str,
        client_key: &str,
    ) -> Result<Option<PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "SELECT {PAYMENT_COLUMNS} FROM payments WHERE till_id = $1 AND client_key = $2"
            ))
            .bind(till_id)
            .bind(client_key)
            .fetch_optional(&mut *db)
            .await?)
        })
    }

    /// The sales of the query's tills and open-amount stickers started in `[since, until)`, newest
    /// first, optionally of one status and flow (at most `limit`).
    pub async fn sales(&self, query: &SalesQuery<'_>) -> Result<Vec<PaymentRow>, StoreError> {
        if query.till_ids.is_empty() && query.sticker_ids.is_empty() {
            return Ok(Vec::new());
        }
        // With no search, every pattern is NULL and matches nothing, which the first test skips.
        let contains = query.text.map(|t| format!("%{}%", like_literal(t.contains)));
        let phone_ends = query.text.and_then(|t| t.phone_ends).map(|d| format!("%{}", like_literal(d)));
        // The tills' parameters come after the others ($13, $14, …), then the stickers'.
        let params = |from: usize, count: usize| -> String {
            (from..from + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
        };
        let mut takers = Vec::new();
        if !query.till_ids.is_empty() {
            takers.push(format!("till_id IN ({})", params(13, query.till_ids.len())));
        }
        if !query.sticker_ids.is_empty() {
            let stickers = params(13 + query.till_ids.len(), query.sticker_ids.len());
            takers.push(format!("(till_id = '' AND sticker_id IN ({stickers}))"));
        }
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE ({}) AND created_at >= $1 AND created_at < $2 \
             AND ($3 IS NULL OR status = $4) AND ($5 IS NULL OR flow = $6) \
             AND ($8 IS NULL OR lower(reference) LIKE $9 ESCAPE '\\' \
                  OR lower(COALESCE(order_id, '')) LIKE $10 ESCAPE '\\' \
                  OR masked_phone LIKE $11 ESCAPE '\\' OR amount = $12) \
             ORDER BY created_at DESC, reference DESC LIMIT $7",
            takers.join(" OR ")
        );
        on!(self.db().await?.conn(), |db| {
            let mut statement = query_as(&sql)
                .bind(query.since)
                .bind(query.until)
                .bind(query.status.map(SaleStatus::name))
                .bind(query.status.map(SaleStatus::name))
                .bind(query.flow.map(Flow::name))
                .bind(query.flow.map(Flow::name))
                .bind(query.limit)
                .bind(query.text.map(|t| t.contains))
                .bind(contains.clone())
                .bind(contains.clone())
                .bind(phone_ends.clone())
                .bind(query.text.and_then(|t| t.amount));
            for id in query.till_ids.iter().chain(query.sticker_ids) {
                statement = statement.bind(*id);
            }
            Ok(statement.fetch_all(&mut *db).await?)
        })
    }

    /// A payment by its landing-page token.
    pub async fn payment_by_landing_token(&self, token: &str) -> Result<Option<PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE landing_token = $1"))
                .bind(token)
                .fetch_optional(&mut *db)
                .await?)
        })
    }
}

/// A payment by reference, read on `conn` (a turn's connection, or a transaction's).
pub(super) async fn read_payment(conn: Conn<'_>, reference: &str) -> Result<Option<PaymentRow>, sqlx::Error> {
    on!(conn, |conn| query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE reference = $1"))
        .bind(reference)
        .fetch_optional(conn)
        .await)
}

/// The columns a payment's write sets but its version: `$1` to `$16` but `$12`, the version it
/// sets (its reference is `$17`, the version it was read at `$18`). What loyalty learnt is written
/// once: a row read before it was learnt never clears it, and one read before `loyalty forget` or
/// the retention job forgot a member's name never writes the name back.
const PAYMENT_SET: &str = "status = $1, active = $2, platform_state = $3, qr = $4, expires_at = $5, authorized = $6, \
     captured = $7, cancelled = $8, refunded = $9, failure = $10, next_poll_at = $11, withdrawn_at = $13, \
     watch_until = $14, loyalty = COALESCE(loyalty, $15), \
     member_name = CASE WHEN loyalty IS NULL THEN $16 ELSE member_name END";

/// A payment's write on PostgreSQL. A version that moved on since the row was read fails the
/// statement, so the writes sent with it in one statement (see `combined`) are undone with it;
/// `kasse_changed_meanwhile` (migration 0019) says why. A payment that is not there is written
/// as nothing, as on SQLite.
static POSTGRES_UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE payments SET {PAYMENT_SET}, \
         updated_at = CASE WHEN updated_at = $18 THEN $12 ELSE kasse_changed_meanwhile(reference) END \
         WHERE reference = $17"
    )
});

/// A payment's write on SQLite, where its transaction checks what it changed.
static SQLITE_UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!("UPDATE payments SET {PAYMENT_SET}, updated_at = $12 WHERE reference = $17 AND updated_at = $18")
});

/// The statement that writes a payment's mutable columns on PostgreSQL, over the version the row
/// was read at.
pub(super) fn payment_update(row: &PaymentRow) -> Write<'_> {
    payment_write(&POSTGRES_UPDATE, row)
}

/// Writes a payment's mutable columns on SQLite, in the caller's transaction `tx`, over the
/// version the row was read at: [`StoreError::ChangedMeanwhile`] if the row moved on since (the
/// transaction is then the caller's to drop, undoing what else it wrote).
async fn write_sqlite_payment(tx: &mut SqliteConn, row: &PaymentRow) -> Result<(), StoreError> {
    if payment_write(&SQLITE_UPDATE, row).execute(&mut *tx).await?.rows_affected() == 1 {
        return Ok(());
    }
    // Nothing written: a payment that is not there is written as nothing, as on PostgreSQL.
    match query_as::<(i64,)>("SELECT updated_at FROM payments WHERE reference = $1")
        .bind(&row.reference)
        .fetch_optional(&mut *tx)
        .await?
    {
        Some(_) => Err(StoreError::ChangedMeanwhile(row.reference.clone())),
        None => Ok(()),
    }
}

/// `sql`, one of the two above, with `row`'s parameters.
fn payment_write<'q>(sql: &'static str, row: &'q PaymentRow) -> Write<'q> {
    Write {
        sql: Cow::Borrowed(sql),
        params: [
            state_params(row).as_slice(),
            &[
                row.updated_at.param(),
                row.withdrawn_at.param(),
                row.watch_until.param(),
                row.loyalty.as_ref().map(loyalty_name).param(),
                member_name(row.loyalty.as_ref()).param(),
                (&row.reference).param(),
                row.read_version.param(),
            ],
        ]
        .concat(),
    }
}

/// What a PostgreSQL statement writing `row` failed with: [`StoreError::ChangedMeanwhile`] when
/// the payment's version had moved on (see [`payment_update`]).
fn changed_meanwhile(row: &PaymentRow) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    |e| match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(SERIALIZATION_FAILURE) => {
            StoreError::ChangedMeanwhile(row.reference.clone())
        }
        _ => e.into(),
    }
}

/// PostgreSQL's SQLSTATE `serialization_failure`, raised by `kasse_changed_meanwhile`.
const SERIALIZATION_FAILURE: &str = "40001";

/// The parameters of a payment's state, in the order both the update above and the insert below
/// bind them.
fn state_params(row: &PaymentRow) -> [Param<'_>; 11] {
    [
        row.status.name().param(),
        row.active.param(),
        row.platform_state.map(State::name).param(),
        (&row.qr).param(),
        row.expires_at.param(),
        row.authorized.param(),
        row.captured.param(),
        row.cancelled.param(),
        row.refunded.param(),
        (&row.failure).param(),
        row.next_poll_at.param(),
    ]
}

/// The statement that charges check-in `id` to the sale `row`, while it is free and unexpired.
fn charge<'q>(id: &'q str, row: &'q PaymentRow) -> Query<'q> {
    query("UPDATE check_ins SET charged_by = $1 WHERE id = $2 AND charged_by IS NULL AND expires_at > $3")
        .bind(&row.reference)
        .bind(id)
        .bind(row.created_at)
}

/// The statement that inserts a new payment.
pub(super) fn payment_insert(row: &PaymentRow) -> Write<'_> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let params: Vec<String> = (1..=PAYMENT_COLUMNS.split(',').count()).map(|i| format!("${i}")).collect();
        format!("INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ({})", params.join(", "))
    });
    Write {
        sql: Cow::Borrowed(SQL.as_str()),
        params: [
            &[
                (&row.reference).param(),
                (&row.till_id).param(),
                (&row.msn).param(),
                row.flow.name().param(),
                row.currency.name().param(),
                row.amount.param(),
            ],
            state_params(row).as_slice(),
            &[
                row.created_at.param(),
                row.updated_at.param(),
                (&row.description).param(),
                (&row.masked_phone).param(),
                (&row.client_key).param(),
                (&row.sticker_id).param(),
                (&row.landing_token).param(),
                row.withdrawn_at.param(),
                row.watch_until.param(),
                (&row.integrator_id).param(),
                (&row.order_id).param(),
                row.loyalty.as_ref().map(loyalty_name).param(),
                member_name(row.loyalty.as_ref()).param(),
            ],
        ]
        .concat(),
    }
}

/// How [`Loyalty`] is stored in the `loyalty` column.
const fn loyalty_name(loyalty: &Loyalty) -> &'static str {
    match loyalty {
        Loyalty::Member { .. } => "member",
        Loyalty::NotMember => "not-member",
    }
}

/// What goes into the `member_name` column: a member's name, and nothing for anyone else.
fn member_name(loyalty: Option<&Loyalty>) -> Option<String> {
    match loyalty {
        Some(Loyalty::Member { name }) => name.clone(),
        _ => None,
    }
}

/// The `loyalty` and `member_name` columns of `row`, read back.
fn read_loyalty(row: &impl StoreRow) -> Result<Option<Loyalty>, sqlx::Error> {
    let name: Option<String> = row.read("loyalty")?;
    Ok(match name.as_deref() {
        None => None,
        Some("member") => Some(Loyalty::Member { name: row.read("member_name")? }),
        Some("not-member") => Some(Loyalty::NotMember),
        Some(other) => {
            return Err(sqlx::Error::ColumnDecode {
                index: "loyalty".to_owned(),
                source: format!("{other:?} is no loyalty kasse knows").into(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{create, row};

    #[tokio::test]
    async fn a_till_can_have_only_one_active_sale() {
        for store in crate::store::testing::stores().await {
            store
                .insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create"), None)
                .await
                .unwrap();
            let second =
                store.insert_sale(&row("till-1-bbbb", "till-1"), create("till-1-bbbb-create"), None).await;
            assert!(matches!(second, Err(StoreError::TillBusy)));
            // Nothing of the refused sale was written.
            assert_eq!(store.payment("till-1-bbbb").await.unwrap(), None);
            assert!(store.operations_for("till-1-bbbb").await.unwrap().is_empty());
            store
                .insert_sale(&row("till-2-cccc", "till-2"), create("till-2-cccc-create"), None)
                .await
                .unwrap();

            let mut done = store.payment("till-1-aaaa").await.unwrap().unwrap();
            done.active = false;
            store.update_payment(&mut done).await.unwrap();
            store
                .insert_sale(&row("till-1-bbbb", "till-1"), create("till-1-bbbb-create"), None)
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn many_payments_of_an_open_amount_sticker_may_be_in_progress_at_once() {
        for store in crate::store::testing::stores().await {
            for reference in ["donate-aaaa", "donate-bbbb"] {
                let payment = PaymentRow { till_id: String::new(), ..row(reference, "") };
                store.insert_sale(&payment, create(&format!("{reference}-create")), None).await.unwrap();
            }
        }
    }
}

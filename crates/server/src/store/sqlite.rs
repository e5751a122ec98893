//! SQLite, run on the calling thread.
//!
//! A statement on the embedded database costs a few microseconds of SQLite's own work. A driver
//! that runs its connection on a thread of its own (sqlx's does) adds two thread wake-ups to every
//! statement, and on a 2-core machine those cost several times the statement (measured: a third
//! of the process's CPU on that thread, most of it in context switches, and the one
//! connection's statements queued behind them). So the store holds its one SQLite connection
//! itself and runs each statement where it is asked for, while the caller holds the store's turn
//! (see `turns`): a turn's statements run back to back with no hop.
//!
//! What this costs: a statement blocks its Tokio worker while it runs, which is microseconds,
//! except when it waits for another process's write lock (the operator's `kasse-server` commands
//! on the same file, up to `busy_timeout`). Folding the write-ahead log back into the file, which
//! takes milliseconds and an fsync, is left to a thread of its own ([`Checkpointer`]).
//!
//! Errors are the store's statement errors, `sqlx::Error`, the same as PostgreSQL's, so the
//! store's code handles both alike: a constraint SQLite refuses is a [`DatabaseError`] whose kind
//! says which (a unique violation is what `insert_sale` recognises as "the till is busy").

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::types::{FromSql, Value as SqlValue, ValueRef};
use rusqlite::{ErrorCode, OpenFlags};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::migrate::{MigrateError, Migrator};

use super::statement::{Param, Query};

/// The one connection to the embedded database (and, for a file, its checkpointer's stop).
pub struct SqliteConn {
    conn: rusqlite::Connection,
    _checkpointer: Option<Checkpointer>,
}

impl std::fmt::Debug for SqliteConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SqliteConn").field(&self.conn.path()).finish()
    }
}

/// How often the checkpointer folds the write-ahead log back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Pages of log after which a commit folds it back itself: only when the checkpointer falls
/// behind (SQLite's default is 1 000, which under load is several times a second).
const CHECKPOINT_BACKSTOP: u32 = 20_000;

/// A thread of its own, with a connection of its own, that folds the write-ahead log back into
/// the database file every [`CHECKPOINT_EVERY`]. Left to SQLite, a commit does it every thousand
/// pages, with the file's fsync, inside a turn at the database, on a Tokio worker (measured at 64
/// tills: 578 sales a second that way, 708 with this thread). Stops when dropped.
struct Checkpointer {
    _stop: std::sync::mpsc::Sender<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, sqlx::Error> {
        let conn =
            rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(error)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    // PASSIVE: what no reader still needs, never waiting for the writer.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "the SQLite checkpoint failed; commits will do it");
                    }
                }
            })
            .map_err(sqlx::Error::Io)?;
        Ok(Self { _stop: stop })
    }
}

/// Distinct statements kept prepared: the store has about 130, most of them run at every sale.
const PREPARED: usize = 256;

impl SqliteConn {
    /// Opens (creating it if needed) the database file at `path`, or a private in-memory one.
    pub fn open(path: Option<&Path>) -> Result<Self, sqlx::Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match path {
            Some(path) => rusqlite::Connection::open_with_flags(path, flags),
            None => rusqlite::Connection::open_in_memory_with_flags(flags),
        }
        .map_err(error)?;
        conn.set_prepared_statement_cache_capacity(PREPARED);
        // WAL with NORMAL is durable across a process crash; only power loss may drop the last
        // transactions, which the reconciler then finds missing at the platform.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(error)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(error)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(error)?;
        // For the operator's tools, which open the file from another process.
        conn.busy_timeout(Duration::from_secs(5)).map_err(error)?;
        let checkpointer = match path {
            Some(path) => {
                conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_BACKSTOP).map_err(error)?;
                Some(Checkpointer::start(path)?)
            }
            None => None,
        };
        Ok(Self { conn, _checkpointer: checkpointer })
    }

    /// Brings the schema up to date with `migrator`'s migrations, keeping the book sqlx keeps
    /// (`_sqlx_migrations`), so a database made by earlier versions (which ran sqlx's SQLite
    /// driver) carries on: each one not yet applied runs in a transaction of its own; one applied
    /// with other contents, one that failed halfway, or one this build does not know (a newer
    /// kasse's) stops the start, as sqlx's migrator would.
    pub fn migrate(&mut self, migrator: &Migrator) -> Result<(), MigrateError> {
        let conn = &mut self.conn;
        let execute = |e: rusqlite::Error| MigrateError::Execute(error(e));
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
             checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)",
        )
        .map_err(execute)?;
        let applied: Vec<(i64, Vec<u8>, bool)> = {
            let mut statement = conn
                .prepare("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
                .map_err(execute)?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .map_err(execute)?;
            rows.collect::<Result<_, _>>().map_err(execute)?
        };
        if let Some((version, ..)) = applied.iter().find(|(.., success)| !success) {
            return Err(MigrateError::Dirty(*version));
        }
        // Applied by a newer kasse: this one does not know what the schema means.
        let known = |version: i64| migrator.iter().any(|m| m.version == version);
        if let Some((version, ..)) =
            applied.iter().find(|(version, ..)| !migrator.ignore_missing && !known(*version))
        {
            return Err(MigrateError::VersionMissing(*version));
        }
        for migration in migrator.iter().filter(|m| m.migration_type.is_up_migration()) {
            if let Some((_, checksum, _)) = applied.iter().find(|(version, ..)| *version == migration.version)
            {
                if **checksum != *migration.checksum {
                    return Err(MigrateError::VersionMismatch(migration.version));
                }
                continue;
            }
            let started = Instant::now();
            let tx = conn.transaction().map_err(execute)?;
            tx.execute_batch(&migration.sql).map_err(execute)?;
            tx.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES (?1, ?2, TRUE, ?3, ?4)",
                rusqlite::params![
                    migration.version,
                    migration.description,
                    &*migration.checksum,
                    i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)
                ],
            )
            .map_err(execute)?;
            tx.commit().map_err(execute)?;
        }
        Ok(())
    }

    /// Starts a transaction, rolled back unless committed. It takes the write lock at once
    /// (`IMMEDIATE`): another process's writer makes it wait at the start rather than fail
    /// halfway, when it would have read and then meant to write.
    #[expect(clippy::unused_async, reason = "the same call as PostgreSQL's, which awaits")]
    pub async fn begin(&mut self) -> Result<SqliteTx<'_>, sqlx::Error> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(error)?;
        Ok(SqliteTx { conn: self, open: true })
    }

    /// Runs `query`, returning how many rows it changed.
    pub(super) fn execute(&mut self, query: &Query<'_>) -> Result<u64, sqlx::Error> {
        {
            let mut statement = self.prepare(query)?;
            let mut rows = statement.raw_query();
            // A statement that returns rows (`RETURNING`) runs to its end all the same.
            while rows.next().map_err(error)?.is_some() {}
        }
        Ok(self.conn.changes())
    }

    /// Runs `query`, returning its rows.
    pub(super) fn fetch(&mut self, query: &Query<'_>, at_most: usize) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let mut statement = self.prepare(query)?;
        let columns: Arc<[Box<str>]> = statement.column_names().into_iter().map(Box::from).collect();
        let mut rows = statement.raw_query();
        let mut fetched = Vec::new();
        while fetched.len() < at_most {
            let Some(row) = rows.next().map_err(error)? else { break };
            let values = (0..columns.len()).map(|i| row.get::<_, SqlValue>(i)).collect::<Result<_, _>>();
            fetched.push(SqliteRow { columns: Arc::clone(&columns), values: values.map_err(error)? });
        }
        Ok(fetched)
    }

    /// The prepared statement of `query`, its parameters bound. The store writes `$1`, `$2`, …;
    /// SQLite takes those as names, numbered in the order they first appear, so each is bound by
    /// the number in its name.
    fn prepare(&mut self, query: &Query<'_>) -> Result<rusqlite::CachedStatement<'_>, sqlx::Error> {
        let mut statement = self.conn.prepare_cached(query.sql()).map_err(error)?;
        let params = query.params();
        for index in 1..=statement.parameter_count() {
            let number = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$').or_else(|| name.strip_prefix('?')))
                .and_then(|number| number.parse::<usize>().ok())
                .unwrap_or(index);
            let param = number.checked_sub(1).and_then(|i| params.get(i)).ok_or_else(|| {
                sqlx::Error::Protocol(format!("parameter ${number} of {:?} is not bound", query.sql()))
            })?;
            statement.raw_bind_parameter(index, param).map_err(error)?;
        }
        Ok(statement)
    }
}

/// A transaction on the connection, rolled back when dropped uncommitted.
pub struct SqliteTx<'c> {
    conn: &'c mut SqliteConn,
    open: bool,
}

impl SqliteTx<'_> {
    /// Commits the transaction.
    #[expect(clippy::unused_async, reason = "the same call as PostgreSQL's, which awaits")]
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.conn.conn.execute_batch("COMMIT").map_err(error)?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing is left to do if even this fails: the next `BEGIN` would say so.
            if let Err(e) = self.conn.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "an abandoned SQLite transaction could not be rolled back");
            }
        }
    }
}

impl Deref for SqliteTx<'_> {
    type Target = SqliteConn;
    fn deref(&self) -> &SqliteConn {
        self.conn
    }
}

impl DerefMut for SqliteTx<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConn {
        self.conn
    }
}

/// A row, read out of SQLite.
#[derive(Debug, Clone)]
pub struct SqliteRow {
    columns: Arc<[Box<str>]>,
    values: Vec<SqlValue>,
}

/// A column of a [`SqliteRow`]: its position, or its name.
pub trait ColumnIndex: std::fmt::Debug + Copy {
    /// Where the column is in `columns`.
    fn position(self, columns: &[Box<str>]) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn position(self, columns: &[Box<str>]) -> Option<usize> {
        (self < columns.len()).then_some(self)
    }
}

impl ColumnIndex for &str {
    fn position(self, columns: &[Box<str>]) -> Option<usize> {
        columns.iter().position(|name| **name == *self)
    }
}

impl SqliteRow {
    /// The value in a column.
    pub fn try_get<T: FromSql, I: ColumnIndex>(&self, index: I) -> Result<T, sqlx::Error> {
        let position =
            index.position(&self.columns).ok_or_else(|| sqlx::Error::ColumnNotFound(format!("{index:?}")))?;
        T::column_result(ValueRef::from(&self.values[position]))
            .map_err(|e| sqlx::Error::ColumnDecode { index: format!("{index:?}"), source: Box::new(e) })
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput::Borrowed;
        Ok(match self {
            Self::Int(Some(n)) => Borrowed(ValueRef::Integer(*n)),
            Self::Int4(Some(n)) => Borrowed(ValueRef::Integer(i64::from(*n))),
            Self::Bool(Some(b)) => Borrowed(ValueRef::Integer(i64::from(*b))),
            Self::Text(Some(text)) => Borrowed(ValueRef::Text(text.as_bytes())),
            Self::Bytes(Some(bytes)) => Borrowed(ValueRef::Blob(bytes)),
            Self::Int(None) | Self::Int4(None) | Self::Bool(None) | Self::Text(None) | Self::Bytes(None) => {
                Borrowed(ValueRef::Null)
            }
        })
    }
}

/// Which constraint SQLite held, if one; or that the file was busy.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Unique,
    ForeignKey,
    NotNull,
    Check,
    /// Another process (an operator's command) held the file past `busy_timeout`: nothing was
    /// done, and the same statement may well succeed in a moment.
    Busy,
    Other,
}

/// What SQLite refused, as a statement error.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct SqliteError {
    message: String,
    kind: Kind,
    code: Cow<'static, str>,
}

impl DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.code))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.kind {
            Kind::Unique => ErrorKind::UniqueViolation,
            Kind::ForeignKey => ErrorKind::ForeignKeyViolation,
            Kind::NotNull => ErrorKind::NotNullViolation,
            Kind::Check => ErrorKind::CheckViolation,
            Kind::Busy | Kind::Other => ErrorKind::Other,
        }
    }
}

/// Whether `e` is SQLite's file being busy (see [`Kind::Busy`]).
pub(super) fn busy(e: &dyn DatabaseError) -> bool {
    e.try_downcast_ref::<SqliteError>().is_some_and(|e| matches!(e.kind, Kind::Busy))
}

/// `e` as a statement error.
#[expect(clippy::needless_pass_by_value, reason = "made for `map_err`")]
pub(super) fn error(e: rusqlite::Error) -> sqlx::Error {
    use rusqlite::ffi;
    let (kind, code) = match &e {
        rusqlite::Error::SqliteFailure(failure, _) => {
            let kind = match (failure.code, failure.extended_code) {
                (
                    ErrorCode::ConstraintViolation,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
                ) => Kind::Unique,
                (ErrorCode::ConstraintViolation, ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => Kind::ForeignKey,
                (ErrorCode::ConstraintViolation, ffi::SQLITE_CONSTRAINT_NOTNULL) => Kind::NotNull,
                (ErrorCode::ConstraintViolation, ffi::SQLITE_CONSTRAINT_CHECK) => Kind::Check,
                (ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _) => Kind::Busy,
                _ => Kind::Other,
            };
            (kind, Cow::Owned(failure.extended_code.to_string()))
        }
        _ => (Kind::Other, Cow::Borrowed("kasse")),
    };
    sqlx::Error::Database(Box::new(SqliteError { message: e.to_string(), kind, code }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    fn without_the_last(all: &Migrator) -> Migrator {
        let last = all.iter().map(|m| m.version).max().unwrap();
        Migrator {
            migrations: all.migrations.iter().filter(|m| m.version < last).cloned().collect(),
            ..Migrator::DEFAULT
        }
    }

    #[test]
    fn the_schema_is_brought_up_to_date_once_and_a_newer_or_altered_one_stops_the_start() {
        let mut conn = SqliteConn::open(None).unwrap();
        let all = all();
        let older = without_the_last(&all);
        conn.migrate(&older).unwrap();
        conn.migrate(&all).unwrap();
        conn.migrate(&all).unwrap();
        let last = all.iter().map(|m| m.version).max().unwrap();
        let applied: i64 = conn
            .conn
            .query_row("SELECT COUNT(*) FROM _sqlx_migrations WHERE success", [], |row| row.get(0))
            .unwrap();
        assert_eq!(applied, i64::try_from(all.iter().count()).unwrap(), "each applied once");

        assert!(
            matches!(conn.migrate(&older), Err(MigrateError::VersionMissing(v)) if v == last),
            "a newer kasse's"
        );
        conn.conn.execute("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1", []).unwrap();
        assert!(matches!(conn.migrate(&all), Err(MigrateError::VersionMismatch(1))), "an altered migration");
        conn.conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 2", []).unwrap();
        assert!(matches!(conn.migrate(&all), Err(MigrateError::Dirty(2))), "one that failed halfway");
    }

    #[tokio::test]
    async fn parameters_bind_by_their_number_and_an_abandoned_transaction_is_rolled_back() {
        use crate::store::statement::{query, query_scalar};
        let mut conn = SqliteConn::open(None).unwrap();
        conn.conn.execute_batch("CREATE TABLE t (a TEXT, b BIGINT)").unwrap();
        // `$2` comes first: SQLite would number it 1.
        query("INSERT INTO t (b, a) VALUES ($2, $1)")
            .bind("one")
            .bind(1_i64)
            .execute(&mut conn)
            .await
            .unwrap();
        let row: (String, i64) =
            crate::store::statement::query_as("SELECT a, b FROM t").fetch_one(&mut conn).await.unwrap();
        assert_eq!(row, ("one".to_owned(), 1));
        let unbound = query("SELECT $1, $2").bind(1_i64).fetch_all(&mut conn).await;
        assert!(unbound.is_err(), "a parameter left unbound is an error, not NULL");

        {
            let mut tx = conn.begin().await.unwrap();
            query("INSERT INTO t (a, b) VALUES ('two', 2)").execute(&mut *tx).await.unwrap();
        }
        let count = query_scalar::<i64>("SELECT COUNT(*) FROM t").fetch_one(&mut conn).await.unwrap();
        assert_eq!(count, 1, "dropped uncommitted");
        let tx = conn.begin().await.unwrap();
        tx.commit().await.unwrap();
    }

    #[test]
    fn a_file_s_write_ahead_log_is_folded_back_by_the_checkpointer_not_by_commits() {
        let dir = std::env::temp_dir().join(format!("kasse-checkpoint-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kasse.db");
        let conn = SqliteConn::open(Some(&file)).unwrap();
        let backstop: u32 = conn.conn.query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0)).unwrap();
        assert_eq!(backstop, CHECKPOINT_BACKSTOP, "commits leave it to the checkpointer");
        conn.conn.execute_batch("CREATE TABLE t (a BLOB)").unwrap();
        for _ in 0..50 {
            conn.conn.execute("INSERT INTO t VALUES (zeroblob(4000))", []).unwrap();
        }
        // Each checkpoint copies the log's frames into the file; the file grows as they land.
        let pages = || -> i64 { conn.conn.query_row("PRAGMA page_count", [], |row| row.get(0)).unwrap() };
        let in_file = || std::fs::metadata(&file).unwrap().len() / 4096;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while in_file() < u64::try_from(pages()).unwrap() {
            assert!(std::time::Instant::now() < deadline, "no checkpoint within 30 s");
            std::thread::sleep(CHECKPOINT_EVERY / 5);
        }
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_unique_constraint_sqlite_holds_is_a_unique_violation() {
        use crate::store::statement::query;
        let mut conn = SqliteConn::open(None).unwrap();
        conn.conn.execute_batch("CREATE TABLE t (a TEXT PRIMARY KEY)").unwrap();
        query("INSERT INTO t VALUES ($1)").bind("x").execute(&mut conn).await.unwrap();
        let again = query("INSERT INTO t VALUES ($1)").bind("x").execute(&mut conn).await;
        assert!(matches!(again, Err(sqlx::Error::Database(e)) if e.is_unique_violation()));
    }
}

//! The server's durable state: in SQLite (one instance, migrations in `migrations/sqlite`, run on
//! the calling thread by `sqlite`) or PostgreSQL (one or several instances, `migrations/postgres`,
//! through sqlx). `statement` runs a statement written once on either.
//!
//! Every query is here, one file per table (or aggregate), so the rest of the server speaks in
//! rows and intents, not SQL. All times are Unix milliseconds.

mod access;
pub(crate) mod backend;
mod callback_qrs;
mod check_ins;
mod combined;
mod inbox;
mod integrators;
mod locks;
mod managers;
mod members;
mod names;
mod operations;
mod payments;
mod pos_v10;
mod presented;
mod rate_limits;
mod registrations;
mod retention;
mod sqlite;
mod statement;
mod stickers_off;
mod terminal_callbacks;
mod till_events;
mod turns;

pub use access::SessionRow;
pub use callback_qrs::{CallbackQrKind, CallbackQrRow};
pub use check_ins::CheckInRow;
pub use inbox::{SettlesIf, TakenEvent};
pub use integrators::{IntegratorRow, KeyUse};
pub use locks::SharedLock;
pub use managers::{ManagerRow, PinLimit};
pub use members::Forgotten;
pub use names::Named;
pub use operations::{NewOperation, OperationKind, OperationRow, OperationStatus};
pub use payments::{PaymentRow, SalesQuery, SalesText};
pub use pos_v10::{V10PaymentRow, V10PosRow, V10RefundRow};
pub use presented::PresentedRow;
pub use rate_limits::Window;
pub use registrations::WebhookRegistration;
pub use terminal_callbacks::DueCallback;
pub use till_events::NewTillEvent;
pub use turns::urgently;

use statement::query;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

use backend::{Backend, Pool, on};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The till already has a sale in progress.
    #[error("the till already has a payment in progress")]
    TillBusy,
    /// The check-in a new sale was to charge was charged by another sale, or expired.
    #[error("the check-in was charged by another sale or has expired")]
    CheckInGone,
    /// A payment's row moved on since its writer read it: the writer no longer held the
    /// payment's lock (its lock's connection was cut, or the database restarted), and another
    /// request or instance took the payment on meanwhile. Nothing was written; what the writer
    /// was doing is for it to do again over the row as it is now.
    #[error("payment {0} changed meanwhile")]
    ChangedMeanwhile(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored webhook could not be acted on.
    #[error("a stored webhook could not be processed: {0}")]
    Webhook(String),
    /// The database did not answer in time.
    #[error("the database did not answer in time ({0})")]
    TimedOut(&'static str),
    /// The database file's folder could not be created.
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the database could not be reached, rather than refusing what was asked: no
    /// connection (the server restarting, failing over, or out of reach), one it ended (an
    /// administrator's or a crash's shutdown), one lost mid-way, a standby not yet promoted that
    /// refuses writes, no answer in time, or SQLite's file held by another process. The same
    /// request may well succeed in a moment.
    pub fn unavailable(&self) -> bool {
        /// PostgreSQL's SQLSTATEs for it: the connection exceptions (not 08P01, a protocol
        /// violation, which a statement with the wrong parameters also gets), a write to a
        /// read-only standby (25006, in a failover), and the shutdowns (57P01 to 57P03).
        const OUT_OF_REACH: &[&str] =
            &["08000", "08001", "08003", "08004", "08006", "25006", "57P01", "57P02", "57P03"];
        match self {
            Self::TimedOut(_)
            | Self::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_),
            ) => true,
            Self::Database(sqlx::Error::Database(e)) => {
                sqlite::busy(e.as_ref()) || e.code().is_some_and(|code| OUT_OF_REACH.contains(&code.as_ref()))
            }
            _ => false,
        }
    }
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// Turns at `pool`'s connections.
    turns: Arc<turns::Turns>,
    /// PostgreSQL's connections that hold payment locks (see `locks`); none on SQLite.
    locks: Option<PgPool>,
}

/// Connections each instance keeps to PostgreSQL at most for its statements.
pub const POSTGRES_CONNECTIONS: u32 = 16;
/// On PostgreSQL, statements that are not urgent (see `turns`) run at most this many at once by
/// default (`[database] statements_at_once`), leaving the other connections to the platform's
/// webhooks. More at once only meet at PostgreSQL's row locks and commit flushes, where a webhook
/// then waits too: measured at 64 tills on 2 cores, 16 at once doubled the sales but the
/// simulator's webhooks fell behind (111 of 358 a second sustained); 4 kept up with all
/// (242-247), and so did two instances with 2 each (204), but not with 4 each (172 of 285).
pub const STATEMENTS_AT_ONCE: u32 = 4;
/// And at most for holding locks: as many payments (and webhook deliveries) as it works on at
/// once. Fewer than the tills working at once starves the webhook inbox (measured).
const LOCK_CONNECTIONS: u32 = 64;

/// Has PostgreSQL notice within about half a minute that the instance at the other end of
/// `conn` is gone (its host lost power or its network, so no socket was closed), and end the
/// session, letting go of its locks: keep-alive probes after 10 s of silence, every 5 s, three
/// missed; and 30 s for data sent and never acknowledged. The operating system's defaults take
/// over two hours, for all of which a payment locked by the lost instance stays locked at every
/// other one. Set per session (not as startup options, which PgBouncer refuses); ignored on a
/// Unix socket, where a peer cannot vanish so.
async fn notice_dead_peers(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor as _;
    conn.execute(
        "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3; \
         SET tcp_user_timeout = 30000",
    )
    .await
    .map(drop)
}

/// Sets up a connection of the lock pool (see `locks`): [`notice_dead_peers`], and a wait for a
/// lock that ends after [`locks::ASKED_AGAIN_AFTER_MS`], to be asked again if still wanted.
async fn hold_locks(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor as _;
    notice_dead_peers(conn).await?;
    conn.execute(format!("SET lock_timeout = {}", locks::ASKED_AGAIN_AFTER_MS).as_str()).await.map(drop)
}

impl Store {
    /// Opens the database at `url` and applies the migrations: `postgres://…` (the database must
    /// exist), or SQLite, e.g. `sqlite://data/kasse.db` (created if needed) or `sqlite::memory:`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, STATEMENTS_AT_ONCE).await
    }

    /// [`Store::open`], with at most `statements_at_once` statements at once on PostgreSQL, other
    /// than urgent ones (see `turns`); SQLite runs one at a time.
    pub async fn open_with(url: &str, statements_at_once: u32) -> Result<Self, StoreError> {
        if is_postgres(url) {
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .after_connect(|conn, _| Box::pin(notice_dead_peers(conn)))
                .test_before_acquire(false)
                // A statement that waits longer than this for a connection fails: the database is
                // down or overwhelmed, and a load balancer's health check must hear so in time.
                .acquire_timeout(Duration::from_secs(3))
                .connect(url)
                .await?;
            // The migrator holds an advisory lock while it works: instances starting together
            // migrate once.
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            let locks = PgPoolOptions::new()
                .max_connections(LOCK_CONNECTIONS)
                .after_connect(|conn, _| Box::pin(hold_locks(conn)))
                // As the statements' pool: a database out of reach is said within seconds.
                .acquire_timeout(Duration::from_secs(3))
                .test_before_acquire(false)
                .min_connections(0)
                .connect_lazy(url)?;
            return Ok(Self {
                pool: Backend::Postgres(pool),
                turns: Arc::new(turns::Turns::new(statements_at_once.min(POSTGRES_CONNECTIONS))),
                locks: Some(locks),
            });
        }
        Self::open_sqlite(url)
    }

    /// Whether the store is PostgreSQL, shared by every instance.
    pub const fn postgres(&self) -> bool {
        matches!(self.pool, Backend::Postgres(_))
    }

    fn open_sqlite(url: &str) -> Result<Self, StoreError> {
        /// The database holds webhook secrets and session hashes: its file is created readable
        /// and writable by its owner only (SQLite gives its `-wal` and `-shm` the same mode), and
        /// one found more open, with those two, is closed down with a warning.
        #[cfg(unix)]
        fn owner_only(database: &Path) -> std::io::Result<()> {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(database)?;
            let sibling = |suffix: &str| {
                let mut name = database.as_os_str().to_owned();
                name.push(suffix);
                std::path::PathBuf::from(name)
            };
            for file in [database.to_path_buf(), sibling("-wal"), sibling("-shm")] {
                let mode = match std::fs::metadata(&file) {
                    Ok(metadata) => metadata.permissions().mode(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode((mode & 0o700) | 0o600))?;
                    tracing::warn!(
                        file = %file.display(),
                        was = format!("{:o}", mode & 0o777),
                        "the database file was open to other users; it is now readable by its owner only"
                    );
                }
            }
            Ok(())
        }

        #[cfg(not(unix))]
        fn owner_only(_database: &Path) -> std::io::Result<()> {
            Ok(())
        }

        let Some(filename) = sqlite_file(url) else {
            let mut conn = sqlite::SqliteConn::open(None)?;
            conn.migrate(&sqlx::migrate!("./migrations/sqlite"))?;
            return Ok(Self::on_sqlite(conn));
        };
        if let Some(dir) = filename.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })?;
        }
        owner_only(&filename).map_err(|e| {
            let reason = format!("cannot make {} readable by its owner only: {e}", filename.display());
            StoreError::Database(sqlx::Error::Io(std::io::Error::new(e.kind(), reason)))
        })?;
        // One connection: SQLite writes one transaction at a time whatever the pool, and several
        // connections only meet at its write lock, where its busy handler sleeps (1 ms, 2, 5, …)
        // and each re-reads its page cache after another's commit (measured: a third of the
        // throughput). An in-memory database lives as long as its one connection anyway.
        let mut conn = sqlite::SqliteConn::open(Some(&filename))?;
        conn.migrate(&sqlx::migrate!("./migrations/sqlite"))?;
        Ok(Self::on_sqlite(conn))
    }

    fn on_sqlite(conn: sqlite::SqliteConn) -> Self {
        Self {
            pool: Backend::Sqlite(Arc::new(tokio::sync::Mutex::new(Some(conn)))),
            turns: Arc::new(turns::Turns::new(1)),
            locks: None,
        }
    }

    /// Numbers for `/metrics`: writes recorded but unconfirmed, sales in progress, webhooks stored
    /// but not processed.
    pub async fn gauges(&self) -> Result<(i64, i64, i64), StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "SELECT (SELECT COUNT(*) FROM operations WHERE status = 'pending'), \
                        (SELECT COUNT(*) FROM payments WHERE active), \
                        (SELECT COUNT(*) FROM webhook_inbox WHERE processed_at IS NULL)",
            )
            .fetch_one(&mut *db)
            .await?;
            Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
        })
    }
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The file a `sqlite:` URL names (`sqlite://data/kasse.db`, `sqlite:kasse.db`,
/// `sqlite:///var/lib/kasse/kasse.db`, percent-encoded or not), or `None` for a database in
/// memory (`sqlite::memory:`, `?mode=memory`).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || params.split('&').any(|p| p == "mode=memory");
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    (!in_memory).then(|| std::path::PathBuf::from(&*path))
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Rows the store's tests (and the sales engine's) start from.

    use super::*;

    pub(crate) fn row(reference: &str, till: &str) -> PaymentRow {
        PaymentRow {
            reference: reference.into(),
            till_id: till.into(),
            msn: "123456".into(),
            flow: kasse_api::Flow::Qr,
            currency: kasse_api::Currency::Nok,
            amount: 1000,
            status: kasse_api::SaleStatus::Creating,
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
            read_version: 1,
            description: None,
            masked_phone: None,
            client_key: None,
            sticker_id: None,
            landing_token: None,
            withdrawn_at: None,
            watch_until: None,
            integrator_id: None,
            order_id: None,
            loyalty: None,
        }
    }

    pub(super) fn create(key: &str) -> NewOperation<'_> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_out_of_reach_is_told_apart_from_one_that_refused() {
        let lost = || std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for unavailable in [
            StoreError::Database(sqlx::Error::Io(lost())),
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Database(sqlx::Error::PoolClosed),
            StoreError::TimedOut("a statement"),
        ] {
            assert!(unavailable.unavailable(), "{unavailable}");
        }
        for refused in [
            StoreError::TillBusy,
            StoreError::Database(sqlx::Error::RowNotFound),
            StoreError::Database(sqlx::Error::ColumnNotFound("amount".to_owned())),
            StoreError::Webhook("no such payment".to_owned()),
        ] {
            assert!(!refused.unavailable(), "{refused}");
        }
        // SQLite's answers as the store reads them: its file busy past the timeout, or locked, is
        // out of reach for now; a constraint is a refusal.
        let sqlite = |code| {
            StoreError::Database(sqlite::error(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            )))
        };
        for code in
            [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_BUSY_SNAPSHOT, rusqlite::ffi::SQLITE_LOCKED]
        {
            assert!(sqlite(code).unavailable(), "{code}");
        }
        for code in [
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
            rusqlite::ffi::SQLITE_FULL,
            rusqlite::ffi::SQLITE_CORRUPT,
        ] {
            assert!(!sqlite(code).unavailable(), "{code}");
        }
    }

    #[tokio::test]
    async fn a_sale_an_earlier_version_cancelled_on_a_404_is_looked_at_again_after_the_upgrade() {
        let mut conn = sqlite::SqliteConn::open(None).unwrap();
        let all = sqlx::migrate!("./migrations/sqlite");
        let before = sqlx::migrate::Migrator {
            migrations: all.migrations.iter().filter(|m| m.version < 6).cloned().collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        conn.migrate(&before).unwrap();
        // How the earlier version left a sale whose cancel met a 404, and one never sent at all.
        for (reference, error) in [
            ("till-1-late", "cancelled before it reached the platform"),
            ("till-1-fine", "the check-in was charged by another sale"),
        ] {
            query(
                "INSERT INTO payments (reference, till_id, msn, flow, currency, amount, status, active, \
                 created_at, updated_at) VALUES ($1, 'till-1', '123456', 'phone', 'NOK', 1000, 'cancelled', FALSE, 1, 5000)",
            )
            .bind(reference)
            .execute(&mut conn)
            .await
            .unwrap();
            query(
                "INSERT INTO operations (idempotency_key, reference, kind, status, error, created_at, updated_at) \
                 VALUES ($1, $2, 'create', 'failed', $3, 1, 5000)",
            )
            .bind(format!("{reference}-create"))
            .bind(reference)
            .bind(error)
            .execute(&mut conn)
            .await
            .unwrap();
        }

        conn.migrate(&all).unwrap();
        let store = Store::on_sqlite(conn);
        let late = store.payment("till-1-late").await.unwrap().unwrap();
        assert_eq!((late.withdrawn_at, late.next_poll_at), (Some(5_000), Some(5_000)), "looked at now");
        assert!(late.watch_until.is_some());
        let fine = store.payment("till-1-fine").await.unwrap().unwrap();
        assert_eq!((fine.withdrawn_at, fine.next_poll_at), (None, None), "never sent: nothing to look for");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_file_is_readable_by_its_owner_only_and_an_open_one_is_closed_down() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("kasse-store-{}", uuid::Uuid::new_v4().simple()));
        let database = dir.join("data").join("kasse.db");
        let mode = |suffix: &str| {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(std::path::PathBuf::from(name)).unwrap().permissions().mode() & 0o777
        };
        let url = format!("sqlite://{}", database.display());

        let store = Store::open(&url).await.unwrap();
        store.insert_till_event("till-1", "written through the WAL", 1).await.unwrap();
        assert_eq!([mode(""), mode("-wal"), mode("-shm")], [0o600; 3], "a new database");
        store.close().await;

        for suffix in ["", "-wal", "-shm"] {
            let mut name = database.as_os_str().to_owned();
            name.push(suffix);
            if let Ok(file) = std::fs::metadata(std::path::PathBuf::from(&name)) {
                let mut permissions = file.permissions();
                permissions.set_mode(0o644);
                std::fs::set_permissions(std::path::PathBuf::from(name), permissions).unwrap();
            }
        }
        assert_eq!(mode(""), 0o644);
        let store = Store::open(&url).await.unwrap();
        assert_eq!(mode(""), 0o600, "an existing database readable by others is closed down");
        store.insert_till_event("till-1", "again", 2).await.unwrap();
        assert_eq!([mode("-wal"), mode("-shm")], [0o600; 2]);
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();

        // sqlx names an in-memory database like a file; no such file is made.
        let store = Store::open("sqlite::memory:").await.unwrap();
        let made = std::fs::read_dir(".").unwrap().filter_map(Result::ok);
        let named = made.map(|entry| entry.file_name().to_string_lossy().into_owned());
        assert_eq!(named.filter(|name| name.contains("sqlx-in-memory")).count(), 0);
        store.close().await;
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Stores for tests, on every database the tests have: SQLite always, and PostgreSQL when
    //! `KASSE_TEST_POSTGRES` names a server's admin URL (`cargo xtask test` starts a throwaway
    //! cluster and sets it).

    use super::Store;

    /// The variable naming the PostgreSQL server the tests may use.
    pub const POSTGRES_ENV: &str = "KASSE_TEST_POSTGRES";

    /// A fresh, empty store on each database the tests have.
    pub async fn stores() -> Vec<Store> {
        let mut stores = vec![Store::open("sqlite::memory:").await.unwrap()];
        if let Some(url) = fresh_postgres_database().await {
            stores.push(Store::open(&url).await.unwrap());
        }
        stores
    }

    /// The URL of a new, empty database on the tests' PostgreSQL server, if they have one.
    pub async fn fresh_postgres_database() -> Option<String> {
        use sqlx::Connection as _;
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            eprintln!("{POSTGRES_ENV} is not set: this test runs on SQLite only");
            return None;
        };
        let name = format!("kasse_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Some(url.into())
    }
}

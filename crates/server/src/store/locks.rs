//! Named locks that hold across every instance sharing the database: `payment:<reference>`, so
//! two requests never work on one payment at once whichever instances they reach, and
//! `webhooks:<msn>`, so instances starting together register a sales unit's webhooks once.
//!
//! On PostgreSQL a lock is a session advisory lock, held by a connection of a pool of its own:
//! a lock's holder still runs its statements on the main pool, so holders can never take every
//! connection their own work needs. An instance that dies loses its connections, and with them
//! its locks, at once. On SQLite, one instance has the database, and the process's own lock (in
//! `sales::locks`) is all there is to hold.
//!
//! Asking for a lock is cancel-safe: the caller may stop waiting (its request dropped by a client
//! that went away) and the lock is still let go. PostgreSQL would grant the abandoned wait all the
//! same, and sqlx returns a connection whose statement was cut off to its pool once the answer has
//! come, so the lock would stay held by an idle connection, blocking that payment at every
//! instance until the connection closed. So the lock is asked for by a task of its own, which
//! lets go at once of a lock nobody waits for any more. That task asks again each
//! [`ASKED_AGAIN_AFTER_MS`] while it waits, rather than once for as long as it takes: a wait its
//! asker gave up on ends within that, where it kept its connection until the lock was granted,
//! and clients that gave up and asked again and again could take the pool's every connection.

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, Postgres};
use tokio::sync::oneshot;

use super::{Store, StoreError};

/// A lock across instances, released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released when dropped"]
pub struct SharedLock {
    held: Option<(PoolConnection<Postgres>, String)>,
}

// A name's advisory lock key is a 64-bit hash, `hashtextextended($1, 0)`, computed by the
// database so that every instance agrees whatever its build.
/// Waits for the lock named `$1`.
const WAIT: &str = "SELECT pg_advisory_lock(hashtextextended($1, 0))";
/// Takes the lock named `$1` if it is free: whether it did.
const TRY: &str = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))";
/// How long one wait for a lock lasts before PostgreSQL ends it (`lock_timeout`, set on each lock
/// connection), and it is asked for again if its asker still waits.
pub(super) const ASKED_AGAIN_AFTER_MS: u32 = 1_000;
/// PostgreSQL's SQLSTATE `lock_not_available`: a wait ended by `lock_timeout`.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// Lets go of the lock named `$1`: whether this connection held it.
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

/// How a lock is asked for.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// Waiting for as long as it takes.
    Wait,
    /// Only if nobody holds it now.
    Try,
}

impl Store {
    /// Waits for the lock `name`.
    pub async fn lock(&self, name: &str) -> Result<SharedLock, StoreError> {
        let Some(locks) = &self.locks else { return Ok(SharedLock { held: None }) };
        let taken = take(locks, name, Ask::Wait).await?;
        // A wait ends with the lock.
        taken.ok_or(StoreError::Database(sqlx::Error::WorkerCrashed))
    }

    /// Takes the lock `name` if nobody holds it: `None` when another request, here or at another
    /// instance, has it.
    pub async fn try_lock(&self, name: &str) -> Result<Option<SharedLock>, StoreError> {
        let Some(locks) = &self.locks else { return Ok(Some(SharedLock { held: None })) };
        take(locks, name, Ask::Try).await
    }
}

/// Asks for the lock `name` on a connection of `locks`, in a task of its own (see the module's
/// docs): a lock taken once the caller has stopped waiting is dropped there, and so let go.
async fn take(locks: &PgPool, name: &str, ask: Ask) -> Result<Option<SharedLock>, StoreError> {
    let (locks, name) = (locks.clone(), name.to_owned());
    let (answer, answered) = oneshot::channel();
    tokio::spawn(async move {
        let taken = async {
            let mut conn = locks.acquire().await?;
            let taken = match ask {
                Ask::Wait => loop {
                    match sqlx::query(WAIT).bind(&name).execute(&mut *conn).await {
                        Ok(_) => break true,
                        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
                            if answer.is_closed() {
                                // Nobody waits any more: the connection goes back, holding nothing.
                                break false;
                            }
                        }
                        Err(e) => return Err(e.into()),
                    }
                },
                Ask::Try => sqlx::query_scalar(TRY).bind(&name).fetch_one(&mut *conn).await?,
            };
            Ok::<_, StoreError>(taken.then(|| SharedLock { held: Some((conn, name)) }))
        }
        .await;
        // Whoever asked is gone when this fails: the lock drops with the answer, and goes.
        drop(answer.send(taken));
    });
    // The task only ends without answering if it panicked.
    answered.await.unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        let Some((mut conn, name)) = self.held.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to unlock with: closing the connection releases the lock.
            drop(conn.detach());
            return;
        };
        runtime.spawn(async move {
            let unlocked = sqlx::query_scalar::<_, bool>(UNLOCK).bind(&name).fetch_one(&mut *conn).await;
            if !matches!(unlocked, Ok(true)) {
                // A connection that may still hold the lock never goes back to the pool.
                tracing::warn!(lock = %name, ?unlocked, "a lock was not released cleanly; closing its connection");
                drop(conn.detach());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Connection as _;

    use super::*;

    /// Waits at `url` until a session waits for an advisory lock.
    async fn someone_waits(url: &str) {
        let mut watcher = sqlx::PgConnection::connect(url).await.unwrap();
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            )
            .fetch_one(&mut watcher)
            .await
            .unwrap();
            if waiting > 0 {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_lock_connection_has_the_database_notice_a_vanished_instance_in_seconds_not_hours() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let store = Store::open(&url).await.unwrap();
        let Some(locks) = &store.locks else { panic!("PostgreSQL has a lock pool") };
        let mut conn = locks.acquire().await.unwrap();
        let mut settings = Vec::new();
        for name in
            ["tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout"]
        {
            let shown: String =
                sqlx::query_scalar(&format!("SHOW {name}")).fetch_one(&mut *conn).await.unwrap();
            settings.push(shown);
        }
        assert_eq!(settings, ["10", "5", "3", "30000"], "as the session set them (seconds; ms for the last)");
    }

    /// Sessions at `url` waiting for an advisory lock.
    async fn waiting(url: &str) -> i64 {
        let mut watcher = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            .fetch_one(&mut watcher)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_wait_given_up_lets_its_connection_go_while_the_lock_is_still_held() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let (here, there) = (Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap());
        let _held = here.lock("payment:r").await.unwrap();
        // Clients that give up while a payment is worked on elsewhere, and ask again: each wait
        // given up must end, or enough of them hold every lock connection an instance has.
        for _ in 0..3 {
            let mut given_up = Box::pin(there.lock("payment:r"));
            tokio::select! {
                _ = &mut given_up => panic!("the lock is held: the wait cannot end"),
                () = someone_waits(&url) => {}
            }
        }
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while waiting(&url).await > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(ended.is_ok(), "{} waits nobody wants still hold their connections", waiting(&url).await);
    }

    #[tokio::test]
    async fn a_wait_longer_than_one_ask_still_ends_with_the_lock() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let (here, there) = (Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap());
        let held = here.lock("payment:r").await.unwrap();
        let mut waits = Box::pin(there.lock("payment:r"));
        // Held past two of the waiter's asks: what is tested is that time passing.
        let past = Duration::from_millis(u64::from(ASKED_AGAIN_AFTER_MS) * 5 / 2);
        tokio::select! {
            _ = &mut waits => panic!("the lock is held: the wait cannot end"),
            () = tokio::time::sleep(past) => {}
        }
        drop(held);
        let taken = tokio::time::timeout(Duration::from_secs(20), waits).await.expect("the wait ends");
        assert!(taken.is_ok(), "{taken:?}");
    }

    #[tokio::test]
    async fn a_wait_given_up_leaves_the_lock_free_for_the_next_at_any_instance() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let (here, there) = (Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap());
        let held = here.lock("payment:r").await.unwrap();
        // A request waits for the payment, and its client goes away while it waits.
        let mut given_up = Box::pin(here.lock("payment:r"));
        tokio::select! {
            _ = &mut given_up => panic!("the lock is held: the wait cannot end"),
            () = someone_waits(&url) => {}
        }
        drop(given_up);
        drop(held);
        // Were the abandoned wait granted to a connection back in the pool, this would wait for
        // as long as that connection lived.
        let next = tokio::time::timeout(Duration::from_secs(20), there.lock("payment:r"))
            .await
            .expect("the lock is free again")
            .unwrap();
        drop(next);
    }
}

//! Named locks that hold across every instance sharing the database: `payment:<reference>`, so
//! two requests never work on one payment at once whichever instances they reach, and
//! `webhooks:<msn>`, so instances starting together register a sales unit's webhooks once.
//!
//! On PostgreSQL a lock is a session advisory lock, held by a connection of a pool of its own:
//! a lock's holder still runs its statements on the main pool, so holders can never take every
//! connection their own work needs. An instance that dies loses its connections, and with them
//! its locks, at once. On SQLite, one instance has the database, and the process's own lock (in
//! `sales::locks`) is all there is to hold.

use sqlx::pool::PoolConnection;
use sqlx::postgres::Postgres;

use super::{Store, StoreError};

/// A lock across instances, released when dropped.
#[derive(Debug)]
#[must_use = "the lock is released when dropped"]
pub struct SharedLock {
    held: Option<(PoolConnection<Postgres>, String)>,
}

/// The advisory lock key of a name: a 64-bit hash, computed by the database so that every
/// instance agrees whatever its build.
const KEY: &str = "hashtextextended($1, 0)";

impl Store {
    /// Waits for the lock `name`.
    pub async fn lock(&self, name: &str) -> Result<SharedLock, StoreError> {
        let Some(locks) = &self.locks else { return Ok(SharedLock { held: None }) };
        let mut conn = locks.acquire().await?;
        sqlx::query(&format!("SELECT pg_advisory_lock({KEY})")).bind(name).execute(&mut *conn).await?;
        Ok(SharedLock { held: Some((conn, name.to_owned())) })
    }

    /// Takes the lock `name` if nobody holds it: `None` when another request, here or at another
    /// instance, has it.
    pub async fn try_lock(&self, name: &str) -> Result<Option<SharedLock>, StoreError> {
        let Some(locks) = &self.locks else { return Ok(Some(SharedLock { held: None })) };
        let mut conn = locks.acquire().await?;
        let taken: bool = sqlx::query_scalar(&format!("SELECT pg_try_advisory_lock({KEY})"))
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
        Ok(taken.then(|| SharedLock { held: Some((conn, name.to_owned())) }))
    }
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
            let unlocked = sqlx::query_scalar::<_, bool>(&format!("SELECT pg_advisory_unlock({KEY})"))
                .bind(&name)
                .fetch_one(&mut *conn)
                .await;
            if !matches!(unlocked, Ok(true)) {
                // A connection that may still hold the lock never goes back to the pool.
                tracing::warn!(lock = %name, ?unlocked, "a lock was not released cleanly; closing its connection");
                drop(conn.detach());
            }
        });
    }
}

//! Who goes first at the database. Its connections are few (one on SQLite), and under load every
//! till's request queues for them; the platform's word (a webhook being stored, the inbox acting
//! on one) must not queue behind them. The platform sends a sales unit's webhooks one after the
//! other, so a webhook kept waiting holds up every later one, a customer's approval among them
//! (measured: with tills first in line, 80 webhooks a second got through of 900 due).
//!
//! So statements wait for a turn (one on SQLite, a few of PostgreSQL's connections), and work
//! run [`urgently`] takes none: it waits at most for the statements already holding a connection.
//!
//! A turn holds its connection for all of a store method's statements. On SQLite that is the
//! one connection itself, under a lock, and its statements run on the turn holder's thread (see
//! `sqlite`); on PostgreSQL, one of the pool's.

use std::future::Future;

use super::sqlite::SqliteConn;
use sqlx::pool::PoolConnection;
use sqlx::postgres::Postgres;
use tokio::sync::{MutexGuard, Semaphore, SemaphorePermit};

use super::backend::{Backend, Conn};
use super::{Store, StoreError};

tokio::task_local! {
    /// Set while urgent work runs.
    static URGENT: ();
}

/// Runs `work` ahead of the queue: its statements wait for a connection, never for a turn.
pub async fn urgently<F: Future>(work: F) -> F::Output {
    URGENT.scope((), work).await
}

/// The turns.
#[derive(Debug)]
pub(super) struct Turns(Semaphore);

impl Turns {
    pub(super) fn new(at_once: u32) -> Self {
        Self(Semaphore::new(usize::try_from(at_once).unwrap_or(1).max(1)))
    }
}

/// A connection, lent for one turn (or to urgent work).
pub(super) struct Turn<'a> {
    conn: Backend<MutexGuard<'a, Option<SqliteConn>>, PoolConnection<Postgres>>,
    _permit: Option<SemaphorePermit<'a>>,
}

impl Turn<'_> {
    /// The connection, for statements.
    pub(super) fn conn(&mut self) -> Conn<'_> {
        match &mut self.conn {
            // `db` checked that the connection is open before lending it.
            Backend::Sqlite(conn) => {
                Backend::Sqlite(conn.as_mut().unwrap_or_else(|| unreachable!("checked open")))
            }
            Backend::Postgres(conn) => Backend::Postgres(&mut **conn),
        }
    }
}

impl Store {
    /// A connection, once it is this caller's turn.
    pub(super) async fn db(&self) -> Result<Turn<'_>, StoreError> {
        let permit = if URGENT.try_with(|()| ()).is_ok() {
            None
        } else {
            // The semaphore is never closed; were it, the statement would just not wait.
            self.turns.0.acquire().await.ok()
        };
        let conn = match &self.pool {
            Backend::Sqlite(conn) => {
                let conn = conn.lock().await;
                if conn.is_none() {
                    return Err(StoreError::Database(sqlx::Error::PoolClosed));
                }
                Backend::Sqlite(conn)
            }
            Backend::Postgres(pool) => Backend::Postgres(pool.acquire().await?),
        };
        Ok(Turn { conn, _permit: permit })
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[tokio::test]
    async fn urgent_work_passes_the_queue_for_turns() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let held = store.db().await.unwrap();
        let mut queued = Box::pin(store.db());
        assert!((&mut queued).now_or_never().is_none(), "the one turn is taken: the next waits");
        let mut urgent = Box::pin(urgently(store.db()));
        assert!((&mut urgent).now_or_never().is_none(), "urgent work waits for the connection…");
        drop(held);
        let urgent_turn = (&mut urgent).now_or_never().expect("…and is next");
        assert!((&mut queued).now_or_never().is_none(), "the queue waits for it");
        drop(urgent_turn);
        assert!(queued.await.is_ok());
    }

    #[tokio::test]
    async fn on_postgresql_as_many_statements_run_at_once_as_configured() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let store = Store::open_with(&url, 2).await.unwrap();
        assert_eq!(store.turns.0.available_permits(), 2);
        let (_first, _second) = (store.db().await.unwrap(), store.db().await.unwrap());
        assert_eq!(store.turns.0.available_permits(), 0, "a third waits for a turn");
        assert!(urgently(store.db()).await.is_ok(), "urgent work only needs a connection");
        assert_eq!(Store::open(&url).await.unwrap().turns.0.available_permits(), 4, "by default");
    }
}

//! The two databases the store runs on, and how one statement runs on either.
//!
//! SQLite is the embedded default: one file, one instance. PostgreSQL lets several instances
//! share one truth. Every statement is written once, with `$1`-style parameters (which SQLite
//! takes too), in SQL both understand, and [`on!`] compiles it for each: a statement only one of
//! them understands says so with [`Store::postgres`](super::Store::postgres) next to it.

use sqlx::postgres::{PgConnection, PgPool, PgRow, Postgres};
use std::sync::Arc;

use sqlx::{Decode, Row as _, Type};

use super::sqlite::{SqliteConn, SqliteRow};

/// One of a pair of things, the SQLite one or the PostgreSQL one.
#[derive(Debug, Clone)]
pub enum Backend<S, P> {
    /// The embedded database.
    Sqlite(S),
    /// The shared database.
    Postgres(P),
}

/// The store's connections: SQLite's one (`None` once closed), or a PostgreSQL pool.
pub type Pool = Backend<Arc<tokio::sync::Mutex<Option<SqliteConn>>>, PgPool>;

/// A connection (or a transaction's), lent to a statement shared by several store methods.
pub type Conn<'c> = Backend<&'c mut SqliteConn, &'c mut PgConnection>;

impl<'c> From<&'c mut SqliteConn> for Conn<'c> {
    fn from(conn: &'c mut SqliteConn) -> Self {
        Self::Sqlite(conn)
    }
}

impl<'c> From<&'c mut PgConnection> for Conn<'c> {
    fn from(conn: &'c mut PgConnection) -> Self {
        Self::Postgres(conn)
    }
}

/// Runs `body` with `db` bound to the SQLite or the PostgreSQL half of a [`Backend`]: the body is
/// written once and compiled for both, each half with its own types. Written like a closure so
/// that rustfmt formats the body, but it is inlined: `?` and `.await` act on the method around it.
macro_rules! on {
    ($backend:expr, |$db:ident| $body:expr) => {
        match $backend {
            $crate::store::backend::Backend::Sqlite($db) => $body,
            $crate::store::backend::Backend::Postgres($db) => $body,
        }
    };
}
pub(crate) use on;

/// A column value both databases decode.
pub trait Value: rusqlite::types::FromSql + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

impl<T> Value for T where T: rusqlite::types::FromSql + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

/// A row of either database, read by column name or position.
pub trait StoreRow {
    /// The value in `column`.
    fn read<T: Value>(&self, column: &str) -> Result<T, sqlx::Error>;
    /// The value in the column at `index` (from 0).
    fn read_at<T: Value>(&self, index: usize) -> Result<T, sqlx::Error>;
}

impl StoreRow for SqliteRow {
    fn read<T: Value>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.try_get(column)
    }
    fn read_at<T: Value>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

impl StoreRow for PgRow {
    fn read<T: Value>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.try_get(column)
    }
    fn read_at<T: Value>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

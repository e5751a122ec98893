//! A statement, written once and run on either database: [`query`], [`query_as`] and
//! [`query_scalar`] read like sqlx's functions of those names, and run through sqlx on PostgreSQL
//! and on the calling thread on SQLite (see `sqlite`).

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;

use sqlx::postgres::{PgArguments, PgConnection, PgRow, Postgres};

use super::backend::{StoreRow, Value};
use super::sqlite::{SqliteConn, SqliteRow};

/// A value bound to a statement's parameter. Its type is kept with a NULL too: PostgreSQL types
/// every parameter.
#[derive(Debug, Clone)]
pub enum Param<'q> {
    /// An integer (PostgreSQL's BIGINT).
    Int(Option<i64>),
    /// A 32-bit integer, for the PostgreSQL functions that take no BIGINT.
    Int4(Option<i32>),
    /// A truth value.
    Bool(Option<bool>),
    /// Text.
    Text(Option<Cow<'q, str>>),
    /// Bytes.
    Bytes(Option<Cow<'q, [u8]>>),
}

/// A Rust value that binds as a [`Param`].
pub trait Bind<'q> {
    /// The parameter.
    fn param(self) -> Param<'q>;
}

macro_rules! bind_as {
    ($variant:ident: $($t:ty => $convert:expr),* $(,)?) => {$(
        impl<'q> Bind<'q> for $t {
            fn param(self) -> Param<'q> {
                #[allow(clippy::redundant_closure_call, reason = "the conversion is written as a closure")]
                Param::$variant(Some(($convert)(self)))
            }
        }
        impl<'q> Bind<'q> for Option<$t> {
            fn param(self) -> Param<'q> {
                #[allow(clippy::redundant_closure_call, reason = "the conversion is written as a closure")]
                Param::$variant(self.map($convert))
            }
        }
    )*};
}

bind_as!(Int: i64 => |n| n);
bind_as!(Int4: i32 => |n| n);
bind_as!(Bool: bool => |b| b);
bind_as!(Text: &'q str => Cow::Borrowed, String => Cow::Owned, &'q String => |s: &'q String| Cow::Borrowed(s.as_str()));
bind_as!(Bytes: &'q [u8] => Cow::Borrowed, Vec<u8> => Cow::Owned);

impl<'q> Bind<'q> for &'q Option<String> {
    fn param(self) -> Param<'q> {
        Param::Text(self.as_deref().map(Cow::Borrowed))
    }
}

impl<'q> Bind<'q> for &'q Option<i64> {
    fn param(self) -> Param<'q> {
        Param::Int(*self)
    }
}

/// A statement and its parameters.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is run"]
pub struct Query<'q> {
    sql: &'q str,
    params: Vec<Param<'q>>,
}

/// A statement that ran.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    /// How many rows the statement changed.
    pub const fn rows_affected(self) -> u64 {
        self.rows_affected
    }
}

/// A statement.
pub fn query(sql: &str) -> Query<'_> {
    Query { sql, params: Vec::new() }
}

/// A statement with its parameters bound already.
pub fn query_from<'q>(sql: &'q str, params: Vec<Param<'q>>) -> Query<'q> {
    Query { sql, params }
}

/// A statement whose rows are read as `T`s.
pub fn query_as<T: FromStoreRow>(sql: &str) -> QueryAs<'_, T> {
    QueryAs { query: query(sql), row: PhantomData }
}

/// A statement whose rows' first column is read as a `T`.
pub fn query_scalar<T: Value>(sql: &str) -> QueryScalar<'_, T> {
    QueryScalar { query: query(sql), value: PhantomData }
}

impl<'q> Query<'q> {
    /// Binds the next parameter (`$1`, then `$2`, …).
    pub fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.params.push(value.param());
        self
    }

    /// The SQL.
    pub(super) const fn sql(&self) -> &str {
        self.sql
    }

    /// The parameters, in order.
    pub(super) fn params(&self) -> &[Param<'q>] {
        &self.params
    }

    /// Runs the statement.
    pub async fn execute<E: Executor>(self, db: E) -> Result<Done, sqlx::Error> {
        db.execute(self).await
    }

    /// Runs the statement, which returns exactly one row.
    pub async fn fetch_one<E: Executor>(self, db: E) -> Result<E::Row, sqlx::Error> {
        db.fetch(self, 1).await?.pop().ok_or(sqlx::Error::RowNotFound)
    }

    /// Runs the statement, which returns a row or none.
    pub async fn fetch_optional<E: Executor>(self, db: E) -> Result<Option<E::Row>, sqlx::Error> {
        Ok(db.fetch(self, 1).await?.pop())
    }

    /// Runs the statement, returning all its rows.
    pub async fn fetch_all<E: Executor>(self, db: E) -> Result<Vec<E::Row>, sqlx::Error> {
        db.fetch(self, usize::MAX).await
    }
}

/// A statement whose rows are read as `T`s.
#[derive(Debug)]
#[must_use = "a statement does nothing until it is run"]
pub struct QueryAs<'q, T> {
    query: Query<'q>,
    row: PhantomData<fn() -> T>,
}

impl<'q, T: FromStoreRow> QueryAs<'q, T> {
    /// Binds the next parameter.
    pub fn bind(self, value: impl Bind<'q>) -> Self {
        Self { query: self.query.bind(value), row: PhantomData }
    }

    /// Runs the statement, which returns exactly one row.
    pub async fn fetch_one<E: Executor>(self, db: E) -> Result<T, sqlx::Error> {
        T::from_row(&self.query.fetch_one(db).await?)
    }

    /// Runs the statement, which returns a row or none.
    pub async fn fetch_optional<E: Executor>(self, db: E) -> Result<Option<T>, sqlx::Error> {
        self.query.fetch_optional(db).await?.map(|row| T::from_row(&row)).transpose()
    }

    /// Runs the statement, returning all its rows.
    pub async fn fetch_all<E: Executor>(self, db: E) -> Result<Vec<T>, sqlx::Error> {
        self.query.fetch_all(db).await?.iter().map(T::from_row).collect()
    }
}

/// A statement whose rows' first column is read as a `T`.
#[derive(Debug)]
#[must_use = "a statement does nothing until it is run"]
pub struct QueryScalar<'q, T> {
    query: Query<'q>,
    value: PhantomData<fn() -> T>,
}

impl<'q, T: Value> QueryScalar<'q, T> {
    /// Binds the next parameter.
    pub fn bind(self, value: impl Bind<'q>) -> Self {
        Self { query: self.query.bind(value), value: PhantomData }
    }

    /// Runs the statement, which returns exactly one row.
    pub async fn fetch_one<E: Executor>(self, db: E) -> Result<T, sqlx::Error> {
        self.query.fetch_one(db).await?.read_at(0)
    }

    /// Runs the statement, which returns a row or none.
    pub async fn fetch_optional<E: Executor>(self, db: E) -> Result<Option<T>, sqlx::Error> {
        self.query.fetch_optional(db).await?.map(|row| row.read_at(0)).transpose()
    }
}

/// A connection that runs statements: PostgreSQL's, or the SQLite one.
pub trait Executor: Send {
    /// Its rows.
    type Row: StoreRow + Send;

    /// Runs `query`.
    fn execute(self, query: Query<'_>) -> impl Future<Output = Result<Done, sqlx::Error>> + Send;

    /// Runs `query`, returning at most `at_most` of its rows.
    fn fetch(
        self,
        query: Query<'_>,
        at_most: usize,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;
}

impl Executor for &mut SqliteConn {
    type Row = SqliteRow;

    fn execute(self, query: Query<'_>) -> impl Future<Output = Result<Done, sqlx::Error>> + Send {
        let done = SqliteConn::execute(self, &query).map(|rows_affected| Done { rows_affected });
        async move { done }
    }

    fn fetch(
        self,
        query: Query<'_>,
        at_most: usize,
    ) -> impl Future<Output = Result<Vec<SqliteRow>, sqlx::Error>> + Send {
        let rows = SqliteConn::fetch(self, &query, at_most);
        async move { rows }
    }
}

impl Executor for &mut PgConnection {
    type Row = PgRow;

    async fn execute(self, query: Query<'_>) -> Result<Done, sqlx::Error> {
        let done = sqlx::Executor::execute(self, postgres(query.sql, query.params)).await?;
        Ok(Done { rows_affected: done.rows_affected() })
    }

    async fn fetch(self, query: Query<'_>, at_most: usize) -> Result<Vec<PgRow>, sqlx::Error> {
        let statement = postgres(query.sql, query.params);
        if at_most == 1 {
            Ok(sqlx::Executor::fetch_optional(self, statement).await?.into_iter().collect())
        } else {
            sqlx::Executor::fetch_all(self, statement).await
        }
    }
}

/// `sql` with `params` bound, for sqlx's PostgreSQL driver.
fn postgres<'q>(sql: &'q str, params: Vec<Param<'q>>) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    params.into_iter().fold(sqlx::query(sql), |statement, param| match param {
        Param::Int(n) => statement.bind(n),
        Param::Int4(n) => statement.bind(n),
        Param::Bool(b) => statement.bind(b),
        Param::Text(Some(Cow::Borrowed(text))) => statement.bind(text),
        Param::Text(Some(Cow::Owned(text))) => statement.bind(text),
        Param::Text(None) => statement.bind(None::<&str>),
        Param::Bytes(Some(Cow::Borrowed(bytes))) => statement.bind(bytes),
        Param::Bytes(Some(Cow::Owned(bytes))) => statement.bind(bytes),
        Param::Bytes(None) => statement.bind(None::<&[u8]>),
    })
}

/// A Rust value made of a row.
pub trait FromStoreRow: Sized {
    /// The value of `row`.
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error>;
}

macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Value),+> FromStoreRow for ($($t,)+) {
            fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
                Ok(($(row.read_at::<$t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

//! The live events pushed to tills, numbered, so a reconnecting browser replays what it missed.
//!
//! On PostgreSQL every instance hears of every event: each is announced on [`LIVE_CHANNEL`] as
//! it commits (`"<id> <till>"`, then a line break and the event's JSON unless that would make
//! the announcement too long), and one till's events commit in the order of their ids (they are
//! written under a lock on the till), so "everything after id N" is all a browser missed,
//! whichever instance it reconnects to.

use super::combined::Combined;
use super::sqlite::SqliteConn;
use super::statement::{Bind as _, Param, query, query_scalar};
use sqlx::Row as _;
use sqlx::postgres::PgListener;

use super::backend::{Backend, on};
use super::{Store, StoreError};

/// The PostgreSQL notification channel that announces live events.
pub const LIVE_CHANNEL: &str = "kasse_live";

/// The longest channel name and event together that an announcement carries whole. PostgreSQL
/// refuses announcements of 8 000 bytes or more; the id, a space and a line break fit in the rest.
const ANNOUNCED_WHOLE_AT_MOST: i32 = 7_900;

/// A live event to store together with the change it announces, so that both commit or
/// neither does, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct NewTillEvent<'a> {
    /// Its channel: a till's id, or a landing payment's channel.
    pub channel: &'a str,
    /// The JSON of the event.
    pub payload: &'a str,
    /// When, in ms.
    pub at: i64,
}

/// Appends a live event on SQLite's connection (a transaction's, or its own) and returns its id.
/// PostgreSQL's events go with the writes they announce, as one statement (see `combined`).
pub(super) async fn insert_event(conn: &mut SqliteConn, event: NewTillEvent<'_>) -> Result<i64, sqlx::Error> {
    query_scalar("INSERT INTO till_events (till_id, payload, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(event.channel)
        .bind(event.payload)
        .bind(event.at)
        .fetch_one(conn)
        .await
}

/// Appends `event`, if any, on SQLite's connection (a transaction's).
pub(super) async fn insert_event_if(
    conn: &mut SqliteConn,
    event: Option<NewTillEvent<'_>>,
) -> Result<Option<i64>, sqlx::Error> {
    match event {
        Some(event) => Ok(Some(insert_event(conn, event).await?)),
        None => Ok(None),
    }
}

/// The end of a PostgreSQL statement that appends a live event after the writes `after` (the
/// names of its `WITH` queries) and returns its id; its parameters start at `$first` (see
/// [`event_params`]). Ids are drawn under the channel's lock, held to the commit, so one
/// channel's events commit in the order of their ids; the lock is taken once the writes are done,
/// so every statement takes a row's lock before a channel's, and none waits on another for both.
/// The commit announces the event to every instance, with its payload when it fits, so no
/// instance has to read it back.
pub(super) fn announced_insert(first: usize, after: &[String]) -> String {
    let [channel, payload, at, live, whole] = [0, 1, 2, 3, 4].map(|i| format!("${}", first + i));
    // Counting a write's rows runs it to the end before the lock is taken.
    let after = if after.is_empty() {
        String::new()
    } else {
        let counted: Vec<String> =
            after.iter().map(|name| format!("(SELECT count(*) FROM {name}) AS {name}_done")).collect();
        format!(" FROM {}", counted.join(", "))
    };
    format!(
        "turn AS (SELECT pg_advisory_xact_lock(hashtextextended('till:' || {channel}, 0)){after}), \
         stored AS (INSERT INTO till_events (till_id, payload, created_at) \
                    SELECT {channel}, {payload}, {at} FROM turn RETURNING id) \
         SELECT id FROM stored, LATERAL (SELECT pg_notify({live}, id || ' ' || {channel} || \
           CASE WHEN octet_length({channel}) + octet_length({payload}) <= {whole} THEN E'\\n' || {payload} ELSE '' END)) \
         AS announced"
    )
}

/// The parameters of [`announced_insert`], in order.
pub(super) fn event_params(event: NewTillEvent<'_>) -> [Param<'_>; 5] {
    [
        event.channel.param(),
        event.payload.param(),
        event.at.param(),
        LIVE_CHANNEL.param(),
        ANNOUNCED_WHOLE_AT_MOST.param(),
    ]
}

impl Store {
    /// Appends a live event for a till (and announces it to every instance). Returns its id.
    pub async fn insert_till_event(&self, till_id: &str, payload: &str, now: i64) -> Result<i64, StoreError> {
        let event = NewTillEvent { channel: till_id, payload, at: now };
        // One statement is its own transaction: on PostgreSQL the channel's lock lasts to its commit.
        match self.db().await?.conn() {
            Backend::Sqlite(conn) => Ok(insert_event(conn, event).await?),
            Backend::Postgres(conn) => {
                Ok(Combined::default().run(conn, Some(event)).await?.ok_or(sqlx::Error::RowNotFound)?)
            }
        }
    }

    /// Announces a sign of life (no event) to every instance's listener: a listener that does
    /// not hear it has lost its connection. Nothing on SQLite.
    pub async fn announce_ping(&self) -> Result<(), StoreError> {
        if !self.postgres() {
            return Ok(());
        }
        on!(self.db().await?.conn(), |db| {
            query("SELECT pg_notify($1, 'ping')").bind(LIVE_CHANNEL).execute(&mut *db).await?;
            Ok(())
        })
    }

    /// A listener for the live events every instance announces; `None` on SQLite, where this
    /// instance is the only one.
    pub async fn live_listener(&self) -> Result<Option<PgListener>, StoreError> {
        let Backend::Postgres(pool) = &self.pool else { return Ok(None) };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(LIVE_CHANNEL).await?;
        Ok(Some(listener))
    }

    /// A till's live events after `after`, oldest first.
    pub async fn till_events_after(
        &self,
        till_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(
                "SELECT id, payload FROM till_events WHERE till_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(till_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *db)
            .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        })
    }

    /// The id of a till's newest live event (0 if none).
    pub async fn last_till_event_id(&self, till_id: &str) -> Result<i64, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query("SELECT COALESCE(MAX(id), 0) FROM till_events WHERE till_id = $1")
                .bind(till_id)
                .fetch_one(&mut *db)
                .await?;
            Ok(row.try_get(0)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_is_announced_whole_up_to_the_limit_and_by_its_id_beyond() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let store = Store::open(&url).await.unwrap();
        let mut listener = store.live_listener().await.unwrap().unwrap();
        let limit = usize::try_from(ANNOUNCED_WHOLE_AT_MOST).unwrap() - "till-1".len();
        // Bytes count, not characters: 3 000 euro signs are 9 000 bytes.
        let payloads = ["x".repeat(limit), "x".repeat(limit + 1), "€".repeat(3_000)];
        for payload in &payloads {
            let id = store.insert_till_event("till-1", payload, 1).await.unwrap();
            let heard = listener.recv().await.unwrap();
            let (head, whole) = heard.payload().split_once('\n').unwrap_or((heard.payload(), ""));
            assert_eq!(head, format!("{id} till-1"));
            let expected = if payload.len() <= limit { payload.as_str() } else { "" };
            assert_eq!(whole, expected, "{} bytes", payload.len());
        }
    }

    #[tokio::test]
    async fn till_events_replay_after_a_given_id_in_order() {
        for store in crate::store::testing::stores().await {
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
}

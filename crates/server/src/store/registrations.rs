//! Our webhook registration per sales unit, with the secret its deliveries are signed with; and
//! the database's own health, which `/healthz` reports beside the registrations.

use super::backend::StoreRow;
use super::backend::{Backend, on};
use super::statement::{FromStoreRow, query, query_as};
use super::{Store, StoreError};

/// Our webhook registration for a sales unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    pub msn: String,
    pub webhook_id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
}

impl FromStoreRow for WebhookRegistration {
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            msn: row.read("msn")?,
            webhook_id: row.read("webhook_id")?,
            url: row.read("url")?,
            events: row.read("events")?,
            secret: row.read("secret")?,
        })
    }
}

impl Store {
    /// Our webhook registrations, all sales units.
    pub async fn webhook_registrations(&self) -> Result<Vec<WebhookRegistration>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as("SELECT msn, webhook_id, url, events, secret FROM webhook_registrations")
                .fetch_all(&mut *db)
                .await?)
        })
    }

    /// Saves (replacing) our registration for a sales unit.
    pub async fn save_webhook_registration(
        &self,
        reg: &WebhookRegistration,
        now: i64,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO webhook_registrations (msn, webhook_id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (msn) DO UPDATE SET webhook_id = excluded.webhook_id, url = excluded.url, \
                 events = excluded.events, secret = excluded.secret, created_at = excluded.created_at",
            )
            .bind(&reg.msn)
            .bind(&reg.webhook_id)
            .bind(&reg.url)
            .bind(&reg.events)
            .bind(&reg.secret)
            .bind(now)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// Whether the database answers a query at all: `/healthz`'s check.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("SELECT 1").execute(&mut *db).await?;
            Ok(())
        })
    }

    /// Closes the database: every query after this fails. Only for tests of a lost database.
    pub async fn close(&self) {
        match &self.pool {
            Backend::Sqlite(conn) => {
                // Closed when dropped; later statements find it gone (`PoolClosed`).
                drop(conn.lock().await.take());
            }
            Backend::Postgres(pool) => pool.close().await,
        }
        if let Some(locks) = &self.locks {
            locks.close().await;
        }
    }
}

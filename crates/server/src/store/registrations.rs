//! Our webhook registration per sales unit, with the secret its deliveries are signed with; and
//! the database's own health, which `/healthz` reports beside the registrations.

use super::backend::{Backend, on};
use super::{Store, StoreError};

/// Our webhook registration for a sales unit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRegistration {
    pub msn: String,
    pub webhook_id: String,
    pub url: String,
    pub events: String,
    pub secret: String,
}

impl Store {
    /// Our webhook registrations, all sales units.
    pub async fn webhook_registrations(&self) -> Result<Vec<WebhookRegistration>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(sqlx::query_as("SELECT msn, webhook_id, url, events, secret FROM webhook_registrations")
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
            sqlx::query(
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
            sqlx::query("SELECT 1").execute(&mut *db).await?;
            Ok(())
        })
    }

    /// Closes the database: every query after this fails. Only for tests of a lost database.
    pub async fn close(&self) {
        match &self.pool {
            Backend::Sqlite(conn) => {
                if let Some(conn) = conn.lock().await.take() {
                    let _ = sqlx::Connection::close(conn).await;
                }
            }
            Backend::Postgres(pool) => pool.close().await,
        }
        if let Some(locks) = &self.locks {
            locks.close().await;
        }
    }
}

//! `kasse-server integrator …`: the PoS systems allowed to use the terminal API. Adding one makes
//! its API key (shown once, stored as a hash) and its callback secret; revoking one refuses its
//! key at the next request. All work in the configured database whether or not a server runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::Config;
use crate::store::{IntegratorRow, Store, StoreError};
use crate::terminal::access::{key_hash, new_callback_secret, new_id, new_key};

/// Why an integrator could not be added or revoked.
#[derive(Debug, thiserror::Error)]
pub enum IntegratorError {
    /// The name is empty or too long.
    #[error("an integrator's name is 1 to 64 characters")]
    BadName,
    /// The name is taken.
    #[error("there is an integrator named '{0}' already")]
    NameTaken(String),
    /// No store was named.
    #[error("name the stores the key may act in (--stores STORE,…)")]
    NoStores,
    /// A store is not in the configuration.
    #[error("there is no store '{0}' in the configuration")]
    UnknownStore(String),
    /// The callback URL is not an absolute http(s) URL.
    #[error("the callback URL must be an absolute https:// (or http://) URL: {0}")]
    BadCallbackUrl(String),
    /// No integrator has the name.
    #[error("there is no integrator named '{0}'")]
    Unknown(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An integrator as the operator sees it (never its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integrator {
    /// Our id for it.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The stores its key may act in.
    pub stores: Vec<String>,
    /// Where its callbacks go.
    pub callback_url: Option<String>,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// When its key was last used, to about a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When its key was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new integrator, with the secrets shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Added {
    /// The integrator.
    #[serde(flatten)]
    pub integrator: Integrator,
    /// Its API key: not stored, shown once.
    pub api_key: String,
    /// The secret its callbacks are signed with.
    pub callback_secret: String,
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl From<IntegratorRow> for Integrator {
    fn from(row: IntegratorRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            stores: row.stores,
            callback_url: row.callback_url,
            added_at: at(row.created_at),
            last_used_at: row.last_used_at.map(at),
            revoked_at: row.revoked_at.map(at),
        }
    }
}

/// The integrators of the database one configuration names.
#[derive(Debug, Clone)]
pub struct Integrators {
    config_stores: Vec<String>,
    store: Store,
}

impl Integrators {
    /// The integrators in the database `config` names.
    pub async fn open(config: &Config) -> Result<Self, IntegratorError> {
        let store = Store::open(&config.database_url).await?;
        Ok(Self::of(config, store))
    }

    /// The integrators of a running server's database (tests).
    pub fn of_tools(tools: &crate::Tools) -> Self {
        Self::of(&tools.config, tools.store.clone())
    }

    fn of(config: &Config, store: Store) -> Self {
        Self { config_stores: config.stores.iter().map(|s| s.id.clone()).collect(), store }
    }

    /// Adds an integrator that may act in `stores`, with callbacks to `callback_url` if given.
    pub async fn add(
        &self,
        name: &str,
        stores: &[String],
        callback_url: Option<&str>,
    ) -> Result<Added, IntegratorError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(IntegratorError::BadName);
        }
        if stores.is_empty() {
            return Err(IntegratorError::NoStores);
        }
        if let Some(unknown) = stores.iter().find(|s| !self.config_stores.contains(s)) {
            return Err(IntegratorError::UnknownStore(unknown.clone()));
        }
        if let Some(url) = callback_url {
            let parsed = Url::parse(url).map_err(|_| IntegratorError::BadCallbackUrl(url.to_owned()))?;
            if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
                return Err(IntegratorError::BadCallbackUrl(url.to_owned()));
            }
        }
        if self.store.integrator_by_name(name).await?.is_some() {
            return Err(IntegratorError::NameTaken(name.to_owned()));
        }
        let mut stores = stores.to_vec();
        stores.sort();
        stores.dedup();
        let api_key = new_key();
        let row = IntegratorRow {
            id: new_id(),
            name: name.to_owned(),
            key_hash: key_hash(&api_key),
            callback_url: callback_url.map(str::to_owned),
            callback_secret: new_callback_secret(),
            created_at: crate::now_ms(),
            last_used_at: None,
            revoked_at: None,
            stores,
        };
        self.store.insert_integrator(&row).await?;
        tracing::info!(id = %row.id, name = %row.name, stores = ?row.stores, "integrator added");
        let callback_secret = row.callback_secret.clone();
        Ok(Added { integrator: row.into(), api_key, callback_secret })
    }

    /// Every integrator, revoked ones too, by name.
    pub async fn list(&self) -> Result<Vec<Integrator>, IntegratorError> {
        Ok(self.store.integrators().await?.into_iter().map(Integrator::from).collect())
    }

    /// Revokes the named integrator's key: its next request is refused. Revoking a revoked one
    /// changes nothing and says so.
    pub async fn revoke(&self, name: &str) -> Result<Integrator, IntegratorError> {
        let now = crate::now_ms();
        self.store.revoke_integrator(name, now).await?;
        let row = self
            .store
            .integrator_by_name(name)
            .await?
            .ok_or_else(|| IntegratorError::Unknown(name.to_owned()))?;
        Ok(row.into())
    }
}

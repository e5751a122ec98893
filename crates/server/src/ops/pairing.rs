//! `kasse-server till …`: one-time codes that pair a browser with a till or its display, and the
//! devices paired: listing them and ending their sessions. All work in the configured database
//! whether or not a server is running.
//!
//! A revoked session is refused at its next request, and a server's open event streams of it end
//! at once when the revocation is made in the server's own process ([`Devices::of`], as tests
//! do), or within a second when made by the command line (the server watches the database).

use chrono::{DateTime, Utc};
use kasse_api::Role;
use serde::Serialize;

use crate::Tools;
use crate::config::{Config, SessionPolicy};
use crate::pairing::{Holder, device_id, live_holders, parse_role};
use crate::store::{Store, StoreError};

/// Makes a one-time pairing code for a till of `config` (what `kasse-server till pair` prints),
/// in the configured database, whether or not a server is running.
pub async fn code(config: &Config, till: &str, role: Role) -> Result<String, PairError> {
    if config.till(till).is_none() {
        return Err(PairError::UnknownTill(till.to_owned()));
    }
    let store = Store::open(&config.database_url).await?;
    Ok(crate::pairing::create_code(&store, till, role, crate::now_ms()).await?)
}

/// A paired device, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Its id, for `till revoke`: the start of its session token's hash, which tells nothing
    /// about the token.
    pub id: String,
    /// The till it is paired with.
    pub till: String,
    /// The till itself, or its customer display.
    pub role: Role,
    /// When it was paired.
    pub paired_at: DateTime<Utc>,
    /// When it was last used, to about a minute.
    pub last_seen_at: DateTime<Utc>,
}

/// The devices paired with the tills of one configuration.
#[derive(Debug, Clone)]
pub struct Devices {
    config_tills: Vec<String>,
    policy: SessionPolicy,
    store: Store,
}

impl Devices {
    /// The devices in the database `config` names.
    pub async fn open(config: &Config) -> Result<Self, PairError> {
        let store = Store::open(&config.database_url).await?;
        Ok(Self { config_tills: till_ids(config), policy: config.sessions, store })
    }

    /// The devices of the database the tools work on (a running server's, in tests).
    pub fn of(tools: &Tools) -> Self {
        Self {
            config_tills: till_ids(&tools.config),
            policy: tools.config.sessions,
            store: tools.store.clone(),
        }
    }

    /// Every device whose session is live now (neither revoked nor expired), by till and then
    /// pairing time.
    pub async fn list(&self) -> Result<Vec<Device>, PairError> {
        // Managers' back offices are not devices of a till: `manager list` shows them.
        let live = live_holders(&self.store, self.policy, self.policy, crate::now_ms()).await?;
        Ok(live
            .iter()
            .filter(|(_, holder)| matches!(holder, Holder::Device { .. }))
            .filter_map(|(row, _)| {
                device(&row.token_hash, &row.till_id, &row.role, row.created_at, row.last_seen_at)
            })
            .collect())
    }

    /// Ends the session of the device `id` (as [`Devices::list`] names it) at once; returns it.
    pub async fn revoke(&self, id: &str) -> Result<Vec<Device>, PairError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() != crate::pairing::DEVICE_ID_LENGTH || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PairError::BadDevice(id));
        }
        let revoked = self.store.revoke_sessions_by_prefix(&id, crate::now_ms()).await?;
        if revoked.is_empty() {
            return Err(PairError::UnknownDevice(id));
        }
        crate::live::sessions_revoked();
        Ok(revoked
            .iter()
            .filter_map(|row| {
                device(&row.token_hash, &row.till_id, &row.role, row.created_at, row.last_seen_at)
            })
            .collect())
    }

    /// Ends every session of `till` at once (its till screens and displays); returns them.
    pub async fn revoke_till(&self, till: &str) -> Result<Vec<Device>, PairError> {
        if !self.config_tills.iter().any(|t| t == till) {
            return Err(PairError::UnknownTill(till.to_owned()));
        }
        let revoked = self.store.revoke_till_sessions(till, crate::now_ms()).await?;
        crate::live::sessions_revoked();
        Ok(revoked
            .iter()
            .filter_map(|row| {
                device(&row.token_hash, &row.till_id, &row.role, row.created_at, row.last_seen_at)
            })
            .collect())
    }
}

fn till_ids(config: &Config) -> Vec<String> {
    config.tills.iter().map(|t| t.id.clone()).collect()
}

/// A device from a stored session's columns (`None` for a row that cannot be read).
fn device(token_hash: &str, till: &str, role: &str, created_at: i64, last_seen_at: i64) -> Option<Device> {
    Some(Device {
        id: device_id(token_hash).to_owned(),
        till: till.to_owned(),
        role: parse_role(role)?,
        paired_at: DateTime::from_timestamp_millis(created_at)?,
        last_seen_at: DateTime::from_timestamp_millis(last_seen_at)?,
    })
}

/// Why a pairing code could not be made, or devices listed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// No such till in the configuration.
    #[error("there is no till '{0}' in the configuration")]
    UnknownTill(String),
    /// No live session has this device id.
    #[error("no paired device has the id '{0}' (`kasse-server till list` shows them)")]
    UnknownDevice(String),
    /// Not a device id at all.
    #[error(
        "'{0}' is not a device id: it is {len} hexadecimal characters, as `kasse-server till list` shows",
        len = crate::pairing::DEVICE_ID_LENGTH
    )]
    BadDevice(String),
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

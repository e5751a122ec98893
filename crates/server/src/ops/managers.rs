//! `kasse-server manager …`: one-time codes that pair a browser as a manager's back office, the
//! managers and their back offices, and removing a manager (their sessions end at once; a manager
//! who forgot their PIN is removed and paired anew, choosing a new one). All work in the
//! configured database whether or not a server is running.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::managers::{self, AddError};
use crate::pairing::{self, Holder};
use crate::store::{Store, StoreError};

/// Makes a one-time code that pairs a browser as the back office of the manager `name` (added
/// for `store`, or every store, if there is none of that name).
pub async fn code(config: &Config, name: &str, store: Option<&str>) -> Result<String, ManagerError> {
    let name = managers::read_name(name).ok_or(ManagerError::BadName)?;
    if let Some(store) = store
        && config.store(store).is_none()
    {
        return Err(ManagerError::UnknownStore(store.to_owned()));
    }
    let db = Store::open(&config.database_url).await?;
    let now = crate::now_ms();
    let manager = managers::for_pairing(&db, &name, store, now).await.map_err(|e| match e {
        AddError::NameTaken => ManagerError::NameTaken(name.clone()),
        AddError::Store(e) => ManagerError::Store(e),
    })?;
    Ok(pairing::create_code_for(&db, &Holder::Manager(manager.id), now).await?)
}

/// Removes the manager `name`: their sessions end at once.
pub async fn revoke(config: &Config, name: &str) -> Result<(), ManagerError> {
    let name = managers::read_name(name).ok_or(ManagerError::BadName)?;
    let db = Store::open(&config.database_url).await?;
    let manager =
        db.manager_by_name(&name).await?.ok_or_else(|| ManagerError::UnknownManager(name.clone()))?;
    db.revoke_manager(&manager.id, crate::now_ms()).await?;
    crate::live::sessions_revoked();
    Ok(())
}

/// A manager, as `kasse-server manager list` shows them.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// Their name.
    pub name: String,
    /// The store they manage, by id; `None` for every store.
    pub store: Option<String>,
    /// Whether they have chosen their PIN (at their first pairing): until then, the code printed
    /// for them is the only way in.
    pub pin_chosen: bool,
    /// When they were added.
    pub added_at: DateTime<Utc>,
    /// Their devices with a live back-office session, oldest first.
    pub devices: Vec<BackOffice>,
}

/// A device with a manager's live back-office session.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackOffice {
    /// When it was paired.
    pub paired_at: DateTime<Utc>,
    /// When it was last used, to about a minute.
    pub last_seen_at: DateTime<Utc>,
}

/// Every manager not removed, by name, with their devices whose back-office session is live now
/// (under `[sessions]`'s manager settings).
pub async fn list(config: &Config) -> Result<Vec<Listed>, ManagerError> {
    let db = Store::open(&config.database_url).await?;
    let policy = config.manager_sessions;
    let sessions = pairing::live_holders(&db, config.sessions, policy, crate::now_ms()).await?;
    let listed = db.managers().await?.into_iter().filter_map(|manager| {
        let devices = sessions
            .iter()
            .filter(|(_, holder)| matches!(holder, Holder::Manager(id) if *id == manager.id))
            .filter_map(|(row, _)| {
                Some(BackOffice {
                    paired_at: DateTime::from_timestamp_millis(row.created_at)?,
                    last_seen_at: DateTime::from_timestamp_millis(row.last_seen_at)?,
                })
            })
            .collect();
        Some(Listed {
            added_at: DateTime::from_timestamp_millis(manager.created_at)?,
            name: manager.name,
            store: manager.store_id,
            pin_chosen: manager.pin_hash.is_some(),
            devices,
        })
    });
    Ok(listed.collect())
}

/// Why a manager could not be paired or removed.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// No such store in the configuration.
    #[error("there is no store '{0}' in the configuration")]
    UnknownStore(String),
    /// Not a name a manager can have.
    #[error("a manager's name is 1 to {} characters", managers::NAME_MAX)]
    BadName,
    /// Another manager has this name for other stores.
    #[error("a manager named {0} already manages other stores; choose another name, or remove them first")]
    NameTaken(String),
    /// No manager has this name.
    #[error("there is no manager named {0}")]
    UnknownManager(String),
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

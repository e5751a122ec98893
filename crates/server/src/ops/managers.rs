//! `kasse-server manager …`: one-time codes that pair a browser as a manager's back office, and
//! removing a manager (their sessions end at once; a manager who forgot their PIN is removed and
//! paired anew, choosing a new one). All work in the configured database whether or not a server
//! is running.

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

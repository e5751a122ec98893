//! `kasse-server loyalty forget NAME`: a loyalty member's name forgotten at once, on their
//! request, wherever kasse keeps it (see [`crate::store::Store::forget_member`]). The retention
//! job forgets every member's name after `retention_days` anyway.

use crate::config::Config;
use crate::store::{Forgotten, Store, StoreError};

/// Forgets the member `name` in the database `config` names.
pub async fn forget(config: &Config, name: &str) -> Result<Forgotten, StoreError> {
    let store = Store::open(&config.database_url).await?;
    let forgotten = store.forget_member(name).await;
    store.close().await;
    forgotten
}

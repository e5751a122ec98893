//! `kasse-server sticker off|on ID`: switching an open-amount sticker off (its landing pages offer
//! nothing to pay, and a payment there is refused) and on again. The pages waiting at it follow:
//! the switch is announced on the sticker's live channel, which every instance hears on
//! PostgreSQL; on SQLite a server in another process notices at its pages' next look, within
//! seconds (`routes::landing`).

use crate::config::Config;
use crate::sales::sticker_channel;
use crate::store::{Store, StoreError};

/// Why a sticker could not be switched.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// The configuration has no open-amount sticker of that id.
    #[error(
        "there is no open-amount sticker '{0}' in the configuration ([[stickers]]); a till's \
         sticker offers what the till presents, and nothing when it presents nothing"
    )]
    UnknownSticker(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Switches the open-amount sticker `id` on or off in the database `config` names; whether that
/// changed anything.
pub async fn switch(config: &Config, id: &str, on: bool) -> Result<bool, SwitchError> {
    let store = Store::open(&config.database_url).await?;
    let switched = switch_in(config, &store, id, on).await;
    store.close().await;
    switched
}

/// Like [`switch`], in a running server's database (tests).
pub async fn switch_with(tools: &crate::Tools, id: &str, on: bool) -> Result<bool, SwitchError> {
    switch_in(&tools.config, &tools.store, id, on).await
}

async fn switch_in(config: &Config, store: &Store, id: &str, on: bool) -> Result<bool, SwitchError> {
    if !config.stickers.iter().any(|sticker| sticker.id == id) {
        return Err(SwitchError::UnknownSticker(id.to_owned()));
    }
    let now = crate::now_ms();
    let changed = store.switch_sticker(id, on, now).await?;
    if changed {
        store.insert_till_event(&sticker_channel(id), "\"changed\"", now).await?;
    }
    Ok(changed)
}

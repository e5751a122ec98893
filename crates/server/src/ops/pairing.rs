//! `kasse-server till pair`: one-time codes that pair a browser with a till or its display,
//! made in the configured database whether or not a server is running.

use crate::config::Config;
use crate::store::{Store, StoreError};

/// Makes a one-time pairing code for a till of `config` (what `kasse-server till pair` prints),
/// in the configured database, whether or not a server is running.
pub async fn code(config: &Config, till: &str, role: kasse_api::Role) -> Result<String, PairError> {
    if config.till(till).is_none() {
        return Err(PairError::UnknownTill(till.to_owned()));
    }
    let store = Store::open(&config.database_url).await?;
    Ok(crate::pairing::create_code(&store, till, role, crate::now_ms()).await?)
}

/// Why a pairing code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// No such till in the configuration.
    #[error("there is no till '{0}' in the configuration")]
    UnknownTill(String),
    /// The database could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

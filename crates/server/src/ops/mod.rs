//! The operator's tools: moving MobilePay PoS beacons over ([`migrate`]), putting stickers up and
//! taking them down ([`qr`]), the printable sticker sheet ([`stickers`]), the webhook registrations
//! ([`webhooks`]), pairing codes ([`pairing`]), open-amount stickers switched off and on
//! ([`sticker_switch`]) and the PoS systems using the terminal API
//! ([`integrators`]). They work on the runtime's store and platform
//! clients; nothing in the runtime depends on them.
//!
//! What they work with, [`Tools`], is the configuration, the database and one platform client
//! per store, as `kasse-server qr …` and `kasse-server webhooks sync` open them, or borrowed from
//! a running server ([`crate::Running::tools`]) by tests.
//!
//! The tools act on the platform the configuration names, so they refuse the simulator built into
//! `serve`: it lives inside that process and forgets everything when it stops. A `kasse-sim` running
//! on its own (`[platform] base_url`) is fine, and so are the test and production platforms.

pub mod doctor;
pub mod integrators;
pub mod loyalty;
pub mod managers;
pub mod migrate;
pub mod pairing;
pub mod qr;
pub mod sticker_switch;
pub mod stickers;
pub mod stores_import;
pub mod webhooks;

use std::sync::Arc;

use kasse_vipps::Client;
use url::Url;

use crate::config::{Config, ConfigProblem, Provider, StoreConfig};
use crate::platform::{Platform, PlatformError};
use crate::routes::webhooks as endpoint;
use crate::store::{Store, StoreError};

/// Why the tools could not start.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    /// The configuration has mistakes (`check-config` lists them too).
    #[error("the configuration has problems:\n  - {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - "))]
    Config(Vec<ConfigProblem>),
    /// The configuration runs the simulator inside `serve`, which the tools cannot reach.
    #[error(
        "the configuration uses the simulator built into `kasse-server serve`, which lives inside \
         that process and forgets everything when it stops; run a kasse-sim on its own and set \
         [platform] base_url to it (with credentials per store), or use provider \"test\" or \
         \"production\""
    )]
    BuiltInSimulator,
    /// No address is known at which the platform and customers reach the server.
    #[error(
        "public_url is not set (in [server], or KASSE_PUBLIC_URL) and the listen address has no \
         fixed port: the tools need the address the platform delivers webhooks to and stickers \
         lead to"
    )]
    NoPublicUrl,
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The platform clients could not be made.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// The configuration, the database, the platform clients and the server's public address.
#[derive(Clone)]
pub struct Tools {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) platform: Arc<Platform>,
    pub(crate) public_url: Url,
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tools").field("public_url", &self.public_url.as_str()).finish_non_exhaustive()
    }
}

impl Tools {
    /// Opens what `config` names: its database (migrated) and its platform.
    pub async fn open(config: Config) -> Result<Self, ToolsError> {
        config.check().map_err(ToolsError::Config)?;
        if matches!(config.provider, Provider::Sim { .. }) {
            return Err(ToolsError::BuiltInSimulator);
        }
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            // What `serve` would default to, when the port is known before it listens.
            None if config.listen.port() != 0 => {
                Url::parse(&format!("http://{}/", config.listen)).map_err(|_| ToolsError::NoPublicUrl)?
            }
            None => return Err(ToolsError::NoPublicUrl),
        };
        let store = Store::open(&config.database_url).await?;
        let platform = Arc::new(Platform::connect(&config).await?);
        Ok(Self { config: Arc::new(config), store, platform, public_url })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the platform delivers webhooks: `{public_url}webhooks/vipps`.
    pub fn webhook_url(&self) -> Url {
        webhook_url(&self.public_url)
    }

    /// The landing page of a Merchant Redirect QR sticker: `{public_url}q/{id}`.
    pub fn landing_url(&self, sticker: &str) -> Url {
        landing_url(&self.public_url, sticker)
    }

    /// The store and its platform client for sales unit `msn`.
    pub(crate) fn unit(&self, msn: &str) -> Option<(&StoreConfig, Arc<Client>)> {
        let store = self.config.store_by_msn(msn)?;
        Some((store, self.platform.client(msn)?))
    }

    /// Every store with its platform client, in the configuration's order.
    pub(crate) fn units(&self) -> Vec<(&StoreConfig, Arc<Client>)> {
        self.config.stores.iter().filter_map(|s| Some((s, self.platform.client(&s.msn)?))).collect()
    }

    /// Retries so far of every platform client: the difference over a run is that run's.
    pub(crate) fn retried(&self) -> u64 {
        self.platform.clients().map(|(_, client)| client.retried()).sum()
    }
}

/// Where the platform delivers webhooks, below `public_url`.
pub(crate) fn webhook_url(public_url: &Url) -> Url {
    public_url.join(endpoint::PATH.trim_start_matches('/')).unwrap_or_else(|_| public_url.clone())
}

/// The landing page of sticker `id`, below `public_url` (the id is a QR id: nothing to escape).
fn landing_url(public_url: &Url, id: &str) -> Url {
    let mut url = public_url.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(["q", id]);
    }
    url
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};

    use super::*;

    #[tokio::test]
    async fn the_tools_refuse_the_simulator_built_into_serve() {
        let config =
            Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), PathBuf::from("dist"), Path::new("data"));
        assert!(matches!(Tools::open(config).await, Err(ToolsError::BuiltInSimulator)));
    }

    #[test]
    fn the_webhook_and_landing_urls_sit_below_the_public_url() {
        let base = Url::parse("https://kasse.example.no/shop/").unwrap();
        assert_eq!(webhook_url(&base).as_str(), "https://kasse.example.no/shop/webhooks/vipps");
        assert_eq!(landing_url(&base, "kasse-1").as_str(), "https://kasse.example.no/shop/q/kasse-1");
        let bare = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(landing_url(&bare, "demo").as_str(), "http://127.0.0.1:8080/q/demo");
    }
}

//! The server's configuration: where it listens, which platform it talks to, and the stores and
//! tills it serves.
//!
//! For now the demo configuration is built in (one store, one till, the simulator); the TOML file
//! with environment overrides comes with the server issue. Secrets live in `kasse_vipps::Secret`
//! so they can never be logged by accident.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kasse_api::Currency;
use url::Url;

/// Which platform the server talks to.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The built-in simulator, started inside the server on `listen` (port 0 picks a free one).
    Sim {
        /// Where the simulator listens.
        listen: SocketAddr,
    },
    /// A real platform (`https://apitest.vipps.no` or `https://api.vipps.no`); every store needs
    /// credentials.
    Platform {
        /// The API host.
        base_url: Url,
    },
}

/// When an approved payment is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapturePolicy {
    /// At once, the full amount (the default: a till sale is handed over on the spot).
    Automatic,
    /// When the cashier says so.
    Manual,
}

/// A store: one sales unit (MSN) at the platform.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Our id for it.
    pub id: String,
    /// Its name, as customers know it.
    pub name: String,
    /// The merchant serial number.
    pub msn: String,
    /// The currency it takes.
    pub currency: Currency,
    /// Its API credentials; `None` with the simulator, which makes its own.
    pub credentials: Option<kasse_vipps::Credentials>,
}

/// A till.
#[derive(Debug, Clone)]
pub struct TillConfig {
    /// Its id, used in URLs and payment references: lower-case letters, digits and `-`, at most
    /// 24 characters.
    pub id: String,
    /// What the cashier calls it.
    pub name: String,
    /// The id of its store.
    pub store: String,
    /// When approved payments are captured.
    pub capture: CapturePolicy,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the server listens.
    pub listen: SocketAddr,
    /// The URL browsers and the platform reach the server at; defaults to `http://{listen}`.
    pub public_url: Option<Url>,
    /// The built web app (Trunk's `dist`).
    pub dist: PathBuf,
    /// The database, e.g. `sqlite://data/kasse.db`.
    pub database_url: String,
    /// The platform.
    pub provider: Provider,
    /// The stores.
    pub stores: Vec<StoreConfig>,
    /// The tills.
    pub tills: Vec<TillConfig>,
    /// How far a webhook's `x-ms-date` may be from our clock.
    pub webhook_max_skew: Duration,
    /// How often the reconciler looks for work.
    pub reconcile_every: Duration,
}

/// A configuration mistake, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A till id would not fit in a payment reference.
    #[error("till id '{0}' must be 1 to 24 lower-case letters, digits or '-'")]
    BadTillId(String),
    /// A till names a store that does not exist.
    #[error("till '{till}' belongs to store '{store}', which is not configured")]
    UnknownStore {
        /// The till.
        till: String,
        /// The missing store.
        store: String,
    },
    /// A store has no credentials for a real platform.
    #[error("store '{0}' has no API credentials, which the real platform needs")]
    MissingCredentials(String),
    /// Two tills or stores share an id.
    #[error("the id '{0}' is used twice")]
    Duplicate(String),
}

impl Config {
    /// The demo: one Oslo coffee shop with one till, on the built-in simulator.
    pub fn demo(listen: SocketAddr, dist: PathBuf, data_dir: &std::path::Path) -> Self {
        Self {
            listen,
            public_url: None,
            dist,
            database_url: format!("sqlite://{}", data_dir.join("kasse.db").display()),
            provider: Provider::Sim { listen: SocketAddr::from(([127, 0, 0, 1], 0)) },
            stores: vec![StoreConfig {
                id: "grunerlokka".to_owned(),
                name: "Kaffebrenneriet Grünerløkka".to_owned(),
                msn: "123456".to_owned(),
                currency: Currency::Nok,
                credentials: None,
            }],
            tills: vec![TillConfig {
                id: "till-1".to_owned(),
                name: "Kasse 1".to_owned(),
                store: "grunerlokka".to_owned(),
                capture: CapturePolicy::Automatic,
            }],
            webhook_max_skew: Duration::from_mins(5),
            reconcile_every: Duration::from_secs(1),
        }
    }

    /// Finds every problem at once.
    pub fn check(&self) -> Result<(), Vec<ConfigError>> {
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for till in &self.tills {
            let valid = (1..=24).contains(&till.id.len())
                && till.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                problems.push(ConfigError::BadTillId(till.id.clone()));
            }
            if !self.stores.iter().any(|s| s.id == till.store) {
                problems.push(ConfigError::UnknownStore { till: till.id.clone(), store: till.store.clone() });
            }
            if !seen.insert(("till", till.id.clone())) {
                problems.push(ConfigError::Duplicate(till.id.clone()));
            }
        }
        for store in &self.stores {
            if !seen.insert(("store", store.id.clone())) {
                problems.push(ConfigError::Duplicate(store.id.clone()));
            }
            if matches!(self.provider, Provider::Platform { .. }) && store.credentials.is_none() {
                problems.push(ConfigError::MissingCredentials(store.id.clone()));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// The till with this id.
    pub fn till(&self, id: &str) -> Option<&TillConfig> {
        self.tills.iter().find(|t| t.id == id)
    }

    /// The store with this id.
    pub fn store(&self, id: &str) -> Option<&StoreConfig> {
        self.stores.iter().find(|s| s.id == id)
    }

    /// The store with this MSN.
    pub fn store_by_msn(&self, msn: &str) -> Option<&StoreConfig> {
        self.stores.iter().find(|s| s.msn == msn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Config {
        Config::demo(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            PathBuf::from("dist"),
            std::path::Path::new("data"),
        )
    }

    #[test]
    fn the_demo_configuration_is_valid() {
        assert_eq!(demo().check(), Ok(()));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut config = demo();
        config.tills[0].id = "Till 1".to_owned();
        config.tills[0].store = "nowhere".to_owned();
        config.provider = Provider::Platform { base_url: Url::parse("https://apitest.vipps.no").unwrap() };
        let problems = config.check().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.contains(&ConfigError::MissingCredentials("grunerlokka".to_owned())));
    }
}

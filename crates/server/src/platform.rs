//! The platform as the server sees it: one typed client per sales unit, and, in `sim` mode, the
//! simulator those clients talk to, started inside this process. The built-in simulator exists
//! only in builds with the `sim` feature (the default); a production build has none.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "sim")]
use kasse_sim::{SalesUnit, SimConfig, SimHandle};
#[cfg(feature = "sim")]
use kasse_vipps::Credentials;
use kasse_vipps::{Client, ClientConfig, RetryPolicy, SystemInfo};

use crate::config::{Config, Provider};

/// Why the platform could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The simulator could not listen.
    #[error("cannot start the simulator: {0}")]
    Simulator(std::io::Error),
    /// A client could not be built.
    #[error("cannot set up the platform client: {0}")]
    Client(#[from] kasse_vipps::Error),
    /// A store has no credentials.
    #[error("store '{0}' has no API credentials")]
    MissingCredentials(String),
    /// The built-in simulator was asked for in a build without it (the configuration check
    /// says so first).
    #[error("this kasse-server was built without the simulator (the `sim` feature)")]
    NoSimulator,
}

/// Clients per MSN, and the simulator if there is one.
pub struct Platform {
    clients: HashMap<String, Arc<Client>>,
    #[cfg(feature = "sim")]
    sim: Option<SimHandle>,
}

/// The `Vipps-System-*` headers kasse sends, from the build.
pub fn system_info() -> SystemInfo {
    SystemInfo {
        name: "kasse".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        plugin_name: "kasse-server".to_owned(),
        plugin_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Our currency in the platform's words.
pub fn to_vipps(currency: kasse_api::Currency) -> kasse_vipps::Currency {
    match currency {
        kasse_api::Currency::Nok => kasse_vipps::Currency::Nok,
        kasse_api::Currency::Dkk => kasse_vipps::Currency::Dkk,
        kasse_api::Currency::Eur => kasse_vipps::Currency::Eur,
    }
}

impl Platform {
    /// Connects to the configured platform, starting the simulator first in `sim` mode.
    #[cfg_attr(
        not(feature = "sim"),
        expect(clippy::unused_async, reason = "only starting the simulator waits")
    )]
    pub async fn connect(config: &Config) -> Result<Self, PlatformError> {
        #[cfg(feature = "sim")]
        let mut started = None;
        let (base_url, credentials) = match &config.provider {
            #[cfg(feature = "sim")]
            Provider::Sim { listen } => {
                let (sim, credentials) = start_simulator(config, *listen).await?;
                let base_url = sim.base_url().clone();
                started = Some(sim);
                (base_url, credentials)
            }
            #[cfg(not(feature = "sim"))]
            Provider::Sim { .. } => return Err(PlatformError::NoSimulator),
            Provider::Platform { base_url } => {
                let credentials = config
                    .stores
                    .iter()
                    .map(|s| {
                        s.credentials.clone().ok_or_else(|| PlatformError::MissingCredentials(s.id.clone()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                (base_url.clone(), credentials)
            }
        };
        let mut clients = HashMap::new();
        for credentials in credentials {
            let msn = credentials.msn.clone();
            let client = Client::new(ClientConfig {
                base_url: base_url.clone(),
                credentials,
                system: system_info(),
                timeout: Duration::from_secs(10),
                retry: RetryPolicy::default(),
            })?;
            clients.insert(msn, Arc::new(client));
        }
        Ok(Self {
            clients,
            #[cfg(feature = "sim")]
            sim: started,
        })
    }

    /// The client acting for `msn`.
    pub fn client(&self, msn: &str) -> Option<Arc<Client>> {
        self.clients.get(msn).cloned()
    }

    /// Every client, by MSN.
    pub fn clients(&self) -> impl Iterator<Item = (&String, &Arc<Client>)> {
        self.clients.iter()
    }

    /// The in-process simulator, in `sim` mode.
    #[cfg(feature = "sim")]
    pub fn sim(&self) -> Option<&SimHandle> {
        self.sim.as_ref()
    }
}

/// Starts the built-in simulator with a sales unit for every store; it and their credentials.
#[cfg(feature = "sim")]
async fn start_simulator(
    config: &Config,
    listen: std::net::SocketAddr,
) -> Result<(SimHandle, Vec<Credentials>), PlatformError> {
    let units: Vec<SalesUnit> =
        config.stores.iter().map(|s| SalesUnit::generated(&s.msn, &s.name, to_vipps(s.currency))).collect();
    let credentials = units
        .iter()
        .map(|u| Credentials {
            client_id: u.client_id.clone(),
            client_secret: u.client_secret.clone(),
            subscription_key: u.subscription_key.clone(),
            msn: u.msn.clone(),
        })
        .collect();
    let sim_config = SimConfig { sales_units: units, ..SimConfig::demo() };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(PlatformError::Simulator)?;
    let sim = kasse_sim::start(sim_config, listener).map_err(PlatformError::Simulator)?;
    Ok((sim, credentials))
}

//! The platform as the server sees it: one typed client per sales unit, and, in `sim` mode, the
//! simulator those clients talk to, started inside this process. The built-in simulator exists
//! only in builds with the `sim` feature (the default); a production build has none.
//!
//! It also keeps what the server learnt about the platform ([`health`]): whether each sales
//! unit's calls get through (every platform write and webhook sync tells it, and a probe asks
//! again while one does not, or every half minute), whether its webhooks are registered, and the
//! secrets its webhook deliveries are signed with, in memory so that verifying a delivery needs
//! no database read.

pub mod health;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

#[cfg(feature = "sim")]
use kasse_sim::{SalesUnit, SimConfig, SimHandle};
#[cfg(feature = "sim")]
use kasse_vipps::Credentials;
use kasse_vipps::{Client, ClientConfig, RetryPolicy, SystemInfo};
use tokio::sync::watch;
use url::Url;

use crate::config::{Config, Provider};
use crate::store::WebhookRegistration;
use health::Health;

/// How often a platform that answers is asked again whether it still does: an idle till hears
/// of an outage within about this long.
const PROBE_EVERY: Duration = Duration::from_secs(30);
/// While a sales unit cannot be reached it is asked again after about a second, then twice as
/// long each time, but never less often than this: the banner goes soon after the platform is back.
const PROBE_DOWN_AT_MOST: Duration = Duration::from_secs(15);
/// The reference the probe reads: it never exists, so a 404 says the platform let us in and
/// answered, which is all the probe wants to know.
const PROBE_REFERENCE: &str = "kasse-reachability-probe";
/// A delivery no secret in memory verifies makes us read the secrets again (another process's
/// `webhooks sync` may have changed them), at most this often, so forgeries cost no queries.
const SECRETS_RELOAD_EVERY: Duration = Duration::from_secs(10);

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

/// Clients per MSN, what is known of the platform's health, our webhook secrets, and the
/// simulator if there is one.
pub struct Platform {
    clients: HashMap<String, Arc<Client>>,
    health: Health,
    webhook_secrets: WebhookSecrets,
    #[cfg(feature = "sim")]
    sim: Option<SimHandle>,
}

/// One of our webhook registrations as a delivery is verified against it.
#[derive(Clone)]
pub struct KnownSecret {
    /// The sales unit.
    pub msn: String,
    /// The URL the platform delivers to (the signature covers its host and path).
    pub url: Url,
    /// The registration's secret.
    pub secret: String,
}

/// Our webhook registrations' secrets, held in memory: loaded at start, replaced whenever a sync
/// saves one, and read again from the database only when a delivery matches none of them (and
/// then at most every [`SECRETS_RELOAD_EVERY`]).
#[derive(Default)]
pub struct WebhookSecrets {
    known: RwLock<Arc<[KnownSecret]>>,
    reloaded_at: Mutex<Option<Instant>>,
}

impl WebhookSecrets {
    /// The secrets known now.
    pub fn known(&self) -> Arc<[KnownSecret]> {
        Arc::clone(&self.known.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces every secret with those of `registrations` (the database's).
    pub fn set(&self, registrations: &[WebhookRegistration]) {
        let known: Vec<KnownSecret> = registrations.iter().filter_map(known_secret).collect();
        *self.known.write().unwrap_or_else(PoisonError::into_inner) = known.into();
    }

    /// Takes in a registration just saved, replacing the sales unit's earlier one.
    pub fn remember(&self, registration: &WebhookRegistration) {
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        let mut updated: Vec<KnownSecret> =
            known.iter().filter(|k| k.msn != registration.msn).cloned().collect();
        updated.extend(known_secret(registration));
        *known = updated.into();
    }

    /// Whether the secrets may be read from the database again now; if so, counts this as the
    /// last time.
    pub fn may_reload(&self) -> bool {
        let mut at = self.reloaded_at.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if at.is_some_and(|at| now.duration_since(at) < SECRETS_RELOAD_EVERY) {
            return false;
        }
        *at = Some(now);
        true
    }
}

fn known_secret(registration: &WebhookRegistration) -> Option<KnownSecret> {
    let Ok(url) = Url::parse(&registration.url) else {
        tracing::warn!(msn = %registration.msn, url = %registration.url, "a saved webhook registration has an unreadable URL");
        return None;
    };
    Some(KnownSecret { msn: registration.msn.clone(), url, secret: registration.secret.clone() })
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
            health: Health::new(clients.keys().map(String::as_str)),
            clients,
            webhook_secrets: WebhookSecrets::default(),
            #[cfg(feature = "sim")]
            sim: started,
        })
    }

    /// What is known of the platform's health.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Our webhook registrations' secrets.
    pub fn webhook_secrets(&self) -> &WebhookSecrets {
        &self.webhook_secrets
    }

    /// Learns from the outcome of a call made for `msn` whether the platform can be reached.
    pub fn note<T>(&self, msn: &str, outcome: &Result<T, kasse_vipps::Error>) {
        let error = match outcome {
            Err(e) if health::is_outage(e) => Some(e.to_string()),
            // An answer, even a refusal, is the platform reached.
            Ok(_) | Err(_) => None,
        };
        self.health.note(msn, error.as_deref(), crate::now_ms());
    }

    /// Asks the platform whether it lets us in and answers for `msn`: an authenticated read
    /// (so an access token, fetched if the cached one has expired) of a payment that does not
    /// exist.
    pub async fn probe(&self, msn: &str) {
        let Some(client) = self.client(msn) else { return };
        let error = match client.get_payment(PROBE_REFERENCE).await {
            Ok(_) => None,
            Err(e) if matches!(e.status(), Some(404 | 429)) => None,
            Err(e) => Some(e.to_string()),
        };
        self.health.note(msn, error.as_deref(), crate::now_ms());
    }

    /// Probes the platform until `shutdown`: every [`PROBE_EVERY`] while it answers, and with
    /// a backoff from a second up to [`PROBE_DOWN_AT_MOST`] for the sales units it does not
    /// answer for (from the moment anything says so), so that their tills hear when it is back.
    pub async fn watch_forever(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.health.subscribe_reach();
        let mut failures = 0u32;
        loop {
            let down = self.health.unreachable();
            let wait = if down.is_empty() {
                PROBE_EVERY
            } else {
                health::backoff(failures, Duration::from_secs(1), PROBE_DOWN_AT_MOST)
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Something else learnt of a change: plan again from it.
                    changes.borrow_and_update();
                    failures = 0;
                    continue;
                }
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
            let down = self.health.unreachable();
            let to_probe: Vec<String> =
                if down.is_empty() { self.clients.keys().cloned().collect() } else { down };
            for msn in &to_probe {
                self.probe(msn).await;
            }
            // What the probes learnt is no news to this loop.
            changes.borrow_and_update();
            failures = if self.health.unreachable().is_empty() { 0 } else { failures.saturating_add(1) };
        }
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

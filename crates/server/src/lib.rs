//! kasse-server: the backend-for-frontend of kasse.
//!
//! It holds the merchant's platform credentials and makes every signed platform call; browsers
//! only ever talk to it. It serves the built web app, the till API under `/api` with live
//! server-sent events, and the one webhook endpoint; it records every payment intent before
//! sending it, and a reconciler finishes what a crash or a lost answer left open. With the `sim`
//! provider the platform simulator runs inside the same process, so everything works offline.

// The runtime: what serves tills, displays, sticker pages and the platform's webhooks.
pub mod config;
mod error;
mod inbox;
mod keyed_locks;
mod limits;
mod live;
pub mod local_day;
mod loyalty;
mod managers;
mod metrics;
mod pairing;
mod platform;
mod pos_v10;
mod routes;
mod sales;
mod serving;
mod signed_post;
mod store;
mod terminal;

// The operator's tools, on top of the runtime; the command line (`src/cli/`, in the binary)
// calls them.
pub mod ops;

use std::net::SocketAddr;
use std::sync::Arc;

#[cfg(feature = "sim")]
use kasse_sim::SimHandle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

pub use config::{
    CapturePolicy, Config, ConfigProblem, Provider, ProviderKind, StickerConfig, StoreConfig, TillConfig,
};
pub use ops::{Tools, ToolsError};
pub use routes::CSP;
pub use store::{CallbackQrKind, StoreError};

use live::Live;
use platform::Platform;
use platform::health::RegistrationOutcome;
use sales::Sales;
use store::Store;

/// A crash-safety test hook: with `KASSE_TEST_CRASH_AT=<point>` in its environment the process
/// aborts at that point, as if killed there. Without it (always, in real use) it does nothing.
/// Points: `after-record:<kind>` (a platform write is recorded, not sent) and `after-send:<kind>`
/// (the platform answered, the answer is not recorded), for kinds create, capture, cancel, refund;
/// `after-store:webhook` (a webhook is stored, not answered or worked on).
pub(crate) fn crash_point(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT.get_or_init(|| std::env::var("KASSE_TEST_CRASH_AT").ok()).as_deref() == Some(point) {
        eprintln!("kasse-server: crashing at {point} (KASSE_TEST_CRASH_AT)");
        std::process::abort();
    }
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Milliseconds since the Unix epoch: the one clock of the server.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration has mistakes.
    #[error("the configuration has problems:\n  - {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - "))]
    Config(Vec<config::ConfigProblem>),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The platform could not be set up.
    #[error(transparent)]
    Platform(#[from] platform::PlatformError),
    /// The HTTP client that asks merchants' loyalty systems could not be made.
    #[error("cannot make the loyalty lookups' HTTP client: {0}")]
    Loyalty(reqwest::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// What every request handler shares.
pub(crate) struct AppState {
    config: Arc<Config>,
    public_url: Url,
    store: Store,
    sales: Sales,
    live: Arc<Live>,
    inbox: Arc<inbox::Inbox>,
    shutdown: watch::Receiver<bool>,
    /// Pairing attempts per client address: a code cannot be guessed by trying.
    pairing_attempts: limits::SharedLimiter,
    /// Managers' PINs typed at a till, per till and per store: tills cannot be used to guess them.
    till_pin_attempts: limits::SharedLimiter,
    /// The landing page's limits.
    landing_limits: routes::LandingLimits,
    /// Counters for `/metrics`.
    metrics: Arc<metrics::Metrics>,
    /// The platform clients, what is known of the platform's health, and our webhook secrets.
    platform: Arc<Platform>,
    /// MobilePay PoS v10 payments' sales: started, and moved to customers who check in.
    v10: pos_v10::Pairing,
    /// MobilePay PoS v10 points of sale's turns: one new payment at a time at each.
    v10_turns: pos_v10::PosTurns,
    /// The operator's tools on this server's own configuration, database and platform, for the
    /// back office's stickers.
    tools: Tools,
}

/// A running server.
pub struct Running {
    addr: SocketAddr,
    public_url: Url,
    config: Arc<Config>,
    platform: Arc<Platform>,
    store: Store,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<()>,
}

/// How long serving waits for the first round of webhook registrations: a server that starts
/// with its webhooks in place misses no delivery, but one whose platform does not answer must
/// serve its tills anyway.
const FIRST_REGISTRATION_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);
/// The first wait before registering webhooks again after a failure; it doubles each time...
const REGISTRATION_RETRY_FIRST: std::time::Duration = std::time::Duration::from_secs(1);
/// ...up to this.
const REGISTRATION_RETRY_AT_MOST: std::time::Duration = std::time::Duration::from_mins(5);

/// Starts the server: opens the store, connects to the platform (starting the simulator in `sim`
/// mode), starts registering webhooks where missing (retrying in the background while the
/// platform does not answer), the platform probe and the reconciler, and serves.
pub async fn start(config: Config) -> Result<Running, StartError> {
    config.check().map_err(StartError::Config)?;
    let store = Store::open_with(&config.database_url, config.statements_at_once).await?;
    tracing::info!(database = if store.postgres() { "postgresql" } else { "sqlite" }, "the store is open");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| Url::parse(&format!("http://{addr}/")).unwrap_or_else(|_| unreachable_url()));
    if !config.dist.join("index.html").exists() {
        tracing::warn!(dist = %config.dist.display(), "the web app is not built; `cargo xtask run` builds it");
    }

    let platform = Arc::new(Platform::connect(&config).await?);
    // Deliveries are verified against secrets in memory, with no query.
    platform.webhook_secrets().set(&store.webhook_registrations().await?);
    let config = Arc::new(config);
    let tools = Tools {
        config: Arc::clone(&config),
        store: store.clone(),
        platform: Arc::clone(&platform),
        public_url: public_url.clone(),
    };
    let (stop, shutdown) = watch::channel(false);
    let registering = tokio::spawn(register_webhooks_forever(tools.clone(), shutdown.clone()));
    let first_round = platform.health().until_registration_rounds(1);
    if tokio::time::timeout(FIRST_REGISTRATION_PATIENCE, first_round).await.is_err() {
        tracing::warn!("the platform has not answered yet; serving, and registering webhooks when it does");
    }
    // A sticker the configuration and the QR tools send to different tills rings neither.
    for conflict in sales::routing::conflicts(&config, &store).await? {
        tracing::error!("{conflict}");
    }

    let live = Arc::new(Live::new(store.clone()));
    tokio::spawn(Live::fan_out(Arc::downgrade(&live)));
    if tokio::time::timeout(std::time::Duration::from_secs(10), live.until_hearing_others()).await.is_err() {
        tracing::warn!(
            "cannot hear other instances' live events yet; serving, and listening when the database lets"
        );
    }
    let metrics = Arc::new(metrics::Metrics::default());
    let sales = Sales::new(sales::Parts {
        store: store.clone(),
        platform: Arc::clone(&platform),
        config: Arc::clone(&config),
        live: Arc::clone(&live),
        public_url: public_url.clone(),
        metrics: Arc::clone(&metrics),
        members: loyalty::Members::new().map_err(StartError::Loyalty)?,
    });
    let inbox = Arc::new(inbox::Inbox::default());
    let v10 = pos_v10::Pairing::new(store.clone(), sales.clone());

    let tasks = vec![
        registering,
        tokio::spawn(Arc::clone(&platform).watch_forever(shutdown.clone())),
        tokio::spawn(tell_tills_forever(
            Arc::clone(&platform),
            Arc::clone(&config),
            Arc::clone(&live),
            shutdown.clone(),
        )),
        tokio::spawn(inbox::process_forever(store.clone(), sales.clone(), Arc::clone(&inbox))),
        tokio::spawn(reconcile_forever(
            sales.clone(),
            config.reconcile_every,
            store.clone(),
            config.retention,
            Arc::clone(&metrics),
            shutdown.clone(),
        )),
        tokio::spawn(
            terminal::callbacks::Deliverer::new(store.clone()).run(sales.pos_changes(), shutdown.clone()),
        ),
        tokio::spawn(v10.clone().run(shutdown.clone())),
    ];
    let app = Arc::new(AppState {
        config: Arc::clone(&config),
        public_url: public_url.clone(),
        store: store.clone(),
        sales,
        live,
        inbox,
        shutdown: shutdown.clone(),
        pairing_attempts: limits::SharedLimiter::new("pairing", 10, 60_000, &store),
        till_pin_attempts: limits::SharedLimiter::new(
            "till-manager-pin",
            usize::try_from(managers::PIN_LIMIT.attempts).unwrap_or(5),
            managers::PIN_LIMIT.lock_ms,
            &store,
        ),
        landing_limits: routes::LandingLimits::new(config.limits.requests_per_number_per_day, &store),
        metrics,
        platform: Arc::clone(&platform),
        v10,
        v10_turns: pos_v10::PosTurns::new(store.clone()),
        tools,
    });
    let router = routes::router(&app).layer(tower_http::trace::TraceLayer::new_for_http());
    let server = tokio::spawn(serving::serve(listener, router, shutdown));
    tracing::info!(%addr, "kasse is serving");
    Ok(Running { addr, public_url, config, platform, store, stop, tasks, server })
}

fn unreachable_url() -> Url {
    // `http://{socket address}/` always parses; this only keeps `unwrap` out of the code.
    Url::parse("http://127.0.0.1/").unwrap_or_else(|_| unreachable!("a literal URL parses"))
}

/// Registers webhooks ([`register_webhooks`]) until every sales unit has them: again after a
/// failure, with a backoff from [`REGISTRATION_RETRY_FIRST`] doubling up to
/// [`REGISTRATION_RETRY_AT_MOST`], and at once when the platform answers again for a sales unit
/// still without them. Then checks them every `[server] webhooks_check_every_secs`, the same
/// way: a registration deleted at the platform (in the merchant portal, or by the platform after
/// two weeks of failed deliveries) is made again, where the tills were left to polling for good
/// and `/healthz` went on saying all was well; one another instance made since is taken up.
async fn register_webhooks_forever(tools: Tools, mut shutdown: watch::Receiver<bool>) {
    let mut reach = tools.platform.health().subscribe_reach();
    let mut failures = 0u32;
    loop {
        let pending = register_webhooks(&tools).await;
        if pending.is_empty() {
            failures = 0;
            tokio::select! {
                () = tokio::time::sleep(tools.config.webhooks_check_every) => continue,
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
        }
        let wait = platform::health::backoff(failures, REGISTRATION_RETRY_FIRST, REGISTRATION_RETRY_AT_MOST);
        failures = failures.saturating_add(1);
        // What this round itself learnt (the platform is down) is no reason to try again now.
        reach.borrow_and_update();
        let backoff = tokio::time::sleep(wait);
        tokio::pin!(backoff);
        let mut listening = true;
        loop {
            tokio::select! {
                () = &mut backoff => break,
                changed = reach.changed(), if listening => {
                    // Without a platform health to hear from, only the backoff is left.
                    listening = changed.is_ok();
                    let now = reach.borrow_and_update();
                    if listening && pending.iter().any(|msn| now.get(msn).is_some_and(|r| r.reachable)) {
                        break;
                    }
                }
                _ = shutdown.wait_for(|stopping| *stopping) => return,
            }
        }
    }
}

/// One round of making sure each sales unit has exactly one registration of ours, at our URL,
/// whose secret we hold (`kasse-server webhooks sync` does the same, with a report); each
/// failure is logged and kept for `/healthz`. Returns the sales units not known to have
/// theirs (missing, or not checked: tried again after a backoff).
async fn register_webhooks(tools: &Tools) -> Vec<String> {
    let report = ops::webhooks::sync(tools, ops::webhooks::Options::default()).await;
    let mut outcomes = Vec::with_capacity(report.units.len());
    for unit in &report.units {
        match &unit.error {
            Some(error) => {
                tracing::warn!(msn = %unit.msn, %error, "cannot register webhooks yet; trying again later");
            }
            None if unit.changed() => {
                tracing::info!(msn = %unit.msn, url = %report.url, removed = unit.removed.len(), "registered webhooks");
            }
            None => {}
        }
        let outcome = match &unit.error {
            None => RegistrationOutcome::Registered,
            Some(why) if unit.listed && unit.kept.is_none() => RegistrationOutcome::Missing(why.clone()),
            // Not listed (the platform or the database did not answer), or ours found and kept
            // while a stale one's deletion failed: not missing. What was known stands, and the
            // round is tried again.
            Some(why) => RegistrationOutcome::Unknown(why.clone()),
        };
        outcomes.push((unit.msn.clone(), outcome));
    }
    tools.platform.health().registration_round(&outcomes, now_ms());
    outcomes
        .into_iter()
        .filter(|(_, outcome)| *outcome != RegistrationOutcome::Registered)
        .map(|(msn, _)| msn)
        .collect()
}

/// Tells each till when the platform stops or starts answering for its store's sales unit (a
/// till's snapshot says so too; until told otherwise, it takes the platform to answer).
async fn tell_tills_forever(
    platform: Arc<Platform>,
    config: Arc<Config>,
    live: Arc<Live>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = platform.health().subscribe_reach();
    let mut told: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    loop {
        let now: Vec<(String, bool)> =
            changes.borrow_and_update().iter().map(|(msn, r)| (msn.clone(), r.reachable)).collect();
        for (msn, reachable) in now {
            if told.get(&msn).copied().unwrap_or(true) == reachable {
                continue;
            }
            told.insert(msn.clone(), reachable);
            let tills = config.tills.iter().filter(|t| config.store(&t.store).is_some_and(|s| s.msn == msn));
            for till in tills {
                let event = kasse_api::TillEvent::Platform { reachable };
                if let Err(e) = live.publish(&till.id, &event).await {
                    // A till that missed it learns it from its next snapshot.
                    tracing::error!(till = %till.id, error = %e, "could not tell a till about the platform");
                }
            }
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// The reconciler: resends recorded-but-unconfirmed writes, polls open payments and expires
/// check-ins (webhooks left unprocessed are found by the inbox's own sweeps, [`inbox`]). It also
/// prunes from `store` what is older than `retention`, at its first round and then at most once
/// an hour.
async fn reconcile_forever(
    sales: Sales,
    every: std::time::Duration,
    store: Store,
    retention: std::time::Duration,
    metrics: Arc<metrics::Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    /// How often old rows are pruned: the retention is days, so an hour late is nothing.
    const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_hours(1);
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut round = sales::Round::First;
    let mut next_prune = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let resent = sales.retry_pending(round).await;
        round = sales::Round::Later;
        let mut ok = true;
        if let Err(e) = resent {
            ok = false;
            tracing::error!(error = %e, "reconciler: resending failed");
        }
        if let Err(e) = sales.poll_due().await {
            ok = false;
            tracing::error!(error = %e, "reconciler: polling failed");
        }
        if let Err(e) = sales.expire_check_ins().await {
            ok = false;
            tracing::error!(error = %e, "reconciler: expiring check-ins failed");
        }
        metrics.reconciler_round(now_ms(), ok);
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
            prune(&store, retention_ms, now_ms()).await;
        }
    }
}

/// Deletes what is past its retention (`retention_ms` before `now`), and the rate-limited
/// attempts no window counts any more (a day old), which are kept no longer than that.
async fn prune(store: &Store, retention_ms: i64, now: i64) {
    match store.prune(now.saturating_sub(retention_ms)).await {
        Ok(pruned) if pruned.total() > 0 => tracing::info!(?pruned, "pruned what is past its retention"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "reconciler: pruning failed"),
    }
    match store.forget_rate_attempts(now.saturating_sub(limits::LONGEST_WINDOW_MS)).await {
        Ok(0) => {}
        Ok(forgotten) => tracing::info!(forgotten, "forgot rate-limited attempts out of every window"),
        Err(e) => tracing::error!(error = %e, "reconciler: forgetting old attempts failed"),
    }
}

impl Running {
    /// The socket the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's public URL, e.g. `http://127.0.0.1:8080/`.
    pub fn url(&self) -> &Url {
        &self.public_url
    }

    /// The in-process simulator, in `sim` mode.
    #[cfg(feature = "sim")]
    pub fn sim(&self) -> Option<&SimHandle> {
        self.platform.sim()
    }

    /// The simulated customers' phone page, when the built-in simulator runs.
    pub fn sim_phone_url(&self) -> Option<Url> {
        #[cfg(feature = "sim")]
        if let Some(sim) = self.sim() {
            return Some(sim.phone_url());
        }
        None
    }

    /// On the built-in simulator, puts up every sticker of the configuration: each till's
    /// callback sticker and every redirect sticker, as `kasse-server qr callback create` and `qr
    /// redirect create` do at a real platform. The built-in simulator forgets them when it
    /// stops, so `serve` does this at each start: the demo's phone page then has the stickers
    /// "nearby", and a newcomer can check in at the till. `None` on any other platform, which
    /// keeps what the operator put up.
    pub async fn put_up_stickers_on_simulator(
        &self,
    ) -> Option<Result<ops::qr::ChangeReport, ops::qr::QrError>> {
        self.sim_phone_url()?;
        let tools = self.tools();
        let callbacks = match ops::qr::create_callback_qrs(&tools, &[], None).await {
            Ok(report) => report,
            Err(e) => return Some(Err(e)),
        };
        Some(ops::qr::create_redirect_qrs(&tools, &[]).await.map(|redirects| ops::qr::ChangeReport {
            retries: callbacks.retries + redirects.retries,
            stickers: callbacks.stickers.into_iter().chain(redirects.stickers).collect(),
        }))
    }

    /// The operator's tools, on this server's configuration, database and platform clients.
    pub fn tools(&self) -> Tools {
        Tools {
            config: Arc::clone(&self.config),
            store: self.store.clone(),
            platform: Arc::clone(&self.platform),
            public_url: self.public_url.clone(),
        }
    }

    /// Every secret the server holds: platform credentials and webhook secrets. Tests use it to
    /// prove none of them ever reaches a browser.
    pub async fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = Vec::new();
        #[cfg(feature = "sim")]
        if let Some(sim) = self.sim() {
            secrets.extend(
                sim.config().sales_units.iter().flat_map(|u| {
                    [u.client_secret.expose().to_owned(), u.subscription_key.expose().to_owned()]
                }),
            );
        }
        if let Ok(registrations) = self.store.webhook_registrations().await {
            secrets.extend(registrations.into_iter().map(|r| r.secret));
        }
        secrets
    }

    /// Waits until every sales unit's webhooks are registered (at once if they are): after a
    /// start without the platform, registration goes on in the background.
    pub async fn until_webhooks_registered(&self) {
        self.platform.health().until_registered().await;
    }

    /// Closes the database at once, as a lost disk or database server would: every query fails
    /// from then on. Tests use it to show what the server still does, and says, without one.
    pub async fn close_database(&self) {
        self.store.close().await;
    }

    /// A one-time code that pairs a browser with `till` in `role` (what `kasse-server till pair`
    /// prints).
    pub async fn pairing_code(&self, till: &str, role: kasse_api::Role) -> Result<String, StartError> {
        Ok(pairing::create_code(&self.store, till, role, now_ms()).await?)
    }

    /// A one-time code that pairs a browser as the back office of the manager `name` (added for
    /// `store`, or every store, if there is none of that name): what `kasse-server manager pair`
    /// prints.
    pub async fn manager_pairing_code(
        &self,
        name: &str,
        store: Option<&str>,
    ) -> Result<String, ops::managers::ManagerError> {
        use ops::managers::ManagerError;
        let now = now_ms();
        let name = managers::read_name(name).ok_or(ManagerError::BadName)?;
        let manager = managers::for_pairing(&self.store, &name, store, now).await.map_err(|e| match e {
            managers::AddError::Store(e) => ManagerError::Store(e),
            managers::AddError::NameTaken => ManagerError::NameTaken(name.clone()),
        })?;
        Ok(pairing::create_code_for(&self.store, &pairing::Holder::Manager(manager.id), now).await?)
    }

    /// Stops serving (ending live streams) and waits for the server to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        for task in self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_prune_forgets_rate_limited_attempts_a_day_old_long_before_the_retention() {
        const HOUR: i64 = 3_600_000;
        let now = 1_800_000_000_000;
        // A look over three days (longer than any limit's), so what is kept shows.
        let looking = store::Window { scope: "landing-number-daily", max: 1, ms: 72 * HOUR };
        for store in store::testing::stores().await {
            store.rate_record("landing-number-daily", "+4791234567", now - 25 * HOUR).await.unwrap();
            store.rate_record("landing-number-daily", "+4798765432", now - HOUR).await.unwrap();
            prune(&store, 90 * 24 * HOUR, now).await;
            let left = |number| store.rate_attempt(looking, number, now, false);
            assert_eq!(left("+4791234567").await.unwrap(), Ok(()), "forgotten: no window counts it");
            assert!(left("+4798765432").await.unwrap().is_err(), "still in a day's window: kept");
        }
    }
}

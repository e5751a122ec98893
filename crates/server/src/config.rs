//! The server's configuration: where it listens, which platform it talks to, and the stores,
//! tills and stickers it serves.
//!
//! It comes from a TOML file with environment variables on top ([`Config::load`]; `kasse.example.toml`
//! at the repository root explains every field). Without a file the server runs that example,
//! which is the demo: one store, one till, the built-in simulator.
//!
//! Reading goes in two steps, each in its own module: `raw` turns the text into each table's
//! values as written, with the line each table starts on, and `judge` goes over those values once,
//! with the environment on top, saying everything wrong with them and building the [`Config`].
//! The rules a sound configuration follows are written once, in `rules`, which the judge applies
//! value by value and [`Config::check`] applies to a configuration made in code.
//!
//! Reading never stops at the first mistake: every problem comes back at once, each a sentence
//! ([`ConfigProblem`]) that names the table and field, so an operator fixes them in one go
//! (`kasse-server check-config`). Each mistake is said once, by the value it is about.
//!
//! Secrets never live in the file: a store names an environment variable or a file for each, and
//! the values are held as `kasse_vipps::Secret`, whose `Debug` and `Display` print `***`. The one
//! exception is the database's URL (`[database] url`), which may carry a PostgreSQL password: it
//! is best given in `KASSE_DATABASE_URL`, but a file may hold it, and wherever a URL is shown (a
//! problem, [`Config`]'s `Debug`) its password is `***` ([`redacted_database_url`]).

mod database;
mod judge;
mod problem;
mod raw;
#[cfg(test)]
mod reading_tests;
mod rules;
mod secrets;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kasse_api::Currency;
use url::Url;

pub use database::redacted_database_url;
pub use problem::{ConfigProblem, Table};
pub(crate) use secrets::default_variable;
pub use secrets::{SecretError, SecretSource, SecretSources};

/// `[server] retention_days` when the file does not say: a quarter.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;

/// Which platform the server talks to.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The built-in simulator, started inside the server on `listen` (port 0 picks a free one).
    Sim {
        /// Where the simulator listens.
        listen: SocketAddr,
    },
    /// A real platform (`https://apitest.vipps.no` or `https://api.vipps.no`), or a simulator
    /// running on its own; every store needs credentials.
    Platform {
        /// The API host.
        base_url: Url,
    },
}

/// Which platform a configuration names. It decides what [`Config::check`] demands: a real
/// platform needs an https public URL and a `client_id` per store, the simulator neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// The simulator: built in, or a `kasse-sim` on its own at `[platform] base_url`.
    Sim,
    /// The test platform ("MT"), `https://apitest.vipps.no`.
    Test,
    /// Production, `https://api.vipps.no`.
    Production,
}

impl ProviderKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Self; 3] = [Self::Sim, Self::Test, Self::Production];

    /// Its name in the configuration file and in `KASSE_PROVIDER`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Test => "test",
            Self::Production => "production",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The platform's API host; `None` for the simulator, which is wherever it was started.
    pub const fn api_host(self) -> Option<&'static str> {
        match self {
            Self::Sim => None,
            Self::Test => Some("https://apitest.vipps.no/"),
            Self::Production => Some("https://api.vipps.no/"),
        }
    }

    /// The platform's API host as a URL; `None` for the simulator.
    pub fn api_url(self) -> Option<Url> {
        self.api_host().and_then(|host| Url::parse(host).ok())
    }

    /// Whether this is a real platform: it delivers webhooks over the internet, only to https,
    /// and customers' phones open the landing pages from anywhere.
    pub const fn is_real(self) -> bool {
        !matches!(self, Self::Sim)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When an approved payment is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapturePolicy {
    /// At once, the full amount (the default: a till sale is handed over on the spot).
    Automatic,
    /// When the cashier says so.
    Manual,
}

impl CapturePolicy {
    /// Its name in the configuration file.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Automatic => "automatic",
            Self::Manual => "manual",
        }
    }

    /// The policy with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Automatic, Self::Manual].into_iter().find(|policy| policy.name() == name)
    }
}

/// A store: one sales unit (MSN) at the platform.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Our id for it: lower-case letters, digits and `-`, at most 32 characters.
    pub id: String,
    /// Its name, as customers know it.
    pub name: String,
    /// The merchant serial number.
    pub msn: String,
    /// The currency it takes.
    pub currency: Currency,
    /// Its API credentials; `None` with the built-in simulator, which makes its own.
    pub credentials: Option<kasse_vipps::Credentials>,
    /// Where its secrets came from, when they were read from the environment or files.
    pub secrets_from: Option<SecretSources>,
    /// The merchant's VAT number, e.g. `DK12345678`: a MobilePay PoS v10 integration picks the
    /// merchant by it (`X-MobilePay-Merchant-VAT-Number`).
    pub vat_number: Option<String>,
    /// Where it is, as v10 integrations read it.
    pub address: Address,
    /// Refunds of a sale from the back office that would come to more than this amount in all,
    /// in minor units, ask for the manager's PIN again; 0 (the default) asks for every one.
    pub refund_pin_above: i64,
    /// A till's refund of a sale from an earlier day (the store's day, see `local_day`) asks for
    /// the PIN of a manager of the store.
    pub earlier_day_refunds_need_manager: bool,
    /// Its loyalty programme, if it has one (README: "Loyalty").
    pub loyalty: Option<LoyaltyConfig>,
}

/// A store's loyalty programme: customers are asked in the app, at each payment, to share their
/// phone number with the store, and a shared one is looked up in the member list.
#[derive(Debug, Clone)]
pub struct LoyaltyConfig {
    /// Where members are looked up.
    pub members: MemberList,
    /// Norway only: a member whose phone number the cashier types is shown the app's loyalty
    /// check-in screen (the Check-in API).
    pub check_in_screen: bool,
}

/// Where a store's members are looked up.
#[derive(Debug, Clone)]
pub enum MemberList {
    /// A CSV file the merchant keeps: a header line, then `phone_number,name` per member. It is
    /// read at each lookup, so a change counts at once.
    File(PathBuf),
    /// The merchant's loyalty system: kasse posts `{"phoneNumber": …, "store": …}`, signed as the
    /// platform signs its webhooks, and it answers `{"member": true|false, "name": …}`.
    Callback {
        /// Where to post.
        url: Url,
        /// The signing key.
        secret: kasse_vipps::Secret,
    },
}

/// A store's address; each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Street and number.
    pub street: Option<String>,
    /// Postal code.
    pub zip_code: Option<String>,
    /// City.
    pub city: Option<String>,
}

/// A till.
#[derive(Debug, Clone)]
pub struct TillConfig {
    /// Its id, used in URLs and payment references: lower-case letters, digits and `-`, at most
    /// 24 characters.
    pub id: String,
    /// What the cashier calls it; also the location the app shows when its callback QR is
    /// scanned, so at most 36 characters.
    pub name: String,
    /// The id of its store.
    pub store: String,
    /// When approved payments are captured.
    pub capture: CapturePolicy,
    /// The `merchantQrId` of its callback sticker (a migrated MobilePay beacon id, or a new
    /// callback QR): a customer's check-in there reaches this till.
    pub callback_qr: Option<String>,
    /// The id of its Merchant Redirect QR sticker, whose landing page pays what the till presents.
    pub redirect_sticker: Option<String>,
    /// Whether a check-in at its callback sticker charges the presented amount at once.
    pub charge_on_check_in: bool,
}

/// A Merchant Redirect QR sticker that is not a till's: the customer types the amount (donations,
/// parking, vending), within bounds.
#[derive(Debug, Clone)]
pub struct StickerConfig {
    /// Its id (the redirect QR's id, and the `/q/{id}` of its landing page).
    pub id: String,
    /// The id of its store.
    pub store: String,
    /// What the payment is for, shown to the customer and on the payment.
    pub description: String,
    /// The smallest amount the customer may pay, in minor units.
    pub min: i64,
    /// The largest amount the customer may pay, in minor units.
    pub max: i64,
}

/// How long a paired till's or display's session lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session not used for this long ends (`[sessions] idle_hours`).
    pub idle: Duration,
    /// A session ends this long after pairing, however much it is used (`[sessions] max_days`).
    pub lifetime: Duration,
}

impl SessionPolicy {
    /// A manager's: half an hour unused, or twelve hours in all, as a back office left open on a
    /// shared tablet should not outlast the shift.
    pub const MANAGER: Self = Self { idle: Duration::from_mins(30), lifetime: Duration::from_hours(12) };

    /// The idle time in milliseconds, as the store counts time.
    pub fn idle_ms(self) -> i64 {
        i64::try_from(self.idle.as_millis()).unwrap_or(i64::MAX)
    }

    /// The lifetime in milliseconds, as the store counts time.
    pub fn lifetime_ms(self) -> i64 {
        i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX)
    }

    /// When a session paired at `created_at` ends however much it is used.
    pub fn ends_at(self, created_at: i64) -> i64 {
        created_at.saturating_add(self.lifetime_ms())
    }

    /// Whether a session paired at `created_at` and last used at `last_seen_at` (not revoked)
    /// is live at `now`.
    pub fn is_live(self, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        now < self.ends_at(created_at) && now < last_seen_at.saturating_add(self.idle_ms())
    }

    /// The longer of two policies in each part: what a query for sessions either may keep
    /// alive must cover.
    #[must_use]
    pub fn widest(self, other: Self) -> Self {
        Self { idle: self.idle.max(other.idle), lifetime: self.lifetime.max(other.lifetime) }
    }
}

impl Default for SessionPolicy {
    /// A week unused, or a month in all: a till used every day is paired again once a month.
    fn default() -> Self {
        Self { idle: Duration::from_hours(7 * 24), lifetime: Duration::from_hours(30 * 24) }
    }
}

/// Caps that keep the server's work bounded whatever the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Live event streams open at once for one till (its till screens and displays).
    pub streams_per_till: usize,
    /// Live event streams open at once for one landing-page payment.
    pub streams_per_payment: usize,
    /// Live event streams open at once for one sticker: landing pages waiting for what it offers.
    pub streams_per_sticker: usize,
    /// Live event streams open at once in all.
    pub streams_total: usize,
    /// Payment requests one phone number may be sent from the landing pages in a day.
    pub requests_per_number_per_day: u32,
}

impl Limits {
    /// Live event streams the landing pages, which anyone may open, may hold in all: three
    /// quarters of [`Limits::streams_total`], so that however many a stranger opens, the last
    /// quarter is left for the tills and displays, whose reconnects would otherwise be refused.
    pub const fn public_streams(&self) -> usize {
        self.streams_total - self.streams_total / 4
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            streams_per_till: 8,
            streams_per_payment: 4,
            streams_per_sticker: 32,
            streams_total: 1000,
            requests_per_number_per_day: 10,
        }
    }
}

/// Everything the server needs to start. Its `Debug` shows the database URL without its
/// password.
#[derive(Clone)]
pub struct Config {
    /// Where the server listens.
    pub listen: SocketAddr,
    /// The URL browsers and the platform reach the server at; defaults to `http://{listen}`.
    pub public_url: Option<Url>,
    /// The reverse proxies in front of the server: only a request from one of these networks
    /// may say, in `Forwarded` or `X-Forwarded-For`, which client it came from.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The built web app (Trunk's `dist`).
    pub dist: PathBuf,
    /// The database (`[database] url`): SQLite, e.g. `sqlite://data/kasse.db`, or PostgreSQL,
    /// `postgres://…` or `postgresql://…`. It may hold a password: show it only through
    /// [`redacted_database_url`].
    pub database_url: String,
    /// On PostgreSQL, how many of this instance's statements may run at once, other than the
    /// platform's webhooks, which never wait for them (`[database] statements_at_once`). Several
    /// instances on one database add theirs up. SQLite runs one at a time whatever it says.
    pub statements_at_once: u32,
    /// The platform.
    pub provider: Provider,
    /// Which platform that is: the simulator, test or production.
    pub provider_kind: ProviderKind,
    /// The stores.
    pub stores: Vec<StoreConfig>,
    /// The tills.
    pub tills: Vec<TillConfig>,
    /// Open-amount stickers.
    pub stickers: Vec<StickerConfig>,
    /// How far a webhook's `x-ms-date` may be from our clock.
    pub webhook_max_skew: Duration,
    /// How often the reconciler looks for work.
    pub reconcile_every: Duration,
    /// How often, once registered, each sales unit's webhook registration is checked at the
    /// platform (and made again if it is gone).
    pub webhooks_check_every: Duration,
    /// How long paired sessions of tills and displays last.
    pub sessions: SessionPolicy,
    /// How long managers' sessions last (`[sessions] manager_idle_minutes`, `manager_max_hours`).
    pub manager_sessions: SessionPolicy,
    /// Caps on streams and payment requests.
    pub limits: Limits,
    /// How long the webhook inbox, till events, ended sessions and landing tokens are kept
    /// (payments and their event logs are kept for good).
    pub retention: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("dist", &self.dist)
            .field("database_url", &redacted_database_url(&self.database_url))
            .field("statements_at_once", &self.statements_at_once)
            .field("provider", &self.provider)
            .field("provider_kind", &self.provider_kind)
            .field("stores", &self.stores)
            .field("tills", &self.tills)
            .field("stickers", &self.stickers)
            .field("webhook_max_skew", &self.webhook_max_skew)
            .field("reconcile_every", &self.reconcile_every)
            .field("webhooks_check_every", &self.webhooks_check_every)
            .field("sessions", &self.sessions)
            .field("manager_sessions", &self.manager_sessions)
            .field("limits", &self.limits)
            .field("retention", &self.retention)
            .finish()
    }
}

/// Reads a variable from the process environment: what the server passes to [`Config::load`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// The demo: one Oslo coffee shop with one till and a donations sticker, on the built-in
    /// simulator. `kasse.example.toml` is the same set-up as a file (a test keeps them equal).
    pub fn demo(listen: SocketAddr, dist: PathBuf, data_dir: &Path) -> Self {
        Self {
            listen,
            public_url: None,
            trusted_proxies: Vec::new(),
            dist,
            database_url: format!("sqlite://{}", data_dir.join("kasse.db").display()),
            statements_at_once: crate::store::STATEMENTS_AT_ONCE,
            provider: Provider::Sim { listen: SocketAddr::from(([127, 0, 0, 1], 0)) },
            provider_kind: ProviderKind::Sim,
            stores: vec![StoreConfig {
                id: "grunerlokka".to_owned(),
                name: "Kaffebrenneriet Grünerløkka".to_owned(),
                msn: "123456".to_owned(),
                currency: Currency::Nok,
                credentials: None,
                secrets_from: None,
                vat_number: Some("NO987654321".to_owned()),
                address: Address {
                    street: Some("Thorvald Meyers gate 48".to_owned()),
                    zip_code: Some("0555".to_owned()),
                    city: Some("Oslo".to_owned()),
                },
                refund_pin_above: 0,
                earlier_day_refunds_need_manager: false,
                loyalty: None,
            }],
            tills: vec![TillConfig {
                id: "till-1".to_owned(),
                name: "Kasse 1".to_owned(),
                store: "grunerlokka".to_owned(),
                capture: CapturePolicy::Automatic,
                callback_qr: Some("till-1".to_owned()),
                redirect_sticker: Some("demo".to_owned()),
                charge_on_check_in: false,
            }],
            stickers: vec![StickerConfig {
                id: "donations".to_owned(),
                store: "grunerlokka".to_owned(),
                description: "Donation to the coffee fund".to_owned(),
                min: 1_000,
                max: 100_000,
            }],
            webhook_max_skew: Duration::from_mins(5),
            reconcile_every: Duration::from_secs(1),
            webhooks_check_every: Duration::from_mins(10),
            sessions: SessionPolicy::default(),
            manager_sessions: SessionPolicy::MANAGER,
            limits: Limits::default(),
            retention: Duration::from_hours(DEFAULT_RETENTION_DAYS * 24),
        }
    }

    /// Reads the configuration file at `path` with the environment `env` on top (see
    /// `kasse.example.toml` for the format and README.md for the variables); without a path, the
    /// demo (that same example file, built in) with the environment on top. Finds every problem
    /// at once.
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    vec![ConfigProblem::Unreadable { file: path.to_owned(), reason: e.to_string() }]
                })?;
                Self::from_toml(&text, path, env)
            }
            None => Self::from_toml(raw::EXAMPLE, Path::new(raw::EXAMPLE_NAME), env),
        }
    }

    /// Reads a configuration from TOML text; `file` names it in problems.
    pub fn from_toml(
        text: &str,
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let raw = raw::read(text, file).map_err(|problem| vec![problem])?;
        judge::judge(raw, file, env)
    }

    /// One line for logs and `check-config`: "2 stores, 3 tills, 1 sticker, provider test
    /// (https://apitest.vipps.no/)". It names no secret.
    pub fn summary(&self) -> String {
        let platform = match (&self.provider, self.provider_kind) {
            (Provider::Sim { .. }, _) => "built into the server".to_owned(),
            (Provider::Platform { base_url }, ProviderKind::Sim) => format!("kasse-sim at {base_url}"),
            (Provider::Platform { base_url }, _) => base_url.to_string(),
        };
        format!(
            "{}, {}, {}, provider {} ({platform})",
            count(self.stores.len(), "store"),
            count(self.tills.len(), "till"),
            count(self.stickers.len(), "sticker"),
            self.provider_kind,
        )
    }

    /// The till with this id.
    pub fn till(&self, id: &str) -> Option<&TillConfig> {
        self.tills.iter().find(|t| t.id == id)
    }

    /// The open-amount sticker with this id.
    pub fn sticker(&self, id: &str) -> Option<&StickerConfig> {
        self.stickers.iter().find(|s| s.id == id)
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

/// "1 till", "2 tills".
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_platforms_have_their_api_hosts_and_the_simulator_has_none() {
        let hosts = ProviderKind::ALL.map(|kind| kind.api_url().map(String::from));
        assert_eq!(
            hosts,
            [None, Some("https://apitest.vipps.no/".to_owned()), Some("https://api.vipps.no/".to_owned())]
        );
        assert_eq!(
            ProviderKind::ALL.map(|kind| ProviderKind::from_name(kind.name())),
            ProviderKind::ALL.map(Some)
        );
    }
}

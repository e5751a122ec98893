//! The server's configuration: where it listens, which platform it talks to, and the stores,
//! tills and stickers it serves.
//!
//! It comes from a TOML file with environment variables on top ([`Config::load`]; the file format
//! and the reading live in the private `file` module, and `kasse.example.toml` at the repository
//! root explains every field). Without a file the server runs that example, which is the demo:
//! one store, one till, the built-in simulator.
//!
//! Reading never stops at the first mistake: every problem comes back at once, each a sentence
//! that names the table and field, so an operator fixes them in one go (`kasse-server
//! check-config`). [`Config::check`] judges a configuration however it was made; reading a file
//! adds what only the file can get wrong (syntax, unknown fields, secrets that cannot be read).
//!
//! Secrets never live in the file: a store names an environment variable or a file for each, and
//! the values are held as `kasse_vipps::Secret`, whose `Debug` and `Display` print `***`.

mod file;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kasse_api::{Currency, MAX_PAYMENT_MINOR};
use url::Url;

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

/// Where a secret comes from. This, never the value, is what logs and `check-config` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file whose content, without its trailing newline, is the secret.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "the environment variable {name}"),
            Self::File(path) => write!(f, "the file {}", path.display()),
        }
    }
}

/// Why a secret could not be read. It never holds the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set.
    #[error("is not set")]
    Unset,
    /// The variable or file holds nothing.
    #[error("is empty")]
    Empty,
    /// The file could not be read.
    #[error("cannot be read ({0})")]
    Unreadable(String),
}

/// Where a store's two secrets came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSources {
    /// Where `client_secret` came from.
    pub client_secret: SecretSource,
    /// Where the subscription key came from.
    pub subscription_key: SecretSource,
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
}

/// A table of the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// `[[stores]]`.
    Stores,
    /// `[[tills]]`.
    Tills,
    /// `[[stickers]]`.
    Stickers,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Stores => "[[stores]]",
            Self::Tills => "[[tills]]",
            Self::Stickers => "[[stickers]]",
        })
    }
}

/// A configuration mistake, as a sentence an operator can act on: it names the table and field
/// (and, for what only a file can get wrong, the file and line). None ever holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {}: {reason}", file.display())]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not TOML, or has a section kasse does not know.
    #[error("{}{}: {message}", file.display(), at_line_column(*at))]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The line and column (from 1) of the mistake, when known.
        at: Option<(usize, usize)>,
        /// What is wrong, in the TOML reader's words.
        message: String,
    },
    /// A table has an unknown field, a field of the wrong type, or misses a required field.
    #[error("{}, line {line}, {place}: {message}", file.display())]
    Shape {
        /// The file.
        file: PathBuf,
        /// The line (from 1) where the table starts.
        line: usize,
        /// The table, e.g. `[[stores]] "grunerlokka"`.
        place: String,
        /// What is wrong, in the TOML reader's words.
        message: String,
    },
    /// A setting's value cannot be used.
    #[error("{field} = {value:?} is not valid: {expected}")]
    Invalid {
        /// Where it was set: `[server] listen`, `KASSE_LISTEN`, `[[tills]] "till-1" capture`.
        field: String,
        /// The value as written.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A secret is written into the file.
    #[error(
        "[[stores]] {store:?}: {field} is written into the file, and anyone who can read the \
         file, its backups or its history can read it; keep the value in an environment variable \
         or a file and write {field} = {{ env = \"VARIABLE\" }} or {field} = {{ file = \"PATH\" }}"
    )]
    LiteralSecret {
        /// The store.
        store: String,
        /// `client_secret` or `subscription_key`.
        field: &'static str,
    },
    /// A secret names both or neither of `env` and `file`.
    #[error(
        "[[stores]] {store:?}: {field} must name exactly one place to read it from: \
         {field} = {{ env = \"VARIABLE\" }} or {field} = {{ file = \"PATH\" }}"
    )]
    SecretSourceUnclear {
        /// The store.
        store: String,
        /// `client_secret` or `subscription_key`.
        field: &'static str,
    },
    /// A secret's variable or file cannot be read.
    #[error("[[stores]] {store:?}: {field} comes from {from}{}, which {why}",
        if *defaulted { format!(" (the default, as the file names no {field})") } else { String::new() })]
    SecretUnavailable {
        /// The store.
        store: String,
        /// `client_secret` or `subscription_key`.
        field: &'static str,
        /// Where it was to come from.
        from: SecretSource,
        /// Whether that place is the default one, not named in the file.
        defaulted: bool,
        /// Why it could not be read.
        why: SecretError,
    },
    /// A table has no entries, which leaves the server nothing to serve.
    #[error("there are no {0}; add at least one")]
    Empty(Table),
    /// Two entries of a table share an id.
    #[error("{table} id {id:?} is used more than once; ids must be unique")]
    Duplicate {
        /// The table.
        table: Table,
        /// The id.
        id: String,
    },
    /// A store id that would not make a tidy environment variable name.
    #[error(
        "[[stores]] id {0:?} must be 1 to 32 lower-case letters, digits or '-' (it names the \
         store's default secret variables, KASSE_STORE_<ID>_…)"
    )]
    BadStoreId(String),
    /// A merchant serial number that is not one.
    #[error(
        "[[stores]] {store:?}: msn = {msn:?} is not a merchant serial number, which is 4 to 6 \
         digits (see the sales unit in the merchant portal)"
    )]
    BadMsn {
        /// The store.
        store: String,
        /// The MSN as written.
        msn: String,
    },
    /// Two stores name the same sales unit.
    #[error(
        "[[stores]] {first:?} and {second:?} both have msn = {msn:?}; a sales unit can be one \
         store only"
    )]
    DuplicateMsn {
        /// The sales unit.
        msn: String,
        /// The first store.
        first: String,
        /// The second store.
        second: String,
    },
    /// A store without a name.
    #[error("[[stores]] {0:?}: name is empty; write the name customers know the store by")]
    BlankStoreName(String),
    /// A store has no credentials for a platform that needs them.
    #[error("[[stores]] {0:?} has no API credentials, which the platform needs")]
    MissingCredentials(String),
    /// A store has no `client_id` for a platform that needs it.
    #[error(
        "[[stores]] {0:?} has no client_id, which the platform needs; copy it from the sales \
         unit's API keys in the merchant portal"
    )]
    MissingClientId(String),
    /// A till id would not fit in a payment reference.
    #[error(
        "[[tills]] id {0:?} must be 1 to 24 lower-case letters, digits or '-' (it goes into \
         payment references and URLs)"
    )]
    BadTillId(String),
    /// A till or sticker names a store that does not exist.
    #[error("{table} {id:?} belongs to store {store:?}, which is not among the [[stores]]")]
    UnknownStore {
        /// `[[tills]]` or `[[stickers]]`.
        table: Table,
        /// The till or sticker.
        id: String,
        /// The missing store.
        store: String,
    },
    /// A till name the app cannot show.
    #[error(
        "[[tills]] {till:?}: name = {name:?} must be 1 to 36 characters (the app shows it as the \
         location when a customer scans the till's callback QR)"
    )]
    BadTillName {
        /// The till.
        till: String,
        /// The name as written.
        name: String,
    },
    /// A sticker id a till refers to cannot be a QR id in a URL.
    #[error(
        "[[tills]] {till:?}: {field} = {id:?} must be 1 to 128 letters (a-z, A-Z), digits, '_' \
         or '-' (it is a QR id at the platform and part of a URL)"
    )]
    BadQrId {
        /// The till.
        till: String,
        /// `callback_qr` or `redirect_sticker`.
        field: &'static str,
        /// The id as written.
        id: String,
    },
    /// Two tills share a sticker, so a customer's scan could not tell which till they are at.
    #[error(
        "[[tills]] {first:?} and {second:?} both have {field} = {id:?}; each till needs its own \
         sticker, or a scan cannot tell which till the customer stands at"
    )]
    SharedQr {
        /// `callback_qr` or `redirect_sticker`.
        field: &'static str,
        /// The sticker.
        id: String,
        /// The first till.
        first: String,
        /// The second till.
        second: String,
    },
    /// A till's redirect sticker is also an open-amount sticker.
    #[error(
        "[[tills]] {till:?}: redirect_sticker = {id:?} is also the id of one of the [[stickers]]; \
         /q/{id} can lead to one of them only"
    )]
    RedirectIsSticker {
        /// The till.
        till: String,
        /// The sticker id.
        id: String,
    },
    /// A sticker id that is not a redirect QR id or not safe in its URL.
    #[error(
        "[[stickers]] id {0:?} must be 1 to 128 letters (a-z, A-Z), digits, '_' or '-' (it is the \
         redirect QR's id and the /q/{{id}} of its landing page)"
    )]
    BadStickerId(String),
    /// A sticker description the platform would refuse as a payment description.
    #[error(
        "[[stickers]] {sticker:?}: description = {description:?} must be 3 to 100 characters (it \
         is the payment's description in the app)"
    )]
    BadDescription {
        /// The sticker.
        sticker: String,
        /// The description as written.
        description: String,
    },
    /// A sticker allows less than the platform's smallest payment.
    #[error(
        "[[stickers]] {sticker:?}: min = {min} is below the platform's smallest {currency} \
         payment, {minimum} (amounts are in minor units: øre or cent)"
    )]
    MinBelowPlatform {
        /// The sticker.
        sticker: String,
        /// Its minimum.
        min: i64,
        /// Its store's currency.
        currency: Currency,
        /// The platform's minimum.
        minimum: i64,
    },
    /// A sticker allows more than the platform's largest payment.
    #[error(
        "[[stickers]] {sticker:?}: max = {max} is above the platform's largest payment, \
         {MAX_PAYMENT_MINOR} (amounts are in minor units: øre or cent)"
    )]
    MaxAbovePlatform {
        /// The sticker.
        sticker: String,
        /// Its maximum.
        max: i64,
    },
    /// A sticker's bounds are the wrong way round.
    #[error("[[stickers]] {sticker:?}: min = {min} is above max = {max}")]
    MinAboveMax {
        /// The sticker.
        sticker: String,
        /// Its minimum.
        min: i64,
        /// Its maximum.
        max: i64,
    },
    /// A real platform needs to know where to reach the server.
    #[error(
        "public_url (in [server], or KASSE_PUBLIC_URL) is required with provider {0}: the \
         platform delivers webhooks there and customers' phones open the sticker pages there, so \
         it must be an https:// address reachable from the internet"
    )]
    MissingPublicUrl(ProviderKind),
    /// A real platform delivers webhooks over https only.
    #[error(
        "public_url = \"{url}\" must start with https:// with provider {provider}: the platform \
         delivers webhooks to https addresses only"
    )]
    InsecurePublicUrl {
        /// The provider.
        provider: ProviderKind,
        /// The URL.
        url: Url,
    },
    /// A public URL that browsers could not use as a base.
    #[error("public_url = \"{0}\" must be an http:// or https:// address without a query or fragment")]
    BadPublicUrl(Url),
    /// A webhook clock-skew window that would reject every webhook or accept replays for long.
    #[error(
        "[server] webhook_max_skew_secs = {0} must be between 1 and 3600 (webhooks older than \
         this are refused as replays)"
    )]
    BadWebhookSkew(u64),
}

/// ", line L, column C" when the place is known.
fn at_line_column(at: Option<(usize, usize)>) -> String {
    at.map(|(line, column)| format!(", line {line}, column {column}")).unwrap_or_default()
}

/// Reads a variable from the process environment: what the server passes to [`Config::load`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// How long a webhook's `x-ms-date` may be off at most, in seconds.
const MAX_WEBHOOK_SKEW_SECS: u64 = 3600;

impl Config {
    /// The demo: one Oslo coffee shop with one till and a donations sticker, on the built-in
    /// simulator. `kasse.example.toml` is the same set-up as a file (a test keeps them equal).
    pub fn demo(listen: SocketAddr, dist: PathBuf, data_dir: &Path) -> Self {
        Self {
            listen,
            public_url: None,
            dist,
            database_url: format!("sqlite://{}", data_dir.join("kasse.db").display()),
            provider: Provider::Sim { listen: SocketAddr::from(([127, 0, 0, 1], 0)) },
            provider_kind: ProviderKind::Sim,
            stores: vec![StoreConfig {
                id: "grunerlokka".to_owned(),
                name: "Kaffebrenneriet Grünerløkka".to_owned(),
                msn: "123456".to_owned(),
                currency: Currency::Nok,
                credentials: None,
                secrets_from: None,
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
            None => Self::from_toml(file::EXAMPLE, Path::new(file::EXAMPLE_NAME), env),
        }
    }

    /// Reads a configuration from TOML text; `file` names it in problems.
    pub fn from_toml(
        text: &str,
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        file::read(text, file, env)
    }

    /// Finds every problem at once.
    pub fn check(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        self.check_server(&mut problems);
        self.check_stores(&mut problems);
        self.check_tills(&mut problems);
        self.check_stickers(&mut problems);
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    fn check_server(&self, problems: &mut Vec<ConfigProblem>) {
        match &self.public_url {
            None if self.provider_kind.is_real() => {
                problems.push(ConfigProblem::MissingPublicUrl(self.provider_kind));
            }
            Some(url)
                if !matches!(url.scheme(), "http" | "https")
                    || url.cannot_be_a_base()
                    || url.query().is_some()
                    || url.fragment().is_some() =>
            {
                problems.push(ConfigProblem::BadPublicUrl(url.clone()));
            }
            Some(url) if self.provider_kind.is_real() && url.scheme() != "https" => {
                problems.push(ConfigProblem::InsecurePublicUrl {
                    provider: self.provider_kind,
                    url: url.clone(),
                });
            }
            None | Some(_) => {}
        }
        let skew = self.webhook_max_skew.as_secs();
        if !(1..=MAX_WEBHOOK_SKEW_SECS).contains(&skew) {
            problems.push(ConfigProblem::BadWebhookSkew(skew));
        }
    }

    fn check_stores(&self, problems: &mut Vec<ConfigProblem>) {
        if self.stores.is_empty() {
            problems.push(ConfigProblem::Empty(Table::Stores));
        }
        for store in &self.stores {
            if !is_slug(&store.id, 32) {
                problems.push(ConfigProblem::BadStoreId(store.id.clone()));
            }
            if store.name.trim().is_empty() {
                problems.push(ConfigProblem::BlankStoreName(store.id.clone()));
            }
            if !is_msn(&store.msn) {
                problems.push(ConfigProblem::BadMsn { store: store.id.clone(), msn: store.msn.clone() });
            }
            // The built-in simulator makes its own credentials; anything else needs ours.
            if matches!(self.provider, Provider::Platform { .. }) {
                match &store.credentials {
                    None => problems.push(ConfigProblem::MissingCredentials(store.id.clone())),
                    Some(credentials) if credentials.client_id.trim().is_empty() => {
                        problems.push(ConfigProblem::MissingClientId(store.id.clone()));
                    }
                    Some(_) => {}
                }
            }
        }
        for id in repeated(self.stores.iter().map(|s| s.id.as_str())) {
            problems.push(ConfigProblem::Duplicate { table: Table::Stores, id: id.to_owned() });
        }
        for (msn, (first, second)) in repeated_by(self.stores.iter().map(|s| (s.msn.as_str(), s.id.as_str())))
        {
            problems.push(ConfigProblem::DuplicateMsn {
                msn: msn.to_owned(),
                first: first.to_owned(),
                second: second.to_owned(),
            });
        }
    }

    fn check_tills(&self, problems: &mut Vec<ConfigProblem>) {
        if self.tills.is_empty() {
            problems.push(ConfigProblem::Empty(Table::Tills));
        }
        for till in &self.tills {
            if !is_slug(&till.id, 24) {
                problems.push(ConfigProblem::BadTillId(till.id.clone()));
            }
            if !(1..=36).contains(&till.name.trim().chars().count()) {
                problems.push(ConfigProblem::BadTillName { till: till.id.clone(), name: till.name.clone() });
            }
            if self.store(&till.store).is_none() {
                problems.push(ConfigProblem::UnknownStore {
                    table: Table::Tills,
                    id: till.id.clone(),
                    store: till.store.clone(),
                });
            }
            for (field, id) in
                [("callback_qr", &till.callback_qr), ("redirect_sticker", &till.redirect_sticker)]
            {
                if let Some(id) = id.as_ref().filter(|id| !is_qr_id(id)) {
                    problems.push(ConfigProblem::BadQrId { till: till.id.clone(), field, id: id.clone() });
                }
            }
            if let Some(id) = &till.redirect_sticker
                && self.stickers.iter().any(|s| &s.id == id)
            {
                problems.push(ConfigProblem::RedirectIsSticker { till: till.id.clone(), id: id.clone() });
            }
        }
        for id in repeated(self.tills.iter().map(|t| t.id.as_str())) {
            problems.push(ConfigProblem::Duplicate { table: Table::Tills, id: id.to_owned() });
        }
        let callback_qrs = self.tills.iter().filter_map(|t| Some((t.callback_qr.as_deref()?, t.id.as_str())));
        let redirect_stickers =
            self.tills.iter().filter_map(|t| Some((t.redirect_sticker.as_deref()?, t.id.as_str())));
        for (field, shared) in
            [("callback_qr", repeated_by(callback_qrs)), ("redirect_sticker", repeated_by(redirect_stickers))]
        {
            for (id, (first, second)) in shared {
                problems.push(ConfigProblem::SharedQr {
                    field,
                    id: id.to_owned(),
                    first: first.to_owned(),
                    second: second.to_owned(),
                });
            }
        }
    }

    fn check_stickers(&self, problems: &mut Vec<ConfigProblem>) {
        for sticker in &self.stickers {
            if !is_qr_id(&sticker.id) {
                problems.push(ConfigProblem::BadStickerId(sticker.id.clone()));
            }
            if !(3..=100).contains(&sticker.description.trim().chars().count()) {
                problems.push(ConfigProblem::BadDescription {
                    sticker: sticker.id.clone(),
                    description: sticker.description.clone(),
                });
            }
            match self.store(&sticker.store) {
                None => problems.push(ConfigProblem::UnknownStore {
                    table: Table::Stickers,
                    id: sticker.id.clone(),
                    store: sticker.store.clone(),
                }),
                Some(store) if sticker.min < store.currency.minimum_payment() => {
                    problems.push(ConfigProblem::MinBelowPlatform {
                        sticker: sticker.id.clone(),
                        min: sticker.min,
                        currency: store.currency,
                        minimum: store.currency.minimum_payment(),
                    });
                }
                Some(_) => {}
            }
            if sticker.max > MAX_PAYMENT_MINOR {
                problems
                    .push(ConfigProblem::MaxAbovePlatform { sticker: sticker.id.clone(), max: sticker.max });
            }
            if sticker.min > sticker.max {
                problems.push(ConfigProblem::MinAboveMax {
                    sticker: sticker.id.clone(),
                    min: sticker.min,
                    max: sticker.max,
                });
            }
        }
        for id in repeated(self.stickers.iter().map(|s| s.id.as_str())) {
            problems.push(ConfigProblem::Duplicate { table: Table::Stickers, id: id.to_owned() });
        }
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

/// 1 to `max` lower-case ASCII letters, digits or `-`.
fn is_slug(id: &str, max: usize) -> bool {
    (1..=max).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A QR id we can put in a URL path as it is: the platform's redirect id pattern
/// (`^[-_+%æøåÆØÅ\w\s]*$`, 1 to 128 characters) narrowed to what needs no escaping.
fn is_qr_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The platform's MSN pattern, `^[0-9]{4,6}$`.
fn is_msn(msn: &str) -> bool {
    (4..=6).contains(&msn.len()) && msn.bytes().all(|b| b.is_ascii_digit())
}

/// The ids that occur more than once, each once, in order of their second occurrence.
fn repeated<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    repeated_by(ids.map(|id| (id, id))).into_iter().map(|(id, _)| id).collect()
}

/// The keys that occur more than once, each with the first two owners that share it, in order of
/// the second occurrence.
fn repeated_by<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, (&'a str, &'a str))> {
    let mut first_owner: HashMap<&str, &str> = HashMap::new();
    let mut found = Vec::new();
    for (key, owner) in pairs {
        match first_owner.get(key) {
            Some(first) if !found.iter().any(|(k, _)| *k == key) => found.push((key, (*first, owner))),
            Some(_) => {}
            None => {
                first_owner.insert(key, owner);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Config {
        Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), PathBuf::from("dist"), Path::new("data"))
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
        assert!(problems.contains(&ConfigProblem::MissingCredentials("grunerlokka".to_owned())));
    }

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

    #[test]
    fn a_real_platform_is_not_served_over_plain_http() {
        let mut config = demo();
        config.provider_kind = ProviderKind::Production;
        assert_eq!(config.check(), Err(vec![ConfigProblem::MissingPublicUrl(ProviderKind::Production)]));
        config.public_url = Some(Url::parse("http://kasse.example.no/").unwrap());
        assert!(matches!(config.check().unwrap_err().as_slice(), [ConfigProblem::InsecurePublicUrl { .. }]));
        config.public_url = Some(Url::parse("https://kasse.example.no/").unwrap());
        assert_eq!(config.check(), Ok(()));
    }

    #[test]
    fn ids_follow_the_platforms_patterns() {
        assert!(is_msn("1234") && is_msn("123456"));
        assert!(!is_msn("123") && !is_msn("1234567") && !is_msn("12a4"));
        assert!(
            is_slug("till-1", 24)
                && !is_slug("Till-1", 24)
                && !is_slug("", 24)
                && !is_slug(&"a".repeat(25), 24)
        );
        assert!(is_qr_id("billboard_1") && is_qr_id("27072f82-c4b6-49cd-9838-10f21d87496e"));
        assert!(!is_qr_id("has space") && !is_qr_id("a/b") && !is_qr_id("") && !is_qr_id(&"a".repeat(129)));
    }

    #[test]
    fn a_sticker_two_tills_share_is_named_once_with_both_tills() {
        let mut config = demo();
        let mut second = config.tills[0].clone();
        second.id = "till-2".to_owned();
        config.tills.extend([second.clone(), TillConfig { id: "till-3".to_owned(), ..second }]);
        let problems = config.check().unwrap_err();
        assert_eq!(
            problems,
            [
                ConfigProblem::SharedQr {
                    field: "callback_qr",
                    id: "till-1".to_owned(),
                    first: "till-1".to_owned(),
                    second: "till-2".to_owned(),
                },
                ConfigProblem::SharedQr {
                    field: "redirect_sticker",
                    id: "demo".to_owned(),
                    first: "till-1".to_owned(),
                    second: "till-2".to_owned(),
                },
            ]
        );
    }
}

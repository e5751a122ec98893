//! Judging a configuration file: one pass over its raw values, with the environment on top, that
//! says everything wrong with them and builds the [`Config`] they describe.
//!
//! Each value is judged once, where it is read: parsed (a listen address, a URL, a currency), held
//! to the rules of [`super::rules`], and turned into its typed form. What cannot be read is not
//! guessed at: a store whose table has the wrong shape still exists for the tills that name it,
//! and a sticker at a store whose currency is unknown is not held to some currency's minimum. So
//! every problem is said once, by the value it is about, and nothing afterwards has to take back
//! a complaint that followed from another.
//!
//! The order of the sentences follows the file: `[server]` and `[platform]`, then each store,
//! till and sticker, each table ending with what its entries may not share.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ipnet::IpNet;
use kasse_api::Currency;
use kasse_vipps::{Credentials, Secret};
use url::Url;

use super::raw::{
    Entry, RawDatabase, RawFile, RawLimits, RawPlatform, RawServer, RawSessions, RawSticker, RawStore,
    RawTill, SecretRef,
};
use super::rules::{self, StoreFound};
use super::secrets::{default_variable, read_secret};
use super::{
    Address, CapturePolicy, Config, ConfigProblem, DEFAULT_RETENTION_DAYS, Limits, Provider, ProviderKind,
    SecretSource, SecretSources, SessionPolicy, StickerConfig, StoreConfig, Table, TillConfig,
};

mod loyalty;

/// `[server] listen`.
const LISTEN: &str = "KASSE_LISTEN";
/// `[server] public_url`.
const PUBLIC_URL: &str = "KASSE_PUBLIC_URL";
/// `[server] dist`.
const DIST: &str = "KASSE_DIST";
/// `[database] url`.
const DATABASE_URL: &str = "KASSE_DATABASE_URL";
/// `[platform] provider`.
const PROVIDER: &str = "KASSE_PROVIDER";
/// `[platform] base_url`.
const PLATFORM_URL: &str = "KASSE_PLATFORM_URL";

/// `[database] url` when neither the environment nor the file says.
const DEFAULT_DATABASE_URL: &str = "sqlite://data/kasse.db";

/// `[server] webhook_max_skew_secs` when the file does not say.
const DEFAULT_WEBHOOK_SKEW_SECS: u64 = 300;

/// `[server] reconcile_every_secs` when the file does not say.
const DEFAULT_RECONCILE_EVERY_SECS: u64 = 1;
/// The longest `[server] reconcile_every_secs`: no more than this between the reconciler's rounds,
/// which send again what the platform did not answer and read back payments whose webhooks are late.
const MAX_RECONCILE_EVERY_SECS: u64 = 3_600;

/// `[server] webhooks_check_every_secs` when the file does not say: ten minutes.
const DEFAULT_WEBHOOKS_CHECK_EVERY_SECS: u64 = 600;
/// The shortest and longest `[server] webhooks_check_every_secs`: each check lists the
/// registrations of every sales unit at the platform, so not more often than every 10 s, and
/// never less often than daily (the platform deletes a registration whose deliveries failed for
/// two weeks).
const WEBHOOKS_CHECK_EVERY_SECS: std::ops::RangeInclusive<u64> = 10..=86_400;

/// Judges the tables of `raw` (read from `file`) with `env` on top: the configuration they
/// describe, or every problem with them.
pub(super) fn judge(
    raw: RawFile,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigProblem>> {
    let mut judge = Judge { file, env, problems: Vec::new() };
    let config = judge.config(raw);
    if judge.problems.is_empty() { Ok(config) } else { Err(judge.problems) }
}

/// The pass: what it needs to judge, and what it has found so far.
struct Judge<'a> {
    file: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<ConfigProblem>,
}

/// A setting as decided: from the environment when set there, else from the file.
struct Setting {
    /// Where it came from: the variable, or the table and field.
    field: &'static str,
    value: String,
}

/// The stores as the tills and stickers that name them see them.
#[derive(Default)]
struct Stores {
    /// Those that could be read.
    read: Vec<StoreConfig>,
    /// Ids of stores read whose currency is not one the platform takes (each was taken as NOK so
    /// that the rest of the store could be judged).
    unknown_currency: HashSet<String>,
    /// Ids of stores whose table could not be read: they exist, but nothing more is known.
    unread: HashSet<String>,
}

impl Stores {
    /// The store with this id, as far as it is known.
    fn find(&self, id: &str) -> StoreFound {
        match self.read.iter().find(|store| store.id == id) {
            Some(_) if self.unknown_currency.contains(id) => StoreFound::CurrencyUnknown,
            Some(store) => StoreFound::Taking(store.currency),
            None if self.unread.contains(id) => StoreFound::CurrencyUnknown,
            None => StoreFound::Nowhere,
        }
    }
}

impl Judge<'_> {
    fn config(&mut self, raw: RawFile) -> Config {
        let RawFile { server, database, platform, stores, tills, stickers, sessions, limits } = raw;
        // A `[server]` that cannot be read leaves public_url unknown, not missing.
        let server_unread = server.as_ref().is_some_and(|entry| entry.fields.is_err());
        let server: RawServer =
            server.and_then(|entry| self.fields(entry, "[server]".to_owned())).unwrap_or_default();
        let listen = self
            .setting(LISTEN, "[server] listen", server.listen)
            .and_then(|s| self.parse(s, "it must be an IP address and port, like 127.0.0.1:8080", parse_addr))
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = self
            .setting(PUBLIC_URL, "[server] public_url", server.public_url)
            .and_then(|s| self.parse(s, "it must be a URL, like https://kasse.example.no/", parse_url));
        let dist = self
            .setting(DIST, "[server] dist", server.dist)
            .map_or_else(|| "dist".into(), |s| s.value.into());
        let database: RawDatabase =
            database.and_then(|entry| self.fields(entry, "[database]".to_owned())).unwrap_or_default();
        let statements_at_once = self.statements_at_once(database.statements_at_once);
        let database_url = self.database_url(database, server.database);

        let platform: RawPlatform =
            platform.and_then(|entry| self.fields(entry, "[platform]".to_owned())).unwrap_or_default();
        let (provider, provider_kind) = self.provider(platform);

        if public_url.is_some() || !server_unread {
            rules::public_url(public_url.as_ref(), provider_kind, &mut self.problems);
        }
        let webhook_skew_secs = server.webhook_max_skew_secs.unwrap_or(DEFAULT_WEBHOOK_SKEW_SECS);
        rules::webhook_skew(webhook_skew_secs, &mut self.problems);
        let reconcile_every_secs = self.reconcile_every_secs(server.reconcile_every_secs);
        let webhooks_check_every_secs = self.webhooks_check_every_secs(server.webhooks_check_every_secs);
        let trusted_proxies = self.trusted_proxies(server.trusted_proxies.unwrap_or_default());
        let retention_days =
            self.count("[server] retention_days", server.retention_days, DEFAULT_RETENTION_DAYS);
        let (sessions, manager_sessions) = self.sessions(sessions);
        if Duration::from_hours(retention_days.saturating_mul(24)) < sessions.lifetime {
            // Pruning goes by age: a session younger than its lifetime may still be in use.
            self.problems.push(ConfigProblem::Invalid {
                field: "[server] retention_days".to_owned(),
                value: retention_days.to_string(),
                expected: "it must be at least [sessions] max_days, so no session is pruned while it may still be used",
            });
        }
        let limits = self.limits(limits);

        // The built-in simulator makes its own credentials; anything else needs ours.
        let needs_credentials = matches!(provider, Provider::Platform { .. });
        let stores = self.stores(stores, needs_credentials);
        let sticker_ids: HashSet<String> =
            stickers.iter().filter_map(|entry| entry.fields.as_ref().ok()).map(|s| s.id.clone()).collect();
        let tills = self.tills(tills, &stores, &sticker_ids);
        let stickers = self.stickers(stickers, &stores);
        Config {
            listen,
            public_url,
            dist,
            database_url,
            statements_at_once,
            provider,
            provider_kind,
            stores: stores.read,
            tills,
            stickers,
            webhook_max_skew: Duration::from_secs(webhook_skew_secs),
            reconcile_every: Duration::from_secs(reconcile_every_secs),
            webhooks_check_every: Duration::from_secs(webhooks_check_every_secs),
            trusted_proxies,
            sessions,
            manager_sessions,
            limits,
            retention: Duration::from_hours(retention_days.saturating_mul(24)),
        }
    }

    /// `[database] url`, or `[server] database` where the file is from before `[database]` and
    /// writes it there. That old place is still read, for one release, and accepted without a
    /// word (the configuration has no way to warn); `[database] url` wins when both are written,
    /// and the environment over both.
    fn database_url(&mut self, database: RawDatabase, old: Option<String>) -> String {
        let (field, written) = match (database.url, old) {
            (Some(url), _) => ("[database] url", Some(url)),
            (None, old) => ("[server] database", old),
        };
        self.setting(DATABASE_URL, field, written)
            .filter(|s| rules::database_url(s.field, &s.value, &mut self.problems))
            .map_or_else(|| DEFAULT_DATABASE_URL.to_owned(), |s| s.value)
    }

    /// `[server] trusted_proxies`: networks, or single addresses.
    fn trusted_proxies(&mut self, written: Vec<String>) -> Vec<IpNet> {
        written
            .into_iter()
            .filter_map(|value| {
                let setting = Setting { field: "[server] trusted_proxies", value };
                self.parse(
                    setting,
                    "it must be a network or an address, like 10.0.0.0/8 or ::1",
                    parse_network,
                )
            })
            .collect()
    }

    /// A count that must be at least 1; `default` when not written.
    fn count(&mut self, field: &'static str, written: Option<u64>, default: u64) -> u64 {
        match written {
            Some(0) => {
                self.problems.push(ConfigProblem::Invalid {
                    field: field.to_owned(),
                    value: "0".to_owned(),
                    expected: "it must be at least 1",
                });
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    /// `[server] reconcile_every_secs`: from 1 to [`MAX_RECONCILE_EVERY_SECS`].
    fn reconcile_every_secs(&mut self, written: Option<u64>) -> u64 {
        const FIELD: &str = "[server] reconcile_every_secs";
        let n = self.count(FIELD, written, DEFAULT_RECONCILE_EVERY_SECS);
        if n > MAX_RECONCILE_EVERY_SECS {
            self.problems.push(ConfigProblem::Invalid {
                field: FIELD.to_owned(),
                value: n.to_string(),
                expected: "it must be at most 3600, so that no more than an hour passes between the \
                           reconciler's rounds",
            });
            return DEFAULT_RECONCILE_EVERY_SECS;
        }
        n
    }

    /// `[server] webhooks_check_every_secs`: within [`WEBHOOKS_CHECK_EVERY_SECS`].
    fn webhooks_check_every_secs(&mut self, written: Option<u64>) -> u64 {
        const FIELD: &str = "[server] webhooks_check_every_secs";
        let n = written.unwrap_or(DEFAULT_WEBHOOKS_CHECK_EVERY_SECS);
        if !WEBHOOKS_CHECK_EVERY_SECS.contains(&n) {
            self.problems.push(ConfigProblem::Invalid {
                field: FIELD.to_owned(),
                value: n.to_string(),
                expected: "it must be from 10 to 86400: at least ten seconds between checks of the \
                           platform's webhook registrations, and at least one a day",
            });
            return DEFAULT_WEBHOOKS_CHECK_EVERY_SECS;
        }
        n
    }

    /// `[database] statements_at_once`: from 1 to the connections an instance keeps.
    fn statements_at_once(&mut self, written: Option<u64>) -> u32 {
        const FIELD: &str = "[database] statements_at_once";
        let default = u64::from(crate::store::STATEMENTS_AT_ONCE);
        let most = u64::from(crate::store::POSTGRES_CONNECTIONS);
        let n = self.count(FIELD, written, default);
        if n > most {
            self.problems.push(ConfigProblem::Invalid {
                field: FIELD.to_owned(),
                value: n.to_string(),
                expected: "it must be at most 16, the connections each instance keeps for its statements",
            });
            return crate::store::STATEMENTS_AT_ONCE;
        }
        u32::try_from(n).unwrap_or(crate::store::STATEMENTS_AT_ONCE)
    }

    /// `[sessions]`: the policy of tills' and displays' sessions, then of managers'.
    fn sessions(&mut self, entry: Option<Entry<RawSessions>>) -> (SessionPolicy, SessionPolicy) {
        let raw: RawSessions =
            entry.and_then(|entry| self.fields(entry, "[sessions]".to_owned())).unwrap_or_default();
        let default = SessionPolicy::default();
        let idle_hours = self.count("[sessions] idle_hours", raw.idle_hours, default.idle.as_secs() / 3600);
        let max_days = self.count("[sessions] max_days", raw.max_days, default.lifetime.as_secs() / 86_400);
        if idle_hours > max_days.saturating_mul(24) {
            self.problems.push(ConfigProblem::Invalid {
                field: "[sessions] idle_hours".to_owned(),
                value: idle_hours.to_string(),
                expected: "it must be no longer than max_days, which ends a session however much it is used",
            });
        }
        let manager = SessionPolicy::MANAGER;
        let manager_idle = self.count(
            "[sessions] manager_idle_minutes",
            raw.manager_idle_minutes,
            manager.idle.as_secs() / 60,
        );
        let manager_max_hours = self.count(
            "[sessions] manager_max_hours",
            raw.manager_max_hours,
            manager.lifetime.as_secs() / 3600,
        );
        if manager_idle > manager_max_hours.saturating_mul(60) {
            self.problems.push(ConfigProblem::Invalid {
                field: "[sessions] manager_idle_minutes".to_owned(),
                value: manager_idle.to_string(),
                expected: "it must be no longer than manager_max_hours, which ends a manager's session however much it is used",
            });
        }
        if manager_max_hours > max_days.saturating_mul(24) {
            // Pruning keeps sessions for max_days: a longer manager's session could be pruned live.
            self.problems.push(ConfigProblem::Invalid {
                field: "[sessions] manager_max_hours".to_owned(),
                value: manager_max_hours.to_string(),
                expected: "it must be no longer than max_days",
            });
        }
        let devices = SessionPolicy {
            idle: Duration::from_hours(idle_hours),
            lifetime: Duration::from_hours(max_days.saturating_mul(24)),
        };
        let managers = SessionPolicy {
            idle: Duration::from_mins(manager_idle),
            lifetime: Duration::from_hours(manager_max_hours),
        };
        (devices, managers)
    }

    /// `[limits]`.
    fn limits(&mut self, entry: Option<Entry<RawLimits>>) -> Limits {
        let raw: RawLimits =
            entry.and_then(|entry| self.fields(entry, "[limits]".to_owned())).unwrap_or_default();
        let default = Limits::default();
        let mut count = |field, written, default: usize| {
            usize::try_from(self.count(field, written, default as u64)).unwrap_or(usize::MAX)
        };
        let streams_per_till =
            count("[limits] streams_per_till", raw.streams_per_till, default.streams_per_till);
        let streams_per_payment =
            count("[limits] streams_per_payment", raw.streams_per_payment, default.streams_per_payment);
        let streams_per_sticker =
            count("[limits] streams_per_sticker", raw.streams_per_sticker, default.streams_per_sticker);
        let streams_total = count("[limits] streams_total", raw.streams_total, default.streams_total);
        let per_day = count(
            "[limits] requests_per_number_per_day",
            raw.requests_per_number_per_day,
            default.requests_per_number_per_day as usize,
        );
        Limits {
            streams_per_till,
            streams_per_payment,
            streams_per_sticker,
            streams_total,
            requests_per_number_per_day: u32::try_from(per_day).unwrap_or(u32::MAX),
        }
    }

    fn provider(&mut self, platform: RawPlatform) -> (Provider, ProviderKind) {
        let kind = self
            .setting(PROVIDER, "[platform] provider", platform.provider)
            .and_then(|s| self.parse(s, "it must be sim, test or production", ProviderKind::from_name))
            .unwrap_or(ProviderKind::Sim);
        let base_url = self
            .setting(PLATFORM_URL, "[platform] base_url", platform.base_url)
            .and_then(|s| self.parse(s, "it must be a URL, like http://127.0.0.1:9090/", parse_url));
        let provider = if let Some(base_url) = base_url.or_else(|| kind.api_url()) {
            Provider::Platform { base_url }
        } else {
            // Only the built-in simulator listens; elsewhere sim_listen means nothing.
            let listen = platform
                .sim_listen
                .map(|value| Setting { field: "[platform] sim_listen", value })
                .and_then(|s| {
                    self.parse(s, "it must be an IP address and port, like 127.0.0.1:0", parse_addr)
                })
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
            Provider::Sim { listen }
        };
        rules::provider(&provider, cfg!(feature = "sim"), &mut self.problems);
        rules::platform_url(&provider, kind, &mut self.problems);
        (provider, kind)
    }

    fn stores(&mut self, entries: Vec<Entry<RawStore>>, needs_credentials: bool) -> Stores {
        rules::not_empty(Table::Stores, entries.len(), &mut self.problems);
        let mut stores = Stores::default();
        for (n, entry) in numbered(entries) {
            let id = entry.id.clone();
            match self.entry(Table::Stores, n, entry) {
                Some(raw) => {
                    let (store, currency_known) = self.store(raw, needs_credentials);
                    if !currency_known {
                        stores.unknown_currency.insert(store.id.clone());
                    }
                    stores.read.push(store);
                }
                None => stores.unread.extend(id),
            }
        }
        rules::stores_together(&stores.read, &mut self.problems);
        stores
    }

    /// One store, and whether its currency is one the platform takes.
    fn store(&mut self, mut raw: RawStore, needs_credentials: bool) -> (StoreConfig, bool) {
        rules::store(&raw.id, &raw.name, &raw.msn, &mut self.problems);
        let currency = Currency::from_code(&raw.currency);
        if currency.is_none() {
            self.problems.push(ConfigProblem::Invalid {
                field: format!("[[stores]] {:?} currency", raw.id),
                value: raw.currency.clone(),
                expected: "the platform takes NOK, DKK or EUR",
            });
        }
        let callback_secret = raw.loyalty_callback_secret.take();
        let loyalty = self.loyalty(&raw, currency, callback_secret);
        let client_secret = self.secret(&raw.id, "client_secret", raw.client_secret, needs_credentials);
        let subscription_key =
            self.secret(&raw.id, "subscription_key", raw.subscription_key, needs_credentials);
        if raw.refund_pin_above < 0 {
            self.problems.push(ConfigProblem::Invalid {
                field: format!("[[stores]] {:?} refund_pin_above", raw.id),
                value: raw.refund_pin_above.to_string(),
                expected: "an amount in minor units, 0 or more",
            });
        }
        let client_id = raw.client_id.unwrap_or_default();
        if needs_credentials {
            rules::client_id(&raw.id, &client_id, &mut self.problems);
        }
        let (credentials, secrets_from) = client_secret
            .zip(subscription_key)
            .map(|((client_secret, client_secret_from), (subscription_key, subscription_key_from))| {
                let credentials =
                    Credentials { client_id, client_secret, subscription_key, msn: raw.msn.clone() };
                let from = SecretSources {
                    client_secret: client_secret_from,
                    subscription_key: subscription_key_from,
                };
                (credentials, from)
            })
            .unzip();
        let store = StoreConfig {
            id: raw.id,
            name: raw.name,
            msn: raw.msn,
            // Taken as NOK only so the store can be used while the rest is judged.
            currency: currency.unwrap_or(Currency::Nok),
            credentials,
            secrets_from,
            vat_number: raw.vat_number.map(|vat| vat.trim().to_ascii_uppercase()),
            address: Address { street: raw.street, zip_code: raw.zip_code, city: raw.city },
            refund_pin_above: raw.refund_pin_above.max(0),
            earlier_day_refunds_need_manager: raw.earlier_day_refunds_need_manager,
            loyalty,
        };
        (store, currency.is_some())
    }

    /// Says what is wrong with how the file names one of a store's secrets (a secret written into
    /// the file is refused even where it is unused), and reads it when `needed`.
    fn secret(
        &mut self,
        store: &str,
        field: &'static str,
        written: Option<SecretRef>,
        needed: bool,
    ) -> Option<(Secret, SecretSource)> {
        let (from, defaulted) = match written {
            None => (SecretSource::Env(default_variable(store, field)), true),
            Some(SecretRef::Named { env: Some(name), file: None }) => (SecretSource::Env(name), false),
            Some(SecretRef::Named { env: None, file: Some(path) }) => (SecretSource::File(path), false),
            Some(SecretRef::Named { .. }) => {
                self.problems.push(ConfigProblem::SecretSourceUnclear { store: store.to_owned(), field });
                return None;
            }
            Some(SecretRef::Written) => {
                self.problems.push(ConfigProblem::LiteralSecret { store: store.to_owned(), field });
                return None;
            }
        };
        if !needed {
            return None;
        }
        match read_secret(&from, self.env) {
            Ok(secret) => Some((secret, from)),
            Err(why) => {
                self.problems.push(ConfigProblem::SecretUnavailable {
                    store: store.to_owned(),
                    field,
                    from,
                    defaulted,
                    why,
                });
                None
            }
        }
    }

    fn tills(
        &mut self,
        entries: Vec<Entry<RawTill>>,
        stores: &Stores,
        sticker_ids: &HashSet<String>,
    ) -> Vec<TillConfig> {
        rules::not_empty(Table::Tills, entries.len(), &mut self.problems);
        let mut tills = Vec::new();
        for (n, entry) in numbered(entries) {
            let Some(raw) = self.entry(Table::Tills, n, entry) else { continue };
            let capture = match raw.capture {
                None => CapturePolicy::Automatic,
                Some(value) => CapturePolicy::from_name(&value).unwrap_or_else(|| {
                    self.problems.push(ConfigProblem::Invalid {
                        field: format!("[[tills]] {:?} capture", raw.id),
                        value,
                        expected: "it must be automatic or manual",
                    });
                    CapturePolicy::Automatic
                }),
            };
            let till = TillConfig {
                id: raw.id,
                name: raw.name,
                store: raw.store,
                capture,
                callback_qr: raw.callback_qr,
                redirect_sticker: raw.redirect_sticker,
                charge_on_check_in: raw.charge_on_check_in,
            };
            let store_exists = stores.find(&till.store).exists();
            rules::till(&till, store_exists, |id| sticker_ids.contains(id), &mut self.problems);
            tills.push(till);
        }
        rules::tills_together(&tills, &mut self.problems);
        tills
    }

    fn stickers(&mut self, entries: Vec<Entry<RawSticker>>, stores: &Stores) -> Vec<StickerConfig> {
        let mut stickers = Vec::new();
        for (n, entry) in numbered(entries) {
            let Some(raw) = self.entry(Table::Stickers, n, entry) else { continue };
            let sticker = StickerConfig {
                id: raw.id,
                store: raw.store,
                description: raw.description,
                min: raw.min,
                max: raw.max,
            };
            rules::sticker(&sticker, stores.find(&sticker.store), &mut self.problems);
            stickers.push(sticker);
        }
        rules::stickers_together(&stickers, &mut self.problems);
        stickers
    }

    /// The values of entry number `n` (from 1) of an array of tables, naming it by its id when it
    /// has one.
    fn entry<T>(&mut self, table: Table, n: usize, entry: Entry<T>) -> Option<T> {
        let place = match &entry.id {
            Some(id) => format!("{table} {id:?}"),
            None => format!("{table} number {n}"),
        };
        self.fields(entry, place)
    }

    /// The values of a table, or the problem that it has the wrong shape.
    fn fields<T>(&mut self, entry: Entry<T>, place: String) -> Option<T> {
        entry
            .fields
            .map_err(|message| {
                self.problems.push(ConfigProblem::Shape {
                    file: self.file.to_owned(),
                    line: entry.line,
                    place,
                    message,
                });
            })
            .ok()
    }

    /// The setting from the environment variable when it is set and not empty, else from the file.
    fn setting(
        &self,
        variable: &'static str,
        field: &'static str,
        written: Option<String>,
    ) -> Option<Setting> {
        match (self.env)(variable).filter(|value| !value.is_empty()) {
            Some(value) => Some(Setting { field: variable, value }),
            None => written.map(|value| Setting { field, value }),
        }
    }

    /// Parses a setting, or says that it is not what it must be.
    fn parse<T>(
        &mut self,
        setting: Setting,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let parsed = parse(&setting.value);
        if parsed.is_none() {
            self.problems.push(ConfigProblem::Invalid {
                field: setting.field.to_owned(),
                value: setting.value,
                expected,
            });
        }
        parsed
    }
}

/// The entries with their numbers, from 1 as people count.
fn numbered<T>(entries: Vec<T>) -> impl Iterator<Item = (usize, T)> {
    (1..).zip(entries)
}

fn parse_addr(value: &str) -> Option<SocketAddr> {
    value.parse().ok()
}

/// A network (`10.0.0.0/8`), or one address (`::1`) as the network of it alone.
fn parse_network(value: &str) -> Option<IpNet> {
    value.parse().ok().or_else(|| value.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// A URL, with a `/` ended path so that joining a relative path keeps all of it.
fn parse_url(value: &str) -> Option<Url> {
    let mut url = Url::parse(value).ok()?;
    if !url.cannot_be_a_base() && !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Some(url)
}

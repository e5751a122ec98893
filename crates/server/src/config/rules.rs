//! What a sound configuration is: the rules each value and each table must follow, and
//! [`Config::check`], which applies them to a configuration made in code.
//!
//! A configuration read from a file is judged by the judge, which applies these same rules to each
//! value as it reads it; this file is where each rule is written, once. Every rule takes only what
//! it judges and what it needs to know about the rest (does the store exist, is its currency
//! known), so a caller that knows less says so instead of getting a complaint about a guess.

use std::collections::HashMap;

use kasse_api::{Currency, MAX_PAYMENT_MINOR};
use url::Url;

use super::database::{is_database_url, redacted_database_url};
use super::{Config, ConfigProblem, Provider, ProviderKind, StickerConfig, StoreConfig, Table, TillConfig};

/// How long a webhook's `x-ms-date` may be off at most, in seconds.
const MAX_WEBHOOK_SKEW_SECS: u64 = 3600;

/// What a till or sticker finds when it looks up the store it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StoreFound {
    /// No store has that id.
    Nowhere,
    /// The store, which takes this currency.
    Taking(Currency),
    /// The store exists, but which currency it takes is not known (its table could not be read,
    /// or its currency is not one the platform takes), so amounts cannot be judged against it.
    CurrencyUnknown,
}

impl StoreFound {
    /// Whether there is such a store.
    pub(super) fn exists(self) -> bool {
        self != Self::Nowhere
    }
}

impl Config {
    /// Finds every problem at once.
    pub fn check(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        database_url("[database] url", &self.database_url, &mut problems);
        provider(&self.provider, cfg!(feature = "sim"), &mut problems);
        platform_url(&self.provider, self.provider_kind, &mut problems);
        public_url(self.public_url.as_ref(), self.provider_kind, &mut problems);
        webhook_skew(self.webhook_max_skew.as_secs(), &mut problems);

        not_empty(Table::Stores, self.stores.len(), &mut problems);
        for store in &self.stores {
            self::store(&store.id, &store.name, &store.msn, &mut problems);
            // The built-in simulator makes its own credentials; anything else needs ours.
            if matches!(self.provider, Provider::Platform { .. }) {
                match &store.credentials {
                    None => problems.push(ConfigProblem::MissingCredentials(store.id.clone())),
                    Some(credentials) => client_id(&store.id, &credentials.client_id, &mut problems),
                }
            }
        }
        stores_together(&self.stores, &mut problems);

        not_empty(Table::Tills, self.tills.len(), &mut problems);
        for till in &self.tills {
            let is_sticker = |id: &str| self.stickers.iter().any(|s| s.id == id);
            self::till(till, self.store(&till.store).is_some(), is_sticker, &mut problems);
        }
        tills_together(&self.tills, &mut problems);

        for sticker in &self.stickers {
            let store =
                self.store(&sticker.store).map_or(StoreFound::Nowhere, |s| StoreFound::Taking(s.currency));
            self::sticker(sticker, store, &mut problems);
        }
        stickers_together(&self.stickers, &mut problems);

        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// Where the server is reached, for this platform; `None` is a missing URL.
pub(super) fn public_url(url: Option<&Url>, kind: ProviderKind, problems: &mut Vec<ConfigProblem>) {
    match url {
        None if kind.is_real() => problems.push(ConfigProblem::MissingPublicUrl(kind)),
        Some(url)
            if !matches!(url.scheme(), "http" | "https")
                || url.cannot_be_a_base()
                || url.query().is_some()
                || url.fragment().is_some() =>
        {
            problems.push(ConfigProblem::BadPublicUrl(url.clone()));
        }
        Some(url) if kind.is_real() && url.scheme() != "https" => {
            problems.push(ConfigProblem::InsecurePublicUrl { provider: kind, url: url.clone() });
        }
        None | Some(_) => {}
    }
}

/// The database, set at `field`: SQLite or PostgreSQL. Whether it is one; the problem that it is
/// not shows the URL without its password.
pub(super) fn database_url(field: &str, url: &str, problems: &mut Vec<ConfigProblem>) -> bool {
    let sound = is_database_url(url);
    if !sound {
        problems.push(ConfigProblem::Invalid {
            field: field.to_owned(),
            value: redacted_database_url(url),
            expected: "it must be a SQLite database, sqlite:PATH like sqlite://data/kasse.db, or a \
                       PostgreSQL one, postgres://… or postgresql://… like \
                       postgres://kasse@db.example.no/kasse",
        });
    }
    sound
}

/// How far a webhook's clock may be off, in seconds.
pub(super) fn webhook_skew(secs: u64, problems: &mut Vec<ConfigProblem>) {
    if !(1..=MAX_WEBHOOK_SKEW_SECS).contains(&secs) {
        problems.push(ConfigProblem::BadWebhookSkew(secs));
    }
}

/// The built-in simulator is asked for only where this build has one (`built_in`: the `sim`
/// feature).
pub(super) fn provider(provider: &Provider, built_in: bool, problems: &mut Vec<ConfigProblem>) {
    if matches!(provider, Provider::Sim { .. }) && !built_in {
        problems.push(ConfigProblem::NoBuiltInSimulator);
    }
}

/// A real platform is reached over https only: the calls carry the store's secrets and its
/// customers' payments, which must not cross the network in the clear. (A `kasse-sim` of its
/// own, under provider `sim`, may be plain http.)
pub(super) fn platform_url(provider: &Provider, kind: ProviderKind, problems: &mut Vec<ConfigProblem>) {
    if let Provider::Platform { base_url } = provider
        && kind.is_real()
        && base_url.scheme() != "https"
    {
        problems.push(ConfigProblem::InsecurePlatformUrl { provider: kind, url: base_url.clone() });
    }
}

/// A table the server cannot run without has `entries` entries (readable or not).
pub(super) fn not_empty(table: Table, entries: usize, problems: &mut Vec<ConfigProblem>) {
    if entries == 0 {
        problems.push(ConfigProblem::Empty(table));
    }
}

/// A store's id, name and MSN.
pub(super) fn store(id: &str, name: &str, msn: &str, problems: &mut Vec<ConfigProblem>) {
    if !is_slug(id, 32) {
        problems.push(ConfigProblem::BadStoreId(id.to_owned()));
    }
    if name.trim().is_empty() {
        problems.push(ConfigProblem::BlankStoreName(id.to_owned()));
    }
    if !is_msn(msn) {
        problems.push(ConfigProblem::BadMsn { store: id.to_owned(), msn: msn.to_owned() });
    }
}

/// A store's `client_id`, on a platform that needs one.
pub(super) fn client_id(store: &str, client_id: &str, problems: &mut Vec<ConfigProblem>) {
    if client_id.trim().is_empty() {
        problems.push(ConfigProblem::MissingClientId(store.to_owned()));
    }
}

/// What no two stores may share: an id, a sales unit.
pub(super) fn stores_together(stores: &[StoreConfig], problems: &mut Vec<ConfigProblem>) {
    for id in repeated(stores.iter().map(|s| s.id.as_str())) {
        problems.push(ConfigProblem::Duplicate { table: Table::Stores, id: id.to_owned() });
    }
    for (msn, (first, second)) in repeated_by(stores.iter().map(|s| (s.msn.as_str(), s.id.as_str()))) {
        problems.push(ConfigProblem::DuplicateMsn {
            msn: msn.to_owned(),
            first: first.to_owned(),
            second: second.to_owned(),
        });
    }
}

/// One till, whose store exists or not, with `is_sticker` telling the open-amount stickers' ids.
pub(super) fn till(
    till: &TillConfig,
    store_exists: bool,
    is_sticker: impl Fn(&str) -> bool,
    problems: &mut Vec<ConfigProblem>,
) {
    if !is_slug(&till.id, 24) {
        problems.push(ConfigProblem::BadTillId(till.id.clone()));
    }
    if !(1..=36).contains(&till.name.trim().chars().count()) {
        problems.push(ConfigProblem::BadTillName { till: till.id.clone(), name: till.name.clone() });
    }
    if !store_exists {
        problems.push(ConfigProblem::UnknownStore {
            table: Table::Tills,
            id: till.id.clone(),
            store: till.store.clone(),
        });
    }
    for (field, id) in [("callback_qr", &till.callback_qr), ("redirect_sticker", &till.redirect_sticker)] {
        if let Some(id) = id.as_ref().filter(|id| !is_qr_id(id)) {
            problems.push(ConfigProblem::BadQrId { till: till.id.clone(), field, id: id.clone() });
        }
    }
    if let Some(id) = &till.redirect_sticker
        && is_sticker(id)
    {
        problems.push(ConfigProblem::RedirectIsSticker { till: till.id.clone(), id: id.clone() });
    }
}

/// What no two tills may share: an id, a sticker.
pub(super) fn tills_together(tills: &[TillConfig], problems: &mut Vec<ConfigProblem>) {
    for id in repeated(tills.iter().map(|t| t.id.as_str())) {
        problems.push(ConfigProblem::Duplicate { table: Table::Tills, id: id.to_owned() });
    }
    let callback_qrs = tills.iter().filter_map(|t| Some((t.callback_qr.as_deref()?, t.id.as_str())));
    let redirect_stickers =
        tills.iter().filter_map(|t| Some((t.redirect_sticker.as_deref()?, t.id.as_str())));
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

/// One open-amount sticker, at the store it names.
pub(super) fn sticker(sticker: &StickerConfig, store: StoreFound, problems: &mut Vec<ConfigProblem>) {
    if !is_qr_id(&sticker.id) {
        problems.push(ConfigProblem::BadStickerId(sticker.id.clone()));
    }
    if !(3..=100).contains(&sticker.description.trim().chars().count()) {
        problems.push(ConfigProblem::BadDescription {
            sticker: sticker.id.clone(),
            description: sticker.description.clone(),
        });
    }
    match store {
        StoreFound::Nowhere => problems.push(ConfigProblem::UnknownStore {
            table: Table::Stickers,
            id: sticker.id.clone(),
            store: sticker.store.clone(),
        }),
        StoreFound::Taking(currency) if sticker.min < currency.minimum_payment() => {
            problems.push(ConfigProblem::MinBelowPlatform {
                sticker: sticker.id.clone(),
                min: sticker.min,
                currency,
                minimum: currency.minimum_payment(),
            });
        }
        StoreFound::Taking(_) | StoreFound::CurrencyUnknown => {}
    }
    if sticker.max > MAX_PAYMENT_MINOR {
        problems.push(ConfigProblem::MaxAbovePlatform { sticker: sticker.id.clone(), max: sticker.max });
    }
    if sticker.min > sticker.max {
        problems.push(ConfigProblem::MinAboveMax {
            sticker: sticker.id.clone(),
            min: sticker.min,
            max: sticker.max,
        });
    }
}

/// What no two stickers may share: an id.
pub(super) fn stickers_together(stickers: &[StickerConfig], problems: &mut Vec<ConfigProblem>) {
    for id in repeated(stickers.iter().map(|s| s.id.as_str())) {
        problems.push(ConfigProblem::Duplicate { table: Table::Stickers, id: id.to_owned() });
    }
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

/// The ids that occur more than once, each once, in order of their second occurrence: one
/// sentence per shared id, however many entries share it.
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
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};

    use super::*;

    fn demo() -> Config {
        Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), PathBuf::from("dist"), Path::new("data"))
    }

    #[test]
    fn the_built_in_simulator_is_a_clear_mistake_in_a_build_without_it() {
        let sim = demo().provider;
        let mut problems = Vec::new();
        provider(&sim, true, &mut problems);
        assert!(problems.is_empty());
        provider(&sim, false, &mut problems);
        assert_eq!(problems, [ConfigProblem::NoBuiltInSimulator]);
        let text = problems[0].to_string();
        assert!(text.contains("provider = \"sim\"") && text.contains("`sim` feature"), "{text}");
        let mut problems = Vec::new();
        let test = Provider::Platform { base_url: Url::parse("https://apitest.vipps.no").unwrap() };
        provider(&test, false, &mut problems);
        assert!(problems.is_empty(), "a real platform needs no simulator");
    }

    #[test]
    fn a_real_platform_is_not_reached_over_plain_http() {
        let mut config = demo();
        config.public_url = Some(Url::parse("https://kasse.example.no/").unwrap());
        config.stores[0].credentials = Some(kasse_vipps::Credentials {
            client_id: "fb492b5e-7907-4d83-ba20-c7fb60ca35de".to_owned(),
            client_secret: kasse_vipps::Secret::new("secret"),
            subscription_key: kasse_vipps::Secret::new("key"),
            msn: "123456".to_owned(),
        });
        let plain = Url::parse("http://apitest.vipps.no/").unwrap();
        config.provider = Provider::Platform { base_url: plain.clone() };
        for kind in [ProviderKind::Test, ProviderKind::Production] {
            config.provider_kind = kind;
            assert_eq!(
                config.check(),
                Err(vec![ConfigProblem::InsecurePlatformUrl { provider: kind, url: plain.clone() }])
            );
        }
        let text = config.check().unwrap_err()[0].to_string();
        assert!(text.contains("[platform] base_url") && text.contains("https://"), "{text}");

        config.provider = Provider::Platform { base_url: Url::parse("https://apitest.vipps.no/").unwrap() };
        assert_eq!(config.check(), Ok(()), "https is fine");
        config.provider = Provider::Platform { base_url: plain };
        config.provider_kind = ProviderKind::Sim;
        assert_eq!(config.check(), Ok(()), "a kasse-sim of its own may be plain http");

        let file = r#"
            [server]
            public_url = "https://kasse.example.no/"
            [platform]
            provider = "production"
            base_url = "http://api.vipps.no/"
            [[stores]]
            id = "majorstuen"
            name = "Kaffebrenneriet Majorstuen"
            msn = "654321"
            currency = "NOK"
            client_id = "fb492b5e-7907-4d83-ba20-c7fb60ca35de"
            client_secret = { env = "SECRET" }
            subscription_key = { env = "SECRET" }
            [[tills]]
            id = "till-1"
            name = "Kasse 1"
            store = "majorstuen"
        "#;
        let env = |name: &str| (name == "SECRET").then(|| "not telling".to_owned());
        let read = Config::from_toml(file, Path::new("kasse.toml"), &env).map(|_| ());
        assert_eq!(
            read,
            Err(vec![ConfigProblem::InsecurePlatformUrl {
                provider: ProviderKind::Production,
                url: Url::parse("http://api.vipps.no/").unwrap(),
            }]),
            "a file is judged by the same rule"
        );
    }

    #[test]
    fn the_demo_configuration_is_valid() {
        assert_eq!(demo().check(), Ok(()));
    }

    #[test]
    fn a_database_made_in_code_is_held_to_the_same_rule_without_showing_its_password() {
        let mut config = demo();
        for url in ["sqlite::memory:", "postgres://kasse:pw@127.0.0.1:5432/kasse_test"] {
            url.clone_into(&mut config.database_url);
            assert_eq!(config.check(), Ok(()), "{url}");
        }
        "mysql://kasse:hunter2@db/kasse".clone_into(&mut config.database_url);
        let problems = config.check().unwrap_err();
        let [ConfigProblem::Invalid { field, value, .. }] = problems.as_slice() else {
            panic!("{problems:?}")
        };
        assert_eq!((field.as_str(), value.as_str()), ("[database] url", "mysql://kasse:***@db/kasse"));
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

    #[test]
    fn a_sticker_at_a_store_whose_currency_is_unknown_is_not_judged_against_a_guess() {
        let mut config = demo();
        config.stickers[0].min = 1;
        let mut problems = Vec::new();
        sticker(&config.stickers[0], StoreFound::CurrencyUnknown, &mut problems);
        assert_eq!(problems, []);
        sticker(&config.stickers[0], StoreFound::Taking(Currency::Nok), &mut problems);
        assert!(matches!(problems.as_slice(), [ConfigProblem::MinBelowPlatform { min: 1, .. }]));
        config.stores.clear();
        assert_eq!(
            config.check().unwrap_err(),
            [
                ConfigProblem::Empty(Table::Stores),
                ConfigProblem::UnknownStore {
                    table: Table::Tills,
                    id: "till-1".to_owned(),
                    store: "grunerlokka".to_owned()
                },
                ConfigProblem::UnknownStore {
                    table: Table::Stickers,
                    id: "donations".to_owned(),
                    store: "grunerlokka".to_owned()
                },
            ],
            "a sticker with no store is not also below a minimum"
        );
    }
}

//! The configuration file: its serde types, the environment variables on top, and the reading
//! that turns both into a [`Config`], collecting every problem on the way.
//!
//! The serde types hold what was written, nothing more. Each table is deserialized on its own, so
//! a mistake in one (an unknown field, a wrong type) is reported and the others are still read
//! and checked. Values with a fixed set of spellings (provider, currency, capture) are read as
//! strings and judged here, so a misspelling is a sentence about that field rather than the end of
//! its table.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kasse_api::Currency;
use kasse_vipps::{Credentials, Secret};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use toml::Spanned;
use url::Url;

use super::{
    CapturePolicy, Config, ConfigProblem, Provider, ProviderKind, SecretError, SecretSource, SecretSources,
    StickerConfig, StoreConfig, Table, TillConfig,
};

/// `kasse.example.toml`: documentation for operators, and the demo the server runs without a file.
pub(super) const EXAMPLE: &str = include_str!("../../../../kasse.example.toml");

/// How problems in the built-in example name it.
pub(super) const EXAMPLE_NAME: &str = "kasse.example.toml (built in)";

/// `[server] listen`.
const LISTEN: &str = "KASSE_LISTEN";
/// `[server] public_url`.
const PUBLIC_URL: &str = "KASSE_PUBLIC_URL";
/// `[server] dist`.
const DIST: &str = "KASSE_DIST";
/// `[server] database`.
const DATABASE_URL: &str = "KASSE_DATABASE_URL";
/// `[platform] provider`.
const PROVIDER: &str = "KASSE_PROVIDER";
/// `[platform] base_url`.
const PLATFORM_URL: &str = "KASSE_PLATFORM_URL";

/// The whole file. Each table stays raw (with where it starts) until it is read on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    server: Option<Spanned<toml::Table>>,
    platform: Option<Spanned<toml::Table>>,
    #[serde(default)]
    stores: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    tills: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    stickers: Vec<Spanned<toml::Table>>,
}

/// `[server]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    listen: Option<String>,
    public_url: Option<String>,
    dist: Option<String>,
    database: Option<String>,
    webhook_max_skew_secs: Option<u64>,
}

/// `[platform]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlatform {
    provider: Option<String>,
    base_url: Option<String>,
    sim_listen: Option<String>,
}

/// `[[stores]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStore {
    id: String,
    name: String,
    msn: String,
    currency: String,
    client_id: Option<String>,
    client_secret: Option<SecretRef>,
    subscription_key: Option<SecretRef>,
}

/// `[[tills]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTill {
    id: String,
    name: String,
    store: String,
    capture: Option<String>,
    callback_qr: Option<String>,
    redirect_sticker: Option<String>,
    #[serde(default)]
    charge_on_check_in: bool,
}

/// `[[stickers]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSticker {
    id: String,
    store: String,
    description: String,
    min: i64,
    max: i64,
}

/// How the file names a secret.
enum SecretRef {
    /// A plain string: the secret itself, written into the file. Its value is dropped unread; the
    /// file is refused.
    Written,
    /// `{ env = "NAME" }` or `{ file = "PATH" }`.
    Named(SecretTable),
}

/// `{ env = "NAME" }` or `{ file = "PATH" }`; exactly one of them, which reading checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretTable {
    env: Option<String>,
    file: Option<PathBuf>,
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretRefVisitor)
    }
}

/// Tells a written secret from a named one, so a written one is refused with a sentence saying why
/// instead of serde's "invalid type".
struct SecretRefVisitor;

impl<'de> Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"{ env = "VARIABLE" } or { file = "PATH" }"#)
    }

    fn visit_str<E: de::Error>(self, _secret: &str) -> Result<SecretRef, E> {
        Ok(SecretRef::Written)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretRef, A::Error> {
        SecretTable::deserialize(de::value::MapAccessDeserializer::new(map)).map(SecretRef::Named)
    }
}

/// Reads a configuration from TOML `text` (named `file` in problems) with `env` on top.
pub(super) fn read(
    text: &str,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigProblem>> {
    let doc: FileDoc = toml::from_str(text).map_err(|error| {
        vec![ConfigProblem::Syntax {
            file: file.to_owned(),
            at: error.span().map(|span| line_column(text, span.start)),
            message: error.message().to_owned(),
        }]
    })?;
    let mut reader = Reader { file, text, env, problems: Vec::new(), explained: Explained::default() };
    let config = reader.config(doc);
    let Reader { mut problems, explained, .. } = reader;
    if let Err(found) = config.check() {
        problems.extend(found.into_iter().filter(|problem| !explained.restates(problem, &config)));
    }
    if problems.is_empty() { Ok(config) } else { Err(problems) }
}

/// Turns the file's tables into a [`Config`], noting every problem instead of stopping.
struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<ConfigProblem>,
    explained: Explained,
}

/// A setting as decided: from the environment when set there, else from the file.
struct Setting {
    /// Where it came from: the variable, or the table and field.
    field: &'static str,
    value: String,
}

impl Reader<'_> {
    fn config(&mut self, doc: FileDoc) -> Config {
        let server: FileServer = match doc.server {
            Some(table) => self.table(table, "[server]".to_owned()).unwrap_or_else(|| {
                self.explained.server = true;
                FileServer::default()
            }),
            None => FileServer::default(),
        };
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
        let database_url = self
            .setting(DATABASE_URL, "[server] database", server.database)
            .and_then(|s| {
                self.parse(s, "it must be a database URL, like sqlite://data/kasse.db", parse_database)
            })
            .unwrap_or_else(|| "sqlite://data/kasse.db".to_owned());

        let platform: FilePlatform =
            doc.platform.and_then(|table| self.table(table, "[platform]".to_owned())).unwrap_or_default();
        let (provider, provider_kind) = self.provider(platform);
        // The built-in simulator makes its own credentials; anything else needs ours.
        let needs_credentials = matches!(provider, Provider::Platform { .. });

        let stores = numbered(doc.stores).filter_map(|(n, t)| self.store(n, t, needs_credentials)).collect();
        let tills = numbered(doc.tills).filter_map(|(n, t)| self.till(n, t)).collect();
        let stickers = numbered(doc.stickers).filter_map(|(n, t)| self.sticker(n, t)).collect();
        Config {
            listen,
            public_url,
            dist,
            database_url,
            provider,
            provider_kind,
            stores,
            tills,
            stickers,
            webhook_max_skew: Duration::from_secs(server.webhook_max_skew_secs.unwrap_or(300)),
            reconcile_every: Duration::from_secs(1),
        }
    }

    fn provider(&mut self, platform: FilePlatform) -> (Provider, ProviderKind) {
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
            let listen = platform
                .sim_listen
                .map(|value| Setting { field: "[platform] sim_listen", value })
                .and_then(|s| {
                    self.parse(s, "it must be an IP address and port, like 127.0.0.1:0", parse_addr)
                })
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
            Provider::Sim { listen }
        };
        (provider, kind)
    }

    fn store(
        &mut self,
        n: usize,
        table: Spanned<toml::Table>,
        needs_credentials: bool,
    ) -> Option<StoreConfig> {
        let id = raw_id(&table);
        let Some(store) = self.entry::<FileStore>(Table::Stores, n, table) else {
            self.explained.unreadable_stores.extend(id);
            return None;
        };
        let currency = Currency::from_code(&store.currency).unwrap_or_else(|| {
            self.problems.push(ConfigProblem::Invalid {
                field: format!("[[stores]] {:?} currency", store.id),
                value: store.currency.clone(),
                expected: "the platform takes NOK, DKK or EUR",
            });
            self.explained.unknown_currency.insert(store.id.clone());
            Currency::Nok
        });
        let client_secret = self.secret(&store.id, "client_secret", store.client_secret, needs_credentials);
        let subscription_key =
            self.secret(&store.id, "subscription_key", store.subscription_key, needs_credentials);
        let secrets = client_secret.zip(subscription_key);
        if secrets.is_none() && needs_credentials {
            self.explained.missing_credentials.insert(store.id.clone());
            // Without credentials the check cannot see that the client_id is missing too.
            if store.client_id.as_deref().is_none_or(|id| id.trim().is_empty()) {
                self.problems.push(ConfigProblem::MissingClientId(store.id.clone()));
            }
        }
        let (credentials, secrets_from) = secrets
            .map(|((client_secret, client_secret_from), (subscription_key, subscription_key_from))| {
                let credentials = Credentials {
                    client_id: store.client_id.unwrap_or_default(),
                    client_secret,
                    subscription_key,
                    msn: store.msn.clone(),
                };
                let from = SecretSources {
                    client_secret: client_secret_from,
                    subscription_key: subscription_key_from,
                };
                (credentials, from)
            })
            .unzip();
        Some(StoreConfig {
            id: store.id,
            name: store.name,
            msn: store.msn,
            currency,
            credentials,
            secrets_from,
        })
    }

    /// Reads one of a store's secrets when `needed`, and says what is wrong with how the file
    /// names it either way (a secret written into the file is refused even where it is unused).
    fn secret(
        &mut self,
        store: &str,
        field: &'static str,
        written: Option<SecretRef>,
        needed: bool,
    ) -> Option<(Secret, SecretSource)> {
        let (from, defaulted) = match written {
            None => (SecretSource::Env(default_variable(store, field)), true),
            Some(SecretRef::Named(SecretTable { env: Some(name), file: None })) => {
                (SecretSource::Env(name), false)
            }
            Some(SecretRef::Named(SecretTable { env: None, file: Some(path) })) => {
                (SecretSource::File(path), false)
            }
            Some(SecretRef::Named(_)) => {
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

    fn till(&mut self, n: usize, table: Spanned<toml::Table>) -> Option<TillConfig> {
        let till = self.entry::<FileTill>(Table::Tills, n, table)?;
        let capture = match till.capture {
            None => CapturePolicy::Automatic,
            Some(value) => CapturePolicy::from_name(&value).unwrap_or_else(|| {
                self.problems.push(ConfigProblem::Invalid {
                    field: format!("[[tills]] {:?} capture", till.id),
                    value,
                    expected: "it must be automatic or manual",
                });
                CapturePolicy::Automatic
            }),
        };
        Some(TillConfig {
            id: till.id,
            name: till.name,
            store: till.store,
            capture,
            callback_qr: till.callback_qr,
            redirect_sticker: till.redirect_sticker,
            charge_on_check_in: till.charge_on_check_in,
        })
    }

    fn sticker(&mut self, n: usize, table: Spanned<toml::Table>) -> Option<StickerConfig> {
        let sticker = self.entry::<FileSticker>(Table::Stickers, n, table)?;
        Some(StickerConfig {
            id: sticker.id,
            store: sticker.store,
            description: sticker.description,
            min: sticker.min,
            max: sticker.max,
        })
    }

    /// Reads entry number `n` (from 1) of an array of tables, naming it by its id when it has one.
    fn entry<T: DeserializeOwned>(
        &mut self,
        table: Table,
        n: usize,
        entry: Spanned<toml::Table>,
    ) -> Option<T> {
        let place = match raw_id(&entry) {
            Some(id) => format!("{table} {id:?}"),
            None => format!("{table} number {n}"),
        };
        let read = self.table(entry, place);
        if read.is_none() {
            // It may have been the only one; "there are none" would be wrong.
            self.explained.unreadable_tables.insert(table);
        }
        read
    }

    /// Deserializes one table, or says why it cannot be.
    fn table<T: DeserializeOwned>(&mut self, table: Spanned<toml::Table>, place: String) -> Option<T> {
        let (line, _) = line_column(self.text, table.span().start);
        table
            .into_inner()
            .try_into()
            .map_err(|error: toml::de::Error| {
                // Without the text at hand the reader says the field on a line of its own
                // ("in `min`"); one line reads better in a list.
                let message = error.to_string().lines().map(str::trim).collect::<Vec<_>>().join(" ");
                self.problems.push(ConfigProblem::Shape {
                    file: self.file.to_owned(),
                    line,
                    place,
                    message: message.trim().to_owned(),
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

    /// Parses a setting, or notes that it is not what it must be.
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

/// What reading the file already explained, so the check of the [`Config`] built from it does not
/// say it again, less precisely, or wrongly.
#[derive(Default)]
struct Explained {
    /// Stores whose table could not be read: tills and stickers naming them are not wrong.
    unreadable_stores: HashSet<String>,
    /// Stores whose currency is unknown (and was taken as NOK to go on checking).
    unknown_currency: HashSet<String>,
    /// Stores whose secrets could not be read, each already explained.
    missing_credentials: HashSet<String>,
    /// Tables with an entry that could not be read: they may not be empty after all.
    unreadable_tables: HashSet<Table>,
    /// `[server]` could not be read, so its public_url is unknown rather than missing.
    server: bool,
}

impl Explained {
    fn restates(&self, problem: &ConfigProblem, config: &Config) -> bool {
        match problem {
            ConfigProblem::UnknownStore { store, .. } => self.unreadable_stores.contains(store),
            ConfigProblem::MissingCredentials(store) => self.missing_credentials.contains(store),
            ConfigProblem::MinBelowPlatform { sticker, .. } => {
                config.stickers.iter().any(|s| &s.id == sticker && self.unknown_currency.contains(&s.store))
            }
            ConfigProblem::Empty(table) => self.unreadable_tables.contains(table),
            ConfigProblem::MissingPublicUrl(_) => self.server,
            _ => false,
        }
    }
}

/// Reads a secret from where it lives. Errors say why, never what.
fn read_secret(from: &SecretSource, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, SecretError> {
    let value = match from {
        SecretSource::Env(name) => env(name).ok_or(SecretError::Unset)?,
        SecretSource::File(path) => {
            std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable(e.to_string()))?
        }
    };
    // Files written by `echo` or an editor end in a newline that is not part of the secret.
    let value = value.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(Secret::new(value))
}

/// `KASSE_STORE_<ID>_<FIELD>`: where a store's secret is read from when the file names no place.
fn default_variable(store: &str, field: &str) -> String {
    format!("KASSE_STORE_{}_{}", store.to_ascii_uppercase().replace('-', "_"), field.to_ascii_uppercase())
}

/// An entry's `id`, when it has one that is a string, to name it in problems.
fn raw_id(table: &Spanned<toml::Table>) -> Option<String> {
    table.get_ref().get("id").and_then(toml::Value::as_str).map(str::to_owned)
}

/// The entries with their numbers, from 1 as people count.
fn numbered<T>(entries: Vec<T>) -> impl Iterator<Item = (usize, T)> {
    (1..).zip(entries)
}

/// The line and column (from 1) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before.get(line_start..).map_or(0, |line| line.chars().count());
    (before.matches('\n').count() + 1, column + 1)
}

fn parse_addr(value: &str) -> Option<SocketAddr> {
    value.parse().ok()
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

fn parse_database(value: &str) -> Option<String> {
    Url::parse(value).ok().map(|_| value.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fmt::Write as _;

    use super::*;

    /// An environment with just these variables.
    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| vars.get(name).cloned()
    }

    fn read_toml(text: &str, vars: &[(&str, &str)]) -> Result<Config, Vec<ConfigProblem>> {
        read(text, Path::new("kasse.toml"), &env(vars))
    }

    fn sentences(problems: &[ConfigProblem]) -> String {
        problems.iter().fold(String::new(), |mut listed, problem| {
            let _ = writeln!(listed, "- {problem}");
            listed
        })
    }

    /// A scratch file that removes itself.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(content: &str) -> Self {
            let path = std::env::temp_dir().join(format!("kasse-config-{}", uuid::Uuid::new_v4().simple()));
            std::fs::write(&path, content).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// A store on the test platform with one till, every secret from the environment.
    const TEST_PLATFORM: &str = r#"
        [server]
        public_url = "https://kasse.example.no"

        [platform]
        provider = "test"

        [[stores]]
        id = "majorstuen"
        name = "Kaffebrenneriet Majorstuen"
        msn = "654321"
        currency = "NOK"
        client_id = "fb492b5e-7907-4d83-ba20-c7fb60ca35de"
        client_secret = { env = "MAJORSTUEN_SECRET" }

        [[tills]]
        id = "till-1"
        name = "Kasse 1"
        store = "majorstuen"
    "#;

    #[test]
    fn the_example_file_is_valid_and_is_the_demo() {
        let config = read(EXAMPLE, Path::new(EXAMPLE_NAME), &env(&[])).unwrap();
        let demo = Config::demo(SocketAddr::from(([127, 0, 0, 1], 8080)), "dist".into(), Path::new("data"));
        assert_eq!(format!("{config:?}"), format!("{demo:?}"));
    }

    #[test]
    fn without_a_file_the_server_runs_the_demo() {
        let config = Config::load(None, &env(&[])).unwrap();
        assert_eq!(config.provider_kind, ProviderKind::Sim);
        assert!(matches!(config.provider, Provider::Sim { .. }));
        assert_eq!(config.summary(), "1 store, 1 till, 1 sticker, provider sim (built into the server)");
    }

    #[test]
    fn one_file_with_many_mistakes_gets_all_of_them_listed() {
        let text = r#"
            [server]
            listen = "localhost"
            webhook_max_skew_secs = 0

            [platform]
            provider = "test"

            [[stores]]
            id = "oslo"
            name = "Oslo"
            msn = "12ab"
            currency = "SEK"
            client_secret = "hunter2-in-the-file"
            subscription_key = { file = "/nonexistent/kasse/key" }

            [[stores]]
            id = "oslo"
            name = "Oslo again"
            msn = "1234"
            currency = "NOK"
            client_id = "id"
            client_secret = { env = "OSLO_SECRET" }
            subscription_key = { env = "OSLO_KEY", file = "/also/a/file" }

            [[stores]]
            id = "bergen"
            name = "Bergen"
            msm = "4321"

            [[stores]]
            id = "trondheim"
            name = "Trondheim"
            msn = "1234"
            currency = "NOK"

            [[tills]]
            id = "Till 1"
            name = "Kasse 1"
            store = "nowhere"
            capture = "sometimes"
            callback_qr = "qr-1"

            [[tills]]
            id = "till-2"
            name = "A till whose name is far too long for the app to show"
            store = "oslo"
            callback_qr = "qr-1"
            redirect_sticker = "donations"

            [[tills]]
            id = "till-3"
            name = "Kasse 3"
            store = "bergen"
            redirect_sticker = "has space"

            [[stickers]]
            id = "donations"
            store = "trondheim"
            description = "Donation"
            min = 50
            max = 70000000

            [[stickers]]
            id = "tips/jar"
            store = "nowhere"
            description = "Go"
            min = 500
            max = 100

            [[stickers]]
            id = "parking"
            store = "trondheim"
            description = "Parking"
            min = "ten"
            max = 100
        "#;
        let vars = [
            ("KASSE_STORE_TRONDHEIM_CLIENT_SECRET", "secret"),
            ("KASSE_STORE_TRONDHEIM_SUBSCRIPTION_KEY", "key"),
        ];
        let problems = read_toml(text, &vars).unwrap_err();
        let expected = [
            r#"[server] listen = "localhost" is not valid: it must be an IP address and port"#,
            r#"[[stores]] "oslo" currency = "SEK" is not valid: the platform takes NOK, DKK or EUR"#,
            r#"[[stores]] "oslo": client_secret is written into the file"#,
            r#"[[stores]] "oslo": subscription_key comes from the file /nonexistent/kasse/key, which cannot be read"#,
            r#"[[stores]] "oslo": client_secret comes from the environment variable OSLO_SECRET, which is not set"#,
            r#"[[stores]] "oslo": subscription_key must name exactly one place to read it from"#,
            r#"kasse.toml, line 26, [[stores]] "bergen": unknown field `msm`"#,
            r#"[[tills]] "Till 1" capture = "sometimes" is not valid: it must be automatic or manual"#,
            r#"kasse.toml, line 71, [[stickers]] "parking": invalid type: string "ten", expected i64 in `min`"#,
            "public_url (in [server], or KASSE_PUBLIC_URL) is required with provider test",
            "[server] webhook_max_skew_secs = 0 must be between 1 and 3600",
            r#"[[stores]] id "oslo" is used more than once"#,
            r#"[[stores]] "oslo": msn = "12ab" is not a merchant serial number"#,
            r#"[[stores]] "oslo" has no client_id"#,
            r#"[[stores]] "trondheim" has no client_id"#,
            r#"[[stores]] "oslo" and "trondheim" both have msn = "1234""#,
            r#"[[tills]] id "Till 1" must be 1 to 24 lower-case letters"#,
            r#"[[tills]] "Till 1" belongs to store "nowhere", which is not among the [[stores]]"#,
            r#"[[tills]] "till-2": name = "A till whose name is far too long for the app to show" must be 1 to 36 characters"#,
            r#"[[tills]] "till-2": redirect_sticker = "donations" is also the id of one of the [[stickers]]"#,
            r#"[[tills]] "till-3": redirect_sticker = "has space" must be 1 to 128 letters"#,
            r#"[[tills]] "Till 1" and "till-2" both have callback_qr = "qr-1""#,
            r#"[[stickers]] "donations": min = 50 is below the platform's smallest NOK payment, 100"#,
            r#"[[stickers]] "donations": max = 70000000 is above the platform's largest payment, 65000000"#,
            r#"[[stickers]] id "tips/jar" must be 1 to 128 letters"#,
            r#"[[stickers]] "tips/jar": description = "Go" must be 3 to 100 characters"#,
            r#"[[stickers]] "tips/jar" belongs to store "nowhere", which is not among the [[stores]]"#,
            r#"[[stickers]] "tips/jar": min = 500 is above max = 100"#,
        ];
        let listed = sentences(&problems);
        for sentence in expected {
            assert!(listed.contains(sentence), "missing {sentence:?} in\n{listed}");
        }
        assert_eq!(problems.len(), expected.len(), "\n{listed}");
        assert!(!listed.contains("hunter2"), "a written secret is never repeated:\n{listed}");
        // "bergen" could not be read, so till-3 naming it is not a second mistake.
        assert!(!listed.contains(r#""till-3" belongs to"#), "{listed}");
    }

    #[test]
    fn unparsable_toml_is_reported_with_its_line_and_column() {
        let problems = read_toml("[server]\nlisten = 127.0.0.1:8080\n", &[]).unwrap_err();
        let [ConfigProblem::Syntax { at: Some((2, column)), .. }] = problems.as_slice() else {
            panic!("{problems:?}");
        };
        assert!(*column > 1, "{problems:?}");
        assert!(problems[0].to_string().starts_with("kasse.toml, line 2, column "), "{}", problems[0]);
    }

    #[test]
    fn an_unknown_section_is_reported_where_it_is() {
        let problems = read_toml("[server]\n\n[[store]]\nid = \"x\"\n", &[]).unwrap_err();
        let listed = sentences(&problems);
        assert!(listed.contains("kasse.toml, line 3, column "), "{listed}");
        assert!(listed.contains("unknown field `store`"), "{listed}");
    }

    #[test]
    fn a_secret_written_into_the_file_is_refused_with_a_sentence_saying_why() {
        let text = TEST_PLATFORM.replace(r#"{ env = "MAJORSTUEN_SECRET" }"#, r#""s3cr3t-value""#);
        let problems = read_toml(&text, &[("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key")]).unwrap_err();
        assert_eq!(
            sentences(&problems),
            "- [[stores]] \"majorstuen\": client_secret is written into the file, and anyone who can read \
             the file, its backups or its history can read it; keep the value in an environment variable \
             or a file and write client_secret = { env = \"VARIABLE\" } or client_secret = { file = \"PATH\" }\n"
        );
    }

    #[test]
    fn a_secret_written_into_the_file_is_refused_even_on_the_simulator() {
        let text =
            EXAMPLE.replacen(r#"currency = "NOK""#, "currency = \"NOK\"\nsubscription_key = \"abc\"", 1);
        let problems = read_toml(&text, &[]).unwrap_err();
        assert!(matches!(
            problems.as_slice(),
            [ConfigProblem::LiteralSecret { field: "subscription_key", .. }]
        ));
    }

    #[test]
    fn secrets_from_env_and_file_resolve_and_never_appear_in_debug_output() {
        let key = TempFile::new("the-subscription-key-from-a-file\n");
        let text = TEST_PLATFORM.replace(
            "client_secret = ",
            &format!("subscription_key = {{ file = {:?} }}\nclient_secret = ", key.0),
        );
        let config = read_toml(&text, &[("MAJORSTUEN_SECRET", "the-client-secret-from-env")]).unwrap();
        let credentials = config.stores[0].credentials.as_ref().unwrap();
        assert_eq!(credentials.client_secret.expose(), "the-client-secret-from-env");
        assert_eq!(credentials.subscription_key.expose(), "the-subscription-key-from-a-file");
        assert_eq!(credentials.client_id, "fb492b5e-7907-4d83-ba20-c7fb60ca35de");
        assert_eq!(credentials.msn, "654321");
        assert_eq!(
            config.stores[0].secrets_from,
            Some(SecretSources {
                client_secret: SecretSource::Env("MAJORSTUEN_SECRET".to_owned()),
                subscription_key: SecretSource::File(key.0.clone()),
            })
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("the-client-secret-from-env"), "{debug}");
        assert!(!debug.contains("the-subscription-key-from-a-file"), "{debug}");
    }

    #[test]
    fn a_store_naming_no_secrets_reads_them_from_its_default_variables() {
        let text = TEST_PLATFORM.replace(r#"client_secret = { env = "MAJORSTUEN_SECRET" }"#, "");
        let config = read_toml(
            &text,
            &[
                ("KASSE_STORE_MAJORSTUEN_CLIENT_SECRET", "secret"),
                ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key"),
            ],
        )
        .unwrap();
        let credentials = config.stores[0].credentials.as_ref().unwrap();
        assert_eq!(
            (credentials.client_secret.expose(), credentials.subscription_key.expose()),
            ("secret", "key")
        );
        assert_eq!(
            default_variable("oslo-sentrum", "client_secret"),
            "KASSE_STORE_OSLO_SENTRUM_CLIENT_SECRET"
        );
    }

    #[test]
    fn a_missing_secret_says_which_variable_or_file_to_provide() {
        let problems = read_toml(TEST_PLATFORM, &[]).unwrap_err();
        assert_eq!(
            sentences(&problems),
            "- [[stores]] \"majorstuen\": client_secret comes from the environment variable \
             MAJORSTUEN_SECRET, which is not set\n\
             - [[stores]] \"majorstuen\": subscription_key comes from the environment variable \
             KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY (the default, as the file names no \
             subscription_key), which is not set\n"
        );
        let empty = TempFile::new("\n");
        let text =
            TEST_PLATFORM.replace(r#"{ env = "MAJORSTUEN_SECRET" }"#, &format!("{{ file = {:?} }}", empty.0));
        let problems = read_toml(&text, &[("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key")]).unwrap_err();
        assert_eq!(
            sentences(&problems),
            format!(
                "- [[stores]] \"majorstuen\": client_secret comes from the file {}, which is empty\n",
                empty.0.display()
            )
        );
    }

    #[test]
    fn the_simulator_needs_no_credentials_and_ignores_them() {
        let text = TEST_PLATFORM.replace(r#"provider = "test""#, r#"provider = "sim""#);
        let config = read_toml(&text, &[]).unwrap();
        assert!(config.stores[0].credentials.is_none());
        assert!(matches!(config.provider, Provider::Sim { .. }));
    }

    #[test]
    fn a_kasse_sim_on_its_own_needs_credentials_but_not_https() {
        let text = EXAMPLE.replace("# base_url = ", "base_url = ");
        let problems = read_toml(&text, &[]).unwrap_err();
        assert_eq!(
            sentences(&problems),
            "- [[stores]] \"grunerlokka\": client_secret comes from the environment variable \
             KASSE_STORE_GRUNERLOKKA_CLIENT_SECRET (the default, as the file names no client_secret), \
             which is not set\n\
             - [[stores]] \"grunerlokka\": subscription_key comes from the environment variable \
             KASSE_STORE_GRUNERLOKKA_SUBSCRIPTION_KEY (the default, as the file names no \
             subscription_key), which is not set\n\
             - [[stores]] \"grunerlokka\" has no client_id, which the platform needs; copy it from the \
             sales unit's API keys in the merchant portal\n"
        );
    }

    #[test]
    fn environment_variables_win_over_the_file() {
        let config = read_toml(
            TEST_PLATFORM,
            &[
                ("KASSE_LISTEN", "0.0.0.0:9000"),
                ("KASSE_PUBLIC_URL", "https://elsewhere.example.no/kasse"),
                ("KASSE_DIST", "/srv/kasse/dist"),
                ("KASSE_DATABASE_URL", "sqlite:///var/lib/kasse/kasse.db"),
                ("KASSE_PROVIDER", "production"),
                ("MAJORSTUEN_SECRET", "secret"),
                ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen, SocketAddr::from(([0, 0, 0, 0], 9000)));
        assert_eq!(config.public_url.as_ref().map(Url::as_str), Some("https://elsewhere.example.no/kasse/"));
        assert_eq!(config.dist, PathBuf::from("/srv/kasse/dist"));
        assert_eq!(config.database_url, "sqlite:///var/lib/kasse/kasse.db");
        assert_eq!(config.provider_kind, ProviderKind::Production);
        assert!(
            matches!(&config.provider, Provider::Platform { base_url } if base_url.as_str() == "https://api.vipps.no/")
        );

        let problems =
            read_toml(EXAMPLE, &[("KASSE_PLATFORM_URL", "http://127.0.0.1:9090"), ("KASSE_PROVIDER", "sim")])
                .unwrap_err();
        assert!(
            problems.iter().all(|p| matches!(
                p,
                ConfigProblem::SecretUnavailable { .. } | ConfigProblem::MissingClientId(_)
            )),
            "a kasse-sim on its own needs credentials: {problems:?}"
        );
    }

    #[test]
    fn a_bad_environment_variable_is_named_in_its_problem() {
        let problems =
            read_toml(EXAMPLE, &[("KASSE_PROVIDER", "staging"), ("KASSE_LISTEN", "8080")]).unwrap_err();
        assert_eq!(
            sentences(&problems),
            "- KASSE_LISTEN = \"8080\" is not valid: it must be an IP address and port, like 127.0.0.1:8080\n\
             - KASSE_PROVIDER = \"staging\" is not valid: it must be sim, test or production\n"
        );
    }

    #[test]
    fn a_real_platform_needs_an_https_public_url() {
        let text = TEST_PLATFORM.replace("https://kasse.example.no", "http://kasse.example.no");
        let vars = [("MAJORSTUEN_SECRET", "secret"), ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "key")];
        let problems = read_toml(&text, &vars).unwrap_err();
        assert_eq!(
            sentences(&problems),
            "- public_url = \"http://kasse.example.no/\" must start with https:// with provider test: the \
             platform delivers webhooks to https addresses only\n"
        );
        let text = TEST_PLATFORM.replace(r#"client_id = "fb492b5e-7907-4d83-ba20-c7fb60ca35de""#, "");
        let problems = read_toml(&text, &vars).unwrap_err();
        assert!(
            matches!(problems.as_slice(), [ConfigProblem::MissingClientId(store)] if store == "majorstuen")
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_says_so() {
        let problems = Config::load(Some(Path::new("/nonexistent/kasse.toml")), &env(&[])).unwrap_err();
        assert!(
            problems[0]
                .to_string()
                .starts_with("cannot read the configuration file /nonexistent/kasse.toml: "),
            "{problems:?}"
        );
    }

    #[test]
    fn lines_and_columns_count_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("æø\nå", 4), (1, 3));
        assert_eq!(line_column("æø\nå", 5), (2, 1));
    }
}

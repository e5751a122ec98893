//! The configuration file as written: each table's values, unjudged, with the line it starts on.
//!
//! This is the only place that knows the file's format. It turns TOML text into [`RawFile`] and
//! judges nothing beyond what the TOML reader itself must: text that is not TOML, or a section
//! kasse does not know, ends reading at once (nothing after it can be trusted). Every table is then
//! taken apart on its own, so one with an unknown field or a value of the wrong type is kept as
//! the reader's words for what is wrong ([`Entry::fields`]) while the others are read; whether
//! that is a problem, and what follows from it, is for the judge to say.
//!
//! Values with a fixed set of spellings (provider, currency, capture) stay strings here, so a
//! misspelling becomes a sentence about that field rather than the end of its table. Lines come
//! from the byte offsets of `toml::Spanned` and are counted per table, because the table is where
//! a problem points the operator: the reader's own words name the field.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::ConfigProblem;

/// `kasse.example.toml`: documentation for operators, and the demo the server runs without a file.
pub(super) const EXAMPLE: &str = include_str!("../../../../kasse.example.toml");

/// How problems in the built-in example name it.
pub(super) const EXAMPLE_NAME: &str = "kasse.example.toml (built in)";

/// A configuration file, read but not judged.
pub(super) struct RawFile {
    /// `[server]`, when the file has it.
    pub server: Option<Entry<RawServer>>,
    /// `[database]`, when the file has it.
    pub database: Option<Entry<RawDatabase>>,
    /// `[platform]`, when the file has it.
    pub platform: Option<Entry<RawPlatform>>,
    /// Each `[[stores]]`, in the file's order.
    pub stores: Vec<Entry<RawStore>>,
    /// Each `[[tills]]`, in the file's order.
    pub tills: Vec<Entry<RawTill>>,
    /// Each `[[stickers]]`, in the file's order.
    pub stickers: Vec<Entry<RawSticker>>,
    /// `[sessions]`, when the file has it.
    pub sessions: Option<Entry<RawSessions>>,
    /// `[limits]`, when the file has it.
    pub limits: Option<Entry<RawLimits>>,
}

/// One table of the file.
pub(super) struct Entry<T> {
    /// The line (from 1) where the table starts.
    pub line: usize,
    /// Its `id`, when it has one that is a string: it names the entry, and a store that cannot be
    /// read still exists for the tills and stickers that name it.
    pub id: Option<String>,
    /// Its values, or the TOML reader's words (on one line) for why they do not fit the table.
    pub fields: Result<T, String>,
}

/// The whole file. Each table stays raw (with where it starts) until it is taken apart on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Outline {
    server: Option<Spanned<toml::Table>>,
    database: Option<Spanned<toml::Table>>,
    platform: Option<Spanned<toml::Table>>,
    #[serde(default)]
    stores: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    tills: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    stickers: Vec<Spanned<toml::Table>>,
    sessions: Option<Spanned<toml::Table>>,
    limits: Option<Spanned<toml::Table>>,
}

/// `[server]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub dist: Option<String>,
    /// The database's URL as files before `[database]` wrote it: still read, for one release,
    /// where `[database] url` is not written.
    pub database: Option<String>,
    pub webhook_max_skew_secs: Option<u64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub retention_days: Option<u64>,
    pub reconcile_every_secs: Option<u64>,
    pub webhooks_check_every_secs: Option<u64>,
}

/// `[database]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub url: Option<String>,
    pub statements_at_once: Option<u64>,
}

/// `[sessions]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    pub idle_hours: Option<u64>,
    pub max_days: Option<u64>,
    pub manager_idle_minutes: Option<u64>,
    pub manager_max_hours: Option<u64>,
}

/// `[limits]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub streams_per_till: Option<u64>,
    pub streams_per_payment: Option<u64>,
    pub streams_per_sticker: Option<u64>,
    pub streams_total: Option<u64>,
    pub requests_per_number_per_day: Option<u64>,
}

/// `[platform]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlatform {
    pub provider: Option<String>,
    pub base_url: Option<String>,
    pub sim_listen: Option<String>,
}

/// `[[stores]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub id: String,
    pub name: String,
    pub msn: String,
    pub currency: String,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretRef>,
    pub subscription_key: Option<SecretRef>,
    pub vat_number: Option<String>,
    pub street: Option<String>,
    pub zip_code: Option<String>,
    pub city: Option<String>,
    #[serde(default)]
    pub refund_pin_above: i64,
    #[serde(default)]
    pub earlier_day_refunds_need_manager: bool,
    pub loyalty_members: Option<PathBuf>,
    pub loyalty_callback: Option<String>,
    pub loyalty_callback_secret: Option<SecretRef>,
    #[serde(default)]
    pub loyalty_check_in: bool,
}

/// `[[tills]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTill {
    pub id: String,
    pub name: String,
    pub store: String,
    pub capture: Option<String>,
    pub callback_qr: Option<String>,
    pub redirect_sticker: Option<String>,
    #[serde(default)]
    pub charge_on_check_in: bool,
}

/// `[[stickers]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSticker {
    pub id: String,
    pub store: String,
    pub description: String,
    pub min: i64,
    pub max: i64,
}

/// How the file names a secret.
pub(super) enum SecretRef {
    /// A plain string: the secret itself, written into the file. Its value is dropped unread, so
    /// no problem and no log can repeat it.
    Written,
    /// `{ env = "NAME" }` or `{ file = "PATH" }`, or a table naming both or neither.
    Named {
        /// The variable, when named.
        env: Option<String>,
        /// The file, when named.
        file: Option<PathBuf>,
    },
}

/// `{ env = "NAME" }` or `{ file = "PATH" }` as written; that it names exactly one is for the
/// judge to say.
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
        let SecretTable { env, file } = SecretTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(SecretRef::Named { env, file })
    }
}

/// Reads TOML `text` (named `file` in problems) into its tables, or says why it is not a
/// configuration file at all.
pub(super) fn read(text: &str, file: &Path) -> Result<RawFile, ConfigProblem> {
    let outline: Outline = toml::from_str(text).map_err(|error| ConfigProblem::Syntax {
        file: file.to_owned(),
        at: error.span().map(|span| line_column(text, span.start)),
        message: error.message().to_owned(),
    })?;
    Ok(RawFile {
        server: outline.server.map(|table| Entry::read(text, table)),
        database: outline.database.map(|table| Entry::read(text, table)),
        platform: outline.platform.map(|table| Entry::read(text, table)),
        stores: outline.stores.into_iter().map(|table| Entry::read(text, table)).collect(),
        tills: outline.tills.into_iter().map(|table| Entry::read(text, table)).collect(),
        stickers: outline.stickers.into_iter().map(|table| Entry::read(text, table)).collect(),
        sessions: outline.sessions.map(|table| Entry::read(text, table)),
        limits: outline.limits.map(|table| Entry::read(text, table)),
    })
}

impl<T: DeserializeOwned> Entry<T> {
    /// Takes one table of `text` apart.
    fn read(text: &str, table: Spanned<toml::Table>) -> Self {
        let (line, _) = line_column(text, table.span().start);
        let table = table.into_inner();
        let id = table.get("id").and_then(toml::Value::as_str).map(str::to_owned);
        let fields = table.try_into().map_err(|error: toml::de::Error| {
            // Without the text at hand the reader says the field on a line of its own
            // ("in `min`"); one line reads better in a list.
            let message = error.to_string().lines().map(str::trim).collect::<Vec<_>>().join(" ");
            message.trim().to_owned()
        });
        Self { line, id, fields }
    }
}

/// The line and column (from 1) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before.get(line_start..).map_or(0, |line| line.chars().count());
    (before.matches('\n').count() + 1, column + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("æø\nå", 4), (1, 3));
        assert_eq!(line_column("æø\nå", 5), (2, 1));
    }

    #[test]
    fn each_table_keeps_its_line_and_id_even_when_its_values_do_not_fit() {
        let text =
            "[server]\nlisten = \"x\"\n\n[[stores]]\nid = \"oslo\"\nmsm = \"1234\"\n\n[[stores]]\nname = 5\n";
        let raw = read(text, Path::new("kasse.toml")).unwrap();
        let server = raw.server.unwrap();
        assert_eq!((server.line, server.fields.unwrap().listen.as_deref()), (1, Some("x")));
        let [oslo, unnamed] = raw.stores.as_slice() else { panic!("two stores") };
        assert_eq!((oslo.line, oslo.id.as_deref()), (4, Some("oslo")));
        assert!(oslo.fields.as_ref().is_err_and(|why| why.starts_with("unknown field `msm`")));
        assert_eq!((unnamed.line, unnamed.id.as_deref()), (8, None));
        assert!(raw.tills.is_empty() && raw.platform.is_none());
    }

    #[test]
    fn a_secret_written_into_the_file_is_dropped_unread() {
        let text = "[[stores]]\nid = \"a\"\nname = \"A\"\nmsn = \"1234\"\ncurrency = \"NOK\"\n\
                    client_secret = \"hunter2\"\nsubscription_key = { env = \"KEY\", file = \"key\" }\n";
        let raw = read(text, Path::new("kasse.toml")).unwrap();
        let store = raw.stores.into_iter().next().unwrap().fields.unwrap();
        assert!(matches!(store.client_secret, Some(SecretRef::Written)));
        assert!(matches!(
            store.subscription_key,
            Some(SecretRef::Named { env: Some(env), file: Some(_) }) if env == "KEY"
        ));
    }
}

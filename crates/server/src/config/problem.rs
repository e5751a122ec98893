//! What can be wrong with a configuration, each kind a sentence an operator can act on.
//!
//! The sentences name the table and field (and, for what only a file can get wrong, the file and
//! line), never a secret's value. `kasse-server check-config` prints them as they are, so their
//! wording is part of what operators and tests rely on.

use std::fmt;
use std::path::PathBuf;

use kasse_api::{Currency, MAX_PAYMENT_MINOR};
use url::Url;

use super::ProviderKind;
use super::secrets::{SecretError, SecretSource};

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
    /// `provider = "sim"` in a build without the built-in simulator.
    #[error(
        "[platform] provider = \"sim\" (the default) runs the simulator built into kasse-server, and this \
         kasse-server has none (it was built without the `sim` feature, as production builds are): set \
         provider to \"test\" or \"production\", or point base_url at a kasse-sim of its own"
    )]
    NoBuiltInSimulator,
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
        /// The value as written; a database URL with `***` for its password.
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
    /// A webhook clock-skew window that would refuse every webhook or let a forged date through.
    #[error(
        "[server] webhook_max_skew_secs = {0} must be between 1 and 3600 (how far a webhook's date \
         may be ahead of our clock, and the age after which one that no longer matters is dropped)"
    )]
    BadWebhookSkew(u64),
    /// A real platform reached over plain http.
    #[error(
        "[platform] base_url = \"{url}\" (or KASSE_PLATFORM_URL) must start with https:// with \
         provider {provider}: the platform's calls carry the store's secrets and its customers' \
         payments, which must not cross the network in the clear"
    )]
    InsecurePlatformUrl {
        /// The provider.
        provider: ProviderKind,
        /// The URL.
        url: Url,
    },
}

/// ", line L, column C" when the place is known.
fn at_line_column(at: Option<(usize, usize)>) -> String {
    at.map(|(line, column)| format!(", line {line}, column {column}")).unwrap_or_default()
}

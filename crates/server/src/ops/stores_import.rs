//! `kasse-server stores import --org ORGNO`: the merchant's sales units, as the Management API
//! lists them, written into the configuration file's `[[stores]]`.
//!
//! The platform is asked with the keys of a store already configured (a merchant's keys read
//! their own business): the merchant by its business registration, for its country (which gives
//! the currency: NOK in Norway, DKK in Denmark, EUR in Finland), and its sales units, each an MSN
//! and a name. A unit no store has yet becomes a new `[[stores]]` with an id made from its name;
//! a store of a listed MSN gets the unit's name and currency where they differ; nothing else is
//! touched. Secrets are never written: the API does not know them, and a new store's keys are
//! the merchant's to add (the report says how). The file is edited in place, its comments and
//! layout kept (`toml_edit`), and replaced whole, so a crash leaves the old file or the new one.

use std::path::{Path, PathBuf};

use kasse_vipps::Currency;
use kasse_vipps::management::{BusinessIdentifier, SalesUnitSummary};
use serde::Serialize;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::Tools;
use crate::config::default_variable;

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// The merchant's organisation number: 9 digits in Norway, a CVR number (8 digits) in
    /// Denmark, a Y-tunnus (`1234567-8`) in Finland.
    pub org: String,
    /// The registry, when the number does not tell (`business:NO:ORG`).
    pub scheme: Option<String>,
    /// The store whose keys ask the platform; the first store with keys when `None`.
    pub using: Option<String>,
    /// Only say what would change.
    pub dry_run: bool,
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The number's registry is not clear from it.
    #[error(
        "{0:?} is not an organisation number kasse recognises (9 digits in Norway, 8 in Denmark, \
         1234567-8 in Finland): name its registry with --scheme, e.g. --scheme business:NO:ORG"
    )]
    UnknownRegistry(String),
    /// The registry is not one the platform names.
    #[error(
        "{0:?} is not a registry: --scheme looks like business:NO:ORG, business:DK:CVR or business:FI:Y-tunnus"
    )]
    BadScheme(String),
    /// The configuration came from no file.
    #[error("stores are imported into a configuration file: give one with --config")]
    NoFile,
    /// No store's keys to ask with.
    #[error("no store has keys to ask the platform with: configure one store with its keys first")]
    NoKeys,
    /// `--using` names no store.
    #[error("no store {0:?} in the configuration")]
    UnknownStore(String),
    /// The platform would not say.
    #[error("the Management API did not answer with {store}'s keys: {error}")]
    Platform {
        /// Whose keys asked.
        store: String,
        /// What the platform said.
        error: kasse_vipps::Error,
    },
    /// The merchant's country has no currency kasse takes.
    #[error("the merchant is registered in {0:?}; kasse's stores take NOK (NO), DKK (DK) or EUR (FI)")]
    Country(String),
    /// The file could not be read or written.
    #[error("{path}: {error}")]
    File {
        /// The configuration file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The file is not TOML, or its `stores` is not a list of tables.
    #[error("{path}: {reason}")]
    Toml {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// What the import found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The merchant, as the platform names it.
    pub merchant: String,
    /// Its registration, `business:NO:ORG 987654321`.
    pub business: String,
    /// The currency of its country.
    pub currency: Currency,
    /// One entry per sales unit listed, and per configured store not among them.
    pub stores: Vec<StoreChange>,
    /// Whether the file was written (false in a dry run, or when nothing changed).
    pub written: bool,
}

impl Report {
    /// How many entries are of `kind`.
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.stores.iter().filter(|s| s.kind == kind).count()
    }
}

/// What became of one store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreChange {
    /// The store's id (a new one's, as made from its name).
    pub store: String,
    /// Its sales unit.
    pub msn: String,
    /// What changed.
    pub kind: ChangeKind,
    /// The sentence the report shows.
    pub says: String,
}

/// What happened to a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A sales unit no store had: a new store.
    Added,
    /// A store whose name or currency the platform has otherwise: set to the platform's.
    Updated,
    /// A store that already says what the platform says.
    Unchanged,
    /// A configured store whose MSN the merchant's list lacks: left as it is.
    NotListed,
}

/// Lists the merchant's sales units and merges them into the configuration file's stores.
pub async fn import(tools: &Tools, file: Option<&Path>, request: &Request) -> Result<Report, ImportError> {
    let path = file.ok_or(ImportError::NoFile)?;
    let business = business_of(&request.org, request.scheme.as_deref())?;
    let (store, client) = match &request.using {
        Some(id) => {
            let store = tools.config.stores.iter().find(|s| s.id == *id);
            let store = store.ok_or_else(|| ImportError::UnknownStore(id.clone()))?;
            (store, tools.unit(&store.msn).ok_or(ImportError::NoKeys)?.1)
        }
        None => tools.units().into_iter().next().ok_or(ImportError::NoKeys)?,
    };
    let asked = |error| ImportError::Platform { store: store.id.clone(), error };
    let merchant = client.merchant(&business).await.map_err(asked)?;
    let units = client.merchant_sales_units(&business).await.map_err(asked)?;
    let country = merchant.country_code.as_deref().or_else(|| business.country()).unwrap_or_default();
    let currency = currency_of(country).ok_or_else(|| ImportError::Country(country.to_owned()))?;

    let text =
        std::fs::read_to_string(path).map_err(|error| ImportError::File { path: path.into(), error })?;
    let mut document: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ImportError::Toml { path: path.into(), reason: e.to_string() })?;
    let stores = merge(&mut document, &units, currency)
        .map_err(|reason| ImportError::Toml { path: path.into(), reason })?;
    let changed = stores.iter().any(|s| matches!(s.kind, ChangeKind::Added | ChangeKind::Updated));
    let written = changed && !request.dry_run;
    if written {
        replace(path, &document.to_string())
            .map_err(|error| ImportError::File { path: path.into(), error })?;
    }
    Ok(Report {
        merchant: merchant.name,
        business: format!("{} {}", business.scheme, business.id),
        currency,
        stores,
        written,
    })
}

/// The registration of an organisation number: its registry from `scheme`, or from its form.
fn business_of(org: &str, scheme: Option<&str>) -> Result<BusinessIdentifier, ImportError> {
    let org = org.trim();
    let digits = |n: usize| org.len() == n && org.bytes().all(|b| b.is_ascii_digit());
    let scheme = match scheme {
        Some(scheme) => {
            let parts: Vec<&str> = scheme.split(':').collect();
            if parts.len() < 3 || parts[0] != "business" || parts.iter().any(|p| p.is_empty()) {
                return Err(ImportError::BadScheme(scheme.to_owned()));
            }
            scheme
        }
        None if digits(9) => "business:NO:ORG",
        None if digits(8) => "business:DK:CVR",
        None if org.len() == 9
            && org.as_bytes()[7] == b'-'
            && org.bytes().filter(u8::is_ascii_digit).count() == 8 =>
        {
            "business:FI:Y-tunnus"
        }
        None => return Err(ImportError::UnknownRegistry(org.to_owned())),
    };
    Ok(BusinessIdentifier { scheme: scheme.to_owned(), id: org.to_owned() })
}

/// The currency the sales units of a business in `country` take.
fn currency_of(country: &str) -> Option<Currency> {
    match country {
        "NO" => Some(Currency::Nok),
        "DK" => Some(Currency::Dkk),
        "FI" => Some(Currency::Eur),
        _ => None,
    }
}

/// How a currency is written in the configuration.
pub const fn currency_name(currency: Currency) -> &'static str {
    match currency {
        Currency::Nok => "NOK",
        Currency::Dkk => "DKK",
        Currency::Eur => "EUR",
    }
}

/// Merges `units` into `document`'s `[[stores]]`: what became of each store, or why the file's
/// stores cannot be read.
fn merge(
    document: &mut DocumentMut,
    units: &[SalesUnitSummary],
    currency: Currency,
) -> Result<Vec<StoreChange>, String> {
    let currency = currency_name(currency);
    if !document.contains_key("stores") {
        document.insert("stores", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let stores = document
        .get_mut("stores")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or("`stores` is not a list of [[stores]] tables")?;
    let text = |table: &Table, key: &str| table.get(key).and_then(Item::as_str).map(str::to_owned);
    let mut ids: Vec<String> = stores.iter().filter_map(|t| text(t, "id")).collect();
    let mut changes = Vec::new();
    for unit in units {
        let existing = stores.iter_mut().find(|t| text(t, "msn").as_deref() == Some(unit.msn.as_str()));
        let Some(table) = existing else {
            let id = new_id(&unit.name, &unit.msn, &ids);
            let mut table = Table::new();
            table.insert("id", value(&id));
            table.insert("name", value(&unit.name));
            table.insert("msn", value(&unit.msn));
            table.insert("currency", value(currency));
            stores.push(table);
            changes.push(StoreChange {
                says: format!(
                    "{id}: new, MSN {}, \"{}\", {currency}; add its keys (client_id here, {} and {}) and its [[tills]]",
                    unit.msn,
                    unit.name,
                    default_variable(&id, "client_secret"),
                    default_variable(&id, "subscription_key"),
                ),
                store: id.clone(),
                msn: unit.msn.clone(),
                kind: ChangeKind::Added,
            });
            ids.push(id);
            continue;
        };
        let id = text(table, "id").unwrap_or_default();
        let mut said = Vec::new();
        for (key, platform) in [("name", unit.name.as_str()), ("currency", currency)] {
            let ours = text(table, key);
            if ours.as_deref() != Some(platform) {
                said.push(format!(
                    "{key} {} → \"{platform}\"",
                    ours.map_or("unset".to_owned(), |o| format!("\"{o}\""))
                ));
                // Keeps the line's place and its comment: only the value changes.
                match table.get_mut(key).and_then(Item::as_value_mut) {
                    Some(old) => {
                        let decor = old.decor().clone();
                        *old = platform.into();
                        *old.decor_mut() = decor;
                    }
                    None => {
                        table.insert(key, value(platform));
                    }
                }
            }
        }
        let (kind, says) = if said.is_empty() {
            (ChangeKind::Unchanged, format!("{id}: MSN {} as the platform has it", unit.msn))
        } else {
            (ChangeKind::Updated, format!("{id}: MSN {}, {}", unit.msn, said.join(", ")))
        };
        changes.push(StoreChange { store: id, msn: unit.msn.clone(), kind, says });
    }
    for table in stores.iter() {
        let msn = text(table, "msn").unwrap_or_default();
        if !units.iter().any(|u| u.msn == msn) {
            let id = text(table, "id").unwrap_or_default();
            changes.push(StoreChange {
                says: format!("{id}: MSN {msn} is not among this merchant's sales units; left as it is"),
                store: id,
                msn,
                kind: ChangeKind::NotListed,
            });
        }
    }
    Ok(changes)
}

/// A store id made from a unit's name (`Kaffebrenneriet Majorstuen` → `kaffebrenneriet-majorstuen`):
/// lower-case letters, digits and '-', at most 32 characters, and none of `taken`.
fn new_id(name: &str, msn: &str, taken: &[String]) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        let spelt = match c {
            'æ' | 'ä' => "ae",
            'ø' | 'ö' => "o",
            'å' | 'à' | 'á' | 'â' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'ü' | 'ú' => "u",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                slug.push(c);
                continue;
            }
            _ => "-",
        };
        if spelt == "-" && (slug.is_empty() || slug.ends_with('-')) {
            continue;
        }
        slug.push_str(spelt);
    }
    let fit = |s: &str, max: usize| s.chars().take(max).collect::<String>().trim_end_matches('-').to_owned();
    let mut id = fit(&slug, 32);
    if id.is_empty() {
        id = format!("store-{msn}");
    }
    if taken.contains(&id) {
        id = format!("{}-{msn}", fit(&id, 31_usize.saturating_sub(msn.len())));
    }
    id
}

/// Writes `text` to `path` by replacing the file whole, with the old file's permissions: the
/// new text is written beside it and made durable first, so a crash leaves the old file or the
/// new one. A symbolic link is followed, so the file it names is the one replaced.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let path = std::fs::canonicalize(path)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".import");
    let temporary = PathBuf::from(temporary);
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::metadata(&path))
        .and_then(|old| std::fs::set_permissions(&temporary, old.permissions()))
        .and_then(|()| std::fs::rename(&temporary, &path))
        // The rename itself is made durable with the folder's entry.
        .and_then(|()| path.parent().map_or(Ok(()), |folder| std::fs::File::open(folder)?.sync_all()));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisation_number_names_its_registry_by_its_form() {
        let scheme = |org: &str| business_of(org, None).map(|b| b.scheme);
        assert_eq!(scheme("987654321").unwrap(), "business:NO:ORG");
        assert_eq!(scheme("12345678").unwrap(), "business:DK:CVR");
        assert_eq!(scheme("1234567-8").unwrap(), "business:FI:Y-tunnus");
        assert!(matches!(scheme("98765"), Err(ImportError::UnknownRegistry(_))));
        assert!(matches!(business_of("1", Some("NO:ORG")), Err(ImportError::BadScheme(_))));
        assert_eq!(business_of("1", Some("business:SE:ORG")).unwrap().scheme, "business:SE:ORG");
    }

    #[test]
    fn a_new_stores_id_is_its_name_spelt_as_an_id_and_never_one_taken() {
        assert_eq!(new_id("Kaffebrenneriet Majorstuen", "456789", &[]), "kaffebrenneriet-majorstuen");
        assert_eq!(new_id("Bageriet Nørrebro (Ø)", "1", &[]), "bageriet-norrebro-o");
        assert_eq!(new_id("  Kahvila Kallio – Helsinki ", "1", &[]), "kahvila-kallio-helsinki");
        assert_eq!(new_id("***", "456789", &[]), "store-456789");
        let long = new_id("A very long shop name that goes on and on", "456789", &[]);
        assert_eq!(long, "a-very-long-shop-name-that-goes");
        let again =
            new_id("A very long shop name that goes on and on", "456789", std::slice::from_ref(&long));
        assert_eq!(again, "a-very-long-shop-name-tha-456789");
        assert_eq!(again.len(), 32);
    }

    #[test]
    fn merging_adds_new_units_updates_differing_ones_and_keeps_comments_and_secrets() {
        let mut document: DocumentMut = "# The shops.\n\n[[stores]]\n# Ours.\nid = \"grunerlokka\"\n\
             name = \"Grünerløkka\" # what customers see\nmsn = \"123456\"\ncurrency = \"NOK\"\n\
             client_secret = { env = \"SECRET\" }\n\n[[stores]]\nid = \"old\"\nname = \"Old\"\nmsn = \"999999\"\ncurrency = \"NOK\"\n"
            .parse()
            .unwrap();
        let units = [
            SalesUnitSummary { msn: "123456".into(), name: "Kaffebrenneriet Grünerløkka".into() },
            SalesUnitSummary { msn: "456789".into(), name: "Kaffebrenneriet Majorstuen".into() },
        ];
        let changes = merge(&mut document, &units, Currency::Nok).unwrap();
        let kinds: Vec<_> = changes.iter().map(|c| (c.store.as_str(), c.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("grunerlokka", ChangeKind::Updated),
                ("kaffebrenneriet-majorstuen", ChangeKind::Added),
                ("old", ChangeKind::NotListed)
            ]
        );
        let text = document.to_string();
        assert!(text.contains("# The shops.") && text.contains("# Ours."), "{text}");
        assert!(text.contains("name = \"Kaffebrenneriet Grünerløkka\" # what customers see"), "{text}");
        assert!(text.contains("client_secret = { env = \"SECRET\" }"), "{text}");
        assert!(text.contains("id = \"kaffebrenneriet-majorstuen\"\nname = \"Kaffebrenneriet Majorstuen\"\nmsn = \"456789\"\ncurrency = \"NOK\""), "{text}");

        // The same again changes nothing.
        let again = merge(&mut document, &units, Currency::Nok).unwrap();
        assert!(again.iter().all(|c| matches!(c.kind, ChangeKind::Unchanged | ChangeKind::NotListed)));
        assert_eq!(document.to_string(), text);
    }

    #[test]
    fn stores_that_are_not_tables_are_refused() {
        let mut document: DocumentMut = "stores = 3\n".parse().unwrap();
        assert!(merge(&mut document, &[], Currency::Nok).is_err());
    }
}

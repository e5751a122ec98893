//! `kasse-server qr migrate`: moves a merchant's printed MobilePay PoS QR stickers (beacons) to
//! the new platform, so that they keep working, and records which till each one rings.
//!
//! The merchant's list of points of sale (CSV or JSON; [`read_pos_list`]) gives per beacon its
//! `beaconId`, its old PoS name, its store's MSN and, optionally, its till. Every row is checked
//! first ([`plan`]): a row with a mistake is reported and left alone, and the others go on. Each
//! good row is then sent as `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}` with the PoS name
//! as `locationDescription` (shortened to the platform's 36 characters, with a note), and its till
//! saved in the database, which check-in routing reads ([`crate::sales::routing::route`]).
//!
//! Safe to run again: the platform's PUT creates or updates, so the sales unit's callback QRs are
//! listed first and a beacon already there with the same name is left alone and reported as
//! such. Whatever a crash or a failed call leaves undone, the next run does. The client retries
//! 5xx and 429 (honouring `Retry-After`), a row whose calls all failed is tried once more at the
//! end, and the report counts the retries. The QR API publishes no rate limit, so each sales unit
//! gets at most [`IN_FLIGHT`] calls at a time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read as _;
use std::path::Path;

use csv::StringRecord;
use futures_util::StreamExt as _;
use kasse_vipps::qr::{CallbackQrImage, MAX_LOCATION_DESCRIPTION, MerchantCallbackMobilePayPutRequest};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::Tools;
use crate::config::Config;
use crate::sales::routing::is_guid;
use crate::store::{CallbackQrKind, CallbackQrRow};

/// Platform calls in flight at once per sales unit.
pub const IN_FLIGHT: usize = 4;

/// How often a row whose platform call got no answer is tried again at the end of the run (the
/// client has already retried each call a few times).
const EXTRA_ROUNDS: usize = 1;

// ------------------------------------------------------------------------------------------------
// The merchant's list
// ------------------------------------------------------------------------------------------------

/// One row of the merchant's PoS list, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PosRow {
    /// Its place among the rows, from 1 (a CSV file's header is not a row).
    pub row: usize,
    /// The beacon's id: 15 digits or a GUID.
    pub beacon_id: Option<String>,
    /// The PoS name, which becomes the location the app shows after a scan.
    pub pos_name: Option<String>,
    /// The merchant serial number of its store.
    pub msn: Option<String>,
    /// The till it belongs to (our id for it).
    pub till: Option<String>,
}

/// Why the list could not be read at all. Nothing is done then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read {file}: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Not JSON that kasse understands.
    #[error("{file} is not a JSON array of points of sale: {reason}")]
    BadJson {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A CSV file without a column it needs.
    #[error(
        "{file} has no {column} column; the first line must name the columns, e.g. \
         beaconId,posName,msn,till"
    )]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: &'static str,
    },
    /// A CSV line kasse cannot split into fields.
    #[error("{file}, line {line}: {reason}")]
    BadCsv {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: String,
    },
    /// No rows at all.
    #[error("{0} lists no points of sale")]
    Empty(String),
}

/// Reads the merchant's PoS list: JSON if the file is `.json` or starts with `[`, else CSV.
pub fn read_pos_list(path: &Path) -> Result<Vec<PosRow>, InputError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::Unreadable { file: file.clone(), reason: e.to_string() })?;
    let text = String::from_utf8(bytes).map_err(|_| InputError::Unreadable {
        file: file.clone(),
        reason: "it is not UTF-8 text".to_owned(),
    })?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start_matches('\u{feff}').trim_start().starts_with('[');
    if json { parse_json(&text, &file) } else { parse_csv(&text, &file) }
}

/// The PoS rows of a JSON array of objects with `beaconId`, `posName` (or `name`, as the PoS API
/// called it), `msn` (or `merchantSerialNumber`) and `till`. Other fields are ignored; numbers are
/// read as their digits.
pub fn parse_json(text: &str, file: &str) -> Result<Vec<PosRow>, InputError> {
    let bad = |reason: String| InputError::BadJson { file: file.to_owned(), reason };
    let value: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| bad(e.to_string()))?;
    let Value::Array(entries) = value else { return Err(bad("the top level is not an array".to_owned())) };
    if entries.is_empty() {
        return Err(InputError::Empty(file.to_owned()));
    }
    Ok(entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let field = |names: &[&str]| {
                names.iter().find_map(|name| match entry.get(*name)? {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            PosRow {
                row: index + 1,
                beacon_id: field(&["beaconId", "beacon_id"]),
                pos_name: field(&["posName", "name", "pos_name"]),
                msn: field(&["msn", "merchantSerialNumber"]),
                till: field(&["till", "tillId", "till_id"]),
            }
        })
        .collect())
}

/// The PoS rows of a CSV file whose first line names the columns (`beaconId`, `posName` or `name`,
/// `msn`, `till`, in any order and case; others are ignored). Fields are separated by commas, or
/// by semicolons or tabs when the header is (as spreadsheets in Denmark and Finland save them),
/// and may be quoted with `"`. Lines with nothing but separators and blanks are skipped.
pub fn parse_csv(text: &str, file: &str) -> Result<Vec<PosRow>, InputError> {
    let text = text.trim_start_matches('\u{feff}');
    let records = split_csv(text).map_err(|(line, reason)| InputError::BadCsv {
        file: file.to_owned(),
        line,
        reason,
    })?;
    let mut records = records.into_iter().filter(|record| record.iter().any(|f| !f.trim().is_empty()));
    let Some(header) = records.next() else { return Err(InputError::Empty(file.to_owned())) };
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase())
        .collect();
    let column = |aliases: &[&str]| names.iter().position(|n| aliases.contains(&n.as_str()));
    let beacon = column(&["beaconid", "beacon"]);
    let pos_name = column(&["posname", "name"]);
    let msn = column(&["msn", "merchantserialnumber"]);
    let till = column(&["till", "tillid"]);
    let missing = |column: &'static str| InputError::MissingColumn { file: file.to_owned(), column };
    let beacon = beacon.ok_or_else(|| missing("beaconId"))?;
    let pos_name = pos_name.ok_or_else(|| missing("posName"))?;
    let rows: Vec<PosRow> = records
        .enumerate()
        .map(|(index, record)| {
            let field = |at: Option<usize>| {
                at.and_then(|i| record.get(i)).map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned)
            };
            PosRow {
                row: index + 1,
                beacon_id: field(Some(beacon)),
                pos_name: field(Some(pos_name)),
                msn: field(msn),
                till: field(till),
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(InputError::Empty(file.to_owned()));
    }
    Ok(rows)
}

/// A line put after the text for [`split_csv`]: it comes back as a record of its own unless the
/// text ends inside a quoted field, which swallows it.
const END_OF_TEXT: &str = "kasse: end of text";

/// Splits CSV text into records with the [`csv`] crate (RFC 4180: a quote inside a quoted field is
/// doubled, and a quoted field may span lines), the delimiter being whichever of `,` `;` and tab
/// the first line that is not blank has most of. Rows may have fewer or more fields than the
/// header. A failure names the line the record starts on, and why.
fn split_csv(text: &str) -> Result<Vec<StringRecord>, (usize, String)> {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let marked = text.as_bytes().chain(&b"\n"[..]).chain(END_OF_TEXT.as_bytes());
    // Cannot fail on UTF-8 text with rows of any length, but says where if it does.
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(marked)
        .into_records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (e.position().map_or(1, |p| line_of(text, p)), e.to_string()))?;
    // The crate reads a quote left open to the end of the file without a word, which would make
    // the rest of a broken file one PoS name; the swallowed end line gives it away.
    match records.pop() {
        Some(open) if !open.iter().eq([END_OF_TEXT]) => {
            Err((open.position().map_or(1, |p| line_of(text, p)), "a quoted field is not closed".to_owned()))
        }
        _ => Ok(records),
    }
}

/// The line, from 1, of the record the crate read from `position`: the crate's own line number
/// counts the blank lines it skips before the record as the record's.
fn line_of(text: &str, position: &csv::Position) -> usize {
    let bytes = text.as_bytes();
    let from = usize::try_from(position.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
    let blank = bytes[from..].iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    // A line more than the line breaks before it.
    bytes[..from + blank].split(|b| *b == b'\n').count()
}

// ------------------------------------------------------------------------------------------------
// The report
// ------------------------------------------------------------------------------------------------

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The beacon is now a callback QR of the store (in a dry run: would be).
    Migrated,
    /// It was there with another name, which the app now shows (in a dry run: would).
    Updated,
    /// It was there as the row says: nothing was sent.
    AlreadyThere,
    /// Nothing was done (or the platform part was, but not the till's record); the problem says why.
    Failed,
}

impl Outcome {
    /// How the report says it.
    pub const fn words(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Self::Migrated, false) => "migrated",
            (Self::Migrated, true) => "would migrate",
            (Self::Updated, false) => "updated",
            (Self::Updated, true) => "would update",
            (Self::AlreadyThere, _) => "already there",
            (Self::Failed, _) => "failed",
        }
    }
}

/// Why a row was not (fully) migrated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// No beacon id.
    #[error("no beaconId")]
    MissingBeaconId,
    /// A beacon id that is not one.
    #[error("beaconId {0:?} is not a MobilePay beacon id (15 digits, or a GUID)")]
    BadBeaconId(String),
    /// No PoS name.
    #[error("no posName (the app shows it as the location after a scan)")]
    MissingPosName,
    /// No MSN, and nothing to tell the store by.
    #[error("no MSN, and no till to tell the store by")]
    MissingMsn,
    /// An MSN that is none of our stores'.
    #[error("MSN {msn} is not one of the configured stores ({known})")]
    UnknownMsn {
        /// The MSN as written.
        msn: String,
        /// The stores' MSNs.
        known: String,
    },
    /// A till that is not in the configuration.
    #[error("there is no till {0:?} in the configuration")]
    UnknownTill(String),
    /// A till of another store than the row's MSN.
    #[error("till {till} is at MSN {till_msn}, not at MSN {msn}")]
    TillAtOtherStore {
        /// The till.
        till: String,
        /// Its store's MSN.
        till_msn: String,
        /// The row's MSN.
        msn: String,
    },
    /// The same beacon on an earlier row, identically.
    #[error("beaconId {beacon_id} is on row {first} already; a beacon is migrated once")]
    Duplicate {
        /// The beacon.
        beacon_id: String,
        /// The row that is migrated.
        first: usize,
    },
    /// The same beacon on several rows that disagree.
    #[error(
        "beaconId {beacon_id} is on rows {rows}, which disagree; a beacon belongs to one till — keep one row"
    )]
    ConflictingDuplicates {
        /// The beacon.
        beacon_id: String,
        /// Every row with it.
        rows: String,
    },
    /// The configuration sends this beacon to another till.
    #[error(
        "beaconId {beacon_id} is till {configured}'s callback_qr in the configuration, not till {till}'s"
    )]
    ConflictsWithConfig {
        /// The beacon.
        beacon_id: String,
        /// The till the configuration names.
        configured: String,
        /// The till the row names.
        till: String,
    },
    /// The platform says the beacon is not this store's to take.
    #[error(
        "the platform refused (409): beacon {0} is migrated to another sales unit, or this one has an \
         ordinary callback QR with that id"
    )]
    Taken(String),
    /// The platform refused the row.
    #[error("the platform refused: {0}")]
    Rejected(String),
    /// No answer from the platform.
    #[error("the platform did not answer ({0}); run the command again to finish")]
    Unavailable(String),
    /// Up at the platform, but the till could not be recorded.
    #[error(
        "migrated at the platform, but the database failed ({0}), so its check-ins reach no till; run again"
    )]
    NotSaved(String),
}

impl RowProblem {
    /// A stable name for scripts.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MissingBeaconId => "missing-beacon-id",
            Self::BadBeaconId(_) => "bad-beacon-id",
            Self::MissingPosName => "missing-pos-name",
            Self::MissingMsn => "missing-msn",
            Self::UnknownMsn { .. } => "unknown-msn",
            Self::UnknownTill(_) => "unknown-till",
            Self::TillAtOtherStore { .. } => "till-at-other-store",
            Self::Duplicate { .. } => "duplicate-beacon-id",
            Self::ConflictingDuplicates { .. } => "conflicting-duplicates",
            Self::ConflictsWithConfig { .. } => "conflicts-with-configuration",
            Self::Taken(_) => "taken",
            Self::Rejected(_) => "rejected",
            Self::Unavailable(_) => "platform-unavailable",
            Self::NotSaved(_) => "not-saved",
        }
    }
}

impl Serialize for RowProblem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            code: &'a str,
            message: String,
        }
        Wire { code: self.code(), message: self.to_string() }.serialize(serializer)
    }
}

/// One row's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowReport {
    /// Its place among the rows, from 1.
    pub row: usize,
    /// The beacon, as sent (a GUID in lower case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beacon_id: Option<String>,
    /// Its sales unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msn: Option<String>,
    /// The till its check-ins reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// The location the app shows, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_description: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<RowProblem>,
    /// Anything else worth knowing: a shortened name, a till that changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Rows read.
    pub rows: usize,
    /// Migrated.
    pub migrated: usize,
    /// Renamed.
    pub updated: usize,
    /// Already there.
    pub already_there: usize,
    /// Failed.
    pub failed: usize,
}

/// What a run did, row by row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationReport {
    /// Whether this was a dry run: nothing was sent or saved.
    pub dry_run: bool,
    /// The counts.
    pub counts: Counts,
    /// Platform calls sent again (after no answer, a 5xx or a 429) during the run.
    pub retries: u64,
    /// Every row, in the file's order.
    pub rows: Vec<RowReport>,
}

impl MigrationReport {
    fn new(dry_run: bool, mut rows: Vec<RowReport>, retries: u64) -> Self {
        rows.sort_by_key(|r| r.row);
        let count = |outcome| rows.iter().filter(|r| r.outcome == outcome).count();
        let counts = Counts {
            rows: rows.len(),
            migrated: count(Outcome::Migrated),
            updated: count(Outcome::Updated),
            already_there: count(Outcome::AlreadyThere),
            failed: count(Outcome::Failed),
        };
        Self { dry_run, counts, retries, rows }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} migrated, {} updated, {} already there, {} failed",
            self.rows, self.migrated, self.updated, self.already_there, self.failed
        )
    }
}

// ------------------------------------------------------------------------------------------------
// Checking the rows
// ------------------------------------------------------------------------------------------------

/// A row that passed every check: what to send, and the till to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The row.
    pub row: usize,
    /// The beacon id as the platform keeps it (a GUID in lower case).
    pub beacon_id: String,
    /// Its sales unit.
    pub msn: String,
    /// The till the row names.
    pub till: Option<String>,
    /// The PoS name, shortened to fit.
    pub location: String,
    /// Notes so far.
    pub notes: Vec<String>,
}

impl Job {
    fn report(&self, outcome: Outcome, problem: Option<RowProblem>) -> RowReport {
        RowReport {
            row: self.row,
            beacon_id: Some(self.beacon_id.clone()),
            msn: Some(self.msn.clone()),
            till: self.till.clone(),
            location_description: Some(self.location.clone()),
            outcome,
            problem,
            notes: self.notes.clone(),
        }
    }
}

/// A failed row's report.
fn refused(row: &PosRow, problem: RowProblem) -> RowReport {
    RowReport {
        row: row.row,
        beacon_id: row.beacon_id.clone(),
        msn: row.msn.clone(),
        till: row.till.clone(),
        location_description: None,
        outcome: Outcome::Failed,
        problem: Some(problem),
        notes: Vec::new(),
    }
}

/// The beacon id as the platform keeps it, or why it is none.
fn beacon_id(raw: &str) -> Option<String> {
    let id = raw.trim();
    if id.len() == 15 && id.bytes().all(|b| b.is_ascii_digit()) {
        Some(id.to_owned())
    } else if is_guid(id) {
        Some(id.to_ascii_lowercase())
    } else {
        None
    }
}

/// `name` trimmed and, if longer than the platform allows, cut to 35 characters and an ellipsis.
pub fn shorten(name: &str) -> (String, bool) {
    let name = name.trim();
    if name.chars().count() <= MAX_LOCATION_DESCRIPTION {
        return (name.to_owned(), false);
    }
    let cut: String = name.chars().take(MAX_LOCATION_DESCRIPTION - 1).collect();
    (format!("{}…", cut.trim_end()), true)
}

/// Checks every row against the configuration and the others: the jobs to do, and the reports of
/// the rows refused.
pub fn plan(config: &Config, rows: &[PosRow]) -> (Vec<Job>, Vec<RowReport>) {
    let mut jobs = Vec::new();
    let mut refusals = Vec::new();
    for row in rows {
        match check_row(config, row) {
            Ok(job) => jobs.push(job),
            Err(problem) => refusals.push(refused(row, problem)),
        }
    }
    // Rows that share a beacon: identical ones are one row said twice; different ones cannot
    // all be right, and picking one would be a guess.
    let mut by_beacon: BTreeMap<String, Vec<&PosRow>> = BTreeMap::new();
    for row in rows {
        if let Some(id) = row.beacon_id.as_deref().and_then(beacon_id) {
            by_beacon.entry(id).or_default().push(row);
        }
    }
    for (id, same) in by_beacon.into_iter().filter(|(_, same)| same.len() > 1) {
        let first = same[0];
        let agree = same.iter().all(|r| {
            (r.pos_name.as_deref().map(str::trim), &r.msn, &r.till)
                == (first.pos_name.as_deref().map(str::trim), &first.msn, &first.till)
        });
        let lines = same.iter().map(|r| r.row.to_string()).collect::<Vec<_>>().join(", ");
        for (index, row) in same.iter().enumerate() {
            let problem = if agree {
                if index == 0 {
                    continue;
                }
                RowProblem::Duplicate { beacon_id: id.clone(), first: first.row }
            } else {
                RowProblem::ConflictingDuplicates { beacon_id: id.clone(), rows: lines.clone() }
            };
            if let Some(at) = jobs.iter().position(|j| j.row == row.row) {
                jobs.remove(at);
                refusals.push(refused(row, problem));
            }
        }
    }
    (jobs, refusals)
}

fn check_row(config: &Config, row: &PosRow) -> Result<Job, RowProblem> {
    let raw = row.beacon_id.as_deref().ok_or(RowProblem::MissingBeaconId)?;
    let beacon_id = beacon_id(raw).ok_or_else(|| RowProblem::BadBeaconId(raw.to_owned()))?;
    let name = row.pos_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let name = name.ok_or(RowProblem::MissingPosName)?;
    let till = match row.till.as_deref() {
        Some(id) => Some(config.till(id).ok_or_else(|| RowProblem::UnknownTill(id.to_owned()))?),
        None => None,
    };
    let till_msn = till.and_then(|t| config.store(&t.store)).map(|s| s.msn.clone());
    let mut notes = Vec::new();
    let msn = match (row.msn.as_deref(), till_msn, config.stores.as_slice()) {
        (Some(msn), _, _) => msn.trim().to_owned(),
        (None, Some(msn), _) => msn,
        (None, None, [only]) => {
            notes.push(format!("no MSN given: the only store's, {}", only.msn));
            only.msn.clone()
        }
        (None, None, _) => return Err(RowProblem::MissingMsn),
    };
    if config.store_by_msn(&msn).is_none() {
        let known = config.stores.iter().map(|s| s.msn.as_str()).collect::<Vec<_>>().join(", ");
        return Err(RowProblem::UnknownMsn { msn, known });
    }
    if let Some(till) = till {
        let till_msn = config.store(&till.store).map(|s| s.msn.clone()).unwrap_or_default();
        if till_msn != msn {
            return Err(RowProblem::TillAtOtherStore { till: till.id.clone(), till_msn, msn });
        }
    }
    let configured = config.tills.iter().find(|t| {
        t.callback_qr.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&beacon_id))
            && config.store(&t.store).is_some_and(|s| s.msn == msn)
    });
    match (configured, till) {
        (Some(configured), Some(till)) if configured.id != till.id => {
            return Err(RowProblem::ConflictsWithConfig {
                beacon_id,
                configured: configured.id.clone(),
                till: till.id.clone(),
            });
        }
        (Some(configured), None) => {
            notes.push(format!("reaches till {} by the configuration", configured.id));
        }
        _ => {}
    }
    let (location, shortened) = shorten(name);
    if shortened {
        notes.push(format!(
            "posName is {} characters, more than the platform's {MAX_LOCATION_DESCRIPTION}: sent as {location:?}",
            name.chars().count()
        ));
    }
    Ok(Job { row: row.row, beacon_id, msn, till: till.map(|t| t.id.clone()), location, notes })
}

// ------------------------------------------------------------------------------------------------
// Running
// ------------------------------------------------------------------------------------------------

/// How to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Check and read only: send nothing to the platform, save nothing.
    pub dry_run: bool,
}

/// Migrates `rows`: checks them all, then sends the good ones, each sales unit's [`IN_FLIGHT`] at
/// a time, calling `progress` as each row is done (refused rows first).
pub async fn run(
    tools: &Tools,
    rows: &[PosRow],
    options: Options,
    progress: &(dyn Fn(&RowReport) + Sync),
) -> MigrationReport {
    let before = tools.retried();
    let (jobs, refusals) = plan(&tools.config, rows);
    for report in &refusals {
        progress(report);
    }
    let mut reports = refusals;
    let mut by_msn: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        by_msn.entry(job.msn.clone()).or_default().push(job);
    }
    for (msn, jobs) in by_msn {
        reports.extend(run_unit(tools, &msn, jobs, options, progress).await);
    }
    MigrationReport::new(options.dry_run, reports, tools.retried() - before)
}

/// One sales unit's jobs.
async fn run_unit(
    tools: &Tools,
    msn: &str,
    jobs: Vec<Job>,
    options: Options,
    progress: &(dyn Fn(&RowReport) + Sync),
) -> Vec<RowReport> {
    let Some((_, client)) = tools.unit(msn) else {
        let problem = RowProblem::Rejected("the store has no platform client".to_owned());
        return jobs.iter().map(|job| job.report(Outcome::Failed, Some(problem.clone()))).collect();
    };
    // What the platform has: a beacon there with the same name needs nothing.
    let existing: HashMap<String, String> = match client.list_callback_qrs(CallbackQrImage::default()).await {
        Ok(qrs) => qrs
            .into_iter()
            .filter_map(|qr| {
                Some((qr.merchant_qr_id?.to_ascii_lowercase(), qr.location_description.unwrap_or_default()))
            })
            .collect(),
        Err(e) => {
            let problem = if e.outcome_unknown() {
                RowProblem::Unavailable(format!("listing the sales unit's callback QRs: {e}"))
            } else {
                RowProblem::Rejected(format!("listing the sales unit's callback QRs: {e}"))
            };
            let reports: Vec<_> =
                jobs.iter().map(|job| job.report(Outcome::Failed, Some(problem.clone()))).collect();
            reports.iter().for_each(progress);
            return reports;
        }
    };
    let mut done = Vec::new();
    let mut pending = jobs;
    for round in 0..=EXTRA_ROUNDS {
        let last = round == EXTRA_ROUNDS;
        let mut again = Vec::new();
        let mut results = futures_util::stream::iter(pending)
            .map(|job| {
                let (client, existing) = (&client, &existing);
                async move {
                    let report = migrate_one(tools, client, existing, &job, options).await;
                    (job, report)
                }
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some((job, report)) = results.next().await {
            if matches!(report.problem, Some(RowProblem::Unavailable(_))) && !last {
                again.push(job);
            } else {
                progress(&report);
                done.push(report);
            }
        }
        pending = again;
        if pending.is_empty() {
            break;
        }
    }
    done
}

/// One beacon: sent unless it is there already, then its till recorded.
async fn migrate_one(
    tools: &Tools,
    client: &kasse_vipps::Client,
    existing: &HashMap<String, String>,
    job: &Job,
    options: Options,
) -> RowReport {
    let mut job = job.clone();
    let outcome = match existing.get(&job.beacon_id) {
        Some(shown) if *shown == job.location => Outcome::AlreadyThere,
        Some(shown) => {
            job.notes.push(format!("the app showed {shown:?}"));
            Outcome::Updated
        }
        None => Outcome::Migrated,
    };
    if outcome != Outcome::AlreadyThere && !options.dry_run {
        let request = MerchantCallbackMobilePayPutRequest { location_description: job.location.clone() };
        if let Err(e) = client.put_mobilepay_qr(&job.beacon_id, &request).await {
            let problem = match e.status() {
                Some(409) => RowProblem::Taken(job.beacon_id.clone()),
                _ if e.outcome_unknown() => RowProblem::Unavailable(e.to_string()),
                _ => RowProblem::Rejected(e.to_string()),
            };
            return job.report(Outcome::Failed, Some(problem));
        }
    }
    match record_till(tools, &mut job, options).await {
        Ok(()) => job.report(outcome, None),
        Err(e) => job.report(Outcome::Failed, Some(RowProblem::NotSaved(e.to_string()))),
    }
}

/// Saves which till the beacon reaches (keeping an earlier run's till when the row names none),
/// with a note of what changed.
async fn record_till(tools: &Tools, job: &mut Job, options: Options) -> Result<(), crate::store::StoreError> {
    let saved = tools.store.callback_qr(&job.msn, &job.beacon_id).await?;
    let earlier = saved.as_ref().and_then(|s| s.till_id.clone());
    let till = job.till.clone().or_else(|| earlier.clone());
    match (&job.till, &earlier) {
        (Some(now), Some(before)) if now != before => job.notes.push(format!("reached till {before} before")),
        (None, Some(before)) => {
            job.notes.push(format!("still reaches till {before}, as saved by an earlier run"));
        }
        (None, None) if !job.notes.iter().any(|n| n.starts_with("reaches till")) => {
            job.notes.push("reaches no till: give the row a till to ring".to_owned());
        }
        _ => {}
    }
    job.till.clone_from(&till);
    let row = CallbackQrRow {
        msn: job.msn.clone(),
        merchant_qr_id: job.beacon_id.clone(),
        kind: CallbackQrKind::Beacon,
        till_id: till,
        location_description: job.location.clone(),
    };
    if options.dry_run || saved.as_ref() == Some(&row) {
        return Ok(());
    }
    tools.store.save_callback_qr(&row, crate::now_ms()).await
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    use super::*;
    use crate::config::TillConfig;

    fn config() -> Config {
        let mut config =
            Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), PathBuf::from("dist"), Path::new("data"));
        let second = TillConfig {
            id: "till-2".into(),
            name: "Kasse 2".into(),
            callback_qr: None,
            redirect_sticker: None,
            ..config.tills[0].clone()
        };
        config.tills.push(second);
        config
    }

    fn row(row: usize, beacon: &str, name: &str, msn: &str, till: &str) -> PosRow {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        PosRow { row, beacon_id: some(beacon), pos_name: some(name), msn: some(msn), till: some(till) }
    }

    #[test]
    fn csv_with_semicolons_quotes_a_bom_and_extra_columns_is_read_by_its_header() {
        let text = "\u{feff}posId;Name;BeaconId;MSN;Till\r\n\
                    p1;\"Kasse 1; ved døren\";100000000000001;123456;till-1\r\n\
                    \r\n\
                    p2;\"Kasse \"\"2\"\"\";27072F82-C4B6-49CD-9838-10F21D87496E;123456;\r\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [
                row(1, "100000000000001", "Kasse 1; ved døren", "123456", "till-1"),
                row(2, "27072F82-C4B6-49CD-9838-10F21D87496E", "Kasse \"2\"", "123456", ""),
            ]
        );
    }

    #[test]
    fn a_csv_file_without_a_beacon_column_or_with_an_open_quote_is_refused_whole() {
        assert!(matches!(
            parse_csv("name,msn\nKasse 1,123456\n", "pos.csv"),
            Err(InputError::MissingColumn { column: "beaconId", .. })
        ));
        assert!(matches!(
            parse_csv("beaconId,posName\n100000000000001,\"Kasse 1\n", "pos.csv"),
            Err(InputError::BadCsv { line: 2, .. })
        ));
        assert!(matches!(parse_csv("beaconId,posName\n", "pos.csv"), Err(InputError::Empty(_))));
    }

    #[test]
    fn a_quoted_field_may_hold_the_delimiter_a_doubled_quote_and_a_line_break() {
        let text = "beaconId,posName,msn\n\
                    100000000000001,\"Kasse 1, \"\"ved\"\"\r\ndøren\",123456\n\
                    100000000000002,Kasse 2,123456";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [
                row(1, "100000000000001", "Kasse 1, \"ved\"\r\ndøren", "123456", ""),
                row(2, "100000000000002", "Kasse 2", "123456", ""),
            ]
        );
    }

    #[test]
    fn tabs_separate_the_fields_when_they_separate_the_header() {
        let rows = parse_csv("beaconId\tposName\n100000000000001\tKasse 1, ved døren\n", "pos.csv").unwrap();
        assert_eq!(rows, [row(1, "100000000000001", "Kasse 1, ved døren", "", "")]);
    }

    #[test]
    fn a_bom_and_lines_without_content_before_the_header_and_between_rows_are_skipped() {
        let text = "\u{feff}\r\n   \r\n;;;\r\nbeaconId;posName\r\n;\r\n100000000000001;Kasse 1\r\n \t \r\n\
                    100000000000002;Kasse 2\r\n\r\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [row(1, "100000000000001", "Kasse 1", "", ""), row(2, "100000000000002", "Kasse 2", "", "")],
            "the row numbers count the rows with content, from the first after the header"
        );
    }

    #[test]
    fn header_names_are_matched_without_case_blanks_or_punctuation_and_the_first_alias_wins() {
        let text = "Name, Beacon ID ,POS-name,Merchant Serial Number,Till_Id,Till\n\
                    Kasse 1,100000000000001,Kasse én,123456,till-1,till-2\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(rows, [row(1, "100000000000001", "Kasse 1", "123456", "till-1")]);
    }

    #[test]
    fn a_row_may_have_fewer_or_more_fields_than_the_header_and_blank_fields_are_missing() {
        let text =
            "beaconId,posName,msn,till\n100000000000001,Kasse 1\n100000000000002,  ,123456,till-1,extra\n";
        let rows = parse_csv(text, "pos.csv").unwrap();
        assert_eq!(
            rows,
            [row(1, "100000000000001", "Kasse 1", "", ""), row(2, "100000000000002", "", "123456", "till-1")]
        );
    }

    #[test]
    fn a_quote_closed_at_the_very_end_of_the_file_is_not_an_open_one() {
        let rows = parse_csv("beaconId,posName\n100000000000001,\"Kasse \"\"1\"\"\"", "pos.csv").unwrap();
        assert_eq!(rows, [row(1, "100000000000001", "Kasse \"1\"", "", "")]);
    }

    #[test]
    fn a_quote_left_open_refuses_the_file_naming_the_line_its_row_starts_on() {
        let text = "beaconId,posName\r\n\"100000000000001\",\"Kasse\r\n1\"\r\n\r\n\r\n\
                    100000000000002,\"Kasse 2\"\"\r\n100000000000003,Kasse 3\r\n";
        let error = parse_csv(text, "pos.csv").unwrap_err();
        assert_eq!(
            error,
            InputError::BadCsv {
                file: "pos.csv".into(),
                line: 6,
                reason: "a quoted field is not closed".into()
            }
        );
        assert_eq!(error.to_string(), "pos.csv, line 6: a quoted field is not closed");
        let error = parse_csv("beaconId,posName\n\"", "pos.csv").unwrap_err();
        assert_eq!(error.to_string(), "pos.csv, line 2: a quoted field is not closed");
    }

    #[test]
    fn a_csv_file_without_a_pos_name_column_says_which_column_and_how_the_header_looks() {
        let error = parse_csv("beaconId;msn\n100000000000001;123456\n", "pos.csv").unwrap_err();
        assert_eq!(
            error.to_string(),
            "pos.csv has no posName column; the first line must name the columns, e.g. beaconId,posName,msn,till"
        );
        assert_eq!(parse_csv("\u{feff}\n ; \n", "pos.csv"), Err(InputError::Empty("pos.csv".into())));
    }

    #[test]
    fn json_takes_the_pos_apis_field_names_and_numbers() {
        let text = r#"[{"beaconId": 100000000000001, "name": "Kasse 1", "msn": 123456, "posId": "x"},
                       {"beaconId": "100000000000002", "posName": "Kasse 2", "till": "till-2"}]"#;
        let rows = parse_json(text, "pos.json").unwrap();
        assert_eq!(
            rows,
            [
                row(1, "100000000000001", "Kasse 1", "123456", ""),
                row(2, "100000000000002", "Kasse 2", "", "till-2")
            ]
        );
        assert!(matches!(parse_json("{}", "pos.json"), Err(InputError::BadJson { .. })));
    }

    #[test]
    fn a_long_pos_name_is_cut_to_36_characters_with_an_ellipsis() {
        let (short, cut) = shorten("Kasse ved inngangen til bakeriet på hjørnet");
        assert!(cut);
        assert_eq!(short.chars().count(), 36);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("  Kasse 1 "), ("Kasse 1".to_owned(), false));
        assert!(!shorten(&"å".repeat(36)).1);
    }

    #[test]
    fn every_bad_row_is_refused_with_its_reason_and_the_good_ones_go_on() {
        let config = config();
        let rows = [
            row(1, "100000000000001", "Kasse 1", "123456", "till-1"),
            row(2, "", "Kasse 2", "123456", ""),
            row(3, "12345", "Kasse 3", "123456", ""),
            row(4, "100000000000004", "", "123456", ""),
            row(5, "100000000000005", "Kasse 5", "999999", ""),
            row(6, "100000000000006", "Kasse 6", "123456", "till-9"),
            row(7, "100000000000007", "Kasse 7", "123456", "till-2"),
            row(8, "100000000000007", "Kasse 7", "123456", "till-2"),
            row(9, "100000000000009", "Kasse 9", "123456", "till-1"),
            row(10, "100000000000009", "Kasse 9", "123456", "till-2"),
            row(11, "till-1", "Kasse 1", "123456", "till-2"),
            row(12, "100000000000012", &"Lang kassenavn ".repeat(4), "", ""),
        ];
        let (jobs, refused) = plan(&config, &rows);
        let codes: Vec<_> =
            refused.iter().map(|r| (r.row, r.problem.as_ref().map(RowProblem::code))).collect();
        assert_eq!(
            codes,
            [
                (2, Some("missing-beacon-id")),
                (3, Some("bad-beacon-id")),
                (4, Some("missing-pos-name")),
                (5, Some("unknown-msn")),
                (6, Some("unknown-till")),
                (11, Some("bad-beacon-id")),
                (8, Some("duplicate-beacon-id")),
                (9, Some("conflicting-duplicates")),
                (10, Some("conflicting-duplicates")),
            ]
        );
        assert_eq!(jobs.iter().map(|j| j.row).collect::<Vec<_>>(), [1, 7, 12]);
        let long = &jobs[2];
        assert!(long.location.chars().count() <= 36 && long.location.ends_with('…'), "{}", long.location);
        assert!(long.notes.iter().any(|n| n.contains("more than the platform's 36")), "{:?}", long.notes);
        assert!(long.notes.iter().any(|n| n.contains("the only store's, 123456")), "{:?}", long.notes);
    }

    #[test]
    fn a_row_that_sends_a_configured_callback_qr_to_another_till_is_refused() {
        let mut config = config();
        config.tills[0].callback_qr = Some("100000000000001".into());
        let (jobs, refused) = plan(&config, &[row(1, "100000000000001", "Kasse 1", "123456", "till-2")]);
        assert!(jobs.is_empty());
        assert_eq!(
            refused[0].problem,
            Some(RowProblem::ConflictsWithConfig {
                beacon_id: "100000000000001".into(),
                configured: "till-1".into(),
                till: "till-2".into(),
            })
        );
        let (jobs, _) = plan(&config, &[row(1, "100000000000001", "Kasse 1", "123456", "")]);
        assert_eq!(jobs[0].notes, ["reaches till till-1 by the configuration"]);
    }
}

//! What a migration did, row by row, and its counts: printed as a table or as JSON.

use std::fmt;

use serde::{Serialize, Serializer};

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
    pub(super) fn new(dry_run: bool, mut rows: Vec<RowReport>, retries: u64) -> Self {
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

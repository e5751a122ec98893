//! The stickers at the platform's QR API: the commands that put callback and redirect stickers
//! up, list them and take them down (`kasse-server qr callback …`, `kasse-server qr redirect …`).
//!
//! A callback sticker (a merchant callback QR, or a MobilePay beacon moved over by
//! [`super::migrate`]) reaches a till as [`crate::sales::routing`] decides; a sticker the
//! configuration and the database send to different tills is shown as a conflict here.
//!
//! A redirect sticker is a Merchant Redirect QR whose scan opens our landing page, `/q/{id}`, for
//! a till's `redirect_sticker` or one of the open-amount `[[stickers]]`.
//!
//! Every command checks everything it was given before it calls the platform (a mistake changes
//! nothing), is safe to run again (what is already there is reported as such), and reports each
//! sticker: what it did, or why not.

use std::collections::BTreeSet;
use std::sync::Arc;

use kasse_vipps::Client;
use serde::Serialize;

mod callback;
mod redirect;

pub use callback::{
    CallbackEntry, CallbackListing, create_callback_qrs, delete_callback_qr, list_callback_qrs,
};
pub use redirect::{
    RedirectEntry, RedirectListing, create_redirect_qrs, delete_redirect_qr, list_redirect_qrs,
};

use super::Tools;
use crate::config::{Config, TillConfig};
use crate::store::StoreError;

pub use crate::sales::routing::Conflict;
/// Whether a callback sticker is a migrated MobilePay beacon ([`CallbackEntry::kind`]).
pub use crate::store::CallbackQrKind;

/// Every callback sticker the configuration and the database send to different tills.
pub async fn conflicts(tools: &Tools) -> Result<Vec<Conflict>, StoreError> {
    crate::sales::routing::conflicts(&tools.config, &tools.store).await
}

// ------------------------------------------------------------------------------------------------
// Reports
// ------------------------------------------------------------------------------------------------

/// A callback or a redirect sticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StickerKind {
    /// A merchant callback QR: a scan checks the customer in at a till.
    Callback,
    /// A Merchant Redirect QR: a scan opens our landing page.
    Redirect,
}

/// What a command did to one sticker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// Put up at the platform.
    Created,
    /// It was there; what it shows or where it leads was brought up to date.
    Updated,
    /// It was there as it should be: nothing to do.
    AlreadyThere,
    /// Taken down.
    Deleted,
    /// It was not there to take down.
    NotThere,
    /// Nothing was done; `detail` says why.
    Failed,
}

impl Change {
    /// How the report says it.
    pub const fn words(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::AlreadyThere => "already there",
            Self::Deleted => "deleted",
            Self::NotThere => "was not there",
            Self::Failed => "failed",
        }
    }
}

/// One sticker in a command's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StickerChange {
    /// Callback or redirect.
    pub kind: StickerKind,
    /// The sticker's id at the platform.
    pub id: String,
    /// Its sales unit.
    pub msn: String,
    /// The till it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// What happened.
    pub change: Change,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Anything else worth knowing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What a create or delete command did, sticker by sticker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeReport {
    /// Each sticker, in the order asked for.
    pub stickers: Vec<StickerChange>,
    /// Platform calls sent again (after no answer, a 5xx or a 429) during the run.
    pub retries: u64,
}

impl ChangeReport {
    /// How many stickers failed.
    pub fn failed(&self) -> usize {
        self.stickers.iter().filter(|s| s.change == Change::Failed).count()
    }

    /// "2 created, 1 already there, 1 failed".
    pub fn summary(&self) -> String {
        let order = [
            Change::Created,
            Change::Updated,
            Change::AlreadyThere,
            Change::Deleted,
            Change::NotThere,
            Change::Failed,
        ];
        let parts: Vec<String> = order
            .iter()
            .filter_map(|change| {
                let n = self.stickers.iter().filter(|s| s.change == *change).count();
                (n > 0).then(|| format!("{n} {}", change.words()))
            })
            .collect();
        if parts.is_empty() { "nothing to do".to_owned() } else { parts.join(", ") }
    }
}

/// Why a command did nothing at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// A till that is not in the configuration.
    #[error("there is no till {0:?} in the configuration")]
    UnknownTill(String),
    /// `--id` with more than one till.
    #[error("--id names one sticker, so it goes with exactly one till")]
    IdForManyTills,
    /// A sticker id that is no good as a platform QR id in a URL.
    #[error("{0:?} cannot be a sticker id: use 1 to 128 letters (a-z, A-Z), digits, '_' or '-'")]
    BadId(String),
    /// A redirect sticker the configuration does not have.
    #[error(
        "there is no redirect sticker {0:?} in the configuration (a till's redirect_sticker, or \
         one of the [[stickers]])"
    )]
    UnknownSticker(String),
    /// A store that is not in the configuration.
    #[error("there is no store {0:?} in the configuration")]
    UnknownStore(String),
    /// A sticker id that could be at more than one store.
    #[error("say which store {0:?} belongs to, with --store")]
    WhichStore(String),
    /// The database failed.
    #[error("the database failed: {0}")]
    Store(String),
    /// The database could not be reached (restarting, failing over): the same command may be
    /// run again in a moment.
    #[error("the database cannot be reached just now: {0}")]
    Unavailable(String),
}

impl From<StoreError> for QrError {
    fn from(e: StoreError) -> Self {
        if e.unavailable() { Self::Unavailable(e.to_string()) } else { Self::Store(e.to_string()) }
    }
}

/// A platform refusal or silence, in words.
pub(crate) fn platform_failure(e: &kasse_vipps::Error) -> String {
    if e.outcome_unknown() {
        format!("the platform did not answer ({e}); run the command again to finish")
    } else {
        format!("the platform refused: {e}")
    }
}

/// A sticker id the platform and our URLs both take (the configuration's rule for QR ids).
pub(super) fn check_id(id: &str) -> Result<(), QrError> {
    let fits = (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fits { Ok(()) } else { Err(QrError::BadId(id.to_owned())) }
}

/// The tills named, or every till when none is.
pub(super) fn tills<'a>(config: &'a Config, named: &[String]) -> Result<Vec<&'a TillConfig>, QrError> {
    if named.is_empty() {
        return Ok(config.tills.iter().collect());
    }
    named.iter().map(|id| config.till(id).ok_or_else(|| QrError::UnknownTill(id.clone()))).collect()
}

/// The store and client of a till.
pub(super) fn unit_of_till<'a>(tools: &'a Tools, till: &TillConfig) -> Option<(&'a str, Arc<Client>)> {
    let store = tools.config.store(&till.store)?;
    let (_, client) = tools.unit(&store.msn)?;
    Some((store.msn.as_str(), client))
}

/// One store's stickers of one kind, as `qr callback list` and `qr redirect list` report them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreListing<Entry> {
    /// The store's id.
    pub store: String,
    /// Its sales unit.
    pub msn: String,
    /// Its stickers: the platform's, then those our records (or the configuration) name that the
    /// platform lacks.
    pub stickers: Vec<Entry>,
    /// Why the platform could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StickerChange {
    /// A change about to be tried: failed until the platform says otherwise.
    pub(super) fn new(kind: StickerKind, id: &str, msn: &str, till: Option<&str>) -> Self {
        Self {
            kind,
            id: id.to_owned(),
            msn: msn.to_owned(),
            till: till.map(str::to_owned),
            change: Change::Failed,
            detail: None,
            notes: Vec::new(),
        }
    }
}

pub(super) fn with_detail(mut change: StickerChange, detail: &str) -> StickerChange {
    change.change = Change::Failed;
    change.detail = Some(detail.to_owned());
    change
}

pub(super) fn failed(
    kind: StickerKind,
    id: &str,
    msn: &str,
    till: Option<&str>,
    detail: &str,
) -> StickerChange {
    with_detail(StickerChange::new(kind, id, msn, till), detail)
}

/// The sales unit a sticker id belongs to: `store` if given; else the one store our records or
/// the configuration tie the id to; else the only store.
pub(super) fn msn_for(
    tools: &Tools,
    id: &str,
    store: Option<&str>,
    tied: &[String],
) -> Result<String, QrError> {
    if let Some(store) = store {
        return tools
            .config
            .store(store)
            .map(|s| s.msn.clone())
            .ok_or_else(|| QrError::UnknownStore(store.to_owned()));
    }
    let tied: BTreeSet<&String> = tied.iter().collect();
    match (tied.len(), tools.config.stores.as_slice()) {
        (1, _) => Ok(tied.into_iter().next().cloned().unwrap_or_default()),
        (0, [only]) => Ok(only.msn.clone()),
        _ => Err(QrError::WhichStore(id.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_sums_up_what_happened_in_a_fixed_order() {
        let sticker = |change| StickerChange {
            kind: StickerKind::Redirect,
            id: "demo".into(),
            msn: "123456".into(),
            till: None,
            change,
            detail: None,
            notes: Vec::new(),
        };
        let report = ChangeReport {
            stickers: vec![sticker(Change::Failed), sticker(Change::Created), sticker(Change::Created)],
            retries: 0,
        };
        assert_eq!(report.summary(), "2 created, 1 failed");
        assert_eq!(report.failed(), 1);
        assert_eq!(ChangeReport::default().summary(), "nothing to do");
    }
}

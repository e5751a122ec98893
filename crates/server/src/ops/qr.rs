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
use kasse_vipps::qr::{
    CallbackQrImage, MerchantCallbackPutRequest, MerchantRedirectQrRequest, RedirectQrFormat,
};
use serde::Serialize;

use super::Tools;
use crate::config::{Config, TillConfig};
use crate::sales::routing::{Route, configured_till, route, same_qr_id};
use crate::store::{CallbackQrKind, CallbackQrRow, StoreError};

pub use crate::sales::routing::Conflict;

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
}

impl From<StoreError> for QrError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
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
fn check_id(id: &str) -> Result<(), QrError> {
    let fits = (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fits { Ok(()) } else { Err(QrError::BadId(id.to_owned())) }
}

/// The tills named, or every till when none is.
fn tills<'a>(config: &'a Config, named: &[String]) -> Result<Vec<&'a TillConfig>, QrError> {
    if named.is_empty() {
        return Ok(config.tills.iter().collect());
    }
    named.iter().map(|id| config.till(id).ok_or_else(|| QrError::UnknownTill(id.clone()))).collect()
}

/// The store and client of a till.
fn unit_of_till<'a>(tools: &'a Tools, till: &TillConfig) -> Option<(&'a str, Arc<Client>)> {
    let store = tools.config.store(&till.store)?;
    let (_, client) = tools.unit(&store.msn)?;
    Some((store.msn.as_str(), client))
}

// ------------------------------------------------------------------------------------------------
// Callback stickers
// ------------------------------------------------------------------------------------------------

/// `qr callback create [TILL]… [--id ID]`: puts up a callback sticker for each till (every till
/// when none is named), with the till's name as the location the app shows. Its id is `id`, else
/// the till's `callback_qr`, else the till's id; a sticker the configuration does not send to the
/// till is saved in the database so that check-ins there reach it.
pub async fn create_callback_qrs(
    tools: &Tools,
    named: &[String],
    id: Option<&str>,
) -> Result<ChangeReport, QrError> {
    let tills = tills(&tools.config, named)?;
    if id.is_some() && tills.len() != 1 {
        return Err(QrError::IdForManyTills);
    }
    if let Some(id) = id {
        check_id(id)?;
    }
    let before = tools.retried();
    let mut report = ChangeReport::default();
    for till in tills {
        let id = id.or(till.callback_qr.as_deref()).unwrap_or(&till.id);
        report.stickers.push(create_callback_qr(tools, till, id).await);
    }
    report.retries = tools.retried() - before;
    Ok(report)
}

async fn create_callback_qr(tools: &Tools, till: &TillConfig, id: &str) -> StickerChange {
    let Some((msn, client)) = unit_of_till(tools, till) else {
        return failed(
            StickerKind::Callback,
            id,
            "",
            Some(&till.id),
            "the till's store has no platform client",
        );
    };
    let mut change = StickerChange::new(StickerKind::Callback, id, msn, Some(&till.id));
    let configured = configured_till(&tools.config, msn, id);
    if let Some(other) = configured.filter(|t| t.id != till.id) {
        change.detail = Some(format!("it is till {}'s callback_qr in the configuration", other.id));
        return change;
    }
    let saved = match tools.store.callback_qr(msn, id).await {
        Ok(saved) => saved,
        Err(e) => return with_detail(change, &format!("the database failed: {e}")),
    };
    if saved.as_ref().is_some_and(|s| s.kind == CallbackQrKind::Beacon) {
        change.detail = Some(
            "it is a migrated MobilePay beacon; its till is set with `kasse-server qr migrate`".to_owned(),
        );
        return change;
    }
    let existing = match client.get_callback_qr(id, CallbackQrImage::default()).await {
        Ok(qr) => qr.location_description,
        Err(e) if e.status() == Some(404) => None,
        Err(e) => return with_detail(change, &platform_failure(&e)),
    };
    let location = till.name.trim();
    change.change = match existing.as_deref() {
        Some(shown) if shown == location => Change::AlreadyThere,
        was => match client.put_callback_qr(id, &MerchantCallbackPutRequest::at(location)).await {
            Ok(()) if was.is_some() => {
                change.notes.push(format!("the app showed {:?}, now {location:?}", was.unwrap_or_default()));
                Change::Updated
            }
            Ok(()) => Change::Created,
            Err(e) if e.status() == Some(409) => {
                return with_detail(
                    change,
                    "the platform refused (409): a MobilePay beacon with this id is migrated to this sales unit",
                );
            }
            Err(e) => return with_detail(change, &platform_failure(&e)),
        },
    };
    // The configuration already sends this sticker to the till; anything else needs a record.
    if configured.is_none() {
        if let Some(other) = saved.as_ref().and_then(|s| s.till_id.as_deref()).filter(|t| *t != till.id) {
            change.notes.push(format!("check-ins there reached till {other} before"));
        }
        let row = CallbackQrRow {
            msn: msn.to_owned(),
            merchant_qr_id: id.to_owned(),
            kind: CallbackQrKind::Callback,
            till_id: Some(till.id.clone()),
            location_description: location.to_owned(),
        };
        if saved.as_ref() != Some(&row)
            && let Err(e) = tools.store.save_callback_qr(&row, crate::now_ms()).await
        {
            return with_detail(
                change,
                &format!("it is up, but the database failed ({e}), so check-ins reach no till; run again"),
            );
        }
    }
    change
}

fn with_detail(mut change: StickerChange, detail: &str) -> StickerChange {
    change.change = Change::Failed;
    change.detail = Some(detail.to_owned());
    change
}

fn failed(kind: StickerKind, id: &str, msn: &str, till: Option<&str>, detail: &str) -> StickerChange {
    with_detail(StickerChange::new(kind, id, msn, till), detail)
}

impl StickerChange {
    /// A change about to be tried: failed until the platform says otherwise.
    fn new(kind: StickerKind, id: &str, msn: &str, till: Option<&str>) -> Self {
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

/// One callback sticker in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackEntry {
    /// Its merchantQrId.
    pub id: String,
    /// What the app shows after a scan, as the platform has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_description: Option<String>,
    /// What its QR code says, as the platform has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_content: Option<String>,
    /// A migrated beacon or a callback QR, if the tools put it up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<CallbackQrKind>,
    /// Whether the platform has it.
    pub at_platform: bool,
    /// The till a check-in there reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// Why a check-in there reaches no till, when the records disagree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
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

/// One store's callback stickers.
pub type CallbackListing = StoreListing<CallbackEntry>;

/// `qr callback list`: each store's callback stickers at the platform, with the till each one
/// reaches, and those our records name but the platform does not have.
pub async fn list_callback_qrs(tools: &Tools) -> Result<Vec<CallbackListing>, QrError> {
    let saved = tools.store.callback_qrs().await?;
    let mut listings = Vec::new();
    for (store, client) in tools.units() {
        let mut listing = CallbackListing {
            store: store.id.clone(),
            msn: store.msn.clone(),
            stickers: Vec::new(),
            error: None,
        };
        let at_platform = match client.list_callback_qrs(CallbackQrImage::default()).await {
            Ok(qrs) => qrs,
            Err(e) => {
                listing.error = Some(platform_failure(&e));
                Vec::new()
            }
        };
        for qr in at_platform {
            let Some(id) = qr.merchant_qr_id else { continue };
            listing.stickers.push(CallbackEntry {
                location_description: qr.location_description,
                qr_content: qr.qr_content,
                at_platform: true,
                ..entry(tools, &saved, &store.msn, &id).await?
            });
        }
        // What our records send check-ins to, but the platform does not have (or did not say).
        let named = tools
            .config
            .tills
            .iter()
            .filter(|t| t.store == store.id)
            .filter_map(|t| t.callback_qr.clone())
            .chain(saved.iter().filter(|s| s.msn == store.msn).map(|s| s.merchant_qr_id.clone()));
        let mut missing = BTreeSet::new();
        for id in named {
            if !listing.stickers.iter().any(|s| same_qr_id(&s.id, &id)) && listing.error.is_none() {
                missing.insert(id);
            }
        }
        for id in missing {
            listing.stickers.push(entry(tools, &saved, &store.msn, &id).await?);
        }
        listings.push(listing);
    }
    Ok(listings)
}

/// What our records say about one sticker.
async fn entry(
    tools: &Tools,
    saved: &[CallbackQrRow],
    msn: &str,
    id: &str,
) -> Result<CallbackEntry, QrError> {
    let kind = saved.iter().find(|s| s.msn == msn && same_qr_id(&s.merchant_qr_id, id)).map(|s| s.kind);
    let (till, conflict) = match route(&tools.config, &tools.store, msn, id).await? {
        Route::Till(till) => (Some(till.id.clone()), None),
        Route::Nobody => (None, None),
        Route::Conflict(conflict) => (None, Some(conflict.to_string())),
    };
    Ok(CallbackEntry {
        id: id.to_owned(),
        location_description: None,
        qr_content: None,
        kind,
        at_platform: false,
        till,
        conflict,
    })
}

/// The sales unit a sticker id belongs to: `store` if given; else the one store our records or
/// the configuration tie the id to; else the only store.
fn msn_for(tools: &Tools, id: &str, store: Option<&str>, tied: &[String]) -> Result<String, QrError> {
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

/// `qr callback delete ID [--store STORE]`: takes the callback sticker down at the platform (its
/// prints stop working) and forgets which till it reached.
pub async fn delete_callback_qr(
    tools: &Tools,
    id: &str,
    store: Option<&str>,
) -> Result<ChangeReport, QrError> {
    let saved = tools.store.callback_qrs().await?;
    let tied: Vec<String> = saved
        .iter()
        .filter(|s| same_qr_id(&s.merchant_qr_id, id))
        .map(|s| s.msn.clone())
        .chain(
            tools
                .config
                .tills
                .iter()
                .filter(|t| t.callback_qr.as_deref().is_some_and(|c| same_qr_id(c, id)))
                .filter_map(|t| tools.config.store(&t.store).map(|s| s.msn.clone())),
        )
        .collect();
    let msn = msn_for(tools, id, store, &tied)?;
    let (_, client) = tools.unit(&msn).ok_or_else(|| QrError::UnknownStore(msn.clone()))?;
    let before = tools.retried();
    let mut change = StickerChange::new(StickerKind::Callback, id, &msn, None);
    change = match client.delete_callback_qr(id).await {
        Ok(()) => StickerChange { change: Change::Deleted, ..change },
        Err(e) if e.status() == Some(404) => StickerChange { change: Change::NotThere, ..change },
        Err(e) => with_detail(change, &platform_failure(&e)),
    };
    if change.change != Change::Failed {
        if let Err(e) = tools.store.delete_callback_qr(&msn, id).await {
            change = with_detail(change, &format!("the database failed ({e}); run again"));
        }
        if let Some(till) = configured_till(&tools.config, &msn, id) {
            change.till = Some(till.id.clone());
            change.notes.push(format!(
                "till {}'s callback_qr still names it in the configuration; remove it there",
                till.id
            ));
        }
    }
    Ok(ChangeReport { stickers: vec![change], retries: tools.retried() - before })
}

// ------------------------------------------------------------------------------------------------
// Redirect stickers
// ------------------------------------------------------------------------------------------------

/// A redirect sticker the configuration has: its id, sales unit, and the till it belongs to.
struct Configured<'a> {
    id: &'a str,
    msn: &'a str,
    till: Option<&'a str>,
}

/// Every redirect sticker of the configuration: the tills', then the open-amount ones.
fn configured_redirects(config: &Config) -> Vec<Configured<'_>> {
    let tills = config.tills.iter().filter_map(|t| {
        let msn = config.store(&t.store)?.msn.as_str();
        Some(Configured { id: t.redirect_sticker.as_deref()?, msn, till: Some(t.id.as_str()) })
    });
    let stickers = config.stickers.iter().filter_map(|s| {
        Some(Configured { id: &s.id, msn: config.store(&s.store)?.msn.as_str(), till: None })
    });
    tills.chain(stickers).collect()
}

/// `qr redirect create [ID]…`: puts up each redirect sticker of the configuration (or those
/// named), leading to its landing page `{public_url}q/{id}`. One that leads elsewhere (the public
/// URL changed) is pointed at the right page; its prints keep working.
pub async fn create_redirect_qrs(tools: &Tools, named: &[String]) -> Result<ChangeReport, QrError> {
    let configured = configured_redirects(&tools.config);
    let chosen: Vec<&Configured<'_>> = if named.is_empty() {
        configured.iter().collect()
    } else {
        named
            .iter()
            .map(|id| {
                configured.iter().find(|c| c.id == id).ok_or_else(|| QrError::UnknownSticker(id.clone()))
            })
            .collect::<Result<_, _>>()?
    };
    let before = tools.retried();
    let mut report = ChangeReport::default();
    for sticker in chosen {
        report.stickers.push(create_redirect_qr(tools, sticker).await);
    }
    report.retries = tools.retried() - before;
    Ok(report)
}

async fn create_redirect_qr(tools: &Tools, sticker: &Configured<'_>) -> StickerChange {
    let mut change = StickerChange::new(StickerKind::Redirect, sticker.id, sticker.msn, sticker.till);
    let Some((_, client)) = tools.unit(sticker.msn) else {
        return with_detail(change, "its store has no platform client");
    };
    let target = tools.landing_url(sticker.id).to_string();
    let existing = match client.get_redirect_qr(sticker.id, RedirectQrFormat::TargetUrl, None).await {
        Ok(qr) => Some(qr.redirect_url),
        Err(e) if e.status() == Some(404) => None,
        Err(e) => return with_detail(change, &platform_failure(&e)),
    };
    change.change = match existing {
        Some(leads_to) if leads_to == target => Change::AlreadyThere,
        Some(leads_to) => {
            match client.update_redirect_qr(sticker.id, &target, RedirectQrFormat::TargetUrl, None).await {
                Ok(_) => {
                    change.notes.push(format!("it led to {leads_to}, now to {target}"));
                    Change::Updated
                }
                Err(e) => return with_detail(change, &platform_failure(&e)),
            }
        }
        None => {
            let request = MerchantRedirectQrRequest {
                id: sticker.id.to_owned(),
                redirect_url: target.clone(),
                ttl: None,
            };
            match client.create_redirect_qr(&request, RedirectQrFormat::TargetUrl, None).await {
                Ok(_) => Change::Created,
                // Made meanwhile, by another run or a lost answer of ours: the next run checks it.
                Err(e) if e.status() == Some(409) => {
                    change.notes.push("it appeared meanwhile; run again to check where it leads".to_owned());
                    Change::AlreadyThere
                }
                Err(e) => return with_detail(change, &platform_failure(&e)),
            }
        }
    };
    change
}

/// One redirect sticker in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectEntry {
    /// Its id.
    pub id: String,
    /// Where a scan leads now, if the platform has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// What its QR code says, if the platform has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_content: Option<String>,
    /// Whether the platform has it.
    pub at_platform: bool,
    /// Whether the configuration has it.
    pub configured: bool,
    /// The till it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// Whether it leads to its landing page (configured stickers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leads_to_landing_page: Option<bool>,
}

/// One store's redirect stickers.
pub type RedirectListing = StoreListing<RedirectEntry>;

/// `qr redirect list`: each store's redirect stickers at the platform, and the configured ones it
/// does not have.
pub async fn list_redirect_qrs(tools: &Tools) -> Vec<RedirectListing> {
    let configured = configured_redirects(&tools.config);
    let mut listings = Vec::new();
    for (store, client) in tools.units() {
        let mut listing = RedirectListing {
            store: store.id.clone(),
            msn: store.msn.clone(),
            stickers: Vec::new(),
            error: None,
        };
        match client.list_redirect_qrs(RedirectQrFormat::TargetUrl, None).await {
            Ok(qrs) => {
                for qr in qrs {
                    let ours = configured.iter().find(|c| c.msn == store.msn && c.id == qr.id);
                    let target = tools.landing_url(&qr.id).to_string();
                    listing.stickers.push(RedirectEntry {
                        leads_to_landing_page: ours.map(|_| qr.redirect_url == target),
                        configured: ours.is_some(),
                        till: ours.and_then(|c| c.till.map(str::to_owned)),
                        at_platform: true,
                        qr_content: Some(qr.url),
                        redirect_url: Some(qr.redirect_url),
                        id: qr.id,
                    });
                }
                for missing in configured.iter().filter(|c| c.msn == store.msn) {
                    if !listing.stickers.iter().any(|s| s.id == missing.id) {
                        listing.stickers.push(RedirectEntry {
                            id: missing.id.to_owned(),
                            redirect_url: None,
                            qr_content: None,
                            at_platform: false,
                            configured: true,
                            till: missing.till.map(str::to_owned),
                            leads_to_landing_page: None,
                        });
                    }
                }
            }
            Err(e) => listing.error = Some(platform_failure(&e)),
        }
        listings.push(listing);
    }
    listings
}

/// `qr redirect delete ID [--store STORE]`: takes the redirect sticker down for good (its prints
/// never work again, even if the id is used anew).
pub async fn delete_redirect_qr(
    tools: &Tools,
    id: &str,
    store: Option<&str>,
) -> Result<ChangeReport, QrError> {
    let configured = configured_redirects(&tools.config);
    let tied: Vec<String> = configured.iter().filter(|c| c.id == id).map(|c| c.msn.to_owned()).collect();
    let msn = msn_for(tools, id, store, &tied)?;
    let (_, client) = tools.unit(&msn).ok_or_else(|| QrError::UnknownStore(msn.clone()))?;
    let before = tools.retried();
    let mut change = StickerChange::new(StickerKind::Redirect, id, &msn, None);
    change = match client.delete_redirect_qr(id).await {
        Ok(()) => StickerChange { change: Change::Deleted, ..change },
        Err(e) if e.status() == Some(404) => StickerChange { change: Change::NotThere, ..change },
        Err(e) => with_detail(change, &platform_failure(&e)),
    };
    if let Some(ours) = configured.iter().find(|c| c.id == id && c.msn == msn) {
        change.till = ours.till.map(str::to_owned);
        change
            .notes
            .push("the configuration still has it; `qr redirect create` would put it up anew".to_owned());
    }
    Ok(ChangeReport { stickers: vec![change], retries: tools.retried() - before })
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

//! `kasse-server qr callback …`: merchant callback QR stickers (and migrated beacons): put up for
//! tills, listed with the till a check-in reaches, and taken down.

use std::collections::BTreeSet;

use kasse_vipps::qr::{CallbackQrImage, MerchantCallbackPutRequest};
use serde::Serialize;

use super::{
    Change, ChangeReport, QrError, StickerChange, StickerKind, StoreListing, check_id, failed, msn_for,
    platform_failure, tills, unit_of_till, with_detail,
};
use crate::config::TillConfig;
use crate::ops::Tools;
use crate::sales::routing::{Route, configured_till, route, same_qr_id};
use crate::store::{CallbackQrKind, CallbackQrRow};

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
    if crate::ops::migrate::beacon_id(id).is_some() {
        // Put up as an ordinary callback QR, a printed MobilePay code would never work: the QR API
        // has an endpoint of its own for migrating beacons, and the ordinary one is not it.
        change.detail = Some(
            "it is a MobilePay PoS beacon's id (15 digits, or a GUID); move the beacon with \
             `kasse-server qr migrate`"
                .to_owned(),
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

/// `qr callback delete ID [--store STORE]`: takes the callback sticker down at the platform (its
/// prints stop working) and forgets which till it reached.
pub async fn delete_callback_qr(
    tools: &Tools,
    id: &str,
    store: Option<&str>,
) -> Result<ChangeReport, QrError> {
    let saved = tools.store.callback_qrs().await?;
    // A beacon's GUID is matched whatever its case, but the platform holds it as it was put up
    // (`qr migrate` lower-cases it): asked in another case, it says the sticker is not there.
    let id = saved
        .iter()
        .map(|s| s.merchant_qr_id.as_str())
        .chain(tools.config.tills.iter().filter_map(|t| t.callback_qr.as_deref()))
        .find(|known| same_qr_id(known, id))
        .unwrap_or(id);
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

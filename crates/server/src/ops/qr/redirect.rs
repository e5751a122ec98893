//! `kasse-server qr redirect …`: Merchant Redirect QR stickers, whose scan opens our landing
//! page, put up for tills and open-amount stickers, listed, and taken down.

use kasse_vipps::qr::{MerchantRedirectQrRequest, RedirectQrFormat};
use serde::Serialize;

use super::{
    Change, ChangeReport, QrError, StickerChange, StickerKind, StoreListing, msn_for, platform_failure,
    with_detail,
};
use crate::config::Config;
use crate::ops::Tools;

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

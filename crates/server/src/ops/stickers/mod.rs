//! `kasse-server qr stickers` and the back office's Stickers section: which stickers go on a
//! print-ready sheet, with what the platform says their codes contain (`page` draws the sheet).
//!
//! The codes are drawn from what the platform says each sticker's code must contain: a callback
//! sticker's `qrContent` and a redirect sticker's target text (`Accept: text/targetUrl`). A
//! sticker the platform does not have yet is listed as missing, with the command that puts it up;
//! the sheet holds the others.

mod page;

pub use page::{Language, STYLE, Styling, html, html_in, qr_svg};

use kasse_vipps::qr::{CallbackQrImage, RedirectQrFormat};
use serde::Serialize;

use super::Tools;
use super::qr::{QrError, StickerKind, platform_failure};
use crate::config::{StickerConfig, TillConfig};
use crate::store::CallbackQrKind;

/// One sticker on the sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sticker {
    /// Callback (rings a till) or redirect (opens our landing page).
    pub kind: StickerKind,
    /// Its id at the platform.
    pub id: String,
    /// The store's name.
    pub store: String,
    /// The till it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// The till's name, or what an open-amount sticker is for.
    pub title: String,
    /// A printed MobilePay PoS beacon, migrated to a callback sticker (printed again on request).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub beacon: bool,
    /// What its QR code says.
    pub content: String,
    /// Where a scan leads, in words or as the landing page's address.
    pub target: String,
}

/// A sticker that cannot be on the sheet, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Missing {
    /// Callback or redirect.
    pub kind: StickerKind,
    /// Its id.
    pub id: String,
    /// Its till.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// Why, and what to run.
    pub why: String,
}

/// What goes on the sheet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sheet {
    /// The stickers, till by till, then the open-amount ones.
    pub stickers: Vec<Sticker>,
    /// Stickers left off.
    pub missing: Vec<Missing>,
    /// Notes: a redirect sticker that leads somewhere else than its landing page.
    pub notes: Vec<String>,
    /// Platform calls sent again during the run.
    pub retries: u64,
}

/// Which stickers go on a sheet.
#[derive(Debug, Clone, Default)]
pub struct Selection<'a> {
    /// These tills' callback and redirect stickers.
    pub tills: Vec<&'a TillConfig>,
    /// These open-amount stickers.
    pub open_amount: Vec<&'a StickerConfig>,
    /// The tills' migrated beacons too (printed once already, by MobilePay).
    pub beacons: bool,
}

/// The stickers of the tills named (of every till, and the open-amount stickers, when none is),
/// with what the platform says their codes contain. Migrated beacons are printed already.
pub async fn collect(tools: &Tools, named: &[String]) -> Result<Sheet, QrError> {
    let tills: Vec<&TillConfig> = if named.is_empty() {
        tools.config.tills.iter().collect()
    } else {
        named
            .iter()
            .map(|id| tools.config.till(id).ok_or_else(|| QrError::UnknownTill(id.clone())))
            .collect::<Result<_, _>>()?
    };
    let open_amount = if named.is_empty() { tools.config.stickers.iter().collect() } else { Vec::new() };
    gather(tools, &Selection { tills, open_amount, beacons: false }).await
}

/// The stickers `selection` names, with what the platform says their codes contain.
pub async fn gather(tools: &Tools, selection: &Selection<'_>) -> Result<Sheet, QrError> {
    let saved = tools.store.callback_qrs().await?;
    let before = tools.retried();
    let mut sheet = Sheet::default();
    for till in &selection.tills {
        let Some(store) = tools.config.store(&till.store) else { continue };
        // Its callback stickers: the configured one, and new ones the tools made for it (and the
        // migrated beacons, when asked for).
        let mut callbacks: Vec<(&str, bool)> =
            till.callback_qr.iter().map(|id| (id.as_str(), false)).collect();
        for row in saved.iter().filter(|r| {
            let wanted = r.kind == CallbackQrKind::Callback || selection.beacons;
            wanted && r.msn == store.msn && r.till_id.as_deref() == Some(&till.id)
        }) {
            if !callbacks.iter().any(|(id, _)| *id == row.merchant_qr_id) {
                callbacks.push((&row.merchant_qr_id, row.kind == CallbackQrKind::Beacon));
            }
        }
        for (id, beacon) in callbacks {
            callback(tools, &mut sheet, &store.msn, &store.name, till, id, beacon).await;
        }
        if let Some(id) = &till.redirect_sticker {
            redirect(tools, &mut sheet, &store.msn, &store.name, Some(till), id, &till.name).await;
        }
    }
    for sticker in &selection.open_amount {
        let Some(store) = tools.config.store(&sticker.store) else { continue };
        redirect(tools, &mut sheet, &store.msn, &store.name, None, &sticker.id, &sticker.description).await;
    }
    sheet.retries = tools.retried() - before;
    Ok(sheet)
}

async fn callback(
    tools: &Tools,
    sheet: &mut Sheet,
    msn: &str,
    store: &str,
    till: &TillConfig,
    id: &str,
    beacon: bool,
) {
    let missing = |why: String| Missing {
        kind: StickerKind::Callback,
        id: id.to_owned(),
        till: Some(till.id.clone()),
        why,
    };
    let Some((_, client)) = tools.unit(msn) else { return };
    match client.get_callback_qr(id, CallbackQrImage::default()).await {
        Ok(qr) => match qr.qr_content {
            Some(content) => sheet.stickers.push(Sticker {
                kind: StickerKind::Callback,
                id: id.to_owned(),
                store: store.to_owned(),
                till: Some(till.id.clone()),
                title: till.name.clone(),
                beacon,
                content,
                target: format!("checks in at {} (callback QR {id})", till.name),
            }),
            None => sheet.missing.push(missing("the platform did not say what its code contains".to_owned())),
        },
        Err(e) if e.status() == Some(404) => sheet.missing.push(missing(format!(
            "it is not at the platform yet: run `kasse-server qr callback create {}`",
            till.id
        ))),
        Err(e) => sheet.missing.push(missing(platform_failure(&e))),
    }
}

async fn redirect(
    tools: &Tools,
    sheet: &mut Sheet,
    msn: &str,
    store: &str,
    till: Option<&TillConfig>,
    id: &str,
    title: &str,
) {
    let missing = |why: String| Missing {
        kind: StickerKind::Redirect,
        id: id.to_owned(),
        till: till.map(|t| t.id.clone()),
        why,
    };
    let Some((_, client)) = tools.unit(msn) else { return };
    match client.get_redirect_qr(id, RedirectQrFormat::TargetUrl, None).await {
        Ok(qr) => {
            let landing = tools.landing_url(id).to_string();
            if qr.redirect_url != landing {
                sheet.notes.push(format!(
                    "redirect sticker {id} leads to {}, not to its landing page {landing}: run \
                     `kasse-server qr redirect create {id}`",
                    qr.redirect_url
                ));
            }
            sheet.stickers.push(Sticker {
                kind: StickerKind::Redirect,
                id: id.to_owned(),
                store: store.to_owned(),
                till: till.map(|t| t.id.clone()),
                title: title.to_owned(),
                beacon: false,
                content: qr.url,
                target: qr.redirect_url,
            });
        }
        Err(e) if e.status() == Some(404) => sheet.missing.push(missing(format!(
            "it is not at the platform yet: run `kasse-server qr redirect create {id}`"
        ))),
        Err(e) => sheet.missing.push(missing(platform_failure(&e))),
    }
}

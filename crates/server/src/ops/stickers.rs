//! `kasse-server qr stickers`: a print-ready sheet of every till's stickers, as one self-contained
//! HTML page (A4, six stickers a page, cut lines; no scripts, no fonts or images from elsewhere).
//! Print it from a browser, to paper or to PDF.
//!
//! Each sticker shows the store, the till (or what an open-amount sticker is for), its QR code and
//! where a scan leads. The codes are drawn here, as SVG, from what the platform says each sticker's
//! code must contain: a callback sticker's `qrContent` and a redirect sticker's target text
//! (`Accept: text/targetUrl`). A sticker the platform does not have yet is listed as missing, with
//! the command that puts it up; the sheet holds the others.

use std::fmt::Write as _;

use kasse_vipps::qr::{CallbackQrImage, RedirectQrFormat};
use serde::Serialize;

use super::Tools;
use super::qr::{QrError, StickerKind, platform_failure};
use crate::config::TillConfig;
use crate::store::CallbackQrKind;

/// Modules of white around a code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

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

/// The stickers of the tills named (of every till, and the open-amount stickers, when none is),
/// with what the platform says their codes contain.
pub async fn collect(tools: &Tools, named: &[String]) -> Result<Sheet, QrError> {
    let tills: Vec<&TillConfig> = if named.is_empty() {
        tools.config.tills.iter().collect()
    } else {
        named
            .iter()
            .map(|id| tools.config.till(id).ok_or_else(|| QrError::UnknownTill(id.clone())))
            .collect::<Result<_, _>>()?
    };
    let saved = tools.store.callback_qrs().await?;
    let before = tools.retried();
    let mut sheet = Sheet::default();
    for till in tills {
        let Some(store) = tools.config.store(&till.store) else { continue };
        // Its callback stickers: the configured one, and new ones the tools made for it. Migrated
        // beacons are printed already.
        let mut callbacks: Vec<&str> = till.callback_qr.iter().map(String::as_str).collect();
        for row in saved.iter().filter(|r| {
            r.msn == store.msn && r.kind == CallbackQrKind::Callback && r.till_id.as_deref() == Some(&till.id)
        }) {
            if !callbacks.contains(&row.merchant_qr_id.as_str()) {
                callbacks.push(&row.merchant_qr_id);
            }
        }
        for id in callbacks {
            callback(tools, &mut sheet, &store.msn, &store.name, till, id).await;
        }
        if let Some(id) = &till.redirect_sticker {
            redirect(tools, &mut sheet, &store.msn, &store.name, Some(till), id, &till.name).await;
        }
    }
    if named.is_empty() {
        for sticker in &tools.config.stickers {
            let Some(store) = tools.config.store(&sticker.store) else { continue };
            redirect(tools, &mut sheet, &store.msn, &store.name, None, &sticker.id, &sticker.description)
                .await;
        }
    }
    sheet.retries = tools.retried() - before;
    Ok(sheet)
}

async fn callback(tools: &Tools, sheet: &mut Sheet, msn: &str, store: &str, till: &TillConfig, id: &str) {
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

/// `content` as an SVG QR code (medium error correction, with its quiet zone), one dark path on a
/// white square, in module units so it scales to any print size without blurring.
pub fn qr_svg(content: &str, label: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(content.as_bytes(), qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let edge = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let run = row[x..].iter().take_while(|c| **c == qrcode::Color::Dark).count();
                // Writing to a String cannot fail.
                let _ = write!(path, "M{},{}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE);
                x += run;
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {edge} {edge}\" shape-rendering=\"crispEdges\" \
         role=\"img\" aria-label=\"{}\"><rect width=\"{edge}\" height=\"{edge}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>",
        escape(label)
    ))
}

/// Text for HTML, in element content and in quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { background: #fff; color: #000; }
body { margin: 0; font: 11pt/1.3 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
header { padding: 6mm; max-width: 186mm; }
header h1 { font-size: 14pt; margin: 0 0 2mm; }
header p { margin: 0 0 2mm; }
main { display: flex; flex-wrap: wrap; gap: 5mm; padding: 0 6mm 6mm; }
.sticker { width: 88mm; height: 85mm; margin: 0; padding: 4mm; border: 0.3mm dashed #888;
  display: flex; flex-direction: column; align-items: center; justify-content: space-between;
  text-align: center; break-inside: avoid; page-break-inside: avoid; }
.sticker figcaption { width: 100%; }
.store { font-weight: 700; font-size: 12pt; }
.title { font-size: 11pt; }
.sticker svg { width: 50mm; height: 50mm; flex: none; }
.what { margin: 0; font-size: 10pt; }
.target { margin: 0; font: 7pt/1.2 ui-monospace, 'SFMono-Regular', Menlo, monospace; color: #333;
  overflow-wrap: anywhere; }
.missing { color: #8a1c1c; }
@media print {
  header { display: none; }
  main { padding: 0; }
}
";

/// The sheet as one print-ready HTML page.
pub fn html(sheet: &Sheet) -> String {
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>kasse stickers</title>\n<style>\n",
    );
    page.push_str(STYLE);
    page.push_str("</style>\n</head>\n<body>\n<header>\n<h1>kasse stickers</h1>\n");
    let _ = writeln!(
        page,
        "<p>{} stickers. Print at 100 % (no \u{201c}fit to page\u{201d}) on A4, six to a page, and cut \
         along the dashed lines. This header is not printed.</p>",
        sheet.stickers.len()
    );
    for missing in &sheet.missing {
        let _ = writeln!(
            page,
            "<p class=\"missing\">Not on the sheet: {} ({}).</p>",
            escape(&missing.id),
            escape(&missing.why)
        );
    }
    for note in &sheet.notes {
        let _ = writeln!(page, "<p class=\"missing\">{}</p>", escape(note));
    }
    page.push_str("</header>\n<main>\n");
    for sticker in &sheet.stickers {
        let what = match sticker.kind {
            StickerKind::Callback => "Scan with Vipps or MobilePay to pay here",
            StickerKind::Redirect => "Scan with your phone to pay",
        };
        let kind = match sticker.kind {
            StickerKind::Callback => "callback",
            StickerKind::Redirect => "redirect",
        };
        let label = format!("QR code of {}, {}", sticker.store, sticker.title);
        let _ = writeln!(
            page,
            "<figure class=\"sticker\" data-kind=\"{kind}\" data-id=\"{id}\" data-content=\"{content}\">\n\
             <figcaption><div class=\"store\">{store}</div><div class=\"title\">{title}</div></figcaption>\n\
             {svg}\n<p class=\"what\">{what}</p>\n<p class=\"target\">{target}</p>\n</figure>",
            id = escape(&sticker.id),
            content = escape(&sticker.content),
            store = escape(&sticker.store),
            title = escape(&sticker.title),
            svg = qr_svg(&sticker.content, &label).unwrap_or_default(),
            target = escape(&sticker.target),
        );
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sticker(content: &str) -> Sticker {
        Sticker {
            kind: StickerKind::Redirect,
            id: "demo".into(),
            store: "Kaffe & <Kake>".into(),
            till: Some("till-1".into()),
            title: "Kasse \"1\"".into(),
            content: content.into(),
            target: "https://kasse.example.no/q/demo".into(),
        }
    }

    #[test]
    fn a_code_is_one_path_of_whole_modules_inside_its_quiet_zone() {
        let svg = qr_svg("https://kasse.example.no/q/demo", "a label").unwrap();
        let code = qrcode::QrCode::with_error_correction_level(
            b"https://kasse.example.no/q/demo",
            qrcode::EcLevel::M,
        )
        .unwrap();
        let edge = code.width() + 8;
        assert!(svg.starts_with(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {edge} {edge}\""
        )));
        assert_eq!(svg.matches("<path").count(), 1);
        // The top-left finder pattern starts right after the quiet zone with a run of seven.
        assert!(svg.contains("M4,4h7v1h-7z"), "{svg}");
    }

    #[test]
    fn the_page_escapes_every_name_and_holds_no_script_or_outside_resource() {
        let page =
            html(&Sheet { stickers: vec![sticker("https://x.example/a?b=1&c=2")], ..Sheet::default() });
        assert!(page.contains("Kaffe &amp; &lt;Kake&gt;") && page.contains("Kasse &quot;1&quot;"));
        assert!(page.contains("data-content=\"https://x.example/a?b=1&amp;c=2\""));
        assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("@import"));
        assert_eq!(page.matches("<figure class=\"sticker\"").count(), 1);
        assert!(page.contains("@page { size: A4"));
    }
}

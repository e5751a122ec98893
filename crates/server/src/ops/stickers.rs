//! `kasse-server qr stickers`: a print-ready sheet of every till's stickers, as one self-contained
//! HTML page (A4, six stickers a page, cut lines; no scripts, no fonts or images from elsewhere).
//! Print it from a browser, to paper or to PDF.
//!
//! Each sticker shows the store, the till (or what an open-amount sticker is for), its QR code and
//! where a scan leads. The codes are drawn here, as SVG, from what the platform says each sticker's
//! code must contain: a callback sticker's `qrContent` and a redirect sticker's target text
//! (`Accept: text/targetUrl`). A sticker the platform does not have yet is listed as missing, with
//! the command that puts it up; the sheet holds the others.
//!
//! The page is written with `maud`, so every name, address and id on it is escaped by
//! construction; only our own fixed CSS goes in as it is.

use std::fmt::Write as _;

use kasse_vipps::qr::{CallbackQrImage, RedirectQrFormat};
use maud::{DOCTYPE, Markup, PreEscaped, html};
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
/// white square, in module units so it scales to any print size without blurring. `label` is what
/// screen readers announce; maud escapes it like everything else it writes.
pub fn qr_svg(content: &str, label: &str) -> Option<Markup> {
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
    // Inside HTML an SVG element needs its closing tag (`<rect>` alone would swallow the path), so
    // `rect` and `path` are written with empty bodies rather than as void elements.
    Some(html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (edge) " " (edge) } shape-rendering="crispEdges"
            role="img" aria-label=(label) {
            rect width=(edge) height=(edge) fill="#fff" {}
            path fill="#000" d=(path) {}
        }
    })
}

/// Everything the page itself says in words, in one place, so that a translation is one more
/// `Texts`. What `collect` writes into a sheet (a callback sticker's target, why a sticker is
/// missing, the notes) is in English too, and not here.
struct Texts {
    /// The page's `lang`.
    lang: &'static str,
    /// The page's title and its heading.
    title: &'static str,
    /// After the number of stickers on the sheet.
    stickers: &'static str,
    /// After that: how to print the sheet.
    how_to_print: &'static str,
    /// Before a missing sticker's id and why it is missing.
    not_on_the_sheet: &'static str,
    /// Under a callback sticker's code: it rings the till, scanned in the app.
    scan_to_pay_here: &'static str,
    /// Under a redirect sticker's code: any camera opens our landing page.
    scan_to_pay: &'static str,
    /// Before the store and title, for screen readers.
    qr_code_of: &'static str,
}

const ENGLISH: Texts = Texts {
    lang: "en",
    title: "kasse stickers",
    stickers: "stickers",
    how_to_print: "Print at 100 % (no \u{201c}fit to page\u{201d}) on A4, six to a page, and cut along the \
                   dashed lines. This header is not printed.",
    not_on_the_sheet: "Not on the sheet:",
    scan_to_pay_here: "Scan with Vipps or MobilePay to pay here",
    scan_to_pay: "Scan with your phone to pay",
    qr_code_of: "QR code of",
};

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
    let texts = &ENGLISH;
    html! {
        (DOCTYPE)
        html lang=(texts.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (texts.title) }
                // Our own fixed CSS, with nothing interpolated into it.
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (texts.title) }
                    p { (sheet.stickers.len()) " " (texts.stickers) ". " (texts.how_to_print) }
                    @for missing in &sheet.missing {
                        p.missing { (texts.not_on_the_sheet) " " (missing.id) " (" (missing.why) ")." }
                    }
                    @for note in &sheet.notes {
                        p.missing { (note) }
                    }
                }
                main {
                    @for sticker in &sheet.stickers {
                        (figure(sticker, texts))
                    }
                }
            }
        }
    }
    .into_string()
}

/// One sticker, cut out along its dashed border. `data-content` is what its code says, for tests
/// that read the printed code back.
fn figure(sticker: &Sticker, texts: &Texts) -> Markup {
    let (kind, what) = match sticker.kind {
        StickerKind::Callback => ("callback", texts.scan_to_pay_here),
        StickerKind::Redirect => ("redirect", texts.scan_to_pay),
    };
    let label = format!("{} {}, {}", texts.qr_code_of, sticker.store, sticker.title);
    html! {
        figure.sticker data-kind=(kind) data-id=(sticker.id) data-content=(sticker.content) {
            figcaption {
                div.store { (sticker.store) }
                div.title { (sticker.title) }
            }
            @if let Some(svg) = qr_svg(&sticker.content, &label) {
                (svg)
            }
            p.what { (what) }
            p.target { (sticker.target) }
        }
    }
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
        let svg = qr_svg("https://kasse.example.no/q/demo", "a label").unwrap().into_string();
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

    #[test]
    fn a_store_name_or_location_holding_a_script_tag_ampersands_or_quotes_is_printed_as_text() {
        let store = "<script>alert(\"hi\")</script> & 'Bakst'";
        let location = "Disk 2 \"ved døra\" <b>& co</b>";
        let open_amount = Sticker {
            kind: StickerKind::Redirect,
            id: "tips\"><script>".into(),
            store: store.into(),
            till: None,
            title: location.into(),
            content: "https://x.example/q/tips?a=1&b='2'".into(),
            target: "https://kasse.example.no/q/tips\"><script>".into(),
        };
        let page = html(&Sheet {
            stickers: vec![open_amount],
            missing: vec![Missing {
                kind: StickerKind::Callback,
                id: "<script>".into(),
                till: None,
                why: "\"quoted\" & <b>bold</b>".into(),
            }],
            notes: vec![format!("{store} leads elsewhere")],
            retries: 0,
        });

        let store = "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; 'Bakst'";
        let location = "Disk 2 &quot;ved døra&quot; &lt;b&gt;&amp; co&lt;/b&gt;";
        assert!(!page.contains("<script") && !page.contains("<b>"), "{page}");
        assert!(page.contains(&format!("<div class=\"store\">{store}</div>")), "{page}");
        assert!(page.contains(&format!("<div class=\"title\">{location}</div>")), "{page}");
        assert!(page.contains(&format!("aria-label=\"QR code of {store}, {location}\"")), "{page}");
        assert!(page.contains(
            "<figure class=\"sticker\" data-kind=\"redirect\" data-id=\"tips&quot;&gt;&lt;script&gt;\" \
             data-content=\"https://x.example/q/tips?a=1&amp;b='2'\">"
        ));
        assert!(
            page.contains("<p class=\"target\">https://kasse.example.no/q/tips&quot;&gt;&lt;script&gt;</p>")
        );
        assert!(page.contains(
            "<p class=\"missing\">Not on the sheet: &lt;script&gt; (&quot;quoted&quot; &amp; \
             &lt;b&gt;bold&lt;/b&gt;).</p>"
        ));
        assert!(page.contains(&format!("<p class=\"missing\">{store} leads elsewhere</p>")));
        // The code still encodes the content itself, not its escaped form.
        let drawn = qr_svg("https://x.example/q/tips?a=1&b='2'", "").unwrap().into_string();
        assert!(page.contains(&drawn[drawn.find("<path").unwrap()..]));
    }
}

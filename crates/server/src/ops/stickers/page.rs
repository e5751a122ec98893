//! The sticker sheet as one self-contained, print-ready HTML page (A4, six stickers a page, cut
//! lines; no scripts, no fonts or images from elsewhere), in the store's language. Print it from
//! a browser, to paper or to PDF. Each sticker shows the store, the till (or what an open-amount
//! sticker is for), its QR code and where a scan leads.
//!
//! The page is written with `maud`, so every name, address and id on it is escaped by
//! construction; only our own fixed CSS goes in as it is. Written to a file (the command line),
//! the CSS is in the page; served by the back office, whose pages allow no inline style, it is
//! linked.

use std::fmt::Write as _;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Sheet, Sticker};
use crate::ops::qr::StickerKind;

/// Modules of white around a code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

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

/// The languages a sheet is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// English.
    En,
    /// Norwegian (bokmål).
    Nb,
    /// Danish.
    Da,
    /// Finnish.
    Fi,
}

impl Language {
    /// The language by its code (`en`, `nb`, `da`, `fi`).
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Self::En),
            "nb" => Some(Self::Nb),
            "da" => Some(Self::Da),
            "fi" => Some(Self::Fi),
            _ => None,
        }
    }

    /// The language of a store taking `currency`: Norway's, Denmark's or Finland's.
    pub const fn of_store(currency: kasse_api::Currency) -> Self {
        match currency {
            kasse_api::Currency::Nok => Self::Nb,
            kasse_api::Currency::Dkk => Self::Da,
            kasse_api::Currency::Eur => Self::Fi,
        }
    }

    const fn texts(self) -> &'static Texts {
        match self {
            Self::En => &ENGLISH,
            Self::Nb => &NORWEGIAN,
            Self::Da => &DANISH,
            Self::Fi => &FINNISH,
        }
    }
}

/// Where the page's CSS is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Styling<'a> {
    /// In the page: a file printed on its own.
    Inline,
    /// At this address ([`STYLE`] served there): a page served where inline style is refused.
    Linked(&'a str),
}

/// Everything the page itself says in words, in one place, so that a translation is one more
/// `Texts`. What `collect` writes into a sheet (why a sticker is missing, the notes, shown above
/// the stickers and never printed) is in English.
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
    /// A callback sticker's target: before the till's name.
    checks_in_at: &'static str,
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
    checks_in_at: "checks in at",
};

const NORWEGIAN: Texts = Texts {
    lang: "nb",
    title: "kasse-klistremerker",
    stickers: "klistremerker",
    how_to_print: "Skriv ut i 100 % (ikke \u{ab}tilpass til siden\u{bb}) på A4, seks per side, og klipp \
                   langs de stiplede linjene. Denne teksten skrives ikke ut.",
    not_on_the_sheet: "Ikke på arket:",
    scan_to_pay_here: "Skann med Vipps eller MobilePay for å betale her",
    scan_to_pay: "Skann med telefonen for å betale",
    qr_code_of: "QR-kode for",
    checks_in_at: "sjekker inn ved",
};

const DANISH: Texts = Texts {
    lang: "da",
    title: "kasse-klistermærker",
    stickers: "klistermærker",
    how_to_print: "Udskriv i 100 % (ikke \u{bb}tilpas til siden\u{ab}) på A4, seks pr. side, og klip \
                   langs de stiplede linjer. Denne tekst udskrives ikke.",
    not_on_the_sheet: "Ikke på arket:",
    scan_to_pay_here: "Scan med MobilePay eller Vipps for at betale her",
    scan_to_pay: "Scan med din telefon for at betale",
    qr_code_of: "QR-kode for",
    checks_in_at: "tjekker ind ved",
};

const FINNISH: Texts = Texts {
    lang: "fi",
    title: "kasse-tarrat",
    stickers: "tarraa",
    how_to_print: "Tulosta 100 %:n koossa (ei \u{201d}sovita sivulle\u{201d}) A4-arkille, kuusi sivulle, ja \
                   leikkaa katkoviivoja pitkin. Tätä tekstiä ei tulosteta.",
    not_on_the_sheet: "Ei arkilla:",
    scan_to_pay_here: "Skannaa MobilePaylla tai Vippsillä maksaaksesi täällä",
    scan_to_pay: "Skannaa puhelimellasi maksaaksesi",
    qr_code_of: "QR-koodi:",
    checks_in_at: "kirjautuu kassalle",
};

/// The sheet's CSS.
pub const STYLE: &str = "\
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

/// The sheet as one print-ready HTML page, in English, its CSS in it.
pub fn html(sheet: &Sheet) -> String {
    html_in(sheet, Language::En, Styling::Inline)
}

/// The sheet as one print-ready HTML page in `language`.
pub fn html_in(sheet: &Sheet, language: Language, styling: Styling<'_>) -> String {
    let texts = language.texts();
    html! {
        (DOCTYPE)
        html lang=(texts.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (texts.title) }
                @match styling {
                    // Our own fixed CSS, with nothing interpolated into it.
                    Styling::Inline => style { (PreEscaped(STYLE)) },
                    Styling::Linked(href) => link rel="stylesheet" href=(href);,
                }
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
            @match sticker.kind {
                StickerKind::Callback => p.target { (texts.checks_in_at) " " (sticker.title) " (" (sticker.id) ")" },
                StickerKind::Redirect => p.target { (sticker.target) },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Missing;
    use super::*;

    fn sticker(content: &str) -> Sticker {
        Sticker {
            kind: StickerKind::Redirect,
            id: "demo".into(),
            store: "Kaffe & <Kake>".into(),
            till: Some("till-1".into()),
            title: "Kasse \"1\"".into(),
            beacon: false,
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
    fn a_danish_stores_sheet_says_everything_in_danish_and_served_links_its_style() {
        let callback = Sticker {
            kind: StickerKind::Callback,
            id: "kasse-a".into(),
            title: "Kasse A".into(),
            ..sticker("https://qr.example/c/1")
        };
        let sheet = Sheet { stickers: vec![callback, sticker("https://qr.example/r/1")], ..Sheet::default() };
        let page =
            html_in(&sheet, Language::of_store(kasse_api::Currency::Dkk), Styling::Linked("/sheet.css"));
        assert!(page.contains("<html lang=\"da\">"), "{page}");
        for danish in [
            "kasse-klistermærker",
            "Scan med MobilePay eller Vipps for at betale her",
            "Scan med din telefon",
        ] {
            assert!(page.contains(danish), "{danish}: {page}");
        }
        assert!(page.contains("<p class=\"target\">tjekker ind ved Kasse A (kasse-a)</p>"), "{page}");
        assert!(page.contains("<link rel=\"stylesheet\" href=\"/sheet.css\">") && !page.contains("<style"));
        assert_eq!(Language::from_code("fi"), Some(Language::Fi));
        assert_eq!(Language::from_code("sv"), None);
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
            beacon: false,
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

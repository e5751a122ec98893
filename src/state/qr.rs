//! QR codes drawn by us: the text is encoded here and drawn as one SVG path, so no image is ever
//! loaded from another host.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// The modules of white border the QR standard asks for around a code.
const QUIET_ZONE: usize = 4;

/// A QR code ready for an `<svg viewBox="0 0 {size} {size}">` with one `<path d="{path}">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrSvg {
    /// Width and height in modules, quiet zone included.
    pub size: usize,
    /// The dark modules, as an SVG path in module units.
    pub path: String,
}

/// Encodes `text` at error-correction level M (a phone screen or a print both scan well) and
/// draws it. Fails only for text too long for any QR code.
pub fn draw(text: &str) -> Result<QrSvg, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        // One rectangle per horizontal run of dark modules keeps the path short.
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let start = x;
                while x < width && row[x] == Color::Dark {
                    x += 1;
                }
                let run = x - start;
                // Writing to a String cannot fail.
                let _ = write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
            } else {
                x += 1;
            }
        }
    }
    Ok(QrSvg { size: width + 2 * QUIET_ZONE, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paints a drawn code back into pixels (`scale` per module), reading only the path.
    fn rasterise(svg: &QrSvg, scale: usize) -> (usize, Vec<bool>) {
        let side = svg.size * scale;
        let mut dark = vec![false; side * side];
        for rect in svg.path.split('z').filter(|r| !r.is_empty()) {
            let rect = rect.trim_start_matches('M');
            let (xy, rest) = rect.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let run: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for py in y * scale..(y + 1) * scale {
                for px in x * scale..(x + run) * scale {
                    dark[py * side + px] = true;
                }
            }
        }
        (side, dark)
    }

    fn decode(svg: &QrSvg) -> String {
        let (side, dark) = rasterise(svg, 4);
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(
                side,
                side,
                |x, y| {
                    if dark[y * side + x] { 0 } else { 255 }
                },
            );
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one QR code is drawn");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_drawn_code_scans_back_to_its_text() {
        for text in [
            "http://127.0.0.1:9090/sim/pay/9af44f6782d742e2a9c98a3dd75871cd",
            "https://qr.vipps.no/28/2/01/031/4791234567?v=1",
            "x",
        ] {
            assert_eq!(decode(&draw(text).unwrap()), text);
        }
    }

    #[test]
    fn the_code_has_a_quiet_zone_on_every_side() {
        let svg = draw("kasse").unwrap();
        let (side, dark) = rasterise(&svg, 1);
        for i in 0..side {
            for edge in 0..QUIET_ZONE {
                assert!(!dark[edge * side + i] && !dark[(side - 1 - edge) * side + i]);
                assert!(!dark[i * side + edge] && !dark[i * side + side - 1 - edge]);
            }
        }
    }

    #[test]
    fn text_too_long_for_any_qr_code_is_an_error_not_a_panic() {
        assert!(draw(&"x".repeat(8000)).is_err());
    }
}

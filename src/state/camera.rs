//! Reading a QR code from a camera frame, for browsers without a `BarcodeDetector`: the frame's
//! pixels come in as RGBA from a canvas, are turned to grey, and the decoder compiled into the
//! app looks for a code in them. What it finds is cleaned like a scanner's text.

use super::scanner;

/// The longest side a frame is decoded at: a code held up to a till camera fills a good part of
/// the picture, and a smaller frame keeps each attempt well inside one animation frame.
pub const DECODE_SIDE: u32 = 640;

/// The size to draw a `width` × `height` camera frame at before decoding it: the same shape,
/// never larger than [`DECODE_SIDE`] on its longest side, never smaller than one pixel.
pub fn decode_size(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= DECODE_SIDE {
        return (width.max(1), height.max(1));
    }
    // `side <= longest`, so the scaled side is at most DECODE_SIDE and fits a u32.
    let scale = |side: u32| {
        u32::try_from(u64::from(side) * u64::from(DECODE_SIDE) / u64::from(longest))
            .unwrap_or(DECODE_SIDE)
            .max(1)
    };
    (scale(width), scale(height))
}

/// The QR code's text in an RGBA frame `width` pixels wide, or `None` when there is no readable
/// code (or the pixels do not make up a whole frame).
pub fn read_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<String> {
    if width == 0 || height == 0 || rgba.len() != width * height * 4 {
        return None;
    }
    let grey: Vec<u8> = rgba.chunks_exact(4).map(|p| luma(p[0], p[1], p[2])).collect();
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    // A frame may hold more than one grid (or a grid the decoder cannot read): take the first
    // that decodes to something a code could be.
    image
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok())
        .find_map(|(_, text)| scanner::clean(&text))
}

/// Perceived brightness of a pixel (ITU-R BT.601 weights, in integers).
fn luma(r: u8, g: u8, b: u8) -> u8 {
    // The weights sum to 1000, so the result is at most 255.
    u8::try_from((299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qrcode::{Color, QrCode};

    /// A `side` × `side` RGBA frame of mid-grey with `text`'s QR code drawn at `at`, `scale`
    /// pixels per module, dark modules in `ink` on white paper with a quiet zone.
    fn frame(text: &str, side: usize, at: usize, scale: usize, ink: [u8; 3]) -> Vec<u8> {
        let code = QrCode::new(text.as_bytes()).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let mut rgba = [120u8, 124, 118, 255].repeat(side * side);
        let paper = (modules + 8) * scale;
        for y in 0..paper {
            for x in 0..paper {
                let (mx, my) = ((x / scale).wrapping_sub(4), (y / scale).wrapping_sub(4));
                let dark = mx < modules && my < modules && colors[my * modules + mx] == Color::Dark;
                let [r, g, b] = if dark { ink } else { [250, 250, 245] };
                let i = ((at + y) * side + at + x) * 4;
                rgba[i..i + 3].copy_from_slice(&[r, g, b]);
            }
        }
        rgba
    }

    #[test]
    fn a_personal_qr_code_in_a_camera_frame_is_read() {
        let code = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
        let rgba = frame(code, 320, 37, 4, [20, 30, 60]);
        assert_eq!(read_rgba(320, 320, &rgba).as_deref(), Some(code));
    }

    #[test]
    fn a_frame_without_a_code_reads_nothing() {
        assert_eq!(read_rgba(64, 48, &[200u8; 64 * 48 * 4]), None);
    }

    #[test]
    fn pixels_that_do_not_make_up_the_frame_are_refused_not_read_out_of_bounds() {
        let rgba = frame("https://qr.vipps.no/28/2/01/031/4791234567?v=1", 320, 37, 4, [0, 0, 0]);
        assert_eq!(read_rgba(321, 320, &rgba), None);
        assert_eq!(read_rgba(0, 0, &[]), None);
    }

    #[test]
    fn large_frames_are_scaled_down_keeping_their_shape_and_small_ones_are_kept() {
        assert_eq!(decode_size(1920, 1080), (640, 360));
        assert_eq!(decode_size(720, 1280), (360, 640));
        assert_eq!(decode_size(640, 480), (640, 480));
        assert_eq!(decode_size(0, 0), (1, 1));
        assert_eq!(decode_size(10_000, 1), (640, 1));
    }
}

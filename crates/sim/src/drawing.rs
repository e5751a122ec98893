//! QR codes drawn as SVG or PNG: the images behind the links the simulator hands out (a payment's
//! QR on the customer display, redirect and callback stickers) and the personal QR code on the
//! phone page.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The SVG's smallest edge, in its own units: it scales to whatever size it is shown at.
const SVG_SIZE: u32 = 400;

/// An image format the simulator draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `image/svg+xml`.
    Svg,
    /// `image/png`.
    Png,
}

impl Format {
    /// `png` (in any case) is PNG; anything else, or nothing, SVG.
    pub fn from_query(value: Option<&str>) -> Self {
        if value.is_some_and(|f| f.eq_ignore_ascii_case("png")) { Self::Png } else { Self::Svg }
    }
}

/// A QR code of `content` as an image response: an SVG, or a PNG of `png_size` × `png_size`
/// pixels.
pub fn image_response(content: &str, format: Format, png_size: u32) -> Response {
    let rendered = match format {
        Format::Png => png(content, png_size).map(|png| ("image/png", png)),
        Format::Svg => svg(content, SVG_SIZE).map(|svg| ("image/svg+xml", svg.into_bytes())),
    };
    match rendered {
        Some((content_type, bytes)) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `content` as an SVG QR code at least `min_size` units wide, without the XML declaration so it
/// can also sit inline in a page.
pub fn svg(content: &str, min_size: u32) -> Option<String> {
    let code = qrcode::QrCode::new(content.as_bytes()).ok()?;
    let mut svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(min_size, min_size).build();
    let start = svg.find("<svg").unwrap_or(0);
    Some(svg.split_off(start))
}

/// `content` as a PNG QR code of exactly `size` × `size` pixels: whole pixels per module, centred
/// on white.
pub fn png(content: &str, size: u32) -> Option<Vec<u8>> {
    let code = qrcode::QrCode::new(content.as_bytes()).ok()?;
    let drawn = code.render::<image::Luma<u8>>().max_dimensions(size, size).build();
    let mut canvas = image::GrayImage::from_pixel(size, size, image::Luma([255]));
    let left = (i64::from(size) - i64::from(drawn.width())) / 2;
    let top = (i64::from(size) - i64::from(drawn.height())) / 2;
    image::imageops::overlay(&mut canvas, &drawn, left, top);
    let mut png = std::io::Cursor::new(Vec::new());
    canvas.write_to(&mut png, image::ImageFormat::Png).ok()?;
    Some(png.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_has_exactly_the_asked_size_and_an_svg_no_xml_declaration() {
        let png = png("https://example.com/x", 137).unwrap();
        let decoded = image::load_from_memory(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (137, 137));
        assert!(svg("https://example.com/x", 100).unwrap().starts_with("<svg"));
    }

    #[test]
    fn only_png_asks_for_a_png() {
        assert_eq!(Format::from_query(Some("PNG")), Format::Png);
        assert_eq!(Format::from_query(Some("svg")), Format::Svg);
        assert_eq!(Format::from_query(None), Format::Svg);
    }
}

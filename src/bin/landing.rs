//! The sticker landing page's own bundle: only `pages::sticker`, without the till's routes,
//! camera and QR code, so that a customer's phone on a weak connection downloads as little as
//! possible (see `landing.html`, built into `dist/landing/`).

fn main() {
    leptos::mount::mount_to_body(kasse::pages::sticker::StickerPage);
}

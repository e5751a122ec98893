//! The sticker landing page's own bundle: only `pages::sticker`, without the till's routes,
//! camera and QR code, and without Leptos, so that a customer's phone on a weak connection
//! downloads as little as possible (see `landing.html`, built into `dist/landing/`).

fn main() {
    if let Err(trouble) = kasse::pages::sticker::start() {
        // Nothing to show the customer with: the page could not even be drawn.
        web_sys::console::error_1(&trouble);
    }
}

//! The customer display as a bundle of its own (`display.html`, built into `dist/display/`): a
//! second device shows the amount, the QR code and the outcome, and loads nothing of the till.

fn main() {
    leptos::mount::mount_to_body(kasse::DisplayApp);
}

//! The till's history as a bundle of its own (`history.html`, built into `dist/history/`): today's
//! sales and each sale's detail, which the sale screen does not need to load.

fn main() {
    leptos::mount::mount_to_body(kasse::HistoryApp);
}

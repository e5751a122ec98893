//! Going to a page another of kasse's bundles draws. The till, its history and the customer
//! display are separate downloads (so the till loads only what the sale screen needs), and the
//! router of one knows nothing of the others' pages: the browser loads such a page afresh. Links
//! to them carry `rel="external"`, which the router leaves to the browser.

use leptos::prelude::*;

/// Sends the browser to `path`, replacing the current page in its history, as a redirect does.
pub fn leave_for(path: &str) {
    if let Some(window) = web_sys::window() {
        // Failing only for a malformed URL, which our own paths are not.
        let _ = window.location().replace(path);
    }
}

/// Redirects to `path`, a page of another bundle, once shown.
#[component]
pub fn Leave(
    /// Where to go: an absolute path on this server.
    #[prop(into)]
    path: String,
) -> impl IntoView {
    Effect::new(move |_| leave_for(&path));
}

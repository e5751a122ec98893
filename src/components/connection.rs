//! The live-connection indicator: the cashier can see when updates may be late.

use leptos::prelude::*;

use crate::components::locale::use_locale;
use crate::i18n::common;
use crate::state::till::Connection;

/// A small badge: live, connecting, or reconnecting.
#[component]
pub fn ConnectionBadge(
    /// The stream's state.
    #[prop(into)]
    connection: Signal<Connection>,
) -> impl IntoView {
    let locale = use_locale();
    let label = move || match connection.get() {
        Connection::Online => common::live(locale.get()),
        Connection::Connecting => common::connecting(locale.get()),
        Connection::Reconnecting => common::reconnecting(locale.get()),
    };
    let state = move || match connection.get() {
        Connection::Online => "online",
        Connection::Connecting => "connecting",
        Connection::Reconnecting => "reconnecting",
    };
    view! {
        <span class="connection" data-state=state role="status" aria-live="polite">
            <span class="dot" aria-hidden="true"></span>
            {label}
        </span>
    }
}

//! The page for an address the app does not know.

use leptos::prelude::*;

use crate::components::locale::tr;
use crate::i18n::common;

/// "Not found", with a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="page narrow">
            <h1>{tr(common::not_found)}</h1>
            <p>{tr(common::nothing_here)} " " <a href="/till" rel="external">{tr(common::to_till)}</a></p>
        </main>
    }
}

//! The page for an address the app does not know.

use leptos::prelude::*;

/// "Not found", with a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/till" rel="external">"Go to the till"</a>"."</p>
        </main>
    }
}

//! The landing page behind a static Merchant Redirect QR sticker (`/q/{sticker}`). For now it only
//! tells the customer that nothing is waiting to be paid here; paying by phone number lands with
//! the landing-page issue.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The sticker landing page.
#[component]
pub fn StickerPage() -> impl IntoView {
    let params = use_params_map();
    let sticker = move || params.read().get("sticker").unwrap_or_default();
    view! {
        <main class="page narrow sticker" data-sticker=sticker>
            <p class="brand">"kasse"</p>
            <h1>"Nothing to pay here right now"</h1>
            <p>"When the checkout shows an amount, scan the sticker again to pay with Vipps MobilePay."</p>
        </main>
    }
}

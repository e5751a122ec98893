//! A QR code drawn as inline SVG from its text.

use leptos::prelude::*;

use crate::state::qr;

/// The QR code for `text`, with `label` for people who cannot see it.
#[component]
pub fn QrCode(
    /// What the code encodes.
    #[prop(into)]
    text: Signal<String>,
    /// What a screen reader says instead.
    #[prop(into)]
    label: Signal<String>,
) -> impl IntoView {
    let drawn = Memo::new(move |_| qr::draw(&text.get()).ok());
    move || {
        drawn.get().map(|code| {
            let view_box = format!("0 0 {0} {0}", code.size);
            view! {
                <svg class="qr" viewBox=view_box role="img" aria-label=move || label.get()>
                    <rect width="100%" height="100%" fill="#fff"></rect>
                    <path d=code.path fill="#000" shape-rendering="crispEdges"></path>
                </svg>
            }
        })
    }
}

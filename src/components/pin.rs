//! A field for a manager's PIN: hidden as typed, a number pad on a phone or tablet, never
//! offered for autofill except as a new password when one is chosen.

use leptos::prelude::*;

use crate::components::locale::tr;
use crate::i18n::Locale;

/// A labelled PIN field holding `value`; `new` when the PIN is being chosen.
#[component]
pub fn PinField(
    /// The field's id.
    #[prop(into)]
    id: String,
    /// Its label.
    label: fn(Locale) -> &'static str,
    /// What is typed.
    value: RwSignal<String>,
    /// The PIN is being chosen (the browser may offer to remember it).
    #[prop(optional)]
    new: bool,
    /// A narrow field, beside a button (the back office's), rather than the page's width.
    #[prop(optional)]
    narrow: bool,
) -> impl IntoView {
    view! {
        <label for=id.clone()>{tr(label)}</label>
        <input
            id=id
            class:pin=narrow
            type="password"
            inputmode="numeric"
            autocomplete=if new { "new-password" } else { "off" }
            maxlength="8"
            required
            prop:value=move || value.get()
            on:input=move |e| value.set(event_target_value(&e))
        />
    }
}

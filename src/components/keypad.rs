//! The amount keypad: big buttons for a touch screen, each also reachable by keyboard.

use leptos::prelude::*;

use crate::components::locale::{tr, use_locale};
use crate::i18n::{Locale, till as text};
use crate::state::keypad::Key;

/// A text in the cashier's language.
type Text = fn(Locale) -> &'static str;

/// Each key: what it does, what it shows, and how a screen reader says it in the cashier's
/// language where that is not what it shows.
const KEYS: [(Key, &str, Option<Text>); 12] = [
    (Key::Digit(1), "1", None),
    (Key::Digit(2), "2", None),
    (Key::Digit(3), "3", None),
    (Key::Digit(4), "4", None),
    (Key::Digit(5), "5", None),
    (Key::Digit(6), "6", None),
    (Key::Digit(7), "7", None),
    (Key::Digit(8), "8", None),
    (Key::Digit(9), "9", None),
    (Key::DoubleZero, "00", Some(text::double_zero)),
    (Key::Digit(0), "0", None),
    (Key::Backspace, "⌫", Some(text::delete_digit)),
];

/// Twelve keys; `on_press` gets each press.
#[component]
pub fn Keypad(
    /// Called with each key pressed.
    on_press: impl Fn(Key) + Copy + Send + Sync + 'static,
    /// Locks every key.
    #[prop(into)]
    disabled: Signal<bool>,
) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="keypad" role="group" aria-label=tr(text::keypad)>
            {KEYS
                .into_iter()
                .map(|(key, label, spoken)| {
                    view! {
                        <button
                            type="button"
                            class="key"
                            data-key=label
                            aria-label=move || spoken.map_or(label, |spoken| spoken(locale.get()))
                            disabled=move || disabled.get()
                            on:click=move |_| on_press(key)
                        >
                            {label}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

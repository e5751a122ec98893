//! The amount keypad: big buttons for a touch screen, each also reachable by keyboard.

use leptos::prelude::*;

use crate::components::locale::tr;
use crate::i18n::till as text;
use crate::state::keypad::Key;

const KEYS: [(Key, &str, &str); 12] = [
    (Key::Digit(1), "1", "1"),
    (Key::Digit(2), "2", "2"),
    (Key::Digit(3), "3", "3"),
    (Key::Digit(4), "4", "4"),
    (Key::Digit(5), "5", "5"),
    (Key::Digit(6), "6", "6"),
    (Key::Digit(7), "7", "7"),
    (Key::Digit(8), "8", "8"),
    (Key::Digit(9), "9", "9"),
    (Key::DoubleZero, "00", "double zero"),
    (Key::Digit(0), "0", "0"),
    (Key::Backspace, "⌫", "delete last digit"),
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
                            aria-label=spoken
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

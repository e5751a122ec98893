//! The language the app speaks: chosen once from the browser's preferences, changeable with a
//! switcher, remembered on this device.

use leptos::prelude::*;

use crate::i18n::{Locale, common};

const STORAGE_KEY: &str = "kasse.locale";

fn stored() -> Option<Locale> {
    let storage = web_sys::window()?.local_storage().ok()??;
    Locale::from_tag(&storage.get_item(STORAGE_KEY).ok()??)
}

fn browser_preference() -> Locale {
    let tags: Vec<String> = web_sys::window()
        .map(|w| w.navigator().languages().iter().filter_map(|v| v.as_string()).collect())
        .unwrap_or_default();
    Locale::preferred(tags.iter().map(String::as_str))
}

/// The language this device chose before, or else the browser's preference. (Plain functions,
/// not Leptos: the landing page, built without it, speaks the same way.)
pub fn chosen() -> Locale {
    stored().unwrap_or_else(browser_preference)
}

/// Remembers `locale` on this device.
pub fn choose(locale: Locale) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(STORAGE_KEY, locale.tag());
    }
    show_language(locale);
}

/// Says which language the document is in, for screen readers and hyphenation.
pub fn show_language(locale: Locale) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", locale.tag());
    }
}

/// Puts the app's language in context for every page (call once, at the top).
pub fn provide_locale() -> RwSignal<Locale> {
    let locale = RwSignal::new(chosen());
    Effect::new(move |_| show_language(locale.get()));
    provide_context(locale);
    locale
}

/// The app's language.
pub fn use_locale() -> RwSignal<Locale> {
    use_context::<RwSignal<Locale>>().unwrap_or_else(|| RwSignal::new(Locale::default()))
}

/// A text of the app in the current language, following the switcher: `{tr(till::show_qr)}`.
///
/// Every text shown this way is the same closure type, so the renderer's code for a reactive
/// text exists once in the bundle rather than once per text.
pub fn tr(text: fn(Locale) -> &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let locale = use_locale();
    move || text(locale.get())
}

/// A language switcher; the choice is remembered on this device.
#[component]
pub fn LanguageSwitcher() -> impl IntoView {
    let locale = use_locale();
    let choose = move |event: leptos::ev::Event| {
        if let Some(chosen) = Locale::from_tag(&event_target_value(&event)) {
            choose(chosen);
            locale.set(chosen);
        }
    };
    view! {
        <label class="language">
            <span class="visually-hidden">{tr(common::language)}</span>
            <select id="language" on:change=choose prop:value=move || locale.get().tag()>
                {Locale::ALL
                    .into_iter()
                    .map(|l| view! { <option value=l.tag()>{l.name()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

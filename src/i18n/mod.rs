//! Every sentence the app shows, in English, Norwegian Bokmål, Danish and Finnish. Each area of
//! the app has its own module of text functions (`till::show_qr(locale)`), written with the
//! `texts!` macro so a text cannot be missing a language. DOM-free and tested natively.

pub mod admin;
pub mod common;
pub mod display;
pub mod history;
pub mod landing;
pub mod pair;
pub mod sale;
pub mod till;

pub use crate::state::locale::Locale;

/// Defines one function per text: `name: "English", "Bokmål", "Dansk", "Suomi";`.
macro_rules! texts {
    ($( $(#[$doc:meta])* $name:ident: $en:literal, $nb:literal, $da:literal, $fi:literal; )*) => {
        $(
            $(#[$doc])*
            pub const fn $name(locale: $crate::i18n::Locale) -> &'static str {
                match locale {
                    $crate::i18n::Locale::En => $en,
                    $crate::i18n::Locale::Nb => $nb,
                    $crate::i18n::Locale::Da => $da,
                    $crate::i18n::Locale::Fi => $fi,
                }
            }
        )*

        /// Every text of this module in every language, for tests.
        #[cfg(test)]
        pub fn all() -> Vec<(&'static str, $crate::i18n::Locale, &'static str)> {
            let mut all = Vec::new();
            for locale in $crate::i18n::Locale::ALL {
                $( all.push((stringify!($name), locale, $name(locale))); )*
            }
            all
        }
    };
}
pub(crate) use texts;

#[cfg(test)]
mod tests {
    #[test]
    fn no_text_is_empty_and_every_language_differs_from_english_somewhere() {
        for module in [
            super::common::all(),
            super::common::phone::all(),
            super::common::problems::all(),
            super::common::identities::all(),
            super::common::loyalties::all(),
            super::till::all(),
            super::history::all(),
            super::sale::all(),
            super::display::all(),
            super::pair::all(),
            super::landing::all(),
            super::admin::all(),
        ] {
            for (name, locale, text) in &module {
                assert!(!text.trim().is_empty(), "{name} is empty in {locale:?}");
            }
            for locale in [super::Locale::Nb, super::Locale::Da, super::Locale::Fi] {
                let translated = module.iter().filter(|(_, l, _)| *l == locale).count();
                let same = module
                    .iter()
                    .filter(|(n, l, t)| {
                        *l == locale
                            && module
                                .iter()
                                .any(|(n2, l2, t2)| n2 == n && *l2 == super::Locale::En && t2 == t)
                    })
                    .count();
                assert!(same * 2 < translated, "{locale:?} is mostly English");
            }
        }
    }
}

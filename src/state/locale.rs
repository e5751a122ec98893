//! Which language to speak: English, Norwegian Bokmål, Danish or Finnish, from the browser's
//! preferences unless the person chose one.

/// The languages kasse speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Locale {
    /// English.
    #[default]
    En,
    /// Norwegian Bokmål.
    Nb,
    /// Danish.
    Da,
    /// Finnish.
    Fi,
}

impl Locale {
    /// Every language, in the order a switcher offers them.
    pub const ALL: [Self; 4] = [Self::En, Self::Nb, Self::Da, Self::Fi];

    /// The BCP 47 tag, for `lang` attributes and storage.
    pub const fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Nb => "nb",
            Self::Da => "da",
            Self::Fi => "fi",
        }
    }

    /// The language's own name for itself.
    pub const fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Nb => "Norsk",
            Self::Da => "Dansk",
            Self::Fi => "Suomi",
        }
    }

    /// The language a tag (`nb-NO`, `no`, `nn`, `da`, `fi-FI`, `en-GB`) stands for, if kasse
    /// speaks it. Norwegian of any written form gets Bokmål.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "nb" | "no" | "nn" => Some(Self::Nb),
            "da" => Some(Self::Da),
            "fi" => Some(Self::Fi),
            _ => None,
        }
    }

    /// The first of the browser's preferred languages kasse speaks, else English.
    pub fn preferred<'a>(tags: impl IntoIterator<Item = &'a str>) -> Self {
        tags.into_iter().find_map(Self::from_tag).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_preferred_language_kasse_speaks_wins() {
        assert_eq!(Locale::preferred(["sv-SE", "nb-NO", "en"]), Locale::Nb);
        assert_eq!(Locale::preferred(["nn"]), Locale::Nb);
        assert_eq!(Locale::preferred(["da-DK"]), Locale::Da);
        assert_eq!(Locale::preferred(["FI"]), Locale::Fi);
        assert_eq!(Locale::preferred(["de", "sv"]), Locale::En);
        assert_eq!(Locale::preferred([]), Locale::En);
    }

    #[test]
    fn every_locale_reads_back_from_its_own_tag() {
        for locale in Locale::ALL {
            assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
        }
    }
}

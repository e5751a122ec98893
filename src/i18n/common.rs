//! Texts every page uses.

super::texts! {
    /// The live-connection badge, connected.
    live: "Live", "Tilkoblet", "Forbundet", "Yhteys";
    /// The badge while connecting.
    connecting: "Connecting…", "Kobler til…", "Forbinder…", "Yhdistetään…";
    /// The badge after a drop.
    reconnecting: "Reconnecting…", "Kobler til igjen…", "Forbinder igen…", "Yhdistetään uudelleen…";
    /// The language switcher's label.
    language: "Language", "Språk", "Sprog", "Kieli";
    /// No answer from the server.
    no_answer: "No answer from the server. Try again.", "Ingen svar fra serveren. Prøv igjen.", "Intet svar fra serveren. Prøv igen.", "Palvelin ei vastaa. Yritä uudelleen.";
    /// Loading a page.
    loading: "Loading…", "Laster…", "Indlæser…", "Ladataan…";
    /// A reference label.
    reference: "Reference", "Referanse", "Reference", "Viite";
    /// The page-not-found heading.
    not_found: "Page not found", "Fant ikke siden", "Siden findes ikke", "Sivua ei löydy";
    /// Back to the till.
    to_till: "Go to the till", "Gå til kassen", "Gå til kassen", "Siirry kassalle";
}

/// Why a typed phone number cannot be sent a payment request, said to whoever typed it.
pub const fn phone_mistake(mistake: kasse_api::PhoneError, locale: super::Locale) -> &'static str {
    use kasse_api::PhoneError;
    match mistake {
        PhoneError::Empty => phone::empty(locale),
        PhoneError::NotDigits => phone::not_digits(locale),
        PhoneError::UnknownCountry => phone::unknown_country(locale),
        PhoneError::TooShort => phone::too_short(locale),
        PhoneError::TooLong => phone::too_long(locale),
        PhoneError::NotMobile => phone::not_mobile(locale),
    }
}

/// The sentences of [`phone_mistake`].
pub(crate) mod phone {
    super::super::texts! {
        empty: "Type a mobile number.", "Skriv inn et mobilnummer.", "Skriv et mobilnummer.", "Kirjoita matkapuhelinnumero.";
        not_digits: "A phone number has only digits.", "Et telefonnummer har bare sifre.", "Et telefonnummer består kun af cifre.", "Puhelinnumerossa on vain numeroita.";
        unknown_country: "Only Norwegian (+47), Danish (+45) and Finnish (+358) numbers can pay here.", "Bare norske (+47), danske (+45) og finske (+358) numre kan betale her.", "Kun norske (+47), danske (+45) og finske (+358) numre kan betale her.", "Täällä voi maksaa vain norjalaisella (+47), tanskalaisella (+45) tai suomalaisella (+358) numerolla.";
        too_short: "The number is too short.", "Nummeret er for kort.", "Nummeret er for kort.", "Numero on liian lyhyt.";
        too_long: "The number is too long.", "Nummeret er for langt.", "Nummeret er for langt.", "Numero on liian pitkä.";
        not_mobile: "That is not a mobile number.", "Det er ikke et mobilnummer.", "Det er ikke et mobilnummer.", "Se ei ole matkapuhelinnumero.";
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::PhoneError;

    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn each_phone_mistake_has_its_own_sentence_in_every_language() {
        let mistakes = [
            PhoneError::Empty,
            PhoneError::NotDigits,
            PhoneError::UnknownCountry,
            PhoneError::TooShort,
            PhoneError::TooLong,
            PhoneError::NotMobile,
        ];
        for locale in Locale::ALL {
            let sentences: std::collections::HashSet<_> =
                mistakes.iter().map(|m| phone_mistake(*m, locale)).collect();
            assert_eq!(sentences.len(), mistakes.len(), "{locale:?} says two mistakes alike");
            assert!(sentences.iter().all(|s| s.ends_with('.')), "{locale:?}: {sentences:?}");
        }
        assert_eq!(phone_mistake(PhoneError::TooShort, Locale::Da), "Nummeret er for kort.");
    }
}

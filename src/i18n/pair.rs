//! The pairing page, where a manager's one-time code makes a browser a till, a customer display
//! or a manager's back office.

use super::Locale;

super::texts! {
    /// The page's heading.
    heading: "Pair this browser", "Koble til denne nettleseren", "Par denne browser", "Yhdistä tämä selain";
    /// What to do.
    line: "Type the pairing code the manager gave you. It works once, for ten minutes.", "Skriv inn koden du fikk av lederen. Den virker én gang, i ti minutter.", "Skriv den kode, du har fået af lederen. Den virker én gang, i ti minutter.", "Kirjoita esimieheltä saamasi koodi. Se toimii kerran, kymmenen minuutin ajan.";
    /// The code field's label.
    code: "Pairing code", "Tilkoblingskode", "Parringskode", "Yhdistämiskoodi";
    /// The button.
    pair: "Pair", "Koble til", "Par", "Yhdistä";
    /// A code the server refused.
    refused: "That pairing code is not valid: it may be mistyped, used or more than ten minutes old. Ask the manager for a new one.", "Koden er ikke gyldig: den kan være feilskrevet, brukt eller over ti minutter gammel. Be lederen om en ny.", "Koden er ikke gyldig: den kan være skrevet forkert, brugt eller over ti minutter gammel. Bed lederen om en ny.", "Koodi ei kelpaa: se voi olla kirjoitettu väärin, käytetty tai yli kymmenen minuuttia vanha. Pyydä esimieheltä uusi.";
    /// A manager's first pairing: what the PIN fields are for.
    choose_pin: "This code pairs a manager. Choose a PIN of 4 to 8 digits: the back office asks for it before it pairs or unpairs a device.", "Denne koden kobler til en leder. Velg en PIN-kode på 4 til 8 sifre: administrasjonen spør etter den før den kobler til eller fra en enhet.", "Denne kode parrer en leder. Vælg en pinkode på 4 til 8 cifre: backoffice beder om den, før den parrer eller fjerner en enhed.", "Tämä koodi yhdistää esimiehen. Valitse 4–8-numeroinen PIN-koodi: hallinta kysyy sitä ennen kuin se yhdistää tai poistaa laitteen.";
    /// The new PIN's field.
    new_pin: "New PIN", "Ny PIN-kode", "Ny pinkode", "Uusi PIN-koodi";
    /// The new PIN again.
    new_pin_again: "The same PIN again", "Samme PIN-kode igjen", "Samme pinkode igen", "Sama PIN-koodi uudelleen";
    /// The new PIN is not 4 to 8 digits.
    pin_malformed: "A PIN is 4 to 8 digits.", "En PIN-kode er 4 til 8 sifre.", "En pinkode er 4 til 8 cifre.", "PIN-koodi on 4–8 numeroa.";
    /// The two fields differ.
    pins_differ: "The two PINs differ. Type the same one twice.", "De to PIN-kodene er ulike. Skriv den samme to ganger.", "De to pinkoder er forskellige. Skriv den samme to gange.", "PIN-koodit eroavat. Kirjoita sama koodi kahdesti.";
    /// Why the browser is here (`?reason=expired`): its session ran out.
    expired: "This browser's pairing has run out: it was not used for a long time, or it is too old. Type a new code to go on.", "Koblingen til denne nettleseren har utløpt: den har ikke vært brukt på lenge, eller den er for gammel. Skriv inn en ny kode for å fortsette.", "Denne browsers parring er udløbet: den har ikke været brugt længe, eller den er for gammel. Skriv en ny kode for at fortsætte.", "Tämän selaimen yhdistäminen on vanhentunut: sitä ei ole käytetty pitkään aikaan, tai se on liian vanha. Jatka kirjoittamalla uusi koodi.";
    /// Why the browser is here (`?reason=revoked`): the manager ended its session.
    revoked: "The manager has unpaired this browser. Type a new code to pair it again.", "Lederen har koblet fra denne nettleseren. Skriv inn en ny kode for å koble den til igjen.", "Lederen har fjernet parringen af denne browser. Skriv en ny kode for at parre den igen.", "Esimies on poistanut tämän selaimen yhdistämisen. Yhdistä se uudelleen kirjoittamalla uusi koodi.";
}

/// The sentence saying why a browser was sent back to pairing, for the page's `?reason=`
/// (`expired` or `revoked`); `None` for no reason or one this app does not know.
pub fn reason(reason: &str, locale: Locale) -> Option<&'static str> {
    match reason {
        "expired" => Some(expired(locale)),
        "revoked" => Some(revoked(locale)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_a_session_ends_for_has_its_own_sentence_and_others_none() {
        for locale in Locale::ALL {
            assert_eq!(reason("expired", locale), Some(expired(locale)));
            assert_eq!(reason("revoked", locale), Some(revoked(locale)));
            assert_ne!(expired(locale), revoked(locale));
            assert_eq!(reason("", locale), None);
            assert_eq!(reason("<script>", locale), None);
        }
    }
}

//! Texts every page uses.

super::texts! {
    /// The live-connection badge, connected.
    live: "Live", "Tilkoblet", "Forbundet", "Yhteys";
    /// The badge while connecting.
    connecting: "Connecting…", "Kobler til…", "Forbinder…", "Yhdistetään…";
    /// The badge after a drop.
    reconnecting: "Reconnecting…", "Kobler til igjen…", "Forbinder igen…", "Yhdistetään uudelleen…";
    /// A QR code's spoken label, before the amount (on the till and the customer display).
    qr_label: "QR code to pay", "QR-kode for å betale", "QR-kode til betaling af", "QR-koodi maksamiseen:";
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
    /// Under the page-not-found heading.
    nothing_here: "There is nothing at this address.", "Det finnes ingenting på denne adressen.", "Der er intet på denne adresse.", "Tässä osoitteessa ei ole mitään.";
    /// The navigation between the till's pages.
    nav_label: "Till pages", "Kassesider", "Kassesider", "Kassan sivut";
    /// The navigation: the sale screen.
    nav_sale: "Sale", "Salg", "Salg", "Myynti";
    /// The navigation: history.
    nav_history: "History", "Historikk", "Historik", "Historia";
    /// Back to the till.
    to_till: "Go to the till", "Gå til kassen", "Gå til kassen", "Siirry kassalle";
    /// A link to the pairing page.
    to_pairing: "Go to pairing", "Gå til tilkobling", "Gå til parring", "Siirry yhdistämiseen";
    /// What a capture took of the amount asked, when it took only part: both amounts go in.
    taken_of: "{taken} of {amount}", "{taken} av {amount}", "{taken} af {amount}", "{taken} / {amount}";
}

/// A sale's amount as the till and the customer display show it (see
/// [`crate::state::till::charged`]): the amount, or what a capture took of it, "NOK 40.00 of
/// NOK 100.00".
pub fn charged(charged: crate::state::till::Charged, locale: super::Locale) -> String {
    use crate::state::money::format_money;
    use crate::state::till::Charged;
    match charged {
        Charged::Whole(amount) => format_money(amount, locale),
        Charged::Part { taken, of } => taken_of(locale)
            .replace("{taken}", &format_money(taken, locale))
            .replace("{amount}", &format_money(of, locale)),
    }
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

/// A notice in the reader's language: the till's own sentence as it is, a server's refusal by
/// its code ([`problem`]).
pub fn notice(notice: &crate::state::till::Notice, locale: super::Locale) -> String {
    match notice {
        crate::state::till::Notice::Refused(refusal) => problem(refusal, locale),
        crate::state::till::Notice::Said(sentence) => sentence.clone(),
        crate::state::till::Notice::NotAPersonalQr => problems::bad_personal_qr(locale).to_owned(),
    }
}

/// A server's refusal in the reader's language. The server says each in English, sometimes with
/// figures (an amount left, a reference); English readers get that sentence, the others the
/// refusal's meaning by its code, and the server's sentence for a code this app does not know.
pub fn problem(problem: &kasse_api::Problem, locale: super::Locale) -> String {
    use kasse_api::ProblemCode as C;
    use problems as p;
    let said = problem.sentence();
    if locale == super::Locale::En {
        return said.to_owned();
    }
    let Some(code) = problem.code else { return said.to_owned() };
    let text = match code {
        C::TillBusy => p::till_busy,
        C::CheckoutBusy => p::checkout_busy,
        C::NotCancellable => p::not_cancellable,
        C::NotCapturable => p::not_capturable,
        C::NotRefundable => p::not_refundable,
        C::AlreadyApproved => p::already_approved,
        C::AmountTooSmall => p::amount_too_small,
        C::AmountTooLarge => p::amount_too_large,
        C::AmountOutOfRange => p::amount_out_of_range,
        C::WrongCurrency => p::wrong_currency,
        C::BadPersonalQr => p::bad_personal_qr,
        C::NoLoyalty => p::no_loyalty,
        C::BadLines => p::bad_lines,
        C::BadDescription => p::bad_description,
        C::CheckInGone => p::check_in_gone,
        C::UnknownPayment => p::unknown_payment,
        C::Pending => p::pending,
        C::PlatformRefused => p::platform_refused,
        C::Internal => p::internal,
        C::Unauthorized => p::unauthorized,
        C::TooManyRequests => p::too_many_requests,
        C::SessionExpired => p::session_expired,
        C::SessionRevoked => p::session_revoked,
        C::TooManyStreams => p::too_many_streams,
        C::Forbidden => p::forbidden,
        C::UnknownTill => p::unknown_till,
        C::PinRequired => p::pin_required,
        C::BadPin => p::bad_pin,
        C::PinChosen => p::pin_chosen,
        C::WrongPin => p::wrong_pin,
        C::PinLocked => p::pin_locked,
        C::ManagerPinRequired => p::manager_pin_required,
        C::UnknownDevice => p::unknown_device,
        C::ManagerNameTaken => p::manager_name_taken,
        C::NotFound | C::MethodNotAllowed => p::not_found,
        C::TooLarge | C::BadRequestBody | C::BadQuery | C::BadIdempotencyKey | C::KeyReused => p::bad_request,
        // Said to the phone pages, the platform and PoS systems, never to a till: the server's
        // own words.
        C::BadWebhook
        | C::KeyRevoked
        | C::IdempotencyKeyRequired
        | C::BadPhoneNumber
        | C::UnknownSticker
        | C::NothingToPay
        | C::AmountChanged
        | C::AmountOutsideBounds
        | C::NumberRateLimited
        | C::ClientRateLimited
        | C::StickerRateLimited
        | C::Unknown => return said.to_owned(),
    };
    text(locale).to_owned()
}

/// How a sale's customer was identified, in the reader's language; a phone number stays as the
/// server masked it.
pub fn identified(identified: &kasse_api::Identified, locale: super::Locale) -> String {
    use kasse_api::Identified as I;
    match identified {
        I::Phone { masked } | I::StickerPhone { masked } => masked.clone(),
        I::PersonalQr => identities::personal_qr(locale).to_owned(),
        I::CheckIn => identities::check_in(locale).to_owned(),
    }
}

/// The sentences of [`identified`].
pub(crate) mod identities {
    super::super::texts! {
        personal_qr: "Personal QR code", "Personlig QR-kode", "Personlig QR-kode", "Henkilökohtainen QR-koodi";
        check_in: "Checked in at the sticker", "Sjekket inn ved klistremerket", "Tjekket ind ved klistermærket", "Kirjautui sisään tarralla";
    }
}

/// What a store with loyalty learnt of a sale's customer, in the reader's language: a member
/// with the member list's name, or not a member.
pub fn loyalty(loyalty: &kasse_api::Loyalty, locale: super::Locale) -> String {
    use kasse_api::Loyalty as L;
    match loyalty {
        L::Member { name: Some(name) } => format!("{}: {name}", loyalties::member(locale)),
        L::Member { name: None } => loyalties::member(locale).to_owned(),
        L::NotMember => loyalties::not_member(locale).to_owned(),
    }
}

/// The sentences of [`loyalty`].
pub(crate) mod loyalties {
    super::super::texts! {
        member: "Member", "Medlem", "Medlem", "Jäsen";
        not_member: "Not a member", "Ikke medlem", "Ikke medlem", "Ei jäsen";
    }
}

/// The sentences of [`problem`], by the server's problem codes.
pub(crate) mod problems {
    super::super::texts! {
        till_busy: "Finish or cancel the payment in progress first.", "Fullfør eller avbryt betalingen som pågår først.", "Gennemfør eller annullér den igangværende betaling først.", "Viimeistele tai peru käynnissä oleva maksu ensin.";
        checkout_busy: "This checkout is busy with another payment. Try again in a moment.", "Denne kassen er opptatt med en annen betaling. Prøv igjen om litt.", "Denne kasse er optaget af en anden betaling. Prøv igen om lidt.", "Tämä kassa käsittelee toista maksua. Yritä hetken kuluttua uudelleen.";
        not_cancellable: "This payment is already finished and can no longer be cancelled.", "Denne betalingen er allerede fullført og kan ikke lenger avbrytes.", "Denne betaling er allerede afsluttet og kan ikke længere annulleres.", "Tämä maksu on jo päättynyt, eikä sitä voi enää perua.";
        not_capturable: "Only a payment the customer approved can be captured.", "Bare en betaling kunden har godkjent, kan trekkes.", "Kun en betaling, kunden har godkendt, kan hæves.", "Vain asiakkaan hyväksymän maksun voi veloittaa.";
        not_refundable: "Only a payment that took money can be refunded.", "Bare en betaling som har trukket penger, kan refunderes.", "Kun en betaling, der har hævet penge, kan refunderes.", "Vain maksun, jolla on veloitettu rahaa, voi hyvittää.";
        already_approved: "The customer has already approved this payment.", "Kunden har allerede godkjent denne betalingen.", "Kunden har allerede godkendt denne betaling.", "Asiakas on jo hyväksynyt tämän maksun.";
        amount_too_small: "The amount is too small to charge.", "Beløpet er for lite til å belaste.", "Beløbet er for lille til at blive opkrævet.", "Summa on liian pieni veloitettavaksi.";
        amount_too_large: "The amount is above the largest payment allowed.", "Beløpet er over den største tillatte betalingen.", "Beløbet er over den største tilladte betaling.", "Summa ylittää suurimman sallitun maksun.";
        amount_out_of_range: "The amount must be more than zero and no more than what is left.", "Beløpet må være over null og ikke mer enn det som gjenstår.", "Beløbet skal være over nul og ikke mere end det, der er tilbage.", "Summan on oltava yli nolla eikä enempää kuin mitä on jäljellä.";
        wrong_currency: "This store takes payments in another currency.", "Denne butikken tar betalt i en annen valuta.", "Denne butik tager imod betalinger i en anden valuta.", "Tämä myymälä ottaa maksut toisessa valuutassa.";
        bad_personal_qr: "That is not a personal QR code. Ask the customer to show the code in their app again.", "Det er ikke en personlig QR-kode. Be kunden vise koden i appen sin igjen.", "Det er ikke en personlig QR-kode. Bed kunden vise koden i sin app igen.", "Se ei ole henkilökohtainen QR-koodi. Pyydä asiakasta näyttämään koodi sovelluksessaan uudelleen.";
        no_loyalty: "This store has no loyalty programme.", "Denne butikken har ikke noe fordelsprogram.", "Denne butik har ingen kundeklub.", "Tällä myymälällä ei ole kanta-asiakasohjelmaa.";
        bad_lines: "Each line needs a name, a quantity of 1 to 9999, a price and a VAT rate, and the lines must add up to the amount.", "Hver linje trenger et navn, et antall fra 1 til 9999, en pris og en mva-sats, og linjene må summere seg til beløpet.", "Hver linje skal have et navn, et antal fra 1 til 9999, en pris og en momssats, og linjerne skal give beløbet.", "Jokaisella rivillä on oltava nimi, määrä 1–9999, hinta ja arvonlisäverokanta, ja rivien on täsmättävä summaan.";
        bad_description: "The description must be 3 to 100 characters.", "Beskrivelsen må være 3 til 100 tegn.", "Beskrivelsen skal være 3 til 100 tegn.", "Kuvauksen on oltava 3–100 merkkiä.";
        check_in_gone: "That check-in can no longer be charged. Ask the customer to scan the sticker again.", "Den innsjekkingen kan ikke lenger belastes. Be kunden skanne klistremerket igjen.", "Den check-in kan ikke længere opkræves. Bed kunden scanne klistermærket igen.", "Tätä sisäänkirjautumista ei voi enää veloittaa. Pyydä asiakasta skannaamaan tarra uudelleen.";
        unknown_payment: "There is no such payment at this till.", "Det finnes ingen slik betaling i denne kassen.", "Der findes ingen sådan betaling i denne kasse.", "Tässä kassassa ei ole tällaista maksua.";
        pending: "The payment service has not answered yet; the request is kept and sent again.", "Betalingstjenesten har ikke svart ennå; forespørselen tas vare på og sendes igjen.", "Betalingstjenesten har ikke svaret endnu; anmodningen gemmes og sendes igen.", "Maksupalvelu ei ole vielä vastannut; pyyntö säilytetään ja lähetetään uudelleen.";
        platform_refused: "The payment service refused the request.", "Betalingstjenesten avviste forespørselen.", "Betalingstjenesten afviste anmodningen.", "Maksupalvelu hylkäsi pyynnön.";
        internal: "Something went wrong on the server. Try again in a moment.", "Noe gikk galt på serveren. Prøv igjen om litt.", "Noget gik galt på serveren. Prøv igen om lidt.", "Palvelimella tapahtui virhe. Yritä hetken kuluttua uudelleen.";
        unauthorized: "This browser is not paired with a till, or the pairing code is not valid. Ask the manager for a new code.", "Denne nettleseren er ikke koblet til en kasse, eller koden er ugyldig. Be lederen om en ny kode.", "Denne browser er ikke parret med en kasse, eller koden er ugyldig. Bed lederen om en ny kode.", "Tätä selainta ei ole yhdistetty kassaan, tai koodi ei kelpaa. Pyydä esimieheltä uusi koodi.";
        too_many_requests: "Too many attempts. Wait a little, then try again.", "For mange forsøk. Vent litt og prøv igjen.", "For mange forsøg. Vent lidt, og prøv igen.", "Liian monta yritystä. Odota hetki ja yritä uudelleen.";
        session_expired: "This browser's pairing has run out. Ask the manager for a new code.", "Koblingen til denne nettleseren har utløpt. Be lederen om en ny kode.", "Denne browsers parring er udløbet. Bed lederen om en ny kode.", "Tämän selaimen yhdistäminen on vanhentunut. Pyydä esimieheltä uusi koodi.";
        session_revoked: "The manager has unpaired this browser. Ask for a new code.", "Lederen har koblet fra denne nettleseren. Be om en ny kode.", "Lederen har fjernet parringen af denne browser. Bed om en ny kode.", "Esimies on poistanut tämän selaimen yhdistämisen. Pyydä uusi koodi.";
        too_many_streams: "Too many screens are following this till. Close one, then try again.", "For mange skjermer følger denne kassen. Lukk en og prøv igjen.", "For mange skærme følger denne kasse. Luk en, og prøv igen.", "Liian moni näyttö seuraa tätä kassaa. Sulje yksi ja yritä uudelleen.";
        forbidden: "This screen may not do that. Ask the manager to pair it as a till.", "Denne skjermen har ikke lov til det. Be lederen om å koble den som kasse.", "Denne skærm må ikke gøre det. Bed lederen parre den som kasse.", "Tämä näyttö ei voi tehdä sitä. Pyydä esimiestä yhdistämään se kassaksi.";
        pin_required: "Choose a PIN of 4 to 8 digits: the back office asks for it before it pairs or unpairs a device.", "Velg en PIN-kode på 4 til 8 sifre: administrasjonen spør etter den før den kobler til eller fra en enhet.", "Vælg en pinkode på 4 til 8 cifre: backoffice beder om den, før den parrer eller fjerner en enhed.", "Valitse 4–8-numeroinen PIN-koodi: hallinta kysyy sitä ennen kuin se yhdistää tai poistaa laitteen.";
        bad_pin: "A PIN is 4 to 8 digits.", "En PIN-kode er 4 til 8 sifre.", "En pinkode er 4 til 8 cifre.", "PIN-koodi on 4–8 numeroa.";
        pin_chosen: "This manager has chosen a PIN already, on another device. Press Pair again without one; the back office asks for that PIN.", "Denne lederen har allerede valgt en PIN-kode på en annen enhet. Trykk Koble til igjen uten en; administrasjonen spør etter den PIN-koden.", "Denne leder har allerede valgt en pinkode på en anden enhed. Tryk Par igen uden en; backoffice beder om den pinkode.", "Tämä esimies on jo valinnut PIN-koodin toisella laitteella. Paina Yhdistä uudelleen ilman koodia; hallinta kysyy sitä PIN-koodia.";
        wrong_pin: "That PIN is not right.", "PIN-koden er feil.", "Pinkoden er forkert.", "PIN-koodi on väärä.";
        manager_pin_required: "This payment is from an earlier day: a manager's PIN is needed to refund it.", "Denne betalingen er fra en tidligere dag: det trengs en leders PIN-kode for å refundere den.", "Denne betaling er fra en tidligere dag: der kræves en leders pinkode for at refundere den.", "Tämä maksu on aiemmalta päivältä: sen hyvittämiseen tarvitaan esimiehen PIN-koodi.";
        pin_locked: "Too many wrong PINs. Try again later.", "For mange feil PIN-koder. Prøv igjen senere.", "For mange forkerte pinkoder. Prøv igen senere.", "Liian monta väärää PIN-koodia. Yritä myöhemmin uudelleen.";
        unknown_device: "That device is no longer paired.", "Den enheten er ikke lenger koblet til.", "Den enhed er ikke længere parret.", "Laite ei ole enää yhdistetty.";
        manager_name_taken: "Another manager already has that name. Choose another.", "En annen leder har allerede det navnet. Velg et annet.", "En anden leder har allerede det navn. Vælg et andet.", "Toisella esimiehellä on jo tämä nimi. Valitse toinen.";
        unknown_till: "This till is not set up on the server. Ask the manager.", "Denne kassen er ikke satt opp på serveren. Spør lederen.", "Denne kasse er ikke sat op på serveren. Spørg lederen.", "Tätä kassaa ei ole määritetty palvelimelle. Kysy esimieheltä.";
        not_found: "The server does not know this request. Reload the page.", "Serveren kjenner ikke denne forespørselen. Last inn siden på nytt.", "Serveren kender ikke denne anmodning. Genindlæs siden.", "Palvelin ei tunne tätä pyyntöä. Lataa sivu uudelleen.";
        bad_request: "The server could not read this request. Reload the page and try again.", "Serveren kunne ikke lese denne forespørselen. Last inn siden på nytt og prøv igjen.", "Serveren kunne ikke læse denne anmodning. Genindlæs siden, og prøv igen.", "Palvelin ei voinut lukea tätä pyyntöä. Lataa sivu uudelleen ja yritä uudelleen.";
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::{Currency, Money, PhoneError};

    use super::*;
    use crate::i18n::Locale;
    use crate::state::till::Charged;

    #[test]
    fn an_amount_taken_in_part_reads_as_what_was_taken_of_the_amount_in_every_language() {
        let (taken, of) = (Money::new(4_000, Currency::Nok), Money::new(10_000, Currency::Nok));
        let part = |locale| charged(Charged::Part { taken, of }, locale).replace('\u{a0}', " ");
        assert_eq!(part(Locale::En), "NOK 40.00 of NOK 100.00");
        assert_eq!(part(Locale::Nb), "kr 40,00 av kr 100,00");
        assert_eq!(part(Locale::Da), "40,00 NOK af 100,00 NOK");
        assert_eq!(part(Locale::Fi), "40,00 NOK / 100,00 NOK");
        assert_eq!(charged(Charged::Whole(of), Locale::En).replace('\u{a0}', " "), "NOK 100.00");
    }

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

    #[test]
    fn a_refusal_is_said_in_the_readers_language_and_in_english_with_the_servers_figures() {
        let busy = kasse_api::Problem::new(
            409,
            kasse_api::ProblemCode::TillBusy,
            "Till busy",
            "Finish or cancel kasse-1 first.",
        );
        assert_eq!(problem(&busy, Locale::En), "Finish or cancel kasse-1 first.");
        assert_eq!(problem(&busy, Locale::Nb), "Fullfør eller avbryt betalingen som pågår først.");
        let unknown =
            kasse_api::Problem::new(400, kasse_api::ProblemCode::Unknown, "New", "A new kind of refusal.");
        assert_eq!(
            problem(&unknown, Locale::Fi),
            "A new kind of refusal.",
            "the server's words, not nothing"
        );
        let said = crate::state::till::Notice::Said("Nummeret er for kort.".into());
        assert_eq!(notice(&said, Locale::Da), "Nummeret er for kort.");
    }
}

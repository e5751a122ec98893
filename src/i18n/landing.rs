//! The sticker landing page's texts: spoken to a customer on their own phone, who may never have
//! seen this shop's page before. Short sentences that say what happened and what to do next.

use kasse_api::{Country, Money, PhoneError};

use super::Locale;
use crate::state::landing::{Mistake, Refusal, Step, Trouble};
use crate::state::money::{AmountMistake, format_money};

super::texts! {
    /// Above the amount the till presents.
    to_pay: "To pay", "Å betale", "At betale", "Maksettavaa";
    /// The amount field of an open-amount sticker.
    amount_label: "Amount", "Beløp", "Beløb", "Summa";
    /// The phone number field.
    phone_label: "Your mobile number", "Ditt mobilnummer", "Dit mobilnummer", "Matkapuhelinnumerosi";
    /// The country-code choice beside the phone number.
    country_label: "Country code", "Landskode", "Landekode", "Maatunnus";
    /// The checkbox that keeps the number on this phone.
    remember: "Remember my number on this device", "Husk nummeret mitt på denne enheten", "Husk mit nummer på denne enhed", "Muista numeroni tällä laitteella";
    /// Forgets the remembered number.
    forget: "Forget my number", "Glem nummeret mitt", "Glem mit nummer", "Unohda numeroni";
    /// The main button: a payment request to the number.
    pay: "Pay", "Betal", "Betal", "Maksa";
    /// What Pay does.
    pay_hint: "We send a payment request to Vipps MobilePay on this number.", "Vi sender en betalingsforespørsel til Vipps MobilePay på dette nummeret.", "Vi sender en betalingsanmodning til Vipps MobilePay på dette nummer.", "Lähetämme maksupyynnön Vipps MobilePayhin tähän numeroon.";
    /// Between the two ways to pay.
    or: "or", "eller", "eller", "tai";
    /// The app-switch button.
    open_app_instead: "Open the app instead", "Åpne appen i stedet", "Åbn appen i stedet", "Avaa sovellus sen sijaan";
    /// Nothing is presented at a till's sticker.
    nothing_to_pay: "Nothing to pay here right now", "Ingenting å betale her nå", "Intet at betale her lige nu", "Täällä ei ole nyt mitään maksettavaa";
    /// What to do when there is nothing to pay.
    nothing_to_pay_line: "The amount appears here as soon as the checkout shows it.", "Beløpet kommer opp her så snart kassen viser det.", "Beløbet vises her, så snart kassen viser det.", "Summa näkyy tässä heti, kun kassa näyttää sen.";
    /// Reads the sticker again.
    check_again: "Check again", "Sjekk igjen", "Tjek igen", "Tarkista uudelleen";
    /// An open-amount sticker switched off.
    closed: "Not taking payments right now", "Tar ikke imot betaling akkurat nå", "Modtager ikke betaling lige nu", "Ei ota maksuja vastaan juuri nyt";
    /// What to do then.
    closed_line: "Come back later, or ask the staff.", "Kom tilbake senere, eller spør de ansatte.", "Kom tilbage senere, eller spørg personalet.", "Palaa myöhemmin tai kysy henkilökunnalta.";
    /// The sticker cannot be read.
    unavailable: "This page cannot be shown right now", "Denne siden kan ikke vises nå", "Siden kan ikke vises lige nu", "Sivua ei voi näyttää nyt";
    /// While the page reads the sticker.
    loading: "Loading…", "Laster…", "Indlæser…", "Ladataan…";
    /// The request is on its way.
    sending: "Sending…", "Sender…", "Sender…", "Lähetetään…";
    /// The request is in the app.
    approve_in_app: "Approve in your app", "Godkjenn i appen", "Godkend i appen", "Hyväksy sovelluksessa";
    /// Before the masked number the request went to.
    sent_to: "We sent the payment request to", "Vi sendte betalingsforespørselen til", "Vi sendte betalingsanmodningen til", "Lähetimme maksupyynnön numeroon";
    /// Before the countdown.
    time_left: "Time left to approve:", "Tid igjen til å godkjenne:", "Tid tilbage til at godkende:", "Aikaa hyväksyä:";
    /// The app switch is ready.
    open_the_app: "Open Vipps MobilePay", "Åpne Vipps MobilePay", "Åbn Vipps MobilePay", "Avaa Vipps MobilePay";
    /// The line under "Open Vipps MobilePay".
    open_the_app_line: "Approve the payment in the app; you come back here after.", "Godkjenn betalingen i appen; du kommer tilbake hit etterpå.", "Godkend betalingen i appen; du kommer tilbage hertil bagefter.", "Hyväksy maksu sovelluksessa; palaat sen jälkeen tänne.";
    /// Sends the same payment again.
    send_again: "Send again", "Send på nytt", "Send igen", "Lähetä uudelleen";
    /// Live updates are reconnecting.
    reconnecting: "Reconnecting…", "Kobler til igjen…", "Forbinder igen…", "Yhdistetään uudelleen…";
}

mod steps {
    super::super::texts! {
        finishing: "Approved", "Godkjent", "Godkendt", "Hyväksytty";
        finishing_line: "Finishing the payment…", "Fullfører betalingen…", "Gennemfører betalingen…", "Viimeistellään maksua…";
        cancelling: "Cancelling…", "Avbryter…", "Annullerer…", "Perutaan…";
        cancelling_line: "The shop is cancelling the payment.", "Butikken avbryter betalingen.", "Butikken annullerer betalingen.", "Kauppa on perumassa maksua.";
        paid: "Paid", "Betalt", "Betalt", "Maksettu";
        paid_line: "Thank you! You can put your phone away.", "Takk! Du kan legge bort telefonen.", "Tak! Du kan lægge telefonen væk.", "Kiitos! Voit laittaa puhelimen pois.";
        refunded: "Refunded", "Refundert", "Refunderet", "Hyvitetty";
        refunded_line: "The money is on its way back to you.", "Pengene er på vei tilbake til deg.", "Pengene er på vej tilbage til dig.", "Rahat ovat matkalla takaisin sinulle.";
        declined: "Declined", "Avvist", "Afvist", "Hylätty";
        declined_line: "The payment was declined in the app. Nothing was charged.", "Betalingen ble avvist i appen. Ingenting ble trukket.", "Betalingen blev afvist i appen. Intet blev trukket.", "Maksu hylättiin sovelluksessa. Mitään ei veloitettu.";
        expired: "Expired", "Utløpt", "Udløbet", "Vanhentunut";
        expired_line: "The request was not approved in time. Nothing was charged.", "Forespørselen ble ikke godkjent i tide. Ingenting ble trukket.", "Anmodningen blev ikke godkendt i tide. Intet blev trukket.", "Pyyntöä ei hyväksytty ajoissa. Mitään ei veloitettu.";
        cancelled: "Cancelled", "Avbrutt", "Annulleret", "Peruttu";
        cancelled_line: "The shop cancelled the payment. Nothing was charged.", "Butikken avbrøt betalingen. Ingenting ble trukket.", "Butikken annullerede betalingen. Intet blev trukket.", "Kauppa perui maksun. Mitään ei veloitettu.";
        failed: "Not sent", "Ikke sendt", "Ikke sendt", "Ei lähetetty";
        failed_line: "Vipps MobilePay could not take this payment. Nothing was charged.", "Vipps MobilePay kunne ikke ta imot denne betalingen. Ingenting ble trukket.", "Vipps MobilePay kunne ikke modtage denne betaling. Intet blev trukket.", "Vipps MobilePay ei voinut vastaanottaa tätä maksua. Mitään ei veloitettu.";
    }
}

mod mistakes {
    super::super::texts! {
        phone_empty: "Type your mobile number.", "Skriv inn mobilnummeret ditt.", "Skriv dit mobilnummer.", "Kirjoita matkapuhelinnumerosi.";
        amount_empty: "Type the amount.", "Skriv inn beløpet.", "Skriv beløbet.", "Kirjoita summa.";
        amount_not_a_number: "Type the amount in figures, like 50 or 49,90.", "Skriv beløpet med tall, som 50 eller 49,90.", "Skriv beløbet med tal, fx 50 eller 49,90.", "Kirjoita summa numeroin, esimerkiksi 50 tai 49,90.";
        amount_decimals: "Use at most two decimals.", "Bruk høyst to desimaler.", "Brug højst to decimaler.", "Käytä enintään kahta desimaalia.";
        amount_at_least: "The smallest amount is", "Minste beløp er", "Mindste beløb er", "Pienin summa on";
        amount_at_most: "The largest amount is", "Største beløp er", "Største beløb er", "Suurin summa on";
    }
}

mod refusals {
    super::super::texts! {
        number_limited: "This number has had several payment requests already.", "Dette nummeret har allerede fått flere betalingsforespørsler.", "Dette nummer har allerede fået flere betalingsanmodninger.", "Tähän numeroon on jo lähetetty useita maksupyyntöjä.";
        phone_limited: "Too many payment requests from this phone.", "For mange betalingsforespørsler fra denne telefonen.", "For mange betalingsanmodninger fra denne telefon.", "Liian monta maksupyyntöä tästä puhelimesta.";
        sticker_busy: "Many people are paying here right now.", "Mange betaler her akkurat nå.", "Mange betaler her lige nu.", "Moni maksaa täällä juuri nyt.";
        try_again_later: "Try again later.", "Prøv igjen senere.", "Prøv igen senere.", "Yritä myöhemmin uudelleen.";
        nothing_to_pay: "There is nothing to pay here right now. Ask the staff to show the amount, then try again.", "Det er ingenting å betale her nå. Be betjeningen vise beløpet, og prøv igjen.", "Der er intet at betale her lige nu. Bed personalet om at vise beløbet, og prøv igen.", "Täällä ei ole nyt mitään maksettavaa. Pyydä henkilökuntaa näyttämään summa ja yritä uudelleen.";
        checkout_busy: "This checkout is busy with another payment. Try again in a moment.", "Denne kassen er opptatt med en annen betaling. Prøv igjen om litt.", "Denne kasse er optaget af en anden betaling. Prøv igen om lidt.", "Tämä kassa käsittelee toista maksua. Yritä hetken kuluttua uudelleen.";
        amount_changed: "The amount to pay has changed. Check the new amount, then pay again.", "Beløpet er endret. Sjekk det nye beløpet, og betal på nytt.", "Beløbet er ændret. Tjek det nye beløb, og betal igen.", "Maksettava summa on muuttunut. Tarkista uusi summa ja maksa uudelleen.";
        unknown_sticker: "This sticker is not in use. Ask the staff how to pay.", "Dette klistremerket er ikke i bruk. Spør betjeningen hvordan du kan betale.", "Dette klistermærke er ikke i brug. Spørg personalet, hvordan du kan betale.", "Tämä tarra ei ole käytössä. Kysy henkilökunnalta, miten voit maksaa.";
        unknown_payment: "That payment cannot be found. Start again here.", "Fant ikke den betalingen. Start på nytt her.", "Betalingen findes ikke. Start forfra her.", "Maksua ei löydy. Aloita alusta tästä.";
        platform_refused: "Vipps MobilePay could not send the request. Check the number, or open the app instead.", "Vipps MobilePay kunne ikke sende forespørselen. Sjekk nummeret, eller åpne appen i stedet.", "Vipps MobilePay kunne ikke sende anmodningen. Tjek nummeret, eller åbn appen i stedet.", "Vipps MobilePay ei voinut lähettää pyyntöä. Tarkista numero tai avaa sovellus sen sijaan.";
        no_answer: "No connection. Check your network and try again.", "Ingen forbindelse. Sjekk nettet og prøv igjen.", "Ingen forbindelse. Tjek netværket, og prøv igen.", "Ei yhteyttä. Tarkista verkkoyhteys ja yritä uudelleen.";
    }
}

/// The headline and the line under it for a payment's step.
pub const fn step(step: Step, locale: Locale) -> (&'static str, &'static str) {
    match step {
        Step::Sending => (sending(locale), sending(locale)),
        Step::Approve => (approve_in_app(locale), sent_to(locale)),
        Step::OpenApp => (open_the_app(locale), open_the_app_line(locale)),
        Step::Finishing => (steps::finishing(locale), steps::finishing_line(locale)),
        Step::Cancelling => (steps::cancelling(locale), steps::cancelling_line(locale)),
        Step::Paid => (steps::paid(locale), steps::paid_line(locale)),
        Step::Refunded => (steps::refunded(locale), steps::refunded_line(locale)),
        Step::Declined => (steps::declined(locale), steps::declined_line(locale)),
        Step::Expired => (steps::expired(locale), steps::expired_line(locale)),
        Step::Cancelled => (steps::cancelled(locale), steps::cancelled_line(locale)),
        Step::Failed => (steps::failed(locale), steps::failed_line(locale)),
    }
}

/// A country as the phone number's country choice shows it: `+47 Norge`.
pub fn country(country: Country, locale: Locale) -> String {
    let name = match (country, locale) {
        (Country::No, Locale::En) => "Norway",
        (Country::No, Locale::Nb | Locale::Da) => "Norge",
        (Country::No, Locale::Fi) => "Norja",
        (Country::Dk, Locale::En) => "Denmark",
        (Country::Dk, Locale::Nb | Locale::Da) => "Danmark",
        (Country::Dk, Locale::Fi) => "Tanska",
        (Country::Fi, Locale::En | Locale::Nb | Locale::Da) => "Finland",
        (Country::Fi, Locale::Fi) => "Suomi",
    };
    format!("+{} {name}", country.calling_code())
}

/// What an open-amount sticker allows: `Between kr 10,00 and kr 1 000,00`.
pub fn bounds(min: Money, max: Money, locale: Locale) -> String {
    let (min, max) = (format_money(min, locale), format_money(max, locale));
    match locale {
        Locale::En => format!("Between {min} and {max}"),
        Locale::Nb => format!("Mellom {min} og {max}"),
        Locale::Da => format!("Mellem {min} og {max}"),
        Locale::Fi => format!("{min}–{max}"),
    }
}

/// The sentence for something the customer must put right.
pub fn mistake(mistake: Mistake, locale: Locale) -> String {
    let sentence = match mistake {
        Mistake::Phone(PhoneError::Empty) => mistakes::phone_empty(locale),
        // The rest are said as on the till.
        Mistake::Phone(other) => super::common::phone_mistake(other, locale),
        Mistake::Amount(AmountMistake::Empty) => mistakes::amount_empty(locale),
        Mistake::Amount(AmountMistake::TooManyDecimals) => mistakes::amount_decimals(locale),
        Mistake::Amount(_) => mistakes::amount_not_a_number(locale),
        Mistake::BelowMinimum(min) => {
            return format!("{} {}.", mistakes::amount_at_least(locale), format_money(min, locale));
        }
        Mistake::AboveMaximum(max) => {
            return format!("{} {}.", mistakes::amount_at_most(locale), format_money(max, locale));
        }
    };
    sentence.to_owned()
}

/// A wait as a person says it, in the form "try again in …" takes.
fn wait(seconds: i64, locale: Locale) -> String {
    let minutes = (seconds + 59) / 60;
    // A day's cap waits hours: "in 1440 minutes" says nothing a person can use.
    let hours = (seconds + 3599) / 3600;
    match (locale, seconds) {
        (Locale::En, 7_200..) => format!("{hours} hours"),
        (Locale::Nb | Locale::Da, 7_200..) => format!("{hours} timer"),
        (Locale::Fi, 7_200..) => format!("{hours} tunnin"),
        (Locale::En, ..=1) => "a second".to_owned(),
        (Locale::En, 2..=59) => format!("{seconds} seconds"),
        (Locale::En, 60..=119) => "a minute".to_owned(),
        (Locale::En, _) => format!("{minutes} minutes"),
        (Locale::Nb, ..=1) => "ett sekund".to_owned(),
        (Locale::Da, ..=1) => "et sekund".to_owned(),
        (Locale::Nb | Locale::Da, 2..=59) => format!("{seconds} sekunder"),
        (Locale::Nb, 60..=119) => "ett minutt".to_owned(),
        (Locale::Da, 60..=119) => "et minut".to_owned(),
        (Locale::Nb | Locale::Da, _) => format!("{minutes} minutter"),
        // Finnish: "… kuluttua" takes the genitive.
        (Locale::Fi, ..=1) => "sekunnin".to_owned(),
        (Locale::Fi, 2..=59) => format!("{seconds} sekunnin"),
        (Locale::Fi, 60..=119) => "minuutin".to_owned(),
        (Locale::Fi, _) => format!("{minutes} minuutin"),
    }
}

/// "Try again in 10 minutes." in each language, or "Try again later." without a wait.
fn try_again_in(seconds: Option<i64>, locale: Locale) -> String {
    let Some(seconds) = seconds else { return refusals::try_again_later(locale).to_owned() };
    let wait = wait(seconds, locale);
    match locale {
        Locale::En => format!("Try again in {wait}."),
        Locale::Nb => format!("Prøv igjen om {wait}."),
        Locale::Da => format!("Prøv igen om {wait}."),
        Locale::Fi => format!("Yritä uudelleen {wait} kuluttua."),
    }
}

/// The sentence for a request that did not succeed.
pub fn trouble(trouble: &Trouble, locale: Locale) -> String {
    let refusal = match trouble {
        Trouble::NoAnswer => return refusals::no_answer(locale).to_owned(),
        Trouble::Refused(refusal) => refusal,
    };
    let sentence = match refusal {
        Refusal::NumberLimited(wait) => {
            return format!("{} {}", refusals::number_limited(locale), try_again_in(*wait, locale));
        }
        Refusal::PhoneLimited(wait) => {
            return format!("{} {}", refusals::phone_limited(locale), try_again_in(*wait, locale));
        }
        Refusal::StickerBusy(wait) => {
            return format!("{} {}", refusals::sticker_busy(locale), try_again_in(*wait, locale));
        }
        Refusal::NothingToPay => refusals::nothing_to_pay(locale),
        Refusal::CheckoutBusy => refusals::checkout_busy(locale),
        Refusal::AmountChanged => refusals::amount_changed(locale),
        Refusal::UnknownSticker => refusals::unknown_sticker(locale),
        Refusal::UnknownPayment => refusals::unknown_payment(locale),
        Refusal::PlatformRefused => refusals::platform_refused(locale),
        // The server's own words: English, but better than nothing.
        Refusal::Other(sentence) => return sentence.clone(),
    };
    sentence.to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use kasse_api::Currency;

    use super::*;

    #[test]
    fn every_phone_mistake_has_its_own_sentence_in_every_language() {
        let all = [
            PhoneError::Empty,
            PhoneError::NotDigits,
            PhoneError::UnknownCountry,
            PhoneError::TooShort,
            PhoneError::TooLong,
            PhoneError::NotMobile,
        ];
        for locale in Locale::ALL {
            let sentences: HashSet<_> = all.iter().map(|e| mistake(Mistake::Phone(*e), locale)).collect();
            assert_eq!(sentences.len(), all.len(), "{locale:?}");
        }
        assert_eq!(mistake(Mistake::Phone(PhoneError::TooShort), Locale::En), "The number is too short.");
        assert_eq!(mistake(Mistake::Phone(PhoneError::TooShort), Locale::Nb), "Nummeret er for kort.");
    }

    #[test]
    fn an_amount_outside_the_bounds_names_the_bound_in_the_customers_money() {
        let max = Money::new(100_000, Currency::Nok);
        assert_eq!(
            mistake(Mistake::AboveMaximum(max), Locale::En),
            "The largest amount is NOK\u{a0}1,000.00."
        );
        assert_eq!(
            mistake(Mistake::AboveMaximum(max), Locale::Nb),
            "Største beløp er kr\u{a0}1\u{a0}000,00."
        );
        let min = Money::new(1_000, Currency::Nok);
        assert_eq!(bounds(min, max, Locale::En), "Between NOK\u{a0}10.00 and NOK\u{a0}1,000.00");
    }

    #[test]
    fn a_rate_limit_says_which_limit_and_when_to_try_again_in_each_language() {
        let number = Trouble::Refused(Refusal::NumberLimited(Some(600)));
        assert_eq!(
            trouble(&number, Locale::En),
            "This number has had several payment requests already. Try again in 10 minutes."
        );
        assert!(trouble(&number, Locale::Nb).ends_with("Prøv igjen om 10 minutter."));
        assert!(trouble(&number, Locale::Da).ends_with("Prøv igen om 10 minutter."));
        assert!(trouble(&number, Locale::Fi).ends_with("Yritä uudelleen 10 minuutin kuluttua."));
        let busy = Trouble::Refused(Refusal::StickerBusy(Some(40)));
        assert!(trouble(&busy, Locale::En).ends_with("Try again in 40 seconds."));
        let phone = Trouble::Refused(Refusal::PhoneLimited(None));
        assert!(trouble(&phone, Locale::En).ends_with("Try again later."));
        assert_eq!(wait(61, Locale::Fi), "minuutin");
        assert_eq!(wait(1, Locale::Nb), "ett sekund");
        // A day's cap says hours.
        assert_eq!(wait(86_400, Locale::En), "24 hours");
        assert_eq!(wait(86_000, Locale::Da), "24 timer");
        assert_eq!(wait(7_199, Locale::En), "120 minutes");
    }

    #[test]
    fn every_step_reads_differently_and_each_country_shows_its_code() {
        let every = [
            Step::Sending,
            Step::Approve,
            Step::OpenApp,
            Step::Finishing,
            Step::Cancelling,
            Step::Paid,
            Step::Refunded,
            Step::Declined,
            Step::Expired,
            Step::Cancelled,
            Step::Failed,
        ];
        for locale in Locale::ALL {
            let headlines: HashSet<_> = every.iter().map(|s| step(*s, locale).0).collect();
            assert_eq!(headlines.len(), every.len(), "{locale:?}");
        }
        assert_eq!(step(Step::Paid, Locale::En).0, "Paid");
        assert_eq!(country(Country::Fi, Locale::Fi), "+358 Suomi");
        assert_eq!(country(Country::No, Locale::En), "+47 Norway");
        for table in [steps::all(), mistakes::all(), refusals::all()] {
            assert!(table.iter().all(|(_, _, text)| !text.trim().is_empty()));
        }
    }
}

//! The sale page's texts: a sale's facts and amounts, what can be done with it, its platform
//! event log, and the sentences for a mistyped amount.

use kasse_api::{Money, SaleEventName};

use super::Locale;
use crate::state::money::format_money;
use crate::state::sale_detail::AmountMistake;

super::texts! {
    /// The page's heading, before the amount.
    heading: "Payment", "Betaling", "Betaling", "Maksu";
    /// The sale's facts.
    facts: "About this payment", "Om denne betalingen", "Om denne betaling", "Tietoja maksusta";
    /// The amount asked for.
    amount: "Amount", "Beløp", "Beløb", "Summa";
    /// The status.
    status: "Status", "Status", "Status", "Tila";
    /// What it is for.
    description: "What for", "Hva det gjelder", "Hvad det drejer sig om", "Mitä maksetaan";
    /// No description was written.
    no_description: "Nothing written", "Ingenting skrevet", "Intet skrevet", "Ei kuvausta";
    /// Who was asked.
    customer: "Customer", "Kunde", "Kunde", "Asiakas";
    /// No customer is known.
    no_customer: "Not known", "Ukjent", "Ukendt", "Ei tiedossa";
    /// At a store with loyalty: whether the customer is a member.
    loyalty: "Loyalty", "Fordelsprogram", "Kundeklub", "Kanta-asiakkuus";
    /// How the customer was asked.
    flow: "How", "Hvordan", "Hvordan", "Tapa";
    /// When it started.
    started: "Started", "Startet", "Startet", "Aloitettu";
    /// The platform reference.
    reference: "Reference", "Referanse", "Reference", "Viite";
    /// The amounts' heading.
    amounts: "Money", "Penger", "Penge", "Rahat";
    /// Reserved by the approval.
    authorized: "Reserved", "Reservert", "Reserveret", "Varattu";
    /// Taken.
    captured: "Taken", "Trukket", "Trukket", "Veloitettu";
    /// Released without being taken.
    cancelled: "Released", "Frigitt", "Frigivet", "Vapautettu";
    /// Given back.
    refunded: "Refunded", "Refundert", "Refunderet", "Hyvitetty";
    /// The actions' heading.
    actions: "What you can do", "Hva du kan gjøre", "Hvad du kan gøre", "Mitä voit tehdä";
    /// Captures everything reserved.
    capture_all: "Take the payment", "Trekk betalingen", "Træk betalingen", "Veloita maksu";
    /// The "take part" field's label.
    part_label: "Amount to take", "Beløp å trekke", "Beløb at trække", "Veloitettava summa";
    /// Captures the typed amount.
    capture_part: "Take part", "Trekk en del", "Træk en del", "Veloita osa";
    /// Releases what is not captured.
    release: "Release the rest", "Frigi resten", "Frigiv resten", "Vapauta loput";
    /// What is still reserved.
    still_reserved: "Still reserved:", "Fortsatt reservert:", "Stadig reserveret:", "Vielä varattuna:";
    /// The refund field's label.
    refund_label: "Amount to refund", "Beløp å refundere", "Beløb at refundere", "Hyvitettävä summa";
    /// The refund field's hint, before the amount left.
    refund_hint: "Leave empty to refund all that is left:", "La feltet stå tomt for å refundere alt som er igjen:", "Lad feltet stå tomt for at refundere alt, der er tilbage:", "Jätä tyhjäksi hyvittääksesi kaiken jäljellä olevan:";
    /// Refunds.
    refund: "Refund", "Refunder", "Refundér", "Hyvitä";
    /// The PIN field of a refund in the back office.
    refund_pin: "Your PIN, to confirm the refund", "Din PIN-kode, for å bekrefte refusjonen", "Din pinkode, for at bekræfte refunderingen", "PIN-koodisi hyvityksen vahvistamiseksi";
    /// Before the store's limit: a sale's refunds above it in all ask for the PIN.
    pin_above: "Refunds of this payment of more than this in all ask for your PIN:", "Refusjoner av denne betalingen på mer enn dette til sammen krever PIN-koden din:", "Refunderinger af denne betaling på mere end dette i alt kræver din pinkode:", "Tämän maksun hyvitykset, jotka ylittävät yhteensä tämän, vaativat PIN-koodisi:";
    /// At the till: an earlier day's refund needs a manager's PIN.
    manager_pin_needed: "This payment is from an earlier day: a manager types their PIN to refund it.", "Denne betalingen er fra en tidligere dag: en leder skriver inn PIN-koden sin for å refundere den.", "Denne betaling er fra en tidligere dag: en leder skriver sin pinkode for at refundere den.", "Tämä maksu on aiemmalta päivältä: esimies kirjoittaa PIN-koodinsa hyvittääkseen sen.";
    /// The till's PIN field's placeholder.
    manager_pin: "Manager's PIN", "Lederens PIN", "Lederens pinkode", "Esimiehen PIN";
    /// Every refund asks for the PIN (the store's limit is zero).
    pin_always: "Every refund asks for your PIN.", "Hver refusjon krever PIN-koden din.", "Hver refundering kræver din pinkode.", "Jokainen hyvitys vaatii PIN-koodisi.";
    /// Asks the platform again.
    check_again: "Check again", "Sjekk igjen", "Tjek igen", "Tarkista uudelleen";
    /// Nothing can be done but asking again.
    nothing_to_do: "Nothing more can be taken or refunded.", "Ingenting mer kan trekkes eller refunderes.", "Intet mere kan trækkes eller refunderes.", "Mitään ei voi enää veloittaa tai hyvittää.";
    /// A request is on its way.
    sending: "Sending…", "Sender…", "Sender…", "Lähetetään…";
    /// A write kept by the server, not yet answered by the platform.
    waiting: "Sent. Waiting for Vipps MobilePay's answer before anything else is done…", "Sendt. Venter på svar fra Vipps MobilePay før noe annet gjøres…", "Sendt. Venter på svar fra Vipps MobilePay, før noget andet gøres…", "Lähetetty. Odotetaan Vipps MobilePayn vastausta ennen muita toimia…";
    /// No answer while a request was on its way.
    unsure: "No answer from the server. Checking what happened…", "Ingen svar fra serveren. Sjekker hva som skjedde…", "Intet svar fra serveren. Tjekker hvad der skete…", "Palvelin ei vastannut. Tarkistetaan mitä tapahtui…";
    /// The event log's heading.
    log_heading: "What happened at Vipps MobilePay", "Hva som skjedde hos Vipps MobilePay", "Hvad der skete hos Vipps MobilePay", "Mitä Vipps MobilePayssa tapahtui";
    /// The event log is empty.
    log_empty: "Nothing recorded yet.", "Ingenting registrert ennå.", "Intet registreret endnu.", "Ei vielä tapahtumia.";
    /// The event log cannot be read.
    log_unavailable: "The event log cannot be read right now.", "Hendelsesloggen kan ikke leses nå.", "Hændelsesloggen kan ikke læses lige nu.", "Tapahtumalokia ei voi lukea nyt.";
    /// An event that did not succeed.
    failed_mark: "Did not succeed", "Lyktes ikke", "Lykkedes ikke", "Ei onnistunut";
    /// The sale cannot be shown.
    cannot_load: "This payment cannot be shown.", "Denne betalingen kan ikke vises.", "Denne betaling kan ikke vises.", "Tätä maksua ei voi näyttää.";
}

mod events {
    super::super::texts! {
        event_created: "Payment requested", "Betaling forespurt", "Betaling anmodet", "Maksua pyydetty";
        event_authorized: "Approved by the customer", "Godkjent av kunden", "Godkendt af kunden", "Asiakas hyväksyi";
        event_captured: "Money taken", "Penger trukket", "Penge trukket", "Rahat veloitettu";
        event_cancelled: "Reservation released", "Reservasjon frigitt", "Reservation frigivet", "Varaus vapautettu";
        event_refunded: "Money given back", "Penger betalt tilbake", "Penge betalt tilbage", "Rahat palautettu";
        event_aborted: "Declined by the customer", "Avvist av kunden", "Afvist af kunden", "Asiakas hylkäsi";
        event_expired: "Expired", "Utløpt", "Udløbet", "Vanhentunut";
        event_terminated: "Cancelled by the till", "Avbrutt av kassen", "Annulleret af kassen", "Kassa perui";
        event_other: "Another event", "Annen hendelse", "Anden hændelse", "Muu tapahtuma";
    }
}

mod mistakes {
    super::super::texts! {
        amount_empty: "Type an amount.", "Skriv et beløp.", "Skriv et beløb.", "Kirjoita summa.";
        amount_not_a_number: "Type the amount in digits, like 12.50.", "Skriv beløpet med sifre, som 12,50.", "Skriv beløbet med cifre, som 12,50.", "Kirjoita summa numeroin, esimerkiksi 12,50.";
        amount_negative: "The amount cannot be negative.", "Beløpet kan ikke være negativt.", "Beløbet kan ikke være negativt.", "Summa ei voi olla negatiivinen.";
        amount_decimals: "Use at most two decimals.", "Bruk høyst to desimaler.", "Brug højst to decimaler.", "Käytä enintään kahta desimaalia.";
        amount_zero: "The amount must be more than zero.", "Beløpet må være mer enn null.", "Beløbet skal være mere end nul.", "Summan on oltava yli nolla.";
        amount_too_much: "That is more than what is left:", "Det er mer enn det som er igjen:", "Det er mere end det, der er tilbage:", "Se on enemmän kuin jäljellä on:";
    }
}

/// The platform's name of a log event in words; an unknown name is shown as it is.
pub fn event_name(name: SaleEventName, locale: Locale) -> &'static str {
    match name {
        SaleEventName::Created => events::event_created(locale),
        SaleEventName::Authorized => events::event_authorized(locale),
        SaleEventName::Captured => events::event_captured(locale),
        SaleEventName::Cancelled => events::event_cancelled(locale),
        SaleEventName::Refunded => events::event_refunded(locale),
        SaleEventName::Aborted => events::event_aborted(locale),
        SaleEventName::Expired => events::event_expired(locale),
        SaleEventName::Terminated => events::event_terminated(locale),
        // A newer platform's event, which this build cannot name.
        SaleEventName::Unknown => events::event_other(locale),
    }
}

/// The sentence for a mistyped amount.
pub fn mistake(mistake: AmountMistake, locale: Locale) -> String {
    match mistake {
        AmountMistake::Empty => mistakes::amount_empty(locale).to_owned(),
        AmountMistake::NotANumber => mistakes::amount_not_a_number(locale).to_owned(),
        AmountMistake::Negative => mistakes::amount_negative(locale).to_owned(),
        AmountMistake::TooManyDecimals => mistakes::amount_decimals(locale).to_owned(),
        AmountMistake::Zero => mistakes::amount_zero(locale).to_owned(),
        AmountMistake::MoreThanLeft { left } => {
            format!("{} {}.", mistakes::amount_too_much(locale), format_money(left, locale))
        }
    }
}

/// "Take the payment" with the amount it takes.
pub fn capture_all_of(left: Money, locale: Locale) -> String {
    format!("{} ({})", capture_all(locale), format_money(left, locale))
}

#[cfg(test)]
mod tests {
    use kasse_api::Currency;

    use super::*;

    #[test]
    fn every_mistake_has_its_own_sentence_and_too_much_names_what_is_left() {
        let left = Money::new(6_000, Currency::Nok);
        let all = [
            AmountMistake::Empty,
            AmountMistake::NotANumber,
            AmountMistake::Negative,
            AmountMistake::TooManyDecimals,
            AmountMistake::Zero,
            AmountMistake::MoreThanLeft { left },
        ];
        for locale in Locale::ALL {
            let sentences: std::collections::HashSet<_> = all.iter().map(|m| mistake(*m, locale)).collect();
            assert_eq!(sentences.len(), all.len(), "{locale:?}");
        }
        assert_eq!(
            mistake(AmountMistake::MoreThanLeft { left }, Locale::En),
            "That is more than what is left: NOK\u{a0}60.00."
        );
        assert!(mistakes::all().iter().all(|(_, _, t)| !t.is_empty()));
    }

    #[test]
    fn the_platforms_event_names_read_as_words_and_unknown_ones_as_another_event() {
        assert_eq!(event_name(SaleEventName::Captured, Locale::En), "Money taken");
        assert_eq!(event_name(SaleEventName::Refunded, Locale::Nb), "Penger betalt tilbake");
        assert_eq!(event_name(SaleEventName::Unknown, Locale::Fi), "Muu tapahtuma");
        assert!(events::all().iter().all(|(_, _, t)| !t.is_empty()));
    }
}

//! The till's texts: the sale screen, the flows, the statuses of a payment.

use kasse_api::SaleStatus;

use super::Locale;

super::texts! {
    /// The keypad's group label.
    keypad: "Amount keypad", "Beløpstastatur", "Beløbstastatur", "Summanäppäimistö";
    /// The keypad's 00 key, spoken.
    double_zero: "double zero", "dobbel null", "dobbelt nul", "kaksi nollaa";
    /// The keypad's delete key, spoken.
    delete_digit: "delete last digit", "slett siste siffer", "slet sidste ciffer", "poista viimeinen numero";
    /// The amount field's label.
    amount: "Amount", "Beløp", "Beløb", "Summa";
    /// The description field's label.
    description: "What it is for (shown in the app)", "Hva det gjelder (vises i appen)", "Hvad det drejer sig om (vises i appen)", "Mitä maksetaan (näkyy sovelluksessa)";
    /// The dynamic-QR flow.
    show_qr: "Show QR", "Vis QR", "Vis QR", "Näytä QR";
    /// Where the QR code shows: on the customer display.
    qr_on_display: "QR on the customer display", "QR på kundeskjermen", "QR på kundeskærmen", "QR asiakasnäytöllä";
    /// At a store with loyalty: the next sale asks the customer to share their number.
    ask_loyalty: "Member: ask for their number", "Medlem: be om nummeret", "Medlem: bed om nummeret", "Jäsen: pyydä numero";
    /// Said on the till instead of the QR code shown on the customer display.
    qr_is_on_display: "The customer scans the QR code on the customer display.", "Kunden skanner QR-koden på kundeskjermen.", "Kunden scanner QR-koden på kundeskærmen.", "Asiakas skannaa QR-koodin asiakasnäytöltä.";
    /// The phone-number flow.
    phone: "Phone number", "Telefonnummer", "Telefonnummer", "Puhelinnumero";
    /// The phone field's label.
    phone_label: "Customer's mobile number", "Kundens mobilnummer", "Kundens mobilnummer", "Asiakkaan matkapuhelinnumero";
    /// The country selector's label.
    country: "Country code", "Landskode", "Landekode", "Maatunnus";
    /// Sends a payment request to the typed number.
    send_request: "Send payment request", "Send betalingsforespørsel", "Send betalingsanmodning", "Lähetä maksupyyntö";
    /// The scan flow.
    scan: "Scan customer's QR", "Skann kundens QR", "Scan kundens QR", "Skannaa asiakkaan QR";
    /// Asks for the scan.
    scan_prompt: "Scan the customer's QR code now.", "Skann kundens QR-kode nå.", "Scan kundens QR-kode nu.", "Skannaa asiakkaan QR-koodi nyt.";
    /// The scanner field's label.
    scanner_field: "Scanner input", "Skanner", "Scanner", "Skannerin syöte";
    /// Uses the camera instead of a scanner.
    camera: "Use the camera", "Bruk kameraet", "Brug kameraet", "Käytä kameraa";
    /// Asks for the customer's code in front of the camera.
    camera_prompt: "Hold the customer's QR code up to the camera.", "Hold kundens QR-kode foran kameraet.", "Hold kundens QR-kode foran kameraet.", "Pidä asiakkaan QR-koodia kameran edessä.";
    /// The camera's picture, for screen readers.
    camera_view: "Camera picture", "Kamerabilde", "Kamerabillede", "Kamerakuva";
    /// The camera cannot be used.
    camera_unavailable: "The camera cannot be used here. Use a scanner or the phone number.", "Kameraet kan ikke brukes her. Bruk skanner eller telefonnummer.", "Kameraet kan ikke bruges her. Brug scanner eller telefonnummer.", "Kameraa ei voi käyttää. Käytä skanneria tai puhelinnumeroa.";
    /// A line's quantity is not a count.
    bad_quantity: "The quantity is a whole number from 1 to 9999.", "Antallet er et helt tall fra 1 til 9999.", "Antallet er et helt tal fra 1 til 9999.", "Määrä on kokonaisluku 1–9999.";
    /// A line without a name.
    bad_line_name: "Give the line a name.", "Gi linjen et navn.", "Giv linjen et navn.", "Anna riville nimi.";
    /// Closes a flow's panel.
    close: "Close", "Lukk", "Luk", "Sulje";
    /// Presents the amount at the till's redirect sticker.
    present: "Pay at the sticker", "Betal ved klistremerket", "Betal ved klistermærket", "Maksa tarralla";
    /// The amount waiting at the sticker.
    presented: "Waiting at the sticker:", "Venter ved klistremerket:", "Venter ved klistermærket:", "Odottaa tarralla:";
    /// Takes the amount back from the sticker.
    withdraw: "Take back", "Trekk tilbake", "Træk tilbage", "Peru";
    /// Before the masked number of the customer whose payment at the sticker took the amount.
    claimed_by: "Claimed by", "Tatt av", "Taget af", "Lunastaja:";
    /// A customer took the amount at the sticker by opening the app (no number to show).
    claimed_in_app: "Claimed in the app", "Tatt i appen", "Taget i appen", "Lunastettu sovelluksessa";
    /// A checked-in customer.
    checked_in: "A customer checked in at the sticker", "En kunde sjekket inn ved klistremerket", "En kunde tjekkede ind ved klistermærket", "Asiakas kirjautui tarralla";
    /// Charges a checked-in customer.
    charge: "Charge", "Belast", "Opkræv", "Veloita";
    /// The countdown's label.
    expires_in: "Expires in", "Utløper om", "Udløber om", "Vanhenee";
    /// Cancels the payment.
    cancel: "Cancel payment", "Avbryt betaling", "Annullér betaling", "Peru maksu";
    /// Starts the next sale.
    new_sale: "New sale", "Nytt salg", "Nyt salg", "Uusi myynti";
    /// Captures everything reserved.
    capture_all: "Take the payment", "Trekk betalingen", "Træk betalingen", "Veloita maksu";
    /// Releases what is not captured.
    release: "Release the rest", "Frigi resten", "Frigiv resten", "Vapauta loput";
    /// Asks the platform again.
    check_again: "Check again", "Sjekk igjen", "Tjek igen", "Tarkista uudelleen";
    /// Opens the sale's details.
    details: "Details", "Detaljer", "Detaljer", "Tiedot";
    /// The group of ways to take a payment.
    ways_to_pay: "Ways to pay", "Måter å betale på", "Måder at betale på", "Maksutavat";
    /// No answer while a request was on its way.
    unsure: "No answer from the server. Checking what happened…", "Ingen svar fra serveren. Sjekker hva som skjedde…", "Intet svar fra serveren. Tjekker hvad der skete…", "Palvelin ei vastannut. Tarkistetaan mitä tapahtui…";
    /// The till cannot open.
    cannot_open: "The till cannot open", "Kassen kan ikke åpnes", "Kassen kan ikke åbnes", "Kassaa ei voi avata";
    /// No connection at all.
    no_connection: "No connection to the server", "Ingen forbindelse til serveren", "Ingen forbindelse til serveren", "Ei yhteyttä palvelimeen";
    /// What to do without a connection.
    check_network: "Check the network, then reload the page.", "Sjekk nettverket og last inn siden på nytt.", "Tjek netværket og genindlæs siden.", "Tarkista verkko ja lataa sivu uudelleen.";
    /// The banner while the server cannot reach the payment platform.
    platform_down: "The payment service cannot be reached right now. Payments may not go through until it is back; the till keeps trying and this message goes by itself.", "Betalingstjenesten kan ikke nås akkurat nå. Betalinger går kanskje ikke gjennom før den er tilbake; kassen prøver igjen, og denne meldingen forsvinner av seg selv.", "Betalingstjenesten kan ikke nås lige nu. Betalinger går måske ikke igennem, før den er tilbage; kassen prøver igen, og denne besked forsvinder af sig selv.", "Maksupalveluun ei juuri nyt saada yhteyttä. Maksut eivät ehkä onnistu ennen kuin se palaa; kassa yrittää uudelleen, ja tämä ilmoitus katoaa itsestään.";
    /// Adds a receipt line.
    add_line: "Add a line", "Legg til linje", "Tilføj linje", "Lisää rivi";
    /// A line's name.
    line_name: "Item", "Vare", "Vare", "Tuote";
    /// A line's quantity.
    quantity: "Quantity", "Antall", "Antal", "Määrä";
    /// A line's VAT.
    vat: "VAT", "MVA", "Moms", "ALV";
    /// Removes a line.
    remove_line: "Remove", "Fjern", "Fjern", "Poista";
}

/// Who claimed the amount at the sticker: "Claimed by +47 ••• •• 567", or that a customer took
/// it in the app (`number` is `None` then).
pub fn claimed(number: Option<&str>, locale: Locale) -> String {
    match number {
        Some(number) => format!("{} {number}", claimed_by(locale)),
        None => claimed_in_app(locale).to_owned(),
    }
}

/// The headline for a sale's status.
pub const fn headline(status: SaleStatus, locale: Locale) -> &'static str {
    match status {
        SaleStatus::Creating => statuses::status_creating(locale),
        SaleStatus::AwaitingCustomer => statuses::status_waiting(locale),
        SaleStatus::Authorized => statuses::status_approved(locale),
        SaleStatus::Captured => statuses::status_paid(locale),
        SaleStatus::Refunded => statuses::status_refunded(locale),
        SaleStatus::Cancelling => statuses::status_cancelling(locale),
        SaleStatus::Declined => statuses::status_declined(locale),
        SaleStatus::Expired => statuses::status_expired(locale),
        SaleStatus::Cancelled => statuses::status_cancelled(locale),
        SaleStatus::Failed => statuses::status_failed(locale),
    }
}

/// The sentence under the headline (a failure's own sentence comes from the server).
pub const fn explanation(status: SaleStatus, locale: Locale) -> &'static str {
    match status {
        SaleStatus::Creating => statuses::explain_creating(locale),
        SaleStatus::AwaitingCustomer => statuses::explain_waiting(locale),
        SaleStatus::Authorized => statuses::explain_approved(locale),
        SaleStatus::Captured => statuses::explain_paid(locale),
        SaleStatus::Refunded => statuses::explain_refunded(locale),
        SaleStatus::Cancelling => statuses::explain_cancelling(locale),
        SaleStatus::Declined => statuses::explain_declined(locale),
        SaleStatus::Expired => statuses::explain_expired(locale),
        SaleStatus::Cancelled => statuses::explain_cancelled(locale),
        SaleStatus::Failed => statuses::explain_failed(locale),
    }
}

mod statuses {
    super::super::texts! {
        status_creating: "Starting the payment…", "Starter betalingen…", "Starter betalingen…", "Aloitetaan maksua…";
        status_waiting: "Waiting for the customer", "Venter på kunden", "Venter på kunden", "Odotetaan asiakasta";
        status_approved: "Approved", "Godkjent", "Godkendt", "Hyväksytty";
        status_paid: "Paid", "Betalt", "Betalt", "Maksettu";
        status_refunded: "Refunded", "Refundert", "Refunderet", "Hyvitetty";
        status_cancelling: "Cancelling…", "Avbryter…", "Annullerer…", "Perutaan…";
        status_declined: "Declined", "Avvist", "Afvist", "Hylätty";
        status_expired: "Expired", "Utløpt", "Udløbet", "Vanhentunut";
        status_cancelled: "Cancelled", "Avbrutt", "Annulleret", "Peruttu";
        status_failed: "Failed", "Mislyktes", "Mislykkedes", "Epäonnistui";
        explain_creating: "Asking Vipps MobilePay for the payment.", "Spør Vipps MobilePay om betalingen.", "Spørger Vipps MobilePay om betalingen.", "Pyydetään maksua Vipps MobilePaylta.";
        explain_waiting: "The customer approves in the Vipps or MobilePay app.", "Kunden godkjenner i Vipps- eller MobilePay-appen.", "Kunden godkender i Vipps- eller MobilePay-appen.", "Asiakas hyväksyy Vipps- tai MobilePay-sovelluksessa.";
        explain_approved: "The customer approved. The money is reserved.", "Kunden godkjente. Beløpet er reservert.", "Kunden godkendte. Beløbet er reserveret.", "Asiakas hyväksyi. Summa on varattu.";
        explain_paid: "The money is taken. Hand over the goods.", "Pengene er trukket. Gi kunden varene.", "Pengene er trukket. Giv kunden varerne.", "Rahat on veloitettu. Anna tuotteet asiakkaalle.";
        explain_refunded: "Everything taken was given back.", "Alt som ble trukket er betalt tilbake.", "Alt, der blev trukket, er betalt tilbage.", "Kaikki veloitettu on palautettu.";
        explain_cancelling: "Stopping the payment request.", "Stopper betalingsforespørselen.", "Stopper betalingsanmodningen.", "Pysäytetään maksupyyntöä.";
        explain_declined: "The customer declined in the app. Nothing was charged.", "Kunden avviste i appen. Ingenting ble trukket.", "Kunden afviste i appen. Intet blev trukket.", "Asiakas hylkäsi sovelluksessa. Mitään ei veloitettu.";
        explain_expired: "The customer did not answer in time. Nothing was charged.", "Kunden svarte ikke i tide. Ingenting ble trukket.", "Kunden svarede ikke i tide. Intet blev trukket.", "Asiakas ei vastannut ajoissa. Mitään ei veloitettu.";
        explain_cancelled: "The payment was cancelled. Nothing was charged.", "Betalingen ble avbrutt. Ingenting ble trukket.", "Betalingen blev annulleret. Intet blev trukket.", "Maksu peruttiin. Mitään ei veloitettu.";
        explain_failed: "The payment could not be started. Nothing was charged.", "Betalingen kunne ikke startes. Ingenting ble trukket.", "Betalingen kunne ikke startes. Intet blev trukket.", "Maksua ei voitu aloittaa. Mitään ei veloitettu.";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_differently_in_every_language() {
        let outcomes = [
            SaleStatus::Captured,
            SaleStatus::Refunded,
            SaleStatus::Declined,
            SaleStatus::Expired,
            SaleStatus::Cancelled,
            SaleStatus::Failed,
        ];
        for locale in Locale::ALL {
            let headlines: std::collections::HashSet<_> =
                outcomes.iter().map(|s| headline(*s, locale)).collect();
            assert_eq!(headlines.len(), outcomes.len(), "{locale:?}");
        }
        assert_eq!(headline(SaleStatus::Captured, Locale::Nb), "Betalt");
    }

    #[test]
    fn a_claim_names_the_masked_number_or_the_app() {
        assert_eq!(claimed(Some("+47 ••• •• 567"), Locale::En), "Claimed by +47 ••• •• 567");
        assert_eq!(claimed(Some("+47 ••• •• 567"), Locale::Nb), "Tatt av +47 ••• •• 567");
        assert_eq!(claimed(None, Locale::Da), "Taget i appen");
    }

    #[test]
    fn status_texts_are_translated() {
        for (name, locale, text) in statuses::all() {
            assert!(!text.is_empty(), "{name} {locale:?}");
        }
    }
}

//! The customer display's texts: short, calm, readable from a metre away.

use kasse_api::SaleStatus;

use super::Locale;

super::texts! {
    /// The idle screen's greeting.
    welcome: "Welcome", "Velkommen", "Velkommen", "Tervetuloa";
    /// The idle screen's line under the greeting.
    welcome_line: "Pay with Vipps MobilePay when the amount shows here.", "Betal med Vipps MobilePay når beløpet vises her.", "Betal med Vipps MobilePay, når beløbet vises her.", "Maksa Vipps MobilePaylla, kun summa näkyy tässä.";
    /// Above the amount to pay.
    to_pay: "To pay", "Å betale", "At betale", "Maksettavaa";
    /// How to pay a QR sale.
    scan: "Scan with the Vipps or MobilePay app", "Skann med Vipps- eller MobilePay-appen", "Scan med Vipps- eller MobilePay-appen", "Skannaa Vipps- tai MobilePay-sovelluksella";
    /// How to pay a request sent to the app.
    approve_in_app: "Approve in your app", "Godkjenn i appen din", "Godkend i din app", "Hyväksy sovelluksessasi";
    /// The till is starting or stopping a request.
    one_moment: "One moment…", "Et øyeblikk…", "Et øjeblik…", "Hetkinen…";
    /// The display cannot show its till.
    cannot_show: "This display cannot show its till right now.", "Denne skjermen kan ikke vise kassen nå.", "Denne skærm kan ikke vise kassen lige nu.", "Tämä näyttö ei voi näyttää kassaa nyt.";
    /// The display is paired with another till.
    other_till: "This display belongs to another till.", "Denne skjermen hører til en annen kasse.", "Denne skærm hører til en anden kasse.", "Tämä näyttö kuuluu toiselle kassalle.";
    /// Goes to the display of the till this browser is paired with.
    to_own_till: "Show my till", "Vis min kasse", "Vis min kasse", "Näytä oma kassa";
}

mod outcomes {
    super::super::texts! {
        approved: "Approved", "Godkjent", "Godkendt", "Hyväksytty";
        paid: "Paid", "Betalt", "Betalt", "Maksettu";
        refunded: "Refunded", "Refundert", "Refunderet", "Hyvitetty";
        declined: "Declined", "Avvist", "Afvist", "Hylätty";
        expired: "Expired", "Utløpt", "Udløbet", "Vanhentunut";
        cancelled: "Cancelled", "Avbrutt", "Annulleret", "Peruttu";
        failed: "Failed", "Mislyktes", "Mislykkedes", "Epäonnistui";
        thanks: "Thank you!", "Takk!", "Tak!", "Kiitos!";
        given_back: "The money is on its way back to you.", "Pengene er på vei tilbake til deg.", "Pengene er på vej tilbage til dig.", "Rahat ovat matkalla takaisin sinulle.";
        not_charged: "Nothing was charged. Please ask at the till.", "Ingenting ble trukket. Spør gjerne i kassen.", "Intet blev trukket. Spørg gerne ved kassen.", "Mitään ei veloitettu. Kysy kassalta.";
    }
}

/// The outcome of a sale in one word or two.
pub const fn outcome(status: SaleStatus, locale: Locale) -> &'static str {
    match status {
        SaleStatus::Authorized => outcomes::approved(locale),
        SaleStatus::Captured => outcomes::paid(locale),
        SaleStatus::Refunded => outcomes::refunded(locale),
        SaleStatus::Declined => outcomes::declined(locale),
        SaleStatus::Expired => outcomes::expired(locale),
        SaleStatus::Cancelled => outcomes::cancelled(locale),
        SaleStatus::Failed => outcomes::failed(locale),
        SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling => one_moment(locale),
    }
}

/// The line under an outcome.
pub const fn outcome_line(status: SaleStatus, locale: Locale) -> &'static str {
    match status {
        SaleStatus::Authorized | SaleStatus::Captured => outcomes::thanks(locale),
        SaleStatus::Refunded => outcomes::given_back(locale),
        SaleStatus::Declined | SaleStatus::Expired | SaleStatus::Cancelled | SaleStatus::Failed => {
            outcomes::not_charged(locale)
        }
        SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling => one_moment(locale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_differently_in_every_language() {
        let outcomes = [
            SaleStatus::Authorized,
            SaleStatus::Captured,
            SaleStatus::Refunded,
            SaleStatus::Declined,
            SaleStatus::Expired,
            SaleStatus::Cancelled,
            SaleStatus::Failed,
        ];
        for locale in Locale::ALL {
            let words: std::collections::HashSet<_> = outcomes.iter().map(|s| outcome(*s, locale)).collect();
            assert_eq!(words.len(), outcomes.len(), "{locale:?}");
        }
        assert_eq!(outcome(SaleStatus::Captured, Locale::En), "Paid");
        assert!(super::outcomes::all().iter().all(|(_, _, t)| !t.is_empty()));
    }
}

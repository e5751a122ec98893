//! The history page's texts: a day's sales, the filters and the search, the totals, and the flows
//! in words.

use kasse_api::Flow;

use super::Locale;

super::texts! {
    /// The page's heading.
    heading: "Today's sales", "Dagens salg", "Dagens salg", "Päivän myynnit";
    /// The filters' group.
    filters: "Show", "Vis", "Vis", "Näytä";
    /// The status filter's label.
    filter_status: "Status", "Status", "Status", "Tila";
    /// The flow filter's label.
    filter_flow: "How the customer paid", "Hvordan kunden betalte", "Hvordan kunden betalte", "Miten asiakas maksoi";
    /// The status filter's "everything" choice.
    any_status: "All statuses", "Alle statuser", "Alle statusser", "Kaikki tilat";
    /// The flow filter's "everything" choice.
    any_flow: "All ways", "Alle måter", "Alle måder", "Kaikki tavat";
    /// The sales table's caption.
    caption: "Sales since midnight, newest first", "Salg siden midnatt, nyeste først", "Salg siden midnat, nyeste først", "Myynnit keskiyöstä, uusimmat ensin";
    /// A column: the time a sale started.
    col_time: "Time", "Tid", "Tidspunkt", "Aika";
    /// A column: the amount.
    col_amount: "Amount", "Beløp", "Beløb", "Summa";
    /// A column: the flow.
    col_flow: "How", "Hvordan", "Hvordan", "Tapa";
    /// A column: the customer.
    col_customer: "Customer", "Kunde", "Kunde", "Asiakas";
    /// A column: the status.
    col_status: "Status", "Status", "Status", "Tila";
    /// A column: the link to the details.
    col_details: "Details", "Detaljer", "Detaljer", "Tiedot";
    /// The link to a sale's details.
    details: "Details", "Detaljer", "Detaljer", "Tiedot";
    /// No customer is known (a QR code anyone could scan).
    no_customer: "Not known", "Ukjent", "Ukendt", "Ei tiedossa";
    /// Nothing sold yet today.
    no_sales: "No sales yet today.", "Ingen salg i dag ennå.", "Ingen salg i dag endnu.", "Ei vielä myyntejä tänään.";
    /// Nothing matches the filters.
    no_match: "None of today's sales match these choices.", "Ingen av dagens salg passer med valgene.", "Ingen af dagens salg passer til valgene.", "Mikään tämän päivän myynti ei vastaa valintoja.";
    /// The totals' heading.
    totals: "Totals", "Summer", "Totaler", "Yhteensä";
    /// The totals table's caption.
    totals_caption: "Totals by status", "Summer per status", "Totaler pr. status", "Yhteensä tiloittain";
    /// A totals column: how many sales.
    col_count: "Sales", "Salg", "Salg", "Myyntejä";
    /// A totals column: asked for.
    col_asked: "Asked", "Forespurt", "Anmodet", "Pyydetty";
    /// A totals column: taken.
    col_taken: "Taken", "Trukket", "Trukket", "Veloitettu";
    /// A totals column: given back.
    col_refunded: "Refunded", "Refundert", "Refunderet", "Hyvitetty";
    /// What was taken today, refunds subtracted.
    net_taken: "Taken today, after refunds:", "Trukket i dag, etter refusjoner:", "Trukket i dag, efter refusioner:", "Veloitettu tänään hyvitysten jälkeen:";
    /// The history cannot be read.
    cannot_load: "The history cannot be shown right now.", "Historikken kan ikke vises nå.", "Historikken kan ikke vises lige nu.", "Historiaa ei voi näyttää nyt.";
    /// The heading of yesterday's sales.
    heading_yesterday: "Yesterday's sales", "Gårsdagens salg", "Gårsdagens salg", "Eilisen myynnit";
    /// The heading of a chosen day's sales, before the date.
    heading_on: "Sales of", "Salg", "Salg", "Myynnit";
    /// The day filter's label.
    filter_day: "Day", "Dag", "Dag", "Päivä";
    /// The day filter: today.
    day_today: "Today", "I dag", "I dag", "Tänään";
    /// The day filter: yesterday.
    day_yesterday: "Yesterday", "I går", "I går", "Eilen";
    /// The day filter: a day from the calendar.
    day_other: "Another day", "En annen dag", "En anden dag", "Muu päivä";
    /// The calendar's label.
    filter_date: "Date", "Dato", "Dato", "Päivämäärä";
    /// The search field's label.
    search_label: "Find a sale", "Finn et salg", "Find et salg", "Etsi myynti";
    /// What the search field finds.
    search_hint: "Reference, order number, amount, or the last 3 digits of the customer's phone number", "Referanse, ordrenummer, beløp eller de 3 siste sifrene i kundens telefonnummer", "Reference, ordrenummer, beløb eller de sidste 3 cifre i kundens telefonnummer", "Viite, tilausnumero, summa tai asiakkaan puhelinnumeron 3 viimeistä numeroa";
    /// Sends the search.
    search_button: "Search", "Søk", "Søg", "Hae";
    /// The sales table's caption, for a day that has ended.
    caption_day: "Sales of the day, newest first", "Salg denne dagen, nyeste først", "Salg den dag, nyeste først", "Päivän myynnit, uusimmat ensin";
    /// Nothing sold on a day that has ended.
    no_sales_day: "No sales on this day.", "Ingen salg denne dagen.", "Ingen salg den dag.", "Ei myyntejä sinä päivänä.";
    /// More sales match than are shown.
    more_sales: "Only the newest 500 sales are shown, and the totals count only those: choose a narrower day, till or search to see the rest.", "Bare de 500 nyeste salgene vises, og summene teller bare dem: velg en smalere dag, kasse eller søk for å se resten.", "Kun de 500 nyeste salg vises, og summerne tæller kun dem: vælg en smallere dag, kasse eller søgning for at se resten.", "Vain 500 uusinta myyntiä näytetään, ja summat laskevat vain ne: valitse suppeampi päivä, kassa tai haku nähdäksesi loput.";
    /// Nothing of a day that has ended matches the filters.
    no_match_day: "None of this day's sales match these choices.", "Ingen av salgene denne dagen passer med valgene.", "Ingen af salgene den dag passer til valgene.", "Mikään päivän myynneistä ei vastaa valintoja.";
    /// What was taken on a day that has ended.
    net_taken_day: "Taken this day, after refunds:", "Trukket denne dagen, etter refusjoner:", "Trukket den dag, efter refusioner:", "Veloitettu sinä päivänä hyvitysten jälkeen:";
    /// Reads the history again.
    refresh: "Refresh", "Oppdater", "Opdatér", "Päivitä";
}

/// A flow in words, for the cashier.
pub const fn flow(flow: Flow, locale: Locale) -> &'static str {
    match flow {
        Flow::Qr => flows::flow_qr(locale),
        Flow::PersonalQr => flows::flow_personal_qr(locale),
        Flow::Phone => flows::flow_phone(locale),
        Flow::CheckIn => flows::flow_check_in(locale),
        Flow::Sticker => flows::flow_sticker(locale),
        Flow::AppSwitch => flows::flow_app_switch(locale),
    }
}

mod flows {
    super::super::texts! {
        flow_qr: "QR code", "QR-kode", "QR-kode", "QR-koodi";
        flow_personal_qr: "Customer's QR", "Kundens QR", "Kundens QR", "Asiakkaan QR";
        flow_phone: "Phone number", "Telefonnummer", "Telefonnummer", "Puhelinnumero";
        flow_check_in: "Check-in", "Innsjekk", "Tjek ind", "Sisäänkirjautuminen";
        flow_sticker: "Sticker, number typed", "Klistremerke, nummer tastet", "Klistermærke, nummer indtastet", "Tarra, numero syötetty";
        flow_app_switch: "Sticker, app opened", "Klistremerke, app åpnet", "Klistermærke, app åbnet", "Tarra, sovellus avattu";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flow_has_its_own_words_in_every_language() {
        for locale in Locale::ALL {
            let names: std::collections::HashSet<_> = Flow::ALL.iter().map(|f| flow(*f, locale)).collect();
            assert_eq!(names.len(), Flow::ALL.len(), "{locale:?}");
        }
        assert!(flows::all().iter().all(|(_, _, text)| !text.is_empty()));
    }
}

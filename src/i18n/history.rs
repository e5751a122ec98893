//! The history page's texts: today's sales, the filters, the totals, and the flows in words.

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

//! The back office's texts: its sections, the devices and their pairing, and the sales of any day.

use kasse_api::{DeviceKind, StickerKind};

use super::Locale;

super::texts! {
    /// The page's title.
    title: "Back office", "Administrasjon", "Backoffice", "Hallinta";
    /// Who is signed in, before the name.
    signed_in_as: "Manager:", "Leder:", "Leder:", "Esimies:";
    /// A manager of every store.
    every_store: "every store", "alle butikker", "alle butikker", "kaikki myymälät";
    /// The sections' navigation.
    sections: "Back office sections", "Deler av administrasjonen", "Dele af backoffice", "Hallinnan osiot";
    /// The devices section.
    nav_devices: "Devices", "Enheter", "Enheder", "Laitteet";
    /// The sales section.
    nav_sales: "Sales", "Salg", "Salg", "Myynnit";
    /// The end-of-day section.
    nav_day: "End of day", "Dagsoppgjør", "Dagsafslutning", "Päivän päätös";
    /// The end of day's heading, before the day.
    end_of_day: "End of day", "Dagsoppgjør", "Dagsafslutning", "Päivän päätös";
    /// What the end of day counts.
    day_note: "The sales started on this day, each store's day in its own time, with their money as it stands now.", "Salgene som ble startet denne dagen, hver butikks dag etter dens egen klokke, med pengene slik de står nå.", "Salgene, der blev startet denne dag, hver butiks dag efter dens eget ur, med pengene, som de står nu.", "Tänä päivänä aloitetut myynnit, kunkin myymälän päivä sen omaa aikaa, ja niiden rahat nykytilanteen mukaan.";
    /// Before a store's day in another time zone, as this device's clock shows it.
    store_day_here: "This store's day, on this device's clock:", "Butikkens dag, etter klokken på denne enheten:", "Butikkens dag efter denne enheds ur:", "Myymälän päivä tämän laitteen kellon mukaan:";
    /// Downloads the day's sales.
    csv: "Download the day's sales (CSV)", "Last ned dagens salg (CSV)", "Hent dagens salg (CSV)", "Lataa päivän myynnit (CSV)";
    /// Prints the page.
    print: "Print", "Skriv ut", "Udskriv", "Tulosta";
    /// The money table's caption.
    money_caption: "Money", "Penger", "Penge", "Rahat";
    /// A column: the currency.
    col_currency: "Currency", "Valuta", "Valuta", "Valuutta";
    /// A column: taken after refunds.
    col_net: "Net", "Netto", "Netto", "Netto";
    /// A column: approved, not yet taken nor released (and how many sales).
    col_open: "Approved, not yet taken (sales)", "Godkjent, ikke trukket (salg)", "Godkendt, ikke hævet (salg)", "Hyväksytty, ei veloitettu (myyntejä)";
    /// The flows table's caption.
    by_flow_caption: "What each way of paying took", "Hva hver betalingsmåte tok inn", "Hvad hver betalingsmåde tog ind", "Mitä kukin maksutapa toi";
    /// The devices section's heading.
    devices_heading: "Paired devices", "Tilkoblede enheter", "Parrede enheder", "Yhdistetyt laitteet";
    /// No device is paired.
    no_devices: "No device is paired.", "Ingen enhet er koblet til.", "Ingen enhed er parret.", "Yhtään laitetta ei ole yhdistetty.";
    /// A column: what a device is.
    col_kind: "Device", "Enhet", "Enhed", "Laite";
    /// A column: what it is for.
    col_of: "For", "For", "For", "Kenelle";
    /// A column: when it was paired.
    col_paired: "Paired", "Koblet til", "Parret", "Yhdistetty";
    /// A column: when it was last used.
    col_last_seen: "Last used", "Sist brukt", "Senest brugt", "Viimeksi käytetty";
    /// A column: what can be done with it.
    col_actions: "Actions", "Handlinger", "Handlinger", "Toiminnot";
    /// Ends a device's session.
    unpair: "Unpair", "Koble fra", "Fjern parring", "Poista yhdistäminen";
    /// The PIN field.
    pin: "Your PIN", "Din PIN-kode", "Din pinkode", "PIN-koodisi";
    /// Confirms an unpairing.
    confirm_unpair: "Unpair now", "Koble fra nå", "Fjern parring nu", "Poista nyt";
    /// Closes a form without acting.
    cancel: "Cancel", "Avbryt", "Annullér", "Peruuta";
    /// A device was unpaired.
    unpaired: "Unpaired. Its screen goes back to pairing.", "Koblet fra. Skjermen går tilbake til tilkobling.", "Parringen er fjernet. Skærmen går tilbage til parring.", "Yhdistäminen poistettu. Näyttö palaa yhdistämiseen.";
    /// The pairing form's heading.
    pair_heading: "Pair a new device", "Koble til en ny enhet", "Parr en ny enhed", "Yhdistä uusi laite";
    /// What the new device will be.
    pair_kind: "The new device is", "Den nye enheten er", "Den nye enhed er", "Uusi laite on";
    /// The till the new device works for.
    pair_till: "Till", "Kasse", "Kasse", "Kassa";
    /// A new manager's name.
    pair_name: "Manager's name", "Lederens navn", "Lederens navn", "Esimiehen nimi";
    /// The store a new manager manages.
    pair_store: "Manages", "Leder", "Leder", "Hallinnoi";
    /// Makes the code.
    make_code: "Make a pairing code", "Lag en tilkoblingskode", "Lav en parringskode", "Luo yhdistämiskoodi";
    /// A new manager's name is missing.
    name_missing: "Type the manager's name.", "Skriv inn lederens navn.", "Skriv lederens navn.", "Kirjoita esimiehen nimi.";
    /// The code made, before it.
    code_made: "Type this code at /pair on the new device within ten minutes, or scan the QR code with it:", "Skriv inn denne koden på /pair på den nye enheten innen ti minutter, eller skann QR-koden med den:", "Skriv denne kode på /pair på den nye enhed inden for ti minutter, eller scan QR-koden med den:", "Kirjoita tämä koodi uudella laitteella osoitteeseen /pair kymmenen minuutin kuluessa tai skannaa QR-koodi sillä:";
    /// The QR code's label.
    code_qr: "QR code that opens the pairing page with this code", "QR-kode som åpner tilkoblingssiden med denne koden", "QR-kode, der åbner parringssiden med denne kode", "QR-koodi, joka avaa yhdistämissivun tällä koodilla";
    /// The sales section's heading.
    sales_heading: "Sales", "Salg", "Salg", "Myynnit";
    /// The till filter's label.
    filter_till: "Till", "Kasse", "Kasse", "Kassa";
    /// The till filter's "every till" choice.
    every_till: "Every till", "Alle kasser", "Alle kasser", "Kaikki kassat";
    /// The till filter's group of tills.
    tills_group: "Tills", "Kasser", "Kasser", "Kassat";
    /// The till filter's group of open-amount stickers, which take payments with no till.
    stickers_group: "Open-amount stickers", "Klistremerker med valgfritt beløp", "Klistermærker med valgfrit beløb", "Vapaan summan tarrat";
    /// A column: the till.
    col_till: "Till", "Kasse", "Kasse", "Kassa";
    /// The stickers section.
    nav_stickers: "Stickers", "Klistremerker", "Klistermærker", "Tarrat";
    /// The stickers section's heading.
    stickers_heading: "QR stickers", "QR-klistremerker", "QR-klistermærker", "QR-tarrat";
    /// What the section is.
    stickers_note: "The stickers of your tills and stores as Vipps MobilePay has them. A sheet opens on a page of its own, ready to print on A4.", "Klistremerkene til kassene og butikkene dine slik Vipps MobilePay har dem. Et ark åpnes på en egen side, klart til utskrift på A4.", "Klistermærkerne til dine kasser og butikker, som Vipps MobilePay har dem. Et ark åbnes på sin egen side, klar til udskrift på A4.", "Kassojesi ja myymälöidesi tarrat sellaisina kuin Vipps MobilePaylla on ne. Arkki avautuu omalle sivulleen valmiina tulostettavaksi A4-koossa.";
    /// The sheet's language.
    sheet_language: "Language of the sheet", "Arkets språk", "Arkets sprog", "Arkin kieli";
    /// Each store's own language.
    store_language: "The store's own", "Butikkens eget", "Butikkens eget", "Myymälän oma";
    /// Prints every sticker.
    print_all: "Print every sticker", "Skriv ut alle klistremerker", "Udskriv alle klistermærker", "Tulosta kaikki tarrat";
    /// Prints one sticker (a link in its row).
    print_one: "Print", "Skriv ut", "Udskriv", "Tulosta";
    /// Prints a till's stickers.
    print_till: "Print this till's", "Skriv ut kassens", "Udskriv kassens", "Tulosta kassan tarrat";
    /// A column: the sticker's kind.
    col_sticker: "Sticker", "Klistremerke", "Klistermærke", "Tarra";
    /// A column: its id.
    col_id: "Id", "Id", "Id", "Tunnus";
    /// A column: where a scan leads.
    col_leads_to: "A scan leads to", "En skanning fører til", "En scanning fører til", "Skannaus vie";
    /// The list's caption.
    stickers_caption: "Stickers at Vipps MobilePay", "Klistremerker hos Vipps MobilePay", "Klistermærker hos Vipps MobilePay", "Tarrat Vipps MobilePayssa";
    /// No sticker is up.
    no_stickers: "No sticker is at Vipps MobilePay yet.", "Ingen klistremerker er hos Vipps MobilePay ennå.", "Ingen klistermærker er hos Vipps MobilePay endnu.", "Vipps MobilePaylla ei ole vielä tarroja.";
    /// Before the stickers that are not up.
    not_up_yet: "Not at Vipps MobilePay yet:", "Ikke hos Vipps MobilePay ennå:", "Ikke hos Vipps MobilePay endnu:", "Ei vielä Vipps MobilePayssa:";
    /// The form's heading.
    put_up_heading: "A sticker that rings a till", "Et klistremerke som ringer på en kasse", "Et klistermærke, der ringer på en kasse", "Kassalle soittava tarra";
    /// The sticker id field, optional.
    sticker_id: "Its id (optional; the till's own by default)", "Id (valgfritt; kassens egen som standard)", "Id (valgfrit; kassens egen som standard)", "Tunnus (valinnainen; oletuksena kassan oma)";
    /// Puts it up.
    put_up: "Put it up", "Opprett det", "Opret det", "Luo tarra";
    /// It is up.
    put_up_done: "It is up at Vipps MobilePay: print it from the list.", "Det er opprettet hos Vipps MobilePay: skriv det ut fra listen.", "Det er oprettet hos Vipps MobilePay: udskriv det fra listen.", "Tarra on luotu Vipps MobilePayhin: tulosta se luettelosta.";
    /// The health section.
    nav_health: "Health", "Driftsstatus", "Driftsstatus", "Tila";
    /// The health section's heading.
    health: "Health of the service", "Tjenestens driftsstatus", "Tjenestens driftsstatus", "Palvelun tila";
    /// Everything in order.
    health_ok: "Everything is in order: every store reaches Vipps MobilePay and receives its updates.", "Alt er i orden: alle butikker når Vipps MobilePay og får oppdateringene sine.", "Alt er i orden: alle butikker når Vipps MobilePay og får deres opdateringer.", "Kaikki kunnossa: jokainen myymälä tavoittaa Vipps MobilePayn ja saa päivityksensä.";
    /// Something is not.
    health_not_ok: "Something needs attention: see below. Tills keep working, and payments catch up once it is mended.", "Noe trenger oppmerksomhet: se nedenfor. Kassene virker fortsatt, og betalingene tar seg inn når det er rettet.", "Noget kræver opmærksomhed: se nedenfor. Kasserne virker stadig, og betalingerne indhenter, når det er rettet.", "Jokin vaatii huomiota: katso alta. Kassat toimivat edelleen, ja maksut päivittyvät, kun vika on korjattu.";
    /// The sales units' heading.
    units_caption: "Each store at Vipps MobilePay", "Hver butikk hos Vipps MobilePay", "Hver butik hos Vipps MobilePay", "Jokainen myymälä Vipps MobilePayssa";
    /// The merchant serial number.
    col_msn: "Sales unit (MSN)", "Salgsenhet (MSN)", "Salgsenhed (MSN)", "Myyntiyksikkö (MSN)";
    /// Whether the platform answers.
    col_platform: "Vipps MobilePay", "Vipps MobilePay", "Vipps MobilePay", "Vipps MobilePay";
    /// Webhook registration.
    col_webhooks: "Updates (webhooks)", "Oppdateringer (webhooks)", "Opdateringer (webhooks)", "Päivitykset (webhookit)";
    /// The platform answers.
    reached: "Answers", "Svarer", "Svarer", "Vastaa";
    /// The platform does not answer.
    not_reached: "Does not answer", "Svarer ikke", "Svarer ikke", "Ei vastaa";
    /// Webhooks registered.
    registered: "Registered", "Registrert", "Registreret", "Rekisteröity";
    /// Webhooks not registered yet.
    not_registered: "Not registered yet; tries made:", "Ikke registrert ennå; forsøk:", "Ikke registreret endnu; forsøg:", "Ei vielä rekisteröity; yrityksiä:";
    /// Before when the platform last answered or failed.
    as_of: "as of", "per", "pr.", "tilanne";
    /// What the server has waiting.
    waiting_heading: "What is waiting", "Hva som venter", "Hvad der venter", "Mitä odottaa";
    /// Platform writes not confirmed.
    pending_writes: "Payment changes waiting for Vipps MobilePay's answer (sent again until it answers)", "Betalingsendringer som venter på svar fra Vipps MobilePay (sendes på nytt til det svarer)", "Betalingsændringer, der venter på svar fra Vipps MobilePay (sendes igen, til det svarer)", "Maksumuutokset, jotka odottavat Vipps MobilePayn vastausta (lähetetään uudelleen, kunnes se vastaa)";
    /// Webhooks not processed.
    unprocessed_webhooks: "Updates received, not yet acted on", "Oppdateringer mottatt, ikke behandlet ennå", "Opdateringer modtaget, ikke behandlet endnu", "Vastaanotetut päivitykset, joita ei ole vielä käsitelty";
    /// Sales without an outcome.
    sales_in_progress: "Payments still in progress", "Betalinger som fortsatt pågår", "Betalinger, der stadig er i gang", "Yhä käynnissä olevat maksut";
    /// The reconciler's last round.
    reconciler: "Last check of open payments by this server", "Siste kontroll av åpne betalinger på denne serveren", "Seneste kontrol af åbne betalinger på denne server", "Tämän palvelimen viimeisin avointen maksujen tarkistus";
    /// It has not run yet.
    reconciler_not_yet: "not yet", "ikke ennå", "ikke endnu", "ei vielä";
    /// A part of it failed.
    reconciler_failed: "with errors (see the server's log)", "med feil (se serverens logg)", "med fejl (se serverens log)", "virheitä (katso palvelimen loki)";
    /// The last day of a span of days (optional).
    filter_through: "Through (optional)", "Til og med (valgfritt)", "Til og med (valgfrit)", "Päättyen (valinnainen)";
    /// Back from a sale to the sales.
    back_to_sales: "All sales", "Alle salg", "Alle salg", "Kaikki myynnit";
    /// The till a sale was taken at, before its name.
    taken_at: "Till:", "Kasse:", "Kasse:", "Kassa:";
    /// Before the open-amount sticker a payment was made on (no till took it).
    paid_on_sticker: "Paid on the sticker:", "Betalt på klistremerket:", "Betalt på klistermærket:", "Maksettu tarralla:";
    /// The page cannot be shown.
    cannot_load: "The back office cannot be shown right now.", "Administrasjonen kan ikke vises nå.", "Backoffice kan ikke vises lige nu.", "Hallintaa ei voi näyttää nyt.";
    /// A till's browser opened the back office.
    not_a_manager: "This browser is paired as a till. The back office needs a manager's pairing code.", "Denne nettleseren er koblet til som kasse. Administrasjonen trenger en tilkoblingskode for ledere.", "Denne browser er parret som kasse. Backoffice kræver en parringskode til ledere.", "Tämä selain on yhdistetty kassaksi. Hallinta vaatii esimiehen yhdistämiskoodin.";
}

/// How many sales a day started: "3 sales started".
pub fn sales_started(count: u32, locale: Locale) -> String {
    match (locale, count) {
        (Locale::En, 1) => "1 sale started".to_owned(),
        (Locale::En, n) => format!("{n} sales started"),
        (Locale::Nb | Locale::Da, n) => format!("{n} salg startet"),
        (Locale::Fi, 1) => "1 myynti aloitettu".to_owned(),
        (Locale::Fi, n) => format!("{n} myyntiä aloitettu"),
    }
}

/// A kind of device in words.
pub const fn kind(kind: DeviceKind, locale: Locale) -> &'static str {
    match kind {
        DeviceKind::Till => kinds::till(locale),
        DeviceKind::Display => kinds::display(locale),
        DeviceKind::Manager => kinds::manager(locale),
    }
}

/// A kind of sticker in words.
pub const fn sticker_kind(kind: StickerKind, locale: Locale) -> &'static str {
    match kind {
        StickerKind::Callback => kinds::callback(locale),
        StickerKind::Beacon => kinds::beacon(locale),
        StickerKind::Redirect => kinds::redirect(locale),
    }
}

mod kinds {
    super::super::texts! {
        till: "Till", "Kasse", "Kasse", "Kassa";
        display: "Customer display", "Kundeskjerm", "Kundeskærm", "Asiakasnäyttö";
        manager: "Manager", "Leder", "Leder", "Esimies";
        callback: "Scanned in the app: rings the till", "Skannes i appen: ringer på kassen", "Scannes i appen: ringer på kassen", "Skannataan sovelluksessa: soittaa kassalle";
        beacon: "Migrated MobilePay sticker: rings the till", "Overført MobilePay-klistremerke: ringer på kassen", "Overført MobilePay-klistermærke: ringer på kassen", "Siirretty MobilePay-tarra: soittaa kassalle";
        redirect: "Any camera: opens the payment page", "Alle kameraer: åpner betalingssiden", "Alle kameraer: åbner betalingssiden", "Mikä tahansa kamera: avaa maksusivun";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_device_has_its_own_words_in_every_language() {
        for locale in Locale::ALL {
            let names: std::collections::HashSet<_> =
                DeviceKind::ALL.iter().map(|k| kind(*k, locale)).collect();
            assert_eq!(names.len(), DeviceKind::ALL.len(), "{locale:?}");
        }
        assert!(kinds::all().iter().all(|(_, _, text)| !text.is_empty()));
    }
}

//! The back office's logic: the form that asks for a new device's pairing code, the sales query
//! of a day, a till or open-amount sticker and a search, the address of a sticker sheet, and
//! moments written for people.

use kasse_api::{
    AdminSalesQuery, DeviceKind, EndOfDayQuery, PairingFor, Sale, StickerSheetQuery, StoreSummary,
};

use super::history::{Date, Day, HistoryFilter, clock};
use super::locale::Locale;
use super::pin::{self, PinMistake};

/// What the pairing form holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingForm {
    /// What the new device will be.
    pub kind: DeviceKind,
    /// Its till (for a till or a display).
    pub till: String,
    /// A new manager's name.
    pub name: String,
    /// The store a new manager manages; empty for every store.
    pub store: String,
}

/// What is wrong with the pairing form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormMistake {
    /// A new manager needs a name.
    NoName,
    /// The PIN cannot be one.
    Pin(PinMistake),
}

impl PairingForm {
    /// A form for a till of `till`, a manager of `store` (empty: every store).
    pub fn new(till: &str, store: &str) -> Self {
        Self { kind: DeviceKind::Till, till: till.to_owned(), name: String::new(), store: store.to_owned() }
    }

    /// The request the form makes with `pin` typed, or what is wrong with it.
    pub fn request(&self, typed_pin: &str) -> Result<(PairingFor, String), FormMistake> {
        let pairing_for = match self.kind {
            DeviceKind::Till => PairingFor::Till { till: self.till.clone() },
            DeviceKind::Display => PairingFor::Display { till: self.till.clone() },
            DeviceKind::Manager => {
                let name = self.name.trim();
                if name.is_empty() {
                    return Err(FormMistake::NoName);
                }
                let store = (!self.store.is_empty()).then(|| self.store.clone());
                PairingFor::Manager { name: name.to_owned(), store }
            }
        };
        let pin = pin::typed(typed_pin).map_err(FormMistake::Pin)?;
        Ok((pairing_for, pin))
    }
}

/// A device kind as a select element's value, and back.
pub fn kind_from_choice(choice: &str) -> DeviceKind {
    DeviceKind::ALL.into_iter().find(|kind| kind.as_str() == choice).unwrap_or(DeviceKind::Till)
}

/// Where sales are taken, as the back office's sales filter chooses it: everywhere the manager
/// may see, at one till, or on one open-amount sticker's landing page (which no till takes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Place {
    /// Every till and open-amount sticker.
    #[default]
    Everywhere,
    /// The till with this id.
    Till(String),
    /// The open-amount sticker with this id.
    Sticker(String),
}

impl Place {
    /// Where `sale` was taken.
    pub fn of(sale: &Sale) -> Self {
        match &sale.sticker_id {
            Some(sticker) => Self::Sticker(sticker.clone()),
            None => Self::Till(sale.till_id.clone()),
        }
    }

    /// As a select element's value: empty, `till:{id}` or `sticker:{id}` (a till and a sticker
    /// may share an id).
    pub fn choice(&self) -> String {
        match self {
            Self::Everywhere => String::new(),
            Self::Till(id) => format!("till:{id}"),
            Self::Sticker(id) => format!("sticker:{id}"),
        }
    }

    /// A select element's value, read back; anything else is everywhere.
    pub fn from_choice(choice: &str) -> Self {
        if let Some(id) = choice.strip_prefix("till:") {
            Self::Till(id.to_owned())
        } else if let Some(id) = choice.strip_prefix("sticker:") {
            Self::Sticker(id.to_owned())
        } else {
            Self::Everywhere
        }
    }
}

/// Every till and open-amount sticker of `stores`, each with its name and its store's
/// ("Kasse 1 · Grünerløkka"): tills first, store by store, then stickers.
pub fn place_names(stores: &[StoreSummary]) -> Vec<(Place, String)> {
    let tills = stores.iter().flat_map(|s| {
        s.tills.iter().map(move |t| (Place::Till(t.id.clone()), format!("{} · {}", t.name, s.name)))
    });
    let stickers = stores.iter().flat_map(|s| {
        s.stickers
            .iter()
            .map(move |k| (Place::Sticker(k.id.clone()), format!("{} · {}", k.description, s.name)))
    });
    tills.chain(stickers).collect()
}

/// The server query for the sales `filter` and `place` choose, from the filter's day through
/// `through` (a later day, when one is chosen), at `now_ms` on a clock `offset_at` minutes east
/// of UTC.
pub fn sales_query(
    filter: &HistoryFilter,
    place: &Place,
    through: Option<Date>,
    now_ms: i64,
    offset_at: impl Fn(i64) -> i32 + Copy,
) -> AdminSalesQuery {
    let kasse_api::HistoryQuery { since_ms, mut until_ms, status, flow, search } =
        filter.query(now_ms, offset_at);
    if let Some(last) = through_day(filter.day, through, now_ms, offset_at) {
        until_ms = Some(last.next().midnight_ms(offset_at));
    }
    let (till, sticker) = match place {
        Place::Everywhere => (None, None),
        Place::Till(id) => (Some(id.clone()), None),
        Place::Sticker(id) => (None, Some(id.clone())),
    };
    AdminSalesQuery { till, sticker, since_ms, until_ms, status, flow, search }
}

/// The last day of a span that starts on `day` and runs through `through`, if that is a later
/// day; a `through` on or before the first day leaves the span that one day.
pub fn through_day(
    day: Day,
    through: Option<Date>,
    now_ms: i64,
    offset_at: impl Fn(i64) -> i32 + Copy,
) -> Option<Date> {
    let first = day.date(Date::of(now_ms, offset_at));
    through.filter(|last| *last > first)
}

/// The end-of-day query for `day` at `now_ms` on a clock `offset_at` minutes east of UTC: the
/// date it is (today and yesterday as this clock has them). Each store's day is the server's to
/// bound, in the store's own time.
pub fn day_query(day: Day, now_ms: i64, offset_at: impl Fn(i64) -> i32 + Copy) -> EndOfDayQuery {
    EndOfDayQuery { day: day.date(Date::of(now_ms, offset_at)).iso() }
}

/// A store's day as this clock shows it (`offset_at` minutes east of UTC), when it is not this
/// clock's own midnight to midnight of `date`: a store in another time zone.
pub fn store_day_elsewhere(
    date: Date,
    since_ms: i64,
    until_ms: i64,
    offset_at: impl Fn(i64) -> i32 + Copy,
    locale: Locale,
) -> Option<String> {
    let here = (date.midnight_ms(offset_at), date.next().midnight_ms(offset_at));
    (here != (since_ms, until_ms))
        .then(|| format!("{} – {}", moment(since_ms, offset_at, locale), moment(until_ms, offset_at, locale)))
}

/// A moment for people: its local day and clock time (`05.12.2026 14:05` in Norwegian).
pub fn moment(at_ms: i64, offset_at: impl Fn(i64) -> i32 + Copy, locale: Locale) -> String {
    format!("{} {}", Date::of(at_ms, offset_at).written(locale), clock(at_ms, offset_at(at_ms), locale))
}

/// The address of the sticker sheet `query` asks for. Till and sticker ids are letters, digits,
/// `-` and `_` (the configuration and the platform allow no others), and a language is a code,
/// so nothing needs escaping.
pub fn sheet_url(query: &StickerSheetQuery) -> String {
    let StickerSheetQuery { till, sticker, language } = query;
    let params: Vec<String> = [("till", till), ("sticker", sticker), ("language", language)]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}={value}")))
        .collect();
    if params.is_empty() {
        "/api/admin/stickers/sheet".to_owned()
    } else {
        format!("/api/admin/stickers/sheet?{}", params.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_of_days_runs_from_the_first_days_midnight_to_the_midnight_after_its_last() {
        let utc = |_| 0;
        // 2026-12-06 12:00 UTC.
        let now = 1_796_558_400_000;
        let first = Date::parse("2026-12-01").unwrap();
        let filter = HistoryFilter { day: Day::On(first), ..HistoryFilter::default() };
        let one_day = sales_query(&filter, &Place::Everywhere, None, now, utc);
        assert_eq!(
            (one_day.since_ms, one_day.until_ms),
            (Some(first.midnight_ms(utc)), Some(first.next().midnight_ms(utc)))
        );
        let last = Date::parse("2026-12-04").unwrap();
        let span = sales_query(&filter, &Place::Till("till-1".to_owned()), Some(last), now, utc);
        assert_eq!(
            (span.since_ms, span.until_ms),
            (Some(first.midnight_ms(utc)), Some(last.next().midnight_ms(utc)))
        );
        assert_eq!(span.till.as_deref(), Some("till-1"));
        let backwards =
            sales_query(&filter, &Place::Everywhere, Some(Date::parse("2026-11-20").unwrap()), now, utc);
        assert_eq!(backwards.until_ms, one_day.until_ms, "a last day before the first is no span");
        assert_eq!(through_day(Day::Today, Some(last), now, utc), None, "nothing comes after today");
    }

    #[test]
    fn a_sheet_is_every_sticker_in_the_stores_language_unless_one_till_sticker_or_language_is_asked() {
        assert_eq!(sheet_url(&StickerSheetQuery::default()), "/api/admin/stickers/sheet");
        let one =
            StickerSheetQuery { till: Some("till-1".into()), language: Some("da".into()), sticker: None };
        assert_eq!(sheet_url(&one), "/api/admin/stickers/sheet?till=till-1&language=da");
        let beacon =
            StickerSheetQuery { sticker: Some("100000000000007".into()), ..StickerSheetQuery::default() };
        assert_eq!(sheet_url(&beacon), "/api/admin/stickers/sheet?sticker=100000000000007");
    }

    #[test]
    fn the_form_asks_for_a_till_a_display_or_a_manager_with_the_pin() {
        let mut form = PairingForm::new("till-1", "");
        assert_eq!(form.request("4711"), Ok((PairingFor::Till { till: "till-1".into() }, "4711".into())));
        form.kind = kind_from_choice("display");
        assert_eq!(form.request(" 4711 ").map(|r| r.0), Ok(PairingFor::Display { till: "till-1".into() }));
        form.kind = kind_from_choice("manager");
        assert_eq!(form.request("4711"), Err(FormMistake::NoName));
        form.name = " Per ".into();
        assert_eq!(
            form.request("4711").map(|r| r.0),
            Ok(PairingFor::Manager { name: "Per".into(), store: None })
        );
        form.store = "oslo".into();
        assert_eq!(
            form.request("4711").map(|r| r.0),
            Ok(PairingFor::Manager { name: "Per".into(), store: Some("oslo".into()) })
        );
        assert_eq!(form.request("47"), Err(FormMistake::Pin(PinMistake::Malformed)));
        assert_eq!(kind_from_choice("toaster"), DeviceKind::Till);
    }

    #[test]
    fn the_sales_query_is_the_histories_with_the_till_or_sticker_chosen() {
        let filter = HistoryFilter { day: Day::Yesterday, ..HistoryFilter::default() }.with_search("567");
        // 2025-03-10 01:30 UTC.
        let till = Place::Till("till-1".to_owned());
        let query = sales_query(&filter, &till, None, 1_741_570_200_000, |_| 0);
        assert_eq!((query.till.as_deref(), query.sticker), (Some("till-1"), None));
        assert_eq!((query.since_ms, query.until_ms), (Some(1_741_478_400_000), Some(1_741_564_800_000)));
        assert_eq!(query.search.as_deref(), Some("567"));
        let sticker = sales_query(&filter, &Place::Sticker("donations".to_owned()), None, 0, |_| 0);
        assert_eq!((sticker.till, sticker.sticker.as_deref()), (None, Some("donations")));
        let everywhere = sales_query(&filter, &Place::Everywhere, None, 0, |_| 0);
        assert_eq!((everywhere.till, everywhere.sticker), (None, None), "every till and sticker");
    }

    #[test]
    fn a_till_and_a_sticker_of_one_id_are_two_places_each_named_with_its_store() {
        let store = StoreSummary {
            id: "oslo".to_owned(),
            name: "Grünerløkka".to_owned(),
            currency: kasse_api::Currency::Nok,
            tills: vec![kasse_api::Till {
                id: "kaffe".to_owned(),
                name: "Kasse 1".to_owned(),
                store_name: "Grünerløkka".to_owned(),
                loyalty: false,
                currency: kasse_api::Currency::Nok,
            }],
            stickers: vec![kasse_api::OpenSticker {
                id: "kaffe".to_owned(),
                description: "Kaffefondet".to_owned(),
            }],
        };
        let names = place_names(&[store]);
        assert_eq!(
            names,
            [
                (Place::Till("kaffe".to_owned()), "Kasse 1 · Grünerløkka".to_owned()),
                (Place::Sticker("kaffe".to_owned()), "Kaffefondet · Grünerløkka".to_owned()),
            ]
        );
        for (place, _) in &names {
            assert_eq!(&Place::from_choice(&place.choice()), place, "{place:?} through a select element");
        }
        assert_eq!(Place::from_choice(""), Place::Everywhere);
        assert_eq!(Place::from_choice("kaffe"), Place::Everywhere, "neither a till's nor a sticker's");
    }

    #[test]
    fn the_end_of_day_asks_for_the_date_it_is_on_this_clock() {
        // 2025-03-10 01:30 UTC; Oslo (+1) has had Monday for two and a half hours.
        assert_eq!(day_query(Day::Today, 1_741_570_200_000, |_| 60).day, "2025-03-10");
        assert_eq!(day_query(Day::Today, 1_741_570_200_000, |_| 0).day, "2025-03-10");
        assert_eq!(day_query(Day::Yesterday, 1_741_570_200_000, |_| 60).day, "2025-03-09");
        // 23:30 UTC on the 9th is the 10th in Helsinki (+2), still the 9th in London.
        assert_eq!(day_query(Day::Today, 1_741_563_000_000, |_| 120).day, "2025-03-10");
        assert_eq!(day_query(Day::Today, 1_741_563_000_000, |_| 0).day, "2025-03-09");
    }

    #[test]
    fn a_store_in_another_time_zone_has_its_day_shown_on_this_clock_and_one_in_this_zone_none() {
        let oslo = |_| 60;
        let date = Date::parse("2026-12-07").unwrap();
        let (since, until) = (date.midnight_ms(oslo), date.next().midnight_ms(oslo));
        assert_eq!(store_day_elsewhere(date, since, until, oslo, Locale::En), None);
        let hour = 3_600_000;
        let helsinki = store_day_elsewhere(date, since - hour, until - hour, oslo, Locale::Nb).unwrap();
        assert_eq!(helsinki, "06.12.2026 23:00 – 07.12.2026 23:00");
    }

    #[test]
    fn a_moment_is_its_local_day_and_time() {
        assert_eq!(moment(1_741_570_200_000, |_| 60, Locale::Nb), "10.03.2025 02:30");
        assert_eq!(moment(1_741_570_200_000, |_| 0, Locale::En), "2025-03-10 01:30");
    }
}

//! The history page's logic: which day's sales to ask for (today, yesterday or a day from the
//! calendar, each from its midnight on this browser's clock), the filters and the search, clock
//! times and dates for people, and totals in a steady order.

use kasse_api::{Currency, Flow, HistoryQuery, Money, SaleStatus, Total};

use super::locale::Locale;

/// One day in milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// One minute in milliseconds.
const MINUTE_MS: i64 = 60 * 1000;

/// The statuses a cashier can filter by, in the order the filter offers them. The two passing
/// states (`Creating`, `Cancelling`) last seconds and are left out.
pub const STATUS_CHOICES: [SaleStatus; 8] = [
    SaleStatus::Captured,
    SaleStatus::Authorized,
    SaleStatus::AwaitingCustomer,
    SaleStatus::Refunded,
    SaleStatus::Declined,
    SaleStatus::Expired,
    SaleStatus::Cancelled,
    SaleStatus::Failed,
];

/// Which day's sales the cashier looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Day {
    /// Since this browser's last midnight.
    #[default]
    Today,
    /// The day before.
    Yesterday,
    /// A day chosen in the calendar.
    On(Date),
}

impl Day {
    /// The select element's value for this choice.
    pub const fn choice(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Yesterday => "yesterday",
            Self::On(_) => "date",
        }
    }

    /// The day a select element's `choice` names; another day starts as `fallback`.
    pub fn from_choice(choice: &str, fallback: Date) -> Self {
        match choice {
            "yesterday" => Self::Yesterday,
            "date" => Self::On(fallback),
            _ => Self::Today,
        }
    }

    /// The calendar day this is, with `today` the browser's.
    pub fn date(self, today: Date) -> Date {
        match self {
            Self::Today => today,
            Self::Yesterday => today.previous(),
            Self::On(date) => date,
        }
    }
}

/// What the cashier chose to see: a day, one status or all, one flow or all, and a search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Whose sales.
    pub day: Day,
    /// Only sales in this status.
    pub status: Option<SaleStatus>,
    /// Only sales of this flow.
    pub flow: Option<Flow>,
    /// What the search field held when it was sent (trimmed; empty for none).
    pub search: String,
}

impl HistoryFilter {
    /// The filter with the status chosen in a select element: a status's name, or empty for all.
    #[must_use]
    pub fn with_status_choice(self, choice: &str) -> Self {
        Self { status: SaleStatus::parse(choice), ..self }
    }

    /// The filter with the flow chosen in a select element: a flow's name, or empty for all.
    #[must_use]
    pub fn with_flow_choice(self, choice: &str) -> Self {
        Self { flow: Flow::parse(choice), ..self }
    }

    /// The filter with the search field's text.
    #[must_use]
    pub fn with_search(self, typed: &str) -> Self {
        Self { search: typed.trim().to_owned(), ..self }
    }

    /// The select element's value for the chosen status (empty for all).
    pub fn status_choice(&self) -> &'static str {
        self.status.map_or("", SaleStatus::as_str)
    }

    /// The select element's value for the chosen flow (empty for all).
    pub fn flow_choice(&self) -> &'static str {
        self.flow.map_or("", Flow::as_str)
    }

    /// True when nothing of the day is left out.
    pub fn is_everything(&self) -> bool {
        self.status.is_none() && self.flow.is_none() && self.search.is_empty()
    }

    /// The server query for this filter's sales, at `now_ms` on a clock `offset_at` minutes
    /// east of UTC (see [`local_midnight_ms`]). Today runs from its midnight with no end, so a
    /// sale started a moment ago is in it.
    pub fn query(&self, now_ms: i64, offset_at: impl Fn(i64) -> i32 + Copy) -> HistoryQuery {
        let (since_ms, until_ms) = match self.day {
            Day::Today => (local_midnight_ms(now_ms, offset_at), None),
            day => {
                let date = day.date(Date::of(now_ms, offset_at));
                (date.midnight_ms(offset_at), Some(date.next().midnight_ms(offset_at)))
            }
        };
        HistoryQuery {
            since_ms: Some(since_ms),
            until_ms,
            status: self.status,
            flow: self.flow,
            search: (!self.search.is_empty()).then(|| self.search.clone()),
        }
    }
}

/// A calendar day, as an `<input type="date">` writes it (`2026-12-05`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// A day written `YYYY-MM-DD`, if it is one the calendar has.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u8 = parts.next()?.parse().ok()?;
        let day: u8 = parts.next()?.parse().ok()?;
        let date = Self { year, month, day };
        (Self::from_days(date.days()) == date).then_some(date)
    }

    /// The local day of the instant `at_ms`, on a clock `offset_at` minutes east of UTC.
    pub fn of(at_ms: i64, offset_at: impl Fn(i64) -> i32) -> Self {
        let local = at_ms + i64::from(offset_at(at_ms)) * MINUTE_MS;
        Self::from_days(local.div_euclid(DAY_MS))
    }

    /// The instant this day begins on a clock `offset_at` minutes east of UTC.
    pub fn midnight_ms(self, offset_at: impl Fn(i64) -> i32 + Copy) -> i64 {
        // Local noon is inside the day whatever the clock does that night; its midnight is then
        // found as for any instant.
        let noon_utc = self.days() * DAY_MS + DAY_MS / 2;
        local_midnight_ms(noon_utc - i64::from(offset_at(noon_utc)) * MINUTE_MS, offset_at)
    }

    /// The day after.
    #[must_use]
    pub fn next(self) -> Self {
        Self::from_days(self.days() + 1)
    }

    /// The day before.
    #[must_use]
    pub fn previous(self) -> Self {
        Self::from_days(self.days() - 1)
    }

    /// `YYYY-MM-DD`, as the date input takes it.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// The day as the locale writes it: `2026-12-05` in English (no order to misread),
    /// `05.12.2026` in Norwegian and Danish, `5.12.2026` in Finnish.
    pub fn written(self, locale: Locale) -> String {
        let Self { year, month, day } = self;
        match locale {
            Locale::En => self.iso(),
            Locale::Nb | Locale::Da => format!("{day:02}.{month:02}.{year}"),
            Locale::Fi => format!("{day}.{month}.{year}"),
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn days(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The day `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    fn from_days(days: i64) -> Self {
        let days = days + 719_468;
        let era = days.div_euclid(146_097);
        let day_of_era = days - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Within the range of any clock a till has, each part fits its type.
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }
}

/// The last local midnight at or before `now_ms`, in milliseconds since the epoch.
/// `offset_at(ms)` is the local clock's offset from UTC at that instant, in minutes east of UTC
/// (Oslo in summer: +120), which is `-Date.getTimezoneOffset()` in a browser. The offset is asked
/// for twice, so a day on which summer time begins or ends still starts at its own midnight.
pub fn local_midnight_ms(now_ms: i64, offset_at: impl Fn(i64) -> i32) -> i64 {
    let local_now = now_ms + i64::from(offset_at(now_ms)) * MINUTE_MS;
    let local_midnight = local_now.div_euclid(DAY_MS) * DAY_MS;
    // First guess with today's offset, then with the offset in force at that guess.
    let guess = local_midnight - i64::from(offset_at(now_ms)) * MINUTE_MS;
    local_midnight - i64::from(offset_at(guess)) * MINUTE_MS
}

/// The local clock time of `at_ms` as the locale writes it: `14:05`, in Finnish `14.05`.
/// `offset_minutes` is the local offset from UTC at that instant (minutes east).
pub fn clock(at_ms: i64, offset_minutes: i32, locale: Locale) -> String {
    let (hours, minutes, _) = time_of_day(at_ms, offset_minutes);
    let separator = if locale == Locale::Fi { '.' } else { ':' };
    format!("{hours:02}{separator}{minutes:02}")
}

/// Like [`clock`], with seconds: `14:05:09`, in Finnish `14.05.09`.
pub fn clock_with_seconds(at_ms: i64, offset_minutes: i32, locale: Locale) -> String {
    let (_, _, seconds) = time_of_day(at_ms, offset_minutes);
    let separator = if locale == Locale::Fi { '.' } else { ':' };
    format!("{}{separator}{seconds:02}", clock(at_ms, offset_minutes, locale))
}

fn time_of_day(at_ms: i64, offset_minutes: i32) -> (i64, i64, i64) {
    let local = at_ms + i64::from(offset_minutes) * MINUTE_MS;
    let seconds = local.rem_euclid(DAY_MS) / 1000;
    (seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// The totals in a steady order: by status as the filter offers them, then by currency.
pub fn ordered_totals(totals: &[Total]) -> Vec<Total> {
    let rank =
        |status: SaleStatus| STATUS_CHOICES.iter().position(|s| *s == status).unwrap_or(STATUS_CHOICES.len());
    let mut ordered = totals.to_vec();
    ordered.sort_by_key(|t| (rank(t.status), t.currency.code()));
    ordered
}

/// What was taken and not given back, per currency, over all totals (a currency with nothing
/// taken is left out).
pub fn net_taken(totals: &[Total]) -> Vec<Money> {
    let mut sums: Vec<Money> = Vec::new();
    for total in totals {
        let net = total.captured - total.refunded;
        match sums.iter_mut().find(|m| m.currency == total.currency) {
            Some(sum) => sum.value += net,
            None => sums.push(Money::new(net, total.currency)),
        }
    }
    sums.retain(|m| m.value != 0);
    sums.sort_by_key(|m| currency_rank(m.currency));
    sums
}

const fn currency_rank(currency: Currency) -> u8 {
    match currency {
        Currency::Nok => 0,
        Currency::Dkk => 1,
        Currency::Eur => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(status: SaleStatus, currency: Currency, captured: i64, refunded: i64) -> Total {
        Total { status, currency, count: 1, amount: captured, captured, refunded }
    }

    /// 2025-03-10 01:30 UTC.
    const MONDAY_0130_UTC: i64 = 1_741_570_200_000;
    /// 2025-03-10 00:00 UTC.
    const MONDAY_UTC: i64 = 1_741_564_800_000;

    #[test]
    fn the_filters_become_the_servers_query_from_local_midnight() {
        let filter = HistoryFilter::default()
            .with_status_choice("captured")
            .with_flow_choice("phone")
            .with_search("  567 ");
        assert_eq!(
            filter.query(MONDAY_0130_UTC, |_| 0),
            HistoryQuery {
                since_ms: Some(MONDAY_UTC),
                until_ms: None,
                status: Some(SaleStatus::Captured),
                flow: Some(Flow::Phone),
                search: Some("567".into()),
            }
        );
        assert!(!filter.is_everything());
        let everything = filter.with_status_choice("").with_flow_choice("").with_search(" ");
        assert!(everything.is_everything(), "a blank search is no search");
        assert_eq!(
            everything.query(MONDAY_0130_UTC, |_| 0),
            HistoryQuery { since_ms: Some(MONDAY_UTC), ..HistoryQuery::default() }
        );
    }

    #[test]
    fn yesterday_and_a_chosen_day_run_from_their_midnight_to_the_next() {
        // Oslo in winter: Monday 02:30 local.
        let oslo = |_| 60;
        let hour = 60 * MINUTE_MS;
        let monday = MONDAY_UTC - hour;
        let yesterday = HistoryFilter { day: Day::Yesterday, ..HistoryFilter::default() };
        let query = yesterday.query(MONDAY_0130_UTC, oslo);
        assert_eq!((query.since_ms, query.until_ms), (Some(monday - DAY_MS), Some(monday)));

        let last_week = Date::parse("2025-03-03").unwrap();
        let chosen = HistoryFilter { day: Day::On(last_week), ..HistoryFilter::default() };
        let query = chosen.query(MONDAY_0130_UTC, oslo);
        assert_eq!((query.since_ms, query.until_ms), (Some(monday - 7 * DAY_MS), Some(monday - 6 * DAY_MS)));
    }

    #[test]
    fn the_day_summer_time_begins_is_23_hours_long() {
        // 2025-03-30: Oslo goes from +1 to +2 at 01:00 UTC.
        let switch = 1_743_296_400_000;
        let oslo = |ms: i64| if ms >= switch { 120 } else { 60 };
        let day =
            HistoryFilter { day: Day::On(Date::parse("2025-03-30").unwrap()), ..HistoryFilter::default() };
        let query = day.query(switch + 10 * DAY_MS, oslo);
        let (since, until) = (query.since_ms.unwrap(), query.until_ms.unwrap());
        assert_eq!(since, 1_743_289_200_000, "23:00 UTC on the 29th");
        assert_eq!(until - since, 23 * 60 * MINUTE_MS);
    }

    #[test]
    fn a_date_is_read_as_the_date_input_writes_it_and_only_if_the_calendar_has_it() {
        let date = Date::parse("2024-02-29").unwrap();
        assert_eq!(date.iso(), "2024-02-29");
        assert_eq!(date.next().iso(), "2024-03-01");
        assert_eq!(date.previous().iso(), "2024-02-28");
        assert_eq!(Date::parse("2024-12-31").unwrap().next().iso(), "2025-01-01");
        for not_a_day in ["2025-02-29", "2025-13-01", "2025-00-10", "2025-04-31", "", "2025-1", "today"] {
            assert_eq!(Date::parse(not_a_day), None, "{not_a_day}");
        }
        assert_eq!(Date::of(MONDAY_0130_UTC, |_| 0).iso(), "2025-03-10");
        assert_eq!(Date::of(MONDAY_0130_UTC, |_| -300).iso(), "2025-03-09", "New York is still on Sunday");
        assert_eq!(Date::of(0, |_| 0).iso(), "1970-01-01");
    }

    #[test]
    fn a_date_is_written_as_each_language_writes_it() {
        let date = Date::parse("2026-12-05").unwrap();
        assert_eq!(date.written(Locale::En), "2026-12-05");
        assert_eq!(date.written(Locale::Nb), "05.12.2026");
        assert_eq!(date.written(Locale::Da), "05.12.2026");
        assert_eq!(date.written(Locale::Fi), "5.12.2026");
    }

    #[test]
    fn a_day_reads_back_as_the_select_elements_value() {
        let fallback = Date::parse("2026-12-01").unwrap();
        for day in [Day::Today, Day::Yesterday, Day::On(fallback)] {
            assert_eq!(Day::from_choice(day.choice(), fallback), day);
        }
        assert_eq!(Day::from_choice("tomorrow", fallback), Day::Today);
        let today = Date::parse("2026-12-05").unwrap();
        assert_eq!(Day::Yesterday.date(today).iso(), "2026-12-04");
    }

    #[test]
    fn a_filters_choices_read_back_as_the_select_elements_values() {
        let filter = HistoryFilter {
            status: Some(SaleStatus::Declined),
            flow: Some(Flow::PersonalQr),
            ..HistoryFilter::default()
        };
        assert_eq!((filter.status_choice(), filter.flow_choice()), ("declined", "personalQr"));
        assert_eq!(HistoryFilter::default().with_status_choice(filter.status_choice()).status, filter.status);
        assert_eq!(HistoryFilter::default().status_choice(), "");
        assert_eq!(
            HistoryFilter::default().with_flow_choice("cash").flow,
            None,
            "an unknown choice means all"
        );
    }

    #[test]
    fn today_begins_at_the_local_midnight_east_and_west_of_utc() {
        // 2025-03-10 01:30 UTC.
        let now = 1_741_570_200_000;
        let utc_midnight = 1_741_564_800_000;
        assert_eq!(local_midnight_ms(now, |_| 0), utc_midnight);
        // Oslo in winter (+1): 02:30 local, the same day began at 23:00 UTC the day before.
        assert_eq!(local_midnight_ms(now, |_| 60), utc_midnight - 60 * MINUTE_MS);
        // New York (-5): 20:30 local on the 9th, which began at 05:00 UTC on the 9th.
        assert_eq!(local_midnight_ms(now, |_| -300), utc_midnight - DAY_MS + 300 * MINUTE_MS);
        // Exactly at midnight, today has just begun.
        assert_eq!(local_midnight_ms(utc_midnight, |_| 0), utc_midnight);
    }

    #[test]
    fn on_the_day_summer_time_begins_today_still_starts_at_its_midnight() {
        // 2025-03-30: Oslo goes from +1 to +2 at 01:00 UTC. At 12:00 local (10:00 UTC) the
        // offset is +2, but midnight was at +1: 23:00 UTC on the 29th.
        let switch = 1_743_296_400_000; // 2025-03-30 01:00 UTC
        let oslo = |ms: i64| if ms >= switch { 120 } else { 60 };
        let noon = 1_743_328_800_000; // 2025-03-30 10:00 UTC
        let midnight = 1_743_289_200_000; // 2025-03-29 23:00 UTC
        assert_eq!(local_midnight_ms(noon, oslo), midnight);
    }

    #[test]
    fn clock_times_are_local_and_finnish_uses_a_dot() {
        let at = 1_741_570_200_000 + 9_000; // 01:30:09 UTC
        assert_eq!(clock(at, 60, Locale::Nb), "02:30");
        assert_eq!(clock(at, 60, Locale::Fi), "02.30");
        assert_eq!(clock(at, -120, Locale::En), "23:30");
        assert_eq!(clock_with_seconds(at, 0, Locale::Da), "01:30:09");
        assert_eq!(clock_with_seconds(at, 0, Locale::Fi), "01.30.09");
    }

    #[test]
    fn totals_come_in_the_filters_order_and_net_taken_subtracts_refunds() {
        let totals = [
            total(SaleStatus::Declined, Currency::Nok, 0, 0),
            total(SaleStatus::Refunded, Currency::Nok, 1_000, 1_000),
            total(SaleStatus::Captured, Currency::Nok, 10_000, 1_500),
        ];
        let ordered: Vec<_> = ordered_totals(&totals).into_iter().map(|t| t.status).collect();
        assert_eq!(ordered, [SaleStatus::Captured, SaleStatus::Refunded, SaleStatus::Declined]);
        assert_eq!(net_taken(&totals), [Money::new(8_500, Currency::Nok)]);
        assert_eq!(net_taken(&[total(SaleStatus::Declined, Currency::Eur, 0, 0)]), []);
    }
}

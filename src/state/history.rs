//! The history page's logic: which of today's sales to ask for, when "today" began on this
//! browser's clock, clock times for people, and totals in a steady order.

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

/// What the cashier chose to see: one status or all, one flow or all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only sales in this status.
    pub status: Option<SaleStatus>,
    /// Only sales of this flow.
    pub flow: Option<Flow>,
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

    /// The select element's value for the chosen status (empty for all).
    pub fn status_choice(self) -> &'static str {
        self.status.map_or("", SaleStatus::as_str)
    }

    /// The select element's value for the chosen flow (empty for all).
    pub fn flow_choice(self) -> &'static str {
        self.flow.map_or("", Flow::as_str)
    }

    /// True when nothing is filtered out.
    pub const fn is_everything(self) -> bool {
        self.status.is_none() && self.flow.is_none()
    }

    /// The server query for sales since `since_ms` (the local midnight) that pass this filter.
    pub fn query(self, since_ms: i64) -> HistoryQuery {
        HistoryQuery { since_ms: Some(since_ms), until_ms: None, status: self.status, flow: self.flow }
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

    #[test]
    fn the_filters_become_the_servers_query_from_local_midnight() {
        let filter = HistoryFilter::default().with_status_choice("captured").with_flow_choice("phone");
        assert_eq!(
            filter.query(1_000),
            HistoryQuery {
                since_ms: Some(1_000),
                until_ms: None,
                status: Some(SaleStatus::Captured),
                flow: Some(Flow::Phone)
            }
        );
        let everything = filter.with_status_choice("").with_flow_choice("");
        assert!(everything.is_everything());
        assert_eq!(everything.query(5), HistoryQuery { since_ms: Some(5), ..HistoryQuery::default() });
    }

    #[test]
    fn a_filters_choices_read_back_as_the_select_elements_values() {
        let filter = HistoryFilter { status: Some(SaleStatus::Declined), flow: Some(Flow::PersonalQr) };
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

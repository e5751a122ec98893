//! Where a store's day begins, for rules that speak of "an earlier day". A store keeps the time
//! of its country, told by its currency: Norway's and Denmark's (CET) for NOK and DKK, Finland's
//! (EET) for EUR, each on EU summer time, which starts on the last Sunday of March and ends on
//! the last Sunday of October, both at 01:00 UTC. Written by hand: three zones on one rule do not
//! need a time zone database.

use chrono::{Datelike as _, NaiveDate, TimeZone as _, Utc, Weekday};
use kasse_api::Currency;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The store's standard offset from UTC, in ms.
const fn standard_offset(currency: Currency) -> i64 {
    match currency {
        Currency::Nok | Currency::Dkk => HOUR_MS,
        Currency::Eur => 2 * HOUR_MS,
    }
}

/// 01:00 UTC on the last Sunday of `month` of `year`, in Unix ms.
fn last_sunday_1am(year: i32, month: u32) -> i64 {
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    let Some(mut day) = next_month.and_then(|d| d.pred_opt()) else { return 0 };
    while day.weekday() != Weekday::Sun {
        let Some(before) = day.pred_opt() else { return 0 };
        day = before;
    }
    day.and_hms_opt(1, 0, 0).map_or(0, |at| Utc.from_utc_datetime(&at).timestamp_millis())
}

/// The store's offset from UTC at `at_ms`, summer time included, in ms.
pub fn offset_at(at_ms: i64, currency: Currency) -> i64 {
    let year = Utc.timestamp_millis_opt(at_ms).single().map_or(1970, |t| t.year());
    let summer = (last_sunday_1am(year, 3)..last_sunday_1am(year, 10)).contains(&at_ms);
    standard_offset(currency) + if summer { HOUR_MS } else { 0 }
}

/// When the store's day holding `now_ms` began, in Unix ms.
pub fn start_of_day(now_ms: i64, currency: Currency) -> i64 {
    let local_midnight = (now_ms + offset_at(now_ms, currency)).div_euclid(DAY_MS) * DAY_MS;
    // The offset at midnight itself: on the days summer time starts or ends it differs from now's.
    let guess = local_midnight - offset_at(now_ms, currency);
    local_midnight - offset_at(guess, currency)
}

/// The store's day `date`, from its first moment to the next day's, in Unix ms: 23 hours on
/// the day summer time starts, 25 on the day it ends.
pub fn bounds(date: NaiveDate, currency: Currency) -> (i64, i64) {
    // Noon UTC is the afternoon of the same date in every zone a store keeps, so the day holding
    // it is `date`, and the day holding the next noon the day after.
    let noon = date.and_hms_opt(12, 0, 0).map_or(0, |at| Utc.from_utc_datetime(&at).timestamp_millis());
    (start_of_day(noon, currency), start_of_day(noon + DAY_MS, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn an_oslo_day_begins_at_local_midnight_in_winter_and_in_summer() {
        assert_eq!(start_of_day(utc("2026-01-15T12:00:00Z"), Currency::Nok), utc("2026-01-14T23:00:00Z"));
        assert_eq!(start_of_day(utc("2026-07-15T12:00:00Z"), Currency::Dkk), utc("2026-07-14T22:00:00Z"));
        // 23:30 UTC in winter is already the next day in Oslo.
        assert_eq!(start_of_day(utc("2026-01-15T23:30:00Z"), Currency::Nok), utc("2026-01-15T23:00:00Z"));
    }

    #[test]
    fn a_dates_bounds_are_its_midnight_and_the_next_in_the_stores_time_23_or_25_hours_where_clocks_change() {
        let date = |text| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        let cases = [
            ("2026-12-07", Currency::Nok, "2026-12-06T23:00:00Z", "2026-12-07T23:00:00Z"),
            ("2026-12-07", Currency::Dkk, "2026-12-06T23:00:00Z", "2026-12-07T23:00:00Z"),
            ("2026-12-07", Currency::Eur, "2026-12-06T22:00:00Z", "2026-12-07T22:00:00Z"),
            ("2026-07-01", Currency::Eur, "2026-06-30T21:00:00Z", "2026-07-01T21:00:00Z"),
            // Summer time starts: 23 hours; ends: 25.
            ("2026-03-29", Currency::Nok, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
            ("2026-10-25", Currency::Eur, "2026-10-24T21:00:00Z", "2026-10-25T22:00:00Z"),
            ("2026-12-31", Currency::Eur, "2026-12-30T22:00:00Z", "2026-12-31T22:00:00Z"),
        ];
        for (day, currency, since, until) in cases {
            assert_eq!(bounds(date(day), currency), (utc(since), utc(until)), "{day} {currency:?}");
        }
    }

    #[test]
    fn helsinki_is_an_hour_ahead_and_the_days_summer_time_starts_and_ends_begin_at_midnight() {
        assert_eq!(start_of_day(utc("2026-01-15T12:00:00Z"), Currency::Eur), utc("2026-01-14T22:00:00Z"));
        // 2026: summer time from 29 March to 25 October, at 01:00 UTC.
        assert_eq!(start_of_day(utc("2026-03-29T12:00:00Z"), Currency::Nok), utc("2026-03-28T23:00:00Z"));
        assert_eq!(start_of_day(utc("2026-10-25T12:00:00Z"), Currency::Nok), utc("2026-10-24T22:00:00Z"));
        assert_eq!(start_of_day(utc("2026-03-30T12:00:00Z"), Currency::Eur), utc("2026-03-29T21:00:00Z"));
    }

    #[test]
    fn just_after_midnight_on_the_days_summer_time_starts_or_ends_and_at_new_year() {
        let cases = [
            // 00:30 in Oslo on the day summer time starts, still in winter time.
            ("2026-03-28T23:30:00Z", Currency::Nok, "2026-03-28T23:00:00Z"),
            // 04:30 in Helsinki that morning, in summer time since 03:00 (01:00 UTC).
            ("2026-03-29T01:30:00Z", Currency::Eur, "2026-03-28T22:00:00Z"),
            // 00:30 in Oslo on the day summer time ends, still in summer time.
            ("2026-10-24T22:30:00Z", Currency::Nok, "2026-10-24T22:00:00Z"),
            // 02:30 in Oslo, twice: before and after the clocks go back.
            ("2026-10-25T00:30:00Z", Currency::Nok, "2026-10-24T22:00:00Z"),
            ("2026-10-25T01:30:00Z", Currency::Nok, "2026-10-24T22:00:00Z"),
            // 00:30 on New Year's Day in Helsinki is still 2026 in UTC.
            ("2026-12-31T22:30:00Z", Currency::Eur, "2026-12-31T22:00:00Z"),
            // 2027 ends summer time on 31 October, a month's last day that is a Sunday.
            ("2027-10-31T12:00:00Z", Currency::Dkk, "2027-10-30T22:00:00Z"),
        ];
        for (now, currency, start) in cases {
            assert_eq!(start_of_day(utc(now), currency), utc(start), "{now} {currency:?}");
        }
    }
}

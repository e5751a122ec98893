//! The platform's rate limits (reference/vipps-apis.md §3.10), always on: each of create, capture,
//! cancel and refund takes `Limits::writes_per_minute` calls per reference and MSN, each of the
//! two GETs `Limits::reads_per_minute` per reference and subscription key. Calls are counted in a
//! sliding minute of the simulator's clock, so a test moves past a window with `advance_clock`.
//! Over a limit the answer is 429 with `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::config::Limits;
use crate::error::SimError;
use crate::http::lock;
use crate::world::Operation;

/// A GET the read limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Read {
    /// `GET …/payments/{reference}`.
    Payment,
    /// `GET …/payments/{reference}/events`.
    Events,
}

/// The API a limit counts calls to: each has its own count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Api {
    Write(Operation),
    Read(Read),
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Write(operation) => write!(f, "{operation}"),
            Self::Read(Read::Payment) => f.write_str("get"),
            Self::Read(Read::Events) => f.write_str("events"),
        }
    }
}

/// A 429, and the seconds its `Retry-After` header asks the caller to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// The problem body.
    pub error: SimError,
    /// `Retry-After`, in seconds.
    pub retry_after: u64,
}

/// The platform's per-reference rate limits: a sliding minute of admitted calls per key.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    windows: Mutex<Windows>,
}

/// API, caller (MSN or subscription key), reference.
type WindowKey = (Api, String, String);

#[derive(Debug, Default)]
struct Windows {
    calls: HashMap<WindowKey, VecDeque<DateTime<Utc>>>,
    admitted_since_sweep: u32,
}

/// Admissions between sweeps of windows nobody has used for a minute.
const SWEEP_EVERY: u32 = 4096;

impl RateLimiter {
    /// Counts against `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits, windows: Mutex::new(Windows::default()) }
    }

    /// Counts a write (`operation`) of `reference` by sales unit `msn`, or refuses it with 429 if
    /// the minute's calls are used up. A refused call is not counted, so the window empties a
    /// minute after the first call.
    pub fn admit_write(
        &self,
        operation: Operation,
        msn: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        self.admit(Api::Write(operation), msn, reference, self.limits.writes_per_minute, now)
    }

    /// Counts a GET of `reference` with `subscription_key`, or refuses it with 429.
    pub fn admit_read(
        &self,
        read: Read,
        subscription_key: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        self.admit(Api::Read(read), subscription_key, reference, self.limits.reads_per_minute, now)
    }

    fn admit(
        &self,
        api: Api,
        caller: &str,
        reference: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        let minute = chrono::Duration::minutes(1);
        let mut windows = lock(&self.windows);
        let calls = windows.calls.entry((api, caller.to_owned(), reference.to_owned())).or_default();
        while calls.front().is_some_and(|t| *t <= now - minute) {
            calls.pop_front();
        }
        if calls.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            // Free again when the oldest call of the window is a minute old.
            let free_at = calls.front().map_or(now, |t| *t + minute);
            let wait_ms = u64::try_from((free_at - now).num_milliseconds()).unwrap_or(0);
            let retry_after = wait_ms.div_ceil(1000).max(1);
            let detail = format!(
                "At most {limit} {api} calls a minute for one reference. Retry after {retry_after} s."
            );
            return Err(Throttled { error: SimError::too_many_requests(&detail), retry_after });
        }
        calls.push_back(now);
        windows.admitted_since_sweep += 1;
        // Long runs (the kasse server, benchmarks) touch many references once: forget the idle.
        if windows.admitted_since_sweep >= SWEEP_EVERY {
            windows.admitted_since_sweep = 0;
            windows.calls.retain(|_, calls| calls.back().is_some_and(|t| *t > now - minute));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn limiter() -> RateLimiter {
        RateLimiter::new(Limits { writes_per_minute: 2, reads_per_minute: 3 })
    }

    #[test]
    fn a_call_over_the_limit_is_refused_until_the_oldest_is_a_minute_old() {
        let l = limiter();
        l.admit_write(Operation::Capture, "123456", "ref-1", at(0)).unwrap();
        l.admit_write(Operation::Capture, "123456", "ref-1", at(20)).unwrap();
        let refused = l.admit_write(Operation::Capture, "123456", "ref-1", at(30)).unwrap_err();
        assert_eq!((refused.error.status, refused.retry_after), (429, 30));
        assert!(refused.error.detail.contains("At most 2 capture calls"), "{}", refused.error.detail);
        l.admit_write(Operation::Capture, "123456", "ref-1", at(60)).unwrap();
        assert_eq!(l.admit_write(Operation::Capture, "123456", "ref-1", at(61)).unwrap_err().retry_after, 19);
    }

    #[test]
    fn each_api_reference_and_caller_has_its_own_count() {
        let l = limiter();
        for _ in 0..2 {
            l.admit_write(Operation::Capture, "123456", "ref-1", at(0)).unwrap();
        }
        l.admit_write(Operation::Refund, "123456", "ref-1", at(0)).unwrap();
        l.admit_write(Operation::Capture, "123456", "ref-2", at(0)).unwrap();
        l.admit_write(Operation::Capture, "234567", "ref-1", at(0)).unwrap();
        for _ in 0..3 {
            l.admit_read(Read::Payment, "key", "ref-1", at(0)).unwrap();
        }
        assert!(l.admit_read(Read::Payment, "key", "ref-1", at(0)).is_err());
        l.admit_read(Read::Events, "key", "ref-1", at(0)).unwrap();
    }
}

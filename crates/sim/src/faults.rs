//! Fault knobs and platform limits: injected latency, 5xx and 429 answers, rate limits, and what
//! happens to webhooks on their way (dropped, duplicated, reordered).
//!
//! The rate limits are the platform's own rule (reference/vipps-apis.md §3.10), always on: each of
//! create, capture, cancel and refund takes 5 calls a minute per reference and MSN, each of the two
//! GETs 120 per reference and subscription key, counted on the simulator's clock. The fault knobs
//! are deliberate misbehaviour, off until set through the control API or `SimHandle`: an injected
//! 5xx or 429 is answered before the call is looked at, so it never has an effect, which is what
//! makes retrying it with the same idempotency key safe. Faults only touch the platform's APIs,
//! never `/sim/…` (control API, phone and pay pages). Every random draw comes from an RNG seeded
//! by the knobs, so the same seed and the same sequence of calls give the same faults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Sim;
use crate::config::Limits;
use crate::error::SimError;

/// The fault settings, as `GET/PUT /sim/control/faults` reads and writes them. A field left out
/// of a PUT is off.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultKnobs {
    /// Added before every platform API call is answered, in milliseconds.
    pub latency_ms: u64,
    /// The fraction (0 to 1) of platform API calls answered 500 or 503 without being processed.
    pub error_rate: f64,
    /// The fraction (0 to 1) of platform API calls answered 429 with `Retry-After` without being
    /// processed.
    pub throttle_rate: f64,
    /// The fraction (0 to 1) of webhooks never delivered to a registration.
    pub drop_webhook_rate: f64,
    /// The fraction (0 to 1) of webhooks delivered twice to a registration.
    pub duplicate_webhook_rate: f64,
    /// Holds each webhook back until the next one for the same registration has been queued, so
    /// every pair arrives the wrong way round. An odd one out waits for the next event, or for
    /// this knob to be switched off.
    pub reorder_webhooks: bool,
    /// Seeds the random draws. Setting the knobs starts the draws afresh from it.
    pub seed: u64,
}

impl FaultKnobs {
    /// Refuses rates that are not fractions.
    pub fn validate(&self) -> Result<(), SimError> {
        let rates = [
            ("errorRate", self.error_rate),
            ("throttleRate", self.throttle_rate),
            ("dropWebhookRate", self.drop_webhook_rate),
            ("duplicateWebhookRate", self.duplicate_webhook_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(SimError::validation(name, "A rate is a fraction from 0 to 1."));
            }
        }
        Ok(())
    }
}

/// A platform API call answered with an injected fault instead of being processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedFault {
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The status answered: 500, 503 or 429.
    pub status: u16,
}

/// A 429, and the seconds its `Retry-After` header asks the caller to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// The problem body.
    pub error: SimError,
    /// `Retry-After`, in seconds.
    pub retry_after: u64,
}

impl Throttled {
    fn new(detail: &str, retry_after: u64) -> Self {
        Self { error: SimError::too_many_requests(detail), retry_after }
    }
}

/// Adds `Retry-After: seconds` to `response`, if there are any.
pub fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The fault knobs of the API calls, the faults injected so far, and the rate limits.
#[derive(Debug)]
pub struct Faults {
    api: Mutex<Draws>,
    injected: Mutex<Vec<InjectedFault>>,
    limiter: RateLimiter,
}

#[derive(Debug)]
struct Draws {
    knobs: FaultKnobs,
    rng: fastrand::Rng,
}

/// What an API call gets instead of its answer.
enum Injected {
    Error,
    Unavailable,
    Throttled,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the whole simulator down with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Faults {
    /// No faults, and the platform's `limits`.
    pub fn new(limits: Limits) -> Self {
        let knobs = FaultKnobs::default();
        Self {
            api: Mutex::new(Draws { knobs, rng: api_rng(knobs.seed) }),
            injected: Mutex::new(Vec::new()),
            limiter: RateLimiter { limits, windows: Mutex::new(Windows::default()) },
        }
    }

    /// The knobs as set.
    pub fn knobs(&self) -> FaultKnobs {
        lock(&self.api).knobs
    }

    /// Sets the API call knobs and restarts their draws from the seed. (The webhook knobs take
    /// effect in `Deliveries`; `Sim::set_faults` sets both.)
    pub fn set(&self, knobs: FaultKnobs) {
        *lock(&self.api) = Draws { knobs, rng: api_rng(knobs.seed) };
    }

    /// Every API call answered with an injected fault so far, oldest first.
    pub fn injected(&self) -> Vec<InjectedFault> {
        lock(&self.injected).clone()
    }

    /// The latency to add to one API call, and the fault to answer it with, if any.
    fn draw(&self) -> (u64, Option<Injected>) {
        let mut draws = lock(&self.api);
        let FaultKnobs { latency_ms, error_rate, throttle_rate, .. } = draws.knobs;
        // No draw at all when both rates are off, so switching them on starts a fresh sequence.
        if error_rate <= 0.0 && throttle_rate <= 0.0 {
            return (latency_ms, None);
        }
        let roll = draws.rng.f64();
        let injected = if roll < error_rate {
            Some(if draws.rng.bool() { Injected::Error } else { Injected::Unavailable })
        } else if roll < error_rate + throttle_rate {
            Some(Injected::Throttled)
        } else {
            None
        };
        (latency_ms, injected)
    }

    /// Counts a create, capture, cancel or refund (`operation`) of `reference` by sales unit
    /// `msn`, or refuses it with 429 if the minute's calls are used up. A refused call is not
    /// counted, so the window empties a minute after the first call.
    pub fn admit_write(
        &self,
        operation: &'static str,
        msn: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        self.limiter.admit(operation, msn, reference, self.limiter.limits.writes_per_minute, now)
    }

    /// Counts a GET (`operation`) of `reference` with `subscription_key`, or refuses it with 429.
    pub fn admit_read(
        &self,
        operation: &'static str,
        subscription_key: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        self.limiter.admit(operation, subscription_key, reference, self.limiter.limits.reads_per_minute, now)
    }
}

fn api_rng(seed: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed)
}

fn webhook_rng(seed: u64) -> fastrand::Rng {
    // Its own stream, so a webhook draw never shifts which API call gets a fault.
    fastrand::Rng::with_seed(seed ^ 0x9e37_79b9_7f4a_7c15)
}

/// Middleware over every route: adds the latency, and answers a platform API call with an
/// injected fault before any handler sees it. `/sim/…` pages pass untouched.
pub async fn inject(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/sim" || path.starts_with("/sim/") {
        return next.run(request).await;
    }
    let path = path.to_owned();
    let (latency_ms, injected) = sim.faults.draw();
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    let Some(injected) = injected else {
        return next.run(request).await;
    };
    let (error, retry_after) = match injected {
        Injected::Error => (
            SimError::domain(
                500,
                3010,
                "Internal error",
                "Simulated platform error (fault knob errorRate): the call was not processed. Retry it with the same Idempotency-Key.",
            ),
            None,
        ),
        Injected::Unavailable => (
            SimError::unavailable(
                "Simulated outage (fault knob errorRate): the call was not processed. Retry it with the same Idempotency-Key.",
            ),
            None,
        ),
        Injected::Throttled => (
            SimError::too_many_requests(
                "Simulated throttling (fault knob throttleRate): the call was not processed.",
            ),
            Some(1),
        ),
    };
    tracing::debug!(path, status = error.status, "injected a fault");
    lock(&sim.faults.injected).push(InjectedFault {
        method: request.method().to_string(),
        path: path.clone(),
        status: error.status,
    });
    with_retry_after(error.at(&path).into_response(), retry_after)
}

/// What happens to one webhook on its way to one registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fate {
    /// How many times it is queued: 0 when dropped, 2 when duplicated.
    pub copies: usize,
    /// Whether it waits for the next webhook of the registration and goes after it.
    pub reorder: bool,
}

/// The webhook knobs and their draws, kept by the deliveries.
#[derive(Debug)]
pub struct WebhookFaults {
    knobs: FaultKnobs,
    rng: fastrand::Rng,
}

impl Default for WebhookFaults {
    fn default() -> Self {
        Self::new(FaultKnobs::default())
    }
}

impl WebhookFaults {
    /// Draws afresh from the knobs' seed.
    pub fn new(knobs: FaultKnobs) -> Self {
        Self { knobs, rng: webhook_rng(knobs.seed) }
    }

    /// Draws the fate of the next webhook to a registration.
    pub fn fate(&mut self) -> Fate {
        let FaultKnobs { drop_webhook_rate, duplicate_webhook_rate, reorder_webhooks, .. } = self.knobs;
        let dropped = drop_webhook_rate > 0.0 && self.rng.f64() < drop_webhook_rate;
        let copies = if dropped {
            0
        } else if duplicate_webhook_rate > 0.0 && self.rng.f64() < duplicate_webhook_rate {
            2
        } else {
            1
        };
        Fate { copies, reorder: reorder_webhooks }
    }
}

/// The platform's per-reference rate limits: a sliding minute of admitted calls per key.
#[derive(Debug)]
struct RateLimiter {
    limits: Limits,
    windows: Mutex<Windows>,
}

/// API, caller (MSN or subscription key), reference.
type WindowKey = (&'static str, String, String);

#[derive(Debug, Default)]
struct Windows {
    calls: HashMap<WindowKey, VecDeque<DateTime<Utc>>>,
    admitted_since_sweep: u32,
}

/// Admissions between sweeps of windows nobody has used for a minute.
const SWEEP_EVERY: u32 = 4096;

impl RateLimiter {
    fn admit(
        &self,
        operation: &'static str,
        caller: &str,
        reference: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        let minute = chrono::Duration::minutes(1);
        let mut windows = lock(&self.windows);
        let calls = windows.calls.entry((operation, caller.to_owned(), reference.to_owned())).or_default();
        while calls.front().is_some_and(|t| *t <= now - minute) {
            calls.pop_front();
        }
        if calls.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            // Free again when the oldest call of the window is a minute old.
            let free_at = calls.front().map_or(now, |t| *t + minute);
            let wait_ms = u64::try_from((free_at - now).num_milliseconds()).unwrap_or(0);
            let retry_after = wait_ms.div_ceil(1000).max(1);
            return Err(Throttled::new(
                &format!(
                    "At most {limit} {operation} calls a minute for one reference. Retry after {retry_after} s."
                ),
                retry_after,
            ));
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

    fn faults() -> Faults {
        Faults::new(Limits { writes_per_minute: 2, reads_per_minute: 3 })
    }

    #[test]
    fn a_call_over_the_limit_is_refused_until_the_oldest_is_a_minute_old() {
        let f = faults();
        f.admit_write("capture", "123456", "ref-1", at(0)).unwrap();
        f.admit_write("capture", "123456", "ref-1", at(20)).unwrap();
        let refused = f.admit_write("capture", "123456", "ref-1", at(30)).unwrap_err();
        assert_eq!((refused.error.status, refused.retry_after), (429, 30));
        f.admit_write("capture", "123456", "ref-1", at(60)).unwrap();
        assert_eq!(f.admit_write("capture", "123456", "ref-1", at(61)).unwrap_err().retry_after, 19);
    }

    #[test]
    fn each_api_reference_and_caller_has_its_own_count() {
        let f = faults();
        for _ in 0..2 {
            f.admit_write("capture", "123456", "ref-1", at(0)).unwrap();
        }
        f.admit_write("refund", "123456", "ref-1", at(0)).unwrap();
        f.admit_write("capture", "123456", "ref-2", at(0)).unwrap();
        f.admit_write("capture", "234567", "ref-1", at(0)).unwrap();
        for _ in 0..3 {
            f.admit_read("get", "key", "ref-1", at(0)).unwrap();
        }
        assert!(f.admit_read("get", "key", "ref-1", at(0)).is_err());
        f.admit_read("events", "key", "ref-1", at(0)).unwrap();
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let knobs = FaultKnobs { error_rate: 0.3, throttle_rate: 0.3, seed: 7, ..FaultKnobs::default() };
        let run = || {
            let f = faults();
            f.set(knobs);
            (0..50).map(|_| f.draw().1.map(|i| matches!(i, Injected::Throttled))).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.contains(&None) && first.contains(&Some(true)) && first.contains(&Some(false)));
    }

    #[test]
    fn webhook_fates_follow_the_rates() {
        let mut all = WebhookFaults::new(FaultKnobs { drop_webhook_rate: 1.0, ..FaultKnobs::default() });
        assert_eq!(all.fate().copies, 0);
        let mut twice =
            WebhookFaults::new(FaultKnobs { duplicate_webhook_rate: 1.0, ..FaultKnobs::default() });
        assert_eq!(twice.fate(), Fate { copies: 2, reorder: false });
        assert_eq!(WebhookFaults::default().fate(), Fate { copies: 1, reorder: false });
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        assert!(FaultKnobs { error_rate: 1.5, ..FaultKnobs::default() }.validate().is_err());
        assert!(FaultKnobs { drop_webhook_rate: -0.1, ..FaultKnobs::default() }.validate().is_err());
        assert!(FaultKnobs { throttle_rate: 1.0, ..FaultKnobs::default() }.validate().is_ok());
    }
}

//! Fault knobs: deliberate misbehaviour, off until set through the control API or `SimHandle`.
//! Injected latency, 5xx and 429 answers to the platform APIs, creates held on their way in and
//! delivered late, captures failed "for now" (error 6280), and what happens to webhooks on their
//! way (dropped, duplicated, reordered).
//!
//! An injected 5xx or 429 is answered before the call is looked at, so it never has an effect,
//! which is what makes retrying it with the same idempotency key safe. It comes in the shape of
//! the API called (`error::Api`): only the ePayment API's 500 carries error code 3010. Faults only
//! touch the platform's APIs, never `/sim/…` (control API, phone and pay pages). Every random draw
//! comes from an RNG seeded by the knobs, so the same seed and the same sequence of calls give the
//! same faults.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::Sim;
use crate::error::{Api, SimError};
use crate::http::{lock, with_retry_after};
use crate::recent::Recent;

/// How many injected faults `Faults::injected` keeps: the newest.
const INJECTED_KEPT: usize = 1000;
/// The largest create body a hold keeps (the platform's creates are a few kilobytes).
const HELD_BODY_LIMIT: usize = 1 << 20;
/// The path of the ePayment API's create.
const CREATE_PATH: &str = "/epayment/v1/payments";

/// The furthest `clock_skew_seconds` puts the platform's clock off: a day.
const MAX_SKEW_SECONDS: u64 = 86_400;

/// The fault settings, as `GET/PUT /sim/control/faults` reads and writes them. A field left out
/// of a PUT is off.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultKnobs {
    /// Added before every platform API call is answered, in milliseconds.
    pub latency_ms: u64,
    /// The fraction (0 to 1) of platform API calls answered 500 or 503 without being processed.
    /// Drawn before `throttle_rate`: when the two add up to more than 1, errors win, and
    /// throttling gets only what is left (`1 - error_rate`).
    pub error_rate: f64,
    /// The status of every injected error: 500 or 503. Left out, each error is either, drawn.
    pub error_status: Option<u16>,
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
    /// Holds every ePayment create on its way in, as a request stuck behind the platform's
    /// gateway: its caller is answered `504 Gateway Timeout` at once while the request waits
    /// inside. Held creates stay held (switching the knob off only stops holding new ones) until
    /// `POST /sim/control/faults/deliver-held` (`SimHandle::deliver_held_creates`) delivers them,
    /// in the order they came, whether or not their senders are still there: a create that
    /// reaches the platform after its sender gave up, or died.
    pub hold_creates: bool,
    /// Refuses every new ePayment capture `400` with error 6280 ("Capture failed, please try
    /// again later"), without taking anything: what the platform answers when it cannot take the
    /// money just now. Like any answer, the refusal stays with its idempotency key (and a capture
    /// made before under its key is answered as made); a capture asked again under a new key once
    /// the knob is off goes through. Not counted among the injected faults: the platform looked
    /// at the call.
    pub fail_captures: bool,
    /// How far the platform's clock is off, in seconds (ahead when positive), as the `Date` of
    /// every API answer says: what `kasse-server doctor` compares with its own. Webhooks are
    /// still signed by the true time.
    pub clock_skew_seconds: i64,
    /// Seeds the random draws. Setting the knobs starts the draws afresh from it.
    pub seed: u64,
}

impl FaultKnobs {
    /// Refuses rates that are not fractions, and error statuses other than 500 and 503.
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
        if self.error_status.is_some_and(|s| s != 500 && s != 503) {
            return Err(SimError::validation("errorStatus", "An injected error is a 500 or a 503."));
        }
        if self.clock_skew_seconds.unsigned_abs() > MAX_SKEW_SECONDS {
            return Err(SimError::validation("clockSkewSeconds", "A clock is off by a day at most."));
        }
        Ok(())
    }
}

/// A platform API call the fault knobs touched: delayed, or answered with a fault instead of
/// being processed, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InjectedFault {
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The status answered instead of processing the call: 500, 503, 429, or 504 for a create held
    /// for a late delivery. `None` when it was only delayed, then processed.
    pub status: Option<u16>,
    /// The latency added before it was answered, in milliseconds.
    pub latency_ms: u64,
}

/// The fault knobs of the API calls, the calls they touched, and the creates they hold.
#[derive(Debug)]
pub struct Faults {
    draws: Mutex<Draws>,
    injected: Mutex<Recent<InjectedFault>>,
    held: Mutex<Vec<Held>>,
    /// How many creates have been held so far, ever: tests wait on it.
    held_so_far: watch::Sender<usize>,
    /// One delivery of held creates at a time, so they reach the platform in the order they came.
    delivering: tokio::sync::Mutex<()>,
}

/// A create held on its way in, with the rest of the stack that will process it.
#[derive(Debug)]
struct Held {
    request: Request,
    next: Next,
}

/// The API call knobs as set, and the random draws made from their seed since.
#[derive(Debug)]
struct Draws {
    knobs: FaultKnobs,
    rng: fastrand::Rng,
}

/// What an API call gets instead of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Injected {
    Error(u16),
    Throttled,
}

impl Default for Faults {
    /// No faults.
    fn default() -> Self {
        let knobs = FaultKnobs::default();
        Self {
            draws: Mutex::new(Draws { knobs, rng: api_rng(knobs.seed) }),
            injected: Mutex::new(Recent::new(INJECTED_KEPT)),
            held: Mutex::new(Vec::new()),
            held_so_far: watch::Sender::new(0),
            delivering: tokio::sync::Mutex::new(()),
        }
    }
}

impl Faults {
    /// The knobs as set.
    pub fn knobs(&self) -> FaultKnobs {
        lock(&self.draws).knobs
    }

    /// Sets the API call knobs and restarts their draws from the seed. (The webhook knobs take
    /// effect in `Deliveries`; `Sim::set_faults` sets both.)
    pub fn set(&self, knobs: FaultKnobs) {
        *lock(&self.draws) = Draws { knobs, rng: api_rng(knobs.seed) };
    }

    /// The API calls touched by a fault so far (the newest 1000), oldest first.
    pub fn injected(&self) -> Vec<InjectedFault> {
        lock(&self.injected).to_vec()
    }

    /// Waits until `n` creates have been held since the simulator started.
    pub async fn until_held(&self, n: usize) {
        let mut held = self.held_so_far.subscribe();
        // The sender lives as long as `self`, so this only ends when `n` is reached.
        let _ = held.wait_for(|so_far| *so_far >= n).await;
    }

    /// Delivers every create held now, one after another in the order they came, and waits until
    /// the platform has processed each; how many. Their answers go nowhere: their senders were
    /// told 504 long ago. A delivery already under way is waited for first.
    pub async fn deliver_held(&self) -> usize {
        let _one_at_a_time = self.delivering.lock().await;
        let held = std::mem::take(&mut *lock(&self.held));
        let count = held.len();
        for Held { request, next } in held {
            drop(next.run(request).await);
        }
        count
    }

    /// Keeps a create until the knob is switched off.
    fn hold(&self, request: Request, next: Next) {
        lock(&self.held).push(Held { request, next });
        self.held_so_far.send_modify(|so_far| *so_far += 1);
    }

    /// The latency to add to one API call, and the fault to answer it with, if any.
    fn draw(&self) -> (u64, Option<Injected>) {
        let mut draws = lock(&self.draws);
        let FaultKnobs { latency_ms, error_rate, error_status, throttle_rate, .. } = draws.knobs;
        // No draw at all when both rates are off, so switching them on starts a fresh sequence.
        if error_rate <= 0.0 && throttle_rate <= 0.0 {
            return (latency_ms, None);
        }
        let roll = draws.rng.f64();
        let injected = if roll < error_rate {
            let status = error_status.unwrap_or_else(|| if draws.rng.bool() { 500 } else { 503 });
            Some(Injected::Error(status))
        } else if roll < error_rate + throttle_rate {
            Some(Injected::Throttled)
        } else {
            None
        };
        (latency_ms, injected)
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
    if latency_ms > 0 || injected.is_some() {
        lock(&sim.faults.injected).push(InjectedFault {
            method: request.method().to_string(),
            path: path.clone(),
            status: injected.map(Injected::status),
            latency_ms,
        });
    }
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    let Some(injected) = injected else {
        if sim.faults.knobs().hold_creates && request.method() == Method::POST && path == CREATE_PATH {
            return hold(&sim, request, next).await;
        }
        return next.run(request).await;
    };
    let api = Api::of(&path);
    tracing::debug!(path, status = injected.status(), "injected a fault");
    let retry_after = (injected == Injected::Throttled).then_some(1);
    with_retry_after(api.refuse(injected.error(api).at(&path)), retry_after)
}

/// Middleware over every route: when the knobs put the platform's clock off
/// (`clock_skew_seconds`), every platform API answer's `Date` says the platform's time;
/// otherwise (and on `/sim/…`) the server dates it, by ours.
pub async fn date(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let skew =
        if path == "/sim" || path.starts_with("/sim/") { 0 } else { sim.faults.knobs().clock_skew_seconds };
    let mut response = next.run(request).await;
    if skew != 0 {
        let at = chrono::Utc::now() + chrono::Duration::seconds(skew);
        // An HTTP date (RFC 9110 §5.6.7) is always in GMT.
        if let Ok(value) = HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
            response.headers_mut().insert(header::DATE, value);
        }
    }
    response
}

/// Answers a create `504 Gateway Timeout` and keeps it, read whole, for a late delivery.
async fn hold(sim: &Sim, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, HELD_BODY_LIMIT).await else {
        let refused = SimError::validation("body", "The request body could not be read whole.");
        return Api::Epayment.refuse(refused.at(CREATE_PATH));
    };
    lock(&sim.faults.injected).push(InjectedFault {
        method: parts.method.to_string(),
        path: CREATE_PATH.to_owned(),
        status: Some(504),
        latency_ms: 0,
    });
    sim.faults.hold(Request::from_parts(parts, Body::from(bytes)), next);
    tracing::debug!("held a create (fault knob holdCreates)");
    let e = SimError::gateway_timeout(
        "Simulated gateway timeout (fault knob holdCreates): the create is held inside and is processed when the knob is switched off.",
    );
    Api::Epayment.refuse(e.at(CREATE_PATH))
}

impl Injected {
    fn status(self) -> u16 {
        match self {
            Self::Error(status) => status,
            Self::Throttled => 429,
        }
    }

    /// The refusal, as `api` words it.
    fn error(self, api: Api) -> SimError {
        const RETRY: &str = "the call was not processed. Retry it with the same Idempotency-Key.";
        match self {
            // The ePayment API's "Internal error" has a code, 3010; the other APIs have none.
            Self::Error(500) if api == Api::Epayment => SimError::domain(
                500,
                3010,
                "Internal error",
                &format!("Simulated platform error (fault knob errorRate): {RETRY}"),
            ),
            Self::Error(500) => {
                SimError::internal(&format!("Simulated platform error (fault knob errorRate): {RETRY}"))
            }
            Self::Error(_) => {
                SimError::unavailable(&format!("Simulated outage (fault knob errorRate): {RETRY}"))
            }
            Self::Throttled => SimError::too_many_requests(
                "Simulated throttling (fault knob throttleRate): the call was not processed.",
            ),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let knobs = FaultKnobs { error_rate: 0.3, throttle_rate: 0.3, seed: 7, ..FaultKnobs::default() };
        let run = || {
            let f = Faults::default();
            f.set(knobs);
            (0..50).map(|_| f.draw().1).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        for expected in
            [None, Some(Injected::Throttled), Some(Injected::Error(500)), Some(Injected::Error(503))]
        {
            assert!(first.contains(&expected), "{expected:?} never drawn: {first:?}");
        }
    }

    #[test]
    fn errors_win_over_throttling_when_the_rates_add_up_to_more_than_one() {
        let f = Faults::default();
        f.set(FaultKnobs {
            error_rate: 1.0,
            error_status: Some(503),
            throttle_rate: 1.0,
            ..FaultKnobs::default()
        });
        assert!((0..50).all(|_| f.draw().1 == Some(Injected::Error(503))));
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
    fn rates_outside_zero_to_one_and_statuses_other_than_500_and_503_are_refused() {
        assert!(FaultKnobs { error_rate: 1.5, ..FaultKnobs::default() }.validate().is_err());
        assert!(FaultKnobs { drop_webhook_rate: -0.1, ..FaultKnobs::default() }.validate().is_err());
        assert!(FaultKnobs { throttle_rate: 1.0, ..FaultKnobs::default() }.validate().is_ok());
        assert!(FaultKnobs { error_status: Some(502), ..FaultKnobs::default() }.validate().is_err());
        assert!(FaultKnobs { error_status: Some(503), ..FaultKnobs::default() }.validate().is_ok());
    }
}

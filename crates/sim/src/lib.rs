//! kasse-sim: an offline simulator of the Vipps MobilePay platform.
//!
//! It answers the Access Token, ePayment, Webhooks, QR, Userinfo and Check-in APIs and the
//! Management API's sales unit on the platform's own paths, with their headers, status codes,
//! error bodies and error codes, so that a client which works against it works against the real
//! test environment. Simulated customers approve or decline on a plain "phone" page (sharing the
//! profile data a payment asks for, if they say yes), scan merchant redirect and callback stickers
//! there (a check-in sends `user.checked-in.v1`), and see the merchant's loyalty check-ins; every
//! change to a payment is delivered as a signed webhook. It runs inside the kasse server
//! (`provider = "sim"`), on its own as the `kasse-sim` binary, and inside tests.
//!
//! It keeps the platform's rate limits (`SimConfig::limits`), the test environment's magic amounts
//! and each sales unit's capabilities and deadlines (`SalesUnit`). Fault knobs add latency, 5xx
//! and 429 answers, creates delivered after their sender gave up, dropped, duplicated or
//! reordered webhooks, and a clock that is off, to the platform APIs only.
//!
//! # Control API
//!
//! Not part of the platform; for tests and demos, under `/sim/control` (the same through
//! [`SimHandle`] in-process):
//!
//! - `GET /sim/control/payments`, `GET /sim/control/payments/{msn}/{reference}`: payments with
//!   every write received for them (operation, idempotency key, `Vipps-System-*` headers, status
//!   answered, whether it was applied).
//! - `GET /sim/control/webhook-attempts`: the newest 10 000 webhook delivery attempts.
//! - `GET /sim/control/faults`, `PUT /sim/control/faults` with `{latencyMs, errorRate,
//!   errorStatus, throttleRate, dropWebhookRate, duplicateWebhookRate, reorderWebhooks,
//!   holdCreates, failCaptures, clockSkewSeconds, seed}` (left out is off); `GET
//!   /sim/control/faults/injected`: the newest 1000 API calls the knobs delayed, held or answered
//!   with a fault; `POST
//!   /sim/control/faults/deliver-held`: delivers the creates `holdCreates` held, in the order
//!   they came, and answers `{delivered}` once the platform has processed them.
//! - `POST /sim/control/clock` with `{advanceSeconds}`: moves the simulated clock forward, at most
//!   ten years at a time.
//! - `GET /sim/control/sales-units`: each sales unit's MSN, name, currency and (made-up, local)
//!   API credentials, for configuring a client of a stand-alone `kasse-sim`.
//! - `GET /sim/control/loyalty-check-ins`: the Check-in API's loyalty check-ins, the newest 1000,
//!   as `[{msn, phoneNumber, isMember, at}]` ([`LoyaltyCheckInRecord`]).
//!
//! The records are bounded so that a simulator can run for days: each payment keeps its newest
//! 100 received writes, and check-ins and access tokens are forgotten once expired.

mod api;
mod check_in_api;
mod clock;
pub mod config;
mod control;
mod delivery;
mod drawing;
mod error;
mod faults;
mod http;
mod limits;
mod management;
mod phone;
mod qr;
mod recent;
mod userinfo;
mod validate;
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt as _;
use kasse_vipps::epayment::GetPaymentResponse;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

pub use check_in_api::LoyaltyCheckInRecord;
pub use config::{DeliveryPolicy, Limits, SalesUnit, SimConfig, SimCustomer};
pub use control::PaymentRecord;
pub use delivery::Attempt;
pub use error::SimError;
pub use faults::{FaultKnobs, InjectedFault};
pub use world::{Operation, ReceivedWrite, SystemHeaders};

use clock::Clock;
use delivery::Deliveries;
use error::Api;
use world::World;

/// The shared state behind every route.
pub(crate) struct Sim {
    world: Mutex<World>,
    clock: Clock,
    deliveries: Deliveries,
    qr: qr::Qr,
    faults: faults::Faults,
    limits: limits::RateLimiter,
    /// The Check-in API's loyalty check-ins.
    loyalty_check_ins: check_in_api::LoyaltyCheckIns,
    base_url: Url,
}

impl Sim {
    fn world(&self) -> MutexGuard<'_, World> {
        http::lock(&self.world)
    }

    /// Moves the clock forward by `by` (at most ten years) and expires what is due.
    fn try_advance_clock(&self, by: chrono::Duration) -> Result<(), SimError> {
        self.clock.advance(by).map_err(|refused| {
            let reason = match refused {
                clock::Refused::Backwards => "Time only moves forward.",
                clock::Refused::TooFar => {
                    "The clock moves at most ten years at a time, and a hundred years in all."
                }
            };
            SimError::validation("advanceSeconds", reason)
        })?;
        self.expire_due();
        Ok(())
    }

    /// The world as of now: due expiries applied and their webhooks queued.
    fn world_now(&self) -> MutexGuard<'_, World> {
        let mut world = self.world();
        world.expire_due(self.clock.now());
        self.flush(&mut world);
        world
    }

    /// Queues the webhooks of the changes made so far. Called with the world still locked, so
    /// webhooks leave in event-log order even when writes to one payment race.
    fn flush(&self, world: &mut World) {
        self.deliveries.dispatch(world.take_outgoing());
    }

    fn expire_due(&self) {
        drop(self.world_now());
    }

    /// Sets the fault knobs of the API calls and of the webhooks.
    fn set_faults(&self, knobs: FaultKnobs) {
        self.faults.set(knobs);
        self.deliveries.set_faults(knobs);
    }

    fn payment_records(&self) -> Vec<PaymentRecord> {
        self.world().payments().into_iter().map(PaymentRecord::from).collect()
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    sim: Arc<Sim>,
    addr: SocketAddr,
    config: SimConfig,
    stop: Option<oneshot::Sender<()>>,
}

impl SimHandle {
    /// Where the simulated platform answers, e.g. `http://127.0.0.1:41234/`.
    pub fn base_url(&self) -> &Url {
        &self.sim.base_url
    }

    /// The socket it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it started with, credentials included.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The phone page of a customer (or of the first customer).
    pub fn phone_url(&self) -> Url {
        self.sim.base_url.join("sim/phone").unwrap_or_else(|_| self.sim.base_url.clone())
    }

    /// The customer `phone_number` scans the callback sticker `merchant_qr_id` of sales unit `msn`,
    /// as with the phone page's Scan button: a check-in, delivered as `user.checked-in.v1`.
    pub fn scan_callback_sticker(
        &self,
        msn: &str,
        merchant_qr_id: &str,
        phone_number: &str,
    ) -> Result<(), SimError> {
        if self.sim.world().config.customer(phone_number).is_none() {
            return Err(SimError::domain(
                400,
                10010,
                "Unknown customer",
                "No test customer has this phone number.",
            ));
        }
        let print = self
            .sim
            .qr
            .print_of(msn, merchant_qr_id, self.sim.clock.now())
            .ok_or_else(|| SimError::not_found("No merchant callback QR has this id."))?;
        self.sim.check_in(&print, phone_number).map(drop)
    }

    /// The customer of a payment waiting for them answers in the app: approves (as
    /// `phone_number`, if given) or declines. Sharing no profile data: see
    /// [`SimHandle::answer_with_consent`].
    pub fn answer(
        &self,
        msn: &str,
        reference: &str,
        phone_number: Option<&str>,
        approve: bool,
    ) -> Result<(), SimError> {
        self.answer_with_consent(msn, reference, phone_number, approve, false)
    }

    /// Like [`SimHandle::answer`], with the customer's answer to the payment's profile question:
    /// with `share`, an approval by a known customer of a payment that asked for `profile.scope`
    /// shares it with the sales unit (the payment's `profile.sub` names them, and the Userinfo API
    /// answers). Without a scope asked, nothing is shared either way.
    pub fn answer_with_consent(
        &self,
        msn: &str,
        reference: &str,
        phone_number: Option<&str>,
        approve: bool,
        share: bool,
    ) -> Result<(), SimError> {
        let now = self.sim.clock.now();
        let mut world = self.sim.world();
        let answered = if approve {
            world.approve(msn, reference, phone_number, share, now)
        } else {
            world.decline(msn, reference, now)
        };
        self.sim.flush(&mut world);
        answered
    }

    /// A payment as `GET /epayment/v1/payments/{reference}` would answer it.
    pub fn payment(&self, msn: &str, reference: &str) -> Option<GetPaymentResponse> {
        self.sim.world().payment(msn, reference).map(world::Payment::view)
    }

    /// Every payment with what the platform received for it.
    pub fn payment_records(&self) -> Vec<PaymentRecord> {
        self.sim.payment_records()
    }

    /// The access tokens the simulator has issued (the newest 1000, expired ones included): tests
    /// use them to prove no token leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.sim.world().issued_tokens()
    }

    /// The webhook registrations a sales unit has now: their ids and URLs.
    pub fn webhook_registrations(&self, msn: &str) -> Vec<(String, String)> {
        self.sim.deliveries.list(msn).webhooks.into_iter().map(|w| (w.id, w.url)).collect()
    }

    /// Deletes a webhook registration, as the platform does with one that went unanswered for
    /// two weeks.
    pub fn drop_webhook_registration(&self, msn: &str, id: &str) -> Result<(), SimError> {
        self.sim.deliveries.delete(msn, id)
    }

    /// The webhook delivery attempts so far (the newest 10 000), in the order they were answered.
    pub fn webhook_attempts(&self) -> Vec<Attempt> {
        self.sim.deliveries.attempts()
    }

    /// The Check-in API's loyalty check-ins so far (the newest 1000), oldest first.
    pub fn loyalty_check_ins(&self) -> Vec<LoyaltyCheckInRecord> {
        self.sim.loyalty_check_ins.all()
    }

    /// The webhook delivery attempts sent at or after `since_ms` (milliseconds since the Unix
    /// epoch on the machine's clock, as [`Attempt::sent_at_ms`]), in the order they were answered,
    /// among the newest 10 000: cheap where [`SimHandle::webhook_attempts`] copies them all.
    pub fn webhook_attempts_sent_since(&self, since_ms: f64) -> Vec<Attempt> {
        self.sim.deliveries.attempts_sent_since(since_ms)
    }

    /// How many webhook deliveries were attempted in all, counted as each is sent (the list of
    /// [`SimHandle::webhook_attempts`] keeps only the newest).
    pub fn webhook_attempts_made(&self) -> u64 {
        self.sim.deliveries.attempts_made()
    }

    /// Moves the simulated clock forward and expires what is due. A move backwards or of more
    /// than ten years is refused and logged: see [`SimHandle::try_advance_clock`].
    pub fn advance_clock(&self, by: chrono::Duration) {
        if let Err(e) = self.sim.try_advance_clock(by) {
            tracing::warn!(error = %e, "the simulated clock did not move");
        }
    }

    /// Moves the simulated clock forward by `by`, at most ten years (and a hundred in all), and
    /// expires what is due; else a 400 problem saying why.
    pub fn try_advance_clock(&self, by: chrono::Duration) -> Result<(), SimError> {
        self.sim.try_advance_clock(by)
    }

    /// The fault knobs as set.
    pub fn faults(&self) -> FaultKnobs {
        self.sim.faults.knobs()
    }

    /// Sets every fault knob (see [`FaultKnobs`]), starting the random draws afresh from its seed.
    pub fn set_faults(&self, knobs: FaultKnobs) -> Result<(), SimError> {
        knobs.validate()?;
        self.sim.set_faults(knobs);
        Ok(())
    }

    /// Waits until the knob `hold_creates` has held `n` creates since the simulator started.
    pub async fn until_creates_held(&self, n: usize) {
        self.sim.faults.until_held(n).await;
    }

    /// Delivers every create the knob `hold_creates` holds now, in the order they came, and
    /// returns once the platform has processed them all; how many.
    pub async fn deliver_held_creates(&self) -> usize {
        self.sim.faults.deliver_held().await
    }

    /// The platform API calls the fault knobs touched (delayed, or answered with a fault), the
    /// newest 1000, oldest first.
    pub fn injected_faults(&self) -> Vec<InjectedFault> {
        self.sim.faults.injected()
    }

    /// Stops serving.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// All simulator routes, for embedding.
fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .merge(api::router())
        .merge(qr::router())
        .merge(management::router())
        .merge(userinfo::router())
        .merge(check_in_api::router())
        .merge(phone::router())
        .merge(control::router())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), faults::inject))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), faults::date))
        .with_state(sim)
}

/// A path no route has: a problem in the shape of the API it would belong to. The simulator's
/// own pages (`/sim/…` but the control API) answer a bare 404.
async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    if (path == "/sim" || path.starts_with("/sim/")) && !path.starts_with("/sim/control/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    Api::of(path).refuse(SimError::not_found("There is no such endpoint.").at(path))
}

/// A path called with a method it does not take: a problem in the shape of its API.
async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    let e = SimError::method_not_allowed(&format!("{path} does not take {method}.")).at(path);
    Api::of(path).refuse(e)
}

/// Starts a simulator on `listener` (inside a Tokio runtime). Its pages and QR codes use the
/// listener's address.
pub fn start(config: SimConfig, listener: TcpListener) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
    let sim = Arc::new(Sim {
        world: Mutex::new(World::new(config.clone())),
        clock: Clock::default(),
        deliveries: Deliveries::new(config.delivery.clone()),
        qr: qr::Qr::default(),
        faults: faults::Faults::default(),
        limits: limits::RateLimiter::new(config.limits.clone()),
        loyalty_check_ins: check_in_api::LoyaltyCheckIns::default(),
        base_url,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(Arc::clone(&sim));
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        // Small answers go out at once, not after Nagle's wait.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "simulator stopped");
        }
    });
    // Expiry happens on the platform's clock whether or not anyone asks.
    let sweeper = Arc::downgrade(&sim);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Some(sim) = sweeper.upgrade() else { return };
            sim.expire_due();
        }
    });
    Ok(SimHandle { sim, addr, config, stop: Some(stop) })
}

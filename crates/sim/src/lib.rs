//! kasse-sim: an offline simulator of the Vipps MobilePay platform.
//!
//! It answers the Access Token, ePayment and Webhooks APIs on the platform's own paths, with its
//! headers, status codes, problem bodies and error codes, so that a client which works against it
//! works against the real test environment. Simulated customers approve or decline on a plain
//! "phone" page, and every change is delivered as a signed webhook. It runs inside the kasse
//! server (`provider = "sim"`), on its own as the `kasse-sim` binary, and inside tests.
//!
//! It keeps the platform's rate limits (`SimConfig::limits`), the test environment's magic amounts
//! and each sales unit's capabilities and deadlines (`SalesUnit`). Fault knobs add latency, 5xx
//! and 429 answers, and dropped, duplicated or reordered webhooks, to the platform APIs only.
//!
//! # Control API
//!
//! Not part of the platform; for tests and demos, under `/sim/control` (the same through
//! [`SimHandle`] in-process):
//!
//! - `GET /sim/control/payments`, `GET /sim/control/payments/{msn}/{reference}`: payments with
//!   every write received for them (operation, idempotency key, `Vipps-System-*` headers, status
//!   answered, whether it was applied).
//! - `GET /sim/control/webhook-attempts`: every webhook delivery attempt.
//! - `GET /sim/control/faults`, `PUT /sim/control/faults` with `{latencyMs, errorRate,
//!   throttleRate, dropWebhookRate, duplicateWebhookRate, reorderWebhooks, seed}` (left out is
//!   off); `GET /sim/control/faults/injected`: the API calls answered with an injected fault.
//! - `POST /sim/control/clock` with `{advanceSeconds}`: moves the simulated clock forward.

mod api;
mod clock;
pub mod config;
mod control;
mod delivery;
mod error;
mod faults;
mod phone;
mod qr;
mod validate;
mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use kasse_vipps::epayment::GetPaymentResponse;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

pub use config::{DeliveryPolicy, Limits, SalesUnit, SimConfig, SimCustomer};
pub use control::PaymentRecord;
pub use delivery::Attempt;
pub use error::SimError;
pub use faults::{FaultKnobs, InjectedFault};
pub use world::{ReceivedWrite, SystemHeaders};

use clock::Clock;
use delivery::Deliveries;
use world::World;

/// The shared state behind every route.
pub(crate) struct Sim {
    world: Mutex<World>,
    clock: Clock,
    deliveries: Deliveries,
    qr: qr::Qr,
    faults: faults::Faults,
    base_url: Url,
}

impl Sim {
    fn world(&self) -> MutexGuard<'_, World> {
        // A panicking request must not take the whole simulator down with it.
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn advance_clock(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.expire_due();
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
        self.world()
            .payments()
            .into_iter()
            .map(|p| PaymentRecord {
                msn: p.msn.clone(),
                reference: p.reference.clone(),
                amount: p.request.amount,
                user_flow: p.request.user_flow,
                state: p.state,
                aggregate: p.aggregate,
                received: p.received.clone(),
            })
            .collect()
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

    /// A payment as `GET /epayment/v1/payments/{reference}` would answer it.
    pub fn payment(&self, msn: &str, reference: &str) -> Option<GetPaymentResponse> {
        self.sim.world().payment(msn, reference).map(world::Payment::view)
    }

    /// Every payment with what the platform received for it.
    pub fn payment_records(&self) -> Vec<PaymentRecord> {
        self.sim.payment_records()
    }

    /// Every access token the simulator has issued: tests use them to prove no token leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.sim.world().issued_tokens()
    }

    /// Every webhook delivery attempt so far.
    pub fn webhook_attempts(&self) -> Vec<Attempt> {
        self.sim.deliveries.attempts()
    }

    /// Moves the simulated clock forward and expires what is due.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.sim.advance_clock(by);
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

    /// Every platform API call answered with an injected fault so far.
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
        .merge(phone::router())
        .merge(control::router())
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), faults::inject))
        .with_state(sim)
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
        faults: faults::Faults::new(config.limits.clone()),
        base_url,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(Arc::clone(&sim));
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
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

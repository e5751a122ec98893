//! The set-ups: one instance on a database (SQLite or PostgreSQL), or two on one PostgreSQL
//! database, each against a simulator of its own with its tills paired through it, and what each
//! measured: the load, one till alone, and the approvals.

use std::sync::Arc;

use kasse_api::Role;
use kasse_server::Running;
use kasse_sim::SimHandle;
use serde_json::json;

use crate::common::{self, Scratch, Spread};
use crate::latency::{Approvals, approvals};
use crate::load::{Load, TillClient, alone, load, load_ends};
use crate::{ALONE_SALES, TILLS, load_only};

/// Approvals timed through to the till's event stream.
const APPROVALS: usize = 100;

/// A server started for a set-up, with the tills paired through it.
pub(super) struct Instance {
    pub(super) running: Running,
    base: String,
}

impl Instance {
    async fn start(config: kasse_server::Config) -> Self {
        let running = kasse_server::start(config).await.unwrap();
        running.until_webhooks_registered().await;
        let base = running.url().to_string();
        Self { running, base }
    }

    /// The server's own address (its public URL may be another instance's).
    fn own_base(&self) -> String {
        format!("http://{}/", self.running.addr())
    }

    /// Pairs `till` through this instance: its client, talking to this instance.
    async fn till(&self, till: &str) -> Arc<TillClient> {
        let base = self.own_base();
        let cookie = common::pair_cookie(&self.running, &base, till, Role::Till).await;
        Arc::new(TillClient { http: common::client_with_cookie(&cookie), base, till: till.to_owned() })
    }
}

/// What one set-up measured.
pub(super) struct SetUp {
    pub(super) name: &'static str,
    pub(super) load: Load,
    pub(super) alone: Spread,
    /// Approvals with the tills idle.
    idle: Option<Approvals>,
    /// Approvals while the tills are loaded.
    pub(super) under_load: Approvals,
}

impl SetUp {
    pub(super) fn json(&self) -> serde_json::Value {
        json!({
            "load": self.load.json(),
            "createMsOneTillAlone": self.alone.json(),
            "approvals": self.idle.as_ref().map(Approvals::json),
            "approvalsUnderLoad": self.under_load.json(),
        })
    }

    /// Webhook to till event with the tills idle.
    pub(super) fn webhook(&self) -> Option<Spread> {
        self.idle.as_ref().map(|a| Spread::of(a.from_webhook.clone()))
    }

    fn approvals_line(&self) -> String {
        let spread = |a: &Approvals| {
            let (webhook, press) = (Spread::of(a.from_webhook.clone()), Spread::of(a.from_press.clone()));
            let missed = if a.missed > 0 { format!(", {} missed", a.missed) } else { String::new() };
            let polled = if a.before_webhook > 0 {
                format!(", {} shown before their webhook was sent", a.before_webhook)
            } else {
                String::new()
            };
            format!(
                "webhook to till event p50 {:.2} ms p95 {:.2} ms ({} through their webhook), approval to till \
                 event p50 {:.2} ms p95 {:.2} ms ({} approvals{polled}{missed})",
                webhook.p50,
                webhook.p95,
                a.from_webhook.len(),
                press.p50,
                press.p95,
                a.from_press.len()
            )
        };
        let idle = self.idle.as_ref().map_or_else(String::new, |a| format!("\n    idle: {}", spread(a)));
        format!("  {}: approvals{idle}\n    under load: {}", self.name, spread(&self.under_load))
    }
}

/// The tills of a set-up: the loaded ones, and one more for the latencies.
fn till_ids() -> Vec<String> {
    common::till_ids(usize::try_from(common::env_number("KASSE_BENCH_TILLS", TILLS)).unwrap() + 1)
}

/// One instance on `database`: the load, one till alone, and the webhook's way to the till.
pub(super) async fn one_instance(
    name: &'static str,
    database: &str,
    scratch: &Scratch,
) -> (SetUp, SimHandle, Instance, Arc<TillClient>) {
    let sim = common::simulator().await;
    let ids = till_ids();
    let server = Instance::start(common::config_for(&scratch.0, database, &sim, &ids, None)).await;
    let (loaded, spare) = ids.split_at(ids.len() - 1);
    let mut tills = Vec::new();
    for till in loaded {
        tills.push(server.till(till).await);
    }
    let spare = server.till(&spare[0]).await;
    let instances = [server.own_base()];
    let (load, under_load) = tokio::join!(
        load(&tills, &instances, &sim),
        approvals(&spare, &spare, &sim, usize::MAX, Some(load_ends()))
    );
    println!("{}", load.line(name));
    let (alone, idle) = if load_only() {
        (Spread { p50: 0.0, p95: 0.0 }, None)
    } else {
        let alone = Spread::of(alone(&spare, ALONE_SALES).await);
        (alone, Some(approvals(&spare, &spare, &sim, APPROVALS, None).await))
    };
    let set_up = SetUp { name, load, alone, idle, under_load };
    println!("{}", set_up.approvals_line());
    (set_up, sim, server, spare)
}

/// Two instances on one PostgreSQL database, both reached at B's address: the load through both
/// (the tills half and half), one till alone through A, and the webhook's way from B to a till
/// following A. Each runs half the statements at once that one instance does by default, as the
/// README advises for instances sharing a database (`[database] statements_at_once`).
pub(super) async fn two_instances(database: &str, scratch: &Scratch) -> SetUp {
    let sim = common::simulator().await;
    let ids = till_ids();
    let half = |mut config: kasse_server::Config| {
        config.statements_at_once /= 2;
        config
    };
    let b = Instance::start(half(common::config_for(&scratch.0, database, &sim, &ids, None))).await;
    let public = url::Url::parse(&b.base).unwrap();
    let a = Instance::start(half(common::config_for(&scratch.0, database, &sim, &ids, Some(&public)))).await;
    let (loaded, spare) = ids.split_at(ids.len() - 1);
    let mut tills = Vec::new();
    for (n, till) in loaded.iter().enumerate() {
        tills.push(if n % 2 == 0 { a.till(till).await } else { b.till(till).await });
    }
    // The sale and the stream on A; the platform delivers to B.
    let spare = a.till(&spare[0]).await;
    let instances = [a.own_base(), b.own_base()];
    let (load, under_load) = tokio::join!(
        load(&tills, &instances, &sim),
        approvals(&spare, &spare, &sim, usize::MAX, Some(load_ends()))
    );
    println!("{}", load.line("PostgreSQL, two instances"));
    let (alone, idle) = if load_only() {
        (Spread { p50: 0.0, p95: 0.0 }, None)
    } else {
        let alone = Spread::of(alone(&spare, ALONE_SALES).await);
        (alone, Some(approvals(&spare, &spare, &sim, APPROVALS, None).await))
    };
    // Every delivery goes to B: none may have been refused (or gone unanswered).
    let attempts = sim.webhook_attempts();
    let failed = attempts.iter().filter(|a| a.status.is_none_or(|s| s >= 300)).count();
    if failed > 0 {
        println!("  {failed} of the newest {} webhook deliveries to B failed", attempts.len());
    }
    a.running.stop().await;
    b.running.stop().await;
    let set_up = SetUp { name: "PostgreSQL, two instances", load, alone, idle, under_load };
    println!("{}", set_up.approvals_line());
    set_up
}

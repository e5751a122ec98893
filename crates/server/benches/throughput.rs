//! What the server costs, in three set-ups, each against a stand-alone simulator of its own (the
//! one platform of the set-up, in this process): one instance on SQLite, one instance on
//! PostgreSQL, and two instances, A and B, on one PostgreSQL database, both reached at B's
//! address, so the platform's webhooks reach B whichever instance started the payment.
//!
//! For each: sales per second from [`TILLS`] tills at once (each sale a QR create and its cancel,
//! as a till rings up, then frees itself; the two instances share the tills half and half), and
//! what became of the sales' webhooks meanwhile (two per sale: created, cancelled): how many the
//! simulator sent (it sends a sales unit's webhooks one at a time, so a slow webhook endpoint
//! makes them queue at the platform), how many the server processed, and how many were left
//! unprocessed. The tills never wait for webhooks, so the rate is only sustained when webhooks
//! keep up: the "sustained" figure is the rate, or half the webhooks delivered and processed per
//! second if that is less. Then the create latency under that load and from one till alone, and
//! how long a customer's approval takes from the simulator sending its webhook to a till's live
//! event stream delivering it, with the tills idle and (on one more till) while they are loaded;
//! with two instances the sale is started on A, the webhook delivered to B, the till following
//! A's stream. On SQLite also the latency of one create through the server against the same call
//! made to the simulator directly, and the same with a real platform's round trip added to every
//! simulator call. Figures, never pass/fail; written to `target/bench/server.json`. Run by `cargo
//! xtask bench`, which starts a PostgreSQL cluster with the default, durable settings and names
//! it in `KASSE_BENCH_POSTGRES`; without it only SQLite is measured.
//!
//! `KASSE_BENCH_SECONDS` (default 10) sets each load's measured window, after
//! `KASSE_BENCH_WARMUP_SECONDS` (default 2); `KASSE_BENCH_TILLS` the tills (default 64);
//! `KASSE_BENCH_ONLY=sqlite,postgres,two` runs some set-ups only, and `KASSE_BENCH_LOAD_ONLY=1`
//! the loads only (for profiling); `KASSE_BENCH_LOG` is a tracing filter for the server's logs on
//! stderr (`sqlx::query=debug` shows every statement).
//!
//! Everything runs in this one process, on the one Tokio runtime: the tills' HTTP clients, the
//! servers and the simulator share the machine's cores (and PostgreSQL, when used, the same
//! machine), and the process's and the machine's CPU are reported with each load so the figures
//! can be read against them.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's report is its output"
)]

mod common;

/// The server's own allocator (see `kasse-server`'s `main.rs`), so what is measured is what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kasse_api::Role;
use kasse_server::Running;
use kasse_sim::SimHandle;
use serde_json::json;

use common::{PgDatabase, Scratch, Spread};

/// Tills worked at once by the load, each by one worker (a till takes one sale at a time).
const TILLS: u64 = 64;
/// Sales from one till alone, for the latency without queueing.
const ALONE_SALES: usize = 60;
/// Approvals timed through to the till's event stream.
const APPROVALS: usize = 100;
/// A round trip to a real platform from a shop's server, for the second comparison: the
/// simulator answers from memory in a fraction of a millisecond, which no real call does.
const PLATFORM_LATENCY: Duration = Duration::from_millis(40);

/// A paired till's HTTP client.
struct TillClient {
    http: reqwest::Client,
    /// The instance it talks to, `http://…/`.
    base: String,
    till: String,
}

impl TillClient {
    /// Starts a QR sale of 10 NOK: the answer's status and body, or what went wrong.
    async fn start_qr_sale(&self) -> Result<(reqwest::StatusCode, serde_json::Value), String> {
        let answer = self
            .http
            .post(format!("{}api/tills/{}/sales", self.base, self.till))
            .json(&json!({"amount": {"value": 1000, "currency": "NOK"}, "flow": "qr"}))
            .send()
            .await
            .map_err(|e| format!("create: {e}"))?;
        let status = answer.status();
        let sale = answer.json().await.map_err(|e| format!("create: {e}"))?;
        Ok((status, sale))
    }

    /// Starts a QR sale and cancels it; returns the create's latency, or what went wrong.
    async fn create_and_cancel(&self) -> Result<Duration, String> {
        let started = Instant::now();
        let (status, sale) = self.start_qr_sale().await?;
        let latency = started.elapsed();
        let Some(reference) = sale["reference"].as_str().filter(|_| status == 201) else {
            return Err(format!("create: {status} {sale}"));
        };
        let cancelled = self
            .http
            .post(format!("{}api/tills/{}/sales/{reference}/cancel", self.base, self.till))
            .send()
            .await
            .map_err(|e| format!("cancel: {e}"))?;
        let status = cancelled.status();
        let body: serde_json::Value = cancelled.json().await.map_err(|e| format!("cancel: {e}"))?;
        if status != 200 || body["status"] != "cancelled" {
            return Err(format!("cancel: {status} {body}"));
        }
        Ok(latency)
    }
}

/// What one load measured.
#[derive(Debug, Clone)]
struct Load {
    tills: usize,
    seconds: f64,
    sales: usize,
    errors: usize,
    first_error: Option<String>,
    per_second: f64,
    create: Spread,
    /// This process's CPU time over the window, in cores (2.0 = both cores all the time).
    process_cores: f64,
    /// The machine's busy CPU over the window, in cores (others' builds included).
    machine_cores: f64,
    /// The webhooks over the window: two are due per sale (created, cancelled).
    webhooks: Webhooks,
}

/// What became of the load's webhooks over the window. The load's tills never wait for them, so
/// a rate of sales is only sustained if its webhooks are delivered and processed as fast as they
/// come; otherwise the work piles up, at the platform or in the server's inbox.
#[derive(Debug, Clone, Copy, Default)]
struct Webhooks {
    /// Deliveries the simulator made per second. It sends a sales unit's webhooks one at a time,
    /// each once the last was answered, so a slow webhook endpoint makes them queue there.
    sent_per_second: f64,
    /// Deliveries the server processed per second (stored, then acted on by its inbox).
    processed_per_second: Option<f64>,
    /// Deliveries stored and not yet processed when the window closed.
    unprocessed_at_end: Option<u64>,
    /// How long those then took to be processed, with the tills idle.
    drain_seconds: Option<f64>,
}

impl Webhooks {
    fn json(self) -> serde_json::Value {
        json!({
            "sentPerSecond": self.sent_per_second,
            "processedPerSecond": self.processed_per_second,
            "unprocessedAtEnd": self.unprocessed_at_end,
            "drainSeconds": self.drain_seconds,
        })
    }
}

impl Load {
    fn json(&self) -> serde_json::Value {
        json!({
            "tills": self.tills,
            "seconds": self.seconds,
            "sales": self.sales,
            "errors": self.errors,
            "salesPerSecond": self.per_second,
            "createMsUnderLoad": self.create.json(),
            "processCpuCores": self.process_cores,
            "machineCpuCores": self.machine_cores,
            "webhooks": self.webhooks.json(),
            "sustainedSalesPerSecond": self.sustained(),
        })
    }

    /// The sales per second whose webhooks kept up: the rate, or half the webhooks processed
    /// per second if that is less.
    fn sustained(&self) -> f64 {
        let processed = self.webhooks.processed_per_second.unwrap_or(self.webhooks.sent_per_second);
        self.per_second.min(processed.min(self.webhooks.sent_per_second) / 2.0)
    }

    fn line(&self, what: &str) -> String {
        let errors = match (&self.first_error, self.errors) {
            (_, 0) => String::new(),
            (Some(first), n) => format!("; {n} errors, the first: {first}"),
            (None, n) => format!("; {n} errors"),
        };
        let w = self.webhooks;
        let processed = w.processed_per_second.map_or_else(|| "?".to_owned(), |p| format!("{p:.0}"));
        let backlog = match (w.unprocessed_at_end, w.drain_seconds) {
            (Some(n), Some(s)) => format!("{n} unprocessed at the end (done {s:.1} s later)"),
            (Some(n), None) => format!("{n} unprocessed at the end (not done within a minute)"),
            _ => "?".to_owned(),
        };
        format!(
            "  {what}: {:.0} sales/s ({} tills, {} sales in {:.0} s), {:.0}/s with their webhooks; create under load \
             p50 {:.2} ms p95 {:.2} ms; CPU: this process {:.2} cores, the machine {:.2}\n    webhooks: {:.0}/s \
             due, {:.0}/s sent by the simulator, {processed}/s processed, {backlog}{errors}",
            self.per_second,
            self.tills,
            self.sales,
            self.seconds,
            self.sustained(),
            self.create.p50,
            self.create.p95,
            self.process_cores,
            self.machine_cores,
            self.per_second * 2.0,
            w.sent_per_second,
        )
    }
}

/// This process's CPU time so far (user + system), from `/proc/self/stat`, in clock ticks.
fn process_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
}

/// The machine's busy and total CPU time so far, from `/proc/stat`, in clock ticks.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else { return (0, 0) };
    let values: Vec<u64> = cpu.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = values.iter().take(8).sum();
    // idle and iowait.
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// Works every till at once: each creates and cancels sales back to back for the warm-up and
/// then the measured window; counts the sales finished within the window.
async fn load(tills: &[Arc<TillClient>], instances: &[String], sim: &SimHandle) -> Load {
    let (warmup, window) = load_window();
    let started = Instant::now();
    let (from, to) = (started + warmup, started + warmup + window);
    let errors = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = tills
        .iter()
        .map(|till| {
            let till = Arc::clone(till);
            let errors = Arc::clone(&errors);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut first_error = None;
                while Instant::now() < to {
                    let outcome = till.create_and_cancel().await;
                    let done = Instant::now();
                    let counted = done >= from && done <= to;
                    match outcome {
                        Ok(latency) if counted => latencies.push(latency),
                        Ok(_) => {}
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.get_or_insert(e);
                            // A till left with a sale in progress waits for it to be let go.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                (latencies, first_error)
            })
        })
        .collect();
    tokio::time::sleep_until(from.into()).await;
    let (process_before, machine_before) = (process_ticks(), machine_ticks());
    let (inbox_before, window_from) = (inbox(instances).await, common::unix_ms_now());
    let sent_before = sim.webhook_attempts_made();
    tokio::time::sleep_until(to.into()).await;
    let (process_after, machine_after) = (process_ticks(), machine_ticks());
    let (inbox_after, window_to) = (inbox(instances).await, common::unix_ms_now());
    // Counted, not read off the attempts list: that keeps only the newest 10 000, which capped
    // this figure at 1 000 a second in a 10 s window.
    let sent_in_window = sim.webhook_attempts_made() - sent_before;
    // Processed: accepted, less what was added to the unprocessed.
    let processed =
        inbox_before.zip(inbox_after).map(|((accepted0, unprocessed0), (accepted1, unprocessed1))| {
            #[allow(clippy::cast_precision_loss)]
            let processed = (accepted1 - accepted0) as f64 - (unprocessed1 as f64 - unprocessed0 as f64);
            processed / ((window_to - window_from) / 1000.0)
        });
    let mut all = Vec::new();
    let mut first_error = None;
    for task in tasks {
        let (latencies, error) = task.await.unwrap();
        all.extend(latencies);
        if first_error.is_none() {
            first_error = error;
        }
    }
    let drained = Instant::now();
    let mut drain_seconds = None;
    while drained.elapsed() < Duration::from_mins(1) {
        if inbox(instances).await.is_some_and(|(_, unprocessed)| unprocessed == 0) {
            drain_seconds = Some(drained.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    #[allow(clippy::cast_precision_loss)]
    let machine_cores = {
        let busy = (machine_after.0 - machine_before.0) as f64;
        let total = (machine_after.1 - machine_before.1).max(1) as f64;
        busy / total * std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
    };
    #[allow(clippy::cast_precision_loss)]
    Load {
        tills: tills.len(),
        seconds: window.as_secs_f64(),
        sales: all.len(),
        errors: usize::try_from(errors.load(Ordering::Relaxed)).unwrap_or(usize::MAX),
        first_error,
        per_second: all.len() as f64 / window.as_secs_f64(),
        create: Spread::of(all),
        process_cores: (process_after - process_before) as f64 / TICKS_PER_SECOND / window.as_secs_f64(),
        machine_cores,
        webhooks: Webhooks {
            sent_per_second: sent_in_window as f64 / ((window_to - window_from) / 1000.0),
            processed_per_second: processed,
            unprocessed_at_end: inbox_after.map(|(_, unprocessed)| unprocessed),
            drain_seconds,
        },
    }
}

/// The webhook deliveries the instances (at `http://…/`) accepted so far, and those stored and
/// not yet processed, from their `/metrics`: the inbox is the database's, so any instance
/// counts every instance's unprocessed deliveries.
async fn inbox(instances: &[String]) -> Option<(u64, u64)> {
    let mut accepted = 0;
    let mut unprocessed = None;
    for base in instances {
        let text = reqwest::get(format!("{base}metrics")).await.ok()?.text().await.ok()?;
        let value = |name: &str| -> Option<u64> {
            text.lines().find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        };
        accepted += value("kasse_webhooks_total{outcome=\"accepted\"} ").unwrap_or(0);
        unprocessed = unprocessed.or_else(|| value("kasse_webhooks_unprocessed "));
    }
    Some((accepted, unprocessed?))
}

/// The load's warm-up and measured window.
fn load_window() -> (Duration, Duration) {
    (
        Duration::from_secs(common::env_number("KASSE_BENCH_WARMUP_SECONDS", 2)),
        Duration::from_secs(common::env_number("KASSE_BENCH_SECONDS", 10)),
    )
}

/// When a load starting now ends.
fn load_ends() -> Instant {
    let (warmup, window) = load_window();
    Instant::now() + warmup + window
}

/// `count` sales from one till alone, back to back: each create's latency.
async fn alone(till: &TillClient, count: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        latencies.push(till.create_and_cancel().await.unwrap());
    }
    latencies
}

/// A server started for a set-up, with the tills paired through it.
struct Instance {
    running: Running,
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
struct SetUp {
    name: &'static str,
    load: Load,
    alone: Spread,
    /// Approvals with the tills idle.
    idle: Option<Approvals>,
    /// Approvals while the tills are loaded.
    under_load: Approvals,
}

impl SetUp {
    fn json(&self) -> serde_json::Value {
        json!({
            "load": self.load.json(),
            "createMsOneTillAlone": self.alone.json(),
            "approvals": self.idle.as_ref().map(Approvals::json),
            "approvalsUnderLoad": self.under_load.json(),
        })
    }

    /// Webhook to till event with the tills idle.
    fn webhook(&self) -> Option<Spread> {
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

fn load_only() -> bool {
    common::env_number("KASSE_BENCH_LOAD_ONLY", 0) != 0
}

/// The tills of a set-up: the loaded ones, and one more for the latencies.
fn till_ids() -> Vec<String> {
    common::till_ids(usize::try_from(common::env_number("KASSE_BENCH_TILLS", TILLS)).unwrap() + 1)
}

/// One instance on `database`: the load, one till alone, and the webhook's way to the till.
async fn one_instance(
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
async fn two_instances(database: &str, scratch: &Scratch) -> SetUp {
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

/// The comparisons on one instance: its create latency against the simulator's directly, and
/// both with a real platform's round trip added.
async fn against_the_simulator(sim: &SimHandle, till: &TillClient) -> serde_json::Value {
    let through_server = Spread::of(alone(till, ALONE_SALES).await);
    let unit = sim.config().sales_unit(common::MSN).unwrap().clone();
    let http = reqwest::Client::new();
    let sim_base = sim.base_url().to_string();
    let token: serde_json::Value = http
        .post(format!("{sim_base}accesstoken/get"))
        .header("client_id", &unit.client_id)
        .header("client_secret", unit.client_secret.expose())
        .header("Ocp-Apim-Subscription-Key", unit.subscription_key.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let direct = Direct {
        http,
        base: sim_base,
        token: token["access_token"].as_str().unwrap().to_owned(),
        key: unit.subscription_key.expose().to_owned(),
        msn: unit.msn.clone(),
    };
    let mut direct_latencies = Vec::with_capacity(ALONE_SALES);
    for _ in 0..ALONE_SALES {
        direct_latencies.push(direct.create_and_cancel().await);
    }
    let direct_spread = Spread::of(direct_latencies);

    // The platform as far away as a real one: every call to the simulator waits
    // PLATFORM_LATENCY first, as a round trip over the internet would.
    let far = kasse_sim::FaultKnobs {
        latency_ms: u64::try_from(PLATFORM_LATENCY.as_millis()).unwrap(),
        ..kasse_sim::FaultKnobs::default()
    };
    sim.set_faults(far).unwrap();
    let far_server = Spread::of(alone(till, ALONE_SALES / 2).await);
    let mut far_direct = Vec::new();
    for _ in 0..ALONE_SALES / 2 {
        far_direct.push(direct.create_and_cancel().await);
    }
    sim.set_faults(kasse_sim::FaultKnobs::default()).unwrap();
    let far_direct = Spread::of(far_direct);

    let ratio = through_server.p50 / direct_spread.p50;
    let far_ratio = far_server.p50 / far_direct.p50;
    println!(
        "  one till alone on SQLite: create p50 {:.2} ms p95 {:.2} ms through the server, \
         p50 {:.2} ms p95 {:.2} ms at the simulator directly: {ratio:.2}× at the median (goal ≤ 1.2×)",
        through_server.p50, through_server.p95, direct_spread.p50, direct_spread.p95
    );
    println!(
        "  with {} ms platform latency: through the server p50 {:.2} ms, directly p50 {:.2} ms, {far_ratio:.2}×",
        PLATFORM_LATENCY.as_millis(),
        far_server.p50,
        far_direct.p50
    );
    json!({
        "createMsThroughServer": through_server.json(),
        "createMsDirect": direct_spread.json(),
        "overheadAtMedian": ratio,
        "withPlatformLatency": {
            "latencyMs": PLATFORM_LATENCY.as_millis(),
            "createMsThroughServer": far_server.json(),
            "createMsDirect": far_direct.json(),
            "overheadAtMedian": far_ratio,
        },
    })
}

fn chosen(set_up: &str) -> bool {
    std::env::var("KASSE_BENCH_ONLY")
        .map_or(true, |only| only.split(',').any(|chosen| chosen.trim().eq_ignore_ascii_case(set_up)))
}

#[tokio::main]
async fn main() {
    // `KASSE_BENCH_LOG=sqlx::query=debug` shows every statement, with its time (for profiling).
    if let Ok(filter) = std::env::var("KASSE_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    let admin = common::postgres_admin();
    let tills = common::env_number("KASSE_BENCH_TILLS", TILLS);
    println!(
        "server: sales (a QR create and its cancel) per second from {tills} tills at once, each against a \
         simulator in this process"
    );
    let mut set_ups = Vec::new();
    let mut comparison = serde_json::Value::Null;

    if chosen("sqlite") {
        let scratch = Scratch::new("sqlite");
        let database = format!("sqlite://{}", scratch.0.join("kasse.db").display());
        let (set_up, sim, server, spare) = one_instance("SQLite, one instance", &database, &scratch).await;
        if !load_only() {
            comparison = against_the_simulator(&sim, &spare).await;
        }
        server.running.stop().await;
        set_ups.push(set_up);
    }
    match &admin {
        None => println!(
            "  PostgreSQL: not measured ({} does not name a server; `cargo xtask bench` starts one)",
            common::POSTGRES_VARIABLE
        ),
        Some(admin) => {
            if chosen("postgres") {
                let scratch = Scratch::new("postgres");
                let database = PgDatabase::create(admin).await;
                let (set_up, _sim, server, _spare) =
                    one_instance("PostgreSQL, one instance", &database.url, &scratch).await;
                server.running.stop().await;
                database.drop_now().await;
                set_ups.push(set_up);
            }
            if chosen("two") {
                let scratch = Scratch::new("two");
                let database = PgDatabase::create(admin).await;
                set_ups.push(two_instances(&database.url, &scratch).await);
                database.drop_now().await;
            }
        }
    }

    println!();
    println!(
        "  {:<26} {:>7} {:>9} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12}",
        "set-up",
        "sales/s",
        "sustained",
        "load p50",
        "load p95",
        "alone p50",
        "webhook p50",
        "webhook p95",
        "loaded p95"
    );
    for s in &set_ups {
        let (w50, w95) = s.webhook().map_or((f64::NAN, f64::NAN), |w| (w.p50, w.p95));
        let loaded = Spread::of(s.under_load.from_webhook.clone()).p95;
        println!(
            "  {:<26} {:>7.0} {:>9.0} {:>7.1} ms {:>7.1} ms {:>7.2} ms {:>9.2} ms {:>9.2} ms {:>9.1} ms",
            s.name,
            s.load.per_second,
            s.load.sustained(),
            s.load.create.p50,
            s.load.create.p95,
            s.alone.p50,
            w50,
            w95,
            loaded
        );
    }
    println!(
        "  (sustained: the sales whose webhooks were processed as fast as they came; webhook: from the \
         simulator sending it to the till's stream, the tills idle, and p95 with them loaded)"
    );
    let one_pg = set_ups.iter().find(|s| s.name == "PostgreSQL, one instance");
    let two_pg = set_ups.iter().find(|s| s.name == "PostgreSQL, two instances");
    let scaling = one_pg.zip(two_pg).map(|(one, two)| two.load.per_second / one.load.per_second);
    let sustained_scaling = one_pg.zip(two_pg).map(|(one, two)| two.load.sustained() / one.load.sustained());
    if let Some((scaling, sustained)) = scaling.zip(sustained_scaling) {
        println!("  two instances against one: {scaling:.2}×, sustained {sustained:.2}× (goal ≥ 1.7×)");
    }
    println!("  goals: one instance ≥ 2000 sales/s; webhook to till event p95 ≤ 50 ms across instances");

    let mut report = serde_json::Map::new();
    report.insert("tills".into(), json!(tills));
    report.insert("setUps".into(), set_ups.iter().map(|s| (s.name.to_owned(), s.json())).collect());
    report.insert("twoInstancesAgainstOne".into(), json!(scaling));
    report.insert("twoInstancesAgainstOneSustained".into(), json!(sustained_scaling));
    if let Some(sqlite) = set_ups.iter().find(|s| s.name == "SQLite, one instance") {
        // The figures under their earlier names, for whoever reads them.
        report.insert("createsPerSecond".into(), json!(sqlite.load.per_second));
        report.insert("webhookToTillEventMs".into(), json!(sqlite.webhook().map(Spread::json)));
    }
    report.insert("againstTheSimulator".into(), comparison);
    std::fs::write(
        common::report_dir().join("server.json"),
        serde_json::to_vec_pretty(&serde_json::Value::Object(report)).unwrap(),
    )
    .unwrap();
}

/// The platform directly: create a QR payment and cancel it.
struct Direct {
    http: reqwest::Client,
    base: String,
    token: String,
    key: String,
    msn: String,
}

impl Direct {
    async fn create_and_cancel(&self) -> Duration {
        let reference = format!("direct-{}", uuid::Uuid::new_v4().simple());
        let request = |builder: reqwest::RequestBuilder| {
            builder
                .bearer_auth(&self.token)
                .header("Ocp-Apim-Subscription-Key", &self.key)
                .header("Merchant-Serial-Number", &self.msn)
        };
        let started = Instant::now();
        let created = request(self.http.post(format!("{}epayment/v1/payments", self.base)))
            .header("Idempotency-Key", format!("{reference}-create"))
            .json(&json!({
                "amount": {"currency": "NOK", "value": 1000},
                "customerInteraction": "CUSTOMER_PRESENT",
                "paymentMethod": {"type": "WALLET"},
                "reference": reference,
                "userFlow": "QR",
                "qrFormat": {"format": "TEXT/TARGETURL"}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let _ = created.bytes().await;
        let latency = started.elapsed();
        let cancelled =
            request(self.http.post(format!("{}epayment/v1/payments/{reference}/cancel", self.base)))
                .header("Idempotency-Key", format!("{reference}-cancel"))
                .json(&json!({"cancelTransactionOnly": true}))
                .send()
                .await
                .unwrap();
        assert_eq!(cancelled.status(), 200);
        latency
    }
}

/// Approvals of sales `seller` starts, each timed from the simulator sending the `authorized`
/// webhook to the event stream `follower` reads (the same till, perhaps through another
/// instance) delivering it, and, for comparison, from the customer's press.
#[derive(Debug, Default)]
struct Approvals {
    from_webhook: Vec<Duration>,
    from_press: Vec<Duration>,
    /// Approvals not shown on the till within [`APPROVAL_PATIENCE`] (or whose sale did not start).
    missed: usize,
    /// Approvals the till was shown before their webhook was sent: the server's poll of the
    /// platform found them first (the simulator sends its webhooks one at a time, oldest first,
    /// so under load they queue there).
    before_webhook: usize,
}

impl Approvals {
    fn json(&self) -> serde_json::Value {
        json!({
            "count": self.from_press.len(),
            "throughWebhook": self.from_webhook.len(),
            "beforeWebhook": self.before_webhook,
            "missed": self.missed,
            "webhookToTillEventMs": Spread::of(self.from_webhook.clone()).json(),
            "approvalToTillEventMs": Spread::of(self.from_press.clone()).json(),
        })
    }
}

/// How long an approval may take to reach the till before it counts as missed.
const APPROVAL_PATIENCE: Duration = Duration::from_secs(10);

/// `count` approvals one after the other, or as many as fit before `until`.
async fn approvals(
    seller: &TillClient,
    follower: &TillClient,
    sim: &SimHandle,
    count: usize,
    until: Option<Instant>,
) -> Approvals {
    let mut timed = Approvals::default();
    while timed.from_press.len() + timed.missed < count && until.is_none_or(|until| Instant::now() < until) {
        match approve_once(seller, follower, sim).await {
            Ok(Reached::Webhook(webhook, press)) => {
                timed.from_webhook.push(webhook);
                timed.from_press.push(press);
            }
            Ok(Reached::BeforeWebhook(press)) => {
                timed.before_webhook += 1;
                timed.from_press.push(press);
            }
            Err(why) => {
                if timed.missed == 0 {
                    println!("  an approval was missed: {why}");
                }
                timed.missed += 1;
                // A sale left in progress is finished by the server meanwhile.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    timed
}

/// The `authorized` webhook's event type.
const AUTHORIZED: &str = "epayments.payment.authorized.v1";

/// When the simulator sent each `authorized` webhook the server took (Unix ms).
fn authorized_sends(sim: &SimHandle) -> Vec<f64> {
    let attempts = sim.webhook_attempts();
    let taken = attempts.iter().filter(|a| a.event_type == AUTHORIZED && a.status.is_some_and(|s| s < 300));
    taken.map(|a| a.sent_at_ms).collect()
}

/// How one approval reached the till.
enum Reached {
    /// Through its webhook: from the webhook's sending, and from the customer's press.
    Webhook(Duration, Duration),
    /// Before its webhook was sent (the server polled the platform): from the press.
    BeforeWebhook(Duration),
}

/// One sale started, approved by the customer, and followed on the till's stream until it is
/// captured.
async fn approve_once(
    seller: &TillClient,
    follower: &TillClient,
    sim: &SimHandle,
) -> Result<Reached, String> {
    let (_, sale) = seller.start_qr_sale().await?;
    let qr = sale["qr"].as_str().ok_or_else(|| format!("no QR code: {sale}"))?.to_owned();
    let mut events = follower
        .http
        .get(format!("{}api/tills/{}/events", follower.base, follower.till))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    // Only this till's sales are approved, one at a time: the next `authorized` webhook is this one's.
    let before = authorized_sends(sim);
    let started = Instant::now();
    let phone = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    phone
        .post(&qr)
        .form(&[("action", "approve"), ("customer", "4791234567")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = String::new();
    let mut approved = None;
    let followed = tokio::time::timeout(APPROVAL_PATIENCE, async {
        // Read until the automatic capture is shown too, so the till is free for the next sale.
        while let Ok(Some(chunk)) = events.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if approved.is_none() && seen.contains("\"status\":\"authorized\"") {
                approved = Some((started.elapsed(), common::unix_ms_now()));
            }
            if seen.contains("\"status\":\"captured\"") {
                return true;
            }
        }
        false
    })
    .await;
    match followed {
        Ok(true) => {}
        Ok(false) => return Err("the stream ended".to_owned()),
        Err(_) => return Err(format!("not shown captured within {APPROVAL_PATIENCE:?}")),
    }
    let (press, arrived_ms) = approved.unwrap_or_else(|| (started.elapsed(), common::unix_ms_now()));
    // The simulator logs a delivery once it is answered, which may be just after the event reached
    // the till; and under load its webhook may not have been sent yet at all.
    let waiting = Instant::now();
    let sent_ms = loop {
        let sent = authorized_sends(sim).into_iter().filter(|t| !before.contains(t)).reduce(f64::min);
        if let Some(sent) = sent {
            break sent;
        }
        if waiting.elapsed() > APPROVAL_PATIENCE {
            return Ok(Reached::BeforeWebhook(press));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    if sent_ms > arrived_ms {
        return Ok(Reached::BeforeWebhook(press));
    }
    Ok(Reached::Webhook(Duration::from_secs_f64((arrived_ms - sent_ms) / 1000.0), press))
}

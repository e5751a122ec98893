//! The tills' sales: a paired till's client, the load of every till at once (its sales, what
//! became of their webhooks, and the CPU it took), and sales from one till alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kasse_sim::SimHandle;
use serde_json::json;

use crate::common::{self, Spread};

/// A paired till's HTTP client.
pub(super) struct TillClient {
    pub(super) http: reqwest::Client,
    /// The instance it talks to, `http://…/`.
    pub(super) base: String,
    pub(super) till: String,
}

impl TillClient {
    /// Starts a QR sale of 10 NOK: the answer's status and body, or what went wrong.
    pub(super) async fn start_qr_sale(&self) -> Result<(reqwest::StatusCode, serde_json::Value), String> {
        let answer = self
            .http
            .post(format!("{}api/tills/{}/sales", self.base, self.till))
            .header("Idempotency-Key", action_key())
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
            .header("Idempotency-Key", action_key())
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

/// A fresh key for a till's action, as the browser till sends with each (`src/api`): the server
/// looks a keyed request up before acting on it.
fn action_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// What one load measured.
#[derive(Debug, Clone)]
pub(super) struct Load {
    tills: usize,
    seconds: f64,
    sales: usize,
    errors: usize,
    first_error: Option<String>,
    pub(super) per_second: f64,
    pub(super) create: Spread,
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
    pub(super) fn json(&self) -> serde_json::Value {
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
    pub(super) fn sustained(&self) -> f64 {
        let processed = self.webhooks.processed_per_second.unwrap_or(self.webhooks.sent_per_second);
        self.per_second.min(processed.min(self.webhooks.sent_per_second) / 2.0)
    }

    pub(super) fn line(&self, what: &str) -> String {
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
pub(super) async fn load(tills: &[Arc<TillClient>], instances: &[String], sim: &SimHandle) -> Load {
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
pub(super) fn load_ends() -> Instant {
    let (warmup, window) = load_window();
    Instant::now() + warmup + window
}

/// `count` sales from one till alone, back to back: each create's latency.
pub(super) async fn alone(till: &TillClient, count: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        latencies.push(till.create_and_cancel().await.unwrap());
    }
    latencies
}

//! How fast the simulator answers: creates and gets of ePayment payments per second, over real
//! HTTP on loopback, with the load generator in the same process (both share this machine's two
//! cores, as they do when the server's load tests run against it).
//!
//! Run by `cargo xtask bench` (or `cargo bench -p kasse-sim --bench throughput`). It reports
//! figures; it never fails on them. Results also go to `bench/sim-throughput.json` in cargo's
//! target directory (`$CARGO_TARGET_DIR`, else `target/`), where `cargo xtask bench` looks.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's report is its output"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kasse_sim::SimConfig;
use serde_json::json;

/// Payments created (and read back) in the measured run.
const PAYMENTS: usize = 20_000;
/// Payments created before measuring, so connections and allocations are warm.
const WARM_UP: usize = 1_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;
/// The goal from the simulator issue: enough headroom that server load tests measure the server.
const GOAL_PER_SECOND: f64 = 5_000.0;

struct Target {
    base: String,
    http: reqwest::Client,
    token: String,
    subscription_key: String,
    msn: String,
}

impl Target {
    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .bearer_auth(&self.token)
            .header("Ocp-Apim-Subscription-Key", &self.subscription_key)
            .header("Merchant-Serial-Number", &self.msn)
    }

    /// Creates payment `n` and reads it back; returns the two latencies.
    async fn create_and_get(&self, run: &str, n: usize) -> (Duration, Duration) {
        let reference = format!("bench-{run}-{n:08}");
        let body = json!({
            "amount": { "currency": "NOK", "value": 1000 },
            "customerInteraction": "CUSTOMER_PRESENT",
            "paymentMethod": { "type": "WALLET" },
            "reference": reference,
            "userFlow": "QR",
            "qrFormat": { "format": "TEXT/TARGETURL" }
        });
        let started = Instant::now();
        let created = self
            .request(self.http.post(format!("{}epayment/v1/payments", self.base)))
            .header("Idempotency-Key", &reference)
            .json(&body)
            .send()
            .await
            .expect("create answered");
        assert_eq!(created.status(), 201, "create failed: {}", created.text().await.unwrap_or_default());
        let create_latency = started.elapsed();
        let started = Instant::now();
        let got = self
            .request(self.http.get(format!("{}epayment/v1/payments/{reference}", self.base)))
            .send()
            .await
            .expect("get answered");
        assert_eq!(got.status(), 200);
        let _ = got.bytes().await;
        (create_latency, started.elapsed())
    }
}

/// Creates and reads `count` payments with `CONCURRENCY` workers; returns all latencies and the
/// wall time.
async fn load(
    target: &Arc<Target>,
    run: &'static str,
    count: usize,
) -> (Vec<Duration>, Vec<Duration>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (target, next) = (Arc::clone(target), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return latencies;
                    }
                    latencies.push(target.create_and_get(run, n).await);
                }
            })
        })
        .collect();
    let (mut creates, mut gets) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for worker in workers {
        for (create, get) in worker.await.expect("worker finished") {
            creates.push(create);
            gets.push(get);
        }
    }
    (creates, gets, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Cargo's target directory, found as xtask finds it: `$CARGO_TARGET_DIR` when set (relative to
/// the workspace root, where cargo runs), else `target/` there.
fn target_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = kasse_sim::start(SimConfig::demo(), listener).unwrap();
    let unit = sim.config().sales_units[0].clone();
    let http = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
    let base = sim.base_url().to_string();
    let token: serde_json::Value = http
        .post(format!("{base}accesstoken/get"))
        .header("client_id", &unit.client_id)
        .header("client_secret", unit.client_secret.expose())
        .header("Ocp-Apim-Subscription-Key", unit.subscription_key.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let target = Arc::new(Target {
        base,
        http,
        token: token["access_token"].as_str().unwrap().to_owned(),
        subscription_key: unit.subscription_key.expose().to_owned(),
        msn: unit.msn.clone(),
    });

    load(&target, "warm", WARM_UP).await;
    let (mut creates, mut gets, elapsed) = load(&target, "run", PAYMENTS).await;
    creates.sort();
    gets.sort();
    #[allow(clippy::cast_precision_loss)]
    let per_second = (2 * PAYMENTS) as f64 / elapsed.as_secs_f64();

    println!("simulator throughput: {PAYMENTS} creates + {PAYMENTS} gets, {CONCURRENCY} in flight");
    println!(
        "  {per_second:.0} requests/s over {:.2} s (goal: at least {GOAL_PER_SECOND:.0})",
        elapsed.as_secs_f64()
    );
    for (name, sorted) in [("create", &creates), ("get", &gets)] {
        println!(
            "  {name:<6} p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms",
            millis(percentile(sorted, 0.50)),
            millis(percentile(sorted, 0.95)),
            millis(percentile(sorted, 0.99))
        );
    }
    let report = json!({
        "payments": PAYMENTS,
        "concurrency": CONCURRENCY,
        "seconds": elapsed.as_secs_f64(),
        "requestsPerSecond": per_second,
        "goalRequestsPerSecond": GOAL_PER_SECOND,
        "createMs": { "p50": millis(percentile(&creates, 0.5)), "p95": millis(percentile(&creates, 0.95)), "p99": millis(percentile(&creates, 0.99)) },
        "getMs": { "p50": millis(percentile(&gets, 0.5)), "p95": millis(percentile(&gets, 0.95)), "p99": millis(percentile(&gets, 0.99)) },
    });
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sim-throughput.json"), serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    sim.stop();
}

//! What the server costs: creates per second through the till API (16 tills at once), the
//! latency of one create through the server against the same call made to the simulator
//! directly in the same run, and how long a webhook takes from the simulator sending it to a
//! till's live event stream delivering it. Figures, never pass/fail; written to
//! `target/bench/server.json`. Run by `cargo xtask bench`.
//!
//! The server records every platform write in SQLite before and after sending it; the simulator
//! answers from memory. So the latency ratio measures what durability costs, on this disk. A
//! second comparison adds a real platform's round trip to every simulator call, which shows what
//! the server adds to what a till actually waits for.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark's report is its output"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kasse_api::Role;
use kasse_server::{CapturePolicy, Config, TillConfig};
use serde_json::json;

/// Tills, each worked by one load worker (a till takes one sale at a time).
const TILLS: usize = 16;
/// Sales per till in the measured run.
const SALES_PER_TILL: usize = 60;
/// Approvals timed through to the till's event stream.
const APPROVALS: usize = 100;
/// A round trip to a real platform from a shop's server, for the second comparison: the
/// simulator answers from memory in a fraction of a millisecond, which no real call does.
const PLATFORM_LATENCY: Duration = Duration::from_millis(40);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and 95th percentile of some latencies, in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Spread {
    p50: f64,
    p95: f64,
}

impl Spread {
    fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort();
        Self { p50: ms(percentile(&latencies, 0.5)), p95: ms(percentile(&latencies, 0.95)) }
    }

    fn json(self) -> serde_json::Value {
        json!({ "p50": self.p50, "p95": self.p95 })
    }
}

/// A paired till's HTTP client.
struct TillClient {
    http: reqwest::Client,
    base: String,
    till: String,
}

impl TillClient {
    /// Starts a QR sale and cancels it; returns the create's latency.
    async fn create_and_cancel(&self) -> Duration {
        let started = Instant::now();
        let sale: serde_json::Value = self
            .http
            .post(format!("{}api/tills/{}/sales", self.base, self.till))
            .json(&json!({"amount": {"value": 1000, "currency": "NOK"}, "flow": "qr"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let latency = started.elapsed();
        let reference = sale["reference"].as_str().expect("a sale");
        let cancelled = self
            .http
            .post(format!("{}api/tills/{}/sales/{reference}/cancel", self.base, self.till))
            .send()
            .await
            .unwrap();
        let status = cancelled.status();
        let body: serde_json::Value = cancelled.json().await.unwrap();
        assert!(status == 200 && body["status"] == "cancelled", "cancel: {status} {body}");
        latency
    }
}

#[tokio::main]
async fn main() {
    let scratch = std::env::temp_dir().join(format!("kasse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut config = Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), scratch.join("dist"), &scratch);
    config.tills = (1..=TILLS)
        .map(|n| TillConfig {
            id: format!("till-{n}"),
            name: format!("Kasse {n}"),
            store: config.stores[0].id.clone(),
            capture: CapturePolicy::Automatic,
            callback_qr: None,
            redirect_sticker: None,
            charge_on_check_in: false,
        })
        .collect();
    config.stickers.clear();
    let server = kasse_server::start(config).await.unwrap();
    let base = server.url().to_string();

    let mut tills = Vec::new();
    for n in 1..=TILLS {
        let till = format!("till-{n}");
        let code = server.pairing_code(&till, Role::Till).await.unwrap();
        let answer = reqwest::Client::new()
            .post(format!("{base}api/pair"))
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap();
        let cookie = answer.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse().unwrap());
        let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
        tills.push(Arc::new(TillClient { http, base: base.clone(), till }));
    }

    // Through the server: till API → recorded → signed platform call → recorded answer. One
    // till alone gives the latency without queueing; all tills at once, the throughput.
    let (through_server, _) = run(&tills[..1], |till| async move { till.create_and_cancel().await }).await;
    let (_, server_elapsed) = run(&tills, |till| async move { till.create_and_cancel().await }).await;

    // The same platform calls made directly, in the same run.
    let sim = server.sim().unwrap();
    let unit = sim.config().sales_units[0].clone();
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
    let direct = Arc::new(Direct {
        http,
        base: sim_base,
        token: token["access_token"].as_str().unwrap().to_owned(),
        key: unit.subscription_key.expose().to_owned(),
        msn: unit.msn.clone(),
    });
    let (direct_latencies, _) =
        run(&[Arc::clone(&direct)], |d| async move { d.create_and_cancel().await }).await;

    // The same comparison with the platform as far away as a real one: every call to the
    // simulator waits PLATFORM_LATENCY first, as a round trip over the internet would. What the
    // server adds is then seen against what a till actually waits for.
    let far = kasse_sim::FaultKnobs {
        latency_ms: u64::try_from(PLATFORM_LATENCY.as_millis()).unwrap(),
        ..kasse_sim::FaultKnobs::default()
    };
    sim.set_faults(far).unwrap();
    let (far_server, _) = run(&tills[..1], |till| async move { till.create_and_cancel().await }).await;
    let (far_direct, _) = run(&[Arc::clone(&direct)], |d| async move { d.create_and_cancel().await }).await;
    sim.set_faults(kasse_sim::FaultKnobs::default()).unwrap();
    let (far_server, far_direct) = (Spread::of(far_server), Spread::of(far_direct));
    let far_ratio = far_server.p50 / far_direct.p50;

    // An approval's way to the till: phone → platform → signed webhook → server → SSE.
    let (from_webhook, from_approval) = approval_latencies(&tills[0], &base, sim).await;

    let (via_server, direct) = (Spread::of(through_server), Spread::of(direct_latencies));
    let (webhook, approval) = (Spread::of(from_webhook), Spread::of(from_approval));
    #[allow(clippy::cast_precision_loss)]
    let per_second = (TILLS * SALES_PER_TILL) as f64 / server_elapsed.as_secs_f64();
    let ratio = via_server.p50 / direct.p50;
    println!(
        "server: create + cancel of QR sales; latency from one till alone, throughput from {TILLS} at once"
    );
    println!("  creates through the server: {per_second:.0}/s ({TILLS} tills × {SALES_PER_TILL} sales)");
    println!(
        "  create latency through the server: p50 {:.2} ms  p95 {:.2} ms",
        via_server.p50, via_server.p95
    );
    println!(
        "  create latency at the simulator directly: p50 {:.2} ms  p95 {:.2} ms",
        direct.p50, direct.p95
    );
    println!("  overhead at the median: {ratio:.2}× (goal ≤ 1.2×)");
    println!(
        "  with {} ms platform latency: through the server p50 {:.2} ms, directly p50 {:.2} ms, overhead {far_ratio:.2}×",
        PLATFORM_LATENCY.as_millis(),
        far_server.p50,
        far_direct.p50
    );
    println!(
        "  webhook sent to till event ({APPROVALS}): p50 {:.2} ms  p95 {:.2} ms (goal p95 ≤ 50 ms)",
        webhook.p50, webhook.p95
    );
    println!("  customer's approval to till event: p50 {:.2} ms  p95 {:.2} ms", approval.p50, approval.p95);
    let report = json!({
        "tills": TILLS,
        "salesPerTill": SALES_PER_TILL,
        "createsPerSecond": per_second,
        "createMsThroughServer": via_server.json(),
        "createMsDirect": direct.json(),
        "overheadAtMedian": ratio,
        "withPlatformLatency": {
            "latencyMs": PLATFORM_LATENCY.as_millis(),
            "createMsThroughServer": far_server.json(),
            "createMsDirect": far_direct.json(),
            "overheadAtMedian": far_ratio,
        },
        "webhookToTillEventMs": webhook.json(),
        "approvalToTillEventMs": approval.json(),
    });
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            std::path::PathBuf::from,
        )
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.json"), serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    server.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
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

/// Runs `SALES_PER_TILL` rounds of `work` on every worker at once; returns all latencies and
/// the wall time.
async fn run<W, F, Fut>(workers: &[Arc<W>], work: F) -> (Vec<Duration>, Duration)
where
    W: Send + Sync + 'static,
    F: Fn(Arc<W>) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Duration> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = workers
        .iter()
        .map(|worker| {
            let worker = Arc::clone(worker);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(SALES_PER_TILL);
                for _ in 0..SALES_PER_TILL {
                    latencies.push(work(Arc::clone(&worker)).await);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    (all, started.elapsed())
}

/// Times each approval: from the simulator sending the `authorized` webhook to the till's event
/// stream delivering it (and, for comparison, from the customer's press).
async fn approval_latencies(
    till: &TillClient,
    base: &str,
    sim: &kasse_sim::SimHandle,
) -> (Vec<Duration>, Vec<Duration>) {
    let (mut from_webhook, mut from_press) = (Vec::with_capacity(APPROVALS), Vec::with_capacity(APPROVALS));
    for _ in 0..APPROVALS {
        let sale: serde_json::Value = till
            .http
            .post(format!("{base}api/tills/{}/sales", till.till))
            .json(&json!({"amount": {"value": 1000, "currency": "NOK"}, "flow": "qr"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let qr = sale["qr"].as_str().unwrap_or_else(|| panic!("no QR code: {sale}")).to_owned();
        let mut events = till.http.get(format!("{base}api/tills/{}/events", till.till)).send().await.unwrap();
        let started = Instant::now();
        let phone = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        phone.post(&qr).form(&[("action", "approve"), ("customer", "4791234567")]).send().await.unwrap();
        let mut seen = String::new();
        let mut approved = None;
        tokio::time::timeout(Duration::from_secs(10), async {
            // Read until the automatic capture is shown too, so the till is free for the next sale.
            while let Some(chunk) = events.chunk().await.unwrap() {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if approved.is_none() && seen.contains("\"status\":\"authorized\"") {
                    approved = Some((started.elapsed(), unix_ms_now()));
                }
                if seen.contains("\"status\":\"captured\"") {
                    return;
                }
            }
            panic!("the stream ended");
        })
        .await
        .expect("the approval reached the till");
        let (press, arrived_ms) = approved.unwrap_or_else(|| (started.elapsed(), unix_ms_now()));
        from_press.push(press);
        let sent_ms = sim
            .webhook_attempts()
            .iter()
            .rev()
            .find(|a| a.event_type == "epayments.payment.authorized.v1")
            .map_or(arrived_ms, |a| a.sent_at_ms);
        from_webhook.push(Duration::from_secs_f64(((arrived_ms - sent_ms) / 1000.0).max(0.0)));
    }
    (from_webhook, from_press)
}

fn unix_ms_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

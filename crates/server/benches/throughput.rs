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
#[path = "throughput/latency.rs"]
mod latency;
#[path = "throughput/load.rs"]
mod load;
#[path = "throughput/set_ups.rs"]
mod set_ups;

/// The server's own allocator (see `kasse-server`'s `main.rs`), so what is measured is what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::json;

use common::{PgDatabase, Scratch, Spread};
use latency::against_the_simulator;
use set_ups::{one_instance, two_instances};

/// Tills worked at once by the load, each by one worker (a till takes one sale at a time).
const TILLS: u64 = 64;
/// Sales from one till alone, for the latency without queueing.
const ALONE_SALES: usize = 60;

fn load_only() -> bool {
    common::env_number("KASSE_BENCH_LOAD_ONLY", 0) != 0
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

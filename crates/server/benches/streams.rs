//! What an open live event stream costs the server in memory: one instance with 10 000 till
//! streams (server-sent events, `GET /api/tills/{till}/events`) open at once, its resident set
//! size (`VmRSS`) before and after they open. Figures, never pass/fail; written to
//! `target/bench/streams.json`. Run by `cargo xtask bench`.
//!
//! The server runs in a process of its own (this bench binary started again with
//! [`SERVER_VARIABLE`] set: `kasse_server::start` on the default Tokio runtime, as the
//! `kasse-server` binary runs it), so what is measured is the server's memory alone, not the
//! clients'. It serves the demo store on SQLite with the built-in simulator, with as many tills as
//! streams are asked for (`KASSE_BENCH_STREAMS`, default 10 000) over `KASSE_BENCH_STREAMS_PER_TILL`
//! streams per till (default 1: every stream on a channel of its own, the most the hub holds), and
//! `[limits]` raised to let them all in. This process pairs each till once and opens the streams,
//! then reads the server's `/proc/<pid>/status`: when idle (the baseline), with the tills paired,
//! with every stream open, after the first keep-alive has gone out on every stream (15 s), and
//! once the streams are closed again.
//!
//! Each stream takes a socket on either side: the open-file limit of both processes must allow
//! for them. A soft limit below what is needed is raised to the hard limit with util-linux's
//! `prlimit` on this process (the server inherits it); a hard limit too low is reported and the
//! streams are fewer.
//!
//! `KASSE_BENCH_STREAMS_WRAPPER` runs the server under another program, for profiling its memory:
//! `KASSE_BENCH_STREAMS_WRAPPER="valgrind --tool=massif" KASSE_BENCH_STREAMS=1000`.

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

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kasse_api::Role;
use kasse_server::Config;
use serde_json::json;

/// Set (to `TILLS:PER_TILL`) in the server process this bench starts.
const SERVER_VARIABLE: &str = "KASSE_BENCH_STREAMS_SERVER";
/// Streams opened in all, unless `KASSE_BENCH_STREAMS` says otherwise.
const STREAMS: u64 = 10_000;
/// The goal for the whole server with every stream open.
const GOAL_BYTES: u64 = 100 * 1000 * 1000;
/// How long the streams stay open after the last one opened: one keep-alive (every 15 s) has
/// gone out on each by then.
const AFTER_KEEP_ALIVE: Duration = Duration::from_secs(17);
/// Streams being opened at once.
const AT_ONCE: usize = 64;
/// Pairings in flight at once: the server counts every pairing attempt from an address until it
/// succeeds, and refuses more than 10 at once.
const PAIRING_AT_ONCE: usize = 8;

#[tokio::main]
async fn main() {
    if let Ok(shape) = std::env::var(SERVER_VARIABLE) {
        serve(&shape).await;
        return;
    }
    measure().await;
}

/// The server process: starts the server with `TILLS:PER_TILL` room, prints its URL and a
/// pairing code per till, then serves until its standard input closes.
async fn serve(shape: &str) {
    let (tills, per_till) = shape.split_once(':').expect("TILLS:PER_TILL");
    let (tills, per_till): (usize, usize) = (tills.parse().unwrap(), per_till.parse().unwrap());
    let scratch = common::Scratch::new("streams");
    let mut config = Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), scratch.0.join("dist"), &scratch.0);
    config.database_url = std::env::var("KASSE_BENCH_STREAMS_DATABASE")
        .unwrap_or_else(|_| format!("sqlite://{}", scratch.0.join("kasse.db").display()));
    let ids = common::till_ids(tills);
    config.tills = common::tills(&config, &ids);
    config.stickers.clear();
    config.limits.streams_per_till = per_till;
    config.limits.streams_total = tills * per_till;
    let server = kasse_server::start(config).await.unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "url {}", server.url()).unwrap();
    for till in &ids {
        let code = server.pairing_code(till, Role::Till).await.unwrap();
        writeln!(out, "code {till} {code}").unwrap();
    }
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    drop(out);
    // Serves until the bench closes our standard input.
    tokio::task::spawn_blocking(|| std::io::stdin().lock().read_to_end(&mut Vec::new())).await.unwrap().ok();
    server.stop().await;
}

/// A process's resident set (`VmRSS`) and its peak (`VmHWM`), in bytes.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// This process's open-file limit: (soft, hard).
fn open_file_limit() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default();
    let mut numbers = line.split_whitespace().filter_map(|w| w.parse::<u64>().ok());
    let soft = numbers.next().unwrap_or(1024);
    (soft, numbers.next().unwrap_or(soft))
}

/// Makes room for `wanted` open files in this process (and the server it starts), as far as the
/// hard limit allows; how many there is room for.
fn room_for(wanted: u64) -> u64 {
    let (soft, hard) = open_file_limit();
    if soft < wanted && hard > soft {
        let raised = Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={hard}:{hard}"))
            .status();
        match raised {
            Ok(status) if status.success() => {}
            other => println!(
                "  could not raise the open-file limit from {soft} to {hard} with prlimit ({other:?}); \
                 run `ulimit -n {hard}` first"
            ),
        }
    }
    open_file_limit().0
}

fn mb(bytes: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let mb = bytes as f64 / 1_000_000.0;
    mb
}

async fn measure() {
    let per_till = common::env_number("KASSE_BENCH_STREAMS_PER_TILL", 1).max(1);
    let mut streams = common::env_number("KASSE_BENCH_STREAMS", STREAMS);
    // A socket per stream, and some for everything else.
    let room = room_for(streams + 1_000);
    if room < streams + 1_000 {
        let fewer = room.saturating_sub(1_000);
        println!("  the open-file limit is {room}: {fewer} streams instead of {streams}");
        streams = fewer;
    }
    let tills = streams.div_ceil(per_till);
    let streams_total = tills * per_till;
    println!(
        "server memory: {streams_total} live event streams ({tills} tills × {per_till}) on one instance (SQLite)"
    );

    // `KASSE_BENCH_STREAMS_WRAPPER="valgrind --tool=massif"` runs the server under a profiler.
    let wrapper = std::env::var("KASSE_BENCH_STREAMS_WRAPPER").unwrap_or_default();
    let mut command = wrapper.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    command.push(std::env::current_exe().unwrap().display().to_string());
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .env(SERVER_VARIABLE, format!("{tills}:{per_till}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server process starts");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (base, codes) = tokio::task::spawn_blocking(move || {
        let (mut base, mut codes) = (String::new(), Vec::new());
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("url ") {
                url.clone_into(&mut base);
            } else if let Some(rest) = line.strip_prefix("code ") {
                let (till, code) = rest.split_once(' ').unwrap();
                codes.push((till.to_owned(), code.to_owned()));
            } else if line == "ready" {
                break;
            }
        }
        (base, codes)
    })
    .await
    .unwrap();
    assert!(!base.is_empty(), "the server process started and said where");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle, _) = memory_of(pid);

    // One session per till, paired as a browser does.
    let http = reqwest::Client::builder().pool_max_idle_per_host(AT_ONCE).build().unwrap();
    let http = Arc::new(http);
    let mut cookies: Vec<(String, String)> = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(PAIRING_AT_ONCE) {
        let pairings: Vec<_> = chunk
            .iter()
            .map(|(till, code)| {
                let (http, base, till, code) = (Arc::clone(&http), base.clone(), till.clone(), code.clone());
                tokio::spawn(async move { (till, common::redeem(&http, &base, &code).await) })
            })
            .collect();
        for pairing in pairings {
            cookies.push(pairing.await.unwrap());
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (paired, _) = memory_of(pid);

    // Every stream, `per_till` on each till, kept open (each response's body unread).
    let opening = Instant::now();
    let mut open: Vec<reqwest::Response> = Vec::new();
    let wanted: Vec<(String, String)> = cookies
        .iter()
        .flat_map(|(till, cookie)| {
            std::iter::repeat_n((till.clone(), cookie.clone()), per_till.try_into().unwrap())
        })
        .collect();
    for chunk in wanted.chunks(AT_ONCE) {
        let requests: Vec<_> = chunk
            .iter()
            .map(|(till, cookie)| {
                let request = http
                    .get(format!("{base}api/tills/{till}/events"))
                    .header(reqwest::header::COOKIE, cookie.as_str());
                tokio::spawn(async move { request.send().await })
            })
            .collect();
        for request in requests {
            let answer = request.await.unwrap().expect("the stream opens");
            assert_eq!(answer.status(), 200, "a stream is let in");
            open.push(answer);
        }
    }
    let opened_in = opening.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (with_streams, _) = memory_of(pid);
    let counted = metric(&http, &base, "kasse_live_streams").await;
    tokio::time::sleep(AFTER_KEEP_ALIVE).await;
    let (after_keep_alive, peak) = memory_of(pid);

    drop(open);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (closed, _) = memory_of(pid);
    drop(child.stdin.take());
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;

    let opened = u64::try_from(wanted.len()).unwrap();
    let per_stream = |rss: u64| rss.saturating_sub(paired) / opened.max(1);
    println!("  server RSS idle: {:.1} MB; with {tills} tills paired: {:.1} MB", mb(idle), mb(paired));
    println!(
        "  with {opened} streams open ({counted:?} counted by /metrics, opened in {:.1} s): {:.1} MB, \
         {:.1} KB a stream",
        opened_in.as_secs_f64(),
        mb(with_streams),
        mb(per_stream(with_streams)) * 1000.0
    );
    println!(
        "  after a keep-alive on each: {:.1} MB, {:.1} KB a stream; peak {:.1} MB (goal ≤ {:.0} MB in all)",
        mb(after_keep_alive),
        mb(per_stream(after_keep_alive)) * 1000.0,
        mb(peak),
        mb(GOAL_BYTES)
    );
    println!("  the streams closed again: {:.1} MB", mb(closed));
    let report = json!({
        "streams": opened,
        "tills": tills,
        "streamsPerTill": per_till,
        "rssBytes": {
            "idle": idle,
            "paired": paired,
            "streamsOpen": with_streams,
            "afterKeepAlive": after_keep_alive,
            "peak": peak,
            "streamsClosed": closed,
        },
        "bytesPerStream": per_stream(after_keep_alive),
        "bytesPerStreamJustOpened": per_stream(with_streams),
        "goalBytes": GOAL_BYTES,
        "streamsCounted": counted,
    });
    std::fs::write(common::report_dir().join("streams.json"), serde_json::to_vec_pretty(&report).unwrap())
        .unwrap();
}

/// A value from the server's `/metrics`.
async fn metric(http: &reqwest::Client, base: &str, name: &str) -> Option<u64> {
    let text = http.get(format!("{base}metrics")).send().await.ok()?.text().await.ok()?;
    text.lines().find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
}

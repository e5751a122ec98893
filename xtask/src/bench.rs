//! `cargo xtask bench`: what the web app costs to download and how fast the sticker landing page
//! becomes usable on a slow phone, and how fast the simulator and the server answer.
//!
//! Builds the app, then measures every wasm, js, css and html file of each bundle, raw and
//! brotli-compressed at quality 11 (what the pre-compressed asset weighs on the wire) ([`PARTS`]):
//! the till's in `dist/` (against its 250 KB budget, in `target/bench/app-size.json`), the
//! camera's decoder worker beside it (fetched only by a browser without a BarcodeDetector, when
//! its camera opens; no budget), the history's and the customer display's (each a screen of the
//! till, against the same budget), and the sticker landing page's in `dist/landing/` (against its
//! 80 KB budget, in `target/bench/landing-size.json`). Budgets are reported, never enforced.
//!
//! Then the landing page's time to interactive ([`landing_load`], which drives chromedriver
//! itself): `/q/demo` loaded cold, again and again, in headless Chromium throttled through the
//! Chrome DevTools Protocol to a slow phone (150 ms round trip, 1.6 Mbit/s down, 4× CPU slowdown,
//! 360×740 screen), its median and 95th percentile printed and written to
//! `target/bench/landing-load.json`. Then the simulator's throughput benchmark
//! (`crates/sim/benches/throughput.rs`) reports requests per second for create + get into
//! `target/bench/sim-throughput.json`, and the server's (`crates/server/benches/throughput.rs`)
//! its sales per second on SQLite and, on a PostgreSQL cluster started for it with the default,
//! durable settings ([`postgres::cluster`], named in `KASSE_BENCH_POSTGRES`), with one instance
//! and with two; its overhead against the simulator; and the webhook-to-live-event latency, on
//! one instance and across two, into `target/bench/server.json`. Last, the server's memory with
//! 10 000 live event streams open (`crates/server/benches/streams.rs`) into
//! `target/bench/streams.json`. Figures, never pass/fail.

use std::fs;
use std::path::Path;

use crate::app;
use crate::compress::{self, BROTLI_QUALITY};
use crate::error::{Context, Error, Result};
use crate::landing_load;
use crate::postgres;
use crate::process::{self, announce};
use crate::workspace::Workspace;

/// The environment variable that names the PostgreSQL cluster's admin URL to the server's
/// throughput benchmark (`crates/server/benches/throughput.rs`).
const POSTGRES_VARIABLE: &str = "KASSE_BENCH_POSTGRES";

/// The file extensions that make up the app a browser downloads.
const MEASURED_EXTENSIONS: [&str; 4] = ["wasm", "js", "css", "html"];

/// A bundle's download budget: total brotli bytes of the measured files (decimal KB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    /// Whose budget, for the report: "the till's".
    whose: &'static str,
    /// The brotli bytes allowed.
    brotli_bytes: u64,
}

/// The till's budget.
const TILL_BUDGET: Budget = Budget { whose: "the till's", brotli_bytes: 250_000 };

/// The sticker landing page's budget: everything it loads, at most 80 KB with brotli.
const LANDING_BUDGET: Budget = Budget { whose: "the landing page's", brotli_bytes: 80_000 };

/// One thing measured: a bundle's files (or the decoder worker's), what they may weigh, and the
/// report they go to.
#[derive(Debug, Clone, Copy)]
struct Part {
    /// What it is, for the report.
    what: &'static str,
    /// Its folder under `dist/`.
    folder: &'static str,
    /// Whether a file (by its path relative to the folder) is part of it.
    takes: fn(&str) -> bool,
    /// What it may weigh, if anything.
    budget: Option<Budget>,
    /// Its report's file name in `target/bench/`.
    report: &'static str,
}

/// Everything `bench` measures.
const PARTS: [Part; 6] = [
    Part {
        what: "the till",
        folder: "",
        takes: is_tills,
        budget: Some(TILL_BUDGET),
        report: "app-size.json",
    },
    Part {
        what: "the camera's decoder worker (fetched only without a BarcodeDetector)",
        folder: "",
        takes: is_decoders,
        budget: None,
        report: "decoder-size.json",
    },
    Part {
        what: "the history",
        folder: "history",
        takes: |_| true,
        budget: Some(TILL_BUDGET),
        report: "history-size.json",
    },
    Part {
        what: "the customer display",
        folder: "display",
        takes: |_| true,
        budget: Some(TILL_BUDGET),
        report: "display-size.json",
    },
    Part {
        what: "the back office",
        folder: "admin",
        takes: |_| true,
        budget: Some(TILL_BUDGET),
        report: "admin-size.json",
    },
    Part {
        what: "the sticker landing page",
        folder: app::LANDING_FOLDER,
        takes: |_| true,
        budget: Some(LANDING_BUDGET),
        report: "landing-size.json",
    },
];

/// The decoder worker's files: Trunk names a worker's after its binary, without a hash.
fn is_decoders(path: &str) -> bool {
    path.starts_with("decoder")
}

/// The till's own files in `dist/`: neither the decoder worker's nor another bundle's folder.
fn is_tills(path: &str) -> bool {
    !is_decoders(path)
        && !app::BUNDLES.iter().any(|bundle| {
            !bundle.folder.is_empty()
                && path.strip_prefix(bundle.folder).is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The size of one file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileSize {
    /// Path relative to `dist/`, with `/` separators.
    path: String,
    /// Size on disk.
    raw_bytes: u64,
    /// Size after brotli at [`BROTLI_QUALITY`].
    brotli_bytes: u64,
}

/// Builds the app, measures both bundles and the landing page's load, then runs the throughput
/// benchmarks.
pub(crate) fn run(workspace: &Workspace) -> Result<()> {
    app::build(workspace)?;
    let report_dir = workspace.target_dir().join("bench");
    fs::create_dir_all(&report_dir).context(|| format!("creating {}", report_dir.display()))?;
    let dist = workspace.dist();
    for part in PARTS {
        let folder = dist.join(part.folder);
        announce(format!(
            "measuring {} in {} (brotli quality {BROTLI_QUALITY})",
            part.what,
            folder.display()
        ));
        let files = measure(&folder, part.takes)?;
        if files.is_empty() {
            return Err(Error::new(format!(
                "{} holds no {} files of {}; did the build write somewhere else?",
                folder.display(),
                MEASURED_EXTENSIONS.join("/"),
                part.what
            )));
        }
        print!("{}", table(&files, part.budget));
        let report = report_dir.join(part.report);
        fs::write(&report, to_json(&files, part.budget))
            .context(|| format!("writing {}", report.display()))?;
        announce(format!("wrote {}", report.display()));
    }

    announce("the landing page loading cold on a throttled phone (headless Chromium, CDP throttling)");
    landing_load::run(workspace, &report_dir)?;

    announce("simulator throughput (create + get over HTTP)");
    process::run(
        process::cargo()
            .args(["bench", "--locked", "-p", "kasse-sim", "--bench", "throughput"])
            .current_dir(workspace.root()),
    )?;

    server_benches(workspace)
}

/// The server's benchmarks: throughput on SQLite, and on a PostgreSQL cluster of the run's own
/// with the default, durable settings (one instance and two), then memory per live stream. A
/// cluster that cannot be started leaves the PostgreSQL figures out, saying why.
fn server_benches(workspace: &Workspace) -> Result<()> {
    // Room for two instances, as the README asks of a shared database (85 connections each at
    // most); with PostgreSQL's default of 100 the second instance's statements were refused
    // ("too many clients") and its figures were errors.
    let cluster = match postgres::cluster(&[("max_connections", "200")]) {
        Ok(cluster) => Some(cluster),
        Err(error) => {
            announce(format!("no PostgreSQL cluster, so no PostgreSQL figures: {error}"));
            None
        }
    };
    announce("server throughput (one instance on SQLite, one and two on PostgreSQL), webhook to live event");
    let mut throughput = process::cargo();
    throughput
        .args(["bench", "--locked", "-p", "kasse-server", "--bench", "throughput"])
        .current_dir(workspace.root());
    if let Some(cluster) = &cluster {
        throughput.env(POSTGRES_VARIABLE, cluster.url("postgres"));
    }
    let measured = process::run(&mut throughput);
    // Stopped here rather than left to the drop, so that a failure to stop is seen.
    let stopped = cluster.map_or(Ok(()), postgres::stop);
    measured?;
    stopped?;

    announce("server memory per live event stream");
    process::run(
        process::cargo()
            .args(["bench", "--locked", "-p", "kasse-server", "--bench", "streams"])
            .current_dir(workspace.root()),
    )
}

/// The sizes of the measured files under `root` that `takes` (by path relative to `root`, with
/// `/` separators), sorted by that path.
fn measure(root: &Path, takes: fn(&str) -> bool) -> Result<Vec<FileSize>> {
    let mut sizes = Vec::new();
    for path in compress::files_under(root)? {
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !is_measured(&path) || !takes(&relative) {
            continue;
        }
        let bytes = fs::read(&path).context(|| format!("reading {}", path.display()))?;
        sizes.push(FileSize {
            path: relative,
            raw_bytes: byte_count(bytes.len()),
            brotli_bytes: byte_count(
                compress::brotli(&bytes).context(|| format!("compressing {}", path.display()))?.len(),
            ),
        });
    }
    sizes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(sizes)
}

/// Whether the file is part of what a browser downloads for the app.
fn is_measured(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| MEASURED_EXTENSIONS.contains(&extension))
}

/// A byte count as `u64` (a `usize` always fits on the 64-bit hosts this runs on).
fn byte_count(length: usize) -> u64 {
    u64::try_from(length).unwrap_or(u64::MAX)
}

/// The raw and brotli totals over `files`.
fn totals(files: &[FileSize]) -> (u64, u64) {
    files.iter().fold((0, 0), |(raw, brotli), file| (raw + file.raw_bytes, brotli + file.brotli_bytes))
}

/// The human-readable report: one row per file, the totals, and the budget verdict if any.
fn table(files: &[FileSize], budget: Option<Budget>) -> String {
    let (raw_total, brotli_total) = totals(files);
    let width = files.iter().map(|file| file.path.len()).chain(["total".len()]).max().unwrap_or_default();
    let mut rows: Vec<(&str, u64, u64)> =
        files.iter().map(|file| (file.path.as_str(), file.raw_bytes, file.brotli_bytes)).collect();
    rows.push(("total", raw_total, brotli_total));

    let header = format!("{:width$}  {:>10}  {:>12}  {:>6}", "file", "raw bytes", "brotli bytes", "ratio");
    let body = rows.into_iter().map(|(path, raw, brotli)| {
        format!("{path:width$}  {raw:>10}  {brotli:>12}  {:>6}", percent(brotli, raw))
    });
    let budget = budget.map_or_else(
        || format!("brotli total {}", kilobytes(brotli_total)),
        |budget| {
            let verdict = if brotli_total <= budget.brotli_bytes { "within" } else { "OVER" };
            format!(
                "brotli total {} is {verdict} {} budget of {} (informational)",
                kilobytes(brotli_total),
                budget.whose,
                kilobytes(budget.brotli_bytes)
            )
        },
    );
    let mut lines = vec![header];
    lines.extend(body);
    lines.push(budget);
    lines.join("\n") + "\n"
}

/// The machine-readable report written to `target/bench/` (see [`PARTS`]); `budget` is `null`
/// for a part without one.
fn to_json(files: &[FileSize], budget: Option<Budget>) -> String {
    let (raw_total, brotli_total) = totals(files);
    let entries: Vec<String> = files
        .iter()
        .map(|file| {
            format!(
                "    {{ \"path\": {}, \"raw_bytes\": {}, \"brotli_bytes\": {} }}",
                serde_json::to_string(&file.path).unwrap_or_default(),
                file.raw_bytes,
                file.brotli_bytes
            )
        })
        .collect();
    format!(
        "{{\n  \"brotli_quality\": {BROTLI_QUALITY},\n  \"files\": [\n{}\n  ],\n  \
         \"total\": {{ \"raw_bytes\": {raw_total}, \"brotli_bytes\": {brotli_total} }},\n  \
         \"budget\": {}\n}}\n",
        entries.join(",\n"),
        budget.map_or_else(
            || "null".to_owned(),
            |budget| format!(
                "{{ \"brotli_bytes\": {}, \"within\": {} }}",
                budget.brotli_bytes,
                brotli_total <= budget.brotli_bytes
            )
        )
    )
}

/// Bytes as decimal kilobytes with one decimal, e.g. `66.2 KB` (integer maths, rounded).
fn kilobytes(bytes: u64) -> String {
    let tenths = (bytes + 50) / 100;
    format!("{}.{} KB", tenths / 10, tenths % 10)
}

/// `part` as a whole percentage of `whole`, e.g. `36%`; `-` for an empty file.
fn percent(part: u64, whole: u64) -> String {
    (part * 100 + whole / 2).checked_div(whole).map_or_else(|| "-".to_owned(), |share| format!("{share}%"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failing test should panic with the error")]
mod tests {
    use super::*;

    fn file(path: &str, raw_bytes: u64, brotli_bytes: u64) -> FileSize {
        FileSize { path: path.to_owned(), raw_bytes, brotli_bytes }
    }

    #[test]
    fn only_the_files_a_browser_downloads_are_measured() {
        for measured in ["index.html", "kasse-1a2b_bg.wasm", "kasse-1a2b.js", "style.css"] {
            assert!(is_measured(Path::new(measured)), "{measured}");
        }
        for ignored in ["favicon.ico", "logo.svg", "app.wasm.br", "README"] {
            assert!(!is_measured(Path::new(ignored)), "{ignored}");
        }
    }

    #[test]
    fn files_are_found_at_any_depth_and_each_bundle_is_measured_apart() {
        let dist = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        fs::create_dir_all(dist.join("snippets/kasse-1a2b")).unwrap();
        fs::write(dist.join("index.html"), "<html></html>").unwrap();
        fs::write(dist.join("snippets/kasse-1a2b/inline0.js"), "export {}").unwrap();
        fs::write(dist.join("favicon.ico"), [0_u8; 4]).unwrap();

        fs::create_dir_all(dist.join("landing")).unwrap();
        fs::write(dist.join("landing/index.html"), "<html></html>").unwrap();
        fs::write(dist.join("landing/index.html.br"), "br").unwrap();

        fs::write(dist.join("decoder_bg.wasm"), [0_u8; 4]).unwrap();
        fs::write(dist.join("decoder_loader.js"), "importScripts()").unwrap();
        fs::create_dir_all(dist.join("history")).unwrap();
        fs::write(dist.join("history/index.html"), "<html></html>").unwrap();

        let paths = |folder: &Path, takes| -> Vec<_> {
            measure(folder, takes).unwrap().into_iter().map(|file| file.path).collect()
        };
        let till = paths(&dist, is_tills);
        let decoder = paths(&dist, is_decoders);
        let landing = paths(&dist.join("landing"), |_| true);
        fs::remove_dir_all(&dist).unwrap();
        assert_eq!(
            till,
            ["index.html", "snippets/kasse-1a2b/inline0.js"],
            "the till without the decoder worker, the history or the landing page"
        );
        assert_eq!(decoder, ["decoder_bg.wasm", "decoder_loader.js"]);
        assert_eq!(landing, ["index.html"], "the landing page alone, without its compressed twins");
    }

    #[test]
    fn the_json_report_holds_every_file_the_totals_and_the_budget() {
        let json =
            to_json(&[file("index.html", 1_000, 400), file("app.wasm", 9_000, 3_000)], Some(TILL_BUDGET));
        assert_eq!(
            json,
            r#"{
  "brotli_quality": 11,
  "files": [
    { "path": "index.html", "raw_bytes": 1000, "brotli_bytes": 400 },
    { "path": "app.wasm", "raw_bytes": 9000, "brotli_bytes": 3000 }
  ],
  "total": { "raw_bytes": 10000, "brotli_bytes": 3400 },
  "budget": { "brotli_bytes": 250000, "within": true }
}
"#
        );
    }

    #[test]
    fn a_part_without_a_budget_reports_its_total_alone() {
        let text = table(&[file("decoder_bg.wasm", 150_000, 60_000)], None);
        assert!(text.ends_with("brotli total 60.0 KB\n"), "{text}");
        assert!(to_json(&[], None).contains("\"budget\": null"));
    }

    #[test]
    fn the_table_says_when_the_brotli_total_is_over_budget() {
        let over = table(&[file("app.wasm", 900_000, 250_001)], Some(TILL_BUDGET));
        assert!(over.contains("250.0 KB is OVER the till's budget of 250.0 KB"), "{over}");
        let within = table(&[file("app.wasm", 900_000, 250_000)], Some(TILL_BUDGET));
        assert!(within.contains("is within the till's budget"), "{within}");
        let landing = table(&[file("landing_bg.wasm", 300_000, 80_001)], Some(LANDING_BUDGET));
        assert!(landing.contains("80.0 KB is OVER the landing page's budget of 80.0 KB"), "{landing}");
        let json = to_json(&[file("landing_bg.wasm", 300_000, 79_000)], Some(LANDING_BUDGET));
        assert!(json.contains(r#""budget": { "brotli_bytes": 80000, "within": true }"#), "{json}");
    }

    #[test]
    fn the_table_has_a_row_per_file_and_a_total_row() {
        let text =
            table(&[file("index.html", 1_000, 400), file("app.wasm", 9_000, 3_000)], Some(TILL_BUDGET));
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "file         raw bytes  brotli bytes   ratio");
        assert_eq!(lines[1], "index.html        1000           400     40%");
        assert_eq!(lines[2], "app.wasm          9000          3000     33%");
        assert_eq!(lines[3], "total            10000          3400     34%");
    }

    #[test]
    fn kilobytes_are_decimal_and_rounded_to_a_tenth() {
        assert_eq!(kilobytes(66_249), "66.2 KB");
        assert_eq!(kilobytes(66_250), "66.3 KB");
        assert_eq!(kilobytes(0), "0.0 KB");
    }
}

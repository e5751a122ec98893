//! `cargo xtask bench`: what the web app costs to download, and how fast the simulator answers.
//!
//! Builds the app, then measures every wasm, js, css and html file in `dist/`, raw and
//! brotli-compressed at quality 11 (what a precompressed asset would weigh on the wire). The
//! figures go to a table on stdout and to `target/bench/app-size.json` for tools and CI to
//! compare; the till's 250 KB brotli budget is reported but never fails the run. Then the
//! simulator's throughput benchmark (`crates/sim/benches/throughput.rs`) reports requests per
//! second for create + get into `target/bench/sim-throughput.json`, and the server's
//! (`crates/server/benches/throughput.rs`) its creates per second, its overhead against the
//! simulator and the webhook-to-live-event latency into `target/bench/server.json`. Figures,
//! never pass/fail.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::app;
use crate::error::{Context, Error, Result};
use crate::process::{self, announce};
use crate::workspace::Workspace;

/// The file extensions that make up the app a browser downloads.
const MEASURED_EXTENSIONS: [&str; 4] = ["wasm", "js", "css", "html"];

/// Brotli's highest quality, the setting for assets compressed once at build time.
const BROTLI_QUALITY: i32 = 11;

/// Brotli's default window (log2 of 4 MiB), larger than any file here.
const BROTLI_WINDOW: i32 = 22;

/// The till's download budget: total brotli bytes of the measured files (decimal KB).
const BUDGET_BROTLI_BYTES: u64 = 250_000;

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

/// Builds the app, measures `dist/`, prints the table and writes the JSON report.
pub(crate) fn run(workspace: &Workspace) -> Result<()> {
    app::build(workspace)?;
    let dist = workspace.dist();
    announce(format!("measuring {} (brotli quality {BROTLI_QUALITY})", dist.display()));
    let files = measure(&dist)?;
    if files.is_empty() {
        return Err(Error::new(format!(
            "{} holds no {} files; did the build write somewhere else?",
            dist.display(),
            MEASURED_EXTENSIONS.join("/")
        )));
    }
    print!("{}", table(&files));

    let report_dir = workspace.target_dir().join("bench");
    let report = report_dir.join("app-size.json");
    fs::create_dir_all(&report_dir).context(|| format!("creating {}", report_dir.display()))?;
    fs::write(&report, to_json(&files)).context(|| format!("writing {}", report.display()))?;
    announce(format!("wrote {}", report.display()));

    announce("simulator throughput (create + get over HTTP)");
    process::run(
        process::cargo()
            .args(["bench", "--locked", "-p", "kasse-sim", "--bench", "throughput"])
            .current_dir(workspace.root()),
    )?;

    announce("server throughput, overhead against the simulator, webhook to live event");
    process::run(
        process::cargo()
            .args(["bench", "--locked", "-p", "kasse-server", "--bench", "throughput"])
            .current_dir(workspace.root()),
    )?;
    Ok(())
}

/// The sizes of the measured files under `dist`, sorted by path.
fn measure(dist: &Path) -> Result<Vec<FileSize>> {
    let mut sizes = Vec::new();
    for path in files_under(dist)? {
        if !is_measured(&path) {
            continue;
        }
        let bytes = fs::read(&path).context(|| format!("reading {}", path.display()))?;
        let relative = path.strip_prefix(dist).unwrap_or(&path);
        sizes.push(FileSize {
            path: relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            raw_bytes: byte_count(bytes.len()),
            brotli_bytes: brotli_size(&bytes).context(|| format!("compressing {}", path.display()))?,
        });
    }
    sizes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(sizes)
}

/// Every regular file below `root`, at any depth (Trunk puts JS snippets in subfolders).
fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(&folder).context(|| format!("listing {}", folder.display()))?;
        for entry in entries {
            let entry = entry.context(|| format!("listing {}", folder.display()))?;
            let kind = entry.file_type().context(|| format!("inspecting {}", entry.path().display()))?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    Ok(files)
}

/// Whether the file is part of what a browser downloads for the app.
fn is_measured(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| MEASURED_EXTENSIONS.contains(&extension))
}

/// The length of `bytes` once brotli-compressed at [`BROTLI_QUALITY`].
fn brotli_size(bytes: &[u8]) -> Result<u64> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_WINDOW,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut compressed = Vec::new();
    brotli::BrotliCompress(&mut &bytes[..], &mut compressed, &params).context(|| "brotli".to_owned())?;
    Ok(byte_count(compressed.len()))
}

/// A byte count as `u64` (a `usize` always fits on the 64-bit hosts this runs on).
fn byte_count(length: usize) -> u64 {
    u64::try_from(length).unwrap_or(u64::MAX)
}

/// The raw and brotli totals over `files`.
fn totals(files: &[FileSize]) -> (u64, u64) {
    files.iter().fold((0, 0), |(raw, brotli), file| (raw + file.raw_bytes, brotli + file.brotli_bytes))
}

/// The human-readable report: one row per file, the totals, and the budget verdict.
fn table(files: &[FileSize]) -> String {
    let (raw_total, brotli_total) = totals(files);
    let width = files.iter().map(|file| file.path.len()).chain(["total".len()]).max().unwrap_or_default();
    let mut rows: Vec<(&str, u64, u64)> =
        files.iter().map(|file| (file.path.as_str(), file.raw_bytes, file.brotli_bytes)).collect();
    rows.push(("total", raw_total, brotli_total));

    let header = format!("{:width$}  {:>10}  {:>12}  {:>6}", "file", "raw bytes", "brotli bytes", "ratio");
    let body = rows.into_iter().map(|(path, raw, brotli)| {
        format!("{path:width$}  {raw:>10}  {brotli:>12}  {:>6}", percent(brotli, raw))
    });
    let verdict = if brotli_total <= BUDGET_BROTLI_BYTES { "within" } else { "OVER" };
    let budget = format!(
        "brotli total {} is {verdict} the till's budget of {} (informational)",
        kilobytes(brotli_total),
        kilobytes(BUDGET_BROTLI_BYTES)
    );
    let mut lines = vec![header];
    lines.extend(body);
    lines.push(budget);
    lines.join("\n") + "\n"
}

/// The machine-readable report written to `target/bench/app-size.json`.
fn to_json(files: &[FileSize]) -> String {
    let (raw_total, brotli_total) = totals(files);
    let entries: Vec<String> = files
        .iter()
        .map(|file| {
            format!(
                "    {{ \"path\": {}, \"raw_bytes\": {}, \"brotli_bytes\": {} }}",
                json_string(&file.path),
                file.raw_bytes,
                file.brotli_bytes
            )
        })
        .collect();
    format!(
        "{{\n  \"brotli_quality\": {BROTLI_QUALITY},\n  \"files\": [\n{}\n  ],\n  \
         \"total\": {{ \"raw_bytes\": {raw_total}, \"brotli_bytes\": {brotli_total} }},\n  \
         \"budget\": {{ \"brotli_bytes\": {BUDGET_BROTLI_BYTES}, \"within\": {} }}\n}}\n",
        entries.join(",\n"),
        brotli_total <= BUDGET_BROTLI_BYTES
    )
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            // Writing to a String cannot fail.
            c if u32::from(c) < 0x20 => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
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
    use std::io::Read as _;

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
    fn brotli_output_is_smaller_for_repetitive_text_and_decompresses_to_the_input() {
        let input = "<div class=\"row\">kasse</div>\n".repeat(200);
        let size = brotli_size(input.as_bytes()).unwrap();
        assert!(size < 100, "compressed to {size} bytes");

        let mut compressed = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: BROTLI_QUALITY, ..Default::default() };
        brotli::BrotliCompress(&mut input.as_bytes(), &mut compressed, &params).unwrap();
        let mut output = String::new();
        brotli::Decompressor::new(&compressed[..], 4096).read_to_string(&mut output).unwrap();
        assert_eq!(output, input);
    }

    #[test]
    fn files_are_found_at_any_depth_of_dist() {
        let dist = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        fs::create_dir_all(dist.join("snippets/kasse-1a2b")).unwrap();
        fs::write(dist.join("index.html"), "<html></html>").unwrap();
        fs::write(dist.join("snippets/kasse-1a2b/inline0.js"), "export {}").unwrap();
        fs::write(dist.join("favicon.ico"), [0_u8; 4]).unwrap();

        let paths: Vec<_> = measure(&dist).unwrap().into_iter().map(|file| file.path).collect();
        fs::remove_dir_all(&dist).unwrap();
        assert_eq!(paths, ["index.html", "snippets/kasse-1a2b/inline0.js"]);
    }

    #[test]
    fn the_json_report_holds_every_file_the_totals_and_the_budget() {
        let json = to_json(&[file("index.html", 1_000, 400), file("app.wasm", 9_000, 3_000)]);
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
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(json_string("a\"b\\c\nd"), r#""a\"b\\c\u000ad""#);
    }

    #[test]
    fn the_table_says_when_the_brotli_total_is_over_budget() {
        let over = table(&[file("app.wasm", 900_000, 250_001)]);
        assert!(over.contains("250.0 KB is OVER the till's budget of 250.0 KB"), "{over}");
        let within = table(&[file("app.wasm", 900_000, 250_000)]);
        assert!(within.contains("is within the till's budget"), "{within}");
    }

    #[test]
    fn the_table_has_a_row_per_file_and_a_total_row() {
        let text = table(&[file("index.html", 1_000, 400), file("app.wasm", 9_000, 3_000)]);
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

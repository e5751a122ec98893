//! The sticker landing page loading cold on a slow phone: part of `cargo xtask bench`.
//!
//! A customer scans a till's sticker on a phone with a weak connection; what matters is how soon
//! the form they fill in is on screen and working. This module serves the built app with
//! kasse-server (its release build, on the demo configuration and the built-in simulator, data in
//! a scratch folder), has the demo till present an amount so the page shows that form, and then
//! loads `/q/demo` cold, [`LOADS`] times, in headless Chromium throttled through the Chrome
//! DevTools Protocol to [`PROFILE`]. The page marks the moment it is ready to use on its root
//! element (`html[data-ready]`, milliseconds since navigation started), so the figure comes from
//! the page's own clock, however this program waits for it.
//!
//! It prints the median and 95th percentile (against targets of 1.0 s and 1.5 s, never
//! enforced) and what the page transferred, and writes them to `target/bench/landing-load.json`.
//! It fails only when the page cannot be measured at all. Chromium is driven through chromedriver by [`webdriver`], the
//! same pair the browser journeys use; the journeys are tests, this is a measurement, so it lives
//! here and not in the test binary.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::process::{self, announce};
use crate::tools;
use crate::webdriver::{self, Chromedriver, Session, object};
use crate::workspace::Workspace;
use serde_json::Value as Json;

/// How many cold loads are measured.
const LOADS: usize = 20;

/// The page measured: the demo till's sticker.
const PAGE: &str = "q/demo";

/// The demo till, whose sticker [`PAGE`] is.
const TILL: &str = "till-1";

/// The keys the cashier types on the till's keypad: 45.00.
const AMOUNT_KEYS: [&str; 3] = ["4", "5", "00"];

/// The target for the median, reported against (never asserted).
const MEDIAN_TARGET_MS: f64 = 1_000.0;

/// The target for the 95th percentile, reported against (never asserted).
const TARGET_MS: f64 = 1_500.0;

/// How long kasse-server may take to listen after it starts.
const SERVER_STARTUP: Duration = Duration::from_mins(1);

/// A slow phone: its connection, its processor and its screen.
#[derive(Debug, Clone, Copy)]
struct Profile {
    /// Round trip added to every request.
    latency_ms: u32,
    /// Download speed.
    download_bytes_per_s: u32,
    /// Upload speed.
    upload_bytes_per_s: u32,
    /// How many times slower than this machine's processor.
    cpu_slowdown: u32,
    /// The screen in CSS pixels: width, height.
    screen: (u32, u32),
}

/// The issue's phone: 150 ms round trip, 1.6 Mbit/s down, a 4× slower processor, a 360 × 740
/// screen; 750 kbit/s up as in Lighthouse's mobile profile.
const PROFILE: Profile = Profile {
    latency_ms: 150,
    download_bytes_per_s: 1_600_000 / 8,
    upload_bytes_per_s: 750_000 / 8,
    cpu_slowdown: 4,
    screen: (360, 740),
};

/// Chromium's command line: headless, and quiet, as the machine has no network beyond loopback
/// and background services would only add requests to what is measured.
const CHROMIUM_ARGS: [&str; 10] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=480,1000",
    "--hide-scrollbars",
];

/// The start of every script run in the page: `done` ends it with a value; `until` waits for an
/// element, polling as WebDriver's own waits do (the session's script timeout ends a wait that
/// never succeeds); `fail` reports an error in WebDriver's own shape, so the client reads it as
/// a failed command.
const PRELUDE: &str = "
    const done = arguments[arguments.length - 1];
    const until = (css) => new Promise((found) => {
        const look = () => {
            const element = document.querySelector(css);
            if (element) { found(element); } else { setTimeout(look, 20); }
        };
        look();
    });
    const fail = (error) => done({ error: 'javascript error', message: String(error) });
";

/// Pairs this browser with the till whose one-time code is `arguments[0]`, as the pairing page
/// does: the server answers with the till's session cookie.
const PAIR_SCRIPT: &str = "
    fetch('/api/pair', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: arguments[0] }),
    }).then((answer) => done(answer.status), fail);
";

/// On the till page: types the keys in `arguments[0]` and presents the amount at the till's
/// sticker.
const PRESENT_SCRIPT: &str = "
    (async () => {
        await until('#show-qr');
        for (const key of arguments[0]) {
            document.querySelector(`button[data-key='${key}']`).click();
        }
        (await until('#flow-present:not([disabled])')).click();
        done((await until('#presented')).textContent.trim());
    })().catch(fail);
";

/// On the landing page, once it is ready to use: when that was, and what it loaded (from
/// Resource Timing): its own files (the page, JS, WebAssembly, CSS) and the API, in bytes on
/// the wire and as encoded.
const LOAD_SCRIPT: &str = "
    (async () => {
        const root = await until('html[data-ready]');
        await until('#phone');
        const page = performance.getEntriesByType('navigation')[0];
        const all = [page, ...performance.getEntriesByType('resource')];
        const api = (e) => new URL(e.name).pathname.startsWith('/api/');
        const sum = (list, key) => list.reduce((total, e) => total + e[key], 0);
        const files = all.filter((e) => !api(e));
        done({
            readyMs: Number(root.getAttribute('data-ready')),
            transfer: {
                files: files.length,
                filesTransferred: sum(files, 'transferSize'),
                filesEncoded: sum(files, 'encodedBodySize'),
                filesDecoded: sum(files, 'decodedBodySize'),
                apiTransferred: sum(all.filter(api), 'transferSize'),
                pageReceivedMs: page.responseEnd,
            },
        });
    })().catch(fail);
";

/// How the server sent the page: its `Content-Encoding`.
const ENCODING_SCRIPT: &str = "
    fetch(location.href, { cache: 'no-store' })
        .then((answer) => done(answer.headers.get('content-encoding') || 'none'), fail);
";

/// What the loads measured.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    /// Each load's time to interactive, in milliseconds, in the order measured.
    ready_ms: Vec<f64>,
    /// What the last load transferred, as the page reported it.
    transfer: Json,
    /// How the page was encoded on the wire.
    encoding: String,
}

/// The median, 95th percentile and extremes of some times, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Spread {
    p50: f64,
    p95: f64,
    min: f64,
    max: f64,
}

impl Spread {
    /// The spread of `times`; `None` when there are none.
    fn of(times: &[f64]) -> Option<Self> {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Self {
            p50: percentile(&sorted, 0.5)?,
            p95: percentile(&sorted, 0.95)?,
            min: *sorted.first()?,
            max: *sorted.last()?,
        })
    }
}

/// The value at `rank` (0 to 1) of `sorted`, by nearest rank; `None` when it is empty.
fn percentile(sorted: &[f64], rank: f64) -> Option<f64> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank of a few dozen values"
    )]
    let at = (rank * sorted.len() as f64).ceil() as usize;
    sorted.get(at.clamp(1, sorted.len().max(1)) - 1).copied()
}

/// Builds kasse-server, measures the landing page loading cold on [`PROFILE`], prints the
/// figures and writes them to `report_dir/landing-load.json`.
pub(crate) fn run(workspace: &Workspace, report_dir: &Path) -> Result<()> {
    tools::ensure_chromium()?;
    announce("building kasse-server (release) to serve the app");
    process::run(
        process::cargo()
            .args(["build", "--release", "--locked", "-p", "kasse-server"])
            .current_dir(workspace.root()),
    )?;
    let scratch = workspace.target_dir().join("landing-load");
    // A previous run's data would only be in the way: the demo starts from an empty store.
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).context(|| format!("creating {}", scratch.display()))?;

    announce(format!(
        "loading /{PAGE} cold {LOADS} times in headless Chromium, throttled through the DevTools protocol"
    ));
    let measured = measure(workspace, &scratch).map_err(|error| {
        Error::new(format!("{error} (server log: {})", scratch.join("server.log").display()))
    })?;
    let spread = Spread::of(&measured.ready_ms).ok_or_else(|| Error::new("no load was measured"))?;
    print!("{}", summary(&measured, spread));
    let report = report_dir.join("landing-load.json");
    fs::write(&report, serde_json::to_string_pretty(&to_json(&measured, spread)).unwrap_or_default())
        .context(|| format!("writing {}", report.display()))?;
    announce(format!("wrote {}", report.display()));
    // Kept after a failure, for its server log; of no use after a success.
    let _ = fs::remove_dir_all(&scratch);
    Ok(())
}

/// Starts the server, chromedriver and Chromium, has the till present an amount, and loads the
/// page [`LOADS`] times on the throttled profile. Everything started stops when this returns.
fn measure(workspace: &Workspace, scratch: &Path) -> Result<Measured> {
    let server = Server::start(workspace, scratch)?;
    let code = server.pairing_code(TILL)?;
    let driver = Chromedriver::start(tools::CHROMEDRIVER)?;
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&arg| arg.to_owned()).collect();
    args.push(format!("--user-data-dir={}", scratch.join("chromium").display()));
    let browser = Session::start(&driver, tools::CHROMIUM, &args)?;

    // The till presents an amount, so the page is the form a customer fills in; then this one
    // window becomes the customer's phone (the till page goes away with it).
    browser.navigate(&server.url("pair"))?;
    let paired = browser.execute_async(&script(PAIR_SCRIPT), vec![Json::from(code)])?;
    if !paired.as_f64().is_some_and(|status| (200.0..300.0).contains(&status)) {
        return Err(Error::new(format!("pairing the browser with {TILL} was answered {paired}")));
    }
    browser.navigate(&server.url("till"))?;
    let keys = AMOUNT_KEYS.iter().map(|&key| Json::from(key)).collect::<Vec<_>>();
    browser
        .execute_async(&script(PRESENT_SCRIPT), vec![Json::from(keys)])
        .context(|| format!("presenting {} at {TILL}'s sticker", AMOUNT_KEYS.concat()))?;

    browser.navigate("about:blank")?;
    throttle(&browser)?;
    let url = server.url(PAGE);
    let mut ready_ms = Vec::with_capacity(LOADS);
    let mut transfer = Json::Null;
    for load in 1..=LOADS {
        // From a blank page each time, so nothing of the previous load is still running.
        browser.navigate("about:blank")?;
        browser.navigate(&url)?;
        let result =
            browser.execute_async(&script(LOAD_SCRIPT), vec![]).context(|| format!("load {load}"))?;
        let ready = result.get("readyMs").and_then(Json::as_f64).ok_or_else(|| {
            Error::new(format!("load {load}: the page gave no time to interactive: {result}"))
        })?;
        ready_ms.push(ready);
        transfer = result.get("transfer").cloned().unwrap_or(Json::Null);
    }
    let encoding = browser.execute_async(&script(ENCODING_SCRIPT), vec![])?;
    let encoding = encoding.as_str().unwrap_or("?").to_owned();
    Ok(Measured { ready_ms, transfer, encoding })
}

/// `body` after the [`PRELUDE`].
fn script(body: &str) -> String {
    format!("{PRELUDE}{body}")
}

/// Makes the current window [`PROFILE`]'s phone: its screen, its connection (with the cache off,
/// so every load is cold) and its processor.
fn throttle(browser: &Session<'_>) -> Result<()> {
    let (width, height) = PROFILE.screen;
    browser.cdp(
        "Emulation.setDeviceMetricsOverride",
        object([
            ("width", Json::from(width)),
            ("height", Json::from(height)),
            ("deviceScaleFactor", Json::from(1_u32)),
            ("mobile", Json::from(true)),
        ]),
    )?;
    browser.cdp("Network.enable", object([]))?;
    browser.cdp("Network.setCacheDisabled", object([("cacheDisabled", Json::from(true))]))?;
    browser.cdp(
        "Network.emulateNetworkConditions",
        object([
            ("offline", Json::from(false)),
            ("latency", Json::from(PROFILE.latency_ms)),
            ("downloadThroughput", Json::from(PROFILE.download_bytes_per_s)),
            ("uploadThroughput", Json::from(PROFILE.upload_bytes_per_s)),
        ]),
    )?;
    browser.cdp("Emulation.setCPUThrottlingRate", object([("rate", Json::from(PROFILE.cpu_slowdown))]))?;
    Ok(())
}

/// The figures as printed: the profile, the spread of the times to interactive, what the last
/// load transferred.
fn summary(measured: &Measured, spread: Spread) -> String {
    let (width, height) = PROFILE.screen;
    let verdict = |ms: f64, target: f64| if ms <= target { "within" } else { "OVER" };
    let figure = |key: &str| {
        measured
            .transfer
            .get(key)
            .and_then(Json::as_f64)
            .map_or_else(|| "?".to_owned(), |n| format!("{n:.0}"))
    };
    format!(
        "landing page /{PAGE}: {} cold loads, {} ms round trip, {} kbit/s down, {}× CPU slowdown, \
         {width}×{height}\n  \
         time to interactive: p50 {:.0} ms  p95 {:.0} ms  (min {:.0} ms, max {:.0} ms; \
         targets p50 ≤ {MEDIAN_TARGET_MS:.0} ms: {}, p95 ≤ {TARGET_MS:.0} ms: {}, informational)\n  \
         page files: {} bytes on the wire ({} encoded, as {}), API {} bytes\n",
        measured.ready_ms.len(),
        PROFILE.latency_ms,
        PROFILE.download_bytes_per_s * 8 / 1000,
        PROFILE.cpu_slowdown,
        spread.p50,
        spread.p95,
        spread.min,
        spread.max,
        verdict(spread.p50, MEDIAN_TARGET_MS),
        verdict(spread.p95, TARGET_MS),
        figure("filesTransferred"),
        figure("filesEncoded"),
        measured.encoding,
        figure("apiTransferred"),
    )
}

/// The machine-readable report, `target/bench/landing-load.json`.
fn to_json(measured: &Measured, spread: Spread) -> Json {
    let (width, height) = PROFILE.screen;
    let all = measured.ready_ms.iter().map(|&ms| Json::from(ms)).collect::<Vec<_>>();
    #[allow(clippy::cast_precision_loss, reason = "a count of a few dozen loads")]
    let loads = measured.ready_ms.len() as f64;
    object([
        (
            "profile",
            object([
                ("latencyMs", Json::from(PROFILE.latency_ms)),
                ("downloadBytesPerSecond", Json::from(PROFILE.download_bytes_per_s)),
                ("uploadBytesPerSecond", Json::from(PROFILE.upload_bytes_per_s)),
                ("cpuSlowdown", Json::from(PROFILE.cpu_slowdown)),
                ("viewport", object([("width", Json::from(width)), ("height", Json::from(height))])),
                ("throttling", Json::from("Chrome DevTools Protocol (per request), cache disabled")),
            ]),
        ),
        ("page", Json::from(PAGE)),
        (
            "interactive",
            Json::from(
                "html[data-ready]: the form is on screen with its handlers, ms since navigation start",
            ),
        ),
        ("loads", Json::from(loads)),
        (
            "interactiveMs",
            object([
                ("median", Json::from(spread.p50)),
                ("p95", Json::from(spread.p95)),
                ("min", Json::from(spread.min)),
                ("max", Json::from(spread.max)),
                ("all", Json::from(all)),
            ]),
        ),
        ("medianTargetMs", Json::from(MEDIAN_TARGET_MS)),
        ("medianWithinTarget", Json::from(spread.p50 <= MEDIAN_TARGET_MS)),
        ("targetMs", Json::from(TARGET_MS)),
        ("p95WithinTarget", Json::from(spread.p95 <= TARGET_MS)),
        ("lastLoad", measured.transfer.clone()),
        ("contentEncoding", Json::from(measured.encoding.as_str())),
    ])
}

/// kasse-server serving the built app on the demo configuration, stopped when dropped.
#[derive(Debug)]
struct Server {
    child: Child,
    /// The built binary, also for its `till pair` command.
    binary: PathBuf,
    /// Its database, which `till pair` writes the code into.
    database: String,
    /// Where it listens, as `http://127.0.0.1:port/`.
    base: String,
}

impl Server {
    /// Starts the release build on a free port, its data (and its log, `server.log`) in
    /// `scratch`, and waits until it listens.
    fn start(workspace: &Workspace, scratch: &Path) -> Result<Self> {
        let binary = workspace.target_dir().join("release").join("kasse-server");
        let port = webdriver::free_port()?;
        let log_path = scratch.join("server.log");
        let log = File::create(&log_path).context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(&binary)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--dist")
            .arg(workspace.dist())
            .arg("--data")
            .arg(scratch)
            // No configuration file: the demo, on the built-in simulator.
            .env_remove("KASSE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .current_dir(workspace.root())
            .spawn()
            .context(|| format!("starting {}", binary.display()))?;
        let mut server = Self {
            child,
            binary,
            // The same database `serve --data` opens.
            database: format!("sqlite://{}", scratch.join("kasse.db").display()),
            base: format!("http://127.0.0.1:{port}/"),
        };
        let deadline = Instant::now() + SERVER_STARTUP;
        while !webdriver::listening(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(Error::new(format!("kasse-server stopped at once ({status})")));
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!("kasse-server did not listen on port {port}")));
            }
            thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    /// The address of `path` on this server.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A one-time code pairing a browser with `till`, from `kasse-server till pair`, which prints
    /// the code alone on stdout for scripts like this one.
    fn pairing_code(&self, till: &str) -> Result<String> {
        let output = Command::new(&self.binary)
            .args(["till", "pair", till])
            .env_remove("KASSE_CONFIG")
            .env("KASSE_DATABASE_URL", &self.database)
            .stdin(Stdio::null())
            .output()
            .context(|| format!("running {} till pair", self.binary.display()))?;
        let code = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !code.is_empty() {
            Ok(code)
        } else {
            Err(Error::new(format!(
                "kasse-server till pair {till} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Its data is thrown away with the scratch folder, so there is nothing to shut down
        // gracefully for.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(ready_ms: Vec<f64>) -> Measured {
        Measured {
            ready_ms,
            transfer: object([
                ("filesTransferred", Json::from(101_234.0)),
                ("filesEncoded", Json::from(99_300.0)),
                ("apiTransferred", Json::from(1_234.0)),
            ]),
            encoding: "br".to_owned(),
        }
    }

    #[test]
    fn percentiles_are_taken_by_nearest_rank() {
        let sorted: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(10.0));
        assert_eq!(percentile(&sorted, 0.95), Some(19.0));
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn the_spread_sorts_the_times_first() {
        let spread = Spread::of(&[1_300.0, 1_100.0, 1_200.0, 1_000.0]).unwrap();
        assert_eq!(spread, Spread { p50: 1_100.0, p95: 1_300.0, min: 1_000.0, max: 1_300.0 });
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn the_summary_gives_the_profile_the_median_and_spread_and_the_transfer() {
        let measured = measured(vec![1_102.4, 1_150.2]);
        let spread = Spread { p50: 1_102.4, p95: 1_150.2, min: 1_080.0, max: 1_190.0 };
        assert_eq!(
            summary(&measured, spread),
            "landing page /q/demo: 2 cold loads, 150 ms round trip, 1600 kbit/s down, 4× CPU slowdown, 360×740\n  \
             time to interactive: p50 1102 ms  p95 1150 ms  (min 1080 ms, max 1190 ms; \
             targets p50 ≤ 1000 ms: OVER, p95 ≤ 1500 ms: within, informational)\n  \
             page files: 101234 bytes on the wire (99300 encoded, as br), API 1234 bytes\n"
        );
        let slow = Spread { p95: 1_500.5, ..spread };
        assert!(summary(&measured, slow).contains("p95 ≤ 1500 ms: OVER, informational"));
        let quick = Spread { p50: 950.0, ..spread };
        assert!(summary(&measured, quick).contains("p50 ≤ 1000 ms: within,"));
    }

    #[test]
    fn the_report_holds_the_profile_every_time_and_the_verdict() {
        let measured = measured(vec![1_000.0, 2_000.0]);
        let report = to_json(&measured, Spread::of(&measured.ready_ms).unwrap());
        let times = report.get("interactiveMs").unwrap();
        assert_eq!(times.get("median"), Some(&Json::from(1_000.0)));
        assert_eq!(times.get("all"), Some(&Json::from(vec![Json::from(1_000.0), Json::from(2_000.0)])));
        assert_eq!(report.get("p95WithinTarget"), Some(&Json::from(false)));
        assert_eq!(report.get("medianWithinTarget"), Some(&Json::from(true)), "1000 ms is within 1.0 s");
        assert_eq!(report.get("profile").and_then(|p| p.get("latencyMs")), Some(&Json::from(150_u32)));
        assert_eq!(report.get("contentEncoding").and_then(Json::as_str), Some("br"));
    }
}

//! `cargo xtask test`: every check the project has, in order, stopping at the first failure.
//!
//! The cheap checks come first (formatting, clippy for both targets), so a typo fails in seconds.
//! Then one throwaway PostgreSQL cluster starts (Debian's `postgresql`, installed with apt if
//! missing; see `postgres.rs`), and every later `cargo test` gets its admin URL in
//! `KASSE_TEST_POSTGRES`; it is stopped when the suite ends, passed or failed. Then come the
//! native tests and a short chaos run (two server instances sharing a database in that cluster,
//! one at a time killed under concurrent sales, every sale compared with the platform); the app
//! build and the browser tests in headless Chromium come
//! last and can be skipped with `--no-browser`. Each step is timed, and a summary table ends the
//! run whether it passed or not, so CI logs show at a glance where the time and the failure went.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use kasse_pgtemp::Cluster;

use crate::app;
use crate::chaos;
use crate::error::{Error, Result};
use crate::postgres;
use crate::process::{self, announce, format_duration};
use crate::tools;
use crate::workspace::Workspace;

/// One check of the suite.
struct Step {
    /// Short name for headers, errors and the summary.
    name: &'static str,
    /// Whether the step belongs to the browser half that `--no-browser` skips.
    browser: bool,
    /// Runs the step.
    action: fn(&mut Run<'_>) -> Result<()>,
}

/// What the steps share: the workspace, and the PostgreSQL cluster once the `postgresql` step
/// has started it. Dropping the run (however the suite ends, a panic included) stops the cluster.
struct Run<'a> {
    /// The workspace under test.
    workspace: &'a Workspace,
    /// The suite's cluster, from the `postgresql` step on.
    postgres: Option<Cluster>,
}

impl Run<'_> {
    /// `cargo` in the workspace, with the cluster's admin URL in `KASSE_TEST_POSTGRES`.
    fn cargo_with_postgres(&self) -> Result<Command> {
        let cluster = self
            .postgres
            .as_ref()
            .ok_or_else(|| Error::new("no PostgreSQL cluster: the `postgresql` step has not run"))?;
        let mut cargo = process::cargo();
        cargo.env(postgres::URL_VARIABLE, cluster.url("postgres")).current_dir(self.workspace.root());
        Ok(cargo)
    }
}

/// The suite, in the order it runs.
const STEPS: [Step; 10] = [
    Step { name: "format", browser: false, action: format },
    Step { name: "clippy (native)", browser: false, action: clippy_native },
    Step { name: "clippy (production server)", browser: false, action: clippy_production },
    Step { name: "clippy (wasm32)", browser: false, action: clippy_wasm },
    Step { name: "postgresql", browser: false, action: start_postgres },
    Step { name: "unit tests", browser: false, action: unit_tests },
    Step { name: "server API on PostgreSQL", browser: false, action: server_api_on_postgres },
    Step { name: "chaos (short)", browser: false, action: chaos_short },
    Step { name: "app build", browser: true, action: app_build },
    Step { name: "browser tests", browser: true, action: browser_tests },
];

/// How a step ended, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Succeeded after this long.
    Passed(Duration),
    /// Failed after this long.
    Failed(Duration),
    /// Left out on request (`--no-browser`).
    Skipped,
    /// Not reached because an earlier step failed.
    NotRun,
}

/// Runs the suite (the browser half only if `browser`), printing a summary at the end.
pub(crate) fn run(workspace: &Workspace, browser: bool) -> Result<()> {
    let suite_started = Instant::now();
    let mut run = Run { workspace, postgres: None };
    let total = STEPS.len();
    let mut outcomes = Vec::with_capacity(total);
    let mut failure = None;
    for (index, step) in STEPS.iter().enumerate() {
        let number = index + 1;
        let outcome = if failure.is_some() {
            Outcome::NotRun
        } else if step.browser && !browser {
            announce(format!("[{number}/{total}] {}: skipped (--no-browser)", step.name));
            Outcome::Skipped
        } else {
            announce(format!("[{number}/{total}] {}", step.name));
            let started = Instant::now();
            let result = (step.action)(&mut run);
            let took = started.elapsed();
            match result {
                Ok(()) => {
                    announce(format!("{}: ok in {}", step.name, format_duration(took)));
                    Outcome::Passed(took)
                }
                Err(error) => {
                    announce(format!("{}: FAILED after {}", step.name, format_duration(took)));
                    failure =
                        Some(Error::new(format!("step {number}/{total} `{}` failed: {error}", step.name)));
                    Outcome::Failed(took)
                }
            }
        };
        outcomes.push((step.name, outcome));
    }
    // Stopped here rather than left to the drop, so that a failure to stop is seen.
    if let Some(cluster) = run.postgres.take()
        && let Err(error) = postgres::stop(cluster)
    {
        match &failure {
            None => failure = Some(error),
            Some(_) => eprintln!("warning: {error}"),
        }
    }
    println!();
    print!("{}", summary(&outcomes, suite_started.elapsed()));
    if let Some(error) = failure {
        return Err(error);
    }
    announce("all checks passed");
    Ok(())
}

/// (a) Formatting matches rustfmt.
fn format(run: &mut Run<'_>) -> Result<()> {
    process::run(process::cargo().args(["fmt", "--all", "--check"]).current_dir(run.workspace.root()))
}

/// (b) Clippy is clean for every crate and target on the host.
fn clippy_native(run: &mut Run<'_>) -> Result<()> {
    process::run(
        process::cargo()
            .args(["clippy", "--workspace", "--all-targets", "--locked"])
            .args(["--", "-D", "warnings"])
            .current_dir(run.workspace.root()),
    )
}

/// (b′) The server builds, clean, as production builds it: without the built-in simulator (and
/// with no `kasse-sim` in its tree).
fn clippy_production(run: &mut Run<'_>) -> Result<()> {
    process::run(
        process::cargo()
            .args(["clippy", "-p", "kasse-server", "--no-default-features", "--locked"])
            .args(["--", "-D", "warnings"])
            .current_dir(run.workspace.root()),
    )
}

/// (c) Clippy is clean for the web app as the browser compiles it, where `cfg`s differ.
fn clippy_wasm(run: &mut Run<'_>) -> Result<()> {
    tools::ensure_wasm_target()?;
    process::run(
        process::cargo()
            .args(["clippy", "-p", "kasse", "--lib", "--bins"])
            .args(["--target", tools::WASM_TARGET, "--locked"])
            .args(["--", "-D", "warnings"])
            .current_dir(run.workspace.root()),
    )
}

/// (d) PostgreSQL is installed and one cluster runs for the rest of the suite. It is a throwaway
/// test cluster, so it runs without durability (`fsync`, `synchronous_commit` and
/// `full_page_writes` off): faster, and nothing in it has to survive a crash.
fn start_postgres(run: &mut Run<'_>) -> Result<()> {
    run.postgres = Some(postgres::cluster(&postgres::THROWAWAY)?);
    Ok(())
}

/// (d′) The native tests pass, against the suite's PostgreSQL cluster (the browser tests are
/// `#[ignore]`d, so they wait for step f).
fn unit_tests(run: &mut Run<'_>) -> Result<()> {
    process::run(run.cargo_with_postgres()?.args(["test", "--workspace", "--locked"]))
}

/// (d″) The server's API tests once more, every server in them on a PostgreSQL database of the
/// cluster instead of SQLite: the crash tests included.
fn server_api_on_postgres(run: &mut Run<'_>) -> Result<()> {
    let mut cargo = run.cargo_with_postgres()?;
    cargo.env("KASSE_TEST_DATABASE", "postgres");
    process::run(cargo.args(["test", "--locked", "-p", "kasse-server", "--test", "api"]))
}

/// (d‴) A short chaos run: 60 sales on 8 tills served by two kasse-server instances sharing a
/// database in the suite's cluster, one of them SIGKILLed every few seconds, and not one sale
/// lost, doubled, stuck or mismatched (`cargo xtask chaos` is the long one).
fn chaos_short(run: &mut Run<'_>) -> Result<()> {
    let cluster = run
        .postgres
        .as_ref()
        .ok_or_else(|| Error::new("no PostgreSQL cluster: the `postgresql` step has not run"))?;
    chaos::run(run.workspace, &short_chaos(cluster.url("postgres"), cluster.bin_dir().to_path_buf()))
}

/// The short chaos run's options, its database made in the cluster whose admin URL is
/// `admin_url` and whose programs are in `bin_dir`.
fn short_chaos(admin_url: String, bin_dir: std::path::PathBuf) -> chaos::Options {
    chaos::Options { cluster: Some(chaos::database::Cluster { admin_url, bin_dir }), ..chaos::Options::SHORT }
}

/// (e) Chromium is present and the app is built into `dist/` for the browser tests.
fn app_build(run: &mut Run<'_>) -> Result<()> {
    tools::ensure_chromium()?;
    app::build(run.workspace)
}

/// (f) The browser tests drive the built app in headless Chromium, one at a time.
fn browser_tests(run: &mut Run<'_>) -> Result<()> {
    process::run(
        run.cargo_with_postgres()?
            .args(["test", "-p", "kasse", "--test", "browser", "--locked"])
            .args(["--", "--ignored", "--test-threads=1"])
            .env("KASSE_DIST", run.workspace.dist())
            .env("KASSE_CHROMEDRIVER", tools::CHROMEDRIVER)
            .env("KASSE_CHROMIUM", tools::CHROMIUM),
    )
}

/// The end-of-run table: each step's result and time, then the total.
fn summary(outcomes: &[(&str, Outcome)], total: Duration) -> String {
    let width = outcomes.iter().map(|(name, _)| name.len()).chain(["total".len()]).max().unwrap_or_default();
    let rows = outcomes.iter().map(|(name, outcome)| {
        let (result, time) = match outcome {
            Outcome::Passed(took) => ("ok", format_duration(*took)),
            Outcome::Failed(took) => ("FAILED", format_duration(*took)),
            Outcome::Skipped => ("skipped", String::new()),
            Outcome::NotRun => ("not run", String::new()),
        };
        (*name, result, time)
    });
    let header = ("step", "result", "time".to_owned());
    let footer = ("total", "", format_duration(total));
    let mut table = String::new();
    for (name, result, time) in std::iter::once(header).chain(rows).chain([footer]) {
        let line = format!("{name:width$}  {result:<8}  {time:>8}");
        // Writing to a String cannot fail.
        let _ = writeln!(table, "{}", line.trim_end());
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_runs_the_checks_in_the_agreed_order() {
        let names: Vec<_> = STEPS.iter().map(|step| step.name).collect();
        assert_eq!(
            names,
            [
                "format",
                "clippy (native)",
                "clippy (production server)",
                "clippy (wasm32)",
                "postgresql",
                "unit tests",
                "server API on PostgreSQL",
                "chaos (short)",
                "app build",
                "browser tests"
            ]
        );
    }

    #[test]
    fn the_cluster_starts_before_the_first_cargo_test_and_outside_the_browser_half() {
        let position = |name: &str| STEPS.iter().position(|step| step.name == name).unwrap();
        assert!(position("postgresql") < position("unit tests"));
        assert!(!STEPS[position("postgresql")].browser);
    }

    #[test]
    fn the_test_steps_get_the_admin_url_of_the_suites_cluster_which_stops_with_the_run() {
        if !kasse_pgtemp::installed() {
            eprintln!("skipped: PostgreSQL is not installed (`cargo xtask test` installs it)");
            return;
        }
        let workspace = Workspace::locate().unwrap();
        let mut run = Run { workspace: &workspace, postgres: None };
        assert!(run.cargo_with_postgres().is_err(), "no URL before the cluster runs");
        start_postgres(&mut run).unwrap();
        let (port, dir) =
            run.postgres.as_ref().map(|cluster| (cluster.port(), cluster.dir().to_owned())).unwrap();
        let cargo = run.cargo_with_postgres().unwrap();
        let url =
            cargo.get_envs().find(|(name, _)| *name == postgres::URL_VARIABLE).and_then(|(_, value)| value);
        assert_eq!(
            url.unwrap().to_str(),
            Some(format!("postgres://kasse@127.0.0.1:{port}/postgres").as_str())
        );
        assert_eq!(cargo.get_current_dir(), Some(workspace.root()));
        drop(run);
        assert!(!dir.exists(), "dropping the run stops the cluster and removes {}", dir.display());
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn the_short_chaos_run_is_two_instances_on_the_suites_cluster() {
        let url = "postgres://kasse@127.0.0.1:5999/postgres";
        let options = short_chaos(url.to_owned(), "/usr/lib/postgresql/15/bin".into());
        assert_eq!((options.instances, options.database), (2, chaos::Database::Postgres));
        let cluster = options.cluster.unwrap();
        assert_eq!(cluster.admin_url, url);
        assert_eq!(cluster.bin_dir, std::path::Path::new("/usr/lib/postgresql/15/bin"));
        assert_eq!(
            (options.sales, options.tills),
            (chaos::Options::SHORT.sales, chaos::Options::SHORT.tills)
        );
        assert!(
            STEPS.iter().position(|s| s.name == "postgresql")
                < STEPS.iter().position(|s| s.name == "chaos (short)")
        );
    }

    #[test]
    fn only_the_app_build_and_browser_tests_are_skipped_without_a_browser() {
        let skipped: Vec<_> = STEPS.iter().filter(|step| step.browser).map(|step| step.name).collect();
        assert_eq!(skipped, ["app build", "browser tests"]);
    }

    #[test]
    fn the_summary_lists_every_step_with_its_result_and_time() {
        let outcomes = [
            ("format", Outcome::Passed(Duration::from_millis(1_200))),
            ("clippy (native)", Outcome::Failed(Duration::from_secs(75))),
            ("unit tests", Outcome::NotRun),
            ("browser tests", Outcome::Skipped),
        ];
        let table = summary(&outcomes, Duration::from_millis(76_400));
        assert_eq!(
            table,
            "\
step             result        time
format           ok            1.2s
clippy (native)  FAILED      1m 15s
unit tests       not run
browser tests    skipped
total                        1m 16s
"
        );
    }
}

//! What every tool shares: its exit statuses, its quiet logs, opening the configuration, database
//! and platform, and writing its report (JSON with `--json`) or the configuration's problems.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_server::Tools;
use kasse_server::config::ConfigProblem;
use serde::Serialize;

use super::ConfigArgs;

/// Exit status 1: the tool ran, and something in its report failed.
pub(super) const SOME_FAILED: u8 = 1;
/// Exit status 2: the tool could do nothing (bad configuration or input).
pub(super) const NOTHING_DONE: u8 = 2;

/// Logs of the tools: only errors unless `RUST_LOG` says otherwise (their report says the rest).
pub(super) fn quiet_logs() {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into()),
        )
        .init();
}

/// Opens the configuration, database and platform for a tool; on failure says why on stderr.
pub(super) async fn open_tools(args: &ConfigArgs) -> Result<Tools, ExitCode> {
    let origin = args.origin();
    let config = match args.load(&[]) {
        Ok(config) => config,
        Err(problems) => {
            let _ = write_problems(&origin, &problems, &mut io::stderr().lock());
            return Err(ExitCode::from(NOTHING_DONE));
        }
    };
    Tools::open(config).await.map_err(|e| {
        eprintln!("kasse-server: {e}");
        ExitCode::from(NOTHING_DONE)
    })
}

/// Writes `report` to stdout, as JSON or as `human` writes it.
pub(super) fn emit<T: Serialize>(
    json: bool,
    report: &T,
    human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ExitCode> {
    let mut out = io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, report).map_err(io::Error::from).and_then(|()| writeln!(out))
    } else {
        human(&mut out)
    };
    written.map_err(|e| {
        eprintln!("kasse-server: cannot write the report: {e}");
        ExitCode::FAILURE
    })
}

/// A moment as the operator's tables show it: the machine's local time, to the minute.
pub(super) fn local_minute(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()
}

/// 0 when nothing failed, else 1.
pub(super) fn status(failed: usize) -> ExitCode {
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(SOME_FAILED) }
}

/// "FILE has N problems:" and each, numbered.
pub(super) fn write_problems(
    origin: &str,
    problems: &[ConfigProblem],
    out: &mut dyn Write,
) -> io::Result<()> {
    match problems.len() {
        1 => writeln!(out, "{origin} has a problem:")?,
        n => writeln!(out, "{origin} has {n} problems:")?,
    }
    for (n, problem) in (1..).zip(problems) {
        writeln!(out, "  {n}. {problem}")?;
    }
    Ok(())
}

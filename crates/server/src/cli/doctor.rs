//! `kasse-server doctor`: the configuration checked against the platform before go-live
//! (`kasse_server::ops::doctor`), a line per finding.

use std::process::ExitCode;

use kasse_server::ops::doctor::{self, Verdict};

use super::output::{NOTHING_DONE, SOME_FAILED, emit, open_tools};
use super::{ConfigArgs, OutputArgs};

/// `kasse-server doctor [--probe-phone NUMBER] [--json]`: exit status 0 when every check passed,
/// 1 when one found a problem, 2 when nothing is wrong but something could not be checked.
pub(super) async fn doctor(
    config: &ConfigArgs,
    probe_phone: Option<String>,
    output: &OutputArgs,
) -> ExitCode {
    let tools = match open_tools(config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    let stores = tools.config().stores.len();
    eprintln!("checking {stores} {} against the platform", if stores == 1 { "store" } else { "stores" });
    let report = doctor::check(&tools, &doctor::Options { probe_phone }).await;
    let (problems, unchecked) = (report.count(Verdict::Problem), report.count(Verdict::NotChecked));
    let written = emit(output.json, &report, |out| {
        for finding in &report.findings {
            let mark = match finding.verdict {
                Verdict::Ok => "ok     ",
                Verdict::Problem => "PROBLEM",
                Verdict::NotChecked => "?      ",
            };
            writeln!(out, "{mark} {}", finding.says)?;
        }
        writeln!(
            out,
            "{} checks: {} in order, {problems} problems, {unchecked} not checked; {} platform calls retried",
            report.findings.len(),
            report.count(Verdict::Ok),
            report.retries
        )
    });
    if let Err(code) = written {
        return code;
    }
    if problems > 0 {
        ExitCode::from(SOME_FAILED)
    } else if unchecked > 0 {
        ExitCode::from(NOTHING_DONE)
    } else {
        ExitCode::SUCCESS
    }
}

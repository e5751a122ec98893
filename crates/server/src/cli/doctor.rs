//! `kasse-server doctor`: the configuration checked against the platform before go-live
//! (`kasse_server::ops::doctor`), a line per finding.

use std::process::ExitCode;

use kasse_api::{Country, Msisdn};
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
    let probe_phone = match probe_phone.as_deref().map(international).transpose() {
        Ok(phone) => phone,
        Err(e) => {
            eprintln!("kasse-server: --probe-phone {e}; nothing was checked");
            return ExitCode::from(NOTHING_DONE);
        }
    };
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

/// The operator's phone number, written with its country code: a number without one would be read
/// as a number of each store's country, and a request could go to a stranger's phone.
fn international(typed: &str) -> Result<Msisdn, String> {
    let trimmed = typed.trim();
    let start = trimmed.trim_start_matches(['(', ' ']);
    if !(start.starts_with('+') || start.starts_with("00")) {
        return Err(format!("{typed:?} needs its country code, like +47 912 34 567"));
    }
    // The country given is not used: the number names its own.
    Msisdn::parse(trimmed, Country::No).map_err(|e| format!("{typed:?} is not a mobile number: {e}"))
}

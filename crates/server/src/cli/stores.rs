//! `kasse-server stores import`: the merchant's sales units from the Management API, merged into
//! the configuration file's stores (`kasse_server::ops::stores_import`).

use std::process::ExitCode;

use kasse_server::ops::stores_import::{self, ChangeKind, Request, currency_name};

use super::StoresImportArgs;
use super::output::{NOTHING_DONE, emit, open_tools};

/// `kasse-server stores import --org ORGNO [--scheme S] [--using STORE] [--dry-run] [--json]`:
/// exit status 0 when the stores were merged (or would be), 2 when nothing could be done.
pub(super) async fn import(args: &StoresImportArgs) -> ExitCode {
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    eprintln!("asking the Management API for the sales units of {}", args.org);
    let request = Request {
        org: args.org.clone(),
        scheme: args.scheme.clone(),
        using: args.using.clone(),
        dry_run: args.dry_run,
    };
    let report = match stores_import::import(&tools, args.config.config.as_deref(), &request).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let written = emit(args.output.json, &report, |out| {
        writeln!(out, "{} ({}), {}", report.merchant, report.business, currency_name(report.currency))?;
        for store in &report.stores {
            writeln!(out, "{}", store.says)?;
        }
        let (added, updated) = (report.count(ChangeKind::Added), report.count(ChangeKind::Updated));
        let outcome = match (added + updated, report.written, args.dry_run) {
            (0, ..) => "nothing to change".to_owned(),
            (_, true, _) if added > 0 => format!(
                "written to {}; the server and its tools start again once the new stores have their keys \
                 (kasse-server check-config says what is missing)",
                args.config.origin()
            ),
            (_, true, _) => format!("written to {}", args.config.origin()),
            (..) => "dry run: nothing written".to_owned(),
        };
        let not_listed = report.count(ChangeKind::NotListed);
        writeln!(
            out,
            "{} sales units: {added} added, {updated} updated, {} unchanged; {not_listed} configured {} not listed; {outcome}",
            report.stores.len() - not_listed,
            report.count(ChangeKind::Unchanged),
            if not_listed == 1 { "store" } else { "stores" },
        )
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

//! `kasse-server webhooks sync`: one webhook registration per store, at our URL, with its secret.

use std::process::ExitCode;

use kasse_server::ops::webhooks;

use super::SyncArgs;
use super::output::{emit, open_tools, status};

/// `kasse-server webhooks sync [--dry-run]`.
pub(super) async fn sync(args: &SyncArgs) -> ExitCode {
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    eprintln!("checking the webhook registrations of {} stores", tools.config().stores.len());
    let report = webhooks::sync(&tools, webhooks::Options { dry_run: args.dry_run }).await;
    let written = emit(args.output.json, &report, |out| {
        writeln!(out, "webhook URL: {}", report.url)?;
        let would = if report.dry_run { "would be " } else { "" };
        for unit in &report.units {
            let mut what = Vec::new();
            if let Some(id) = &unit.kept {
                what.push(format!("kept {id}"));
            }
            if let Some(id) = &unit.created {
                what.push(format!("{would}created {id}"));
            }
            for removed in &unit.removed {
                what.push(format!("{would}removed {} at {} ({})", removed.id, removed.url, removed.why));
            }
            if let Some(error) = &unit.error {
                what.push(format!("FAILED: {error}"));
            }
            writeln!(out, "store {} (MSN {}): {}", unit.store, unit.msn, what.join("; "))?;
            for other in &unit.others {
                writeln!(out, "  not ours, left alone: {other}")?;
            }
        }
        let unchanged = report.units.iter().filter(|u| !u.changed() && u.error.is_none()).count();
        writeln!(
            out,
            "{} stores: {} created, {} removed, {unchanged} unchanged, {} failed{}; {} platform calls retried",
            report.units.len(),
            report.created(),
            report.removed(),
            report.failed(),
            if report.dry_run { " (dry run)" } else { "" },
            report.retries
        )
    });
    written.err().unwrap_or_else(|| status(report.failed()))
}

//! `kasse-server qr …`: moving MobilePay PoS beacons over, callback and redirect stickers, and the
//! printable sticker sheet; each prints its report.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_server::Tools;
use kasse_server::ops::qr::{self, ChangeReport};
use kasse_server::ops::{migrate, stickers};

use super::output::{NOTHING_DONE, SOME_FAILED, emit, open_tools, status};
use super::{
    CallbackCreateArgs, ConfigArgs, DeleteArgs, ListArgs, MigrateArgs, OutputArgs, RedirectCreateArgs,
    StickersArgs,
};

/// `kasse-server qr migrate --from FILE [--dry-run] [--json]`.
pub(super) async fn qr_migrate(args: &MigrateArgs) -> ExitCode {
    let rows = match migrate::read_pos_list(&args.from) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("kasse-server: {e}; nothing was done");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    let total = rows.len();
    eprintln!(
        "{} {total} points of sale from {}{}",
        if args.dry_run { "checking" } else { "migrating" },
        args.from.display(),
        if args.dry_run { " (dry run: nothing is sent or saved)" } else { "" }
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = |row: &migrate::RowReport| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(problem) = &row.problem {
            eprintln!("  row {}: {problem}", row.row);
        }
        if n.is_multiple_of(50) || n == total {
            eprintln!("  {n}/{total} rows done");
        }
    };
    let report = migrate::run(&tools, &rows, migrate::Options { dry_run: args.dry_run }, &progress).await;
    let written = emit(args.output.json, &report, |out| write_migration(&report, out));
    written.err().unwrap_or_else(|| status(report.counts.failed))
}

/// The migration report as a table, one row a line (notes indented below), then the counts.
fn write_migration(report: &migrate::MigrationReport, out: &mut dyn Write) -> io::Result<()> {
    let cell = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_owned());
    let beacon_width = report.rows.iter().map(|r| cell(&r.beacon_id).len()).max().unwrap_or(1);
    let till_width = report.rows.iter().map(|r| cell(&r.till).len()).max().unwrap_or(1);
    for row in &report.rows {
        let mut outcome = row.outcome.words(report.dry_run).to_owned();
        if let Some(problem) = &row.problem {
            outcome = format!("{outcome}: {problem}");
        }
        writeln!(
            out,
            "row {:<5} {:<beacon_width$}  MSN {:<6}  {:<till_width$}  {outcome}",
            row.row,
            cell(&row.beacon_id),
            cell(&row.msn),
            cell(&row.till),
        )?;
        for note in &row.notes {
            writeln!(out, "          {note}")?;
        }
    }
    writeln!(
        out,
        "{}{}; {} platform calls retried",
        report.counts,
        if report.dry_run { " (dry run)" } else { "" },
        report.retries
    )
}

/// A create or delete report: one sticker a line, then the summary.
fn write_changes(report: &ChangeReport, out: &mut dyn Write) -> io::Result<()> {
    for sticker in &report.stickers {
        let kind = match sticker.kind {
            qr::StickerKind::Callback => "callback",
            qr::StickerKind::Redirect => "redirect",
        };
        let till = sticker.till.as_ref().map(|t| format!(" (till {t})")).unwrap_or_default();
        let detail = sticker.detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default();
        writeln!(
            out,
            "{kind} sticker {} at MSN {}{till}: {}{detail}",
            sticker.id,
            sticker.msn,
            sticker.change.words()
        )?;
        for note in &sticker.notes {
            writeln!(out, "  {note}")?;
        }
    }
    writeln!(out, "{}; {} platform calls retried", report.summary(), report.retries)
}

/// Runs a create or delete command and prints its report.
async fn changes(
    config: &ConfigArgs,
    output: &OutputArgs,
    run: impl AsyncFnOnce(&Tools) -> Result<ChangeReport, qr::QrError>,
) -> ExitCode {
    let tools = match open_tools(config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    match run(&tools).await {
        Ok(report) => {
            let written = emit(output.json, &report, |out| write_changes(&report, out));
            written.err().unwrap_or_else(|| status(report.failed()))
        }
        Err(e) => {
            eprintln!("kasse-server: {e}; nothing was done");
            ExitCode::from(NOTHING_DONE)
        }
    }
}

/// `kasse-server qr callback create [TILL]… [--id ID]`.
pub(super) async fn callback_create(args: &CallbackCreateArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| {
        qr::create_callback_qrs(tools, &args.tills, args.id.as_deref()).await
    })
    .await
}

/// `kasse-server qr callback delete ID [--store STORE]`.
pub(super) async fn callback_delete(args: &DeleteArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| {
        qr::delete_callback_qr(tools, &args.id, args.store.as_deref()).await
    })
    .await
}

/// `kasse-server qr redirect create [ID]…`.
pub(super) async fn redirect_create(args: &RedirectCreateArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| qr::create_redirect_qrs(tools, &args.ids).await).await
}

/// `kasse-server qr redirect delete ID [--store STORE]`.
pub(super) async fn redirect_delete(args: &DeleteArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| {
        qr::delete_redirect_qr(tools, &args.id, args.store.as_deref()).await
    })
    .await
}

/// `kasse-server qr callback list`.
pub(super) async fn callback_list(args: &ListArgs) -> ExitCode {
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    let listings = match qr::list_callback_qrs(&tools).await {
        Ok(listings) => listings,
        Err(e) => {
            eprintln!("kasse-server: {e}");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let written = emit(args.output.json, &listings, |out| {
        for listing in &listings {
            writeln!(out, "store {} (MSN {}):", listing.store, listing.msn)?;
            if let Some(error) = &listing.error {
                writeln!(out, "  cannot list: {error}")?;
            }
            for s in &listing.stickers {
                let kind = match s.kind {
                    Some(kasse_server::CallbackQrKind::Beacon) => "beacon",
                    Some(kasse_server::CallbackQrKind::Callback) | None => "callback",
                };
                let reaches = match (&s.till, &s.conflict) {
                    (_, Some(conflict)) => format!("reaches no till: {conflict}"),
                    (Some(till), None) => format!("rings till {till}"),
                    (None, None) => "reaches no till".to_owned(),
                };
                let place = s.location_description.as_deref().map(|l| format!(" {l:?}")).unwrap_or_default();
                let missing = if s.at_platform { "" } else { ", NOT AT THE PLATFORM" };
                writeln!(out, "  {kind} {}{place}: {reaches}{missing}", s.id)?;
            }
        }
        Ok(())
    });
    let failed = listings.iter().filter(|l| l.error.is_some()).count();
    written.err().unwrap_or_else(|| status(failed))
}

/// `kasse-server qr redirect list`.
pub(super) async fn redirect_list(args: &ListArgs) -> ExitCode {
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    let listings = qr::list_redirect_qrs(&tools).await;
    let written = emit(args.output.json, &listings, |out| {
        for listing in &listings {
            writeln!(out, "store {} (MSN {}):", listing.store, listing.msn)?;
            if let Some(error) = &listing.error {
                writeln!(out, "  cannot list: {error}")?;
            }
            for s in &listing.stickers {
                let till = s.till.as_ref().map(|t| format!(" (till {t})")).unwrap_or_default();
                let state = match (s.at_platform, s.leads_to_landing_page) {
                    (false, _) => "NOT AT THE PLATFORM: run `kasse-server qr redirect create`".to_owned(),
                    (true, Some(false)) => format!(
                        "leads to {}, not to its landing page: run `kasse-server qr redirect create {}`",
                        s.redirect_url.as_deref().unwrap_or_default(),
                        s.id
                    ),
                    (true, _) => format!("leads to {}", s.redirect_url.as_deref().unwrap_or_default()),
                };
                let ours = if s.configured { "" } else { " [not in the configuration]" };
                writeln!(out, "  {}{till}{ours}: {state}", s.id)?;
            }
        }
        Ok(())
    });
    let failed = listings.iter().filter(|l| l.error.is_some()).count();
    written.err().unwrap_or_else(|| status(failed))
}

/// `kasse-server qr stickers --out FILE [--till TILL]…`.
pub(super) async fn qr_stickers(args: &StickersArgs) -> ExitCode {
    if !args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"))
    {
        eprintln!(
            "kasse-server: --out must name an .html file: the sheet is a print-ready HTML page (print \
             it from a browser, to paper or to PDF); nothing was done"
        );
        return ExitCode::from(NOTHING_DONE);
    }
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    let sheet = match stickers::collect(&tools, &args.tills).await {
        Ok(sheet) => sheet,
        Err(e) => {
            eprintln!("kasse-server: {e}; nothing was done");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    if sheet.stickers.is_empty() {
        for missing in &sheet.missing {
            eprintln!("  {}: {}", missing.id, missing.why);
        }
        eprintln!("kasse-server: no sticker is at the platform yet, so no sheet was written");
        return ExitCode::from(SOME_FAILED);
    }
    if let Err(e) = std::fs::write(&args.out, stickers::html(&sheet)) {
        eprintln!("kasse-server: cannot write {}: {e}", args.out.display());
        return ExitCode::from(NOTHING_DONE);
    }
    eprintln!("wrote {}", args.out.display());
    let written = emit(args.output.json, &sheet, |out| {
        for sticker in &sheet.stickers {
            let till = sticker.till.as_ref().map(|t| format!(" (till {t})")).unwrap_or_default();
            writeln!(
                out,
                "{}, {}{till}: {} -> {}",
                sticker.store, sticker.title, sticker.content, sticker.target
            )?;
        }
        for missing in &sheet.missing {
            writeln!(out, "not on the sheet: {}: {}", missing.id, missing.why)?;
        }
        for note in &sheet.notes {
            writeln!(out, "note: {note}")?;
        }
        writeln!(out, "{} stickers on the sheet, {} missing", sheet.stickers.len(), sheet.missing.len())
    });
    written.err().unwrap_or_else(|| status(sheet.missing.len()))
}

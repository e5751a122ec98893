//! `kasse-server`: serve the till, the customer display and the sticker pages, on the built-in
//! simulator or a real Vipps MobilePay platform; check a configuration before serving it; and the
//! operator's tools for moving from MobilePay PoS: `qr migrate`, `qr callback …`, `qr redirect …`,
//! `qr stickers` and `webhooks sync`.
//!
//! Each subcommand is a variant of [`Command`] with its own arguments and one function that runs
//! it, so adding one is a variant, a match arm and a function. Those that need the configuration
//! flatten [`ConfigArgs`] into their arguments. The tools do their work in the library
//! (`kasse_server::migrate`, `qr`, `stickers`, `subscriptions`); here they are only parsed and
//! printed: progress to stderr, the report to stdout (JSON with `--json`). A tool's exit status
//! is 0 when everything is in order, 1 when it ran and something failed (the report says what),
//! and 2 when it could do nothing at all (bad configuration or input).

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kasse_api::Role;
use kasse_server::config::{ConfigProblem, Provider, process_env};
use kasse_server::qr::ChangeReport;
use kasse_server::{Config, Tools, migrate, qr, stickers, subscriptions};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "kasse-server",
    version,
    about = "kasse: the in-store front end for Vipps MobilePay ePayment"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app, the till API and the webhook endpoint.
    Serve(ServeArgs),
    /// Read the configuration and explain every problem in it; exit status 1 if there is one.
    CheckConfig(ConfigArgs),
    /// Manage tills.
    #[command(subcommand)]
    Till(TillCommand),
    /// Stickers at the platform: migrate MobilePay PoS beacons, put up, list, take down and print
    /// callback and redirect stickers.
    #[command(subcommand)]
    Qr(QrCommand),
    /// Our webhook registrations at the platform.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

/// `kasse-server qr …`.
#[derive(Debug, Subcommand)]
enum QrCommand {
    /// Move printed MobilePay PoS QR stickers (beacons) to the platform, so they keep working,
    /// and record the till each one rings. Safe to run again.
    Migrate(MigrateArgs),
    /// Merchant callback QR stickers: a scan checks the customer in at a till.
    #[command(subcommand)]
    Callback(CallbackCommand),
    /// Merchant Redirect QR stickers: a scan opens the landing page /q/{id}.
    #[command(subcommand)]
    Redirect(RedirectCommand),
    /// Write a print-ready sheet (an HTML page, A4) of every till's stickers.
    Stickers(StickersArgs),
}

/// `kasse-server qr callback …`.
#[derive(Debug, Subcommand)]
enum CallbackCommand {
    /// Put up a callback sticker for each TILL (every till when none is named), showing the
    /// till's name. Its id is --id, else the till's callback_qr, else the till's id.
    Create(CallbackCreateArgs),
    /// List each store's callback stickers and the till each one rings.
    List(ListArgs),
    /// Take a callback sticker down (its prints stop working) and forget its till.
    Delete(DeleteArgs),
}

/// `kasse-server qr redirect …`.
#[derive(Debug, Subcommand)]
enum RedirectCommand {
    /// Put up each redirect sticker of the configuration (or the IDs named), leading to its
    /// landing page {public_url}q/{id}.
    Create(RedirectCreateArgs),
    /// List each store's redirect stickers and where they lead.
    List(ListArgs),
    /// Take a redirect sticker down for good (its prints never work again).
    Delete(DeleteArgs),
}

/// `kasse-server webhooks …`.
#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Make sure every store has exactly one registration of ours, at our public URL, for
    /// check-ins and every payment event, with its secret saved; remove stale ones of ours.
    Sync(SyncArgs),
}

/// `--json`.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Write the report to stdout as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The merchant's PoS list: CSV with a header line, or JSON (an array of objects), with
    /// beaconId, posName, msn and optionally till.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Check every row and say what would happen; send and save nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct CallbackCreateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The tills (ids as in the configuration); none means every till.
    tills: Vec<String>,
    /// The sticker's id at the platform (with exactly one TILL).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct RedirectCreateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The redirect stickers (a till's redirect_sticker, or a [[stickers]] id); none means all.
    ids: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct DeleteArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The sticker's id at the platform.
    id: String,
    /// The store it belongs to, when that is not clear from the configuration.
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct StickersArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Where to write the sheet: an .html file, to print from a browser (to paper or PDF).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
    /// Only this till's stickers (repeatable); without it, every till's and the open-amount ones.
    #[arg(long = "till", value_name = "TILL")]
    tills: Vec<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct SyncArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Say what would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `kasse-server till …`.
#[derive(Debug, Subcommand)]
enum TillCommand {
    /// Print a one-time code that pairs a browser with TILL (valid ten minutes, once).
    Pair(PairArgs),
}

#[derive(Debug, Args)]
struct PairArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The till's id, as in the configuration.
    till: String,
    /// Pair the till's customer-facing display instead of the till.
    #[arg(long)]
    display: bool,
}

/// Where the configuration comes from.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// The configuration file (see kasse.example.toml). Without one: the demo, on the built-in
    /// simulator.
    #[arg(long, short = 'c', env = "KASSE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Where to listen [overrides KASSE_LISTEN and [server] listen].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The built web app, Trunk's output [overrides KASSE_DIST and [server] dist].
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// The folder of the SQLite database, DIR/kasse.db [overrides KASSE_DATABASE_URL and
    /// [server] database].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The URL browsers and the platform reach this server at [overrides KASSE_PUBLIC_URL and
    /// [server] public_url].
    #[arg(long, value_name = "URL")]
    public_url: Option<url::Url>,
}

impl ConfigArgs {
    /// Names the configuration in messages.
    fn origin(&self) -> String {
        self.config.as_ref().map_or_else(
            || "the built-in demo (no --config or KASSE_CONFIG given)".to_owned(),
            |path| path.display().to_string(),
        )
    }

    /// Reads the configuration with the environment on top, and `overrides` on top of that.
    fn load(&self, overrides: &[(&str, String)]) -> Result<Config, Vec<ConfigProblem>> {
        let env = |name: &str| {
            overrides
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
                .or_else(|| process_env(name))
        };
        Config::load(self.config.as_deref(), &env)
    }
}

impl ServeArgs {
    /// The flags given, each as the environment variable it stands in for: a flag is the
    /// strongest override, and going through the same door as the environment means the same
    /// checks apply.
    fn overrides(&self) -> Vec<(&'static str, String)> {
        let mut overrides = Vec::new();
        if let Some(listen) = self.listen {
            overrides.push(("KASSE_LISTEN", listen.to_string()));
        }
        if let Some(dist) = &self.dist {
            overrides.push(("KASSE_DIST", dist.display().to_string()));
        }
        if let Some(data) = &self.data {
            overrides.push(("KASSE_DATABASE_URL", format!("sqlite://{}", data.join("kasse.db").display())));
        }
        if let Some(url) = &self.public_url {
            overrides.push(("KASSE_PUBLIC_URL", url.to_string()));
        }
        overrides
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve(&args).await,
        Command::CheckConfig(args) => check_config(&args),
        Command::Till(TillCommand::Pair(args)) => pair(&args).await,
        Command::Qr(command) => {
            quiet_logs();
            match command {
                QrCommand::Migrate(args) => qr_migrate(&args).await,
                QrCommand::Callback(CallbackCommand::Create(args)) => callback_create(&args).await,
                QrCommand::Callback(CallbackCommand::List(args)) => callback_list(&args).await,
                QrCommand::Callback(CallbackCommand::Delete(args)) => callback_delete(&args).await,
                QrCommand::Redirect(RedirectCommand::Create(args)) => redirect_create(&args).await,
                QrCommand::Redirect(RedirectCommand::List(args)) => redirect_list(&args).await,
                QrCommand::Redirect(RedirectCommand::Delete(args)) => redirect_delete(&args).await,
                QrCommand::Stickers(args) => qr_stickers(&args).await,
            }
        }
        Command::Webhooks(WebhooksCommand::Sync(args)) => {
            quiet_logs();
            webhooks_sync(&args).await
        }
    }
}

/// `kasse-server serve`.
async fn serve(args: &ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn,kasse_sim=warn".into()),
        )
        .init();
    let origin = args.config.origin();
    let config = match args.config.load(&args.overrides()) {
        Ok(config) => config,
        Err(problems) => {
            // If stderr is gone there is no one left to tell.
            let _ = write_problems(&origin, &problems, &mut io::stderr().lock());
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(from = %origin, "configuration: {}", config.summary());
    let sticker = config.tills.iter().find_map(|till| till.redirect_sticker.clone());
    let first_till = config.tills.first().map(|till| till.id.clone());
    let running = match kasse_server::start(config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("kasse-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // On the simulator everything is a demo: hand the person who started it a paired till.
    let pairing = match (running.sim(), first_till) {
        (Some(_), Some(till)) => running.pairing_code(&till, Role::Till).await.ok(),
        _ => None,
    };
    announce(&running, sticker.as_deref(), pairing.as_deref());
    if let Err(e) = shutdown_signal().await {
        eprintln!("kasse-server: cannot listen for Ctrl-C: {e}");
    }
    eprintln!("\nkasse-server: stopping");
    running.stop().await;
    ExitCode::SUCCESS
}

/// `kasse-server till pair TILL [--display]`.
async fn pair(args: &PairArgs) -> ExitCode {
    let config = match args.config.load(&[]) {
        Ok(config) => config,
        Err(problems) => {
            let _ = write_problems(&args.config.origin(), &problems, &mut io::stderr().lock());
            return ExitCode::FAILURE;
        }
    };
    let role = if args.display { Role::Display } else { Role::Till };
    match kasse_server::pairing_code(&config, &args.till, role).await {
        Ok(code) => {
            let page = config.public_url.as_ref().and_then(|u| u.join("pair").ok());
            // The code alone on stdout, so a script can take it; the explanation goes to stderr.
            let _ = writeln!(io::stdout(), "{code}");
            let what = if args.display {
                format!("the customer display of {}", args.till)
            } else {
                args.till.clone()
            };
            eprintln!(
                "Type this code on {} within ten minutes to pair a browser as {what}.",
                page.map_or_else(|| "the pairing page (/pair)".to_owned(), |u| u.to_string()),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kasse-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `kasse-server check-config`.
fn check_config(args: &ConfigArgs) -> ExitCode {
    let loaded = args.load(&[]);
    match report(&args.origin(), &loaded, &mut io::stdout().lock()) {
        Ok(()) if loaded.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("kasse-server: cannot write the report: {e}");
            ExitCode::FAILURE
        }
    }
}

/// check-config's report: what the configuration sets up when it is sound (with where each
/// secret comes from, never its value), else every problem, numbered.
fn report(origin: &str, loaded: &Result<Config, Vec<ConfigProblem>>, out: &mut dyn Write) -> io::Result<()> {
    let config = match loaded {
        Ok(config) => config,
        Err(problems) => return write_problems(origin, problems, out),
    };
    writeln!(out, "configuration OK: {}", config.summary())?;
    writeln!(out, "  from {origin}")?;
    for store in &config.stores {
        let credentials = match (&config.provider, &store.credentials, &store.secrets_from) {
            (Provider::Sim { .. }, _, _) => "credentials made by the simulator".to_owned(),
            (_, Some(credentials), Some(from)) => format!(
                "client_id {}, client_secret from {}, subscription_key from {}",
                credentials.client_id, from.client_secret, from.subscription_key
            ),
            _ => "no credentials".to_owned(),
        };
        writeln!(out, "  store {}: MSN {}, {}, {credentials}", store.id, store.msn, store.currency)?;
    }
    for till in &config.tills {
        let mut details = vec![format!("capture {}", till.capture.name())];
        details.extend(till.callback_qr.as_ref().map(|id| format!("callback QR {id}")));
        details.extend(till.redirect_sticker.as_ref().map(|id| format!("redirect sticker {id}")));
        writeln!(out, "  till {} ({}) at {}: {}", till.id, till.name, till.store, details.join(", "))?;
    }
    for sticker in &config.stickers {
        writeln!(
            out,
            "  sticker {} at {}: {:?}, {} to {} minor units",
            sticker.id, sticker.store, sticker.description, sticker.min, sticker.max
        )?;
    }
    Ok(())
}

/// "FILE has N problems:" and each, numbered.
fn write_problems(origin: &str, problems: &[ConfigProblem], out: &mut dyn Write) -> io::Result<()> {
    match problems.len() {
        1 => writeln!(out, "{origin} has a problem:")?,
        n => writeln!(out, "{origin} has {n} problems:")?,
    }
    for (n, problem) in (1..).zip(problems) {
        writeln!(out, "  {n}. {problem}")?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// The tools
// ------------------------------------------------------------------------------------------------

/// Exit status 1: the tool ran, and something in its report failed.
const SOME_FAILED: u8 = 1;
/// Exit status 2: the tool could do nothing (bad configuration or input).
const NOTHING_DONE: u8 = 2;

/// Logs of the tools: only errors unless `RUST_LOG` says otherwise (their report says the rest).
fn quiet_logs() {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into()),
        )
        .init();
}

/// Opens the configuration, database and platform for a tool; on failure says why on stderr.
async fn open_tools(args: &ConfigArgs) -> Result<Tools, ExitCode> {
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
fn emit<T: Serialize>(
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

/// 0 when nothing failed, else 1.
fn status(failed: usize) -> ExitCode {
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(SOME_FAILED) }
}

/// `kasse-server qr migrate --from FILE [--dry-run] [--json]`.
async fn qr_migrate(args: &MigrateArgs) -> ExitCode {
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
async fn callback_create(args: &CallbackCreateArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| {
        qr::create_callback_qrs(tools, &args.tills, args.id.as_deref()).await
    })
    .await
}

/// `kasse-server qr callback delete ID [--store STORE]`.
async fn callback_delete(args: &DeleteArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| {
        qr::delete_callback_qr(tools, &args.id, args.store.as_deref()).await
    })
    .await
}

/// `kasse-server qr redirect create [ID]…`.
async fn redirect_create(args: &RedirectCreateArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| qr::create_redirect_qrs(tools, &args.ids).await).await
}

/// `kasse-server qr redirect delete ID [--store STORE]`.
async fn redirect_delete(args: &DeleteArgs) -> ExitCode {
    changes(&args.config, &args.output, async |tools| {
        qr::delete_redirect_qr(tools, &args.id, args.store.as_deref()).await
    })
    .await
}

/// `kasse-server qr callback list`.
async fn callback_list(args: &ListArgs) -> ExitCode {
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
async fn redirect_list(args: &ListArgs) -> ExitCode {
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
async fn qr_stickers(args: &StickersArgs) -> ExitCode {
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

/// `kasse-server webhooks sync [--dry-run]`.
async fn webhooks_sync(args: &SyncArgs) -> ExitCode {
    let tools = match open_tools(&args.config).await {
        Ok(tools) => tools,
        Err(code) => return code,
    };
    eprintln!("checking the webhook registrations of {} stores", tools.config().stores.len());
    let report = subscriptions::sync(&tools, subscriptions::Options { dry_run: args.dry_run }).await;
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

/// Tells the person who started the server where everything is.
fn announce(running: &kasse_server::Running, sticker: Option<&str>, pairing: Option<&str>) {
    let base = running.url();
    let link = |path: &str| base.join(path).map(|u| u.to_string()).unwrap_or_default();
    eprintln!();
    eprintln!(
        "  kasse is running{}",
        if running.sim().is_some() { " on the built-in simulator" } else { "" }
    );
    eprintln!();
    let till = pairing.map_or_else(
        || link("till"),
        |code| format!("{}   (pairs this browser)", link(&format!("pair?code={code}"))),
    );
    eprintln!("  till:          {till}");
    if let Some(sim) = running.sim() {
        eprintln!("  phone (sim):   {}", sim.phone_url());
    }
    if let Some(sticker) = sticker {
        eprintln!("  sticker page:  {}", link(&format!("q/{sticker}")));
    }
    eprintln!();
    eprintln!("  Press Ctrl-C to stop.");
    eprintln!();
}

async fn shutdown_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use clap::CommandFactory;

    use super::*;

    fn report_of(loaded: &Result<Config, Vec<ConfigProblem>>) -> String {
        let mut out = Vec::new();
        report("kasse.toml", loaded, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_stand_in_for_their_environment_variables() {
        let cli = Cli::try_parse_from([
            "kasse-server",
            "serve",
            "--config",
            "kasse.toml",
            "--listen",
            "0.0.0.0:80",
            "--data",
            "/var/lib/kasse",
            "--public-url",
            "https://kasse.example.no/",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else { panic!("{cli:?}") };
        assert_eq!(args.config.config.as_deref(), Some(Path::new("kasse.toml")));
        assert_eq!(
            args.overrides(),
            [
                ("KASSE_LISTEN", "0.0.0.0:80".to_owned()),
                ("KASSE_DATABASE_URL", "sqlite:///var/lib/kasse/kasse.db".to_owned()),
                ("KASSE_PUBLIC_URL", "https://kasse.example.no/".to_owned()),
            ]
        );
    }

    #[test]
    fn check_config_summarises_a_sound_configuration() {
        let report = report_of(&Config::load(None, &|_| None));
        assert!(
            report.starts_with(
                "configuration OK: 1 store, 1 till, 1 sticker, provider sim (built into the server)\n"
            ),
            "{report}"
        );
        assert!(
            report.contains("store grunerlokka: MSN 123456, NOK, credentials made by the simulator"),
            "{report}"
        );
        assert!(report.contains("till till-1 (Kasse 1) at grunerlokka: capture automatic"), "{report}");
    }

    #[test]
    fn check_config_says_where_secrets_come_from_never_what_they_are() {
        let text = r#"
            [server]
            public_url = "https://kasse.example.no/"
            [platform]
            provider = "test"
            [[stores]]
            id = "majorstuen"
            name = "Kaffebrenneriet Majorstuen"
            msn = "654321"
            currency = "NOK"
            client_id = "the-client-id"
            [[tills]]
            id = "till-1"
            name = "Kasse 1"
            store = "majorstuen"
        "#;
        let env: HashMap<&str, &str> = HashMap::from([
            ("KASSE_STORE_MAJORSTUEN_CLIENT_SECRET", "very-secret"),
            ("KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY", "also-secret"),
        ]);
        let loaded =
            Config::from_toml(text, Path::new("kasse.toml"), &|name| env.get(name).map(|v| (*v).to_owned()));
        let report = report_of(&loaded);
        assert!(
            report.contains(
                "store majorstuen: MSN 654321, NOK, client_id the-client-id, client_secret from the \
                 environment variable KASSE_STORE_MAJORSTUEN_CLIENT_SECRET, subscription_key from the \
                 environment variable KASSE_STORE_MAJORSTUEN_SUBSCRIPTION_KEY"
            ),
            "{report}"
        );
        assert!(!report.contains("very-secret") && !report.contains("also-secret"), "{report}");
    }

    #[test]
    fn check_config_numbers_every_problem() {
        let text = "[[stores]]\nid = \"x\"\nname = \"X\"\nmsn = \"1\"\ncurrency = \"NOK\"\n";
        let report = report_of(&Config::from_toml(text, Path::new("kasse.toml"), &|_| None));
        assert_eq!(
            report,
            "kasse.toml has 2 problems:\n  \
             1. [[stores]] \"x\": msn = \"1\" is not a merchant serial number, which is 4 to 6 digits (see \
             the sales unit in the merchant portal)\n  \
             2. there are no [[tills]]; add at least one\n"
        );
    }
}

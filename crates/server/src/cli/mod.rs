//! The command line of `kasse-server`: each subcommand is a variant of [`Command`] with its own
//! arguments, and one function, in the file of its group, that runs it; adding one is a variant, a
//! match arm and a function. Those that need the configuration flatten [`ConfigArgs`] into their
//! arguments. The work is done in the library (`kasse_server::start` for `serve`,
//! `kasse_server::ops` for the tools); here it is only parsed and printed: progress to stderr, the
//! report to stdout (JSON with `--json`). A tool's exit status is 0 when everything is in order, 1
//! when it ran and something failed (the report says what), and 2 when it could do nothing at all
//! (bad configuration or input).

mod check_config;
mod doctor;
mod integrator;
mod loyalty;
mod manager;
mod output;
mod qr;
mod serve;
mod sticker;
mod stores;
mod till;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kasse_server::Config;
use kasse_server::config::{ConfigProblem, process_env};

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
    /// Before go-live: check the configuration against the platform (keys and MSNs, currency,
    /// push messages, webhooks, stickers, the clock) and say what to do about each finding; exit
    /// status 1 if one is a problem, 2 if something could not be checked.
    Doctor(DoctorArgs),
    /// The configuration's stores, from the platform.
    #[command(subcommand)]
    Stores(StoresCommand),
    /// Manage tills.
    #[command(subcommand)]
    Till(TillCommand),
    /// Managers, who use the back office (/admin) in their browser.
    #[command(subcommand)]
    Manager(ManagerCommand),
    /// Stickers at the platform: migrate MobilePay PoS beacons, put up, list, take down and print
    /// callback and redirect stickers.
    #[command(subcommand)]
    Qr(QrCommand),
    /// Our webhook registrations at the platform.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// PoS systems allowed to use the terminal API (/terminal/v1), each with its own API key.
    #[command(subcommand)]
    Integrator(IntegratorCommand),
    /// Open-amount stickers: switch one off (its page offers nothing to pay) and on again.
    #[command(subcommand)]
    Sticker(StickerCommand),
    /// Loyalty members' data kasse keeps.
    #[command(subcommand)]
    Loyalty(LoyaltyCommand),
}

/// `kasse-server loyalty …`.
#[derive(Debug, Subcommand)]
enum LoyaltyCommand {
    /// Forget a member's name on every sale that shows it, at once (the retention job does after
    /// retention_days anyway); the sales still say their customer was a member.
    Forget(LoyaltyForgetArgs),
}

#[derive(Debug, Args)]
struct LoyaltyForgetArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The member's name, exactly as the member list (or the loyalty system) gave it.
    name: String,
    #[command(flatten)]
    output: OutputArgs,
}

/// `kasse-server stores …`.
#[derive(Debug, Subcommand)]
enum StoresCommand {
    /// List the merchant's sales units from the Management API and write them into the
    /// configuration file's [[stores]]: new units as new stores, names and currencies as the
    /// platform has them. Secrets are never written; comments are kept.
    Import(StoresImportArgs),
}

#[derive(Debug, Args)]
struct StoresImportArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The merchant's organisation number (Norway: 9 digits; Denmark: the CVR number; Finland:
    /// the Y-tunnus, 1234567-8).
    #[arg(long, value_name = "ORGNO")]
    org: String,
    /// Its registry, when the number does not tell, e.g. business:NO:ORG.
    #[arg(long, value_name = "SCHEME")]
    scheme: Option<String>,
    /// The configured store whose keys ask the platform (default: the first store).
    #[arg(long, value_name = "STORE")]
    using: Option<String>,
    /// Say what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `kasse-server sticker …`.
#[derive(Debug, Subcommand)]
enum StickerCommand {
    /// Switch an open-amount sticker off: its landing pages offer nothing to pay, at once.
    Off(StickerSwitchArgs),
    /// Switch an open-amount sticker on again.
    On(StickerSwitchArgs),
}

#[derive(Debug, Args)]
struct StickerSwitchArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The sticker's id, as in the configuration's [[stickers]].
    id: String,
}

/// `kasse-server integrator …`.
#[derive(Debug, Subcommand)]
enum IntegratorCommand {
    /// Add a PoS system: prints its API key and callback secret, once (only a hash of the key is
    /// kept).
    Add(IntegratorAddArgs),
    /// List the PoS systems, their stores and when their keys were last used.
    List(TillListArgs),
    /// Revoke a PoS system's key: its next request is refused.
    Revoke(IntegratorRevokeArgs),
}

#[derive(Debug, Args)]
struct IntegratorAddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Its name, e.g. the PoS product and shop chain.
    name: String,
    /// The stores (ids as in the configuration) the key may act in, comma-separated.
    #[arg(long, value_name = "STORE,…", value_delimiter = ',', required = true)]
    stores: Vec<String>,
    /// Where kasse posts signed callbacks when the PoS's payments change.
    #[arg(long, value_name = "URL")]
    callback_url: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct IntegratorRevokeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Its name, as `kasse-server integrator list` shows it.
    name: String,
    #[command(flatten)]
    output: OutputArgs,
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
struct DoctorArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Your own phone number: where the Management API does not say whether a store may send
    /// push messages, a payment request of 1.00 is sent to it and cancelled at once.
    #[arg(long, value_name = "NUMBER")]
    probe_phone: Option<String>,
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

/// `kasse-server manager …`.
#[derive(Debug, Subcommand)]
enum ManagerCommand {
    /// Print a one-time code that pairs a browser as NAME's back office (valid ten minutes, once).
    /// A new manager chooses their PIN with it; an existing one pairs another device.
    Pair(ManagerPairArgs),
    /// List the managers: their store, whether they have chosen their PIN, and their devices
    /// with a live back office.
    List(ManagerListArgs),
    /// Remove the manager NAME: their back office closes at once. A manager who forgot their PIN
    /// is removed and paired anew, choosing a new one.
    Revoke(ManagerRevokeArgs),
}

#[derive(Debug, Args)]
struct ManagerListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct ManagerRevokeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The manager's name.
    name: String,
}

#[derive(Debug, Args)]
struct ManagerPairArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The manager's name, as the back office shows it.
    name: String,
    /// The store they manage, by id; without it, every store.
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
}

/// `kasse-server till …`.
#[derive(Debug, Subcommand)]
enum TillCommand {
    /// Print a one-time code that pairs a browser with TILL (valid ten minutes, once).
    Pair(PairArgs),
    /// List every paired device: its id, its till, whether it is the till or its customer display,
    /// when it was paired and when it was last used.
    List(TillListArgs),
    /// End a device's session at once, open screens included (they go back to pairing); with
    /// --all TILL, every device of that till.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
struct TillListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// The device's id, as `kasse-server till list` shows it.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    device: Option<String>,
    /// Every device paired with this till, instead of one.
    #[arg(long, value_name = "TILL")]
    all: Option<String>,
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
    /// [database] url].
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

/// Parses the command line and runs the command; its exit status.
pub async fn run() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve::serve(&args).await,
        Command::CheckConfig(args) => check_config::check_config(&args),
        Command::Till(TillCommand::Pair(args)) => till::pair(&args).await,
        Command::Till(TillCommand::List(args)) => till::list(&args).await,
        Command::Till(TillCommand::Revoke(args)) => till::revoke(&args).await,
        Command::Manager(ManagerCommand::Pair(args)) => manager::pair(&args).await,
        Command::Manager(ManagerCommand::List(args)) => manager::list(&args).await,
        Command::Manager(ManagerCommand::Revoke(args)) => manager::revoke(&args).await,
        Command::Integrator(IntegratorCommand::Add(args)) => integrator::add(&args).await,
        Command::Integrator(IntegratorCommand::List(args)) => integrator::list(&args).await,
        Command::Integrator(IntegratorCommand::Revoke(args)) => integrator::revoke(&args).await,
        Command::Loyalty(LoyaltyCommand::Forget(args)) => loyalty::forget(&args).await,
        Command::Sticker(StickerCommand::Off(args)) => sticker::switch(&args, false).await,
        Command::Sticker(StickerCommand::On(args)) => sticker::switch(&args, true).await,
        Command::Qr(command) => {
            output::quiet_logs();
            match command {
                QrCommand::Migrate(args) => qr::qr_migrate(&args).await,
                QrCommand::Callback(CallbackCommand::Create(args)) => qr::callback_create(&args).await,
                QrCommand::Callback(CallbackCommand::List(args)) => qr::callback_list(&args).await,
                QrCommand::Callback(CallbackCommand::Delete(args)) => qr::callback_delete(&args).await,
                QrCommand::Redirect(RedirectCommand::Create(args)) => qr::redirect_create(&args).await,
                QrCommand::Redirect(RedirectCommand::List(args)) => qr::redirect_list(&args).await,
                QrCommand::Redirect(RedirectCommand::Delete(args)) => qr::redirect_delete(&args).await,
                QrCommand::Stickers(args) => qr::qr_stickers(&args).await,
            }
        }
        Command::Doctor(args) => {
            output::quiet_logs();
            doctor::doctor(&args.config, args.probe_phone.clone(), &args.output).await
        }
        Command::Stores(StoresCommand::Import(args)) => {
            output::quiet_logs();
            stores::import(&args).await
        }
        Command::Webhooks(WebhooksCommand::Sync(args)) => {
            output::quiet_logs();
            webhooks::sync(&args).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::CommandFactory;

    use super::*;

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
}

//! `kasse-server`: serve the till, the customer display and the sticker pages, on the built-in
//! simulator or a real Vipps MobilePay platform; and check a configuration before serving it.
//!
//! Each subcommand is a variant of [`Command`] with its own arguments and one function that runs
//! it, so adding one (`till pair`, `qr …`, `webhooks sync`) is a variant, a match arm and a
//! function. Those that need the configuration flatten [`ConfigArgs`] into their arguments.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kasse_api::Role;
use kasse_server::Config;
use kasse_server::config::{ConfigProblem, Provider, process_env};

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

//! `kasse-server`: serve the till, the customer display and the sticker pages, on the built-in
//! simulator or a real Vipps MobilePay platform.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use kasse_server::Config;

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
    /// Serve the web app and the API (on the built-in simulator).
    Serve {
        /// Where to listen.
        #[arg(long, env = "KASSE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The built web app (Trunk's output).
        #[arg(long, env = "KASSE_DIST", default_value = "dist")]
        dist: PathBuf,
        /// Where the database lives.
        #[arg(long, env = "KASSE_DATA", default_value = "data")]
        data: PathBuf,
        /// The URL browsers and the platform reach this server at.
        #[arg(long, env = "KASSE_PUBLIC_URL")]
        public_url: Option<url::Url>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn,kasse_sim=warn".into()),
        )
        .init();
    let Cli { command: Command::Serve { listen, dist, data, public_url } } = Cli::parse();
    let mut config = Config::demo(listen, dist, &data);
    config.public_url = public_url;
    let running = match kasse_server::start(config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("kasse-server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    announce(&running);
    if let Err(e) = shutdown_signal().await {
        eprintln!("kasse-server: cannot listen for Ctrl-C: {e}");
    }
    eprintln!("\nkasse-server: stopping");
    running.stop().await;
    std::process::ExitCode::SUCCESS
}

/// Tells the person who started the server where everything is.
fn announce(running: &kasse_server::Running) {
    let base = running.url();
    let link = |path: &str| base.join(path).map(|u| u.to_string()).unwrap_or_default();
    eprintln!();
    eprintln!(
        "  kasse is running{}",
        if running.sim().is_some() { " on the built-in simulator" } else { "" }
    );
    eprintln!();
    eprintln!("  till:          {}", link("till"));
    if let Some(sim) = running.sim() {
        eprintln!("  phone (sim):   {}", sim.phone_url());
    }
    eprintln!("  sticker page:  {}", link("q/demo"));
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

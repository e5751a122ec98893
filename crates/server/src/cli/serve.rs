//! `kasse-server serve`: starts the server on the configuration, tells the person who started it
//! where everything is, and stops on Ctrl-C or SIGTERM.

use std::io;
use std::process::ExitCode;

use kasse_api::Role;

use super::ServeArgs;
use super::output::write_problems;

/// `kasse-server serve`.
pub(super) async fn serve(args: &ServeArgs) -> ExitCode {
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
    // On the simulator everything is a demo: put the stickers up on its walls, and hand the
    // person who started it a paired till.
    match running.put_up_stickers_on_simulator().await {
        Some(Ok(report)) if report.failed() == 0 => {
            tracing::info!("stickers on the simulator: {}", report.summary());
        }
        Some(Ok(report)) => tracing::warn!("stickers on the simulator: {}", report.summary()),
        Some(Err(e)) => tracing::warn!(error = %e, "could not put the stickers up on the simulator"),
        None => {}
    }
    let pairing = match (running.sim_phone_url(), first_till) {
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

/// Tells the person who started the server where everything is.
fn announce(running: &kasse_server::Running, sticker: Option<&str>, pairing: Option<&str>) {
    let base = running.url();
    let link = |path: &str| base.join(path).map(|u| u.to_string()).unwrap_or_default();
    eprintln!();
    eprintln!(
        "  kasse is running{}",
        if running.sim_phone_url().is_some() { " on the built-in simulator" } else { "" }
    );
    eprintln!();
    let till = pairing.map_or_else(
        || link("till"),
        |code| format!("{}   (pairs this browser)", link(&format!("pair?code={code}"))),
    );
    eprintln!("  till:          {till}");
    if let Some(phone) = running.sim_phone_url() {
        eprintln!("  phone (sim):   {phone}");
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

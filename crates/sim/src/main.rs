//! `kasse-sim`: the platform simulator on its own, for integrators rehearsing a migration offline.
//!
//! `kasse-sim [address]` listens on `address` (default `127.0.0.1:9090`). Each run generates new
//! credentials for the demo sales units; `GET /sim/control/sales-units` lists them, secrets
//! included, to configure a client with.

use kasse_sim::SimConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9090".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let sim = kasse_sim::start(SimConfig::demo(), listener)?;
    let credentials = sim.base_url().join("sim/control/sales-units").map_err(std::io::Error::other)?;
    tracing::info!("simulated platform at {}", sim.base_url());
    tracing::info!("phone page at {}", sim.phone_url());
    for unit in &sim.config().sales_units {
        tracing::info!(
            msn = %unit.msn,
            currency = ?unit.currency,
            client_id = %unit.client_id,
            "sales unit {} (client_secret and subscription key: GET {credentials})", unit.name
        );
    }
    tokio::signal::ctrl_c().await?;
    sim.stop();
    Ok(())
}

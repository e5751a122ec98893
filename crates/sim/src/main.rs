//! `kasse-sim`: the platform simulator on its own, for integrators rehearsing a migration offline.

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
    tracing::info!("simulated platform at {}", sim.base_url());
    tracing::info!("phone page at {}", sim.phone_url());
    for unit in &sim.config().sales_units {
        tracing::info!(
            msn = %unit.msn,
            currency = ?unit.currency,
            client_id = %unit.client_id,
            "sales unit {} (client_secret and subscription key: see the control API)", unit.name
        );
    }
    tokio::signal::ctrl_c().await?;
    sim.stop();
    Ok(())
}

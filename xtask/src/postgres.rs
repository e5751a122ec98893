//! The PostgreSQL cluster a run works against: Debian's real server, made fresh by kasse-pgtemp
//! (initdb in a temporary directory, a free port on 127.0.0.1, the superuser `kasse` without a
//! password) and stopped and removed when the run ends.
//!
//! `cargo xtask test` starts one for the whole suite and hands its admin URL to every later
//! `cargo test` in [`URL_VARIABLE`]; `chaos` and `bench` get theirs from [`cluster`] too (bench
//! with the default, durable settings, so its figures are a real database's).

use std::time::Instant;

use kasse_pgtemp::Cluster;

use crate::error::{Context, Result};
use crate::process::{announce, format_duration};
use crate::tools;

/// The environment variable that gives tests the cluster's admin URL,
/// `postgres://kasse@127.0.0.1:PORT/postgres`; each test creates its own databases in it.
pub(crate) const URL_VARIABLE: &str = "KASSE_TEST_POSTGRES";

/// The settings of a throwaway test cluster. Nothing in it has to survive a crash of the machine
/// (it is deleted at the end of the run anyway), so durability is traded for speed: no fsync, no
/// waiting for the WAL on commit, no full pages in the WAL. Never use these for figures.
pub(crate) const THROWAWAY: [(&str, &str); 3] =
    [("fsync", "off"), ("synchronous_commit", "off"), ("full_page_writes", "off")];

/// Installs Debian's `postgresql` if it is missing, then starts a cluster with `settings`
/// (`postgresql.conf` parameters, e.g. [`THROWAWAY`], or `&[]` for the defaults) and announces
/// its port. Dropping the cluster stops it and removes its directory; [`stop`] also reports.
pub(crate) fn cluster(settings: &[(&str, &str)]) -> Result<Cluster> {
    tools::ensure_postgres()?;
    let began = Instant::now();
    let cluster = Cluster::start(settings).context(|| "starting a PostgreSQL cluster".to_owned())?;
    announce(format!(
        "postgresql: cluster on port {} (started in {}, in {})",
        cluster.port(),
        format_duration(began.elapsed()),
        cluster.dir().display()
    ));
    Ok(cluster)
}

/// Stops `cluster` and removes its directory, announcing it.
pub(crate) fn stop(cluster: Cluster) -> Result<()> {
    let port = cluster.port();
    cluster.stop().context(|| format!("stopping the PostgreSQL cluster on port {port}"))?;
    announce(format!("postgresql: cluster on port {port} stopped"));
    Ok(())
}

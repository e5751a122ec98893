//! The database the run's kasse-server instances keep their data in: a SQLite file in the data
//! directory (one instance), or a PostgreSQL database they share (one instance or two).
//!
//! The PostgreSQL database is `chaos`, made fresh with `psql` in a throwaway cluster: the run's
//! own (`crate::postgres::cluster`, stopped when the run ends), or one the caller already runs
//! (`cargo xtask test` hands down its suite's cluster). The instances get its URL in
//! `KASSE_DATABASE_URL` and make their tables themselves.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Context, Error, Result};

/// The database a run's instances keep their data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Database {
    /// `kasse.db` in the data directory: one instance only.
    Sqlite,
    /// A database in a throwaway PostgreSQL cluster, shared by the instances.
    Postgres,
}

impl Database {
    /// As `--database` names it.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The database `--database` names.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// A running PostgreSQL cluster to make the run's database in, instead of starting one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cluster {
    /// Its superuser's URL of the `postgres` database, `postgres://kasse@127.0.0.1:PORT/postgres`.
    pub(crate) admin_url: String,
    /// Where its programs are (`psql` among them).
    pub(crate) bin_dir: PathBuf,
}

/// The run's PostgreSQL database, as the killer reaches it to cut its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shared {
    /// Its URL, as the instances have it.
    pub(crate) url: String,
    /// The `psql` to reach it with.
    pub(crate) psql: PathBuf,
}

impl Shared {
    /// Ends every session of the database but the one asking, as a failover, a database restart
    /// or a pooler's restart does, while the instances stay up: whatever an instance was doing
    /// under a payment's lock goes on without the lock, while the other instance may take the
    /// payment on. How many sessions ended.
    pub(crate) fn cut_connections(&self) -> Result<u64> {
        let output = Command::new(&self.psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &self.url])
            .args([
                "-c",
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ])
            .stdin(Stdio::null())
            .output()
            .context(|| format!("running {}", self.psql.display()))?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "psql could not cut the database's connections ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let said = String::from_utf8_lossy(&output.stdout);
        said.trim().parse().map_err(|_| Error::new(format!("psql said `{}`, not a count", said.trim())))
    }
}

/// `psql` of the cluster whose programs are in `bin_dir`; else Debian's wrapper on PATH.
pub(crate) fn psql(bin_dir: &Path) -> PathBuf {
    let psql = bin_dir.join("psql");
    if psql.exists() { psql } else { PathBuf::from("psql") }
}

/// The name of the run's database in the cluster.
pub(crate) const NAME: &str = "chaos";

/// Makes the database [`NAME`] in `cluster`, dropping one an earlier run left
/// there (and its connections) first; its URL.
pub(crate) fn create(cluster: &Cluster) -> Result<String> {
    let psql = psql(&cluster.bin_dir);
    let output = Command::new(&psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &cluster.admin_url])
        // Each `-c` is a transaction of its own: DROP and CREATE DATABASE refuse to run in one.
        .args(["-c", &format!("DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")])
        .args(["-c", &format!("CREATE DATABASE {NAME}")])
        .stdin(Stdio::null())
        .output()
        .context(|| format!("running {}", psql.display()))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "psql could not create the database {NAME} ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    with_database(&cluster.admin_url, NAME)
}

/// `url` naming the database `name` instead of the one it names.
pub(crate) fn with_database(url: &str, name: &str) -> Result<String> {
    let (url, query) = url.split_once('?').map_or((url, None), |(url, query)| (url, Some(query)));
    let (_scheme, rest) =
        url.split_once("://").ok_or_else(|| Error::new(format!("`{url}` is not a PostgreSQL URL")))?;
    // The host part ends at the first `/`; the database is whatever follows it.
    let host_length = rest.find('/').unwrap_or(rest.len());
    let base = &url[..url.len() - rest.len() + host_length];
    Ok(match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_database_replaces_the_one_the_admin_url_names() {
        assert_eq!(
            with_database("postgres://kasse@127.0.0.1:5433/postgres", "chaos").unwrap(),
            "postgres://kasse@127.0.0.1:5433/chaos"
        );
        assert_eq!(
            with_database("postgres://kasse@127.0.0.1:5433", "chaos").unwrap(),
            "postgres://kasse@127.0.0.1:5433/chaos"
        );
        assert_eq!(
            with_database("postgresql://kasse@db/postgres?sslmode=disable", "chaos").unwrap(),
            "postgresql://kasse@db/chaos?sslmode=disable"
        );
        assert!(with_database("kasse@db/postgres", "chaos").is_err());
    }

    #[test]
    fn the_database_is_named_as_the_option_spells_it() {
        for database in [Database::Sqlite, Database::Postgres] {
            assert_eq!(Database::parse(database.as_str()), Some(database));
        }
        assert_eq!(Database::parse("postgresql"), Some(Database::Postgres));
        assert_eq!(Database::parse("mysql"), None);
        assert_eq!(Database::parse(""), None);
    }

    #[test]
    fn the_database_is_made_fresh_in_a_running_cluster() {
        if !kasse_pgtemp::installed() {
            eprintln!("skipped: PostgreSQL is not installed (`cargo xtask test` installs it)");
            return;
        }
        let running = kasse_pgtemp::Cluster::start(&crate::postgres::THROWAWAY).unwrap();
        assert!(running.bin_dir().join("psql").exists(), "{} has no psql", running.bin_dir().display());
        let cluster = Cluster { admin_url: running.url("postgres"), bin_dir: running.bin_dir().to_owned() };
        let url = create(&cluster).unwrap();
        assert_eq!(url, running.url(NAME));
        // Again: the one the first made is dropped and made afresh.
        assert_eq!(create(&cluster).unwrap(), url);
        running.stop().unwrap();
    }
}

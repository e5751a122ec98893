//! What the server's benchmarks share: a stand-alone simulator as the one platform of a run,
//! servers configured for it on SQLite or on a PostgreSQL database of their own, paired tills,
//! percentiles, and where the reports go.
//!
//! Each bench file includes this module (`mod common;`) and uses what it needs.

#![allow(dead_code, reason = "each bench uses a part of the shared module")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kasse_api::Role;
use kasse_server::{CapturePolicy, Config, Provider, ProviderKind, Running, TillConfig};
use kasse_sim::{SimConfig, SimHandle};
use serde_json::json;
use sqlx::Connection as _;

/// The environment variable naming a PostgreSQL server's admin URL
/// (`postgres://kasse@127.0.0.1:PORT/postgres`) the benches may make databases in; `cargo xtask
/// bench` starts a cluster with the default, durable settings and sets it. Without it the
/// PostgreSQL figures are left out.
pub const POSTGRES_VARIABLE: &str = "KASSE_BENCH_POSTGRES";

/// The demo store's sales unit.
pub const MSN: &str = "123456";

/// The admin URL of the PostgreSQL server the benches may use, if any.
pub fn postgres_admin() -> Option<String> {
    std::env::var(POSTGRES_VARIABLE).ok().filter(|url| !url.trim().is_empty())
}

/// A whole number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// The `p`th percentile (0 to 1) of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and 95th percentile of some latencies, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
}

impl Spread {
    /// The spread of `latencies`; not a number for none.
    pub fn of(mut latencies: Vec<Duration>) -> Self {
        if latencies.is_empty() {
            return Self { p50: f64::NAN, p95: f64::NAN };
        }
        latencies.sort();
        Self { p50: ms(percentile(&latencies, 0.5)), p95: ms(percentile(&latencies, 0.95)) }
    }

    /// `{p50, p95}`, each `null` when there were no latencies.
    pub fn json(self) -> serde_json::Value {
        json!({ "p50": self.p50, "p95": self.p95 })
    }
}

/// Where reports go: `target/bench/` (or `$CARGO_TARGET_DIR/bench/`), created if needed.
pub fn report_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"), PathBuf::from)
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh folder for one run's files, removed by [`Scratch::drop`].
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "kasse-bench-{what}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stand-alone simulator on a free port of 127.0.0.1: the one platform every server of a
/// scenario talks to.
pub async fn simulator() -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    kasse_sim::start(SimConfig::demo(), listener).expect("the simulator starts")
}

/// The ids of `count` tills: `till-1` …
pub fn till_ids(count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("till-{n}")).collect()
}

/// The demo store's tills `ids`, capturing at once, without stickers.
pub fn tills(config: &Config, ids: &[String]) -> Vec<TillConfig> {
    ids.iter()
        .map(|id| TillConfig {
            id: id.clone(),
            name: format!("Kasse {id}"),
            store: config.stores[0].id.clone(),
            capture: CapturePolicy::Automatic,
            callback_qr: None,
            redirect_sticker: None,
            charge_on_check_in: false,
        })
        .collect()
}

/// A server's configuration: the demo store with `tills` on `database`, talking to the
/// stand-alone simulator `sim` (as to any `kasse-sim` of its own), reached at `public_url` if
/// given (else at its own address).
pub fn config_for(
    scratch: &Path,
    database: &str,
    sim: &SimHandle,
    till_ids: &[String],
    public_url: Option<&url::Url>,
) -> Config {
    let mut config = Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), scratch.join("dist"), scratch);
    database.clone_into(&mut config.database_url);
    config.provider = Provider::Platform { base_url: sim.base_url().clone() };
    config.provider_kind = ProviderKind::Sim;
    let unit = sim.config().sales_unit(MSN).expect("the demo simulator has the store's sales unit");
    config.stores[0].credentials = Some(kasse_vipps::Credentials {
        client_id: unit.client_id.clone(),
        client_secret: unit.client_secret.clone(),
        subscription_key: unit.subscription_key.clone(),
        msn: unit.msn.clone(),
    });
    config.tills = tills(&config, till_ids);
    config.stickers.clear();
    config.public_url = public_url.cloned();
    config
}

/// A fresh, empty database on the benches' PostgreSQL server, dropped by [`PgDatabase::drop`].
pub struct PgDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin: &str) -> Self {
        let name = format!("kasse_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL server at {admin}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&name);
        Self { admin: admin.to_owned(), name, url: url.into() }
    }

    /// Drops the database (ending whatever connections are left).
    pub async fn drop_now(self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut conn)
            .await;
        if let Err(e) = dropped {
            eprintln!("could not drop the bench database {}: {e}", self.name);
        }
        let _ = conn.close().await;
    }
}

/// Pairs a browser with `till` through the server at `base` (`http://…/`), with a code from
/// `running` (any instance on the same database); the browser's session cookie,
/// `kasse_session=…`.
pub async fn pair_cookie(running: &Running, base: &str, till: &str, role: Role) -> String {
    let code = running.pairing_code(till, role).await.unwrap();
    redeem(&reqwest::Client::new(), base, &code).await
}

/// Redeems a pairing code at `base`; the session cookie.
pub async fn redeem(http: &reqwest::Client, base: &str, code: &str) -> String {
    let answer = http.post(format!("{base}api/pair")).json(&json!({"code": code})).send().await.unwrap();
    assert!(answer.status().is_success(), "pairing: {}", answer.status());
    answer.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

/// An HTTP client that sends `cookie` with every request.
pub fn client_with_cookie(cookie: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

/// Milliseconds since the Unix epoch, as the simulator stamps its webhooks.
pub fn unix_ms_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

//! The real `kasse-server` binary as a child process, on a fixed port and one database, that can
//! be told to abort itself at a named crash point (`KASSE_TEST_CRASH_AT`), killed, and started
//! again: a [`Journey`] through one or more runs of the server. Used by the crash tests and the
//! late-create tests.
//!
//! The database is a file in the journey's folder, or with `KASSE_TEST_DATABASE=postgres` a
//! PostgreSQL database made for the journey (see `database.rs`); either way one database for every
//! run. [`Journey::two_instances`] runs two servers side by side instead, instances A and B, each
//! on its port, on one PostgreSQL database, as several instances behind a load balancer do; both
//! give B's address as their public URL, so the platform's webhooks reach B whichever instance
//! started the payment. The plain methods (`start`, `pair`, `snapshot`, …) act on the first
//! instance; their `_on` siblings on the [`Instance`] named.
//!
//! The simulator runs in the test, so it outlives every run and remembers everything it received.
//! The server talks to it as to any stand-alone simulator: `provider = "sim"` with a `base_url`,
//! and the sales unit's credentials given as `{ env = "…" }` secrets in the child's environment.
//! Every run of an instance listens on the same port, so the webhook registration of the first run
//! is the later runs' too. Every line any run wrote (stdout and stderr, marked with its instance
//! when there are two) is in each failure message.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use kasse_sim::SimConfig;
use tokio::sync::watch;

use super::database::{self, PostgresDatabase};
use super::*;

/// The environment variables the configuration names for the store's secrets.
const CLIENT_SECRET_VARIABLE: &str = "KASSE_CRASH_TEST_CLIENT_SECRET";
const SUBSCRIPTION_KEY_VARIABLE: &str = "KASSE_CRASH_TEST_SUBSCRIPTION_KEY";
/// What the server prints on stderr once it serves.
const SERVING: &str = "Press Ctrl-C to stop.";

/// Where a child server is in its life, as its output tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Starting,
    Serving,
    /// Its output ended: the process is gone.
    Gone,
}

/// One run of the server binary. Killed (by its own handle) if the test ends while it runs.
pub(crate) struct ServerProcess {
    child: Child,
    life: watch::Receiver<Life>,
    /// `run 3`, or `run 3 of A`: how the log names it.
    label: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One server of a journey: its configuration file and its fixed address.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// `A`, `B`; empty for a journey's only instance.
    pub(crate) name: &'static str,
    config: PathBuf,
    /// `http://127.0.0.1:{port}`.
    pub(crate) base: String,
}

impl Instance {
    /// Sets this instance's reconciler to look for work once an hour from its next start (at the
    /// start, then not again while a test lasts): nothing it shows a till then comes from polling
    /// the platform, only from the platform's webhooks.
    pub(crate) fn polling_nothing(&self) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let text = text.replacen("[server]\n", "[server]\nreconcile_every_secs = 3600\n", 1);
        // Missed, the tests it serves would pass on a poll again, proving nothing.
        assert!(text.contains("reconcile_every_secs = 3600"), "no [server] table in {text}");
        std::fs::write(&self.config, text).unwrap();
    }
}

/// A simulator of its own, a folder with the configuration files (and the SQLite database, or the
/// PostgreSQL database made for it), one fixed port per instance, and the output of every run of
/// the server so far.
pub(crate) struct Journey {
    pub(crate) sim: SimHandle,
    dir: PathBuf,
    /// The instances, the first the one the plain methods act on.
    instances: Vec<Instance>,
    /// The first instance's address, `http://127.0.0.1:{port}`.
    pub(crate) base: String,
    /// The child's whole environment: the two secrets and nothing that could change its course.
    env: Vec<(String, String)>,
    log: Arc<Mutex<String>>,
    runs: usize,
    /// The PostgreSQL database, if the journey runs on one; dropped last, after the folder.
    _postgres: Option<PostgresDatabase>,
}

impl Drop for Journey {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that is free now and outside the range the system hands out for port 0, so that no
/// other test's server takes it while this one's server is down between its two runs.
fn fixed_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next().and_then(|low| low.parse::<u16>().ok()))
        .unwrap_or(32_768);
    let (from, to) = (low.saturating_sub(20_000).max(1_025), low.max(1_026));
    for _ in 0..200 {
        let port = fastrand::u16(from..to);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {from} and {to}");
}

/// The configuration of a server on `port` and `database` using the stand-alone simulator at `sim`,
/// for the sales unit `client_id` acts for; reached at `public_url` if given, else at its address.
fn config_file(
    port: u16,
    dir: &Path,
    database: &str,
    public_url: Option<&str>,
    sim: &Url,
    client_id: &str,
) -> String {
    let public_url = public_url.map_or_else(String::new, |url| format!("public_url = \"{url}\"\n"));
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"
{public_url}dist = "{dist}"
database = "{database}"

[platform]
provider = "sim"
base_url = "{sim}"

[[stores]]
id = "grunerlokka"
name = "Kaffebrenneriet Grünerløkka"
msn = "{MSN}"
currency = "NOK"
client_id = "{client_id}"
client_secret = {{ env = "{CLIENT_SECRET_VARIABLE}" }}
subscription_key = {{ env = "{SUBSCRIPTION_KEY_VARIABLE}" }}

[[tills]]
id = "{TILL}"
name = "Kasse 1"
store = "grunerlokka"
"#,
        dist = dir.join("dist").display(),
    )
}

/// Copies each line of `pipe` into `log`, prefixed; tells `life` when the server serves (on
/// stderr) and when the last of its two pipes has closed.
fn follow_output(
    pipe: impl std::io::Read + Send + 'static,
    prefix: String,
    log: Arc<Mutex<String>>,
    life: Arc<watch::Sender<Life>>,
    open: Arc<AtomicUsize>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let serving = line.contains(SERVING);
            let _ = writeln!(log.lock().unwrap(), "{prefix} {line}");
            if serving {
                life.send_replace(Life::Serving);
            }
        }
        if open.fetch_sub(1, Ordering::SeqCst) == 1 {
            life.send_replace(Life::Gone);
        }
    });
}

impl Journey {
    /// One instance on one database: a file, or a fresh PostgreSQL database when
    /// `KASSE_TEST_DATABASE=postgres`.
    pub(crate) async fn new() -> Self {
        let postgres = database::postgres_if_chosen().await;
        Self::with_instances(&[""], postgres, false).await
    }

    /// Instances A and B on one fresh PostgreSQL database, both with B's address as their public
    /// URL (so the platform's webhooks reach B). `None`, having said why, when the tests have no
    /// PostgreSQL server (`KASSE_TEST_POSTGRES`): several instances need one.
    pub(crate) async fn two_instances() -> Option<Self> {
        let Some(admin) = database::postgres_admin() else {
            eprintln!(
                "{} is not set: several instances need a PostgreSQL server to share, so this test \
                 checks nothing (`cargo xtask test` starts one)",
                database::POSTGRES_VARIABLE
            );
            return None;
        };
        let postgres = PostgresDatabase::create(&admin).await;
        Some(Self::with_instances(&["A", "B"], Some(postgres), true).await)
    }

    /// The instances `names` on `postgres` (or else a SQLite file, for one instance only), each on a
    /// fixed port of its own; reached at the last one's address if `public_at_last`.
    async fn with_instances(
        names: &[&'static str],
        postgres: Option<PostgresDatabase>,
        public_at_last: bool,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = kasse_sim::start(SimConfig::demo(), listener).expect("the simulator starts");
        let unit = sim.config().sales_unit(MSN).expect("the demo simulator has the store's sales unit");
        let env = vec![
            (CLIENT_SECRET_VARIABLE.to_owned(), unit.client_secret.expose().to_owned()),
            (SUBSCRIPTION_KEY_VARIABLE.to_owned(), unit.subscription_key.expose().to_owned()),
            // Plain text in the failure messages.
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        let dir = std::env::temp_dir().join(format!("kasse-server-crash-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("dist")).unwrap();
        let database = postgres.as_ref().map_or_else(
            || {
                assert_eq!(names.len(), 1, "instances share a database only on PostgreSQL");
                format!("sqlite://{}", dir.join("kasse.db").display())
            },
            |postgres| postgres.url().to_owned(),
        );
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < names.len() {
            let port = fixed_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let base = |port: u16| format!("http://127.0.0.1:{port}");
        let public_url = public_at_last.then(|| base(ports[ports.len() - 1]));
        let instances: Vec<Instance> = names
            .iter()
            .zip(&ports)
            .map(|(&name, &port)| {
                let file =
                    if name.is_empty() { "kasse.toml".to_owned() } else { format!("kasse-{name}.toml") };
                let config = dir.join(file.to_lowercase());
                let text = config_file(
                    port,
                    &dir,
                    &database,
                    public_url.as_deref(),
                    sim.base_url(),
                    &unit.client_id,
                );
                std::fs::write(&config, text).unwrap();
                Instance { name, config, base: base(port) }
            })
            .collect();
        Self {
            sim,
            dir,
            base: instances[0].base.clone(),
            instances,
            env,
            log: Arc::new(Mutex::new(String::new())),
            runs: 0,
            _postgres: postgres,
        }
    }

    /// The instance called `name` (`A`, `B`).
    pub(crate) fn instance(&self, name: &str) -> Instance {
        let found = self.instances.iter().find(|i| i.name == name);
        found.cloned().unwrap_or_else(|| panic!("the journey has no instance {name}: {:?}", self.instances))
    }

    /// The first instance.
    pub(crate) fn first(&self) -> Instance {
        self.instances[0].clone()
    }

    /// Everything the server has written so far, every run.
    pub(crate) fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Runs `kasse-server serve`, aborting itself at `crash_at` if given, and waits until it
    /// serves.
    pub(crate) async fn start(&mut self, crash_at: Option<&str>) -> ServerProcess {
        self.start_on(&self.first(), crash_at).await
    }

    /// Runs `kasse-server serve` as `instance`, aborting itself at `crash_at` if given, and waits
    /// until it serves.
    pub(crate) async fn start_on(&mut self, instance: &Instance, crash_at: Option<&str>) -> ServerProcess {
        let mut server = self.spawn(instance, crash_at);
        let serving = tokio::time::timeout(PATIENCE, server.life.wait_for(|l| *l != Life::Starting))
            .await
            .is_ok_and(|started| started.is_ok_and(|life| *life == Life::Serving));
        assert!(serving, "{} of the server did not start serving; it said:\n{}", server.label, self.logs());
        server
    }

    /// Runs `kasse-server serve` as each of `instances` at the same moment, and waits until all
    /// serve.
    pub(crate) async fn start_together(&mut self, instances: &[&Instance]) -> Vec<ServerProcess> {
        let mut servers: Vec<ServerProcess> =
            instances.iter().map(|instance| self.spawn(instance, None)).collect();
        for server in &mut servers {
            let serving = tokio::time::timeout(PATIENCE, server.life.wait_for(|l| *l != Life::Starting))
                .await
                .is_ok_and(|started| started.is_ok_and(|life| *life == Life::Serving));
            assert!(
                serving,
                "{} of the server did not start serving; it said:\n{}",
                server.label,
                self.logs()
            );
        }
        servers
    }

    /// Runs `kasse-server serve` aborting itself at `point`, and waits until it has, whether or
    /// not it had begun to serve (a write the reconciler sends as it starts may take it there).
    pub(crate) async fn run_until_crash(&mut self, point: &str) -> ExitStatus {
        let server = self.spawn(&self.first(), Some(point));
        self.until_crashed(server, point).await
    }

    /// Kills a running server (SIGKILL) and waits until it is gone.
    pub(crate) fn kill(&self, server: ServerProcess) {
        let _ = writeln!(self.log.lock().unwrap(), "===== {} killed =====", server.label);
        drop(server);
    }

    /// Starts `kasse-server serve` as `instance`, aborting itself at `crash_at` if given.
    fn spawn(&mut self, instance: &Instance, crash_at: Option<&str>) -> ServerProcess {
        self.runs += 1;
        let label = if instance.name.is_empty() {
            format!("run {}", self.runs)
        } else {
            format!("run {} of {}", self.runs, instance.name)
        };
        let what = crash_at.map_or_else(String::new, |point| format!(", KASSE_TEST_CRASH_AT={point}"));
        let _ = writeln!(self.log.lock().unwrap(), "===== {label}{what} =====");
        let mut command = Command::new(BINARY);
        command
            .args(["serve", "--config"])
            .arg(&instance.config)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(point) = crash_at {
            command.env("KASSE_TEST_CRASH_AT", point);
        }
        let mut child = command.spawn().expect("kasse-server can be run");
        let (life, watching) = watch::channel(Life::Starting);
        let life = Arc::new(life);
        let open = Arc::new(AtomicUsize::new(2));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let prefix = |pipe: &str| {
            if instance.name.is_empty() { format!("[{pipe}]") } else { format!("[{} {pipe}]", instance.name) }
        };
        follow_output(stdout, prefix("stdout"), Arc::clone(&self.log), Arc::clone(&life), Arc::clone(&open));
        follow_output(stderr, prefix("stderr"), Arc::clone(&self.log), life, open);
        ServerProcess { child, life: watching, label }
    }

    /// Waits for the server to die by itself at its crash point; its exit status.
    pub(crate) async fn until_crashed(&self, mut server: ServerProcess, point: &str) -> ExitStatus {
        let gone = tokio::time::timeout(PATIENCE, server.life.wait_for(|l| *l == Life::Gone)).await;
        assert!(gone.is_ok(), "the server did not crash at {point}; it said:\n{}", self.logs());
        let status = server.child.wait().unwrap();
        assert!(!status.success(), "the server was killed, not stopped: {status}\n{}", self.logs());
        assert!(
            self.logs().contains(&format!("crashing at {point}")),
            "the server died at {point}: {status}\n{}",
            self.logs()
        );
        status
    }

    /// Pairs a browser with the till by `kasse-server till pair`, as a manager does; the browser.
    pub(crate) async fn pair(&self) -> reqwest::Client {
        self.pair_through(&self.first()).await
    }

    /// Pairs a browser with the till through `instance` (its configuration for the command, its
    /// address for the pairing page); the browser.
    pub(crate) async fn pair_through(&self, instance: &Instance) -> reqwest::Client {
        let stdout = self.command_on(instance, &["till", "pair", TILL]).await;
        let code = stdout.trim();
        let answer =
            browser().post(format!("{}/api/pair", instance.base)).json(&json!({ "code": code })).send().await;
        let answer =
            answer.unwrap_or_else(|e| panic!("the server answers the pairing: {e}\n{}", self.logs()));
        assert_eq!(answer.status(), StatusCode::OK, "pairing with {code:?} works\n{}", self.logs());
        let set_cookie = answer.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        browser_with_cookie(set_cookie.split(';').next().unwrap())
    }

    /// Runs `kasse-server ARGS -c CONFIG` with `instance`'s configuration, as its operator would;
    /// what it printed. Panics if it fails.
    pub(crate) async fn command_on(&self, instance: &Instance, args: &[&str]) -> String {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .arg("-c")
            .arg(&instance.config)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.dir);
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{args:?} failed: {}\n{stdout}\n{stderr}", output.status);
        stdout
    }

    /// The till as its page loads it.
    pub(crate) async fn snapshot(&self, till: &reqwest::Client) -> TillSnapshot {
        self.snapshot_on(&self.first(), till).await
    }

    /// The till as its page loads it from `instance`.
    pub(crate) async fn snapshot_on(&self, instance: &Instance, till: &reqwest::Client) -> TillSnapshot {
        let answer = till.get(format!("{}/api/tills/{TILL}", instance.base)).send().await;
        let answer = answer.unwrap_or_else(|e| panic!("the server answers: {e}\n{}", self.logs()));
        assert_eq!(answer.status(), StatusCode::OK, "the till loads\n{}", self.logs());
        answer.json().await.unwrap()
    }

    /// Waits until the till shows its sale `status` (reading its live events, as its page does);
    /// the sale as shown then.
    pub(crate) async fn until_till_shows(&self, till: &reqwest::Client, status: SaleStatus) -> Sale {
        self.until_till_shows_on(&self.first(), till, status).await
    }

    /// Waits until the till, loaded from `instance`, shows its sale `status` (reading that
    /// instance's live events); the sale as shown then.
    pub(crate) async fn until_till_shows_on(
        &self,
        instance: &Instance,
        till: &reqwest::Client,
        status: SaleStatus,
    ) -> Sale {
        let snapshot = self.snapshot_on(instance, till).await;
        let sale = snapshot.sale.unwrap_or_else(|| panic!("the till has a sale\n{}", self.logs()));
        if sale.status == status {
            return sale;
        }
        let url = format!("{}/api/tills/{TILL}/events?after={}", instance.base, snapshot.last_event_id);
        let mut response = till.get(url).header(header::ACCEPT, "text/event-stream").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the event stream opens\n{}", self.logs());
        let mut pending: Vec<u8> = Vec::new();
        let mut shown = Vec::new();
        let found = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                    let block: Vec<u8> = pending.drain(..end + 2).collect();
                    let Some(event) = SseEvent::parse(&String::from_utf8_lossy(&block)) else { continue };
                    if let Some(seen) = event.sale_if_any().filter(|s| s.reference == sale.reference) {
                        shown.push(seen.status);
                        if seen.status == status {
                            return Some(seen);
                        }
                    }
                    continue;
                }
                match response.chunk().await {
                    Ok(Some(chunk)) => pending.extend_from_slice(&chunk),
                    _ => return None,
                }
            }
        })
        .await;
        match found {
            Ok(Some(sale)) => sale,
            _ => panic!(
                "the till never showed {} {status:?} (it showed {shown:?})\n{}",
                sale.reference,
                self.logs()
            ),
        }
    }

    /// Waits until the server has no platform write left unconfirmed (`/metrics` says so; there is
    /// no event for it), so nothing more will be sent.
    pub(crate) async fn until_nothing_pending(&self) {
        self.until_nothing_pending_on(&self.first()).await;
    }

    /// Waits until `instance` counts no platform write left unconfirmed (the count is the
    /// database's, so every instance's).
    pub(crate) async fn until_nothing_pending_on(&self, instance: &Instance) {
        self.until_metric_on(instance, "kasse_operations_pending", "writes left pending", |n| n == 0).await;
    }

    /// The sample `series` of `instance`'s `/metrics` (`None` when it is not there, or the instance
    /// does not answer).
    pub(crate) async fn metric_on(&self, instance: &Instance, series: &str) -> Option<i64> {
        let answer = browser().get(format!("{}/metrics", instance.base)).send().await.ok()?;
        metric(&answer.text().await.ok()?, series)
    }

    /// Waits until `instance`'s `/metrics` has `series` with a value `wanted` accepts (there is no
    /// event for it), reading it every 100 ms; fails after [`PATIENCE`], saying it was `waiting`.
    pub(crate) async fn until_metric_on(
        &self,
        instance: &Instance,
        series: &str,
        waiting: &str,
        wanted: impl Fn(i64) -> bool,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut last = None;
        let settled = tokio::time::timeout(PATIENCE, async {
            loop {
                tick.tick().await;
                last = self.metric_on(instance, series).await;
                if last.is_some_and(&wanted) {
                    return;
                }
            }
        })
        .await;
        assert!(settled.is_ok(), "{waiting}: {series} on {} stayed {last:?}\n{}", instance.base, self.logs());
    }

    /// Follows the till's live events on `instance` in the background from its snapshot on, as its
    /// page, loaded from there, does.
    pub(crate) async fn follow_on(&self, instance: &Instance, till: &reqwest::Client) -> TillEvents {
        let after = self.snapshot_on(instance, till).await.last_event_id;
        self.follow_after(instance, till, after).await
    }

    /// Follows the till's live events through `instance` as a browser reconnecting with
    /// `Last-Event-ID: after` does: what came after that event first, then what comes.
    pub(crate) async fn follow_after(
        &self,
        instance: &Instance,
        till: &reqwest::Client,
        after: u64,
    ) -> TillEvents {
        let url = format!("{}/api/tills/{TILL}/events", instance.base);
        let request =
            till.get(url).header(header::ACCEPT, "text/event-stream").header("last-event-id", after);
        let mut response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the event stream opens\n{}", self.logs());
        let (shown, sales) = watch::channel(Vec::new());
        let reader = tokio::spawn(async move {
            let mut pending: Vec<u8> = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                pending.extend_from_slice(&chunk);
                while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                    let block: Vec<u8> = pending.drain(..end + 2).collect();
                    if let Some(sale) =
                        SseEvent::parse(&String::from_utf8_lossy(&block)).and_then(|e| e.sale_if_any())
                    {
                        shown.send_modify(|sales| sales.push(sale));
                    }
                }
            }
        });
        TillEvents { sales, reader }
    }

    /// The platform's record of `reference`.
    fn payment_record(&self, reference: &str) -> kasse_sim::PaymentRecord {
        let records = self.sim.payment_records();
        let record = records.iter().find(|r| r.reference == reference);
        record
            .cloned()
            .unwrap_or_else(|| panic!("the platform has {reference}: {records:#?}\n{}", self.logs()))
    }

    /// The platform applied exactly one `operation` for `reference`, and every one it received
    /// carried the same idempotency key; returns them all.
    pub(crate) fn applied_once(&self, reference: &str, operation: &str) -> Vec<ReceivedWrite> {
        let received = self.payment_record(reference).received;
        let sent: Vec<ReceivedWrite> = writes(&received, operation).into_iter().cloned().collect();
        let applied = sent.iter().filter(|w| w.applied).count();
        assert_eq!(applied, 1, "the {operation} was applied exactly once: {received:#?}\n{}", self.logs());
        let key = sent[0].idempotency_key.clone();
        assert!(key.is_some(), "{sent:#?}");
        assert!(sent.iter().all(|w| w.idempotency_key == key), "one key for one intent: {sent:#?}");
        sent
    }
}

/// Starts a QR sale of `value` øre at the till; what came back (an error when the server died).
pub(crate) async fn start_qr_sale(
    journey: &Journey,
    till: &reqwest::Client,
    value: i64,
) -> reqwest::Result<reqwest::Response> {
    till.post(format!("{}/api/tills/{TILL}/sales", journey.base))
        .json(&json!({"amount": {"value": value, "currency": "NOK"}, "flow": "qr"}))
        .send()
        .await
}

/// Kari scans the sale's QR code and approves on the phone page.
pub(crate) async fn approve(journey: &Journey, sale: &Sale) {
    let qr = sale.qr.as_deref().unwrap_or_else(|| panic!("the sale shows a QR code: {sale:?}"));
    let answer =
        browser().post(qr).form(&[("action", "approve"), ("customer", CUSTOMER)]).send().await.unwrap();
    assert!(
        answer.status().is_success(),
        "the phone took the approval: {}\n{}",
        answer.status(),
        journey.logs()
    );
}

/// The sales a till was shown on one instance's live event stream, read in the background (see
/// [`Journey::follow_on`]).
pub(crate) struct TillEvents {
    sales: watch::Receiver<Vec<Sale>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for TillEvents {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl TillEvents {
    /// Waits until the stream has shown a sale that `wanted` accepts; that sale, or `None` if none
    /// came within [`PATIENCE`].
    pub(crate) async fn try_until(&mut self, wanted: impl Fn(&Sale) -> bool) -> Option<Sale> {
        let seen =
            tokio::time::timeout(PATIENCE, self.sales.wait_for(|sales| sales.iter().any(&wanted))).await;
        seen.ok().and_then(|seen| seen.ok().and_then(|sales| sales.iter().find(|s| wanted(s)).cloned()))
    }

    /// Waits until the stream has shown a sale that `wanted` accepts (`what`, if it never does);
    /// that sale.
    pub(crate) async fn until(
        &mut self,
        journey: &Journey,
        what: &str,
        wanted: impl Fn(&Sale) -> bool,
    ) -> Sale {
        let found = self.try_until(wanted).await;
        found.unwrap_or_else(|| {
            panic!("the till was never shown {what}: {:#?}\n{}", self.sales.borrow(), journey.logs())
        })
    }

    /// Every status the stream has shown for `reference`, in order.
    pub(crate) fn statuses(&self, reference: &str) -> Vec<SaleStatus> {
        self.sales.borrow().iter().filter(|s| s.reference == reference).map(|s| s.status).collect()
    }
}

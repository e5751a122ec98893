//! The real `kasse-server` binary as a child process, on a fixed port and one database file, that
//! can be told to abort itself at a named crash point (`KASSE_TEST_CRASH_AT`), killed, and started
//! again: a [`Journey`] through one or more runs of the server. Used by the crash tests and the
//! late-create tests.
//!
//! The simulator runs in the test, so it outlives every run and remembers everything it received.
//! The server talks to it as to any stand-alone simulator: `provider = "sim"` with a `base_url`,
//! and the sales unit's credentials given as `{ env = "…" }` secrets in the child's environment.
//! Every run listens on the same port, so the webhook registration of the first run is the later
//! runs' too. Every line any run wrote (stdout and stderr) is in each failure message.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use kasse_sim::SimConfig;
use tokio::sync::watch;

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
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A simulator of its own, a folder with a configuration file and a database, a fixed port, and
/// the output of every run of the server so far.
pub(crate) struct Journey {
    pub(crate) sim: SimHandle,
    dir: PathBuf,
    config: PathBuf,
    /// `http://127.0.0.1:{port}`.
    pub(crate) base: String,
    /// The child's whole environment: the two secrets and nothing that could change its course.
    env: Vec<(String, String)>,
    log: Arc<Mutex<String>>,
    runs: usize,
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

/// The configuration of a server on `port` using the stand-alone simulator at `sim`, for the
/// sales unit `client_id` acts for.
fn config_file(port: u16, dir: &Path, sim: &Url, client_id: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"
dist = "{dist}"
database = "sqlite://{database}"

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
        database = dir.join("kasse.db").display(),
    )
}

/// Copies each line of `pipe` into `log`, prefixed; tells `life` when the server serves (on
/// stderr) and when the last of its two pipes has closed.
fn follow_output(
    pipe: impl std::io::Read + Send + 'static,
    prefix: &'static str,
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
    pub(crate) async fn new() -> Self {
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
        let port = fixed_port();
        let config = dir.join("kasse.toml");
        std::fs::write(&config, config_file(port, &dir, sim.base_url(), &unit.client_id)).unwrap();
        Self {
            sim,
            dir,
            config,
            base: format!("http://127.0.0.1:{port}"),
            env,
            log: Arc::new(Mutex::new(String::new())),
            runs: 0,
        }
    }

    /// Everything the server has written so far, every run.
    pub(crate) fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Runs `kasse-server serve`, aborting itself at `crash_at` if given, and waits until it
    /// serves.
    pub(crate) async fn start(&mut self, crash_at: Option<&str>) -> ServerProcess {
        let mut server = self.spawn(crash_at);
        let serving = tokio::time::timeout(PATIENCE, server.life.wait_for(|l| *l != Life::Starting))
            .await
            .is_ok_and(|started| started.is_ok_and(|life| *life == Life::Serving));
        assert!(serving, "run {} of the server did not start serving; it said:\n{}", self.runs, self.logs());
        server
    }

    /// Runs `kasse-server serve` aborting itself at `point`, and waits until it has, whether or
    /// not it had begun to serve (a write the reconciler sends as it starts may take it there).
    pub(crate) async fn run_until_crash(&mut self, point: &str) -> ExitStatus {
        let server = self.spawn(Some(point));
        self.until_crashed(server, point).await
    }

    /// Kills a running server (SIGKILL) and waits until it is gone.
    pub(crate) fn kill(&self, server: ServerProcess) {
        let _ = writeln!(self.log.lock().unwrap(), "===== run {} killed =====", self.runs);
        drop(server);
    }

    /// Starts `kasse-server serve`, aborting itself at `crash_at` if given.
    fn spawn(&mut self, crash_at: Option<&str>) -> ServerProcess {
        self.runs += 1;
        let what = crash_at.map_or_else(String::new, |point| format!(", KASSE_TEST_CRASH_AT={point}"));
        let _ = writeln!(self.log.lock().unwrap(), "===== run {}{what} =====", self.runs);
        let mut command = Command::new(BINARY);
        command
            .args(["serve", "--config"])
            .arg(&self.config)
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
        follow_output(stdout, "[stdout]", Arc::clone(&self.log), Arc::clone(&life), Arc::clone(&open));
        follow_output(stderr, "[stderr]", Arc::clone(&self.log), life, open);
        ServerProcess { child, life: watching }
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
        let mut command = Command::new(BINARY);
        command
            .args(["till", "pair", TILL, "-c"])
            .arg(&self.config)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.dir);
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "till pair failed: {}\n{stdout}\n{stderr}", output.status);
        let code = stdout.trim();
        let answer =
            browser().post(format!("{}/api/pair", self.base)).json(&json!({ "code": code })).send().await;
        let answer =
            answer.unwrap_or_else(|e| panic!("the server answers the pairing: {e}\n{}", self.logs()));
        assert_eq!(answer.status(), StatusCode::OK, "pairing with {code:?} works\n{}", self.logs());
        let set_cookie = answer.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        browser_with_cookie(set_cookie.split(';').next().unwrap())
    }

    /// The till as its page loads it.
    pub(crate) async fn snapshot(&self, till: &reqwest::Client) -> TillSnapshot {
        let answer = till.get(format!("{}/api/tills/{TILL}", self.base)).send().await;
        let answer = answer.unwrap_or_else(|e| panic!("the server answers: {e}\n{}", self.logs()));
        assert_eq!(answer.status(), StatusCode::OK, "the till loads\n{}", self.logs());
        answer.json().await.unwrap()
    }

    /// Waits until the till shows its sale `status` (reading its live events, as its page does);
    /// the sale as shown then.
    pub(crate) async fn until_till_shows(&self, till: &reqwest::Client, status: SaleStatus) -> Sale {
        let snapshot = self.snapshot(till).await;
        let sale = snapshot.sale.unwrap_or_else(|| panic!("the till has a sale\n{}", self.logs()));
        if sale.status == status {
            return sale;
        }
        let url = format!("{}/api/tills/{TILL}/events?after={}", self.base, snapshot.last_event_id);
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
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let settled = tokio::time::timeout(PATIENCE, async {
            loop {
                tick.tick().await;
                let Ok(answer) = browser().get(format!("{}/metrics", self.base)).send().await else {
                    continue;
                };
                let text = answer.text().await.unwrap_or_default();
                if metric(&text, "kasse_operations_pending") == Some(0) {
                    return;
                }
            }
        })
        .await;
        assert!(settled.is_ok(), "writes stayed pending\n{}", self.logs());
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

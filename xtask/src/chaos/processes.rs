//! The programs a chaos run starts: the stand-alone simulator (`kasse-sim`), which lives for the
//! whole run, and kasse-server (one instance or several sharing one database), each killed and
//! started again on the same configuration and port.
//!
//! All are guarded: dropping the guard kills the process, so they are stopped on every way out
//! of the run, errors and panics included. Their output goes to `sim.log` and `server.log` (with
//! several instances `server-1.log`, `server-2.log`) in the data directory, each server run after
//! a `===== run N =====` line.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::http::Request;
use crate::webdriver::free_port;

/// How long either program may take to answer after it starts.
const STARTUP: Duration = Duration::from_mins(1);

/// How much of a log's end an error quotes.
const LOG_TAIL: u64 = 4_000;

/// A sales unit of the simulator with its credentials, as its control API lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SalesUnit {
    pub(crate) msn: String,
    pub(crate) name: String,
    pub(crate) currency: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) subscription_key: String,
}

/// A store of the run's configuration: one sales unit, its secrets passed in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreSetup {
    /// Our id for it.
    pub(crate) id: String,
    pub(crate) unit: SalesUnit,
}

impl StoreSetup {
    /// The variable the configuration names for the client secret.
    pub(crate) fn secret_variable(&self) -> String {
        format!("KASSE_CHAOS_{}_CLIENT_SECRET", self.id.to_ascii_uppercase().replace('-', "_"))
    }

    /// The variable the configuration names for the subscription key.
    pub(crate) fn key_variable(&self) -> String {
        format!("KASSE_CHAOS_{}_SUBSCRIPTION_KEY", self.id.to_ascii_uppercase().replace('-', "_"))
    }
}

/// The running simulator, stopped when dropped.
#[derive(Debug)]
pub(crate) struct SimProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(crate) base: String,
}

impl SimProcess {
    /// Starts `binary` on a free loopback port, its output in `log`, and waits until its control
    /// API answers.
    pub(crate) fn start(binary: &Path, log: &Path) -> Result<Self> {
        let port = free_port()?;
        let output = File::create(log).context(|| format!("creating {}", log.display()))?;
        let errors = output.try_clone().context(|| format!("opening {}", log.display()))?;
        let child = Command::new(binary)
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .context(|| format!("starting {}", binary.display()))?;
        let mut sim = Self { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + STARTUP;
        loop {
            if Request::get(format!("{}/sim/control/faults", sim.base)).send().is_ok_and(|r| r.is_success()) {
                return Ok(sim);
            }
            if let Ok(Some(status)) = sim.child.try_wait() {
                return Err(Error::new(format!("kasse-sim stopped at once ({status}): {}", tail(log))));
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!("kasse-sim did not answer on port {port}: {}", tail(log))));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The simulator's sales units with their credentials.
    pub(crate) fn sales_units(&self) -> Result<Vec<SalesUnit>> {
        let answer = Request::get(format!("{}/sim/control/sales-units", self.base)).send()?;
        let units = answer.json()?;
        let field = |unit: &serde_json::Value, name: &str| {
            unit.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::new(format!("a sales unit without `{name}`: {unit}")))
        };
        units
            .as_array()
            .ok_or_else(|| Error::new(format!("the sales units are not a list: {units}")))?
            .iter()
            .map(|unit| {
                Ok(SalesUnit {
                    msn: field(unit, "msn")?,
                    name: field(unit, "name")?,
                    currency: field(unit, "currency")?,
                    client_id: field(unit, "clientId")?,
                    client_secret: field(unit, "clientSecret")?,
                    subscription_key: field(unit, "subscriptionKey")?,
                })
            })
            .collect()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // Its records die with it; the run has read what it needs by then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kasse-server instance on a fixed port and data directory: started, killed and started again.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    binary: PathBuf,
    config: PathBuf,
    dir: PathBuf,
    /// What the run's log calls it: `server`, or `instance N`.
    name: String,
    log: PathBuf,
    /// The secrets, the database's URL and the instance's own settings (and nothing else of this
    /// process's environment but `RUST_LOG`).
    env: Vec<(String, String)>,
    port: u16,
    child: Option<Child>,
    runs: usize,
}

impl ServerProcess {
    /// A server (not started yet) running `binary` with the configuration at `config` and the
    /// environment `env`, in `dir`, listening on `port`, called `name`, its output in `log`.
    pub(crate) fn new(
        binary: PathBuf,
        config: PathBuf,
        dir: &Path,
        env: Vec<(String, String)>,
        port: u16,
        name: String,
        log: PathBuf,
    ) -> Self {
        Self { binary, config, dir: dir.to_path_buf(), name, log, env, port, child: None, runs: 0 }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the run's log calls it: `server`, or `instance N`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Where every run's output goes.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// How many times it has been started.
    pub(crate) const fn runs(&self) -> usize {
        self.runs
    }

    /// A command with the server's environment and working directory.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("NO_COLOR", "1")
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()))
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        command
    }

    /// Starts a new run (killing one still running first) and waits until it answers HTTP.
    pub(crate) fn start(&mut self) -> Result<()> {
        self.kill();
        self.runs += 1;
        let mut output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .context(|| format!("opening {}", self.log.display()))?;
        let _ = writeln!(output, "===== run {} =====", self.runs);
        let errors = output.try_clone().context(|| format!("opening {}", self.log.display()))?;
        let child = self
            .command()
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .stdout(output)
            .stderr(errors)
            .spawn()
            .context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        let health = format!("{}/healthz", self.base());
        loop {
            // Any answer will do: it is listening and routing. (Its health may well report the
            // platform as slow: the run makes it so.)
            if Request::get(&health).timeout(Duration::from_secs(5)).send().is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(Error::new(format!(
                    "kasse-server run {} stopped at once ({status}); its log ends: {}",
                    self.runs,
                    tail(&self.log)
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "kasse-server run {} did not answer on port {} within {}s; its log ends: {}",
                    self.runs,
                    self.port,
                    STARTUP.as_secs(),
                    tail(&self.log)
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the running server, if any, with SIGKILL (no chance to clean up), and waits until it
    /// is gone. Returns whether one was running.
    pub(crate) fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return false };
        let _ = child.kill();
        let _ = child.wait();
        if let Ok(mut output) = OpenOptions::new().append(true).open(&self.log) {
            let _ = writeln!(output, "===== run {} killed (SIGKILL) =====", self.runs);
        }
        true
    }

    /// Whether a run has been started and not killed since (it may have stopped by itself).
    pub(crate) const fn started(&self) -> bool {
        self.child.is_some()
    }

    /// Whether a run is up (started and not exited).
    pub(crate) fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// A one-time code pairing a browser with `till`, from `kasse-server till pair`.
    pub(crate) fn pairing_code(&self, till: &str) -> Result<String> {
        let output = self
            .command()
            .args(["till", "pair", till, "--config"])
            .arg(&self.config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .context(|| format!("running kasse-server till pair {till}"))?;
        let code = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !code.is_empty() {
            Ok(code)
        } else {
            Err(Error::new(format!(
                "kasse-server till pair {till} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The configuration of the run's servers: listening on `port` (other instances are told
/// theirs in `KASSE_LISTEN`) and reached there by the platform's webhooks, their (empty) web app
/// folder in `dir`, `database` (or, when `None`, the one `KASSE_DATABASE_URL` gives), the
/// simulator at `sim` as their platform, `stores`, and `tills` as (id, store id), every one
/// capturing automatically.
pub(crate) fn config_text(
    port: u16,
    dir: &Path,
    database: Option<&str>,
    sim: &str,
    stores: &[StoreSetup],
    tills: &[(String, String)],
) -> String {
    let database = database.map_or_else(
        || "# database: KASSE_DATABASE_URL, shared by every instance\n".to_owned(),
        |url| format!("database = {}\n", toml_string(url)),
    );
    let mut text = format!(
        "# Written by cargo xtask chaos.\n\n[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = {}\n\
         dist = {}\n{database}\n[platform]\nprovider = \"sim\"\nbase_url = {}\n",
        toml_string(&format!("http://127.0.0.1:{port}/")),
        toml_string(&dir.join("dist").display().to_string()),
        toml_string(&format!("{sim}/")),
    );
    for store in stores {
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "\n[[stores]]\nid = {}\nname = {}\nmsn = {}\ncurrency = {}\nclient_id = {}\n\
             client_secret = {{ env = {} }}\nsubscription_key = {{ env = {} }}\n",
            toml_string(&store.id),
            toml_string(&store.unit.name),
            toml_string(&store.unit.msn),
            toml_string(&store.unit.currency),
            toml_string(&store.unit.client_id),
            toml_string(&store.secret_variable()),
            toml_string(&store.key_variable()),
        );
    }
    for (number, (till, store)) in tills.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[tills]]\nid = {}\nname = \"Kasse {}\"\nstore = {}\ncapture = \"automatic\"\n",
            toml_string(till),
            number + 1,
            toml_string(store),
        );
    }
    text
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The last few thousand bytes of the log at `path`, for an error message.
pub(crate) fn tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else { return format!("({} cannot be read)", path.display()) };
    let length = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    format!("\n{}\n(all of it in {})", String::from_utf8_lossy(&bytes).trim_end(), path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreSetup {
        StoreSetup {
            id: "oslo".to_owned(),
            unit: SalesUnit {
                msn: "123456".to_owned(),
                name: "Kaffebrenneriet \"Grünerløkka\"".to_owned(),
                currency: "NOK".to_owned(),
                client_id: "id-1".to_owned(),
                client_secret: "secret".to_owned(),
                subscription_key: "key".to_owned(),
            },
        }
    }

    #[test]
    fn the_configuration_points_at_the_simulator_and_names_secrets_by_variable_only() {
        let tills = [("chaos-1".to_owned(), "oslo".to_owned()), ("chaos-2".to_owned(), "oslo".to_owned())];
        let text = config_text(
            4321,
            Path::new("/tmp/chaos"),
            Some("sqlite:///tmp/chaos/kasse.db"),
            "http://127.0.0.1:9999",
            &[store()],
            &tills,
        );
        for expected in [
            "listen = \"127.0.0.1:4321\"\npublic_url = \"http://127.0.0.1:4321/\"",
            "database = \"sqlite:///tmp/chaos/kasse.db\"",
            "provider = \"sim\"\nbase_url = \"http://127.0.0.1:9999/\"",
            "name = \"Kaffebrenneriet \\\"Grünerløkka\\\"\"",
            "client_secret = { env = \"KASSE_CHAOS_OSLO_CLIENT_SECRET\" }",
            "subscription_key = { env = \"KASSE_CHAOS_OSLO_SUBSCRIPTION_KEY\" }",
            "id = \"chaos-2\"\nname = \"Kasse 2\"\nstore = \"oslo\"\ncapture = \"automatic\"",
        ] {
            assert!(text.contains(expected), "{expected} is missing from:\n{text}");
        }
        assert!(!text.contains("\"secret\""), "no secret is written into the file:\n{text}");
    }

    #[test]
    fn a_shared_database_is_left_to_the_environment() {
        let text = config_text(4321, Path::new("/tmp/chaos"), None, "http://127.0.0.1:9999", &[store()], &[]);
        assert!(!text.contains("database ="), "{text}");
        assert!(text.contains("# database: KASSE_DATABASE_URL"), "{text}");
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(toml_string("tab\there"), "\"tab\\u0009here\"");
    }
}

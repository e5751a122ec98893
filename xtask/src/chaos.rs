//! `cargo xtask chaos`: concurrent sales on many tills while kasse-server is SIGKILLed and
//! restarted every few seconds, then every sale compared with the platform's records.
//!
//! The run builds kasse-server and kasse-sim, starts the simulator on its own (as an integrator
//! would) and reads its sales units' credentials from its control API, writes a configuration of
//! two stores and their tills (credentials as `{ env = … }` secrets) with the database in the
//! data directory, starts the server on a fixed loopback port and pairs every till as a browser
//! does. Then each till's cashier takes sales one after another (`till`), while the killer
//! (`killer`) kills the server and starts it again on the same data and port, the platform slow
//! (latency, a few 5xx and 429 answers, dropped and duplicated webhooks) and now and then holding
//! creates to deliver them after their sender died.
//!
//! At the end the faults go off, the held creates are delivered, the reconciler is given time to
//! finish (`kasse_operations_pending` at 0 and the comparison clean, within a bound), and every
//! sale is compared (`verdict`): the figures `sales`, `kills`, `lost`, `doubled`, `stuck`,
//! `mismatched` are printed, with every problem sale and the server's log lines about it, and the
//! run fails if any of the last four is above zero.
//!
//! With `--instances 2` two servers run at once on one configuration, each on its own fixed port,
//! sharing a PostgreSQL database (`database`: a throwaway cluster of the run's own, or the one
//! `cargo xtask test` hands down), as two instances behind a load balancer would. The platform's
//! webhooks go to the first (its address is the configuration's `public_url`); the tills are
//! spread over both, each paired through its own, and a request its own does not answer goes to
//! the other at once (`Shared::send`). The killer kills one of them at random each time, the
//! webhooks' one included, and starts it again before the next kill, so one is always up. One
//! instance may also run on PostgreSQL (`--database postgres`); by default it keeps its SQLite
//! file in the data directory.
//!
//! Everything is bounded: the sales, each wait, each retry loop, the drive phase and the settling;
//! only 127.0.0.1 is ever contacted; every program is stopped on every way out (their guards kill
//! them when dropped, and the run's own cluster stops with its guard). The data directory keeps
//! `chaos.log` (what the tills did), `server.log` (every run of the server; with two instances
//! `server-1.log` and `server-2.log`) and `sim.log` for a look afterwards.

pub(crate) mod database;
mod journal;
mod killer;
mod platform;
mod processes;
mod report;
mod rng;
mod settle;
mod till;
mod verdict;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::error::{Context, Error, Result};
use crate::http::{Request, Response};
use crate::postgres;
use crate::process::{self, announce, format_duration};
use crate::workspace::Workspace;
pub(crate) use database::Database;
use journal::Journal;
use platform::{Knobs, Platform};
use processes::{ServerProcess, SimProcess, StoreSetup};
use report::{Log, RunFacts, report};
use rng::Rng;
use settle::settle;
use till::TillSetup;
use verdict::{Action, Figures};

/// What `cargo xtask chaos` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// How many sales to start in all.
    pub(crate) sales: usize,
    /// How many tills take them at once.
    pub(crate) tills: usize,
    /// The mean time between two kills.
    pub(crate) kill_every: Duration,
    /// At least this many kills: the sales' starts are spread over long enough for them.
    pub(crate) kills: usize,
    /// The seed of every random choice; from the clock when not given.
    pub(crate) seed: Option<u64>,
    /// The data directory; `target/chaos` when not given.
    pub(crate) data: Option<PathBuf>,
    /// How many kasse-server instances serve the tills at once, from 1 to [`MAX_INSTANCES`];
    /// with more than one, one of them is killed at a time and the others keep serving.
    pub(crate) instances: usize,
    /// Where they keep their data: PostgreSQL when they are more than one.
    pub(crate) database: Database,
    /// A running cluster to make the PostgreSQL database in; `None` starts one for the run.
    /// (`cargo xtask test` hands down its suite's.)
    pub(crate) cluster: Option<database::Cluster>,
}

/// The most kasse-server instances a run starts.
pub(crate) const MAX_INSTANCES: usize = 2;

impl Options {
    /// The long run, `cargo xtask chaos` without options: one instance on SQLite.
    pub(crate) const DEFAULT: Self = Self {
        sales: 200,
        tills: 8,
        kill_every: Duration::from_secs(5),
        kills: 20,
        seed: None,
        data: None,
        instances: 1,
        database: Database::Sqlite,
        cluster: None,
    };

    /// The short run `cargo xtask test` makes: 60 sales on 8 tills served by two instances
    /// sharing a PostgreSQL database, one of them killed every 3 s or so, at least 8 kills in all.
    pub(crate) const SHORT: Self = Self {
        sales: 60,
        tills: 8,
        kill_every: Duration::from_secs(3),
        kills: 8,
        seed: None,
        data: None,
        instances: 2,
        database: Database::Postgres,
        cluster: None,
    };
}

/// The platform's faults between kills: slow answers, a few refused calls, webhooks lost or sent
/// twice. (Holding creates is switched on only around some kills.)
const FAULTS: Knobs = Knobs {
    latency_ms: 60,
    error_rate: 0.03,
    throttle_rate: 0.02,
    drop_webhook_rate: 0.1,
    duplicate_webhook_rate: 0.1,
    hold_creates: false,
    seed: 0,
};

/// The longest the drive phase (starting sales) may last, however many are asked for.
const LONGEST_DRIVE: Duration = Duration::from_mins(6);

/// After the drive phase, how long the sales under way may take to end.
const FINISHING: Duration = Duration::from_mins(1);

/// How long the reconciler is given to settle everything once the faults are off.
const SETTLING: Duration = Duration::from_mins(2);

/// How many of the server's log lines are shown for each problem sale.
const LOG_LINES_PER_SALE: usize = 16;

/// The two stores of the run: our id, the simulator's currency for it, a customer's number as
/// the cashier types it, and that customer at the simulator.
const STORES: [(&str, &str, &str, &str); 2] =
    [("oslo", "NOK", "91234567", "4791234567"), ("kobenhavn", "DKK", "20031801", "4520031801")];

/// What every thread of the run shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Each kasse-server instance's address, `http://127.0.0.1:PORT`.
    pub(crate) servers: Vec<String>,
    /// Requests a till sent to another instance because its own did not answer.
    rerouted: AtomicUsize,
    pub(crate) platform: Platform,
    /// The instances' PostgreSQL database, whose connections the killer cuts now and then.
    pub(crate) database: Option<database::Shared>,
    pub(crate) journal: Journal,
    /// How many sales to start in all.
    pub(crate) sales: usize,
    claimed: AtomicUsize,
    /// No sale is started after this.
    pub(crate) drive_until: Instant,
    /// When the drive began.
    driving: Instant,
    /// Sale number `n` is not started before `driving + n × pace`.
    pace: Duration,
    /// Nothing is done after this.
    hard_until: Instant,
    /// Set when the run cannot go on (the server will not start).
    abort: AtomicBool,
    /// Sales cancelled while being created, not yet looked at by a customer.
    withdrawn: Mutex<Vec<Withdrawn>>,
    /// The references a customer approved after their sale was cancelled.
    late: Mutex<HashSet<String>>,
}

/// A sale the cashier cancelled while its create was unconfirmed, whose payment may still land.
#[derive(Debug, Clone)]
pub(crate) struct Withdrawn {
    pub(crate) reference: String,
    pub(crate) msn: String,
    /// Who might approve it.
    pub(crate) customer: &'static str,
}

impl Shared {
    /// Sends the request `request` makes for an instance's address to instance `home`, and
    /// while no answer comes (it is down, or died under the request), to the next one, as a
    /// load balancer in front of them would; the first answer, or the last failure.
    pub(crate) fn send(&self, home: usize, request: impl Fn(&str) -> Request) -> Result<Response> {
        let mut failure = Error::new("no kasse-server instance to send to");
        for offset in 0..self.servers.len() {
            let server = &self.servers[(home + offset) % self.servers.len()];
            match request(server).send() {
                Ok(answer) => {
                    if offset > 0 {
                        self.rerouted.fetch_add(1, Ordering::SeqCst);
                    }
                    return Ok(answer);
                }
                Err(error) => failure = error,
            }
        }
        Err(failure)
    }

    /// The number of the next sale to start.
    pub(crate) fn claim(&self) -> usize {
        self.claimed.fetch_add(1, Ordering::SeqCst)
    }

    /// When sale `number` may start: the starts are spread over the drive so that the kills
    /// land among them, not after the last one.
    pub(crate) fn start_at(&self, number: usize) -> Instant {
        let at = self.driving + self.pace * u32::try_from(number).unwrap_or(u32::MAX);
        at.min(self.drive_until)
    }

    /// Whether the run's time is up or it cannot go on.
    pub(crate) fn over(&self) -> bool {
        self.abort.load(Ordering::SeqCst) || Instant::now() >= self.hard_until
    }

    /// `patience` from now, but no later than the run's end.
    pub(crate) fn bounded(&self, patience: Duration) -> Instant {
        (Instant::now() + patience).min(self.hard_until)
    }

    /// Notes a sale cancelled while its create was unconfirmed.
    pub(crate) fn withdrawn(&self, reference: &str, msn: &str, customer: &'static str) {
        lock(&self.withdrawn).push(Withdrawn {
            reference: reference.to_owned(),
            msn: msn.to_owned(),
            customer,
        });
    }

    /// The withdrawn sales noted since the last call.
    pub(crate) fn take_withdrawn(&self) -> Vec<Withdrawn> {
        std::mem::take(&mut *lock(&self.withdrawn))
    }

    /// Notes that a customer approved `reference` after its sale was cancelled.
    pub(crate) fn approved_late(&self, reference: &str) {
        lock(&self.late).insert(reference.to_owned());
    }
}

/// `mutex`'s value, even if a thread panicked holding it (the values here stay consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the chaos test as `options` say; an error if it found a problem or could not run.
pub(crate) fn run(workspace: &Workspace, options: &Options) -> Result<()> {
    let began = Instant::now();
    let seed = options.seed.unwrap_or_else(clock_seed);
    let killed = if options.instances == 1 {
        "the server killed".to_owned()
    } else {
        format!("{} instances on {}, one of them killed", options.instances, options.database.as_str())
    };
    announce(format!(
        "chaos: {} sales on {} tills, {killed} every {:.1}s or so, seed {seed}",
        options.sales,
        options.tills,
        options.kill_every.as_secs_f64()
    ));
    if options.instances > 1 && options.database != Database::Postgres {
        return Err(Error::new("instances share one database: more than one needs PostgreSQL"));
    }
    announce("building kasse-server and kasse-sim");
    process::run(
        process::cargo()
            .args(["build", "--locked", "-p", "kasse-server", "-p", "kasse-sim"])
            .current_dir(workspace.root()),
    )?;
    let binaries = workspace.target_dir().join("debug");
    let dir = data_directory(workspace, options.data.as_deref())?;
    // The run's own cluster, if it needs one: stopped below, or by its drop on any other way out.
    let mut own_cluster = None;
    let made = |cluster: &database::Cluster| {
        database::create(cluster).map(|url| database::Shared { url, psql: database::psql(&cluster.bin_dir) })
    };
    let database = match (options.database, &options.cluster) {
        (Database::Sqlite, _) => None,
        (Database::Postgres, Some(given)) => Some(made(given)?),
        (Database::Postgres, None) => {
            let started = postgres::cluster(&postgres::THROWAWAY)?;
            let cluster = database::Cluster {
                admin_url: started.url("postgres"),
                bin_dir: started.bin_dir().to_path_buf(),
            };
            own_cluster = Some(started);
            Some(made(&cluster)?)
        }
    };
    let outcome = chaos(&binaries, &dir, options, database.as_ref(), seed);
    if let Some(cluster) = own_cluster
        && let Err(error) = postgres::stop(cluster)
    {
        eprintln!("warning: {error}");
    }
    let took = began.elapsed();
    match outcome {
        Ok(report) => {
            print!("{}", report.text);
            announce(format!(
                "chaos run took {} (seed {seed}; logs in {})",
                format_duration(took),
                dir.display()
            ));
            if report.figures.clean() {
                Ok(())
            } else {
                Err(Error::new(format!(
                    "chaos found problems: lost {}, doubled {}, stuck {}, mismatched {} \
                     (seed {seed}; see {})",
                    report.figures.lost,
                    report.figures.doubled,
                    report.figures.stuck,
                    report.figures.mismatched,
                    dir.join("chaos.log").display()
                )))
            }
        }
        Err(error) => Err(Error::new(format!(
            "the chaos run failed after {} (seed {seed}; logs in {}): {error}",
            format_duration(took),
            dir.display()
        ))),
    }
}

/// A seed from the clock, for a run that names none.
fn clock_seed() -> u64 {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    // The low bits change fastest; a run a second later gets another seed.
    u64::from(now.subsec_nanos()) ^ now.as_secs().rotate_left(32) ^ u64::from(std::process::id())
}

/// The run's data directory, empty: the default one is emptied, one given must not hold an
/// earlier run's database (the comparison takes every sale in it for this run's).
fn data_directory(workspace: &Workspace, given: Option<&Path>) -> Result<PathBuf> {
    let dir = if let Some(dir) = given {
        let dir = if dir.is_absolute() { dir.to_path_buf() } else { workspace.root().join(dir) };
        if dir.join("kasse.db").exists() {
            return Err(Error::new(format!(
                "{} already holds a database: give an empty or new directory",
                dir.display()
            )));
        }
        dir
    } else {
        let dir = workspace.target_dir().join("chaos");
        if dir.exists() {
            fs::remove_dir_all(&dir).context(|| format!("emptying {}", dir.display()))?;
        }
        dir
    };
    fs::create_dir_all(dir.join("dist")).context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// What the run found, ready to print.
struct Report {
    figures: Figures,
    text: String,
}

/// The run proper, once the programs are built, with the instances' `database` (PostgreSQL;
/// `None` for SQLite in `dir`); the report, or an error if it could not run.
fn chaos(
    binaries: &Path,
    dir: &Path,
    options: &Options,
    database: Option<&database::Shared>,
    seed: u64,
) -> Result<Report> {
    let database_url = database.map(|database| database.url.as_str());
    let started = Instant::now();
    let journal = Journal::create(&dir.join("chaos.log"))?;
    journal.note(format_args!("seed {seed}, {options:?}"));
    let sim = SimProcess::start(&binaries.join("kasse-sim"), &dir.join("sim.log"))?;
    let units = sim.sales_units()?;
    let stores = STORES
        .iter()
        .map(|(id, currency, _, _)| {
            let unit = units.iter().find(|u| u.currency == *currency).cloned();
            unit.map(|unit| StoreSetup { id: (*id).to_owned(), unit })
                .ok_or_else(|| Error::new(format!("the simulator has no {currency} sales unit")))
        })
        .collect::<Result<Vec<_>>>()?;
    let till_stores: Vec<(String, usize)> =
        (0..options.tills).map(|n| (format!("chaos-{}", n + 1), n % stores.len())).collect();
    let ports = fixed_ports(options.instances)?;
    let config = dir.join("kasse.toml");
    let till_config: Vec<(String, String)> =
        till_stores.iter().map(|(till, store)| (till.clone(), stores[*store].id.clone())).collect();
    let sqlite = format!("sqlite://{}", dir.join("kasse.db").display());
    let file_database = if database_url.is_some() { None } else { Some(sqlite.as_str()) };
    fs::write(
        &config,
        processes::config_text(ports[0], dir, file_database, &sim.base, &stores, &till_config),
    )
    .context(|| format!("writing {}", config.display()))?;
    let mut env: Vec<(String, String)> = stores
        .iter()
        .flat_map(|s| {
            [
                (s.secret_variable(), s.unit.client_secret.clone()),
                (s.key_variable(), s.unit.subscription_key.clone()),
            ]
        })
        .collect();
    if let Some(url) = database_url {
        env.push(("KASSE_DATABASE_URL".to_owned(), url.to_owned()));
    }
    let mut servers: Vec<ServerProcess> = ports
        .iter()
        .enumerate()
        .map(|(number, port)| {
            let mut env = env.clone();
            // One configuration for all: the first listens where the file says (and where the
            // platform's webhooks go), the others where the environment says.
            if number > 0 {
                env.push(("KASSE_LISTEN".to_owned(), format!("127.0.0.1:{port}")));
            }
            let (name, log) = if options.instances == 1 {
                ("server".to_owned(), dir.join("server.log"))
            } else {
                (format!("instance {}", number + 1), dir.join(format!("server-{}.log", number + 1)))
            };
            ServerProcess::new(binaries.join("kasse-server"), config.clone(), dir, env, *port, name, log)
        })
        .collect();
    for server in &mut servers {
        server.start()?;
    }
    let tills = till_stores
        .iter()
        .enumerate()
        .map(|(number, (id, store))| {
            let (_, _, typed_phone, customer) = STORES[*store];
            let unit = &stores[*store].unit;
            let home = home_instance(number, stores.len(), servers.len());
            Ok(TillSetup {
                id: id.clone(),
                msn: unit.msn.clone(),
                currency: unit.currency.clone(),
                typed_phone,
                customer,
                // Paired through its own instance: the session is in the database, good at all.
                cookie: pair(&servers[home], id)?,
                home,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let bases: Vec<String> = servers.iter().map(ServerProcess::base).collect();
    announce(format!(
        "simulator at {}, kasse-server at {} ({} tills paired{}); logs in {}",
        sim.base,
        bases.join(" and "),
        tills.len(),
        if servers.len() > 1 { ", webhooks to the first" } else { "" },
        dir.display()
    ));

    let knobs = Knobs { seed, ..FAULTS };
    let platform = Platform::new(sim.base.clone(), units);
    platform.set_faults(knobs)?;
    // Starts spread so that the kills asked for fit in with some to spare; time enough to end
    // every till's sales however slow they are (ten seconds each).
    let sales = u32::try_from(options.sales).unwrap_or(u32::MAX);
    let kills = u32::try_from(options.kills).unwrap_or(u32::MAX);
    let pace = options.kill_every * (kills + 1) * 13 / 10 / sales.max(1);
    let per_till = u32::try_from(options.sales.div_ceil(options.tills)).unwrap_or(u32::MAX);
    let drive = (Duration::from_secs(20) + Duration::from_secs(10) * per_till)
        .max(pace * sales + Duration::from_secs(30))
        .clamp(Duration::from_mins(1), LONGEST_DRIVE);
    let driving = Instant::now();
    let drive_until = driving + drive;
    let shared = Shared {
        servers: bases,
        rerouted: AtomicUsize::new(0),
        platform,
        database: database.cloned(),
        journal,
        sales: options.sales,
        claimed: AtomicUsize::new(0),
        drive_until,
        driving,
        pace,
        hard_until: drive_until + FINISHING,
        abort: AtomicBool::new(false),
        withdrawn: Mutex::new(Vec::new()),
        late: Mutex::new(HashSet::new()),
    };
    announce(format!(
        "driving sales for at most {}, one started every {:.2}s at most",
        format_duration(drive),
        pace.as_secs_f64()
    ));
    let stop = AtomicBool::new(false);
    let (mut intents, kills) = thread::scope(|scope| {
        let cashiers: Vec<_> = tills
            .iter()
            .map(|till| {
                let rng = Rng::new(seed, &format!("till {}", till.id));
                let shared = &shared;
                scope.spawn(move || till::work(till, shared, rng))
            })
            .collect();
        let killer = scope.spawn(|| {
            let outcome = killer::kill_repeatedly(
                &mut servers,
                &shared,
                options.kill_every,
                knobs,
                Rng::new(seed, "killer"),
                &stop,
            );
            if outcome.is_err() {
                // The tills cannot get anywhere without a server.
                shared.abort.store(true, Ordering::SeqCst);
            }
            outcome
        });
        let mut intents = Vec::new();
        let mut trouble = None;
        for cashier in cashiers {
            match cashier.join() {
                Ok(done) => intents.extend(done),
                Err(_) => trouble = Some(Error::new("a till's thread panicked")),
            }
        }
        stop.store(true, Ordering::SeqCst);
        let kills = killer.join().unwrap_or_else(|_| Err(Error::new("the killer's thread panicked")));
        match trouble {
            Some(error) => Err(error),
            None => kills.map(|kills| (intents, kills)),
        }
    })?;
    intents.sort_by_key(|i| i.number);
    let drove = driving.elapsed();
    shared.journal.note(format_args!("drive over: {} sales, {} kills", intents.len(), kills.sent));
    announce(format!(
        "{} sales started, {} kills; faults off, waiting for the reconciler to finish",
        intents.len(),
        kills.sent
    ));

    let settled = settle(&mut servers, &shared, &tills, &mut intents, kills, seed)?;
    for intent in &mut intents {
        if let Some(reference) = &intent.reference
            && lock(&shared.late).contains(reference)
        {
            intent.actions.push(Action::ApprovedLate);
        }
    }
    let logs: Vec<Log> =
        servers.iter().map(|s| Log { name: s.name().to_owned(), path: s.log().to_owned() }).collect();
    let run = RunFacts {
        instances: servers.len(),
        database: if database_url.is_some() { Database::Postgres } else { Database::Sqlite },
        rerouted: shared.rerouted.load(Ordering::SeqCst),
        drove,
        took: started.elapsed(),
    };
    let text = report(&intents, &settled, &logs, &run);
    Ok(Report { figures: settled.figures, text })
}

/// The instance the `number`th till (from 0) talks to: the tills of each store spread over the
/// instances (till `number` is at store `number % stores`), so that every instance serves both
/// stores rather than one each.
fn home_instance(number: usize, stores: usize, instances: usize) -> usize {
    (number / stores.max(1)) % instances.max(1)
}

/// Pairs a browser with `till` through `server`: a code from `kasse-server till pair`, exchanged
/// at `/api/pair` for the session cookie (`name=value`).
fn pair(server: &ServerProcess, till: &str) -> Result<String> {
    let code = server.pairing_code(till)?;
    let answer =
        Request::post(format!("{}/api/pair", server.base())).json(&json!({ "code": code })).send()?;
    let cookie = answer.header("set-cookie").and_then(|c| c.split(';').next()).map(str::to_owned);
    match cookie {
        Some(cookie) if answer.is_success() => Ok(cookie),
        _ => Err(Error::new(format!("pairing {till} was answered {}: {}", answer.status, answer.text()))),
    }
}

/// A loopback port free now, below the range the system hands out for outgoing connections, so
/// that none of the run's thousands of requests takes it while the server is down between runs.
fn fixed_port() -> Result<u16> {
    let low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next().and_then(|low| low.parse::<u16>().ok()))
        .unwrap_or(32_768);
    let (from, to) = (low.saturating_sub(20_000).max(1_025), low.max(1_026));
    let mut rng = Rng::new(clock_seed(), "port");
    for _ in 0..200 {
        let port = from + u16::try_from(rng.below(u64::from(to - from))).unwrap_or(0);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(Error::new(format!("no free port between {from} and {to}")))
}

/// `count` distinct fixed ports (see [`fixed_port`]), one for each instance.
fn fixed_ports(count: usize) -> Result<Vec<u16>> {
    let mut ports = Vec::with_capacity(count);
    for _ in 0..count * 20 {
        if ports.len() == count {
            break;
        }
        let port = fixed_port()?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    if ports.len() == count { Ok(ports) } else { Err(Error::new(format!("not {count} distinct free ports"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_run_is_the_one_the_issue_asks_for_and_the_long_one_is_bigger() {
        assert_eq!((Options::SHORT.sales, Options::SHORT.tills), (60, 8));
        assert_eq!((Options::SHORT.instances, Options::SHORT.database), (2, Database::Postgres));
        assert_eq!((Options::DEFAULT.instances, Options::DEFAULT.database), (1, Database::Sqlite));
        const { assert!(Options::DEFAULT.sales >= 200 && Options::DEFAULT.tills >= 8) };
    }

    #[test]
    fn the_tills_of_each_store_are_spread_over_the_instances() {
        let homes: Vec<(usize, usize)> = (0..8).map(|n| (n % 2, home_instance(n, 2, 2))).collect();
        for store in 0..2 {
            for instance in 0..2 {
                let tills = homes.iter().filter(|&&home| home == (store, instance)).count();
                assert_eq!(tills, 2, "store {store} at instance {instance}: {homes:?}");
            }
        }
        assert!((0..8).all(|n| home_instance(n, 2, 1) == 0));
    }

    #[test]
    fn each_instance_gets_its_own_port() {
        let ports = fixed_ports(2).unwrap();
        assert_eq!(ports.len(), 2);
        assert_ne!(ports[0], ports[1]);
    }

    #[test]
    fn the_fixed_port_is_outside_the_range_for_outgoing_connections() {
        let port = fixed_port().unwrap();
        let low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|range| range.split_whitespace().next().and_then(|low| low.parse::<u16>().ok()))
            .unwrap_or(32_768);
        assert!(port < low.max(1_026), "{port}");
    }
}

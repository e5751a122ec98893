//! Throwaway PostgreSQL clusters for tests and benchmarks: the real server, never a mock.
//!
//! [`Cluster::start`] makes a fresh cluster with `initdb` in a new temporary directory and starts
//! it with `pg_ctl` on a free port of 127.0.0.1, the superuser `kasse` admitted without a
//! password (`trust`); [`Cluster::stop`], or dropping the [`Cluster`], stops the server and
//! deletes the directory. Several clusters can run side by side, in one process or many.
//!
//! The server binaries are Debian's (`apt-get install postgresql`): the newest
//! `/usr/lib/postgresql/<N>/bin` that has `initdb`, `pg_ctl` and `postgres`, else the first
//! folder on `PATH` that has all three. [`installed`] says whether there are any.
//!
//! initdb and postgres refuse to run as root. When this process is root they run as the
//! unprivileged `postgres` user (`nobody` when there is none) through util-linux's `runuser` (or
//! `setpriv`), and the temporary directory belongs to that user.
//!
//! `pg_ctl` detaches the server from the terminal, so a test run killed before it could stop its
//! cluster (Ctrl-C) leaves the server running. Each [`Cluster`] holds an exclusive lock on a file
//! in its directory, which the kernel releases when its process dies; the next
//! [`Cluster::start`] on the machine stops the servers of directories whose lock is free and
//! removes the directories.
//!
//! ```no_run
//! let cluster = kasse_pgtemp::Cluster::start(&[("fsync", "off")])?;
//! let admin_url = cluster.url("postgres"); // postgres://kasse@127.0.0.1:PORT/postgres
//! # drop(admin_url);
//! cluster.stop()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Only the standard library is used: every PostgreSQL program runs as a subprocess.

mod binaries;
mod identity;

use std::env;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::process::{self, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use identity::Identity;

/// The superuser initdb creates; every URL names it.
const SUPERUSER: &str = "kasse";

/// The start of every cluster directory's name; the rest is `<pid>-<counter>-<nanoseconds>`.
const DIRECTORY_PREFIX: &str = "kasse-pgtemp-";

/// The file in each cluster directory that its maker keeps locked.
const LOCK_FILE: &str = "kasse-pgtemp.lock";

/// How old a cluster directory without a lock file must be to count as abandoned: younger, its
/// maker may be about to create the file.
const UNLOCKED_GRACE: Duration = Duration::from_mins(1);

/// How many free ports are tried before giving up, in case another program takes the port
/// between our choosing it and the server binding it.
const START_ATTEMPTS: usize = 3;

/// How many of the server log's last lines a failed start reports.
const LOG_TAIL_LINES: usize = 30;

/// How long `pg_ctl` may wait for the server to accept connections, in seconds.
const START_TIMEOUT_SECONDS: &str = "60";

/// Tells the clusters this process makes apart (with the pid and the clock).
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running PostgreSQL cluster in a temporary directory, stopped and deleted on [`Cluster::stop`]
/// or drop.
#[derive(Debug)]
pub struct Cluster {
    /// Where initdb, pg_ctl, postgres (and psql, createdb, ...) are.
    bin_dir: PathBuf,
    /// The temporary directory: `data/`, `server.log` and the Unix socket.
    dir: PathBuf,
    /// The TCP port on 127.0.0.1.
    port: u16,
    /// Who runs the server binaries.
    identity: Identity,
    /// Set once the server is stopped and the directory removed (or that was attempted).
    finished: bool,
    /// The open, exclusively locked [`LOCK_FILE`]: while it is held, the cluster is not an orphan.
    _lock: File,
}

impl Cluster {
    /// Finds the PostgreSQL server binaries (newest `/usr/lib/postgresql/<N>/bin` that has
    /// `initdb`, `pg_ctl` and `postgres`; else `PATH`), makes a temporary directory, runs initdb
    /// (superuser `kasse`, `--auth=trust`, `-E UTF8`, `--no-locale`, `--no-sync`), picks a free
    /// 127.0.0.1 port, starts the server with `pg_ctl -w` (`listen_addresses=127.0.0.1`,
    /// `unix_socket_directories=<the temporary directory>`, `max_connections=400`, then
    /// `settings`, which may override those), and returns once it accepts connections.
    ///
    /// Each setting is a `postgresql.conf` parameter and its value, unquoted, e.g.
    /// `("fsync", "off")` or `("shared_buffers", "256MB")`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for a setting whose name is not a parameter name or whose
    /// value holds a control character; [`io::ErrorKind::NotFound`] when there are no server
    /// binaries (or, as root, no user or program to run them as); otherwise the failing step with
    /// its output, and for a failed start the last lines of the server's log. Nothing is left
    /// behind on failure.
    pub fn start(settings: &[(&str, &str)]) -> io::Result<Self> {
        let bin_dir = binaries::find().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no PostgreSQL server binaries: neither {}/<version>/bin nor a folder on PATH \
                     has initdb, pg_ctl and postgres (on Debian: apt-get install postgresql)",
                    binaries::DEBIAN_ROOT
                ),
            )
        })?;
        // Checked before anything is made; written after the fixed settings so they can
        // override them.
        let requested =
            settings.iter().map(|(name, value)| setting_line(name, value)).collect::<io::Result<String>>()?;
        let identity = Identity::current()?;
        let base = base_directory(&identity)?;
        reap_orphans(&base, &bin_dir, &identity);
        let (dir, lock) = create_directory(&base, &identity)?;
        let mut cluster = Self { bin_dir, dir, port: 0, identity, finished: false, _lock: lock };
        // From here on, an early return drops `cluster`, which stops whatever started and removes
        // the directory.
        let fixed = [
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", &*cluster.dir.to_string_lossy()),
            ("max_connections", "400"),
        ]
        .iter()
        .map(|(name, value)| setting_line(name, value))
        .collect::<io::Result<String>>()?;
        cluster.initialise(&format!("\n# Added by kasse-pgtemp.\n{fixed}{requested}"))?;
        cluster.launch()?;
        Ok(cluster)
    }

    /// The URL of `database` on this cluster as the superuser:
    /// `postgres://kasse@127.0.0.1:<port>/<database>` (`database` is used as given).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The TCP port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder of the server binaries, which also has the client programs of the same version
    /// (`psql`, `createdb`, `pg_dump`, ...).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster's temporary directory: `data/` (the cluster), `server.log` (the server's log)
    /// and the Unix socket. It is deleted when the cluster stops.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server as a restart or a failover of a real database does (`pg_ctl stop -m
    /// fast`, which ends every connection; `-m immediate`, as a crash would, if that fails),
    /// keeping the cluster for [`Cluster::resume`]. A paused cluster's pause does nothing.
    ///
    /// # Errors
    ///
    /// When the server could not be stopped; its output is in the message.
    pub fn pause(&self) -> io::Result<()> {
        stop_server(&self.bin_dir, &self.data_dir(), &self.identity)
    }

    /// Starts the server of a [`Cluster::pause`]d cluster again, on the same port, and waits
    /// until it accepts connections.
    ///
    /// # Errors
    ///
    /// When the server did not start (another program took its port meanwhile, say); the last
    /// lines of its log are in the message.
    pub fn resume(&self) -> io::Result<()> {
        let log = self.log_file();
        let logged_before = fs::metadata(&log).map_or(0, |metadata| metadata.len());
        run(&mut self.start_command(), "pg_ctl start")
            .map_err(|error| with_log_tail(&error, &log, &read_from(&log, logged_before)))
    }

    /// Stops the server (`pg_ctl stop -m fast`, then `-m immediate` if that fails) and removes the
    /// directory. Dropping the cluster does the same, ignoring errors.
    ///
    /// # Errors
    ///
    /// When the server could not be stopped (its output is in the message) or the directory could
    /// not be removed. The directory is removed even when stopping failed; a server whose
    /// directory is gone shuts itself down within a minute or so.
    pub fn stop(mut self) -> io::Result<()> {
        self.finish()
    }

    /// The cluster's data directory, made by initdb.
    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log file.
    fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A command running `program` from the server's folder as the right user, in the cluster's
    /// directory (the caller's may be one that user cannot enter).
    fn command(&self, program: &str) -> Command {
        let mut command = self.identity.command(&self.bin_dir.join(program));
        command.current_dir(&self.dir);
        command
    }

    /// Runs initdb, then appends `conf` to the new `postgresql.conf`.
    fn initialise(&self, conf: &str) -> io::Result<()> {
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(self.data_dir()).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]);
        run(&mut initdb, "initdb")?;
        let path = self.data_dir().join("postgresql.conf");
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|error| io::Error::new(error.kind(), format!("opening {}: {error}", path.display())))?;
        file.write_all(conf.as_bytes())
            .map_err(|error| io::Error::new(error.kind(), format!("writing {}: {error}", path.display())))
    }

    /// Starts the server on a free port and waits until it accepts connections, trying another
    /// port if the chosen one was taken meanwhile.
    fn launch(&mut self) -> io::Result<()> {
        let log = self.log_file();
        for attempt in 1..=START_ATTEMPTS {
            self.port = free_port()?;
            let logged_before = fs::metadata(&log).map_or(0, |metadata| metadata.len());
            let Err(error) = run(&mut self.start_command(), "pg_ctl start") else {
                return Ok(());
            };
            let logged = read_from(&log, logged_before);
            if attempt < START_ATTEMPTS && port_was_taken(&logged) {
                continue;
            }
            return Err(with_log_tail(&error, &log, &logged));
        }
        // The loop returns on its last attempt.
        Err(io::Error::other("the PostgreSQL server could not be started"))
    }

    /// `pg_ctl start` on [`Cluster::port`], logging to the server's log, waiting until the server
    /// accepts connections.
    fn start_command(&self) -> Command {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .args(["start", "-w", "-t", START_TIMEOUT_SECONDS, "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .arg("-o")
            .arg(format!("-p {}", self.port));
        pg_ctl
    }

    /// Stops the server if it runs and removes the directory, once.
    fn finish(&mut self) -> io::Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let stopped = stop_server(&self.bin_dir, &self.data_dir(), &self.identity);
        let removed = match fs::remove_dir_all(&self.dir) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(io::Error::new(
                error.kind(),
                format!("removing the cluster directory {}: {error}", self.dir.display()),
            )),
            _ => Ok(()),
        };
        stopped.and(removed)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Nobody to tell: `stop` is the way to see errors.
        let _ = self.finish();
    }
}

/// Whether PostgreSQL server binaries can be found (see [`Cluster::start`] for where).
pub fn installed() -> bool {
    binaries::find().is_some()
}

/// `name = 'value'` and a newline for `postgresql.conf`, refusing what could break out of it.
fn setting_line(name: &str, value: &str) -> io::Result<String> {
    let name_is_valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.starts_with('.');
    if !name_is_valid {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a PostgreSQL parameter name"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the value of `{name}` holds a control character"),
        ));
    }
    // In postgresql.conf's quoted strings a quote is doubled and a backslash starts an escape.
    let quoted = value.replace('\\', "\\\\").replace('\'', "''");
    Ok(format!("{name} = '{quoted}'\n"))
}

/// The folder that holds cluster directories: the system's temporary folder, or `/tmp` when
/// another user must reach into it and cannot.
fn base_directory(identity: &Identity) -> io::Result<PathBuf> {
    let temp = env::temp_dir();
    if identity.owner().is_none() || searchable_by_anyone(&temp) {
        return Ok(temp);
    }
    let fallback = PathBuf::from("/tmp");
    if searchable_by_anyone(&fallback) {
        Ok(fallback)
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the PostgreSQL server runs as another user, who cannot enter {} (nor /tmp)",
                temp.display()
            ),
        ))
    }
}

/// Whether every user may pass through `path` and all its parents.
fn searchable_by_anyone(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.ancestors().all(|folder| {
        fs::metadata(folder)
            .is_ok_and(|metadata| metadata.is_dir() && metadata.permissions().mode() & 0o001 != 0)
    })
}

/// Makes a new, uniquely named directory under `base`, readable only by the user who runs the
/// server, hands it to that user, and locks the [`LOCK_FILE`] in it.
fn create_directory(base: &Path, identity: &Identity) -> io::Result<(PathBuf, File)> {
    let number = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    let dir = base.join(format!("{DIRECTORY_PREFIX}{}-{number}-{nanos}", process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|error| io::Error::new(error.kind(), format!("creating {}: {error}", dir.display())))?;
    let locked = (|| {
        // Locked under another name and then renamed, so the lock file is never seen unlocked.
        let unlocked = dir.join(format!("{LOCK_FILE}.new"));
        let lock = File::create(&unlocked)?;
        lock.lock()?;
        fs::rename(&unlocked, dir.join(LOCK_FILE))?;
        if let Some((uid, gid)) = identity.owner() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
        }
        Ok::<_, io::Error>(lock)
    })();
    match locked {
        Ok(lock) => Ok((dir, lock)),
        Err(error) => {
            let _ = fs::remove_dir_all(&dir);
            Err(io::Error::new(error.kind(), format!("preparing {}: {error}", dir.display())))
        }
    }
}

/// Stops the server of `data` if its `postmaster.pid` says one runs: fast, else immediate.
fn stop_server(bin_dir: &Path, data: &Path, identity: &Identity) -> io::Result<()> {
    if !data.join("postmaster.pid").exists() {
        return Ok(());
    }
    let stop = |mode: &str| {
        let mut pg_ctl = identity.command(&bin_dir.join("pg_ctl"));
        pg_ctl.args(["stop", "-w", "-t", "30", "-m", mode, "-D"]).arg(data);
        if let Some(dir) = data.parent() {
            pg_ctl.current_dir(dir);
        }
        run(&mut pg_ctl, &format!("pg_ctl stop -m {mode}"))
    };
    match stop("fast") {
        Ok(()) => Ok(()),
        Err(fast) => stop("immediate")
            .map_err(|immediate| io::Error::new(immediate.kind(), format!("{fast}; then {immediate}"))),
    }
}

/// `error` of a start, with the last lines the server wrote to `log` meanwhile (`logged`).
fn with_log_tail(error: &io::Error, log: &Path, logged: &str) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("{error}\nlast lines of the server log {}:\n{}", log.display(), tail(logged, LOG_TAIL_LINES)),
    )
}

/// Stops and removes the clusters under `base` whose makers died without doing so: their lock
/// is free (or, made by a maker that died before locking, the directory has no lock file, is a
/// minute old and names a process that no longer exists). Best effort: errors are ignored, and a
/// directory this user may not look into is left alone.
fn reap_orphans(base: &Path, bin_dir: &Path, identity: &Identity) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(maker_pid) else {
            continue;
        };
        let dir = entry.path();
        if !is_abandoned(&dir, pid) {
            continue;
        }
        let _ = stop_server(bin_dir, &dir.join("data"), identity);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Whether the cluster directory `dir`, made by process `pid`, has been left by its maker.
fn is_abandoned(dir: &Path, pid: u32) -> bool {
    match File::open(dir.join(LOCK_FILE)) {
        // Taking the lock proves nobody holds it; it is let go when `lock` is dropped.
        Ok(lock) => lock.try_lock().is_ok(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let old = fs::metadata(dir)
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age > UNLOCKED_GRACE));
            // Without /proc a live process cannot be told cheaply; then nothing is abandoned.
            old && Path::new("/proc/self").exists() && !Path::new("/proc").join(pid.to_string()).exists()
        }
        Err(_) => false,
    }
}

/// The id of the process that made a cluster directory, from the directory's name.
fn maker_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(DIRECTORY_PREFIX)?;
    let mut parts = rest.split('-');
    let pid = parts.next()?.parse().ok()?;
    // The counter and the clock follow; anything else is not ours.
    let numbers = parts.map(|part| part.parse::<u128>().is_ok()).collect::<Vec<_>>();
    (numbers == [true, true]).then_some(pid)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Whether a server log says the port was taken (the server then exits, so another may be tried).
fn port_was_taken(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("could not create any TCP/IP sockets")
}

/// The text of `path` from byte `offset` on, or nothing if it cannot be read.
fn read_from(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// The last `lines` lines of `text`, or a note that there are none.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "(empty)".to_owned();
    }
    let mut shown = String::new();
    for line in &all[all.len().saturating_sub(lines)..] {
        // Writing to a String cannot fail.
        let _ = writeln!(shown, "  {line}");
    }
    shown
}

/// Runs `command` to completion with its output captured, failing with that output unless it
/// succeeds.
fn run(command: &mut Command, what: &str) -> io::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| io::Error::new(error.kind(), format!("could not run {what}: {error}")))?;
    if output.status.success() {
        return Ok(());
    }
    let said = [output.stderr, output.stdout]
        .iter()
        .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Err(io::Error::other(format!("{what} failed ({}): {said}", output.status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_written_quoted() {
        assert_eq!(setting_line("fsync", "off").unwrap(), "fsync = 'off'\n");
        assert_eq!(setting_line("max_connections", "400").unwrap(), "max_connections = '400'\n");
        assert_eq!(
            setting_line("auto_explain.log_min_duration", "0").unwrap(),
            "auto_explain.log_min_duration = '0'\n"
        );
    }

    #[test]
    fn quotes_and_backslashes_in_a_value_cannot_end_the_string() {
        assert_eq!(
            setting_line("application_name", r"it's a\b").unwrap(),
            "application_name = 'it''s a\\\\b'\n"
        );
    }

    #[test]
    fn a_name_that_is_no_parameter_name_is_refused() {
        for name in ["", "fsync = on\nlisten_addresses", "a b", "x'", ".hidden"] {
            let error = setting_line(name, "on").unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
    }

    #[test]
    fn a_value_with_a_line_break_is_refused() {
        let error = setting_line("work_mem", "4MB\nfsync = on").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn only_directories_named_by_us_name_their_maker() {
        assert_eq!(maker_pid("kasse-pgtemp-4242-0-1712345678123456789"), Some(4242));
        assert_eq!(maker_pid("kasse-pgtemp-test-newest-4242"), None);
        assert_eq!(maker_pid("kasse-pgtemp-4242-0"), None);
        assert_eq!(maker_pid("kasse-pgtemp-4242-0-1-2"), None);
        assert_eq!(maker_pid("other-4242-0-1"), None);
    }

    #[test]
    fn a_taken_port_is_recognised_in_the_log() {
        let log = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                   WARNING:  could not create listen socket for \"127.0.0.1\"\n\
                   FATAL:  could not create any TCP/IP sockets\n";
        assert!(port_was_taken(log));
        assert!(!port_was_taken("FATAL:  unrecognized configuration parameter \"fsynk\"\n"));
    }

    #[test]
    fn the_tail_keeps_the_last_lines_indented() {
        assert_eq!(tail("a\nb\nc\n", 2), "  b\n  c\n");
        assert_eq!(tail("", 2), "(empty)");
    }

    #[test]
    fn reading_a_log_from_an_offset_skips_what_came_before() {
        let path = env::temp_dir().join(format!("kasse-pgtemp-test-log-{}", process::id()));
        fs::write(&path, "first\nsecond\n").unwrap();
        assert_eq!(read_from(&path, 6), "second\n");
        assert_eq!(read_from(&path, 100), "");
        assert_eq!(read_from(Path::new("/nonexistent/kasse-pgtemp.log"), 0), "");
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_free_port_is_not_zero() {
        assert_ne!(free_port().unwrap(), 0);
    }
}

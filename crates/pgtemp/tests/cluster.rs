//! Real clusters, started and stopped: they need PostgreSQL's server binaries (Debian's
//! `postgresql` package, which `cargo xtask test` installs). Without them each test says why and
//! passes.

#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use kasse_pgtemp::{Cluster, installed};

/// Whether the binaries are there; if not, says so on stderr for the test to return.
fn binaries_missing() -> bool {
    if installed() {
        return false;
    }
    eprintln!(
        "skipped: no PostgreSQL server binaries (apt-get install postgresql; `cargo xtask test` does it)"
    );
    true
}

/// Runs `sql` with the cluster's own psql over TCP and returns what it printed (unaligned, tuples
/// only), failing the test if psql fails.
fn psql(cluster: &Cluster, sql: &str) -> String {
    let output = Command::new(cluster.bin_dir().join("psql"))
        .args(["-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p"])
        .arg(cluster.port().to_string())
        .args(["-U", "kasse", "-d", "postgres", "-c", sql])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "psql failed: {}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Starts a cluster, saying how long that took.
fn start(settings: &[(&str, &str)]) -> Cluster {
    let began = Instant::now();
    let cluster = Cluster::start(settings).unwrap();
    eprintln!(
        "cluster on port {} started in {:?} in {}",
        cluster.port(),
        began.elapsed(),
        cluster.dir().display()
    );
    cluster
}

/// Whether anything accepts TCP connections on `port` of 127.0.0.1.
fn accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[test]
fn a_cluster_accepts_connections_and_a_second_one_runs_beside_it() {
    if binaries_missing() {
        return;
    }
    let first = start(&[]);
    let second = start(&[]);
    assert_ne!(first.port(), second.port());
    assert_ne!(first.dir(), second.dir());
    assert_eq!(psql(&first, "select 1"), "1");
    assert_eq!(psql(&second, "select 1"), "1");
    // Two servers, not one answering twice.
    assert_ne!(
        psql(&first, "select system_identifier from pg_control_system()"),
        psql(&second, "select system_identifier from pg_control_system()")
    );
    first.stop().unwrap();
    assert_eq!(psql(&second, "select 2"), "2");
    second.stop().unwrap();
}

#[test]
fn the_url_names_the_superuser_the_port_and_the_database_and_psql_takes_it() {
    if binaries_missing() {
        return;
    }
    let cluster = start(&[]);
    let url = cluster.url("postgres");
    assert_eq!(url, format!("postgres://kasse@127.0.0.1:{}/postgres", cluster.port()));
    let output = Command::new(cluster.bin_dir().join("psql"))
        .args(["-X", "-A", "-t", "-c", "select current_user || ' ' || current_database()"])
        .arg(&url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "kasse postgres");
    cluster.stop().unwrap();
}

#[test]
fn stopping_removes_the_directory_and_closes_the_port() {
    if binaries_missing() {
        return;
    }
    let cluster = start(&[]);
    let (dir, port) = (cluster.dir().to_owned(), cluster.port());
    assert!(dir.join("data").join("PG_VERSION").exists());
    assert!(dir.join("server.log").exists());
    assert!(accepts(port));
    let began = Instant::now();
    cluster.stop().unwrap();
    eprintln!("stopped in {:?}", began.elapsed());
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(!accepts(port), "port {port} still accepts connections");
}

#[test]
fn dropping_a_cluster_stops_it_too() {
    if binaries_missing() {
        return;
    }
    let cluster = start(&[]);
    let (dir, port) = (cluster.dir().to_owned(), cluster.port());
    drop(cluster);
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(!accepts(port), "port {port} still accepts connections");
}

#[test]
fn the_fixed_and_the_given_settings_are_in_force() {
    if binaries_missing() {
        return;
    }
    let cluster =
        start(&[("fsync", "off"), ("synchronous_commit", "off"), ("application_name", "it's kasse")]);
    assert_eq!(psql(&cluster, "show fsync"), "off");
    assert_eq!(psql(&cluster, "show synchronous_commit"), "off");
    assert_eq!(psql(&cluster, "show max_connections"), "400");
    assert_eq!(psql(&cluster, "show listen_addresses"), "127.0.0.1");
    assert_eq!(psql(&cluster, "show server_encoding"), "UTF8");
    assert_eq!(psql(&cluster, "show unix_socket_directories"), cluster.dir().to_string_lossy());
    // psql sends an application_name of its own, so read the one in the configuration file.
    assert_eq!(
        psql(&cluster, "select setting from pg_file_settings where name = 'application_name' and applied"),
        "it's kasse"
    );
    cluster.stop().unwrap();
}

#[test]
fn a_given_setting_overrides_a_fixed_one() {
    if binaries_missing() {
        return;
    }
    let cluster = start(&[("max_connections", "50")]);
    assert_eq!(psql(&cluster, "show max_connections"), "50");
    cluster.stop().unwrap();
}

#[test]
fn a_server_that_will_not_start_is_reported_with_its_log_and_leaves_nothing_behind() {
    if binaries_missing() {
        return;
    }
    let error = Cluster::start(&[("no_such_parameter_anywhere", "1")]).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("pg_ctl start failed"), "{message}");
    assert!(message.contains("last lines of the server log"), "{message}");
    assert!(message.contains("no_such_parameter_anywhere"), "{message}");
    // The message names the log, in the cluster's directory, which must be gone.
    let log = message.split_whitespace().find(|word| word.ends_with("server.log:")).unwrap();
    let dir = std::path::Path::new(log.trim_end_matches(':')).parent().unwrap();
    assert!(dir.to_string_lossy().contains("kasse-pgtemp-"), "{}", dir.display());
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn a_setting_that_could_break_the_configuration_is_refused_before_anything_is_made() {
    let error = Cluster::start(&[("fsync", "off\nlisten_addresses = '*'")]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

/// Set for the child process of the orphan test, which makes a cluster and waits to be killed.
const ORPHAN_MAKER: &str = "KASSE_PGTEMP_ORPHAN_MAKER";

#[test]
fn a_cluster_whose_maker_was_killed_is_stopped_and_removed_by_the_next_start() {
    if binaries_missing() {
        return;
    }
    // This test binary again, running only the helper below, which starts a cluster and sleeps.
    let mut maker = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "orphan_maker", "--ignored", "--nocapture", "--test-threads=1"])
        .env(ORPHAN_MAKER, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(maker.stdout.take().unwrap()).lines();
    // libtest may have put `test orphan_maker ... ` before it on the line.
    let made = lines
        .map(Result::unwrap)
        .find_map(|line| line.split_once("ORPHAN ").map(|(_, made)| made.to_owned()));
    // Killed as Ctrl-C would: no chance to stop the cluster.
    maker.kill().unwrap();
    maker.wait().unwrap();
    let made = made.expect("the maker printed its cluster");
    let (port, dir) = made.split_once(' ').unwrap();
    let (port, dir): (u16, PathBuf) = (port.parse().unwrap(), dir.into());
    assert!(accepts(port), "the orphan still runs");

    let cluster = start(&[]);
    // Another test's start may be reaping the same orphan at this moment and finish a little
    // later than this one, so allow it a few seconds.
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while (dir.exists() || accepts(port)) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!dir.exists(), "{} is still there", dir.display());
    assert!(!accepts(port), "the orphan on port {port} still accepts connections");
    assert!(cluster.dir().exists());
    cluster.stop().unwrap();
}

/// The other half of the test above; does nothing unless run by it.
#[test]
#[ignore = "run by a_cluster_whose_maker_was_killed_is_stopped_and_removed_by_the_next_start"]
#[allow(clippy::print_stdout, reason = "the parent test reads the cluster from stdout")]
fn orphan_maker() {
    if std::env::var_os(ORPHAN_MAKER).is_none() {
        return;
    }
    let cluster = Cluster::start(&[]).unwrap();
    println!("ORPHAN {} {}", cluster.port(), cluster.dir().display());
    std::thread::sleep(std::time::Duration::from_mins(2));
    // Not reached: the parent kills this process first.
    drop(cluster);
}

//! The command line: `cargo xtask <command> [options]`, parsed by hand into a [`Task`].
//!
//! A handful of commands with a few options each do not justify an argument-parsing dependency
//! (and its build time on two cores); parsing is a pure function of the arguments and
//! `$KASSE_PORT`, so it is unit-tested directly.

use std::path::PathBuf;
use std::time::Duration;

use crate::chaos;
use crate::error::{Error, Result};

/// The port `cargo xtask run` listens on when neither `--port` nor `$KASSE_PORT` says otherwise.
pub(crate) const DEFAULT_PORT: u16 = 8080;

/// The environment variable that sets the port for `cargo xtask run`.
pub(crate) const PORT_VARIABLE: &str = "KASSE_PORT";

/// Printed for `cargo xtask help` and after a command-line mistake.
pub(crate) const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  run [--port N]        build the web app and kasse-server, then serve them on
                        127.0.0.1:N (default 8080, or $KASSE_PORT)
  test [--no-browser]   cargo fmt --check, clippy (native and wasm32), unit tests
                        against a throwaway PostgreSQL cluster, then the app
                        build and the browser tests in Chromium; --no-browser
                        stops after the unit tests
  bench                 build the web app and report the raw and brotli sizes of
                        the till and the sticker landing page, the landing page's
                        time to interactive on a throttled phone in Chromium, and
                        the simulator's and server's throughput (target/bench/)
  chaos [--sales N] [--tills T] [--kill-every-secs S] [--kills K] [--seed X]
        [--data DIR] [--instances I] [--database sqlite|postgres]
                        concurrent sales on T tills (default 200 on 8) against
                        kasse-sim while kasse-server is SIGKILLed about every S
                        seconds (default 5), K times at least (default 20), and
                        restarted; then every sale is compared with the
                        platform: prints sales, kills, lost, doubled, stuck,
                        mismatched and fails if any of the last four is above
                        zero (logs in DIR, default target/chaos). With
                        --instances 2 two servers share a PostgreSQL database
                        and one of them at a time is killed; tills whose own
                        is down go to the other. --database (default sqlite
                        for one instance, postgres for two) picks the store; a
                        throwaway PostgreSQL cluster is started for the run
  help                  show this text

trunk, wasm-bindgen and wasm-opt are installed on first use into .tools/;
`test` also installs postgresql, chromium and chromedriver with apt when they
are missing.";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Task {
    /// Build everything and serve it on `127.0.0.1:port`.
    Run {
        /// The TCP port to listen on.
        port: u16,
    },
    /// Run the checks, with or without the browser tests.
    Test {
        /// Whether to build the app and run the browser tests (steps e and f).
        browser: bool,
    },
    /// Build the app and report its size.
    Bench,
    /// Kill the server under concurrent sales and compare every sale with the platform.
    Chaos(chaos::Options),
    /// Print the usage text.
    Help,
}

/// Parses the arguments after `cargo xtask`, with the value of `$KASSE_PORT` (if set) for `run`.
pub(crate) fn parse(args: &[String], env_port: Option<&str>) -> Result<Task> {
    let Some((command, options)) = args.split_first() else {
        return Err(Error::new("no command given"));
    };
    match command.as_str() {
        "run" => parse_run(options, env_port),
        "test" => match options {
            [] => Ok(Task::Test { browser: true }),
            [flag] if flag == "--no-browser" => Ok(Task::Test { browser: false }),
            _ => Err(unexpected("test", options)),
        },
        "bench" if options.is_empty() => Ok(Task::Bench),
        "bench" => Err(unexpected("bench", options)),
        "chaos" => parse_chaos(options).map(Task::Chaos),
        "help" | "--help" | "-h" => Ok(Task::Help),
        other => Err(Error::new(format!("unknown command `{other}`"))),
    }
}

/// Parses `run`'s options: `--port N` or `--port=N`, else `$KASSE_PORT`, else the default.
fn parse_run(options: &[String], env_port: Option<&str>) -> Result<Task> {
    let mut port = None;
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let value = if option == "--port" {
            rest.next().ok_or_else(|| Error::new("`--port` needs a value, as in `--port 8080`"))?
        } else if let Some(value) = option.strip_prefix("--port=") {
            value
        } else {
            return Err(unexpected("run", std::slice::from_ref(option)));
        };
        port = Some(parse_port(value, "--port")?);
    }
    let port = match (port, env_port.filter(|value| !value.is_empty())) {
        (Some(port), _) => port,
        (None, Some(value)) => parse_port(value, PORT_VARIABLE)?,
        (None, None) => DEFAULT_PORT,
    };
    Ok(Task::Run { port })
}

/// Parses `chaos`'s options, each as `--name VALUE` or `--name=VALUE`; the long run's defaults
/// for the rest. Several instances share one database, so `--instances 2` means PostgreSQL:
/// the default then, and `--database sqlite` with it is refused.
fn parse_chaos(options: &[String]) -> Result<chaos::Options> {
    let mut chosen = chaos::Options::DEFAULT;
    let mut database = None;
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let (name, inline) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (option.as_str(), None),
        };
        let mut value = || match inline {
            Some(value) => Ok(value),
            None => {
                rest.next().map(String::as_str).ok_or_else(|| Error::new(format!("`{name}` needs a value")))
            }
        };
        match name {
            "--sales" => chosen.sales = parse_count(value()?, name, 1, 5_000)?,
            "--tills" => chosen.tills = parse_count(value()?, name, 1, 50)?,
            "--kills" => chosen.kills = parse_count(value()?, name, 1, 200)?,
            "--instances" => chosen.instances = parse_count(value()?, name, 1, chaos::MAX_INSTANCES)?,
            "--database" => {
                let given = value()?;
                database = Some(chaos::Database::parse(given).ok_or_else(|| {
                    Error::new(format!("--database must be `sqlite` or `postgres`, not `{given}`"))
                })?);
            }
            "--kill-every-secs" => {
                let given = value()?;
                let seconds = given.trim().parse::<f64>().ok().filter(|s| (0.5..=600.0).contains(s));
                let seconds = seconds.ok_or_else(|| {
                    Error::new(format!("--kill-every-secs must be from 0.5 to 600 seconds, not `{given}`"))
                })?;
                chosen.kill_every = Duration::from_secs_f64(seconds);
            }
            "--seed" => {
                let given = value()?;
                let seed = given.trim().parse::<u64>();
                chosen.seed = Some(
                    seed.map_err(|_| Error::new(format!("--seed must be a whole number, not `{given}`")))?,
                );
            }
            "--data" => {
                let given = value()?;
                if given.is_empty() {
                    return Err(Error::new("--data needs a directory"));
                }
                chosen.data = Some(PathBuf::from(given));
            }
            _ => return Err(unexpected("chaos", std::slice::from_ref(option))),
        }
    }
    chosen.database = match database {
        Some(chaos::Database::Sqlite) if chosen.instances > 1 => {
            return Err(Error::new(format!(
                "{} instances share one database, which SQLite cannot be: use --database postgres \
                 (the default for more than one)",
                chosen.instances
            )));
        }
        Some(database) => database,
        None if chosen.instances > 1 => chaos::Database::Postgres,
        None => chaos::Database::Sqlite,
    };
    // A till's history lists its newest 500 sales, and the comparison reads every sale there.
    if chosen.sales.div_ceil(chosen.tills) > 400 {
        return Err(Error::new(format!(
            "at most 400 sales per till: {} sales need at least {} tills",
            chosen.sales,
            chosen.sales.div_ceil(400)
        )));
    }
    Ok(chosen)
}

/// A whole number from `low` to `high`, naming `flag` if `value` is not one.
fn parse_count(value: &str, flag: &str, low: usize, high: usize) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(count) if (low..=high).contains(&count) => Ok(count),
        _ => Err(Error::new(format!("{flag} must be a whole number from {low} to {high}, not `{value}`"))),
    }
}

/// A TCP port from `value`, naming `source` (the flag or variable) if it is not one.
fn parse_port(value: &str, source: &str) -> Result<u16> {
    match value.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        // Port 0 would make the OS pick one, and the URLs the server prints would be wrong.
        _ => Err(Error::new(format!("{source} must be a port number from 1 to 65535, not `{value}`"))),
    }
}

/// The error for options a command does not take.
fn unexpected(command: &str, options: &[String]) -> Error {
    Error::new(format!("`{command}` does not take `{}`", options.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The arguments as the shell would pass them.
    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn run_listens_on_8080_by_default() {
        assert_eq!(parse(&args("run"), None), Ok(Task::Run { port: 8080 }));
    }

    #[test]
    fn run_takes_the_port_from_the_flag_in_either_spelling() {
        assert_eq!(parse(&args("run --port 3000"), None), Ok(Task::Run { port: 3000 }));
        assert_eq!(parse(&args("run --port=3001"), None), Ok(Task::Run { port: 3001 }));
    }

    #[test]
    fn run_takes_the_port_from_kasse_port_when_there_is_no_flag() {
        assert_eq!(parse(&args("run"), Some("9000")), Ok(Task::Run { port: 9000 }));
        assert_eq!(parse(&args("run"), Some("")), Ok(Task::Run { port: 8080 }));
    }

    #[test]
    fn the_port_flag_wins_over_kasse_port() {
        assert_eq!(parse(&args("run --port 3000"), Some("9000")), Ok(Task::Run { port: 3000 }));
    }

    #[test]
    fn the_last_port_flag_wins() {
        assert_eq!(parse(&args("run --port 3000 --port 3001"), None), Ok(Task::Run { port: 3001 }));
    }

    #[test]
    fn a_port_that_is_not_a_port_number_is_refused() {
        for bad in ["run --port", "run --port http", "run --port 0", "run --port 65536"] {
            assert!(parse(&args(bad), None).is_err(), "{bad} was accepted");
        }
        assert!(parse(&args("run"), Some("eighty")).is_err());
    }

    #[test]
    fn a_bad_kasse_port_is_ignored_when_the_flag_is_given() {
        assert_eq!(parse(&args("run --port 3000"), Some("eighty")), Ok(Task::Run { port: 3000 }));
    }

    #[test]
    fn test_runs_the_browser_tests_unless_told_not_to() {
        assert_eq!(parse(&args("test"), None), Ok(Task::Test { browser: true }));
        assert_eq!(parse(&args("test --no-browser"), None), Ok(Task::Test { browser: false }));
    }

    #[test]
    fn unknown_options_are_refused_by_every_command() {
        for bad in ["run --verbose", "test --fast", "bench --quick"] {
            assert!(parse(&args(bad), None).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn chaos_runs_the_long_run_by_default() {
        assert_eq!(parse(&args("chaos"), None), Ok(Task::Chaos(chaos::Options::DEFAULT)));
    }

    #[test]
    fn chaos_takes_each_option_in_either_spelling() {
        let expected = chaos::Options {
            sales: 60,
            tills: 12,
            kill_every: Duration::from_millis(2_500),
            kills: 9,
            seed: Some(42),
            data: Some(PathBuf::from("/tmp/chaos")),
            instances: 2,
            database: chaos::Database::Postgres,
            cluster: None,
        };
        let spaced = "chaos --sales 60 --tills 12 --kill-every-secs 2.5 --kills 9 --seed 42 --data /tmp/chaos \
             --instances 2 --database postgres";
        let joined = "chaos --sales=60 --tills=12 --kill-every-secs=2.5 --kills=9 --seed=42 --data=/tmp/chaos \
             --instances=2 --database=postgres";
        assert_eq!(parse(&args(spaced), None), Ok(Task::Chaos(expected.clone())));
        assert_eq!(parse(&args(joined), None), Ok(Task::Chaos(expected)));
    }

    #[test]
    fn chaos_runs_one_instance_on_sqlite_unless_told_otherwise() {
        let chosen = |line: &str| match parse(&args(line), None) {
            Ok(Task::Chaos(options)) => (options.instances, options.database),
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(chosen("chaos"), (1, chaos::Database::Sqlite));
        assert_eq!(chosen("chaos --instances 1"), (1, chaos::Database::Sqlite));
        assert_eq!(chosen("chaos --database postgres"), (1, chaos::Database::Postgres));
        assert_eq!(chosen("chaos --database=postgresql"), (1, chaos::Database::Postgres));
        assert_eq!(chosen("chaos --instances 1 --database sqlite"), (1, chaos::Database::Sqlite));
    }

    #[test]
    fn two_chaos_instances_mean_postgres_whichever_option_comes_first() {
        let chosen = |line: &str| match parse(&args(line), None) {
            Ok(Task::Chaos(options)) => (options.instances, options.database, options.cluster),
            other => panic!("{line}: {other:?}"),
        };
        for line in [
            "chaos --instances 2",
            "chaos --instances 2 --database postgres",
            "chaos --database postgres --instances=2",
        ] {
            assert_eq!(chosen(line), (2, chaos::Database::Postgres, None), "{line}");
        }
        for bad in ["chaos --instances 2 --database sqlite", "chaos --database=sqlite --instances 2"] {
            let error = parse(&args(bad), None).unwrap_err().to_string();
            assert!(error.contains("--database postgres"), "{bad}: {error}");
        }
    }

    #[test]
    fn chaos_refuses_values_out_of_bounds_and_unknown_options() {
        for bad in [
            "chaos --sales 0",
            "chaos --sales many",
            "chaos --sales",
            "chaos --tills 0",
            "chaos --tills 51",
            "chaos --kills 0",
            "chaos --kill-every-secs 0.1",
            "chaos --kill-every-secs soon",
            "chaos --seed -1",
            "chaos --data=",
            "chaos --instances 0",
            "chaos --instances 3",
            "chaos --instances two",
            "chaos --instances",
            "chaos --database",
            "chaos --database mysql",
            "chaos --database=",
            "chaos --sales 900 --tills 2",
            "chaos --fast",
        ] {
            assert!(parse(&args(bad), None).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn help_is_available_under_its_usual_names() {
        for name in ["help", "--help", "-h"] {
            assert_eq!(parse(&args(name), None), Ok(Task::Help));
        }
    }

    #[test]
    fn a_missing_or_unknown_command_is_an_error() {
        assert!(parse(&[], None).is_err());
        assert!(parse(&args("deploy"), None).is_err());
    }
}

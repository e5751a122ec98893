//! The command line: `cargo xtask <command> [options]`, parsed by hand into a [`Task`].
//!
//! Three commands with one option each do not justify an argument-parsing dependency (and its
//! build time on two cores); parsing is a pure function of the arguments and `$KASSE_PORT`, so
//! it is unit-tested directly.

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
  test [--no-browser]   cargo fmt --check, clippy (native and wasm32), unit tests,
                        then the app build and the browser tests in Chromium;
                        --no-browser stops after the unit tests
  bench                 build the web app and report the raw and brotli sizes of
                        the till and the sticker landing page, the landing page's
                        time to interactive on a throttled phone in Chromium, and
                        the simulator's and server's throughput (target/bench/)
  help                  show this text

trunk, wasm-bindgen and wasm-opt are installed on first use into .tools/;
`test` also installs chromium and chromedriver with apt when they are missing.";

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

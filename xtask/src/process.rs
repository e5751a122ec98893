//! Running other programs and reporting progress: echoing commands, checking their exit status,
//! probing tool versions, printing `==>` status lines and durations.
//!
//! Commands run with inherited stdio so that cargo's and trunk's own progress output reaches the
//! terminal unchanged; xtask only adds a `$ command` line before each one and a clear error after
//! a failure.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};

/// Prints a progress line, `==> message`, the marker every xtask status line starts with.
pub(crate) fn announce(message: impl std::fmt::Display) {
    println!("==> {message}");
}

/// A duration as people read it: `0.4s`, `12.0s`, `3m 05s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    // Rounded in integers, so 59.96 s becomes `1m 00s` rather than `60.0s`.
    let millis = duration.as_millis();
    let tenths = (millis + 50) / 100;
    if tenths < 600 {
        format!("{}.{}s", tenths / 10, tenths % 10)
    } else {
        let seconds = (millis + 500) / 1000;
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    }
}

/// A `cargo` command using the same cargo that runs xtask (cargo sets `$CARGO` for its children),
/// so that a rustup toolchain override applies to every nested build too.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `command` to completion with inherited stdio, failing unless it exits successfully.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let shown = describe(command);
    println!("    $ {shown}");
    let status =
        command.status().map_err(|error| Error::new(format!("could not start `{shown}`: {error}")))?;
    if status.success() { Ok(()) } else { Err(Error::new(format!("`{shown}` failed ({status})"))) }
}

/// The stdout of `program args...` if it starts and exits successfully, else `None`.
///
/// Used to ask tools for their version: a missing or broken tool simply reads as "not installed".
pub(crate) fn stdout_of(program: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The command line as a person would type it: program name (without its directory) and arguments.
pub(crate) fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program()).file_name().unwrap_or_else(|| command.get_program());
    std::iter::once(program)
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_described_by_its_file_name_and_arguments() {
        let mut command = Command::new("/work/main/.tools/bin/trunk");
        command.args(["build", "--release"]);
        assert_eq!(describe(&command), "trunk build --release");
    }

    #[test]
    fn short_durations_are_shown_in_tenths_of_a_second() {
        assert_eq!(format_duration(Duration::from_millis(400)), "0.4s");
        assert_eq!(format_duration(Duration::from_millis(59_940)), "59.9s");
    }

    #[test]
    fn durations_of_a_minute_or_more_are_shown_in_minutes_and_seconds() {
        assert_eq!(format_duration(Duration::from_millis(59_960)), "1m 00s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m 05s");
    }

    #[test]
    fn a_program_that_does_not_exist_has_no_output() {
        assert_eq!(stdout_of("/nonexistent/xtask-test-tool", &["--version"]), None);
    }
}

//! `cargo xtask`: the project's own build tool for kasse.
//!
//! One command each to run the app locally (`run`), check everything CI checks (`test`),
//! measure the bundle (`bench`) and kill the server under load to see that no sale suffers
//! (`chaos`). Each installs what it needs on first use (trunk, wasm-bindgen,
//! wasm-opt into `.tools/`, PostgreSQL and Chromium from apt for `test`), so a fresh machine
//! needs nothing by hand. The tests run against a real PostgreSQL server: `test` starts a
//! throwaway cluster of its own (kasse-pgtemp: a temporary directory, a free port) and stops it
//! at the end.
//!
//! Nothing is downloaded from outside the package registries (crates.io, npm, apt), which is why
//! Trunk is never left to fetch its own helpers.

// A command-line tool talks to its user on stdout; that is the point of it, not a leftover.
#![allow(clippy::print_stdout)]

mod app;
mod bench;
mod chaos;
mod cli;
mod compress;
mod error;
mod http;
mod landing_load;
mod postgres;
mod process;
mod serve;
mod suite;
mod tools;
mod webdriver;
mod workspace;

use std::env;
use std::process::ExitCode;

use cli::Task;
use error::{Error, Result};
use workspace::Workspace;

/// Parses the command line, runs the task, and turns any error into a message and exit code.
fn main() -> ExitCode {
    let task = match arguments().and_then(|args| {
        let env_port = env::var(cli::PORT_VARIABLE).ok();
        cli::parse(&args, env_port.as_deref())
    }) {
        Ok(task) => task,
        Err(error) => {
            eprintln!("error: {error}\n\n{}", cli::USAGE);
            // 2 is the conventional exit code for a command-line mistake.
            return ExitCode::from(2);
        }
    };
    match run(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments after `cargo xtask`, refused politely (not panicking) if they are not UTF-8.
fn arguments() -> Result<Vec<String>> {
    env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| Error::new(format!("argument `{}` is not valid UTF-8", arg.display())))
        })
        .collect()
}

/// Carries out `task` in this workspace.
fn run(task: Task) -> Result<()> {
    match task {
        Task::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Task::Run { port } => serve::run(&Workspace::locate()?, port),
        Task::Test { browser } => suite::run(&Workspace::locate()?, browser),
        Task::Bench => bench::run(&Workspace::locate()?),
        Task::Chaos(options) => chaos::run(&Workspace::locate()?, &options),
    }
}

//! `cargo xtask run`: build the web app and kasse-server, then become the server.
//!
//! The last step replaces the xtask process with kasse-server (`exec`), so Ctrl-C reaches the
//! server directly, its graceful shutdown runs, and no parent process is left behind. The server
//! prints its own till, phone-page and sticker URLs once it listens.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::app;
use crate::error::{Context, Error, Result};
use crate::process::{self, announce};
use crate::workspace::Workspace;

/// Builds everything and execs `kasse-server serve` on `127.0.0.1:port`; returns only on failure.
pub(crate) fn run(workspace: &Workspace, port: u16) -> Result<()> {
    app::build(workspace)?;
    announce("building kasse-server (release)");
    process::run(
        process::cargo().args(["build", "--release", "-p", "kasse-server"]).current_dir(workspace.root()),
    )?;

    let data = workspace.data();
    // The server keeps its store here; creating the folder up front spares it that step.
    fs::create_dir_all(&data).context(|| format!("creating {}", data.display()))?;

    let server = workspace.target_dir().join("release").join("kasse-server");
    let listen = format!("127.0.0.1:{port}");
    announce(format!("starting kasse-server on http://{listen} (Ctrl-C stops it)"));
    let error = Command::new(&server)
        .arg("serve")
        .arg("--listen")
        .arg(&listen)
        .arg("--dist")
        .arg(workspace.dist())
        .arg("--data")
        .arg(&data)
        .current_dir(workspace.root())
        .exec();
    // `exec` only returns when the process could not be replaced.
    Err(Error::new(format!("could not start {}: {error}", server.display())))
}

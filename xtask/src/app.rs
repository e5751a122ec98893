//! Building the web app: `trunk build` of the Leptos crate into `dist/`.
//!
//! Trunk.toml at the workspace root sets `dist = "dist"` and `offline = true`, and index.html asks
//! for the size-tuned `wasm-release` cargo profile in release builds; this module runs the release
//! build with a `PATH` on which the project's own wasm-bindgen and wasm-opt come first. Offline, Trunk never tries to download a
//! helper from GitHub (which these machines cannot reach), but it also builds with
//! `cargo --offline`, so the crates are fetched beforehand.

use std::process::Command;
use std::time::Instant;

use crate::error::Result;
use crate::process::{self, announce, format_duration};
use crate::tools;
use crate::workspace::Workspace;

/// Ensures the web toolchain, then builds the app into `dist/`.
pub(crate) fn build(workspace: &Workspace) -> Result<()> {
    tools::ensure_web_toolchain(workspace)?;

    announce("fetching crates (trunk builds with `cargo --offline`)");
    process::run(process::cargo().arg("fetch").current_dir(workspace.root()))?;

    announce(format!("building the web app into {}", workspace.dist().display()));
    let started = Instant::now();
    process::run(
        Command::new(workspace.tools_bin().join("trunk"))
            .args(["build", "--release"])
            // Also set in Trunk.toml; repeated so no configuration change can make trunk reach
            // for GitHub.
            .arg("--offline")
            .current_dir(workspace.root())
            .env("PATH", tools::search_path(workspace)?)
            // Trunk then checks wasm-opt's version itself and refuses any other, such as
            // Debian's 108, whose bundles fail in the browser.
            .env("TRUNK_TOOLS_WASM_OPT", format!("version_{}", tools::BINARYEN_VERSION)),
    )?;
    announce(format!("web app built in {}", format_duration(started.elapsed())));
    Ok(())
}

//! Building the web app: one `trunk build` of the Leptos crate per bundle.
//!
//! Each screen a device opens is a bundle of its own, so that none downloads what it never shows
//! ([`BUNDLES`]): the till's (`index.html`, binary `kasse`, with the camera's decoder worker) goes
//! into `dist/`, each other one into its own folder of `dist/`, which is also the URL path its
//! files are served under. Each build cleans its own folder, so the till's is built first.
//!
//! Trunk.toml at the workspace root sets `dist = "dist"` and `offline = true`, and the HTML files
//! ask for the size-tuned `wasm-release` cargo profile in release builds; this module runs the
//! release builds with a `PATH` on which the project's own wasm-bindgen and wasm-opt come first.
//! Offline, Trunk never tries to download a helper from GitHub (which these machines cannot
//! reach), but it also builds with `cargo --offline`, so the crates are fetched beforehand.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::error::Result;
use crate::process::{self, announce, format_duration};
use crate::tools;
use crate::workspace::Workspace;

/// One bundle of the web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bundle {
    /// What it is, for progress output and reports.
    pub(crate) name: &'static str,
    /// Its Trunk entry, at the workspace root.
    pub(crate) entry: &'static str,
    /// Its folder under `dist/` and URL path; empty for the till's, at the root.
    pub(crate) folder: &'static str,
}

/// Every bundle, the till's first.
pub(crate) const BUNDLES: [Bundle; 3] = [
    Bundle { name: "the till", entry: "index.html", folder: "" },
    Bundle { name: "the history", entry: "history.html", folder: "history" },
    Bundle { name: "the customer display", entry: "display.html", folder: "display" },
];

/// Ensures the web toolchain, then builds every bundle into `dist/`.
pub(crate) fn build(workspace: &Workspace) -> Result<()> {
    tools::ensure_web_toolchain(workspace)?;

    announce("fetching crates (trunk builds with `cargo --offline`)");
    process::run(process::cargo().arg("fetch").current_dir(workspace.root()))?;

    let started = Instant::now();
    for bundle in BUNDLES {
        let dist = workspace.dist().join(bundle.folder);
        announce(format!("building {} into {}", bundle.name, dist.display()));
        let public_url =
            if bundle.folder.is_empty() { "/".to_owned() } else { format!("/{}/", bundle.folder) };
        trunk_build(workspace, bundle.entry, &dist, &public_url)?;
    }
    announce(format!("web app built in {}", format_duration(started.elapsed())));
    Ok(())
}

/// `trunk build --release` of `entry` into `dist`, its files addressed under `public_url`.
fn trunk_build(workspace: &Workspace, entry: &str, dist: &Path, public_url: &str) -> Result<()> {
    process::run(
        Command::new(workspace.tools_bin().join("trunk"))
            .args(["build", "--release"])
            // Also set in Trunk.toml; repeated so no configuration change can make trunk reach
            // for GitHub.
            .arg("--offline")
            .arg("--dist")
            .arg(dist)
            .args(["--public-url", public_url])
            .arg(entry)
            .current_dir(workspace.root())
            .env("PATH", tools::search_path(workspace)?)
            // Trunk then checks wasm-opt's version itself and refuses any other, such as
            // Debian's 108, whose bundles fail in the browser.
            .env("TRUNK_TOOLS_WASM_OPT", format!("version_{}", tools::BINARYEN_VERSION)),
    )
}

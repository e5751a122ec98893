//! Building the web app: one `trunk build` of the Leptos crate per bundle, then pre-compression.
//!
//! Each screen a device opens is a bundle of its own, so that none downloads what it never shows
//! ([`BUNDLES`]): the till's (`index.html`, binary `kasse`, with the camera's decoder worker) goes
//! into `dist/`, each other one (the history, the customer display, the manager's back office,
//! the landing page) into its own folder of `dist/`, which is also the URL path its
//! files are served under; the sticker landing page's (`landing.html`, binary `landing`) is the
//! smallest, for a customer's phone on a weak connection. Each build cleans its own folder, so
//! the till's is built first. Then every text file and the WebAssembly get `.br` and `.gz` twins
//! (`compress`), which kasse-server sends to browsers that take them.
//!
//! Trunk.toml at the workspace root sets `dist = "dist"` and `offline = true`, and the HTML files
//! ask for the size-tuned `wasm-release` cargo profile in release builds; this module runs the
//! release builds with a `PATH` on which the project's own wasm-bindgen and wasm-opt come first.
//! Offline, Trunk never tries to download a helper from GitHub (which these machines cannot
//! reach), but it also builds with `cargo --offline`, so the crates are fetched beforehand.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::compress;
use crate::error::Result;
use crate::process::{self, announce, format_duration};
use crate::tools;
use crate::workspace::Workspace;

/// One bundle of the web app.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bundle {
    /// What it is, for progress output and reports.
    pub(crate) name: &'static str,
    /// Its Trunk entry, at the workspace root.
    pub(crate) entry: &'static str,
    /// Its folder under `dist/` and URL path; empty for the till's, at the root.
    pub(crate) folder: &'static str,
    /// What `trunk build` is given beyond the till's settings.
    tuning: &'static [&'static str],
}

/// The landing bundle's folder under `dist/`, which is also its URL path.
pub(crate) const LANDING_FOLDER: &str = "landing";

/// Every bundle, the till's first.
pub(crate) const BUNDLES: [Bundle; 5] = [
    Bundle { name: "the till", entry: "index.html", folder: "", tuning: &[] },
    Bundle { name: "the history", entry: "history.html", folder: "history", tuning: &[] },
    Bundle { name: "the customer display", entry: "display.html", folder: "display", tuning: &[] },
    Bundle { name: "the back office", entry: "admin.html", folder: "admin", tuning: &[] },
    Bundle {
        name: "the sticker landing page",
        entry: "landing.html",
        folder: LANDING_FOLDER,
        tuning: &LANDING_TUNING,
    },
];

/// What the landing bundle is built with beyond the till's, to stay within its 80 KB (brotli)
/// budget on a phone's weak connection: minified HTML and CSS (about 0.5 KB less). It shares the
/// till's compiler flags, so it reuses the till's compiled dependencies (Leptos's
/// `erase_components` setting does nothing to a page built without Leptos).
const LANDING_TUNING: [&str; 1] = ["--minify"];

/// Ensures the web toolchain, then builds every bundle into `dist/` and pre-compresses them.
pub(crate) fn build(workspace: &Workspace) -> Result<()> {
    tools::ensure_web_toolchain(workspace)?;

    announce("fetching crates (trunk builds with `cargo --offline`)");
    process::run(process::cargo().arg("fetch").current_dir(workspace.root()))?;

    let started = Instant::now();
    let dist = workspace.dist();
    for bundle in BUNDLES {
        let folder = dist.join(bundle.folder);
        announce(format!("building {} into {}", bundle.name, folder.display()));
        let public_url =
            if bundle.folder.is_empty() { "/".to_owned() } else { format!("/{}/", bundle.folder) };
        trunk_build(workspace, bundle.entry, &folder, &public_url, bundle.tuning)?;
    }
    let compressed = compress::precompress(&dist)?;
    announce(format!(
        "web app built in {} ({compressed} files pre-compressed as .br and .gz)",
        format_duration(started.elapsed())
    ));
    Ok(())
}

/// `trunk build --release` of `entry` into `dist`, its files addressed under `public_url`, with
/// the extra `tuning`.
fn trunk_build(
    workspace: &Workspace,
    entry: &str,
    dist: &Path,
    public_url: &str,
    tuning: &[&str],
) -> Result<()> {
    let mut trunk = Command::new(workspace.tools_bin().join("trunk"));
    trunk.args(["build", "--release"]);
    trunk.args(tuning);
    process::run(
        trunk
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

//! Where things live: the workspace root and the paths derived from it.
//!
//! Everything xtask reads or writes is named here, so the layout (`.tools/`, `dist/`, `data/`,
//! `target/`) is defined once and every command agrees on it.

use std::env;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kasse workspace, rooted at the directory holding the top-level `Cargo.toml`.
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// Absolute path of the workspace root.
    root: PathBuf,
}

impl Workspace {
    /// The workspace this xtask binary was built from: the parent of `xtask/`.
    pub(crate) fn locate() -> Result<Self> {
        // The path is baked in at compile time, so it holds wherever `cargo xtask` is started from.
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .ok_or_else(|| Error::new(format!("{} has no parent directory", manifest_dir.display())))?;
        Ok(Self { root: root.to_path_buf() })
    }

    /// The workspace root; commands run here.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `Cargo.lock`, the source of truth for the wasm-bindgen version.
    pub(crate) fn lockfile(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    /// `.tools/`: the project-local install root for trunk and wasm-bindgen (gitignored).
    pub(crate) fn tools_dir(&self) -> PathBuf {
        self.root.join(".tools")
    }

    /// `.tools/bin/`, where `cargo install --root .tools` puts binaries.
    pub(crate) fn tools_bin(&self) -> PathBuf {
        self.tools_dir().join("bin")
    }

    /// `.tools/npm/`, the npm prefix binaryen is installed into.
    pub(crate) fn npm_prefix(&self) -> PathBuf {
        self.tools_dir().join("npm")
    }

    /// `.tools/npm/node_modules/.bin/`, where npm links `wasm-opt`.
    pub(crate) fn npm_bin(&self) -> PathBuf {
        self.npm_prefix().join("node_modules").join(".bin")
    }

    /// `dist/`: Trunk's output, served by kasse-server and measured by `bench`.
    pub(crate) fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }

    /// `dist/landing/`: the sticker landing page's own bundle, served under `/landing/`.
    pub(crate) fn landing_dist(&self) -> PathBuf {
        self.dist().join(crate::app::LANDING_FOLDER)
    }

    /// `data/`: the server's local store when started by `cargo xtask run`.
    pub(crate) fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Cargo's target directory: `$CARGO_TARGET_DIR` when set (as cargo itself does), else `target/`.
    pub(crate) fn target_dir(&self) -> PathBuf {
        match env::var_os("CARGO_TARGET_DIR") {
            // A relative value is relative to where cargo runs, which for us is always the root.
            Some(dir) if !dir.is_empty() => self.root.join(dir),
            _ => self.root.join("target"),
        }
    }
}

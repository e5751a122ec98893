//! The toolchain the web app needs, checked and installed idempotently.
//!
//! Trunk cannot download its helpers on these machines, so every piece is installed from a
//! package registry into the project-local, gitignored `.tools/` folder and then found on `PATH`:
//! trunk and wasm-bindgen through `cargo install --root .tools`, wasm-opt through npm's
//! binaryen. Each check asks the installed binary for its version and installs only when that
//! answer is wrong, so a second run costs a few milliseconds. Chromium for the browser tests
//! comes from apt into `/usr/bin`, and so does PostgreSQL (Debian's `postgresql`, into
//! `/usr/lib/postgresql/<version>/bin`) for the tests of the server's store. The constants below
//! say why each version is pinned.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::error::{Context, Error, Result};
use crate::process::{self, announce};
use crate::workspace::Workspace;

/// The Rust target the web app compiles to.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The pinned Trunk release: 0.22 needs a newer rustc than the workspace's 1.95.
pub(crate) const TRUNK_VERSION: &str = "0.21.14";

/// The binaryen release whose wasm-opt produces working bundles (Debian's 108 does not).
pub(crate) const BINARYEN_VERSION: &str = "132";

/// Where apt's `chromium` package puts the browser.
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// Where apt's `chromium-driver` package puts the WebDriver server.
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Makes sure everything `trunk build` needs is present: the wasm32 target, wasm-opt from
/// binaryen, trunk, and the wasm-bindgen CLI matching Cargo.lock.
pub(crate) fn ensure_web_toolchain(workspace: &Workspace) -> Result<()> {
    // Quick installs first, so a missing rustup or npm shows up before minutes of compiling.
    ensure_wasm_target()?;
    ensure_wasm_opt(workspace)?;
    ensure_cargo_tool(
        workspace,
        &CargoTool {
            binary: "trunk",
            crate_name: "trunk",
            version: TRUNK_VERSION,
            locked: true,
            takes: "about 11 minutes",
        },
    )?;
    let bindgen_version = locked_wasm_bindgen_version(workspace)?;
    ensure_cargo_tool(
        workspace,
        &CargoTool {
            binary: "wasm-bindgen",
            crate_name: "wasm-bindgen-cli",
            version: &bindgen_version,
            // The registry mirror lacks a version pinned in wasm-bindgen-cli's own lockfile.
            locked: false,
            takes: "about 4 minutes",
        },
    )
}

/// Adds the wasm32 target to the active rustup toolchain unless it is already there.
pub(crate) fn ensure_wasm_target() -> Result<()> {
    let installed = process::stdout_of("rustup", &["target", "list", "--installed"])
        .ok_or_else(|| Error::new("`rustup target list --installed` failed; is rustup installed?"))?;
    if lists_target(&installed, WASM_TARGET) {
        announce("wasm32 target: already installed");
        return Ok(());
    }
    announce("installing the wasm32 target (a few seconds, once)");
    process::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Installs Chromium and chromedriver from apt unless both are already in `/usr/bin`.
pub(crate) fn ensure_chromium() -> Result<()> {
    if missing(&[CHROMIUM, CHROMEDRIVER]).is_empty() {
        announce("chromium and chromedriver: already installed");
        return Ok(());
    }
    announce("installing chromium and chromium-driver from apt (about a minute, once)");
    let as_root = is_root();
    process::run(&mut apt_get(as_root, &["update"]))?;
    process::run(&mut apt_get(as_root, &["install", "-y", "chromium", "chromium-driver"]))?;
    let still_missing = missing(&[CHROMIUM, CHROMEDRIVER]);
    if still_missing.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "apt installed chromium, but {} still does not exist",
            still_missing.join(" and ")
        )))
    }
}

/// Installs Debian's `postgresql` package from apt unless PostgreSQL's server binaries
/// (`initdb`, `pg_ctl`, `postgres`) can already be found, as kasse-pgtemp looks for them.
///
/// Installing the package may also create and start the system's own cluster (`15/main` on port
/// 5432, or not, in a container without an init system); kasse never uses it, since its tests
/// make their own cluster on a free port, so a complaint of the package's setup about that cluster
/// does not stop the run once the binaries are there.
pub(crate) fn ensure_postgres() -> Result<()> {
    if kasse_pgtemp::installed() {
        announce("postgresql: already installed");
        return Ok(());
    }
    announce("installing postgresql from apt (about a minute, once)");
    let as_root = is_root();
    process::run(&mut apt_get(as_root, &["update"]))?;
    let installed = process::run(&mut apt_get(as_root, &["install", "-y", "postgresql"]));
    match (installed, kasse_pgtemp::installed()) {
        (Ok(()), true) => Ok(()),
        (Err(error), true) => {
            announce(format!("apt-get complained ({error}), but the PostgreSQL server binaries are there"));
            Ok(())
        }
        (Err(error), false) => Err(error),
        (Ok(()), false) => Err(Error::new(
            "apt installed postgresql, but no folder /usr/lib/postgresql/<version>/bin (nor one on PATH) \
             has initdb, pg_ctl and postgres",
        )),
    }
}

/// `PATH` with `.tools/bin` and binaryen's `node_modules/.bin` in front, so trunk finds our
/// wasm-bindgen and wasm-opt before any system copy (Debian's wasm-opt 108 breaks bundles).
pub(crate) fn search_path(workspace: &Workspace) -> Result<OsString> {
    let ours = [workspace.tools_bin(), workspace.npm_bin()];
    let inherited = env::var_os("PATH").unwrap_or_default();
    env::join_paths(ours.into_iter().chain(env::split_paths(&inherited)))
        .context(|| "building PATH for the web toolchain".to_owned())
}

/// A tool installed from crates.io with `cargo install --root .tools`.
struct CargoTool<'a> {
    /// The binary's file name, which is also the first word of its `--version` output.
    binary: &'a str,
    /// The crate that provides the binary.
    crate_name: &'a str,
    /// The exact version required.
    version: &'a str,
    /// Whether to install with `--locked` (reproducible, when the registry allows it).
    locked: bool,
    /// How long a cold install takes here, so nobody thinks it hangs.
    takes: &'a str,
}

/// Installs `tool` into `.tools/` unless `.tools/bin/<binary> --version` already reports the
/// required version, then checks the result.
fn ensure_cargo_tool(workspace: &Workspace, tool: &CargoTool<'_>) -> Result<()> {
    let path = workspace.tools_bin().join(tool.binary);
    let found = process::stdout_of(&path, &["--version"]);
    if found.as_deref().is_some_and(|output| reports_version(output, tool.binary, tool.version)) {
        announce(format!("{} {}: already installed", tool.binary, tool.version));
        return Ok(());
    }
    if let Some(output) = &found {
        announce(format!(
            "{} reports `{}`, but {} is required",
            path.display(),
            first_line(output),
            tool.version
        ));
    }
    announce(format!("installing {} {} ({}, once)", tool.binary, tool.version, tool.takes));
    let mut install = process::cargo();
    install
        .args(["install", tool.crate_name])
        .arg("--version")
        .arg(format!("={}", tool.version))
        .arg("--root")
        .arg(workspace.tools_dir())
        // Only reached when the installed binary is wrong, so replacing it is always intended,
        // even when cargo's records claim that version is installed.
        .arg("--force");
    if tool.locked {
        install.arg("--locked");
    }
    process::run(&mut install)?;
    verify_version(&path, tool.binary, tool.version)
}

/// Installs binaryen from npm into `.tools/npm` unless its wasm-opt already reports the pinned
/// release.
fn ensure_wasm_opt(workspace: &Workspace) -> Result<()> {
    let wasm_opt = workspace.npm_bin().join("wasm-opt");
    let found = process::stdout_of(&wasm_opt, &["--version"]);
    if found.as_deref().is_some_and(|output| mentions_number(output, BINARYEN_VERSION)) {
        announce(format!("wasm-opt {BINARYEN_VERSION}: already installed"));
        return Ok(());
    }
    announce(format!("installing wasm-opt from npm binaryen@{BINARYEN_VERSION} (seconds, once)"));
    let prefix = workspace.npm_prefix();
    fs::create_dir_all(&prefix).context(|| format!("creating {}", prefix.display()))?;
    process::run(
        Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}")),
    )
    .context(|| "installing binaryen (is Node.js with npm installed?)".to_owned())?;
    match process::stdout_of(&wasm_opt, &["--version"]) {
        Some(output) if mentions_number(&output, BINARYEN_VERSION) => Ok(()),
        other => Err(Error::new(format!(
            "after installing binaryen@{BINARYEN_VERSION}, `{} --version` printed {:?}",
            wasm_opt.display(),
            other.as_deref().map(first_line)
        ))),
    }
}

/// Fails unless `path --version` now reports `binary version`.
fn verify_version(path: &Path, binary: &str, version: &str) -> Result<()> {
    match process::stdout_of(path, &["--version"]) {
        Some(output) if reports_version(&output, binary, version) => Ok(()),
        other => Err(Error::new(format!(
            "after installing, `{} --version` printed {:?} instead of `{binary} {version}`",
            path.display(),
            other.as_deref().map(first_line)
        ))),
    }
}

/// The single version of wasm-bindgen in the workspace's Cargo.lock, which the CLI must equal.
fn locked_wasm_bindgen_version(workspace: &Workspace) -> Result<String> {
    let path = workspace.lockfile();
    let lock = fs::read_to_string(&path).context(|| format!("reading {}", path.display()))?;
    let mut versions = locked_versions(&lock, "wasm-bindgen");
    match versions.len() {
        1 => Ok(versions.remove(0)),
        0 => Err(Error::new(format!(
            "{} has no wasm-bindgen package (does the web app still depend on it?)",
            path.display()
        ))),
        _ => Err(Error::new(format!(
            "{} holds several wasm-bindgen versions ({}); the CLI can match only one, \
             so unify them",
            path.display(),
            versions.join(", ")
        ))),
    }
}

/// The distinct versions of `package` recorded in a Cargo.lock, in file order.
fn locked_versions(lock: &str, package: &str) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    // The name of the `[[package]]` entry being read; the version line follows the name line.
    let mut current: Option<&str> = None;
    for line in lock.lines().map(str::trim) {
        if line.starts_with('[') {
            current = None;
        } else if let Some(name) = quoted_value(line, "name") {
            current = Some(name);
        } else if let Some(version) = quoted_value(line, "version")
            && current == Some(package)
            && !versions.iter().any(|known| known == version)
        {
            versions.push(version.to_owned());
        }
    }
    versions
}

/// The string value of a `key = "value"` TOML line, if the line sets `key`.
fn quoted_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim().strip_prefix('"')?.strip_suffix('"')
}

/// Whether `--version` output starts with exactly `binary version`, e.g. `trunk 0.21.14`.
fn reports_version(output: &str, binary: &str, version: &str) -> bool {
    let mut words = first_line(output).split_whitespace();
    words.next() == Some(binary) && words.next() == Some(version)
}

/// Whether `number` appears in `text` as a whole number, so `version 132 (version_132)` mentions
/// 132 but `version 1132` does not.
fn mentions_number(text: &str, number: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit()).any(|digits| digits == number)
}

/// Whether `rustup target list --installed` output names `target` on a line of its own.
fn lists_target(installed: &str, target: &str) -> bool {
    installed.lines().any(|line| line.trim() == target)
}

/// The first non-empty line of a program's output, trimmed.
fn first_line(output: &str) -> &str {
    output.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("")
}

/// The paths among `paths` that do not exist.
fn missing<'a>(paths: &[&'a str]) -> Vec<&'a str> {
    paths.iter().copied().filter(|path| !Path::new(path).exists()).collect()
}

/// Whether xtask runs as root (then apt runs directly, else through sudo).
fn is_root() -> bool {
    process::stdout_of("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}

/// `apt-get args...`, through `sudo` unless already root, never stopping to ask questions.
fn apt_get(as_root: bool, args: &[&str]) -> Command {
    let mut command = if as_root {
        let mut command = Command::new("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive");
        command
    } else {
        // sudo resets the environment, so the variable travels through `env` instead.
        let mut command = Command::new("sudo");
        command.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        command
    };
    command.args(args);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "0123"
dependencies = [
 "cfg-if",
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.130"

[[package]]
name = "web-sys"
version = "0.3.77"
"#;

    #[test]
    fn the_wasm_bindgen_version_is_read_from_cargo_lock() {
        assert_eq!(locked_versions(LOCK, "wasm-bindgen"), ["0.2.130"]);
    }

    #[test]
    fn packages_whose_names_merely_start_alike_are_not_confused() {
        let lock = LOCK.replace(
            "name = \"wasm-bindgen-macro\"\nversion = \"0.2.130\"",
            "name = \"wasm-bindgen-macro\"\nversion = \"0.2.999\"",
        );
        assert_eq!(locked_versions(&lock, "wasm-bindgen"), ["0.2.130"]);
    }

    #[test]
    fn the_lockfile_format_version_is_not_taken_for_a_package_version() {
        assert_eq!(locked_versions("version = 4\n", "wasm-bindgen"), Vec::<String>::new());
    }

    #[test]
    fn every_distinct_locked_version_of_a_package_is_reported() {
        let lock = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n");
        assert_eq!(locked_versions(&lock, "wasm-bindgen"), ["0.2.130", "0.2.100"]);
    }

    #[test]
    fn a_missing_package_has_no_locked_version() {
        assert!(locked_versions(LOCK, "trunk").is_empty());
    }

    #[test]
    fn the_exact_version_line_of_a_tool_matches() {
        assert!(reports_version("trunk 0.21.14\n", "trunk", "0.21.14"));
        assert!(reports_version("wasm-bindgen 0.2.130\n", "wasm-bindgen", "0.2.130"));
    }

    #[test]
    fn a_neighbouring_version_of_a_tool_does_not_match() {
        assert!(!reports_version("trunk 0.21.1\n", "trunk", "0.21.14"));
        assert!(!reports_version("trunk 0.21.140\n", "trunk", "0.21.14"));
        assert!(!reports_version("wasm-bindgen 0.2.13\n", "wasm-bindgen", "0.2.130"));
    }

    #[test]
    fn another_tool_with_the_right_version_does_not_match() {
        assert!(!reports_version("trunkate 0.21.14\n", "trunk", "0.21.14"));
        assert!(!reports_version("", "trunk", "0.21.14"));
    }

    #[test]
    fn wasm_opt_132_is_recognised_in_either_spelling() {
        assert!(mentions_number("wasm-opt version 132 (version_132)\n", "132"));
        assert!(mentions_number("wasm-opt version_132\n", "132"));
    }

    #[test]
    fn debian_wasm_opt_108_is_not_taken_for_132() {
        assert!(!mentions_number("wasm-opt version 108\n", "132"));
        assert!(!mentions_number("wasm-opt version 1132\n", "132"));
    }

    #[test]
    fn the_wasm_target_must_be_listed_on_a_line_of_its_own() {
        let installed = "wasm32-unknown-unknown\nx86_64-unknown-linux-gnu\n";
        assert!(lists_target(installed, WASM_TARGET));
        assert!(!lists_target("wasm32-unknown-unknownx\n", WASM_TARGET));
        assert!(!lists_target("x86_64-unknown-linux-gnu\n", WASM_TARGET));
    }

    #[test]
    fn apt_runs_directly_as_root_and_through_sudo_otherwise() {
        let direct = apt_get(true, &["update"]);
        assert_eq!(process::describe(&direct), "apt-get update");
        let sudo = apt_get(false, &["install", "-y", "chromium"]);
        assert_eq!(
            process::describe(&sudo),
            "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"
        );
    }

    #[test]
    fn toml_values_are_read_only_for_the_requested_key() {
        assert_eq!(quoted_value("name = \"trunk\"", "name"), Some("trunk"));
        assert_eq!(quoted_value("name=\"trunk\"", "name"), Some("trunk"));
        assert_eq!(quoted_value("names = \"trunk\"", "name"), None);
        assert_eq!(quoted_value("version = 4", "version"), None);
    }
}

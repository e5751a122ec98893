//! Finding the PostgreSQL server binaries: Debian's versioned folders first, then `PATH`.

use std::env;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Where Debian's `postgresql-<N>` packages put each major version's programs, as `<N>/bin`.
pub(crate) const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The programs a folder must hold to be of use: a cluster is made, started and stopped with them.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// The folder of the server binaries: the newest `/usr/lib/postgresql/<N>/bin` holding all of
/// them, else the first folder on `PATH` that does.
pub(crate) fn find() -> Option<PathBuf> {
    newest_versioned(Path::new(DEBIAN_ROOT)).or_else(on_path)
}

/// The `bin` folder of the highest version under `root` (laid out as Debian does) that holds
/// every server program.
pub(crate) fn newest_versioned(root: &Path) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = version_key(entry.file_name().to_str()?)?;
            let bin = entry.path().join("bin");
            holds_server(&bin).then_some((version, bin))
        })
        .max_by(|(left, _), (right, _)| left.cmp(right))
        .map(|(_, bin)| bin)
}

/// A folder name such as `15` or `9.6` as numbers that sort as versions do (`9.6` < `15`);
/// `None` for anything else.
pub(crate) fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// The first folder on `PATH` holding every server program.
fn on_path() -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?).find(|folder| holds_server(folder))
}

/// Whether `folder` holds every server program.
pub(crate) fn holds_server(folder: &Path) -> bool {
    SERVER_PROGRAMS.iter().all(|program| is_executable(&folder.join(program)))
}

/// Whether `path` is a file (or a link to one) that someone may execute.
pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!("kasse-pgtemp-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Puts an executable file for each of `programs` into `root/<version>/bin`.
    fn install(root: &Path, version: &str, programs: &[&str]) {
        let bin = root.join(version).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for program in programs {
            let path = bin.join(program);
            fs::write(&path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn versions_sort_as_numbers_not_as_text() {
        assert!(version_key("15") > version_key("9.6"));
        assert!(version_key("16") > version_key("15"));
        assert!(version_key("9.6") > version_key("9.5"));
        assert_eq!(version_key("15"), Some(vec![15]));
    }

    #[test]
    fn folder_names_that_are_not_versions_are_ignored() {
        assert_eq!(version_key("main"), None);
        assert_eq!(version_key("15beta"), None);
        assert_eq!(version_key(""), None);
    }

    #[test]
    fn the_newest_version_with_every_server_program_is_chosen() {
        let root = scratch("newest");
        install(&root, "13", &["initdb", "pg_ctl", "postgres"]);
        install(&root, "15", &["initdb", "pg_ctl", "postgres", "psql"]);
        // Only the client package of 16: no server, so not a candidate.
        install(&root, "16", &["psql", "pg_ctl"]);
        install(&root, "9.6", &["initdb", "pg_ctl", "postgres"]);
        assert_eq!(newest_versioned(&root), Some(root.join("15").join("bin")));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_program_that_may_not_be_executed_does_not_count() {
        let root = scratch("unexecutable");
        install(&root, "15", &["initdb", "pg_ctl", "postgres"]);
        let postgres = root.join("15").join("bin").join("postgres");
        fs::set_permissions(&postgres, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(newest_versioned(&root), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_root_has_no_binaries() {
        assert_eq!(newest_versioned(Path::new("/nonexistent/kasse-pgtemp")), None);
    }
}

//! Who runs the server binaries: this process's own user, or (when that is root, which initdb
//! and postgres refuse) an unprivileged user reached through `runuser` or `setpriv`.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::binaries;

/// The unprivileged users tried, in order, when this process is root: Debian's `postgresql`
/// package creates the first; nearly every system has the second.
const UNPRIVILEGED_USERS: [&str; 2] = ["postgres", "nobody"];

/// Folders searched for `runuser` and `setpriv` besides `PATH` (root's `PATH` may lack `sbin`).
const SYSTEM_FOLDERS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The user the server binaries run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    /// This process's own (unprivileged) user: programs run directly.
    Own,
    /// Another user, because this process is root.
    Other {
        /// The user's name.
        name: String,
        /// The user's id, to own the cluster's directory.
        uid: u32,
        /// The user's primary group.
        gid: u32,
        /// How a program is started as that user.
        switch: Switch,
    },
}

/// A util-linux program that runs a command as another user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Switch {
    /// `runuser -u NAME -- program ...`
    Runuser(PathBuf),
    /// `setpriv --reuid UID --regid GID --clear-groups -- program ...`
    Setpriv(PathBuf),
}

impl Identity {
    /// Decides who runs the binaries in this process.
    pub(crate) fn current() -> io::Result<Self> {
        if !is_root() {
            return Ok(Self::Own);
        }
        let (name, uid, gid) = UNPRIVILEGED_USERS
            .iter()
            .find_map(|name| Some((*name, user_id(name, "-u")?, user_id(name, "-g")?)))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "running as root, which initdb and postgres refuse, and neither the `postgres` \
                     nor the `nobody` user exists to run them as",
                )
            })?;
        let switch = find_program("runuser")
            .map(Switch::Runuser)
            .or_else(|| find_program("setpriv").map(Switch::Setpriv))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "running as root, which initdb and postgres refuse, and neither `runuser` nor `setpriv` \
                 (util-linux) is installed to run them as another user",
                )
            })?;
        Ok(Self::Other { name: name.to_owned(), uid, gid, switch })
    }

    /// A command that runs `program` as this identity.
    pub(crate) fn command(&self, program: &Path) -> Command {
        match self {
            Self::Own => Command::new(program),
            Self::Other { name, switch: Switch::Runuser(runuser), .. } => {
                let mut command = Command::new(runuser);
                command.args([OsStr::new("-u"), OsStr::new(name), OsStr::new("--"), program.as_os_str()]);
                command
            }
            Self::Other { uid, gid, switch: Switch::Setpriv(setpriv), .. } => {
                let mut command = Command::new(setpriv);
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"])
                    .arg(program);
                command
            }
        }
    }

    /// Whether the cluster's files must be handed to another user.
    pub(crate) fn owner(&self) -> Option<(u32, u32)> {
        match self {
            Self::Own => None,
            Self::Other { uid, gid, .. } => Some((*uid, *gid)),
        }
    }
}

/// Whether this process's effective user is root.
fn is_root() -> bool {
    match fs::read_to_string("/proc/self/status") {
        Ok(status) => effective_uid(&status) == Some(0),
        // Not Linux's /proc: ask `id`.
        Err(_) => user_id_of(None, "-u") == Some(0),
    }
}

/// The effective user id in the text of `/proc/self/status` (the second number of `Uid:`).
pub(crate) fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `id FLAG NAME` as a number: the user's id (`-u`) or primary group (`-g`), if the user exists.
fn user_id(name: &str, flag: &str) -> Option<u32> {
    user_id_of(Some(name), flag)
}

/// `id FLAG [NAME]` as a number.
fn user_id_of(name: Option<&str>, flag: &str) -> Option<u32> {
    let output =
        Command::new("id").arg(flag).args(name).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// `program` on `PATH` or in the usual system folders.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(SYSTEM_FOLDERS.iter().map(PathBuf::from))
        .map(|folder| folder.join(program))
        .find(|candidate| binaries::is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_user_is_the_second_uid() {
        let status = "Name:\tcargo\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Uid:\t0\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(effective_uid("Name:\tcargo\n"), None);
    }

    #[test]
    fn programs_run_directly_as_ones_own_user() {
        let command = Identity::Own.command(Path::new("/usr/lib/postgresql/15/bin/initdb"));
        assert_eq!(command.get_program(), "/usr/lib/postgresql/15/bin/initdb");
        assert_eq!(command.get_args().count(), 0);
    }

    #[test]
    fn programs_run_as_another_user_through_runuser() {
        let identity = Identity::Other {
            name: "postgres".to_owned(),
            uid: 101,
            gid: 104,
            switch: Switch::Runuser(PathBuf::from("/usr/sbin/runuser")),
        };
        let command = identity.command(Path::new("/pg/bin/postgres"));
        assert_eq!(command.get_program(), "/usr/sbin/runuser");
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["-u", "postgres", "--", "/pg/bin/postgres"]);
        assert_eq!(identity.owner(), Some((101, 104)));
    }

    #[test]
    fn programs_run_as_another_user_through_setpriv() {
        let identity = Identity::Other {
            name: "nobody".to_owned(),
            uid: 65534,
            gid: 65534,
            switch: Switch::Setpriv(PathBuf::from("/usr/bin/setpriv")),
        };
        let command = identity.command(Path::new("/pg/bin/pg_ctl"));
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/pg/bin/pg_ctl"]);
    }
}

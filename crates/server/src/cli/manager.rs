//! `kasse-server manager …`: pairing a browser as a manager's back office, and removing a
//! manager.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_server::ops::managers;

use super::output::{NOTHING_DONE, emit, local_minute, write_problems};
use super::{ManagerListArgs, ManagerPairArgs, ManagerRevokeArgs};

/// The configuration, or why not (said on stderr).
fn load(config: &super::ConfigArgs) -> Result<kasse_server::Config, ExitCode> {
    config.load(&[]).map_err(|problems| {
        let _ = write_problems(&config.origin(), &problems, &mut io::stderr().lock());
        ExitCode::from(NOTHING_DONE)
    })
}

/// `kasse-server manager list [--json]`.
pub(super) async fn list(args: &ManagerListArgs) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let listed = match managers::list(&config).await {
        Ok(listed) => listed,
        Err(e) => {
            eprintln!("kasse-server: {e}");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let written = emit(args.output.json, &listed, |out| {
        if listed.is_empty() {
            return writeln!(out, "No manager is added: `kasse-server manager pair NAME` adds one.");
        }
        write_managers(out, &listed)
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

/// The managers as a table: a device count and the newest use of any of them.
fn write_managers(out: &mut dyn Write, listed: &[managers::Listed]) -> io::Result<()> {
    let store = |m: &managers::Listed| m.store.clone().unwrap_or_else(|| "every store".to_owned());
    let name_width = listed.iter().map(|m| m.name.chars().count()).max().unwrap_or(0).max("NAME".len());
    let store_width = listed.iter().map(|m| store(m).chars().count()).max().unwrap_or(0).max("STORE".len());
    writeln!(
        out,
        "{:<name_width$}  {:<store_width$}  {:<7}  {:<7}  LAST SEEN",
        "NAME", "STORE", "PIN", "DEVICES"
    )?;
    for manager in listed {
        let last_seen = manager
            .devices
            .iter()
            .map(|d| d.last_seen_at)
            .max()
            .map_or_else(|| "-".to_owned(), |at| local_minute(&at));
        writeln!(
            out,
            "{:<name_width$}  {:<store_width$}  {:<7}  {:<7}  {last_seen}",
            manager.name,
            store(manager),
            if manager.pin_chosen { "chosen" } else { "not yet" },
            manager.devices.len(),
        )?;
    }
    Ok(())
}

/// `kasse-server manager revoke NAME`.
pub(super) async fn revoke(args: &ManagerRevokeArgs) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match managers::revoke(&config, &args.name).await {
        Ok(()) => {
            let _ = writeln!(
                io::stdout(),
                "Removed {}: their back office is closed at once. `manager pair` adds them again, with a new PIN.",
                args.name.trim()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kasse-server: {e}");
            ExitCode::from(NOTHING_DONE)
        }
    }
}

/// `kasse-server manager pair NAME [--store STORE]`.
pub(super) async fn pair(args: &ManagerPairArgs) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match managers::code(&config, &args.name, args.store.as_deref()).await {
        Ok(code) => {
            let page = config.public_url.as_ref().and_then(|u| u.join("pair").ok());
            // The code alone on stdout, so a script can take it; the explanation goes to stderr.
            let _ = writeln!(io::stdout(), "{code}");
            let of = args.store.as_deref().map_or_else(|| "every store".to_owned(), |s| format!("store {s}"));
            eprintln!(
                "Type this code on {} within ten minutes to open the back office as {} ({of}). \
                 A new manager chooses their PIN there.",
                page.map_or_else(|| "the pairing page (/pair)".to_owned(), |u| u.to_string()),
                args.name.trim(),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kasse-server: {e}");
            ExitCode::from(NOTHING_DONE)
        }
    }
}

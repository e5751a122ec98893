//! `kasse-server till …`: pairing a browser with a till or its customer display, listing the
//! devices paired, and ending their sessions.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_api::Role;
use kasse_server::Config;
use kasse_server::ops::pairing::{self, Device, Devices, PairError};

use super::output::{NOTHING_DONE, emit, local_minute, write_problems};
use super::{ConfigArgs, PairArgs, RevokeArgs, TillListArgs};

/// The configuration, or why not (said on stderr).
fn load(config: &ConfigArgs) -> Result<Config, ExitCode> {
    config.load(&[]).map_err(|problems| {
        let _ = write_problems(&config.origin(), &problems, &mut io::stderr().lock());
        ExitCode::from(NOTHING_DONE)
    })
}

/// `kasse-server till pair TILL [--display]`.
pub(super) async fn pair(args: &PairArgs) -> ExitCode {
    // `till pair` has always answered a bad configuration with 1.
    let Ok(config) = load(&args.config) else { return ExitCode::FAILURE };
    let role = if args.display { Role::Display } else { Role::Till };
    match pairing::code(&config, &args.till, role).await {
        Ok(code) => {
            let page = config.public_url.as_ref().and_then(|u| u.join("pair").ok());
            // The code alone on stdout, so a script can take it; the explanation goes to stderr.
            let _ = writeln!(io::stdout(), "{code}");
            let what = if args.display {
                format!("the customer display of {}", args.till)
            } else {
                args.till.clone()
            };
            eprintln!(
                "Type this code on {} within ten minutes to pair a browser as {what}.",
                page.map_or_else(|| "the pairing page (/pair)".to_owned(), |u| u.to_string()),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kasse-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `kasse-server till list [--json]`.
pub(super) async fn list(args: &TillListArgs) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let devices = match Devices::open(&config).await {
        Ok(devices) => devices.list().await,
        Err(e) => Err(e),
    };
    let devices = match devices {
        Ok(devices) => devices,
        Err(e) => return failed(&e),
    };
    let written = emit(args.output.json, &devices, |out| {
        if devices.is_empty() {
            return writeln!(out, "No device is paired.");
        }
        write_devices(out, &devices)
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

/// `kasse-server till revoke DEVICE` or `kasse-server till revoke --all TILL`.
pub(super) async fn revoke(args: &RevokeArgs) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let devices = match Devices::open(&config).await {
        Ok(devices) => devices,
        Err(e) => return failed(&e),
    };
    let revoked = match (&args.all, &args.device) {
        (Some(till), _) => devices.revoke_till(till).await,
        (None, Some(device)) => devices.revoke(device).await,
        // clap requires one of the two.
        (None, None) => Ok(Vec::new()),
    };
    let revoked = match revoked {
        Ok(revoked) => revoked,
        Err(e) => return failed(&e),
    };
    let written = emit(args.output.json, &revoked, |out| {
        if revoked.is_empty()
            && let (None, Some(device)) = (&args.all, &args.device)
        {
            // A device id that ended a session, yet no till's or display's: a manager's.
            return writeln!(
                out,
                "Revoked {device} at once: a manager's back office, sent back to pairing \
                 (`kasse-server manager list` shows the manager's other devices)."
            );
        }
        if revoked.is_empty() {
            return writeln!(
                out,
                "No device was paired with {}: nothing to revoke.",
                args.all.as_deref().unwrap_or("it")
            );
        }
        writeln!(out, "Revoked at once, open screens included (they are sent back to pairing):")?;
        write_devices(out, &revoked)
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

/// Says why on stderr: exit status 2, nothing was done.
fn failed(e: &PairError) -> ExitCode {
    eprintln!("kasse-server: {e}");
    ExitCode::from(NOTHING_DONE)
}

/// A table of devices, times in the machine's time zone.
fn write_devices(out: &mut dyn Write, devices: &[Device]) -> io::Result<()> {
    let width = devices.iter().map(|d| d.till.chars().count()).max().unwrap_or(0).max("TILL".len());
    writeln!(out, "{:<12}  {:<width$}  {:<7}  {:<16}  LAST SEEN", "DEVICE", "TILL", "AS", "PAIRED")?;
    for device in devices {
        let role = match device.role {
            Role::Till => "till",
            Role::Display => "display",
        };
        writeln!(
            out,
            "{:<12}  {:<width$}  {:<7}  {:<16}  {}",
            device.id,
            device.till,
            role,
            local_minute(&device.paired_at),
            local_minute(&device.last_seen_at)
        )?;
    }
    Ok(())
}

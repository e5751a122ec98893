//! `kasse-server integrator …`: adding, listing and revoking the PoS systems that use the
//! terminal API.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_server::Config;
use kasse_server::ops::integrators::{Integrator, IntegratorError, Integrators};

use super::output::{NOTHING_DONE, emit, write_problems};
use super::{ConfigArgs, IntegratorAddArgs, IntegratorRevokeArgs, TillListArgs};

/// The configuration and its integrators, or the exit status that says why not (on stderr).
async fn open(config: &ConfigArgs) -> Result<(Config, Integrators), ExitCode> {
    let loaded = config.load(&[]).map_err(|problems| {
        let _ = write_problems(&config.origin(), &problems, &mut io::stderr().lock());
        ExitCode::from(NOTHING_DONE)
    })?;
    let integrators = Integrators::open(&loaded).await.map_err(|e| failed(&e))?;
    Ok((loaded, integrators))
}

/// Says why on stderr: exit status 2, nothing was done.
fn failed(e: &IntegratorError) -> ExitCode {
    eprintln!("kasse-server: {e}");
    ExitCode::from(NOTHING_DONE)
}

/// `kasse-server integrator add NAME --stores A,B [--callback-url URL]`.
pub(super) async fn add(args: &IntegratorAddArgs) -> ExitCode {
    let (config, integrators) = match open(&args.config).await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let added = match integrators.add(&args.name, &args.stores, args.callback_url.as_deref()).await {
        Ok(added) => added,
        Err(e) => return failed(&e),
    };
    let api = config.public_url.as_ref().and_then(|u| u.join("terminal/v1/").ok());
    let written = emit(args.output.json, &added, |out| {
        writeln!(
            out,
            "Added {} ({}), for stores {}.",
            added.integrator.name,
            added.integrator.id,
            added.integrator.stores.join(", ")
        )?;
        writeln!(out, "API key (shown only now; kasse keeps a hash of it):")?;
        writeln!(out, "  {}", added.api_key)?;
        writeln!(out, "Callback secret (signs the callbacks; keep it with the key):")?;
        writeln!(out, "  {}", added.callback_secret)?;
        match &added.integrator.callback_url {
            Some(url) => writeln!(out, "Callbacks go to {url}.")?,
            None => writeln!(out, "No callback URL: the PoS follows its payments with GET …?wait=30.")?,
        }
        if let Some(api) = api {
            writeln!(out, "The API: {api} (its OpenAPI document: {api}openapi.json)")?;
        }
        Ok(())
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

/// `kasse-server integrator list [--json]`.
pub(super) async fn list(args: &TillListArgs) -> ExitCode {
    let (_, integrators) = match open(&args.config).await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let listed = match integrators.list().await {
        Ok(listed) => listed,
        Err(e) => return failed(&e),
    };
    let written = emit(args.output.json, &listed, |out| {
        if listed.is_empty() {
            return writeln!(out, "No PoS system is added.");
        }
        write_table(out, &listed)
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

/// `kasse-server integrator revoke NAME`.
pub(super) async fn revoke(args: &IntegratorRevokeArgs) -> ExitCode {
    let (_, integrators) = match open(&args.config).await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let revoked = match integrators.revoke(&args.name).await {
        Ok(revoked) => revoked,
        Err(e) => return failed(&e),
    };
    let written = emit(args.output.json, &revoked, |out| {
        writeln!(out, "Revoked: the key of {} is refused from its next request on.", revoked.name)
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

/// A table of integrators, times in the machine's time zone.
fn write_table(out: &mut dyn Write, integrators: &[Integrator]) -> io::Result<()> {
    let local = |at: &chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()
    };
    let width = integrators.iter().map(|i| i.name.chars().count()).max().unwrap_or(0).max("NAME".len());
    writeln!(out, "{:<width$}  {:<16}  {:<16}  {:<16}  STORES", "NAME", "ADDED", "LAST USED", "REVOKED")?;
    for i in integrators {
        writeln!(
            out,
            "{:<width$}  {:<16}  {:<16}  {:<16}  {}",
            i.name,
            local(&i.added_at),
            i.last_used_at.as_ref().map_or_else(|| "never".to_owned(), local),
            i.revoked_at.as_ref().map_or_else(|| "-".to_owned(), local),
            i.stores.join(","),
        )?;
    }
    Ok(())
}

//! `kasse-server manager …`: pairing a browser as a manager's back office.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_server::ops::pairing;

use super::ManagerPairArgs;
use super::output::{NOTHING_DONE, write_problems};

/// `kasse-server manager pair NAME [--store STORE]`.
pub(super) async fn pair(args: &ManagerPairArgs) -> ExitCode {
    let config = match args.config.load(&[]) {
        Ok(config) => config,
        Err(problems) => {
            let _ = write_problems(&args.config.origin(), &problems, &mut io::stderr().lock());
            return ExitCode::from(NOTHING_DONE);
        }
    };
    match pairing::manager_code(&config, &args.name, args.store.as_deref()).await {
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

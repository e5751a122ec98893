//! `kasse-server till …`: pairing a browser with a till or its customer display.

use std::io::{self, Write};
use std::process::ExitCode;

use kasse_api::Role;
use kasse_server::ops::pairing;

use super::PairArgs;
use super::output::write_problems;

/// `kasse-server till pair TILL [--display]`.
pub(super) async fn pair(args: &PairArgs) -> ExitCode {
    let config = match args.config.load(&[]) {
        Ok(config) => config,
        Err(problems) => {
            let _ = write_problems(&args.config.origin(), &problems, &mut io::stderr().lock());
            return ExitCode::FAILURE;
        }
    };
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

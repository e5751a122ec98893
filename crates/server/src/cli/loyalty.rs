//! `kasse-server loyalty forget NAME`: a member's name forgotten on the sales that show it.

use std::io;
use std::process::ExitCode;

use kasse_server::ops::loyalty;

use super::LoyaltyForgetArgs;
use super::output::{NOTHING_DONE, emit, write_problems};

/// `kasse-server loyalty forget NAME [--json]`.
pub(super) async fn forget(args: &LoyaltyForgetArgs) -> ExitCode {
    let config = match args.config.load(&[]) {
        Ok(config) => config,
        Err(problems) => {
            let _ = write_problems(&args.config.origin(), &problems, &mut io::stderr().lock());
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let forgotten = match loyalty::forget(&config, &args.name).await {
        Ok(forgotten) => forgotten,
        Err(e) => {
            eprintln!("kasse-server: {e}");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let written = emit(args.output.json, &forgotten, |out| {
        let sales = if forgotten.payments == 1 { "sale" } else { "sales" };
        writeln!(
            out,
            "{}: forgotten on {} {sales} and {} stored till events; the sales still say their customer was a member",
            args.name, forgotten.payments, forgotten.till_events
        )
    });
    written.err().unwrap_or(ExitCode::SUCCESS)
}

//! `kasse-server sticker off|on ID`: switching an open-amount sticker off and on.

use std::io::{self, Write as _};
use std::process::ExitCode;

use kasse_server::ops::sticker_switch;

use super::StickerSwitchArgs;
use super::output::{NOTHING_DONE, write_problems};

/// `kasse-server sticker off ID` (`on` false) or `sticker on ID`.
pub(super) async fn switch(args: &StickerSwitchArgs, on: bool) -> ExitCode {
    let config = match args.config.load(&[]) {
        Ok(config) => config,
        Err(problems) => {
            let _ = write_problems(&args.config.origin(), &problems, &mut io::stderr().lock());
            return ExitCode::from(NOTHING_DONE);
        }
    };
    let switched = sticker_switch::switch(&config, &args.id, on).await;
    let state = if on { "on" } else { "off" };
    let said = match switched {
        Ok(true) => writeln!(io::stdout().lock(), "{}: switched {state}.", args.id),
        Ok(false) => writeln!(io::stdout().lock(), "{}: already {state}; nothing changed.", args.id),
        Err(e) => {
            eprintln!("kasse-server: {e}");
            return ExitCode::from(NOTHING_DONE);
        }
    };
    // Switched, even if stdout is gone and nobody hears it.
    drop(said);
    ExitCode::SUCCESS
}

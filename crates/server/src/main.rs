//! `kasse-server`: serve the till, the customer display and the sticker pages, on the built-in
//! simulator or a real Vipps MobilePay platform; check a configuration before serving it; and the
//! operator's tools for moving from MobilePay PoS: `qr migrate`, `qr callback …`, `qr redirect …`,
//! `qr stickers` and `webhooks sync`. The command line lives in `cli/`; this file only runs it.

mod cli;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run().await
}

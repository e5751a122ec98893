//! `kasse-server`: serve the till, the customer display and the sticker pages, on the built-in
//! simulator or a real Vipps MobilePay platform; check a configuration before serving it; and the
//! operator's tools for moving from MobilePay PoS: `qr migrate`, `qr callback …`, `qr redirect …`,
//! `qr stickers` and `webhooks sync`. The command line lives in `cli/`; this file only runs it.

mod cli;

use std::process::ExitCode;

/// mimalloc, not the C library's allocator. The server's tasks move between Tokio's worker
/// threads, so memory allocated on one thread is often freed on another; glibc's allocator then
/// takes the other thread's arena lock, and under load the workers sleep on those locks (measured
/// at 64 tills on 2 cores: 620-680 sales a second with glibc's allocator, 880-1070 with this one,
/// the webhooks keeping up in both; `cargo bench -p kasse-server --bench throughput`). Version 2
/// of mimalloc: 87 MB for 10 000 live streams where version 3 took 91 (glibc's: 69).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run().await
}

//! Black-box tests of the kasse server, zero2prod style: every test starts a real server with its
//! built-in platform simulator, each on port 0 with its own database and a throwaway `dist`
//! folder, and talks to it over HTTP the way a till's browser and the platform do. The
//! simulated customer answers by posting the form of the simulator's phone page to the sale's QR
//! target. Nothing here sleeps: a test waits by reading the till's live event stream until the
//! event it expects arrives, with a generous timeout only as a guard against hanging forever.
//!
//! The database is in-memory SQLite, or with `KASSE_TEST_DATABASE=postgres` a fresh PostgreSQL
//! database in the server `KASSE_TEST_POSTGRES` names (`helpers/database.rs`): the same tests on
//! both. `instances.rs` runs two servers on one PostgreSQL database, and needs that server.
//!
//! This is the root of the `api` test binary (`cargo test -p kasse-server --test api`). The shared
//! harness is in `helpers.rs` (with `helpers/`: the live event stream, the customer's phone, the
//! crash tests' child-process servers, and the test databases); every other module is one area of
//! tests, each saying in its own docs what it covers, and each using the harness through
//! `use crate::helpers::*;`.

// Helpers are not `#[test]` functions, so clippy.toml's allowance for tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failing test panics with what went wrong")]

mod helpers;

mod access;
mod admin;
mod admin_sales;
mod admin_stickers;
mod cli;
mod crash;
mod database_restart;
mod doctor;
mod earlier_day;
mod flows;
mod health;
mod instances;
mod landing;
mod late_create;
mod loyalty;
mod migration;
mod money;
mod operations;
mod polling;
mod pos_v10;
mod proxy;
mod qr_flow;
mod sessions;
mod stickers;
mod stores_import;
mod subscriptions;
mod terminal;
mod webhooks;
mod wire;

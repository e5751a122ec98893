//! The Vipps MobilePay platform, as kasse speaks to it.
//!
//! Three things live here and nothing else: the platform's wire types, written by hand from the
//! official OpenAPI files (`epayment`, `webhooks`, `token`, `problem`, `qr`, `management`,
//! `userinfo`, `check_in`); the webhook request signature of the Webhooks API (`signing`), used by
//! the server to verify and by the simulator to sign; and a typed `client` that adds every required
//! header, caches the access token, and retries safely with the caller's idempotency key. No web
//! framework, no database.

pub mod check_in;
pub mod client;
pub mod epayment;
pub mod headers;
pub mod management;
pub mod problem;
pub mod qr;
mod retry;
pub mod secret;
pub mod signing;
pub mod token;
mod token_cache;
pub mod userinfo;
pub mod webhooks;

pub use client::{Client, ClientConfig, Credentials, Error, RetryPolicy, SystemInfo};
pub use epayment::{Amount, Currency};
pub use problem::Problem;
pub use secret::Secret;

//! The web app's logic, free of the DOM: plain Rust types with native unit tests. Components only
//! wire signals to these.

pub mod keypad;
pub mod money;
pub mod qr;
pub mod till;

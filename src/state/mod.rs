//! The web app's logic, free of the DOM: plain Rust types with native unit tests. Components only
//! wire signals to these.

pub mod admin;
pub mod camera;
pub mod display;
pub mod history;
pub mod keypad;
pub mod landing;
pub mod locale;
pub mod money;
pub mod pin;
pub mod qr;
pub mod sale_detail;
pub mod scanner;
pub mod stream;
pub mod till;

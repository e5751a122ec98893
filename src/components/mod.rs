//! Small building blocks shared by pages.

pub mod camera;
pub mod connection;
pub mod keypad;
pub mod locale;
pub mod qr;

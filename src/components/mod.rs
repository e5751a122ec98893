//! Small building blocks shared by pages.

pub mod connection;
pub mod keypad;
pub mod qr;

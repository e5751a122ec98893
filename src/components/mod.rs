//! Small building blocks shared by pages.

pub mod camera;
pub mod clock;
pub mod connection;
pub mod day_choice;
pub mod keypad;
pub mod leave;
pub mod locale;
pub mod pin;
pub mod qr;
pub mod sales_filters;

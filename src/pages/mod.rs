//! The app's pages, one per route.

pub mod admin;
pub mod display;
pub mod history;
pub mod not_found;
pub mod pair;
pub mod sale;
pub mod sticker;
pub mod till;

//! The app's pages, one per route.

pub mod not_found;
pub mod pair;
pub mod sticker;
pub mod till;

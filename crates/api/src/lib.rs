//! The contract between the kasse web app and the kasse server.
//!
//! Everything the browser and the server say to each other is typed here: money, tills, sales, the
//! live events pushed over server-sent events, and the `problem+json` error body. The crate depends
//! on serde only, so it compiles unchanged to WebAssembly and to the server.

mod event;
mod money;
mod operations;
mod phone;
mod problem;
mod sale;

pub use event::TillEvent;
pub use money::{Currency, MAX_PAYMENT_MINOR, Money, MoneyError};
pub use operations::{CaptureRequest, CheckIn, History, HistoryQuery, RefundRequest, SaleEvent, Total};
pub use phone::{Country, Msisdn, PhoneError};
pub use problem::Problem;
pub use sale::{Flow, NewSale, PairRequest, Payer, Role, Sale, SaleStatus, Session, Till, TillSnapshot};

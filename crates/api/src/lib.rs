//! The contract between the kasse web app and the kasse server.
//!
//! Everything the browser and the server say to each other is typed here: money, phone numbers,
//! tills, sales and what can be done with them, the manager's back office, the sticker landing page, the live events pushed
//! over server-sent events, and the `problem+json` error body. The crate depends
//! on serde only, so it compiles unchanged to WebAssembly and to the server.

mod admin;
mod end_of_day;
mod event;
mod health;
mod landing;
mod money;
mod operations;
mod phone;
mod problem;
mod sale;
mod stickers;

pub use admin::{
    AdminRefundRequest, AdminSale, AdminSalesQuery, Device, DeviceKind, Manager, ManagerSession,
    NewPairingCode, OpenSticker, Paired, PairingCode, PairingFor, PinConfirmation, StoreSummary,
    pin_is_well_formed,
};
pub use end_of_day::{
    DayFigures, DayMoney, EndOfDay, EndOfDayQuery, FlowTotal, StickerDay, StoreDay, TillDay,
};
pub use event::TillEvent;
pub use health::{AdminHealth, ReconcilerRound, UnitHealth};
pub use landing::{
    LandingEvent, LandingPayment, NewLandingPayment, OpenAmount, Presented, StickerInfo,
    sticker_in_landing_path,
};
pub use money::{Currency, MAX_PAYMENT_MINOR, Money, MoneyError};
pub use operations::{
    CaptureRequest, CheckIn, History, HistoryQuery, RefundRequest, SaleEvent, SaleEventName, Total,
};
pub use phone::{Country, Msisdn, PhoneError};
pub use problem::{Problem, ProblemCode};
pub use sale::{
    Flow, Identified, Loyalty, NewSale, PairRequest, Payer, Role, Sale, SaleLine, SaleStatus, Session, Till,
    TillSnapshot,
};
pub use stickers::{
    AdminStickers, MissingSticker, NewCallbackSticker, StickerKind, StickerSheetQuery, StickerSummary,
};

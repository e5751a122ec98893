//! The back office's Stickers section (`/api/admin/stickers…`): the stickers of the manager's
//! tills and stores as the platform has them, putting up a new callback sticker for a till, and
//! the address of a print-ready sheet of them.

use serde::{Deserialize, Serialize};

/// What a sticker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StickerKind {
    /// A merchant callback QR: a scan in the app checks the customer in at a till.
    Callback,
    /// A printed MobilePay PoS beacon, migrated to a callback QR of a till.
    Beacon,
    /// A Merchant Redirect QR: any camera opens the landing page.
    Redirect,
}

impl StickerKind {
    /// The kind as the wire spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Callback => "callback",
            Self::Beacon => "beacon",
            Self::Redirect => "redirect",
        }
    }
}

/// A sticker the platform has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickerSummary {
    /// What it is.
    pub kind: StickerKind,
    /// Its id at the platform.
    pub id: String,
    /// The store's name.
    pub store: String,
    /// The id of the till it belongs to; `None` for an open-amount sticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// The till's name, or what an open-amount sticker is for.
    pub title: String,
    /// Where a scan leads: a landing page's address, or the till's name.
    pub target: String,
}

/// A sticker that is not at the platform (or cannot be read from it), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingSticker {
    /// What it is.
    pub kind: StickerKind,
    /// Its id.
    pub id: String,
    /// Its till.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// Why, in the server's words.
    pub why: String,
}

/// `GET /api/admin/stickers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminStickers {
    /// Till by till, then the open-amount stickers.
    pub stickers: Vec<StickerSummary>,
    /// Those the platform does not have.
    pub missing: Vec<MissingSticker>,
}

/// `POST /api/admin/stickers`: put up a callback sticker for a till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCallbackSticker {
    /// The till's id.
    pub till: String,
    /// Its id at the platform; by default the till's `callback_qr`, else the till's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `GET /api/admin/stickers/sheet`: which stickers a print-ready sheet holds, and its language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickerSheetQuery {
    /// Only this till's stickers (every sticker of the manager's stores when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// Only this sticker (a migrated beacon reprinted, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker: Option<String>,
    /// `en`, `nb`, `da` or `fi`; the store's own by default (from its currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

//! The back office's health page (`GET /api/admin/health`): whether each of the manager's sales
//! units reaches the platform and has its webhooks registered, and whether the server keeps up
//! (writes waiting for the platform, webhooks waiting to be processed, the reconciler's last
//! round).

use serde::{Deserialize, Serialize};

/// `GET /api/admin/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminHealth {
    /// Each sales unit of the manager's stores.
    pub units: Vec<UnitHealth>,
    /// Platform writes recorded and not yet confirmed, of every store: sent again until the
    /// platform answers.
    pub pending_writes: i64,
    /// Webhook deliveries stored and not yet processed, of every store.
    pub unprocessed_webhooks: i64,
    /// Sales that have not reached an outcome, of every store.
    pub sales_in_progress: i64,
    /// The last round of the reconciler of the server that answered; `None` before its first.
    pub reconciler: Option<ReconcilerRound>,
    /// When this was read (ms since the epoch).
    pub checked_at_ms: i64,
}

impl AdminHealth {
    /// Whether everything is in order: every unit reaches the platform and has its webhooks.
    pub fn in_order(&self) -> bool {
        self.units.iter().all(UnitHealth::in_order)
    }
}

/// One sales unit, as the server last learnt it (the platform is not asked for this page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitHealth {
    /// The store's name.
    pub store: String,
    /// The merchant serial number.
    pub msn: String,
    /// Whether the last call to the platform got through (an access token is one).
    pub reachable: bool,
    /// When that was learnt (ms since the epoch); `None` before any call.
    pub checked_at_ms: Option<i64>,
    /// Why the last call that did not get through failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the server's webhooks are registered for it.
    pub webhooks_registered: bool,
    /// Registration attempts so far.
    pub webhook_attempts: u32,
    /// Why the last registration attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_error: Option<String>,
}

impl UnitHealth {
    /// Reaches the platform and has its webhooks.
    pub const fn in_order(&self) -> bool {
        self.reachable && self.webhooks_registered
    }
}

/// A round of the reconciler: writes sent again, open payments polled, webhooks picked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcilerRound {
    /// When it ended (ms since the epoch).
    pub at_ms: i64,
    /// Whether every part of it worked (the server's log says what did not).
    pub ok: bool,
}

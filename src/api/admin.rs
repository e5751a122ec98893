//! The back office's calls to the server (`/api/admin/…`), on the same client as the till's
//! (see the parent module): a session that ended sends the browser to pairing from here too.

use gloo_net::http::{Request, RequestBuilder};
use kasse_api::{
    AdminHealth, AdminRefundRequest, AdminSale, AdminSalesQuery, AdminStickers, CaptureRequest, Device,
    EndOfDay, EndOfDayQuery, History, ManagerSession, Money, NewCallbackSticker, NewPairingCode, PairingCode,
    PairingFor, PinConfirmation, Sale, SaleEvent,
};

use super::{action_key, receive, with_json};
use crate::state::till::Failure;

/// Who this browser is paired as (401 when not a manager's; 403 for a till's).
pub async fn session() -> Result<ManagerSession, Failure> {
    receive(Request::get("/api/admin/session").build()).await
}

/// The devices paired with the manager's stores.
pub async fn devices() -> Result<Vec<Device>, Failure> {
    receive(Request::get("/api/admin/devices").build()).await
}

/// A one-time code for a new device, confirmed by the manager's PIN.
pub async fn pairing_code(pairing_for: PairingFor, pin: String) -> Result<PairingCode, Failure> {
    let request = NewPairingCode { pairing_for, pin };
    receive(with_json(Request::post("/api/admin/pairing-codes"), &request)).await
}

/// Ends a device's session at once, confirmed by the manager's PIN.
pub async fn revoke(device: &str, pin: String) -> Result<Vec<Device>, Failure> {
    let path = format!("/api/admin/devices/{device}/revoke");
    receive(with_json(Request::post(&path), &PinConfirmation { pin })).await
}

/// The sales `query` finds, of one till or open-amount sticker or of all the manager's.
pub async fn sales(query: &AdminSalesQuery) -> Result<History, Failure> {
    let AdminSalesQuery { till, sticker, since_ms, until_ms, status, flow, search } = query.clone();
    let mut params =
        super::sales_params(&kasse_api::HistoryQuery { since_ms, until_ms, status, flow, search });
    if let Some(till) = till {
        params.push(("till", till));
    }
    if let Some(sticker) = sticker {
        params.push(("sticker", sticker));
    }
    let request = Request::get("/api/admin/sales").query(params.iter().map(|(k, v)| (*k, v.as_str())));
    receive(request.build()).await
}

/// One sale, its till, and the store's rule for refunds.
pub async fn sale(reference: &str) -> Result<AdminSale, Failure> {
    receive(Request::get(&format!("/api/admin/sales/{reference}")).build()).await
}

/// A sale's event log at the platform.
pub async fn sale_log(reference: &str) -> Result<Vec<SaleEvent>, Failure> {
    receive(Request::get(&format!("/api/admin/sales/{reference}/log")).build()).await
}

/// A manager's action on a sale, named by a fresh key (as a cashier's is).
fn sale_action(reference: &str, action: &str) -> RequestBuilder {
    Request::post(&format!("/api/admin/sales/{reference}/{action}")).header("Idempotency-Key", &action_key())
}

/// Captures `amount` of an approved sale, or all that is reserved.
pub async fn capture(reference: &str, amount: Option<Money>) -> Result<Sale, Failure> {
    receive(with_json(sale_action(reference, "capture"), &CaptureRequest { amount })).await
}

/// Releases what a sale reserved and did not take.
pub async fn cancel(reference: &str) -> Result<Sale, Failure> {
    receive(sale_action(reference, "cancel").build()).await
}

/// Refunds `amount` of what a sale took, with the PIN where the store asks for it.
pub async fn refund(reference: &str, amount: Money, pin: Option<String>) -> Result<Sale, Failure> {
    receive(with_json(sale_action(reference, "refund"), &AdminRefundRequest { amount, pin })).await
}

/// Asks the platform now what a sale's state is.
pub async fn reconcile(reference: &str) -> Result<Sale, Failure> {
    receive(Request::post(&format!("/api/admin/sales/{reference}/reconcile")).build()).await
}

/// How the manager's stores stand with the platform, and what waits.
pub async fn health() -> Result<AdminHealth, Failure> {
    receive(Request::get("/api/admin/health").build()).await
}

/// Every sticker of the manager's tills and stores, as the platform has them.
pub async fn stickers() -> Result<AdminStickers, Failure> {
    receive(Request::get("/api/admin/stickers").build()).await
}

/// Puts up a callback sticker for a till; every sticker after.
pub async fn put_up_sticker(request: &NewCallbackSticker) -> Result<AdminStickers, Failure> {
    receive(with_json(Request::post("/api/admin/stickers"), request)).await
}

/// The day's figures per store and till.
pub async fn end_of_day(query: &EndOfDayQuery) -> Result<EndOfDay, Failure> {
    receive(Request::get("/api/admin/end-of-day").query([("day", query.day.as_str())]).build()).await
}

/// The address of the day's sales as CSV, for a download link (a `YYYY-MM-DD` day: nothing to
/// escape).
pub fn end_of_day_csv_url(query: &EndOfDayQuery) -> String {
    format!("/api/admin/end-of-day.csv?day={}", query.day)
}

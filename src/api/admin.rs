//! The back office's calls to the server (`/api/admin/…`), on the same client as the till's
//! (see the parent module): a session that ended sends the browser to pairing from here too.

use gloo_net::http::Request;
use kasse_api::{
    AdminSalesQuery, Device, EndOfDay, EndOfDayQuery, History, ManagerSession, NewPairingCode, PairingCode,
    PairingFor, PinConfirmation,
};

use super::{receive, with_json};
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

/// The sales `query` finds, of one till or of all the manager's.
pub async fn sales(query: &AdminSalesQuery) -> Result<History, Failure> {
    let AdminSalesQuery { till, since_ms, until_ms, status, flow, search } = query.clone();
    let mut params =
        super::sales_params(&kasse_api::HistoryQuery { since_ms, until_ms, status, flow, search });
    if let Some(till) = till {
        params.push(("till", till));
    }
    let request = Request::get("/api/admin/sales").query(params.iter().map(|(k, v)| (*k, v.as_str())));
    receive(request.build()).await
}

/// The day's figures per store and till.
pub async fn end_of_day(query: &EndOfDayQuery) -> Result<EndOfDay, Failure> {
    let request =
        Request::get("/api/admin/end-of-day").query(day_params(query).iter().map(|(k, v)| (*k, v.as_str())));
    receive(request.build()).await
}

/// The address of the day's sales as CSV, for a download link.
pub fn end_of_day_csv_url(query: &EndOfDayQuery) -> String {
    let params: Vec<String> = day_params(query).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("/api/admin/end-of-day.csv?{}", params.join("&"))
}

/// A day's bounds as query parameters (numbers and a `YYYY-MM-DD` day: nothing to escape).
fn day_params(query: &EndOfDayQuery) -> Vec<(&'static str, String)> {
    let EndOfDayQuery { since_ms, until_ms, day } = query;
    let mut params = vec![("sinceMs", since_ms.to_string()), ("untilMs", until_ms.to_string())];
    if let Some(day) = day {
        params.push(("day", day.clone()));
    }
    params
}

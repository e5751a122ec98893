//! The one place the web app talks to the server: JSON over HTTP, and the till's live events over
//! server-sent events. Everything else in the app calls these functions.

use gloo_net::http::{Request, Response};
use kasse_api::{
    CaptureRequest, History, HistoryQuery, Money, NewSale, PairRequest, Presented, Problem, RefundRequest,
    Sale, SaleEvent, Session, TillEvent, TillSnapshot,
};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

use crate::state::till::{Connection, Failure};

/// The browser's session: which till it is (a 401 problem when it is not paired).
pub async fn session() -> Result<Session, Failure> {
    receive(Request::get("/api/session").send().await).await
}

/// Pairs this browser with a till using a one-time code; the server sets the session cookie.
pub async fn pair(code: &str) -> Result<Session, Failure> {
    let request = Request::post("/api/pair")
        .json(&PairRequest { code: code.to_owned() })
        .map_err(|_| Failure::NoAnswer)?;
    receive(request.send().await).await
}

/// A fresh key naming one action of the cashier's, so that the server does it once however often
/// the request arrives.
fn action_key() -> String {
    let mut bytes = [0u8; 16];
    // getRandomValues works on plain-http LAN addresses too, unlike randomUUID.
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // No crypto (very old browser): the time still makes a key unique per action.
        bytes[..8].copy_from_slice(&js_sys::Date::now().to_bits().to_be_bytes());
    }
    bytes.iter().fold(String::with_capacity(32), |mut key, b| {
        key.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        key.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        key
    })
}

/// The till and its current sale.
pub async fn till_snapshot(till_id: &str) -> Result<TillSnapshot, Failure> {
    receive(Request::get(&format!("/api/tills/{till_id}")).send().await).await
}

/// Starts a sale at the till.
pub async fn start_sale(till_id: &str, sale: &NewSale) -> Result<Sale, Failure> {
    let request = Request::post(&format!("/api/tills/{till_id}/sales"))
        .header("Idempotency-Key", &action_key())
        .json(sale)
        .map_err(|_| Failure::NoAnswer)?;
    receive(request.send().await).await
}

/// Cancels a sale: before approval the request, after it whatever is not captured.
pub async fn cancel_sale(till_id: &str, reference: &str) -> Result<Sale, Failure> {
    let request = Request::post(&format!("/api/tills/{till_id}/sales/{reference}/cancel"))
        .header("Idempotency-Key", &action_key());
    receive(request.send().await).await
}

/// Captures `amount` of an approved sale, or all that is reserved.
pub async fn capture(till_id: &str, reference: &str, amount: Option<Money>) -> Result<Sale, Failure> {
    let request = Request::post(&format!("/api/tills/{till_id}/sales/{reference}/capture"))
        .header("Idempotency-Key", &action_key())
        .json(&CaptureRequest { amount })
        .map_err(|_| Failure::NoAnswer)?;
    receive(request.send().await).await
}

/// Refunds `amount` of what a sale took.
pub async fn refund(till_id: &str, reference: &str, amount: Money) -> Result<Sale, Failure> {
    let request = Request::post(&format!("/api/tills/{till_id}/sales/{reference}/refund"))
        .header("Idempotency-Key", &action_key())
        .json(&RefundRequest { amount })
        .map_err(|_| Failure::NoAnswer)?;
    receive(request.send().await).await
}

/// Asks the platform now what a sale's state is ("check again").
pub async fn reconcile(till_id: &str, reference: &str) -> Result<Sale, Failure> {
    receive(Request::post(&format!("/api/tills/{till_id}/sales/{reference}/reconcile")).send().await).await
}

/// A sale.
pub async fn sale(till_id: &str, reference: &str) -> Result<Sale, Failure> {
    receive(Request::get(&format!("/api/tills/{till_id}/sales/{reference}")).send().await).await
}

/// A sale's event log at the platform.
pub async fn sale_log(till_id: &str, reference: &str) -> Result<Vec<SaleEvent>, Failure> {
    receive(Request::get(&format!("/api/tills/{till_id}/sales/{reference}/log")).send().await).await
}

/// The till's sales matching `query`, with totals.
pub async fn history(till_id: &str, query: &HistoryQuery) -> Result<History, Failure> {
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(since) = query.since_ms {
        params.push(("sinceMs", since.to_string()));
    }
    if let Some(until) = query.until_ms {
        params.push(("untilMs", until.to_string()));
    }
    if let Some(status) = query.status {
        params.push(("status", status.as_str().to_owned()));
    }
    if let Some(flow) = query.flow {
        params.push(("flow", flow.as_str().to_owned()));
    }
    let request = Request::get(&format!("/api/tills/{till_id}/sales"))
        .query(params.iter().map(|(k, v)| (*k, v.as_str())));
    receive(request.send().await).await
}

/// Presents an amount to the till's sticker.
pub async fn present(till_id: &str, presented: &Presented) -> Result<Presented, Failure> {
    let request = Request::put(&format!("/api/tills/{till_id}/presented"))
        .json(presented)
        .map_err(|_| Failure::NoAnswer)?;
    receive(request.send().await).await
}

/// Takes back what the till presents to its sticker.
pub async fn withdraw(till_id: &str) -> Result<(), Failure> {
    let response = Request::delete(&format!("/api/tills/{till_id}/presented"))
        .send()
        .await
        .map_err(|_| Failure::NoAnswer)?;
    if response.ok() {
        return Ok(());
    }
    Err(response.json::<Problem>().await.map_or(Failure::NoAnswer, Failure::Refused))
}

/// Reads an answer: the value on success, the problem on a refusal, and `NoAnswer` when the
/// network failed or the answer cannot be read (then nobody knows what happened).
async fn receive<T: DeserializeOwned>(sent: Result<Response, gloo_net::Error>) -> Result<T, Failure> {
    let response = sent.map_err(|_| Failure::NoAnswer)?;
    if response.ok() {
        return response.json().await.map_err(|_| Failure::NoAnswer);
    }
    match response.json::<Problem>().await {
        Ok(problem) => Err(Failure::Refused(problem)),
        // A proxy's error page, a 502 with no body: the request may or may not have arrived.
        Err(_) => Err(Failure::NoAnswer),
    }
}

/// A till's live event stream. The browser reconnects by itself after a drop, sending
/// `Last-Event-ID`, so the server replays what was missed. Closed when dropped.
pub struct TillEvents {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl TillEvents {
    /// Listens to `till_id`'s events after `after`, calling `on_event` for each and `on_connection`
    /// when the stream opens or drops.
    pub fn open(
        till_id: &str,
        after: u64,
        on_event: impl Fn(u64, TillEvent) + 'static,
        on_connection: impl Fn(Connection) + 'static,
    ) -> Option<Self> {
        let source = EventSource::new(&format!("/api/tills/{till_id}/events?after={after}")).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let id = message.last_event_id().parse().unwrap_or(0);
            let data = message.data().as_string().unwrap_or_default();
            if let Ok(event) = serde_json::from_str::<TillEvent>(&data) {
                on_event(id, event);
            }
        });
        let on_connection = std::rc::Rc::new(on_connection);
        let opened = std::rc::Rc::clone(&on_connection);
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| opened(Connection::Online));
        let on_error =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_connection(Connection::Reconnecting));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Self { source, _on_message: on_message, _on_open: on_open, _on_error: on_error })
    }
}

impl Drop for TillEvents {
    fn drop(&mut self) {
        self.source.close();
    }
}

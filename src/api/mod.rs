//! The one place the web app talks to the server: JSON over HTTP, and the live events of a till
//! or of a sticker payment over server-sent events. Everything else in the app calls these
//! functions.
//!
//! A browser whose session ended (401 with `session-expired` or `session-revoked`) is sent to the
//! pairing page with the reason, from whichever request found out, and that request never
//! answers: nothing else is to happen on a page being left. A till's event stream that the server
//! closed for good asks the server why, so a revoked till leaves at once, not at its next tap.

use gloo_net::http::{Request, Response};
use kasse_api::{
    CaptureRequest, Country, History, HistoryQuery, LandingPayment, Money, NewLandingPayment, NewSale,
    PairRequest, Presented, Problem, ProblemCode, RefundRequest, Sale, SaleEvent, Session, StickerInfo,
    TillEvent, TillSnapshot,
};
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventSource, MessageEvent};

use crate::state::landing::{Refusal, Trouble};
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
    Err(refusal(&response).await)
}

/// Reads an answer: the value on success, the problem on a refusal, and `NoAnswer` when the
/// network failed or the answer cannot be read (then nobody knows what happened).
async fn receive<T: DeserializeOwned>(sent: Result<Response, gloo_net::Error>) -> Result<T, Failure> {
    let response = sent.map_err(|_| Failure::NoAnswer)?;
    if response.ok() {
        return response.json().await.map_err(|_| Failure::NoAnswer);
    }
    Err(refusal(&response).await)
}

/// Reads a refusal. A session that ended sends the browser to the pairing page, saying why, and
/// then this never returns: the page is being left, and nothing on it is to go on.
async fn refusal(response: &Response) -> Failure {
    match response.json::<Problem>().await {
        Ok(problem) => {
            if let Some(page) = pairing_page_for(&problem) {
                crate::components::leave::leave_for(page);
                std::future::pending::<()>().await;
            }
            Failure::Refused(problem)
        }
        // A proxy's error page, a 502 with no body: the request may or may not have arrived.
        Err(_) => Failure::NoAnswer,
    }
}

/// Where a refusal sends the browser: the pairing page with the reason, for a session that
/// expired or was revoked; `None` for any other refusal (the page says it itself).
fn pairing_page_for(problem: &Problem) -> Option<&'static str> {
    if problem.status != 401 {
        return None;
    }
    match problem.code? {
        ProblemCode::SessionExpired => Some("/pair?reason=expired"),
        ProblemCode::SessionRevoked => Some("/pair?reason=revoked"),
        _ => None,
    }
}

/// After the server closed a till's event stream for good (it refused the reconnection), asks
/// why: a session that ended leaves for pairing with its reason (in [`refusal`]); a browser the
/// server no longer knows goes to pairing too. Anything else (too many streams) leaves the page
/// as it is, showing the connection lost.
async fn stream_refused() {
    if let Err(Failure::Refused(problem)) = session().await
        && problem.status == 401
    {
        crate::components::leave::leave_for("/pair");
    }
}

/// A till's live event stream. The browser reconnects by itself after a drop, sending
/// `Last-Event-ID`, so the server replays what was missed. Closed when dropped.
pub struct TillEvents {
    _stream: Stream,
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
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let id = message.last_event_id().parse().unwrap_or(0);
            let data = message.data().as_string().unwrap_or_default();
            if let Ok(event) = serde_json::from_str::<TillEvent>(&data) {
                on_event(id, event);
            }
        });
        let url = format!("/api/tills/{till_id}/events?after={after}");
        let on_closed = || wasm_bindgen_futures::spawn_local(stream_refused());
        Stream::open(&url, on_message, std::rc::Rc::new(on_connection), Some(Box::new(on_closed)))
            .map(|stream| Self { _stream: stream })
    }
}

/// An `EventSource` with its handlers, which live as long as it; closed when dropped.
struct Stream {
    source: EventSource,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Stream {
    /// Opens `url`, handing each message to `on_message`, telling `on_connection` when the
    /// stream opens or drops, and calling `on_closed` when the browser gives up reconnecting
    /// because the server refused the stream (an answer other than 200).
    fn open(
        url: &str,
        on_message: Closure<dyn FnMut(MessageEvent)>,
        on_connection: std::rc::Rc<dyn Fn(Connection)>,
        on_closed: Option<Box<dyn Fn()>>,
    ) -> Option<Self> {
        let source = EventSource::new(url).ok()?;
        let opened = std::rc::Rc::clone(&on_connection);
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| opened(Connection::Online));
        let watched = source.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            on_connection(Connection::Reconnecting);
            if watched.ready_state() == EventSource::CLOSED
                && let Some(on_closed) = &on_closed
            {
                on_closed();
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Self { source, _on_message: on_message, _on_open: on_open, _on_error: on_error })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// What a sticker's landing page shows: the merchant, and what there is to pay.
pub async fn sticker(sticker: &str) -> Result<StickerInfo, Trouble> {
    read_landing(&landing_fetch(&format!("/api/stickers/{sticker}"), None).await?)
}

/// A customer asks to pay at a sticker: by a request to their number, or by opening the app.
pub async fn pay_at_sticker(sticker: &str, request: &NewLandingPayment) -> Result<LandingPayment, Trouble> {
    let body = landing_request_body(request);
    read_landing(&landing_fetch(&format!("/api/stickers/{sticker}/payments"), Some(body)).await?)
}

/// The JSON body of a landing payment request, `NewLandingPayment`'s serde form written by
/// hand: serde_json's serializer, and the I/O error texts it carries, would make the landing
/// bundle about 1 KB (brotli) heavier. A unit test holds the two to the same text.
fn landing_request_body(request: &NewLandingPayment) -> String {
    let mut fields = Vec::with_capacity(4);
    if let Some(amount) = request.amount {
        fields.push(format!(
            "\"amount\":{{\"value\":{},\"currency\":\"{}\"}}",
            amount.value,
            amount.currency.code()
        ));
    }
    if let Some(phone) = &request.phone_number {
        fields.push(format!("\"phoneNumber\":{}", json_string(phone)));
    }
    if let Some(country) = request.country {
        let code = match country {
            Country::No => "NO",
            Country::Dk => "DK",
            Country::Fi => "FI",
        };
        fields.push(format!("\"country\":\"{code}\""));
    }
    if let Some(again) = &request.again {
        fields.push(format!("\"again\":{}", json_string(again)));
    }
    format!("{{{}}}", fields.join(","))
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                quoted.push_str("\\u00");
                quoted.push(char::from_digit(u32::from(c) >> 4, 16).unwrap_or('0'));
                quoted.push(char::from_digit(u32::from(c) & 0xf, 16).unwrap_or('0'));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A sticker payment, by the token that names it to its customer.
pub async fn landing_payment(token: &str) -> Result<LandingPayment, Trouble> {
    read_landing(&landing_fetch(&format!("/api/payments/{token}"), None).await?)
}

/// Reads a successful landing-page answer's body.
fn read_landing<T: DeserializeOwned>(body: &str) -> Result<T, Trouble> {
    serde_json::from_str(body).map_err(|_| Trouble::NoAnswer)
}

/// One landing-page request (a GET, or a POST of the JSON `body`) with the browser's own
/// `fetch`: the body of a successful answer, or the refusal with its `Retry-After` (how long a
/// rate limit lasts, which the page words in the customer's language).
///
/// The landing page does not use gloo-net as the till does: `fetch` and one non-generic
/// function keep its bundle small for a phone on a weak connection.
async fn landing_fetch(url: &str, body: Option<String>) -> Result<String, Trouble> {
    let init = web_sys::RequestInit::new();
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(|_| Trouble::NoAnswer)?;
        headers.set("content-type", "application/json").map_err(|_| Trouble::NoAnswer)?;
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let window = web_sys::window().ok_or(Trouble::NoAnswer)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .ok()
        .and_then(|response| response.dyn_into().ok())
        .ok_or(Trouble::NoAnswer)?;
    let text = match response.text() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|text| text.as_string()),
        Err(_) => None,
    }
    .ok_or(Trouble::NoAnswer)?;
    if response.ok() {
        return Ok(text);
    }
    let retry_after_s =
        response.headers().get("retry-after").ok().flatten().and_then(|s| s.trim().parse().ok());
    match serde_json::from_str::<RefusalBody>(&text) {
        Ok(body) => {
            let problem = Problem {
                kind: String::new(),
                title: body.title,
                status: response.status(),
                detail: body.detail,
                code: body.code,
            };
            Err(Trouble::Refused(Refusal::from_problem(&problem, retry_after_s)))
        }
        Err(_) => Err(Trouble::NoAnswer),
    }
}

/// What the landing page reads of a [`Problem`] body: the parts a refusal is told by. Fewer
/// fields than the whole problem make a smaller parser in the landing bundle.
#[derive(serde::Deserialize)]
struct RefusalBody {
    /// The problem's summary, the sentence when it has no detail.
    title: String,
    /// The sentence for a person.
    #[serde(default)]
    detail: Option<String>,
    /// The stable code that names the refusal.
    #[serde(default)]
    code: Option<kasse_api::ProblemCode>,
}

/// The one event a landing payment's stream sends, `{"type":"payment","payment":{…}}`
/// ([`kasse_api::LandingEvent::Payment`]), read as a plain struct: the enum's tagged form would make serde
/// buffer every event and carry a second copy of each payment field's parser in the bundle.
#[derive(serde::Deserialize)]
struct PaymentEvent {
    /// `payment`, the only kind there is; another kind is ignored.
    #[serde(rename = "type")]
    kind: String,
    /// The payment as it is now.
    payment: LandingPayment,
}

/// A sticker payment's live events, from its first (so a reloaded page catches up at once). The
/// browser reconnects by itself after a drop, resuming after the last event it saw. Closed when
/// dropped.
pub struct LandingEvents {
    _stream: Stream,
}

impl LandingEvents {
    /// Listens to the payment `token`'s events, calling `on_payment` with the payment as each
    /// event shows it and `on_connection` when the stream opens or drops.
    pub fn open(
        token: &str,
        on_payment: impl Fn(LandingPayment) + 'static,
        on_connection: impl Fn(Connection) + 'static,
    ) -> Option<Self> {
        let url = format!("/api/payments/{token}/events?after=0");
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let data = message.data().as_string().unwrap_or_default();
            if let Ok(event) = serde_json::from_str::<PaymentEvent>(&data)
                && event.kind == "payment"
            {
                on_payment(event.payment);
            }
        });
        Stream::open(&url, on_message, std::rc::Rc::new(on_connection), None)
            .map(|stream| Self { _stream: stream })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failing test should panic with the error")]
mod tests {
    use kasse_api::{Country, Currency, Money, NewLandingPayment};

    use super::*;

    #[test]
    fn only_a_session_that_ended_sends_the_browser_to_pairing_with_its_reason() {
        let problem = |status: u16, code: ProblemCode| Problem::new(status, code, "t", "d");
        assert_eq!(
            pairing_page_for(&problem(401, ProblemCode::SessionExpired)),
            Some("/pair?reason=expired")
        );
        assert_eq!(
            pairing_page_for(&problem(401, ProblemCode::SessionRevoked)),
            Some("/pair?reason=revoked")
        );
        assert_eq!(pairing_page_for(&problem(401, ProblemCode::Unauthorized)), None, "the page decides");
        assert_eq!(pairing_page_for(&problem(429, ProblemCode::TooManyStreams)), None);
        assert_eq!(pairing_page_for(&problem(409, ProblemCode::SessionRevoked)), None, "only a 401");
        let mut no_code = problem(401, ProblemCode::Unauthorized);
        no_code.code = None;
        assert_eq!(pairing_page_for(&no_code), None);
    }

    #[test]
    fn a_landing_request_body_is_exactly_what_serde_writes_for_it() {
        for request in [
            NewLandingPayment {
                amount: Some(Money::new(4_500, Currency::Nok)),
                phone_number: Some("+4791234567".into()),
                country: Some(Country::No),
                again: None,
            },
            NewLandingPayment { amount: None, phone_number: None, country: None, again: None },
            NewLandingPayment {
                amount: Some(Money::new(1_000, Currency::Eur)),
                phone_number: Some("a \"quoted\" \\ line\n\r\t\u{8}\u{c}\u{7}\u{1f}".into()),
                country: Some(Country::Fi),
                again: Some("t1".into()),
            },
            NewLandingPayment {
                amount: Some(Money::new(-5, Currency::Dkk)),
                phone_number: None,
                country: Some(Country::Dk),
                again: Some("ÆØÅ".into()),
            },
        ] {
            let body = landing_request_body(&request);
            assert_eq!(body, serde_json::to_string(&request).unwrap());
            assert_eq!(serde_json::from_str::<NewLandingPayment>(&body).unwrap(), request);
        }
    }
}

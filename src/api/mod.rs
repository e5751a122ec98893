//! The one place the web app talks to the server: JSON over HTTP with gloo-net, and live events
//! with gloo-net's `EventSource`. Everything else in the app calls these functions; the sticker
//! landing page's own calls, on the same requests and streams, are in [`landing`].
//!
//! JSON is parsed by the browser (`Response.json()`, and `JSON.parse` for an event's data) and
//! read into our types with serde-wasm-bindgen; request bodies go the other way
//! (serde-wasm-bindgen, then `JSON.stringify`). No bundle carries a JSON parser of its own.
//!
//! A browser whose session ended (401 with `session-expired` or `session-revoked`) is sent to the
//! pairing page with the reason, from whichever request found out, and that request never
//! answers: nothing else is to happen on a page being left. A till's event stream that the browser
//! gave up on asks the server why, so a revoked till leaves at once, not at its next tap; any other
//! stream given up on opens again after a wait, from the last event it heard.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_util::StreamExt as _;
use gloo_net::eventsource::futures::{EventSource, EventSourceSubscription};
use gloo_net::http::{Request, RequestBuilder, Response};
use kasse_api::{
    CaptureRequest, History, HistoryQuery, Money, NewSale, PairRequest, Paired, Presented, Problem,
    ProblemCode, RefundRequest, Sale, SaleEvent, Session, TillEvent, TillSnapshot,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::MessageEvent;

use crate::state::stream::{GaveUp, Next, Reopening};
use crate::state::till::{Connection, Failure};

pub mod admin;
pub mod landing;

/// A request, or why it could not be made (its body could not be written).
type Sendable = Result<Request, gloo_net::Error>;

/// How a request ended.
enum Reply {
    /// Answered with a success (2xx).
    Done(Response),
    /// Refused, with its problem.
    Refused(Problem),
    /// No answer, or a refusal that cannot be read (a proxy's error page, a 502 with no body):
    /// the request may or may not have arrived.
    NoAnswer,
}

/// Sends `request` and tells how it ended.
async fn send(request: Sendable) -> Reply {
    let Ok(request) = request else { return Reply::NoAnswer };
    let Ok(response) = request.send().await else { return Reply::NoAnswer };
    if response.ok() {
        return Reply::Done(response);
    }
    match read_json::<Problem>(response).await {
        Some(problem) => Reply::Refused(problem),
        None => Reply::NoAnswer,
    }
}

/// An answer's body, parsed by the browser and read into `T`; `None` when it is not such JSON.
async fn read_json<T: DeserializeOwned>(response: Response) -> Option<T> {
    let parsed = JsFuture::from(web_sys::Response::from(response).json().ok()?).await.ok()?;
    serde_wasm_bindgen::from_value(parsed).ok()
}

/// JSON text that came from a JavaScript API (an event's data), parsed by the browser and read
/// into `T`.
fn from_json_text<T: DeserializeOwned>(text: &JsValue) -> Option<T> {
    let parsed = js_sys::JSON::parse(&text.as_string()?).ok()?;
    serde_wasm_bindgen::from_value(parsed).ok()
}

/// `request` with `body` as its JSON body: made a JavaScript value by serde-wasm-bindgen (as
/// JSON has it: maps as objects, integers as numbers), then written by `JSON.stringify`.
fn with_json(request: RequestBuilder, body: &impl Serialize) -> Sendable {
    let unwritable = || gloo_net::Error::GlooError("the request body cannot be written".to_owned());
    let value =
        body.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|_| unwritable())?;
    let text = js_sys::JSON::stringify(&value).map_err(|_| unwritable())?;
    request.header("content-type", "application/json").body(text)
}

/// A till's request: the answer's value, the problem of a refusal, and `NoAnswer` when the
/// network failed or the answer cannot be read (then nobody knows what happened).
async fn receive<T: DeserializeOwned>(request: Sendable) -> Result<T, Failure> {
    match send(request).await {
        Reply::Done(response) => read_json(response).await.ok_or(Failure::NoAnswer),
        Reply::Refused(problem) => Err(refused(problem).await),
        Reply::NoAnswer => Err(Failure::NoAnswer),
    }
}

/// A till's request whose answer has no body (204).
async fn receive_nothing(request: Sendable) -> Result<(), Failure> {
    match send(request).await {
        Reply::Done(_) => Ok(()),
        Reply::Refused(problem) => Err(refused(problem).await),
        Reply::NoAnswer => Err(Failure::NoAnswer),
    }
}

/// A refusal. A session that ended sends the browser to the pairing page, saying why, and then
/// this never returns: the page is being left, and nothing on it is to go on.
async fn refused(problem: Problem) -> Failure {
    if let Some(page) = pairing_page_for(&problem) {
        crate::components::leave::leave_for(page);
        std::future::pending::<()>().await;
    }
    Failure::Refused(problem)
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

/// A fresh key naming one action of the cashier's (or of a customer's on a landing page), so that
/// the server does it once however often the request arrives.
pub fn action_key() -> String {
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

/// The browser's session: which till it is (a 401 problem when it is not paired).
pub async fn session() -> Result<Session, Failure> {
    receive(Request::get("/api/session").build()).await
}

/// Pairs this browser with a till (or as a manager's back office) using a one-time code, with
/// the PIN a manager chooses at their first pairing; the server sets the session cookie.
pub async fn pair(code: &str, pin: Option<&str>) -> Result<Paired, Failure> {
    let request = PairRequest { code: code.to_owned(), pin: pin.map(str::to_owned) };
    receive(with_json(Request::post("/api/pair"), &request)).await
}

/// The till and its current sale.
pub async fn till_snapshot(till_id: &str) -> Result<TillSnapshot, Failure> {
    receive(Request::get(&format!("/api/tills/{till_id}")).build()).await
}

/// Starts a sale at the till.
pub async fn start_sale(till_id: &str, sale: &NewSale) -> Result<Sale, Failure> {
    let request =
        Request::post(&format!("/api/tills/{till_id}/sales")).header("Idempotency-Key", &action_key());
    receive(with_json(request, sale)).await
}

/// A cashier's action on a sale (`cancel`, `reconcile`…) with no body, named by a fresh key.
fn sale_action(till_id: &str, reference: &str, action: &str) -> RequestBuilder {
    Request::post(&format!("/api/tills/{till_id}/sales/{reference}/{action}"))
        .header("Idempotency-Key", &action_key())
}

/// Cancels a sale: before approval the request, after it whatever is not captured.
pub async fn cancel_sale(till_id: &str, reference: &str) -> Result<Sale, Failure> {
    receive(sale_action(till_id, reference, "cancel").build()).await
}

/// Captures `amount` of an approved sale, or all that is reserved.
pub async fn capture(till_id: &str, reference: &str, amount: Option<Money>) -> Result<Sale, Failure> {
    receive(with_json(sale_action(till_id, reference, "capture"), &CaptureRequest { amount })).await
}

/// Refunds `amount` of what a sale took, with a manager's PIN where the store asks for one.
pub async fn refund(
    till_id: &str,
    reference: &str,
    amount: Money,
    manager_pin: Option<String>,
) -> Result<Sale, Failure> {
    receive(with_json(sale_action(till_id, reference, "refund"), &RefundRequest { amount, manager_pin }))
        .await
}

/// Asks the platform now what a sale's state is ("check again").
pub async fn reconcile(till_id: &str, reference: &str) -> Result<Sale, Failure> {
    receive(Request::post(&format!("/api/tills/{till_id}/sales/{reference}/reconcile")).build()).await
}

/// A sale.
pub async fn sale(till_id: &str, reference: &str) -> Result<Sale, Failure> {
    receive(Request::get(&format!("/api/tills/{till_id}/sales/{reference}")).build()).await
}

/// A sale's event log at the platform.
pub async fn sale_log(till_id: &str, reference: &str) -> Result<Vec<SaleEvent>, Failure> {
    receive(Request::get(&format!("/api/tills/{till_id}/sales/{reference}/log")).build()).await
}

/// The till's sales matching `query`, with totals.
pub async fn history(till_id: &str, query: &HistoryQuery) -> Result<History, Failure> {
    let params = sales_params(query);
    let request = Request::get(&format!("/api/tills/{till_id}/sales"))
        .query(params.iter().map(|(k, v)| (*k, v.as_str())));
    receive(request.build()).await
}

/// A sales query as the query string's parameters (the back office's adds its till).
fn sales_params(query: &HistoryQuery) -> Vec<(&'static str, String)> {
    // Every field by name, so a field added to the query cannot be left out of the request.
    let HistoryQuery { since_ms, until_ms, status, flow, search } = query;
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some(since) = since_ms {
        params.push(("sinceMs", since.to_string()));
    }
    if let Some(until) = until_ms {
        params.push(("untilMs", until.to_string()));
    }
    if let Some(status) = status {
        params.push(("status", status.as_str().to_owned()));
    }
    if let Some(flow) = flow {
        params.push(("flow", flow.as_str().to_owned()));
    }
    if let Some(search) = search {
        params.push(("search", search.clone()));
    }
    params
}

/// Presents an amount to the till's sticker.
pub async fn present(till_id: &str, presented: &Presented) -> Result<Presented, Failure> {
    receive(with_json(Request::put(&format!("/api/tills/{till_id}/presented")), presented)).await
}

/// Takes back what the till presents to its sticker.
pub async fn withdraw(till_id: &str) -> Result<(), Failure> {
    receive_nothing(Request::delete(&format!("/api/tills/{till_id}/presented")).build()).await
}

/// After the browser gave up on a till's event stream (the server, or a proxy before it, refused
/// the reconnection), asks why: a session that ended leaves for pairing with its reason (in
/// [`refused`]); a browser the server no longer knows goes to pairing too. Anything else (too
/// many streams, a server restarting, no answer) is a refusal that passes.
async fn stream_refused() -> GaveUp {
    match session().await {
        Err(Failure::Refused(problem)) if problem.status == 401 => {
            crate::components::leave::leave_for("/pair");
            GaveUp::SessionEnded
        }
        _ => GaveUp::Refused,
    }
}

/// Whom a stream belongs to, which says how to learn why the browser gave up on it.
#[derive(Clone, Copy)]
enum Owner {
    /// A paired till or display: its session may have ended.
    Session,
    /// Anyone (a landing page): no session to end.
    Anyone,
}

impl Owner {
    /// Why the browser gave up on a stream of this owner's.
    async fn why_refused(self) -> GaveUp {
        match self {
            Self::Session => stream_refused().await,
            Self::Anyone => GaveUp::Refused,
        }
    }
}

/// What one `EventSource` is heard saying: its messages, openings and errors, merged.
type Heard = futures_util::stream::Select<
    EventSourceSubscription,
    futures_util::stream::Select<EventSourceSubscription, EventSourceSubscription>,
>;

/// How listening to one `EventSource` ended.
enum Ended {
    /// This side closed the stream.
    Here,
    /// The browser gave up on it.
    GaveUp,
}

/// A live event stream: gloo-net's `EventSource`, and a task handing on what it hears. The
/// browser reconnects by itself after a drop, sending `Last-Event-ID`, so the server replays
/// what was missed; when it gives up instead (a reconnection answered with anything but a 200),
/// the task opens a new `EventSource` after a wait, from the last event heard, as
/// [`Reopening`] decides. Closed when dropped.
struct Stream {
    /// The `EventSource` open now; none while waiting to open one again.
    source: Rc<RefCell<Option<EventSource>>>,
    /// Set when this side closes it: the task then stops without a word.
    closed_here: Rc<Cell<bool>>,
}

impl Stream {
    /// Opens the stream `reopening` names, handing each message to `on_message` and telling
    /// `on_connection` when the stream opens or drops. Should the browser give up on it, asks
    /// `owner` why, and unless a session ended opens it again.
    fn open(
        mut reopening: Reopening,
        on_message: impl Fn(MessageEvent) + 'static,
        on_connection: impl Fn(Connection) + 'static,
        owner: Owner,
    ) -> Option<Self> {
        let (source, mut heard) = connect(&reopening.url())?;
        let source = Rc::new(RefCell::new(Some(source)));
        let closed_here = Rc::new(Cell::new(false));
        let (current, closed) = (Rc::clone(&source), Rc::clone(&closed_here));
        spawn_local(async move {
            loop {
                if let Ended::Here =
                    listen(&mut heard, &closed, &mut reopening, &on_message, &on_connection).await
                {
                    return;
                }
                on_connection(Connection::Reconnecting);
                // Its listeners first, so the closing source's last error is heard by nobody.
                drop(heard);
                drop(current.borrow_mut().take());
                let Next::Reopen { url, wait_ms } = reopening.gave_up(owner.why_refused().await) else {
                    return;
                };
                sleep(wait_ms).await;
                if closed.get() {
                    return;
                }
                let Some((source, listening)) = connect(&url) else { return };
                *current.borrow_mut() = Some(source);
                heard = listening;
            }
        });
        Some(Self { source, closed_here })
    }
}

/// A new `EventSource` on `url`, and what it is heard saying.
fn connect(url: &str) -> Option<(EventSource, Heard)> {
    let mut source = EventSource::new(url).ok()?;
    let messages = source.subscribe("message").ok()?;
    let opens = source.subscribe("open").ok()?;
    // Every "error" event: the browser lost the stream, and is connecting again or gave up.
    let drops = source.subscribe("error").ok()?;
    let heard = futures_util::stream::select(messages, futures_util::stream::select(opens, drops));
    Some((source, heard))
}

/// Hands on what one `EventSource` says until this side closes it or the browser gives up.
async fn listen(
    heard: &mut Heard,
    closed: &Cell<bool>,
    reopening: &mut Reopening,
    on_message: &impl Fn(MessageEvent),
    on_connection: &impl Fn(Connection),
) -> Ended {
    while let Some(said) = heard.next().await {
        if closed.get() {
            return Ended::Here;
        }
        match said {
            Ok((kind, message)) if kind == "message" => {
                reopening.heard(&message.last_event_id());
                on_message(message);
            }
            Ok((kind, _)) if kind == "open" => {
                reopening.opened();
                on_connection(Connection::Online);
            }
            Ok(_) => on_connection(Connection::Reconnecting),
            // The browser gave up: the server (or a proxy) refused the stream.
            Err(_) => return Ended::GaveUp,
        }
    }
    // The subscriptions hold their own senders, so this is not reached while they are held;
    // should it be, there is nothing more to hear.
    Ended::Here
}

/// Resolves after `ms` milliseconds (at once without a window, where nothing is streamed).
async fn sleep(ms: u32) {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        let set = web_sys::window().map(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                i32::try_from(ms).unwrap_or(i32::MAX),
            )
        });
        if !matches!(set, Some(Ok(_))) {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(timer).await;
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Before the source closes, which its task then hears (or, waiting to open it again,
        // finds when the wait is over).
        self.closed_here.set(true);
        drop(self.source.borrow_mut().take());
    }
}

/// A live event stream a page listens to (a till's, or the landing page's); closed when
/// dropped.
pub struct Listening {
    _stream: Stream,
}

/// Listens to `till_id`'s live events after `after`, calling `on_event` with each and
/// `on_connection` when the stream opens or drops.
pub fn till_events(
    till_id: &str,
    after: u64,
    on_event: impl Fn(u64, TillEvent) + 'static,
    on_connection: impl Fn(Connection) + 'static,
) -> Option<Listening> {
    let on_message = move |message: MessageEvent| {
        let id = message.last_event_id().parse().unwrap_or(0);
        if let Some(event) = from_json_text::<TillEvent>(&message.data()) {
            on_event(id, event);
        }
    };
    let reopening = Reopening::resuming(format!("/api/tills/{till_id}/events"), after);
    Stream::open(reopening, on_message, on_connection, Owner::Session)
        .map(|stream| Listening { _stream: stream })
}

#[cfg(test)]
mod tests {
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
}

//! Black-box tests of the kasse server, zero2prod style: every test starts a real server with its
//! built-in platform simulator, each on port 0 with its own in-memory database and a throwaway
//! `dist` folder, and talks to it over HTTP the way a till's browser and the platform do. The
//! simulated customer answers by posting the form of the simulator's phone page to the sale's QR
//! target. Nothing here sleeps: a test waits by reading the till's live event stream until the
//! event it expects arrives, with a generous timeout only as a guard against hanging forever.
//!
//! This file holds the helpers and the QR flow; `api/flows.rs` the other in-store flows and
//! idempotent starts, `api/money.rs` capture, refund, history and the event log, and
//! `api/access.rs` pairing, sessions and who may do what.

// Helpers are not `#[test]` functions, so clippy.toml's allowance for tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failing test panics with what went wrong")]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use kasse_api::{CheckIn, Currency, Flow, Money, Problem, Role, Sale, SaleStatus, TillEvent, TillSnapshot};
use kasse_server::{Config, Running};
use kasse_sim::{ReceivedWrite, SalesUnit, SimHandle};
use kasse_vipps::epayment::{GetPaymentResponse, PaymentEvent, PaymentEventName, State, WebhookEvent};
use kasse_vipps::signing::{self, SignedHeaders};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use url::Url;

/// The demo till and its store's sales unit.
const TILL: &str = "till-1";
const MSN: &str = "123456";
/// A simulated customer (Kari Nordmann).
const CUSTOMER: &str = "4791234567";
/// How long a test waits for something before it fails (a guard, never a measurement).
const PATIENCE: Duration = Duration::from_secs(20);
/// The app's entry page, served for every app route.
const INDEX_HTML: &str = "<!doctype html><title>kasse test app</title><p id=\"kasse-test-index\">";
/// The history bundle's page, in `dist/history/`.
const HISTORY_HTML: &str = "<!doctype html><title>kasse test history</title>";
/// The customer display bundle's page, in `dist/display/`.
const DISPLAY_HTML: &str = "<!doctype html><title>kasse test display</title>";
/// A static file of the app.
const STYLESHEET: &str = "body { color: #1d1d1f }";

/// A running server, its simulator, and an HTTP client that records everything the server says.
struct TestApp {
    running: Running,
    /// `http://127.0.0.1:{port}`, without a trailing slash.
    base: String,
    http: reqwest::Client,
    /// The temporary folder holding `dist`, removed when the test ends.
    dir: PathBuf,
    /// Every header block and body the server sent to this test's "browser", SSE text included.
    seen: Arc<Mutex<Vec<String>>>,
}

/// Starts a server on port 0 with the demo configuration (one NOK store, till `till-1`, the
/// simulator on port 0), an in-memory database, and a `dist` holding `index.html`, `app.css` and
/// the history's and the display's pages.
async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the demo configuration changed by `configure` first.
async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = std::env::temp_dir().join(format!("kasse-server-api-{}", uuid::Uuid::new_v4().simple()));
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), INDEX_HTML).unwrap();
    std::fs::write(dist.join("app.css"), STYLESHEET).unwrap();
    for (folder, page) in [("history", HISTORY_HTML), ("display", DISPLAY_HTML)] {
        std::fs::create_dir_all(dist.join(folder)).unwrap();
        std::fs::write(dist.join(folder).join("index.html"), page).unwrap();
    }
    let mut config = Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), dist, &dir.join("data"));
    // One database per test, gone with it: tests cannot see each other's sales.
    "sqlite::memory:".clone_into(&mut config.database_url);
    configure(&mut config);
    let running = kasse_server::start(config).await.expect("the server starts");
    let base = format!("http://{}", running.addr());
    let cookie = pair(&running, &base, Role::Till).await;
    // Talk to 127.0.0.1 directly, whatever proxy the environment names, as the paired till.
    let http = browser_with_cookie(&cookie);
    TestApp { running, base, http, dir, seen: Arc::new(Mutex::new(Vec::new())) }
}

/// Pairs a browser with the till as `role`, the way the pairing page does; returns its cookie.
async fn pair(running: &Running, base: &str, role: Role) -> String {
    pair_with_till(running, base, TILL, role).await
}

/// Pairs a browser with `till` as `role`; returns its cookie (`kasse_session=…`).
async fn pair_with_till(running: &Running, base: &str, till: &str, role: Role) -> String {
    let code = running.pairing_code(till, role).await.unwrap();
    let answer =
        browser().post(format!("{base}/api/pair")).json(&json!({ "code": code })).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "pairing works");
    let set_cookie = answer.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A browser without a session: no cookie, and talking to 127.0.0.1 directly whatever proxy
/// the environment names.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A browser holding `cookie` (`name=value`).
fn browser_with_cookie(cookie: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, cookie.parse().unwrap());
    reqwest::Client::builder().no_proxy().default_headers(headers).build().unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A response, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    /// The body as JSON of type `T`.
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not the JSON expected ({e}): {}", self.body))
    }

    /// A header's value, if present and text.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as an RFC 7807 problem, checking its media type and that it repeats the status.
    fn problem(&self) -> Problem {
        assert_eq!(
            self.header("content-type"),
            Some(Problem::CONTENT_TYPE),
            "an error is application/problem+json: {}",
            self.body
        );
        let problem: Problem = self.json();
        assert_eq!(problem.status, self.status.as_u16(), "the problem repeats the HTTP status");
        assert!(
            problem.detail.as_deref().is_some_and(|d| !d.trim().is_empty()),
            "a problem says in a sentence what went wrong: {problem:?}"
        );
        problem
    }
}

/// Everything that makes a response's headers readable in the record of what the server sent.
fn header_text(headers: &HeaderMap) -> String {
    headers.iter().fold(String::new(), |mut text, (name, value)| {
        let _ = writeln!(text, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
        text
    })
}

impl TestApp {
    /// The simulator inside the server.
    fn sim(&self) -> &SimHandle {
        self.running.sim().expect("the demo configuration runs the simulator")
    }

    /// The demo store's sales unit at the simulator, credentials included.
    fn sales_unit(&self) -> &SalesUnit {
        self.sim().config().sales_unit(MSN).expect("the simulator has the demo store's sales unit")
    }

    /// Sends a request, records what came back, and returns it read whole.
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("the body can be read");
        let mut seen = self.seen.lock().unwrap();
        seen.push(header_text(&headers));
        seen.push(body.clone());
        drop(seen);
        Answer { status, headers, body }
    }

    /// `GET {path}` on the server.
    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// `POST {path}` on the server with a raw body of a content type.
    async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned());
        self.send(request).await
    }

    /// `POST {path}` on the server with a JSON body.
    async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, "application/json", &body.to_string()).await
    }

    /// The till as a page loading it sees it.
    async fn snapshot(&self) -> TillSnapshot {
        let answer = self.get(&format!("/api/tills/{TILL}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// Asks the till for a QR sale of `body`, whatever the answer.
    async fn try_start_sale(&self, body: &Value) -> Answer {
        self.post_json(&format!("/api/tills/{TILL}/sales"), body).await
    }

    /// Starts a QR sale of `value` øre and checks it was accepted.
    async fn start_sale(&self, value: i64) -> Sale {
        let answer =
            self.try_start_sale(&json!({"amount": {"value": value, "currency": "NOK"}, "flow": "qr"})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "the sale is accepted: {}", answer.body);
        answer.json()
    }

    /// A sale as the till reads it.
    async fn sale(&self, reference: &str) -> Sale {
        let answer = self.get(&format!("/api/tills/{TILL}/sales/{reference}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// Presses "cancel" at the till.
    async fn cancel(&self, reference: &str) -> Answer {
        self.post_raw(&format!("/api/tills/{TILL}/sales/{reference}/cancel"), "application/json", "").await
    }

    /// The simulated customer scans the sale's QR code and presses a button on the phone page;
    /// returns the phone page's status.
    async fn try_answer_on_phone(&self, sale: &Sale, action: &str) -> StatusCode {
        let qr = sale.qr.as_deref().expect("a QR sale awaiting the customer has a QR code");
        let response = self
            .http
            .post(qr)
            .form(&[("action", action), ("customer", CUSTOMER)])
            .send()
            .await
            .expect("the phone page answers");
        response.status()
    }

    /// Like `try_answer_on_phone`, insisting the phone took the answer.
    async fn answer_on_phone(&self, sale: &Sale, action: &str) {
        let status = self.try_answer_on_phone(sale, action).await;
        assert!(status.is_success(), "the phone page took the answer: {status}");
    }

    /// The customer approves the sale in the app.
    async fn approve(&self, sale: &Sale) {
        self.answer_on_phone(sale, "approve").await;
    }

    /// The customer declines the sale in the app.
    async fn decline(&self, sale: &Sale) {
        self.answer_on_phone(sale, "decline").await;
    }

    /// Opens the till's live event stream as a page does on load: `?after=` its snapshot's id.
    async fn events_after(&self, after: u64) -> EventStream {
        self.open_events(&format!("/api/tills/{TILL}/events?after={after}"), None).await
    }

    /// Opens the till's live event stream with `?after=` and `Last-Event-ID`, as a browser's
    /// `EventSource` does when it reconnects to the URL it first opened.
    async fn reconnect_events(&self, first_after: u64, last_event_id: i64) -> EventStream {
        self.open_events(&format!("/api/tills/{TILL}/events?after={first_after}"), Some(last_event_id)).await
    }

    async fn open_events(&self, path: &str, last_event_id: Option<i64>) -> EventStream {
        let mut request =
            self.http.get(format!("{}{path}", self.base)).header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), StatusCode::OK, "the event stream opens");
        let headers = response.headers().clone();
        assert!(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream")),
            "the live events are server-sent events: {headers:?}"
        );
        self.seen.lock().unwrap().push(header_text(&headers));
        EventStream { response, headers, pending: Vec::new(), seen: Arc::clone(&self.seen) }
    }

    /// The payment as the platform holds it.
    fn platform_payment(&self, reference: &str) -> GetPaymentResponse {
        self.sim().payment(MSN, reference).expect("the platform has the payment")
    }

    /// Every write the platform received for a payment (replays included).
    fn received(&self, reference: &str) -> Vec<ReceivedWrite> {
        self.sim()
            .payment_records()
            .into_iter()
            .find(|p| p.reference == reference)
            .map(|p| p.received)
            .unwrap_or_default()
    }

    /// A platform client acting for the demo store with its own credentials, as the merchant's
    /// other tools would (never through the server).
    fn merchant_client(&self) -> kasse_vipps::Client {
        let unit = self.sales_unit();
        kasse_vipps::Client::new(kasse_vipps::ClientConfig {
            base_url: self.sim().base_url().clone(),
            credentials: kasse_vipps::Credentials {
                client_id: unit.client_id.clone(),
                client_secret: unit.client_secret.clone(),
                subscription_key: unit.subscription_key.clone(),
                msn: unit.msn.clone(),
            },
            system: kasse_vipps::SystemInfo {
                name: "kasse-tests".to_owned(),
                version: "1".to_owned(),
                plugin_name: "api-tests".to_owned(),
                plugin_version: "1".to_owned(),
            },
            timeout: PATIENCE,
            retry: kasse_vipps::RetryPolicy::default(),
        })
        .unwrap()
    }

    /// The platform's own event log of a payment, read through the ePayment API with the store's
    /// credentials, as the platform would put it into webhooks.
    async fn platform_events(&self, reference: &str) -> Vec<PaymentEvent> {
        self.merchant_client()
            .payment_events(reference)
            .await
            .expect("the platform lists the payment's events")
    }

    /// `POST {path}` with a JSON body and the browser's `Idempotency-Key`.
    async fn post_json_with_key(&self, path: &str, body: &Value, key: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .body(body.to_string());
        self.send(request).await
    }

    /// The page of a simulated customer's phone (`customer` is their number).
    async fn phone_page(&self, customer: &str) -> String {
        phone_page(self.sim(), customer).await
    }

    /// Whether a push payment request for `reference` is waiting on `customer`'s phone.
    async fn on_phone(&self, customer: &str, reference: &str) -> bool {
        self.phone_page(customer).await.contains(&format!("data-reference=\"{reference}\""))
    }

    /// `customer` answers the push payment request for `reference` on their phone page, with
    /// the page's own form; returns the phone's status.
    async fn answer_request_on_phone(&self, customer: &str, reference: &str, action: &str) -> StatusCode {
        answer_request_on_phone(self.sim(), customer, reference, action).await
    }

    /// `customer` approves the push payment request for `reference` on their phone.
    async fn approve_on_phone(&self, customer: &str, reference: &str) {
        let status = self.answer_request_on_phone(customer, reference, "approve").await;
        assert!(status.is_success(), "the phone took the approval: {status}");
    }

    /// `customer` declines the push payment request for `reference` on their phone.
    async fn decline_on_phone(&self, customer: &str, reference: &str) {
        let status = self.answer_request_on_phone(customer, reference, "decline").await;
        assert!(status.is_success(), "the phone took the refusal: {status}");
    }

    /// Where the server registered for webhooks.
    fn webhook_url(&self) -> Url {
        self.running.url().join("webhooks/vipps").unwrap()
    }

    /// The secret of the server's webhook registration: the one secret it holds that is not a
    /// platform API credential.
    async fn webhook_secret(&self) -> String {
        let unit = self.sales_unit();
        let credentials = [unit.client_secret.expose(), unit.subscription_key.expose()];
        let mut others: Vec<String> =
            self.running.secrets().await.into_iter().filter(|s| !credentials.contains(&s.as_str())).collect();
        assert_eq!(others.len(), 1, "one webhook registration, so one webhook secret");
        others.remove(0)
    }

    /// Delivers a webhook to the server as the platform does, with these signing headers.
    async fn deliver_webhook(&self, body: &[u8], signed: &SignedHeaders) -> Answer {
        let request = self
            .http
            .post(self.webhook_url())
            .header("x-ms-date", &signed.date)
            .header("x-ms-content-sha256", &signed.content_sha256)
            .header(header::AUTHORIZATION, &signed.authorization)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        self.send(request).await
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SseEvent {
    id: Option<i64>,
    data: String,
}

impl SseEvent {
    /// Parses one event block; `None` for a block without data (a keep-alive comment).
    fn parse(block: &str) -> Option<Self> {
        let mut id = None;
        let mut data: Option<String> = None;
        for line in block.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.parse().expect("event ids are numbers")),
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
        data.map(|data| Self { id, data })
    }

    /// The till event this is.
    fn event(&self) -> TillEvent {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not a till event ({e}): {}", self.data))
    }

    /// The sale this event carries.
    fn sale(&self) -> Sale {
        match self.event() {
            TillEvent::Sale { sale } => sale,
            other @ TillEvent::CheckIn { .. } => panic!("a till event, but not a sale: {other:?}"),
        }
    }

    /// The sale this event carries, if it is a sale event.
    fn sale_if_any(&self) -> Option<Sale> {
        match self.event() {
            TillEvent::Sale { sale } => Some(sale),
            TillEvent::CheckIn { .. } => None,
        }
    }

    /// The check-in this event carries, if it is a check-in event.
    fn check_in_if_any(&self) -> Option<CheckIn> {
        match self.event() {
            TillEvent::CheckIn { check_in } => Some(check_in),
            TillEvent::Sale { .. } => None,
        }
    }
}

/// A till's live event stream, read a chunk at a time.
struct EventStream {
    response: reqwest::Response,
    headers: HeaderMap,
    pending: Vec<u8>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl EventStream {
    /// The next event (keep-alives skipped), however long it takes.
    async fn read_event(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("events are UTF-8");
                self.seen.lock().unwrap().push(text.clone());
                if let Some(event) = SseEvent::parse(&text) {
                    return event;
                }
                continue;
            }
            let chunk = self.response.chunk().await.expect("the stream keeps working");
            let chunk = chunk.expect("the server keeps the stream open");
            self.pending.extend_from_slice(&chunk);
        }
    }

    /// Reads events until one satisfies `done`, and returns them all, that one last. Fails if
    /// it does not arrive within [`PATIENCE`].
    async fn next_event_until(
        &mut self,
        what: &str,
        mut done: impl FnMut(&SseEvent) -> bool,
    ) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let arrived = tokio::time::timeout(PATIENCE, async {
            loop {
                let event = self.read_event().await;
                let last = done(&event);
                events.push(event);
                if last {
                    return;
                }
            }
        })
        .await;
        assert!(arrived.is_ok(), "no event {what} within {PATIENCE:?}; the stream sent {events:#?}");
        events
    }

    /// The next `n` events.
    async fn next_events(&mut self, n: usize) -> Vec<SseEvent> {
        if n == 0 {
            return Vec::new();
        }
        let mut count = 0;
        self.next_event_until(&format!("number {n}"), |_| {
            count += 1;
            count == n
        })
        .await
    }

    /// Reads until `reference` reaches `status`; returns the events read, that one last.
    /// Check-in events on the way are read too, and returned.
    async fn until_sale_is(&mut self, reference: &str, status: SaleStatus) -> Vec<SseEvent> {
        self.next_event_until(&format!("showing {reference} {status:?}"), |e| {
            e.sale_if_any().is_some_and(|sale| sale.reference == reference && sale.status == status)
        })
        .await
    }

    /// Reads until a check-in event satisfies `done`; returns that check-in.
    async fn until_check_in(&mut self, what: &str, mut done: impl FnMut(&CheckIn) -> bool) -> CheckIn {
        let events = self.next_event_until(what, |e| e.check_in_if_any().is_some_and(|c| done(&c))).await;
        events.last().and_then(SseEvent::check_in_if_any).expect("the last event read is the check-in")
    }
}

/// The statuses of a run of sale events.
fn statuses(events: &[SseEvent]) -> Vec<SaleStatus> {
    events.iter().map(|e| e.sale().status).collect()
}

/// The writes of one kind among those the platform received.
fn writes<'a>(received: &'a [ReceivedWrite], operation: &str) -> Vec<&'a ReceivedWrite> {
    received.iter().filter(|w| w.operation == operation).collect()
}

/// Every webhook delivery the simulator has finished so far was answered with a 2xx: the
/// server accepts the platform's genuine signatures (a refusal would leave the sale to polling).
fn assert_all_deliveries_acknowledged(app: &TestApp) {
    let attempts = app.sim().webhook_attempts();
    assert!(
        attempts.iter().all(|a| a.status.is_some_and(|s| (200..300).contains(&s))),
        "the server refused a genuine delivery: {attempts:#?}"
    );
}

/// Whether `text` holds something shaped like an access token the simulator issues
/// (`sim.` + 32 hex digits + `.` + 32 hex digits).
fn holds_sim_access_token(text: &str) -> bool {
    let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    text.match_indices("sim.").any(|(at, _)| {
        let rest = &text[at + 4..];
        rest.get(..32).is_some_and(hex) && rest.get(32..33) == Some(".") && rest.get(33..65).is_some_and(hex)
    })
}

/// The value of `attribute` in the first tag at or after `marker` in `html`, if any.
/// The page of a simulated customer's phone (`customer` is their number).
async fn phone_page(sim: &SimHandle, customer: &str) -> String {
    let mut url = sim.phone_url();
    url.query_pairs_mut().append_pair("customer", customer);
    let page = browser().get(url).send().await.expect("the phone page answers");
    assert_eq!(page.status(), StatusCode::OK, "the phone page opens");
    page.text().await.unwrap()
}

/// `customer` answers the push payment request for `reference` on their phone page, with the
/// page's own form; returns the phone's status.
async fn answer_request_on_phone(
    sim: &SimHandle,
    customer: &str,
    reference: &str,
    action: &str,
) -> StatusCode {
    let page = phone_page(sim, customer).await;
    let form = attribute_after(&page, &format!("data-reference=\"{reference}\""), "action")
        .unwrap_or_else(|| panic!("{reference} is not waiting on {customer}'s phone: {page}"));
    let url = sim.base_url().join(form).unwrap();
    let response = browser()
        .post(url)
        .form(&[("action", action), ("customer", customer)])
        .send()
        .await
        .expect("the phone page answers");
    response.status()
}

fn attribute_after<'a>(html: &'a str, marker: &str, attribute: &str) -> Option<&'a str> {
    let rest = &html[html.find(marker)?..];
    let start = rest.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    Some(&rest[start..start + rest[start..].find('"')?])
}

#[path = "api/access.rs"]
mod access;
#[path = "api/cli.rs"]
mod cli;
#[path = "api/crash.rs"]
mod crash;
#[path = "api/flows.rs"]
mod flows;
#[path = "api/landing.rs"]
mod landing;
#[path = "api/late_create.rs"]
mod late_create;
#[path = "api/migration.rs"]
mod migration;
#[path = "api/money.rs"]
mod money;
#[path = "api/operations.rs"]
mod operations;
#[path = "api/stickers.rs"]
mod stickers;
#[path = "api/subscriptions.rs"]
mod subscriptions;
#[path = "api/webhooks.rs"]
mod webhooks;

#[tokio::test]
async fn a_qr_sale_goes_from_awaiting_customer_to_captured_after_the_customer_approves() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;

    let sale = app.start_sale(12_350).await;
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    assert_eq!(sale.till_id, TILL);
    assert_eq!(sale.flow, Flow::Qr);
    assert_eq!(sale.amount, Money::new(12_350, Currency::Nok));
    assert!(
        sale.qr.as_deref().is_some_and(|qr| qr.contains("/sim/pay/")),
        "the QR points at the app: {sale:?}"
    );

    app.approve(&sale).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    assert!(seen.iter().all(|e| e.sale().reference == sale.reference), "{seen:#?}");
    assert!(statuses(&seen).contains(&SaleStatus::AwaitingCustomer), "the till showed the QR: {seen:#?}");
    let captured = seen.last().unwrap().sale();
    assert_eq!(captured.captured, Money::new(12_350, Currency::Nok));
    assert_eq!(captured.qr, None, "a paid sale's QR code is no longer shown");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Captured, "a reload shows the same");
    assert_eq!(app.snapshot().await.sale.map(|s| s.status), Some(SaleStatus::Captured));

    let payment = app.platform_payment(&sale.reference);
    assert_eq!(payment.state, State::Authorized);
    assert_eq!(payment.aggregate.captured_amount.value, 12_350);

    let received = app.received(&sale.reference);
    let mut keys = Vec::new();
    for operation in ["create", "capture"] {
        let sent = writes(&received, operation);
        assert_eq!(sent.len(), 1, "the {operation} reached the platform exactly once: {received:#?}");
        let write = sent[0];
        assert!(write.applied, "{write:?}");
        let key = write.idempotency_key.clone().filter(|k| !k.is_empty());
        keys.push(key.unwrap_or_else(|| panic!("the {operation} had an Idempotency-Key: {write:?}")));
        let system = &write.system;
        for (name, value) in [
            ("Vipps-System-Name", &system.system_name),
            ("Vipps-System-Version", &system.system_version),
            ("Vipps-System-Plugin-Name", &system.plugin_name),
            ("Vipps-System-Plugin-Version", &system.plugin_version),
        ] {
            assert!(value.as_deref().is_some_and(|v| !v.is_empty()), "the {operation} had {name}: {write:?}");
        }
    }
    assert_ne!(keys[0], keys[1], "each operation has its own idempotency key");
    assert_all_deliveries_acknowledged(&app);
}

#[tokio::test]
async fn a_declined_qr_sale_shows_declined_and_nothing_is_captured() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(4_990).await;

    app.decline(&sale).await;
    let seen = events.until_sale_is(&sale.reference, SaleStatus::Declined).await;
    let declined = seen.last().unwrap().sale();
    assert_eq!(declined.captured, Money::zero(Currency::Nok));
    assert_eq!(declined.qr, None);
    assert_eq!(app.snapshot().await.sale.map(|s| s.status), Some(SaleStatus::Declined));

    let payment = app.platform_payment(&sale.reference);
    assert_eq!(payment.state, State::Aborted);
    assert_eq!(payment.aggregate.authorized_amount.value, 0);
    assert_eq!(payment.aggregate.captured_amount.value, 0);
    let received = app.received(&sale.reference);
    assert!(writes(&received, "capture").is_empty(), "nothing was captured: {received:#?}");
}

#[tokio::test]
async fn cancelling_before_approval_shows_cancelled_and_a_second_cancel_is_refused() {
    let app = spawn_app().await;
    let sale = app.start_sale(2_500).await;

    let cancelled = app.cancel(&sale.reference).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let cancelled: Sale = cancelled.json();
    assert_eq!(cancelled.status, SaleStatus::Cancelled);
    assert_eq!(cancelled.qr, None, "a cancelled sale's QR code is no longer shown");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Cancelled);
    assert_eq!(app.platform_payment(&sale.reference).state, State::Terminated);

    let again = app.cancel(&sale.reference).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.problem().code.as_deref(), Some("not-cancellable"));

    // A customer who scans the old QR code afterwards cannot pay: the phone says so.
    assert!(app.try_answer_on_phone(&sale, "approve").await.is_client_error());
    assert_eq!(app.platform_payment(&sale.reference).state, State::Terminated);
    let received = app.received(&sale.reference);
    assert!(writes(&received, "capture").is_empty(), "nothing was captured: {received:#?}");
    assert_eq!(app.sale(&sale.reference).await.status, SaleStatus::Cancelled);
}

#[tokio::test]
async fn a_till_with_a_sale_in_progress_refuses_a_second_one_until_the_first_is_final() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let first = app.start_sale(10_000).await;

    let body = json!({"amount": {"value": 20_000, "currency": "NOK"}, "flow": "qr"});
    let refused = app.try_start_sale(&body).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let problem = refused.problem();
    assert_eq!(problem.code.as_deref(), Some("till-busy"));
    assert!(
        problem.sentence().contains(&first.reference),
        "the refusal names the sale in progress ({}): {problem:?}",
        first.reference
    );
    assert_eq!(app.snapshot().await.sale.map(|s| s.reference), Some(first.reference.clone()));
    assert_eq!(app.sim().payment_records().len(), 1, "the refused sale never reached the platform");

    app.decline(&first).await;
    events.until_sale_is(&first.reference, SaleStatus::Declined).await;
    let second = app.try_start_sale(&body).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let second: Sale = second.json();
    assert_ne!(second.reference, first.reference, "a new attempt is a new reference");
    assert_eq!(second.status, SaleStatus::AwaitingCustomer);
    assert_eq!(second.amount, Money::new(20_000, Currency::Nok));
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let sales = format!("/api/tills/{TILL}/sales");
    let cases: [(&str, String, &str, &str, StatusCode, &str); 8] = [
        (
            "a DKK amount at a NOK till",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":12350,"currency":"DKK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "wrong-currency",
        ),
        (
            "99 øre, below the NOK minimum",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":99,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "amount-too-small",
        ),
        (
            "a negative amount",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":-100,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "amount-too-small",
        ),
        (
            "more than the platform's largest payment",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":65000001,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "amount-too-large",
        ),
        (
            "a decimal amount",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":123.5,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::BAD_REQUEST,
            "bad-request-body",
        ),
        (
            "malformed JSON",
            sales.clone(),
            "application/json",
            r#"{"amount":{"value":12350,"#,
            StatusCode::BAD_REQUEST,
            "bad-request-body",
        ),
        (
            "a body that is not JSON",
            sales.clone(),
            "text/plain",
            "123.50 kr",
            StatusCode::BAD_REQUEST,
            "bad-request-body",
        ),
        (
            "another till than the one this browser is paired with",
            "/api/tills/till-9/sales".to_owned(),
            "application/json",
            r#"{"amount":{"value":12350,"currency":"NOK"},"flow":"qr"}"#,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (what, path, content_type, body, status, code) in cases {
        let answer = app.post_raw(&path, content_type, body).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert_eq!(answer.problem().code.as_deref(), Some(code), "{what}");
        let snapshot = app.snapshot().await;
        assert_eq!(snapshot.sale, None, "{what}: no sale was recorded");
        assert_eq!(snapshot.last_event_id, 0, "{what}: the till was told nothing");
        assert!(app.sim().payment_records().is_empty(), "{what}: nothing reached the platform");
    }

    // A body past the server's 64 KiB limit is refused before it is read.
    let padding = "x".repeat(70 * 1024);
    let oversized = json!({"amount": {"value": 12_350, "currency": "NOK"}, "flow": "qr", "note": padding});
    let answer = app.try_start_sale(&oversized).await;
    assert!(answer.status.is_client_error(), "an oversized body is refused: {}", answer.status);
    answer.problem();
    assert_eq!(app.snapshot().await.sale, None, "an oversized body records no sale");

    let unknown = app.get("/api/tills/till-9").await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN, "a paired browser sees only its own till");
    assert_eq!(unknown.problem().code.as_deref(), Some("forbidden"));
    let no_sale = app.get(&format!("/api/tills/{TILL}/sales/{TILL}-000000000000")).await;
    assert_eq!(no_sale.status, StatusCode::NOT_FOUND);
    assert_eq!(no_sale.problem().code.as_deref(), Some("unknown-payment"));
}

#[tokio::test]
async fn a_webhook_that_is_not_genuinely_signed_and_fresh_is_refused_and_a_duplicate_changes_nothing() {
    let app = spawn_app().await;
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;

    // The platform's own AUTHORIZED event for this payment, as it was delivered.
    let logged = app.platform_events(&sale.reference).await;
    let authorized = logged
        .iter()
        .find(|e| e.name == PaymentEventName::Authorized)
        .unwrap_or_else(|| panic!("the platform logged the approval: {logged:#?}"));
    let event = WebhookEvent {
        msn: MSN.to_owned(),
        reference: authorized.reference.clone(),
        psp_reference: authorized.psp_reference.clone(),
        name: authorized.name,
        amount: authorized.amount,
        timestamp: authorized.timestamp,
        idempotency_key: authorized.idempotency_key.clone(),
        success: authorized.success,
    };
    let body = serde_json::to_vec(&event).unwrap();
    let url = app.webhook_url();
    let secret = app.webhook_secret().await;
    let now = signing::http_date(Utc::now());
    let stale = signing::http_date(Utc::now() - chrono::Duration::minutes(10));
    let early = signing::http_date(Utc::now() + chrono::Duration::minutes(10));
    let mut changed = event.clone();
    changed.amount.value = 1;
    let changed = serde_json::to_vec(&changed).unwrap();
    let genuine = signing::sign(&secret, &url, &now, &body).unwrap();
    let client_secret = app.sales_unit().client_secret.expose().to_owned();

    let forged: [(&str, &[u8], SignedHeaders); 6] = [
        ("signed with a made-up secret", &body, signing::sign("not-our-secret", &url, &now, &body).unwrap()),
        (
            "signed with the API client secret instead of the webhook secret",
            &body,
            signing::sign(&client_secret, &url, &now, &body).unwrap(),
        ),
        ("a body changed after signing", &changed, genuine.clone()),
        ("a stale x-ms-date", &body, signing::sign(&secret, &url, &stale, &body).unwrap()),
        ("an x-ms-date from the future", &body, signing::sign(&secret, &url, &early, &body).unwrap()),
        (
            "no signature at all",
            &body,
            SignedHeaders {
                date: now.clone(),
                content_sha256: genuine.content_sha256.clone(),
                authorization: String::new(),
            },
        ),
    ];
    for (what, sent, headers) in forged {
        let answer = app.deliver_webhook(sent, &headers).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}: {}", answer.body);
        assert_eq!(answer.problem().code.as_deref(), Some("unauthorized"), "{what}");
    }

    // The genuine event delivered again, as the platform may: accepted, and harmless.
    let again = app.deliver_webhook(&body, &genuine).await;
    assert_eq!(again.status, StatusCode::OK, "a correctly signed duplicate is acknowledged: {}", again.body);

    // The inbox is processed in arrival order, so once a later sale's webhooks have been acted
    // on, the duplicate has been too. Nothing about the first sale may have changed meanwhile.
    let next = app.start_sale(3_000).await;
    app.approve(&next).await;
    let seen = events.until_sale_is(&next.reference, SaleStatus::Captured).await;
    assert!(
        seen.iter().all(|e| e.sale().reference == next.reference),
        "the duplicate and the refused deliveries told the till nothing: {seen:#?}"
    );
    assert_eq!(app.sale(&sale.reference).await.captured, Money::new(12_350, Currency::Nok));
    assert_eq!(app.platform_payment(&sale.reference).aggregate.captured_amount.value, 12_350);
    let received = app.received(&sale.reference);
    assert_eq!(
        writes(&received, "capture").len(),
        1,
        "no second capture reached the platform: {received:#?}"
    );
    assert_all_deliveries_acknowledged(&app);
}

#[tokio::test]
async fn no_platform_credential_ever_reaches_a_browser() {
    let app = spawn_app().await;
    let session = app.get("/api/session").await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.body);
    let mut events = app.events_after(app.snapshot().await.last_event_id).await;
    let sale = app.start_sale(12_350).await;
    let busy = app.try_start_sale(&json!({"amount": {"value": 100, "currency": "NOK"}, "flow": "qr"})).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    app.approve(&sale).await;
    events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    app.sale(&sale.reference).await;
    app.snapshot().await;
    let late_cancel = app.cancel(&sale.reference).await;
    assert_eq!(late_cancel.status, StatusCode::CONFLICT, "{}", late_cancel.body);
    assert_eq!(app.get("/api/tills/till-9").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/no-such-thing").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/till").await.status, StatusCode::OK);

    let unit = app.sales_unit();
    let secrets = app.running.secrets().await;
    for credential in [unit.client_secret.expose(), unit.subscription_key.expose()] {
        assert!(secrets.iter().any(|s| s == credential), "secrets() lists the API credentials");
    }
    assert!(secrets.len() >= 3, "secrets() lists the webhook secret too: {} secrets", secrets.len());
    let mut forbidden: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
    forbidden.push(unit.client_id.clone());
    let tokens = app.sim().issued_tokens();
    assert!(!tokens.is_empty(), "the server fetched an access token");
    forbidden.extend(tokens);

    let issued_shape = format!("sim.{}.{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    assert!(holds_sim_access_token(&format!("x{issued_shape}\"")), "the token check recognises a token");

    let seen = app.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.contains("\"captured\"")), "the record holds the SSE text");
    for text in &seen {
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "a platform credential reached the browser: {text}");
        }
        assert!(!holds_sim_access_token(text), "an access token reached the browser: {text}");
        assert!(!text.contains("Bearer"), "an access token reached the browser: {text}");
    }
}

#[tokio::test]
async fn a_reconnecting_event_stream_replays_exactly_what_it_missed() {
    let app = spawn_app().await;
    let first_after = app.snapshot().await.last_event_id;
    let mut events = app.events_after(first_after).await;
    let sale = app.start_sale(7_700).await;
    app.approve(&sale).await;
    let all = events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
    let ids: Vec<i64> = all.iter().map(|e| e.id.expect("every event has an id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "event ids increase: {ids:?}");
    assert!(all.len() >= 3, "a paid sale is several events: {all:#?}");

    // The browser lost the connection after the first event; its EventSource reconnects to the
    // same URL and says what it last saw.
    let mut replay = app.reconnect_events(first_after, ids[0]).await;
    let replayed = replay.next_events(all.len() - 1).await;
    assert_eq!(replayed, all[1..], "the later events, in order, once each");

    // And nothing else: the next event on the resumed stream is the next thing that happens.
    let next = app.start_sale(1_000).await;
    let fresh = replay.next_events(1).await;
    assert!(fresh[0].id.unwrap() > *ids.last().unwrap());
    assert_eq!(fresh[0].sale().reference, next.reference);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_unknown_api_paths_are_problems() {
    let app = spawn_app().await;
    let mut answers = vec![
        ("an API response", app.get(&format!("/api/tills/{TILL}")).await),
        ("a static file", app.get("/app.css").await),
        ("the app at /till", app.get("/till").await),
        ("the app at /display/till-1", app.get("/display/till-1").await),
        ("the history", app.get("/till/sales/kasse-till-1-0001").await),
        ("an API error", app.get("/api/tills/till-9").await),
        ("a refused webhook", app.post_raw("/webhooks/vipps", "application/json", "{}").await),
        ("the health check", app.get("/healthz").await),
    ];
    assert_eq!(answers[1].1.body, STYLESHEET);
    assert_eq!(answers[2].1.body, INDEX_HTML, "/till is the app");
    assert_eq!(answers[3].1.body, DISPLAY_HTML, "/display/… is the display's own bundle");
    assert_eq!(answers[4].1.body, HISTORY_HTML, "/till/sales/… is the history's own bundle");

    let unknown_api = [
        ("GET", "/api/no-such-thing"),
        ("GET", "/api/tills/till-1/no-such-thing"),
        ("GET", "/api/tills"),
        ("POST", "/api/no-such-thing"),
    ];
    for (method, path) in unknown_api {
        let request = if method == "GET" {
            app.http.get(format!("{}{path}", app.base))
        } else {
            app.http.post(format!("{}{path}", app.base)).json(&json!({}))
        };
        let answer = app.send(request).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}: {}", answer.body);
        assert_eq!(answer.problem().code.as_deref(), Some("not-found"), "{method} {path}");
        assert!(!answer.body.contains("kasse-test-index"), "{method} {path} is not the app's page");
        answers.push(("an unknown API path", answer));
    }

    let stream = app.events_after(0).await;
    let mut checked: Vec<(&str, HeaderMap)> =
        answers.into_iter().map(|(what, a)| (what, a.headers)).collect();
    checked.push(("the live event stream", stream.headers.clone()));
    for (what, headers) in checked {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(get("content-security-policy"), Some(kasse_server::CSP), "{what}");
        assert_eq!(get("x-content-type-options"), Some("nosniff"), "{what}");
        assert!(get("referrer-policy").is_some_and(|v| !v.is_empty()), "{what}");
        assert_eq!(get("x-frame-options"), Some("DENY"), "{what}");
    }
}

#[tokio::test]
async fn every_api_error_is_a_problem_even_at_the_api_root_or_with_a_wrong_method() {
    let app = spawn_app().await;
    let cases = [
        ("GET", "/api", StatusCode::NOT_FOUND),
        ("GET", "/api/", StatusCode::NOT_FOUND),
        ("DELETE", "/api/tills/till-1", StatusCode::METHOD_NOT_ALLOWED),
        ("DELETE", "/api/tills/till-1/sales", StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (method, path, status) in cases {
        let request = app.http.request(method.parse().unwrap(), format!("{}{path}", app.base));
        let answer = app.send(request).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        assert!(!answer.body.contains("kasse-test-index"), "{method} {path} is not the app's page");
        answer.problem();
    }
}

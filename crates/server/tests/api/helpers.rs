//! The harness every test module shares: [`spawn_app`] starts a real server with its built-in
//! platform simulator (port 0, a database of its own, a throwaway `dist`), and [`TestApp`] talks to
//! it over HTTP as a paired till's browser does, recording everything the server sent; [`Answer`]
//! is a response read whole. What the platform received and holds is read from the simulator.
//! The few small readers several modules share (`writes`, `metric`) are here too.
//!
//! `sse` reads the till's live event stream, `phone` plays the simulated customer's phone page,
//! `journey` runs the real binary as a child process that can die and be started again (for the
//! crash tests), one instance or two on one database, and `database` makes each server's database:
//! in-memory SQLite, or with `KASSE_TEST_DATABASE=postgres` a fresh PostgreSQL database.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kasse_api::{CheckIn, Presented, Problem, Role, Sale, SaleStatus, TillEvent, TillSnapshot};
use kasse_server::{Config, Running, TillConfig};
use kasse_sim::{ReceivedWrite, SalesUnit, SimHandle};
use kasse_vipps::epayment::{GetPaymentResponse, PaymentEvent};
use kasse_vipps::signing::SignedHeaders;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use url::Url;

mod phone;
mod sse;

pub(crate) mod database;
pub(crate) mod journey;
pub(crate) mod pos;

pub(crate) use phone::{answer_request_on_phone, attribute_after, phone_page, scan_callback_sticker};
pub(crate) use sse::{EventStream, SseEvent, statuses};

/// The demo till and its store's sales unit.
pub(crate) const TILL: &str = "till-1";
pub(crate) const MSN: &str = "123456";
/// A simulated customer (Kari Nordmann).
pub(crate) const CUSTOMER: &str = "4791234567";
/// How long a test waits for something before it fails (a guard, never a measurement).
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);
/// The app's entry page, served for every app route.
pub(crate) const INDEX_HTML: &str = "<!doctype html><title>kasse test app</title><p id=\"kasse-test-index\">";
/// The history bundle's page, in `dist/history/`.
pub(crate) const HISTORY_HTML: &str = "<!doctype html><title>kasse test history</title>";
/// The customer display bundle's page, in `dist/display/`.
pub(crate) const DISPLAY_HTML: &str = "<!doctype html><title>kasse test display</title>";
/// A static file of the app.
pub(crate) const STYLESHEET: &str = "body { color: #1d1d1f }";
/// The server binary, for the tests that run it as an operator or a service manager would.
pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_kasse-server");

/// A running server, its simulator, and an HTTP client that records everything the server says.
pub(crate) struct TestApp {
    pub(crate) running: Running,
    /// `http://127.0.0.1:{port}`, without a trailing slash.
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    /// The temporary folder holding `dist`, removed when the test ends.
    pub(crate) dir: PathBuf,
    /// Every header block and body the server sent to this test's "browser", SSE text included.
    pub(crate) seen: Arc<Mutex<Vec<String>>>,
    /// The PostgreSQL database made for this server (`KASSE_TEST_DATABASE=postgres`), dropped after
    /// the server (last of the fields).
    postgres: Option<database::PostgresDatabase>,
}

/// Starts a server on port 0 with the demo configuration (one NOK store, till `till-1`, the
/// simulator on port 0), a database of its own (in-memory SQLite, or a fresh PostgreSQL database
/// when `KASSE_TEST_DATABASE=postgres`), and a `dist` holding `index.html`, `app.css` and the
/// history's and the display's pages.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the demo configuration changed by `configure` first.
pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
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
    let postgres = database::postgres_if_chosen().await;
    postgres
        .as_ref()
        .map_or("sqlite::memory:", database::PostgresDatabase::url)
        .clone_into(&mut config.database_url);
    configure(&mut config);
    let running = kasse_server::start(config).await.expect("the server starts");
    let base = format!("http://{}", running.addr());
    let cookie = pair(&running, &base, Role::Till).await;
    // Talk to 127.0.0.1 directly, whatever proxy the environment names, as the paired till.
    let http = browser_with_cookie(&cookie);
    TestApp { running, base, http, dir, seen: Arc::new(Mutex::new(Vec::new())), postgres }
}

/// The second till of the demo store, with no stickers of its own in the configuration.
pub(crate) fn second_till(config: &mut Config) {
    let till = TillConfig {
        id: "till-2".to_owned(),
        name: "Kasse 2".to_owned(),
        callback_qr: None,
        redirect_sticker: None,
        ..config.tills[0].clone()
    };
    config.tills.push(till);
}

/// Pairs a browser with the till as `role`, the way the pairing page does; returns its cookie.
pub(crate) async fn pair(running: &Running, base: &str, role: Role) -> String {
    pair_with_till(running, base, TILL, role).await
}

/// Pairs a browser with `till` as `role`; returns its cookie (`kasse_session=…`).
pub(crate) async fn pair_with_till(running: &Running, base: &str, till: &str, role: Role) -> String {
    let code = running.pairing_code(till, role).await.unwrap();
    let answer =
        browser().post(format!("{base}/api/pair")).json(&json!({ "code": code })).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "pairing works");
    let set_cookie = answer.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A browser without a session: no cookie, and talking to 127.0.0.1 directly whatever proxy
/// the environment names.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A browser holding `cookie` (`name=value`).
pub(crate) fn browser_with_cookie(cookie: &str) -> reqwest::Client {
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
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    /// The body as JSON of type `T`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not the JSON expected ({e}): {}", self.body))
    }

    /// A header's value, if present and text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as an RFC 7807 problem, checking its media type and that it repeats the status.
    pub(crate) fn problem(&self) -> Problem {
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
    pub(crate) fn sim(&self) -> &SimHandle {
        self.running.sim().expect("the demo configuration runs the simulator")
    }

    /// The demo store's sales unit at the simulator, credentials included.
    pub(crate) fn sales_unit(&self) -> &SalesUnit {
        self.sim().config().sales_unit(MSN).expect("the simulator has the demo store's sales unit")
    }

    /// Sends a request, records what came back, and returns it read whole.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
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
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// `POST {path}` on the server with a raw body of a content type.
    pub(crate) async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.to_owned());
        self.send(request).await
    }

    /// `POST {path}` on the server with a JSON body.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post_raw(path, "application/json", &body.to_string()).await
    }

    /// The till as a page loading it sees it.
    pub(crate) async fn snapshot(&self) -> TillSnapshot {
        let answer = self.get(&format!("/api/tills/{TILL}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// Asks the till for a QR sale of `body`, whatever the answer.
    pub(crate) async fn try_start_sale(&self, body: &Value) -> Answer {
        self.post_json(&format!("/api/tills/{TILL}/sales"), body).await
    }

    /// The URL of this server's PostgreSQL database, when it runs on one.
    pub(crate) fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(database::PostgresDatabase::url)
    }

    /// Starts a QR sale of `value` øre and checks it was accepted.
    pub(crate) async fn start_sale(&self, value: i64) -> Sale {
        let answer =
            self.try_start_sale(&json!({"amount": {"value": value, "currency": "NOK"}, "flow": "qr"})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "the sale is accepted: {}", answer.body);
        answer.json()
    }

    /// A QR sale of `value` øre, approved by the customer and, as the demo's till captures
    /// automatically, taken.
    pub(crate) async fn taken_sale(&self, value: i64) -> Sale {
        let mut events = self.events_after(self.snapshot().await.last_event_id).await;
        let sale = self.start_sale(value).await;
        self.approve(&sale).await;
        events.until_sale_is(&sale.reference, SaleStatus::Captured).await;
        sale
    }

    /// A sale as the till reads it.
    pub(crate) async fn sale(&self, reference: &str) -> Sale {
        let answer = self.get(&format!("/api/tills/{TILL}/sales/{reference}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// Presses "cancel" at the till.
    pub(crate) async fn cancel(&self, reference: &str) -> Answer {
        self.post_raw(&format!("/api/tills/{TILL}/sales/{reference}/cancel"), "application/json", "").await
    }

    /// The payment as the platform holds it.
    pub(crate) fn platform_payment(&self, reference: &str) -> GetPaymentResponse {
        self.sim().payment(MSN, reference).expect("the platform has the payment")
    }

    /// Every write the platform received for a payment (replays included).
    pub(crate) fn received(&self, reference: &str) -> Vec<ReceivedWrite> {
        self.sim()
            .payment_records()
            .into_iter()
            .find(|p| p.reference == reference)
            .map(|p| p.received)
            .unwrap_or_default()
    }

    /// A platform client acting for the demo store with its own credentials, as the merchant's
    /// other tools would (never through the server).
    pub(crate) fn merchant_client(&self) -> kasse_vipps::Client {
        self.merchant_client_of(MSN)
    }

    /// [`TestApp::merchant_client`] for the sales unit `msn` of the simulator.
    pub(crate) fn merchant_client_of(&self, msn: &str) -> kasse_vipps::Client {
        let unit = self.sim().config().sales_unit(msn).expect("the simulator has the sales unit");
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
    pub(crate) async fn platform_events(&self, reference: &str) -> Vec<PaymentEvent> {
        self.merchant_client()
            .payment_events(reference)
            .await
            .expect("the platform lists the payment's events")
    }

    /// `POST {path}` with a JSON body and the browser's `Idempotency-Key`.
    pub(crate) async fn post_json_with_key(&self, path: &str, body: &Value, key: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .body(body.to_string());
        self.send(request).await
    }

    /// Where the server registered for webhooks.
    pub(crate) fn webhook_url(&self) -> Url {
        self.running.url().join("webhooks/vipps").unwrap()
    }

    /// The secret of the server's webhook registration: the one secret it holds that is not a
    /// platform API credential.
    pub(crate) async fn webhook_secret(&self) -> String {
        let unit = self.sales_unit();
        let credentials = [unit.client_secret.expose(), unit.subscription_key.expose()];
        let mut others: Vec<String> =
            self.running.secrets().await.into_iter().filter(|s| !credentials.contains(&s.as_str())).collect();
        assert_eq!(others.len(), 1, "one webhook registration, so one webhook secret");
        others.remove(0)
    }

    /// Delivers a webhook to the server as the platform does, with these signing headers.
    pub(crate) async fn deliver_webhook(&self, body: &[u8], signed: &SignedHeaders) -> Answer {
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

    /// A browser paired with `till`.
    pub(crate) async fn browser_of(&self, till: &str) -> reqwest::Client {
        browser_with_cookie(&pair_with_till(&self.running, &self.base, till, Role::Till).await)
    }

    /// `till`'s open check-ins, read through `browser` (paired with it).
    pub(crate) async fn check_ins_of(&self, browser: &reqwest::Client, till: &str) -> Vec<CheckIn> {
        let answer = self.send(browser.get(format!("{}/api/tills/{till}/check-ins", self.base))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }
}

/// The writes of one kind among those the platform received.
pub(crate) fn writes<'a>(received: &'a [ReceivedWrite], operation: &str) -> Vec<&'a ReceivedWrite> {
    received.iter().filter(|w| w.operation == operation).collect()
}

/// Every webhook delivery the simulator has finished so far was answered with a 2xx: the
/// server accepts the platform's genuine signatures (a refusal would leave the sale to polling).
pub(crate) fn assert_all_deliveries_acknowledged(app: &TestApp) {
    let attempts = app.sim().webhook_attempts();
    assert!(
        attempts.iter().all(|a| a.status.is_some_and(|s| (200..300).contains(&s))),
        "the server refused a genuine delivery: {attempts:#?}"
    );
}

impl TestApp {
    /// `/metrics`, read whole.
    pub(crate) async fn metrics_text(&self) -> String {
        let answer = self.get("/metrics").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body
    }

    /// Waits until the count of webhooks stored and not processed is one `wanted` takes.
    pub(crate) async fn until_unprocessed_webhooks(&self, wanted: impl Fn(i64) -> bool) {
        until(|| async {
            let text = self.metrics_text().await;
            metric(&text, "kasse_webhooks_unprocessed").is_some_and(&wanted)
        })
        .await;
    }

    /// The till presents `value` øre to its sticker.
    pub(crate) async fn present(&self, value: i64) {
        let request = self
            .http
            .put(format!("{}/api/tills/{TILL}/presented", self.base))
            .json(&json!({ "amount": { "value": value, "currency": "NOK" } }));
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    /// What the till presents and who claimed it, as the till reads it.
    pub(crate) async fn presented_at_till(&self) -> Option<Presented> {
        let answer = self.get(&format!("/api/tills/{TILL}/presented")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }
}

/// Waits, checking now and then, until `done` says so; fails the test after 30 s.
pub(crate) async fn until<F: std::future::Future<Output = bool>>(mut done: impl FnMut() -> F) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "waited 30 s in vain");
}

/// The value of the sample `series` (a metric name with its labels, as exposed) in Prometheus
/// text, if present.
pub(crate) fn metric(text: &str, series: &str) -> Option<i64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        Some(value.trim().parse().unwrap_or_else(|e| panic!("{series} is not a number ({e}): {line}")))
    })
}

/// A folder holding a test's database file, removed when dropped.
pub(crate) struct DataDir(pub(crate) PathBuf);

impl DataDir {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("kasse-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// The database URL, for the server's configuration and the operator's commands.
    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.0.join("kasse.db").display())
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Adds a store to `config`, the demo store's settings and credentials under another `id`,
/// `name`, merchant serial number and currency (its own sales unit at the simulator): it, to
/// change further.
pub(crate) fn add_store<'c>(
    config: &'c mut Config,
    id: &str,
    name: &str,
    msn: &str,
    currency: kasse_api::Currency,
) -> &'c mut kasse_server::StoreConfig {
    let mut store = config.stores[0].clone();
    id.clone_into(&mut store.id);
    name.clone_into(&mut store.name);
    msn.clone_into(&mut store.msn);
    store.currency = currency;
    config.stores.push(store);
    config.stores.last_mut().unwrap()
}

/// Adds a till `id` called `name` to `config`'s `store`, the demo till's settings without its
/// stickers.
pub(crate) fn add_till(config: &mut Config, id: &str, name: &str, store: &str) {
    let mut till = config.tills[0].clone();
    id.clone_into(&mut till.id);
    name.clone_into(&mut till.name);
    store.clone_into(&mut till.store);
    till.callback_qr = None;
    till.redirect_sticker = None;
    config.tills.push(till);
}

/// Sets when `sale` was started, in the database file in `data`, as if it had been then.
pub(crate) fn started_at(data: &DataDir, sale: &Sale, at_ms: i64) {
    let conn = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    conn.busy_timeout(PATIENCE).unwrap();
    let moved = conn
        .execute("UPDATE payments SET created_at = ?1 WHERE reference = ?2", (at_ms, &sale.reference))
        .unwrap();
    assert_eq!(moved, 1);
}

/// A minute on for the refused captures of `reference`, in the database file in `data`: their
/// refusals made that much older, and the payment due to be read back at once (where kasse asks
/// again for a capture the platform could not make just now).
pub(crate) fn a_minute_after_the_capture_was_refused(data: &DataDir, reference: &str) {
    let db = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    db.busy_timeout(PATIENCE).unwrap();
    let aged = db
        .execute(
            "UPDATE operations SET updated_at = updated_at - 60000 WHERE reference = ?1 AND kind = 'capture'",
            [reference],
        )
        .unwrap();
    assert!(aged > 0, "no capture of {reference} to age");
    db.execute("UPDATE payments SET next_poll_at = 1 WHERE reference = ?1", [reference]).unwrap();
}

/// A server on the database file in `data`.
pub(crate) async fn spawn_app_on(data: &DataDir) -> TestApp {
    let url = data.url();
    spawn_app_with(move |config| config.database_url = url).await
}

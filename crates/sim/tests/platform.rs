//! Black-box tests of the simulated platform. Every test starts its own simulator on a free port
//! with `kasse_sim::start` and talks to it only over HTTP, the way a merchant's server talks to
//! the real platform: raw `reqwest` where the exact status code, headers and
//! `application/problem+json` body matter, and the typed `kasse_vipps::Client` where the point is
//! that the hand-written client and wire types round-trip against the simulator. Webhooks are
//! received by a tiny axum server started in the test, and every delivery is checked with
//! `kasse_vipps::signing::verify` using the secret from the registration. Nothing waits on a
//! timer: a test waits for what it expects to arrive, with a timeout only as a failure guard.

// `allow-unwrap-in-tests` covers `#[test]` functions, not the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failing test panics with what went wrong")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::routing::post;
use chrono::Timelike as _;
use kasse_sim::{DeliveryPolicy, SalesUnit, SimConfig, SimHandle};
use kasse_vipps::epayment::{
    CreatePaymentRequest, Customer, CustomerInteraction, ForceApprove, GetPaymentResponse, PaymentEvent,
    PaymentEventName, PaymentMethod, PaymentMethodType, QrFormat, QrImageFormat, State as PaymentState,
    UserFlow, WebhookEvent,
};
use kasse_vipps::signing::{self, Received};
use kasse_vipps::webhooks::{RegisterRequest, RegisterResponse, epayment_event_types};
use kasse_vipps::{Amount, Client, ClientConfig, Credentials, Currency, RetryPolicy, SystemInfo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use url::Url;

// Larger topics have their own files in this one test binary.
#[path = "platform/check_in.rs"]
mod check_in;
#[path = "platform/control.rs"]
mod control;
#[path = "platform/errors.rs"]
mod errors;
#[path = "platform/faults.rs"]
mod faults;
#[path = "platform/limits.rs"]
mod limits;
#[path = "platform/magic.rs"]
mod magic;
#[path = "platform/profile.rs"]
mod profile;
#[path = "platform/qr.rs"]
mod qr;
#[path = "platform/sales_units.rs"]
mod sales_units;

/// The first demo customer, a Norwegian number.
const KARI: &str = "4791234567";

/// Another Norwegian demo customer, 16 years old.
const OLA: &str = "4798765432";

/// How long a test waits for something it expects before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// A running simulator, an HTTP client, and the credentials of its NOK sales unit (`123456`).
struct TestSim {
    handle: SimHandle,
    http: reqwest::Client,
    unit: SalesUnit,
}

/// Starts a simulator with the demo configuration.
async fn spawn_sim() -> TestSim {
    spawn_sim_with(SimConfig::demo()).await
}

/// Starts a simulator with `config` on a free port of 127.0.0.1.
async fn spawn_sim_with(config: SimConfig) -> TestSim {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = kasse_sim::start(config, listener).unwrap();
    let unit = handle.config().sales_unit("123456").unwrap().clone();
    TestSim { handle, http: reqwest::Client::new(), unit }
}

/// A demo configuration whose webhook retries come after a few milliseconds and never give up.
fn fast_retries() -> SimConfig {
    let mut config = SimConfig::demo();
    config.delivery = DeliveryPolicy {
        retry_delays: vec![Duration::from_millis(5)],
        timeout: Duration::from_secs(5),
        give_up_after: u32::MAX,
    };
    config
}

/// An answer read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    /// The body as JSON.
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    /// The `Content-Type` header.
    fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).map_or("", |v| v.to_str().unwrap())
    }

    /// Asserts this is the platform's problem body for `status`, and returns it.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert_eq!(problem["type"], format!("https://httpstatuses.io/{status}"));
        assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()), "{problem}");
        let trace_id = problem["traceId"].as_str().unwrap();
        let parts: Vec<_> = trace_id.split('-').collect();
        assert_eq!(parts.len(), 4, "traceId {trace_id}");
        assert_eq!((parts[0], parts[1].len(), parts[2].len(), parts[3]), ("00", 32, 16, "01"), "{trace_id}");
        problem
    }

    /// Asserts this is a problem with ePayment error `code` (`{"name":"ErrorCode","reason":code}`).
    fn assert_error_code(&self, status: u16, code: &str) -> Value {
        let problem = self.problem(status);
        let details = problem["extraDetails"].as_array().unwrap();
        assert!(
            details.contains(&json!({ "name": "ErrorCode", "reason": code })),
            "expected {code}: {problem}"
        );
        problem
    }
}

impl TestSim {
    /// An absolute URL on the simulator.
    fn url(&self, path: &str) -> Url {
        self.handle.base_url().join(path).unwrap()
    }

    /// Sends a request and reads the whole answer.
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap();
        Answer { status, headers, body }
    }

    /// `POST /accesstoken/get` with these credentials.
    async fn token_call(&self, client_id: &str, client_secret: &str, subscription_key: &str) -> Answer {
        self.send(
            self.http
                .post(self.url("accesstoken/get"))
                .header("client_id", client_id)
                .header("client_secret", client_secret)
                .header("Ocp-Apim-Subscription-Key", subscription_key)
                .header("Merchant-Serial-Number", &self.unit.msn),
        )
        .await
    }

    /// A fresh access token for the NOK unit.
    async fn token(&self) -> String {
        let unit = &self.unit;
        let answer = self
            .token_call(&unit.client_id, unit.client_secret.expose(), unit.subscription_key.expose())
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// A request with every header the platform wants: bearer token, subscription key and MSN.
    async fn authed(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(self.token().await)
            .header("Ocp-Apim-Subscription-Key", self.unit.subscription_key.expose())
            .header("Merchant-Serial-Number", &self.unit.msn)
    }

    /// An authenticated `GET`.
    async fn get(&self, path: &str) -> Answer {
        self.send(self.authed(Method::GET, path).await).await
    }

    /// An authenticated `POST` of `body`, with `Idempotency-Key: key`.
    async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        let request = self.authed(Method::POST, path).await.header("Idempotency-Key", key);
        self.send(request.header(header::CONTENT_TYPE, "application/json").body(body.to_string())).await
    }

    /// A raw capture or refund (`operation`) of `value` øre.
    async fn modify(&self, operation: &str, reference: &str, key: &str, value: i64) -> Answer {
        let body = json!({ "modificationAmount": { "currency": "NOK", "value": value } });
        self.post(&format!("epayment/v1/payments/{reference}/{operation}"), key, &body).await
    }

    /// The typed platform client, acting for the NOK unit.
    fn client(&self) -> Client {
        self.client_for(&self.unit)
    }

    /// The typed platform client with `unit`'s credentials.
    fn client_for(&self, unit: &SalesUnit) -> Client {
        Client::new(ClientConfig {
            base_url: self.handle.base_url().clone(),
            credentials: Credentials {
                client_id: unit.client_id.clone(),
                client_secret: unit.client_secret.clone(),
                subscription_key: unit.subscription_key.clone(),
                msn: unit.msn.clone(),
            },
            system: SystemInfo {
                name: "kasse-tests".into(),
                version: "1.0.0".into(),
                plugin_name: "platform-rs".into(),
                plugin_version: "0.1.0".into(),
            },
            timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
            },
        })
        .unwrap()
    }

    /// Creates a `userFlow: QR` payment of `value` øre with the typed client and returns the token
    /// of its pay page (the QR code's target URL is `…/sim/pay/{token}`).
    async fn create_qr_payment(&self, reference: &str, value: i64) -> String {
        let created =
            self.client().create_payment(&qr_request(reference, value), &create_key(reference)).await;
        let redirect = created.unwrap().redirect_url.unwrap();
        token_of(&redirect)
    }

    /// Creates a push payment of `value` øre to `phone` with the typed client.
    async fn create_push_payment(&self, reference: &str, value: i64, phone: &str) {
        let request = CreatePaymentRequest {
            customer: Some(Customer::phone_number(phone)),
            user_flow: UserFlow::PushMessage,
            qr_format: None,
            ..qr_request(reference, value)
        };
        let created = self.client().create_payment(&request, &create_key(reference)).await.unwrap();
        assert_eq!(created.reference, reference);
        assert_eq!(created.redirect_url, None, "a push payment has no redirectUrl");
    }

    /// Answers on the phone, as a simulated customer does: the form POST of the pay page.
    async fn answer(&self, token: &str, action: &str, customer: &str) -> Answer {
        let form = [("action", action), ("customer", customer)];
        self.send(self.http.post(self.url(&format!("sim/pay/{token}"))).form(&form)).await
    }

    /// The customer `customer` approves the payment behind `token` on the phone.
    async fn approve(&self, token: &str, customer: &str) {
        let answer = self.answer(token, "approve", customer).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.text().contains("Approved"), "{}", answer.text());
    }

    /// Creates a QR payment and has Kari approve it.
    async fn authorized_payment(&self, reference: &str, value: i64) {
        let token = self.create_qr_payment(reference, value).await;
        self.approve(&token, KARI).await;
    }

    /// Registers `receiver` for every ePayment event with the typed client.
    async fn register(&self, receiver: &Receiver) -> RegisterResponse {
        let request = RegisterRequest {
            url: receiver.url.to_string(),
            events: epayment_event_types().map(Into::into).collect(),
        };
        self.client().register_webhook(&request).await.unwrap()
    }
}

/// A QR payment request for the NOK unit, as a till with a customer display sends it.
fn qr_request(reference: &str, value: i64) -> CreatePaymentRequest {
    CreatePaymentRequest {
        amount: Amount::new(value, Currency::Nok),
        customer: None,
        minimum_user_age: None,
        customer_interaction: Some(CustomerInteraction::CustomerPresent),
        industry_data: None,
        payment_method: PaymentMethod { kind: PaymentMethodType::Wallet },
        profile: None,
        reference: reference.to_owned(),
        return_url: None,
        user_flow: UserFlow::Qr,
        expires_at: None,
        qr_format: Some(QrFormat { format: QrImageFormat::TextTargetUrl, size: None }),
        payment_description: Some("Two coffees".to_owned()),
        receipt: None,
        metadata: None,
        receipt_url: None,
    }
}

/// The idempotency key a till would derive for creating `reference`.
fn create_key(reference: &str) -> String {
    format!("create-{reference}")
}

/// The token in a pay page or QR image URL: its last path segment.
fn token_of(url: &str) -> String {
    Url::parse(url).unwrap().path_segments().unwrap().next_back().unwrap().to_owned()
}

/// A raw create request body.
fn create_body(reference: &str, value: i64) -> Value {
    json!({
        "amount": { "currency": "NOK", "value": value },
        "customerInteraction": "CUSTOMER_PRESENT",
        "paymentMethod": { "type": "WALLET" },
        "reference": reference,
        "userFlow": "QR",
        "qrFormat": { "format": "TEXT/TARGETURL" },
    })
}

/// `{currency: NOK, value}` as JSON.
fn nok(value: i64) -> Value {
    json!({ "currency": "NOK", "value": value })
}

/// One webhook delivery as the receiver saw it.
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
    /// What the receiver answered.
    answered: StatusCode,
}

impl Delivery {
    /// The body as the typed webhook event.
    fn event(&self) -> WebhookEvent {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The body as raw JSON.
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What the receiver's handler shares with its [`Receiver`].
#[derive(Clone)]
struct ReceiverState {
    deliveries: mpsc::UnboundedSender<Delivery>,
    failing: Arc<AtomicBool>,
}

/// A webhook receiver on 127.0.0.1 that records every delivery (headers and raw body) and answers
/// 200, or 500 while it is set to fail.
struct Receiver {
    url: Url,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    failing: Arc<AtomicBool>,
}

impl Receiver {
    /// Starts a receiver at `http://127.0.0.1:{port}/webhooks/vipps`.
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/webhooks/vipps", listener.local_addr().unwrap())).unwrap();
        let (tx, deliveries) = mpsc::unbounded_channel();
        let failing = Arc::new(AtomicBool::new(false));
        let state = ReceiverState { deliveries: tx, failing: Arc::clone(&failing) };
        let app = Router::new().route("/webhooks/vipps", post(receive)).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, deliveries, failing }
    }

    /// From now on, answer 500 (`true`) or 200 (`false`).
    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The next delivery; fails the test if none comes within [`PATIENCE`].
    async fn next(&mut self) -> Delivery {
        tokio::time::timeout(PATIENCE, self.deliveries.recv())
            .await
            .expect("no webhook delivery arrived in time")
            .unwrap()
    }

    /// The next delivery, after checking that it is correctly signed with `secret`.
    async fn next_verified(&mut self, secret: &str) -> Delivery {
        let delivery = self.next().await;
        self.verify(secret, &delivery);
        delivery
    }

    /// Checks body hash and HMAC signature of `delivery` for this receiver's URL.
    fn verify(&self, secret: &str, delivery: &Delivery) {
        let h = |name: &str| delivery.headers.get(name).and_then(|v| v.to_str().ok());
        let received = Received {
            date: h("x-ms-date"),
            content_sha256: h("x-ms-content-sha256"),
            authorization: h("authorization"),
        };
        let verified = signing::verify(
            secret,
            &self.url,
            received,
            &delivery.body,
            chrono::Utc::now(),
            chrono::Duration::minutes(5),
        );
        assert_eq!(verified, Ok(()), "delivery of {}", String::from_utf8_lossy(&delivery.body));
    }
}

/// The receiver's one route: record the delivery, then answer.
async fn receive(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered =
        if state.failing.load(Ordering::SeqCst) { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    let _ = state.deliveries.send(Delivery { headers, body, answered });
    answered
}

/// An authenticated request with a token fetched beforehand, for when the token endpoint itself
/// may answer with a fault.
fn with_token(sim: &TestSim, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    sim.http
        .request(method, sim.url(path))
        .bearer_auth(token)
        .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
        .header("Merchant-Serial-Number", &sim.unit.msn)
}

/// `PUT /sim/control/faults`.
async fn put_faults(sim: &TestSim, knobs: &Value) -> Answer {
    sim.send(sim.http.put(sim.url("sim/control/faults")).json(knobs)).await
}

/// `POST /sim/control/clock` with `{advanceSeconds: seconds}` (any JSON number).
async fn advance(sim: &TestSim, seconds: Value) -> Answer {
    sim.send(sim.http.post(sim.url("sim/control/clock")).json(&json!({ "advanceSeconds": seconds }))).await
}

/// The `Retry-After` of a 429, in seconds.
fn retry_after(answer: &Answer) -> u64 {
    let value = answer.headers.get(header::RETRY_AFTER).expect("a 429 says when to retry");
    value.to_str().unwrap().parse().unwrap()
}

/// A typed client that retries many times, quickly: enough to get through a run of faults.
fn patient_client(sim: &TestSim) -> Client {
    client_waiting(sim, Duration::from_secs(10))
}

/// [`patient_client`], waiting `timeout` for each answer.
fn client_waiting(sim: &TestSim, timeout: Duration) -> Client {
    Client::new(ClientConfig {
        base_url: sim.handle.base_url().clone(),
        credentials: Credentials {
            client_id: sim.unit.client_id.clone(),
            client_secret: sim.unit.client_secret.clone(),
            subscription_key: sim.unit.subscription_key.clone(),
            msn: sim.unit.msn.clone(),
        },
        system: SystemInfo {
            name: "kasse-tests".into(),
            version: "1.0.0".into(),
            plugin_name: "faults-rs".into(),
            plugin_version: "0.1.0".into(),
        },
        timeout,
        retry: RetryPolicy {
            max_attempts: 12,
            base_delay: Duration::from_millis(1),
            // The simulator's 429s ask for a second, which a call waits only within max_delay.
            max_delay: Duration::from_secs(1),
        },
    })
    .unwrap()
}

/// The payment as the platform holds it, read in-process (no API call, no rate limit).
fn platform_payment(sim: &TestSim, reference: &str) -> GetPaymentResponse {
    sim.handle.payment(&sim.unit.msn, reference).unwrap()
}

/// The event log's names and success flags.
fn log(events: &[PaymentEvent]) -> Vec<(PaymentEventName, bool)> {
    events.iter().map(|e| (e.name, e.success)).collect()
}

/// What the platform received for `reference`: operation, key, status, applied.
fn received(sim: &TestSim, reference: &str) -> Vec<(&'static str, Option<String>, u16, bool)> {
    let record = sim.handle.payment_records().into_iter().find(|r| r.reference == reference).unwrap();
    record
        .received
        .into_iter()
        .map(|w| (w.operation.as_str(), w.idempotency_key, w.status, w.applied))
        .collect()
}

/// Force approve as Kari.
fn kari() -> ForceApprove {
    ForceApprove { customer: Some(Customer::phone_number(KARI)), token: None }
}

/// A receipt for long-living payments, which need one (error 6130).
fn receipt(value: i64) -> Value {
    json!({
        "orderLines": [{
            "name": "Coffee beans", "id": "line-1", "totalAmount": value,
            "totalAmountExcludingTax": value * 4 / 5, "totalTaxAmount": value / 5, "taxPercentage": 25
        }],
        "bottomLine": { "currency": "NOK", "posId": "till-1" }
    })
}

// ------------------------------------------------------------------------------------------------
// Access Token API and authentication
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_right_credentials_get_a_bearer_token_whose_every_field_is_a_string() {
    let sim = spawn_sim().await;
    let unit = &sim.unit;
    let answer =
        sim.token_call(&unit.client_id, unit.client_secret.expose(), unit.subscription_key.expose()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.content_type().starts_with("application/json"), "{}", answer.content_type());
    let token = answer.json();
    let fields = [
        "token_type",
        "expires_in",
        "ext_expires_in",
        "expires_on",
        "not_before",
        "resource",
        "access_token",
    ];
    for field in fields {
        assert!(token[field].is_string(), "{field} is not a string: {token}");
    }
    assert_eq!(token.as_object().unwrap().len(), fields.len(), "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], "3600");
    let expires_on: i64 = token["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: i64 = token["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 3600);
    // The token works.
    let listed = sim.get("webhooks/v1/webhooks").await;
    assert_eq!(listed.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_client_secret_or_subscription_key_gets_401() {
    let sim = spawn_sim().await;
    let unit = &sim.unit;
    let wrong_secret =
        sim.token_call(&unit.client_id, "not-the-secret", unit.subscription_key.expose()).await;
    wrong_secret.problem(401);
    let wrong_key = sim.token_call(&unit.client_id, unit.client_secret.expose(), "not-the-key").await;
    wrong_key.problem(401);
    // Another unit's key with this unit's client is wrong too.
    let other = sim.handle.config().sales_unit("234567").unwrap();
    let mixed =
        sim.token_call(&unit.client_id, unit.client_secret.expose(), other.subscription_key.expose()).await;
    mixed.problem(401);

    // The typed client reports it as a rejection, not as an unknown outcome: no token, so the
    // call was never made.
    let impostor = SalesUnit { client_secret: kasse_vipps::Secret::new("not-the-secret"), ..unit.clone() };
    let err = sim.client_for(&impostor).get_payment("reference-0001").await.unwrap_err();
    assert!(matches!(&err, kasse_vipps::Error::NoToken(why) if why.status() == Some(401)), "{err:?}");
    assert!(!err.outcome_unknown());
}

#[tokio::test]
async fn a_call_without_a_bearer_token_or_with_an_unknown_one_gets_401() {
    let sim = spawn_sim().await;
    let path = "epayment/v1/payments/reference-0001";
    let key = sim.unit.subscription_key.expose();
    let msn = &sim.unit.msn;
    let base = || {
        sim.http
            .get(sim.url(path))
            .header("Ocp-Apim-Subscription-Key", key)
            .header("Merchant-Serial-Number", msn)
    };
    let no_header = sim.send(base()).await;
    assert_eq!(no_header.problem(401)["instance"], format!("/{path}"));
    let unknown = sim.send(base().bearer_auth("sim.not-a-token-we-issued")).await;
    unknown.problem(401);
    // The word `Bearer` is mandatory.
    let token = sim.token().await;
    let without_word = sim.send(base().header(header::AUTHORIZATION, token.clone())).await;
    without_word.problem(401);
    // And the token must come with its own subscription key.
    let wrong_key = sim
        .send(
            sim.http
                .get(sim.url(path))
                .bearer_auth(&token)
                .header("Ocp-Apim-Subscription-Key", "not-the-key")
                .header("Merchant-Serial-Number", msn),
        )
        .await;
    wrong_key.problem(401);
}

#[tokio::test]
async fn a_token_expires_on_the_platforms_clock_and_the_typed_client_then_fetches_a_new_one() {
    let sim = spawn_sim().await;
    let client = sim.client();
    sim.create_qr_payment("token-life-1", 1_000).await;
    let old = sim.token().await;
    sim.handle.advance_clock(chrono::Duration::seconds(3_601));
    let refused = sim
        .send(
            sim.http
                .get(sim.url("epayment/v1/payments/token-life-1"))
                .bearer_auth(&old)
                .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
                .header("Merchant-Serial-Number", &sim.unit.msn),
        )
        .await;
    refused.problem(401);
    // The client's cached token is just as old: it gets a 401, fetches a new token, and succeeds.
    assert_eq!(client.get_payment("token-life-1").await.unwrap().state, PaymentState::Expired);
}

#[tokio::test]
async fn a_merchant_serial_number_that_is_not_the_credentials_own_gets_403() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    for msn in ["234567", "999999"] {
        let answer = sim
            .send(
                sim.http
                    .get(sim.url("epayment/v1/payments/reference-0001"))
                    .bearer_auth(&token)
                    .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
                    .header("Merchant-Serial-Number", msn),
            )
            .await;
        answer.problem(403);
    }
}

// ------------------------------------------------------------------------------------------------
// ePayment: state machine and aggregate arithmetic
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_payment_goes_from_created_to_authorized_and_partial_capture_cancel_and_refund_add_up_exactly() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let reference = "journey-0001";
    let path = |op: &str| format!("epayment/v1/payments/{reference}/{op}");

    let token = sim.create_qr_payment(reference, 10_000).await;
    let created = client.get_payment(reference).await.unwrap();
    assert_eq!(created.state, PaymentState::Created);
    assert_eq!(created.amount, Amount::new(10_000, Currency::Nok));
    assert_eq!(created.aggregate, kasse_vipps::epayment::Aggregate::zero(Currency::Nok));
    assert!(!created.psp_reference.is_empty());
    assert_eq!(created.reference, reference);

    sim.approve(&token, KARI).await;
    let authorized = client.get_payment(reference).await.unwrap();
    assert_eq!(authorized.state, PaymentState::Authorized);
    assert_eq!(authorized.aggregate.authorized_amount.value, 10_000);
    assert_eq!(authorized.psp_reference, created.psp_reference, "GET keeps the CREATED pspReference");

    // Partial capture: 2 500 of 10 000.
    let captured =
        client.capture_payment(reference, Amount::new(2_500, Currency::Nok), "capture-1").await.unwrap();
    assert_eq!(captured.state, PaymentState::Authorized);
    assert_eq!(captured.amount.value, 10_000);
    assert_eq!(captured.aggregate.captured_amount.value, 2_500);
    assert_eq!(captured.reference, reference);

    // More than the 7 500 left: 6090, and nothing changes.
    let too_much = sim.modify("capture", reference, "capture-2", 7_501).await;
    let problem = too_much.assert_error_code(400, "6090");
    assert_eq!(problem["instance"], format!("/{}", path("capture")));
    let typed =
        client.capture_payment(reference, Amount::new(7_501, Currency::Nok), "capture-3").await.unwrap_err();
    assert_eq!((typed.status(), typed.error_code()), (Some(400), Some(6090)));
    assert_eq!(client.get_payment(reference).await.unwrap().aggregate.captured_amount.value, 2_500);

    // Cancel releases the rest; the state stays AUTHORIZED.
    let cancelled = client.cancel_payment(reference, false, "cancel-1").await.unwrap();
    assert_eq!(cancelled.state, PaymentState::Authorized);
    assert_eq!(cancelled.aggregate.authorized_amount.value, 10_000);
    assert_eq!(cancelled.aggregate.captured_amount.value, 2_500);
    assert_eq!(cancelled.aggregate.cancelled_amount.value, 10_000 - 2_500);
    assert_eq!(cancelled.aggregate.refunded_amount.value, 0);

    // Nothing more can be captured.
    sim.modify("capture", reference, "capture-4", 1).await.assert_error_code(400, "6070");

    // Refunds are bounded by captured minus refunded.
    let refunded =
        client.refund_payment(reference, Amount::new(1_000, Currency::Nok), "refund-1").await.unwrap();
    assert_eq!(refunded.aggregate.refunded_amount.value, 1_000);
    sim.modify("refund", reference, "refund-2", 2_500 - 1_000 + 1).await.assert_error_code(400, "6150");
    let rest = client.refund_payment(reference, Amount::new(1_500, Currency::Nok), "refund-3").await.unwrap();
    assert_eq!(rest.aggregate.refunded_amount.value, 2_500);

    let last = client.get_payment(reference).await.unwrap();
    assert_eq!(last.state, PaymentState::Authorized);
    let totals = |a: kasse_vipps::epayment::Aggregate| {
        [
            a.authorized_amount.value,
            a.captured_amount.value,
            a.cancelled_amount.value,
            a.refunded_amount.value,
        ]
    };
    assert_eq!(totals(last.aggregate), [10_000, 2_500, 7_500, 2_500]);
    assert_eq!(last.aggregate.authorized_amount.currency, Currency::Nok);
}

#[tokio::test]
async fn capture_before_the_customer_approves_is_refused_with_6080() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("early-capture-1", 5_000).await;
    let answer = sim.modify("capture", "early-capture-1", "capture-1", 5_000).await;
    let problem = answer.assert_error_code(400, "6080");
    assert_eq!(problem["instance"], "/epayment/v1/payments/early-capture-1/capture");
    let payment = sim.client().get_payment("early-capture-1").await.unwrap();
    assert_eq!(payment.state, PaymentState::Created);
    assert_eq!(payment.aggregate.captured_amount.value, 0);

    // A rejected request stays rejected for its key, even once it would succeed.
    sim.client()
        .force_approve(
            "early-capture-1",
            &ForceApprove { customer: Some(Customer::phone_number(KARI)), token: None },
        )
        .await
        .unwrap();
    let retried = sim.modify("capture", "early-capture-1", "capture-1", 5_000).await;
    let replayed = retried.assert_error_code(400, "6080");
    assert_eq!(replayed["instance"], problem["instance"]);
    let fresh = sim.modify("capture", "early-capture-1", "capture-2", 5_000).await;
    assert_eq!(fresh.status, StatusCode::OK);
}

#[tokio::test]
async fn a_refused_write_is_replayed_byte_for_byte_for_its_key() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("early-capture-2", 5_000).await;
    let first = sim.modify("capture", "early-capture-2", "capture-1", 5_000).await;
    first.assert_error_code(400, "6080");
    let second = sim.modify("capture", "early-capture-2", "capture-1", 5_000).await;
    assert_eq!(second.body, first.body);
}

#[tokio::test]
async fn an_unknown_reference_is_a_404_with_5090() {
    let sim = spawn_sim().await;
    let answer = sim.get("epayment/v1/payments/no-such-payment").await;
    let problem = answer.assert_error_code(404, "5090");
    assert_eq!(problem["instance"], "/epayment/v1/payments/no-such-payment");
    sim.modify("capture", "no-such-payment", "capture-1", 100).await.assert_error_code(404, "5090");
    let typed = sim.client().payment_events("no-such-payment").await.unwrap_err();
    assert_eq!((typed.status(), typed.error_code()), (Some(404), Some(5090)));
}

#[tokio::test]
async fn cancel_transaction_only_on_an_approved_payment_is_refused_with_6060_and_changes_nothing() {
    let sim = spawn_sim().await;
    sim.authorized_payment("approved-0001", 4_000).await;
    let before = sim.client().get_payment("approved-0001").await.unwrap();

    let answer = sim
        .post(
            "epayment/v1/payments/approved-0001/cancel",
            "cancel-1",
            &json!({ "cancelTransactionOnly": true }),
        )
        .await;
    answer.assert_error_code(400, "6060");
    let typed = sim.client().cancel_payment("approved-0001", true, "cancel-2").await.unwrap_err();
    assert_eq!(typed.error_code(), Some(6060));

    let after = sim.client().get_payment("approved-0001").await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.aggregate.cancelled_amount.value, 0);
    // It can still be captured in full.
    let captured = sim
        .client()
        .capture_payment("approved-0001", Amount::new(4_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    assert_eq!(captured.aggregate.captured_amount.value, 4_000);
}

#[tokio::test]
async fn cancel_before_the_customer_approves_terminates_the_payment() {
    let sim = spawn_sim().await;
    let token = sim.create_qr_payment("abandoned-01", 3_000).await;
    let cancelled = sim.client().cancel_payment("abandoned-01", true, "cancel-1").await.unwrap();
    assert_eq!(cancelled.state, PaymentState::Terminated);
    assert_eq!(cancelled.aggregate.authorized_amount.value, 0);
    assert_eq!(cancelled.aggregate.cancelled_amount.value, 3_000);
    assert_eq!(sim.client().get_payment("abandoned-01").await.unwrap().state, PaymentState::Terminated);
    // The customer can no longer approve it.
    let page = sim.answer(&token, "approve", KARI).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("cancelled by the merchant"), "{}", page.text());
    assert_eq!(sim.client().get_payment("abandoned-01").await.unwrap().state, PaymentState::Terminated);

    // On cancel the Idempotency-Key is only recommended, and the body optional.
    sim.create_qr_payment("abandoned-02", 3_000).await;
    let bare = sim.send(sim.authed(Method::POST, "epayment/v1/payments/abandoned-02/cancel").await).await;
    assert_eq!(bare.status, StatusCode::OK, "{}", bare.text());
    assert_eq!(bare.json()["state"], "TERMINATED");
}

#[tokio::test]
async fn a_customer_who_declines_on_the_phone_aborts_the_payment() {
    let sim = spawn_sim().await;
    let token = sim.create_qr_payment("declined-01", 3_000).await;
    let page = sim.answer(&token, "decline", KARI).await;
    assert!(page.text().contains("Declined"), "{}", page.text());
    let payment = sim.client().get_payment("declined-01").await.unwrap();
    assert_eq!(payment.state, PaymentState::Aborted);
    let names: Vec<_> =
        sim.client().payment_events("declined-01").await.unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, [PaymentEventName::Created, PaymentEventName::Aborted]);
}

// ------------------------------------------------------------------------------------------------
// Idempotency
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_key_and_body_replay_a_create_byte_for_byte_and_create_one_payment() {
    let sim = spawn_sim().await;
    let body = create_body("idem-create-1", 2_000);
    let first = sim.post("epayment/v1/payments", "key-create-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.content_type(), "application/json");
    assert_eq!(first.json()["reference"], "idem-create-1");
    let second = sim.post("epayment/v1/payments", "key-create-1", &body).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.content_type(), first.content_type());
    assert_eq!(second.body, first.body, "the replay is byte-for-byte the first answer");

    let events = sim.client().payment_events("idem-create-1").await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let records = sim.handle.payment_records();
    assert_eq!(records.iter().filter(|r| r.reference == "idem-create-1").count(), 1);
}

#[tokio::test]
async fn the_same_key_and_body_replay_a_capture_byte_for_byte_and_capture_once() {
    let sim = spawn_sim().await;
    sim.authorized_payment("idem-capture-1", 6_000).await;
    let first = sim.modify("capture", "idem-capture-1", "key-capture-1", 1_000).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = sim.modify("capture", "idem-capture-1", "key-capture-1", 1_000).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, first.body, "the replay is byte-for-byte the first answer");

    let payment = sim.client().get_payment("idem-capture-1").await.unwrap();
    assert_eq!(payment.aggregate.captured_amount.value, 1_000, "captured once");
    let captures = sim
        .client()
        .payment_events("idem-capture-1")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.name == PaymentEventName::Captured)
        .count();
    assert_eq!(captures, 1);
    // The platform saw the retry, and did not apply it.
    let record = sim.handle.payment_records().into_iter().find(|r| r.reference == "idem-capture-1").unwrap();
    let applied: Vec<_> =
        record.received.iter().filter(|w| w.operation == "capture").map(|w| w.applied).collect();
    assert_eq!(applied, [true, false]);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_409() {
    let sim = spawn_sim().await;
    let first = sim.post("epayment/v1/payments", "key-1", &create_body("conflict-01", 2_000)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other = sim.post("epayment/v1/payments", "key-1", &create_body("conflict-01", 2_001)).await;
    other.assert_error_code(409, "4020");
    assert_eq!(sim.client().get_payment("conflict-01").await.unwrap().amount.value, 2_000);

    sim.client()
        .force_approve(
            "conflict-01",
            &ForceApprove { customer: Some(Customer::phone_number(KARI)), token: None },
        )
        .await
        .unwrap();
    assert_eq!(sim.modify("capture", "conflict-01", "key-2", 500).await.status, StatusCode::OK);
    sim.modify("capture", "conflict-01", "key-2", 600).await.assert_error_code(409, "4010");
    assert_eq!(sim.modify("refund", "conflict-01", "key-3", 100).await.status, StatusCode::OK);
    sim.modify("refund", "conflict-01", "key-3", 200).await.assert_error_code(409, "4150");
    let payment = sim.client().get_payment("conflict-01").await.unwrap();
    assert_eq!(
        (payment.aggregate.captured_amount.value, payment.aggregate.refunded_amount.value),
        (500, 100)
    );
}

#[tokio::test]
async fn a_reused_reference_with_a_new_key_is_a_409_with_4150() {
    let sim = spawn_sim().await;
    let body = create_body("reused-ref-1", 2_000);
    assert_eq!(sim.post("epayment/v1/payments", "key-a", &body).await.status, StatusCode::CREATED);
    let again = sim.post("epayment/v1/payments", "key-b", &body).await;
    let problem = again.assert_error_code(409, "4150");
    assert_eq!(problem["instance"], "/epayment/v1/payments");
    let typed = sim.client().create_payment(&qr_request("reused-ref-1", 2_000), "key-c").await.unwrap_err();
    assert_eq!((typed.status(), typed.error_code()), (Some(409), Some(4150)));
}

#[tokio::test]
async fn the_same_key_and_body_replay_a_refund_byte_for_byte_and_refund_once() {
    let sim = spawn_sim().await;
    sim.authorized_payment("idem-refund-1", 6_000).await;
    assert_eq!(sim.modify("capture", "idem-refund-1", "capture-1", 6_000).await.status, StatusCode::OK);
    let first = sim.modify("refund", "idem-refund-1", "refund-1", 1_000).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = sim.modify("refund", "idem-refund-1", "refund-1", 1_000).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, first.body, "the replay is byte-for-byte the first answer");
    assert_eq!(platform_payment(&sim, "idem-refund-1").aggregate.refunded_amount.value, 1_000);
    let refunds: Vec<_> =
        received(&sim, "idem-refund-1").into_iter().filter(|w| w.0 == "refund").map(|w| w.3).collect();
    assert_eq!(refunds, [true, false], "the retry was received, and not applied");
}

#[tokio::test]
async fn the_same_key_and_body_replay_a_cancel_byte_for_byte_and_another_body_is_a_409_with_4020() {
    let sim = spawn_sim().await;
    sim.authorized_payment("idem-cancel-1", 6_000).await;
    let path = "epayment/v1/payments/idem-cancel-1/cancel";
    let first = sim.post(path, "cancel-1", &json!({})).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = sim.post(path, "cancel-1", &json!({})).await;
    assert_eq!(second.body, first.body, "the replay is byte-for-byte the first answer");
    let events = sim.client().payment_events("idem-cancel-1").await.unwrap();
    assert_eq!(events.iter().filter(|e| e.name == PaymentEventName::Cancelled).count(), 1);

    let other = sim.post(path, "cancel-1", &json!({ "cancelTransactionOnly": true })).await;
    let problem = other.assert_error_code(409, "4020");
    assert_eq!(problem["instance"], format!("/{path}"));
    // The key still replays its first answer.
    assert_eq!(sim.post(path, "cancel-1", &json!({})).await.body, first.body);
}

#[tokio::test]
async fn a_key_used_before_for_another_operation_or_payment_is_a_409_with_4020() {
    let sim = spawn_sim().await;
    sim.authorized_payment("idem-cross-01", 6_000).await;
    sim.authorized_payment("idem-cross-02", 6_000).await;
    assert_eq!(sim.modify("capture", "idem-cross-01", "capture-1", 1_000).await.status, StatusCode::OK);
    assert_eq!(sim.modify("refund", "idem-cross-01", "key-1", 500).await.status, StatusCode::OK);

    // The refund's key for a capture, of the same body: not 4010, which is the capture's own.
    let capture = sim.modify("capture", "idem-cross-01", "key-1", 500).await;
    let problem = capture.assert_error_code(409, "4020");
    assert_eq!(problem["title"], "Idempotency error (key already exists)");
    // The capture's key for a capture of another payment, and for a cancel.
    sim.modify("capture", "idem-cross-02", "capture-1", 1_000).await.assert_error_code(409, "4020");
    let cancel = sim.post("epayment/v1/payments/idem-cross-01/cancel", "capture-1", &json!({})).await;
    cancel.assert_error_code(409, "4020");
    // The create's key for a capture.
    let create = sim.modify("capture", "idem-cross-02", &create_key("idem-cross-02"), 1_000).await;
    create.assert_error_code(409, "4020");

    let (one, two) = (platform_payment(&sim, "idem-cross-01"), platform_payment(&sim, "idem-cross-02"));
    assert_eq!((one.aggregate.captured_amount.value, one.aggregate.cancelled_amount.value), (1_000, 0));
    assert_eq!(two.aggregate.captured_amount.value, 0);
}

// ------------------------------------------------------------------------------------------------
// Validation of a create request
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reference_outside_the_pattern_is_a_400_naming_the_reference_field() {
    let sim = spawn_sim().await;
    let too_long = "x".repeat(65);
    for (i, bad) in ["short", "has space-01", "æøå-reference", too_long.as_str()].into_iter().enumerate() {
        let answer = sim.post("epayment/v1/payments", &format!("key-{i}"), &create_body(bad, 2_000)).await;
        let problem = answer.problem(400);
        let details = problem["extraDetails"].as_array().unwrap();
        let field = details.iter().find(|d| d["name"] == "reference").unwrap_or_else(|| panic!("{problem}"));
        assert!(field["reason"].as_str().unwrap().contains("^[a-zA-Z0-9-]{8,64}$"), "{problem}");
        assert!(!details.iter().any(|d| d["name"] == "ErrorCode"), "a field error has no code: {problem}");
    }
    // The longest allowed reference is fine.
    let ok = sim.post("epayment/v1/payments", "key-ok", &create_body(&"x".repeat(64), 2_000)).await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_currency_other_than_the_sales_units_is_refused_with_5040() {
    let sim = spawn_sim().await;
    let mut body = create_body("danish-kroner", 2_000);
    body["amount"]["currency"] = json!("DKK");
    sim.post("epayment/v1/payments", "key-1", &body).await.assert_error_code(400, "5040");
}

#[tokio::test]
async fn a_push_payment_without_a_customer_is_refused_with_4140() {
    let sim = spawn_sim().await;
    let mut body = create_body("push-nobody-1", 2_000);
    body["userFlow"] = json!("PUSH_MESSAGE");
    body.as_object_mut().unwrap().remove("qrFormat");
    sim.post("epayment/v1/payments", "key-1", &body).await.assert_error_code(400, "4140");
}

#[tokio::test]
async fn a_push_payment_to_an_unknown_phone_number_is_refused_with_7010() {
    let sim = spawn_sim().await;
    let request = CreatePaymentRequest {
        customer: Some(Customer::phone_number("4700000000")),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        ..qr_request("push-stranger", 2_000)
    };
    let raw = sim.post("epayment/v1/payments", "key-1", &serde_json::to_value(&request).unwrap()).await;
    raw.assert_error_code(400, "7010");
    let typed = sim.client().create_payment(&request, "key-2").await.unwrap_err();
    assert_eq!(typed.error_code(), Some(7010));
}

// ------------------------------------------------------------------------------------------------
// Expiry
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unanswered_payment_expires_when_the_clock_passes_ten_minutes() {
    let sim = spawn_sim().await;
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    let token = sim.create_qr_payment("expiring-01", 2_000).await;
    let created = receiver.next_verified(&registration.secret).await;
    assert_eq!(created.event().name, PaymentEventName::Created);

    let moved =
        sim.send(sim.http.post(sim.url("sim/control/clock")).json(&json!({ "advanceSeconds": 600 }))).await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT);

    let payment = sim.client().get_payment("expiring-01").await.unwrap();
    assert_eq!(payment.state, PaymentState::Expired);
    let events = sim.client().payment_events("expiring-01").await.unwrap();
    let names: Vec<_> = events.iter().map(|e| e.name).collect();
    assert_eq!(names, [PaymentEventName::Created, PaymentEventName::Expired]);

    let expired = receiver.next_verified(&registration.secret).await;
    let event = expired.event();
    assert_eq!(event.name, PaymentEventName::Expired);
    assert_eq!(event.reference, "expiring-01");
    assert_eq!(event.amount, Amount::new(2_000, Currency::Nok));
    assert_eq!(event.psp_reference, events[1].psp_reference);

    // Too late to approve, and the QR code is gone.
    let page = sim.answer(&token, "approve", KARI).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.text().contains("has expired"), "{}", page.text());
    let image = sim.send(sim.http.get(sim.url(&format!("sim/qr-image/{token}")))).await;
    assert_eq!(image.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_payment_is_still_open_just_before_its_ten_minutes_are_up() {
    let sim = spawn_sim().await;
    sim.create_qr_payment("almost-expired", 2_000).await;
    sim.handle.advance_clock(chrono::Duration::seconds(590));
    assert_eq!(sim.client().get_payment("almost-expired").await.unwrap().state, PaymentState::Created);
    sim.handle.advance_clock(chrono::Duration::seconds(10));
    assert_eq!(sim.client().get_payment("almost-expired").await.unwrap().state, PaymentState::Expired);
}

#[tokio::test]
async fn a_long_living_payment_expires_at_its_expires_at_and_not_after_ten_minutes() {
    let sim = spawn_sim().await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::days(2)).with_nanosecond(0).unwrap();
    let mut body = create_body("long-living-1", 2_000);
    body["expiresAt"] = json!(expires_at.to_rfc3339());
    body["receipt"] = receipt(2_000);
    assert_eq!(sim.post("epayment/v1/payments", "key-1", &body).await.status, StatusCode::CREATED);

    sim.handle.advance_clock(chrono::Duration::minutes(11));
    assert_eq!(
        platform_payment(&sim, "long-living-1").state,
        PaymentState::Created,
        "ten minutes mean nothing"
    );
    // A minute before expiresAt (by the clock as it was at create) it is still open.
    let until = expires_at - chrono::Utc::now() - chrono::Duration::minutes(11);
    sim.handle.advance_clock(until - chrono::Duration::minutes(1));
    assert_eq!(sim.client().get_payment("long-living-1").await.unwrap().state, PaymentState::Created);
    sim.handle.advance_clock(chrono::Duration::minutes(2));
    assert_eq!(sim.client().get_payment("long-living-1").await.unwrap().state, PaymentState::Expired);
    let events = sim.client().payment_events("long-living-1").await.unwrap();
    assert_eq!(log(&events), [(PaymentEventName::Created, true), (PaymentEventName::Expired, true)]);
    assert_eq!(events[1].timestamp, expires_at, "it expired at expiresAt");
}

// ------------------------------------------------------------------------------------------------
// Webhooks
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_event_of_a_journey_is_delivered_in_order_signed_and_with_the_documented_fields() {
    let sim = spawn_sim().await;
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    assert!(!registration.secret.is_empty());

    sim.authorized_payment("hooked-0001", 8_000).await;
    sim.client()
        .capture_payment("hooked-0001", Amount::new(8_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    let log = sim.client().payment_events("hooked-0001").await.unwrap();

    let expected = [
        (PaymentEventName::Created, Some(create_key("hooked-0001"))),
        (PaymentEventName::Authorized, Some(create_key("hooked-0001"))),
        (PaymentEventName::Captured, Some("capture-1".to_owned())),
    ];
    for (i, (name, key)) in expected.into_iter().enumerate() {
        let delivery = receiver.next_verified(&registration.secret).await;
        assert_eq!(delivery.answered, StatusCode::OK);
        assert_eq!(delivery.headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
        let raw = delivery.json();
        for field in ["msn", "reference", "pspReference", "name", "amount", "timestamp", "success"] {
            assert!(raw.get(field).is_some_and(|v| !v.is_null()), "{field} missing: {raw}");
        }
        assert!(chrono::DateTime::parse_from_rfc3339(raw["timestamp"].as_str().unwrap()).is_ok(), "{raw}");
        let event = delivery.event();
        assert_eq!(event.name, name);
        assert_eq!(event.msn, "123456");
        assert_eq!(event.reference, "hooked-0001");
        assert_eq!(event.amount, Amount::new(8_000, Currency::Nok));
        assert!(event.success);
        assert_eq!(event.idempotency_key, key);
        // The webhook is the same event as the log's.
        assert_eq!(event.psp_reference, log[i].psp_reference);
        assert_eq!(event.timestamp, log[i].timestamp);
    }
}

#[tokio::test]
async fn a_delivery_answered_with_500_is_sent_again_and_later_events_wait_for_it() {
    let sim = spawn_sim_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    receiver.fail(true);
    let registration = sim.register(&receiver).await;

    let token = sim.create_qr_payment("retried-0001", 5_000).await;
    let first = receiver.next_verified(&registration.secret).await;
    assert_eq!(first.answered, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(first.event().name, PaymentEventName::Created);
    let again = receiver.next_verified(&registration.secret).await;
    assert_eq!(again.body, first.body, "the same delivery comes again");

    // AUTHORIZED and CAPTURED happen while CREATED is still failing: they must wait behind it.
    sim.approve(&token, KARI).await;
    sim.client()
        .capture_payment("retried-0001", Amount::new(5_000, Currency::Nok), "capture-1")
        .await
        .unwrap();
    for _ in 0..3 {
        let retry = receiver.next_verified(&registration.secret).await;
        assert_eq!(retry.body, first.body, "only CREATED is retried while it fails");
    }

    receiver.fail(false);
    let mut delivered = Vec::new();
    while delivered.len() < 3 {
        let delivery = receiver.next_verified(&registration.secret).await;
        if delivery.answered == StatusCode::OK {
            delivered.push(delivery.event().name);
        } else {
            assert_eq!(delivery.body, first.body, "only CREATED is retried while it fails");
        }
    }
    assert_eq!(
        delivered,
        [PaymentEventName::Created, PaymentEventName::Authorized, PaymentEventName::Captured]
    );
}

#[tokio::test]
async fn a_registration_is_listed_and_after_delete_gets_no_more_deliveries() {
    let sim = spawn_sim().await;
    let client = sim.client();
    let mut kept = Receiver::start().await;
    let mut deleted = Receiver::start().await;
    let kept_registration = sim.register(&kept).await;
    let deleted_registration = sim.register(&deleted).await;

    let listed = client.list_webhooks().await.unwrap().webhooks;
    assert_eq!(listed.len(), 2);
    let entry = listed.iter().find(|w| w.id == deleted_registration.id).unwrap();
    assert_eq!(entry.url, deleted.url.as_str());
    let mut events = entry.events.clone();
    events.sort();
    let mut all: Vec<String> = epayment_event_types().map(Into::into).collect();
    all.sort();
    assert_eq!(events, all);
    // The raw listing has the documented shape and never shows the secret again.
    let raw = sim.get("webhooks/v1/webhooks").await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(!raw.text().contains(&deleted_registration.secret));

    // Both get the first payment.
    sim.create_qr_payment("before-delete", 1_000).await;
    assert_eq!(kept.next_verified(&kept_registration.secret).await.event().reference, "before-delete");
    assert_eq!(deleted.next_verified(&deleted_registration.secret).await.event().reference, "before-delete");

    let gone = sim
        .send(sim.authed(Method::DELETE, &format!("webhooks/v1/webhooks/{}", deleted_registration.id)).await)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let listed = client.list_webhooks().await.unwrap().webhooks;
    assert_eq!(listed.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), [kept_registration.id.as_str()]);
    let twice = client.delete_webhook(&deleted_registration.id).await.unwrap_err();
    assert_eq!(twice.status(), Some(404));

    // A later payment reaches only the kept registration.
    sim.authorized_payment("after-delete", 1_000).await;
    assert_eq!(kept.next_verified(&kept_registration.secret).await.event().reference, "after-delete");
    assert_eq!(
        kept.next_verified(&kept_registration.secret).await.event().name,
        PaymentEventName::Authorized
    );
    assert!(deleted.deliveries.try_recv().is_err(), "a deleted registration got a delivery");
    let attempts = sim.handle.webhook_attempts();
    assert_eq!(attempts.iter().filter(|a| a.webhook_id == deleted_registration.id).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_captures_of_one_payment_are_delivered_in_event_log_order() {
    // 60 captures of one reference at once: far over the platform's 5 a minute.
    let mut config = SimConfig::demo();
    config.limits.writes_per_minute = 60;
    let sim = spawn_sim_with(config).await;
    let mut receiver = Receiver::start().await;
    let registration = sim.register(&receiver).await;
    let client = Arc::new(sim.client());
    // A race: a few rounds make it show nearly every run.
    for round in 0..5 {
        let reference = format!("concurrent-{round:02}");
        sim.authorized_payment(&reference, 100_000).await;
        let captures: Vec<_> = (0..60)
            .map(|i| {
                let (client, reference) = (Arc::clone(&client), reference.clone());
                tokio::spawn(async move {
                    let (amount, key) = (Amount::new(1, Currency::Nok), format!("capture-{round}-{i}"));
                    client.capture_payment(&reference, amount, &key).await.unwrap();
                })
            })
            .collect();
        for capture in captures {
            capture.await.unwrap();
        }
        let log: Vec<_> = client
            .payment_events(&reference)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.name == PaymentEventName::Captured)
            .map(|e| e.psp_reference)
            .collect();
        let mut delivered = Vec::new();
        while delivered.len() < log.len() {
            let event = receiver.next_verified(&registration.secret).await.event();
            if event.name == PaymentEventName::Captured {
                delivered.push(event.psp_reference);
            }
        }
        assert_eq!(delivered, log, "webhooks of one payment must keep the event log's order");
    }
}

#[tokio::test]
async fn a_registration_deleted_between_retries_gets_no_further_attempt() {
    let mut config = fast_retries();
    config.delivery.retry_delays = vec![Duration::from_millis(300)];
    let sim = spawn_sim_with(config).await;
    let mut deleted = Receiver::start().await;
    deleted.fail(true);
    let deleted_registration = sim.register(&deleted).await;
    sim.create_qr_payment("retry-then-delete", 1_000).await;
    let first = deleted.next().await;
    assert_eq!(first.answered, StatusCode::INTERNAL_SERVER_ERROR);
    // Deleted while its worker waits to retry.
    sim.client().delete_webhook(&deleted_registration.id).await.unwrap();

    // A witness, registered after the delete, fails once and is retried after the same delay:
    // when its retry arrives, the deleted registration's retry time has passed too.
    let mut witness = Receiver::start().await;
    witness.fail(true);
    let witness_registration = sim.register(&witness).await;
    sim.create_qr_payment("witness-00001", 1_000).await;
    assert_eq!(witness.next().await.answered, StatusCode::INTERNAL_SERVER_ERROR);
    witness.fail(false);
    let retried = witness.next_verified(&witness_registration.secret).await;
    assert_eq!(retried.event().reference, "witness-00001");

    assert!(deleted.deliveries.try_recv().is_err(), "the deleted registration was sent another attempt");
    let attempts = sim.handle.webhook_attempts();
    assert_eq!(attempts.iter().filter(|a| a.webhook_id == deleted_registration.id).count(), 1);
}

#[tokio::test]
async fn a_registration_to_a_plain_http_host_elsewhere_or_for_an_unknown_event_is_refused() {
    let sim = spawn_sim().await;
    let remote = json!({ "url": "http://shop.example/hook", "events": ["epayments.payment.created.v1"] });
    let answer = sim.post("webhooks/v1/webhooks", "unused", &remote).await;
    let problem = answer.problem(400);
    assert!(problem["extraDetails"].as_array().unwrap().iter().any(|d| d["name"] == "url"), "{problem}");
    let unknown = json!({ "url": "https://shop.example/hook", "events": ["epayments.payment.paid.v1"] });
    let answer = sim.post("webhooks/v1/webhooks", "unused", &unknown).await;
    let problem = answer.problem(400);
    assert!(problem["extraDetails"].as_array().unwrap().iter().any(|d| d["name"] == "events"), "{problem}");
}

#[tokio::test]
async fn a_delivery_is_given_up_after_the_policys_attempts_and_the_next_event_goes_out() {
    let mut config = fast_retries();
    config.delivery.give_up_after = 3;
    let sim = spawn_sim_with(config).await;
    let mut receiver = Receiver::start().await;
    receiver.fail(true);
    let registration = sim.register(&receiver).await;

    let token = sim.create_qr_payment("given-up-0001", 1_000).await;
    for attempt in 1..=3 {
        let delivery = receiver.next_verified(&registration.secret).await;
        assert_eq!(delivery.event().name, PaymentEventName::Created, "attempt {attempt}");
    }
    // Had CREATED been tried a fourth time, it would come next: order is kept per registration.
    receiver.fail(false);
    sim.approve(&token, KARI).await;
    let next = receiver.next_verified(&registration.secret).await;
    assert_eq!((next.event().name, next.answered), (PaymentEventName::Authorized, StatusCode::OK));

    let attempts = sim.handle.webhook_attempts();
    let created: Vec<_> = attempts
        .iter()
        .filter(|a| a.event_type == "epayments.payment.created.v1")
        .map(|a| a.status)
        .collect();
    assert_eq!(created, [Some(500); 3]);
}

#[tokio::test]
async fn the_webhooks_api_needs_no_merchant_serial_number_header_but_refuses_another_units() {
    let sim = spawn_sim().await;
    let token = sim.token().await;
    let bare = |method: Method, path: &str| {
        sim.http
            .request(method, sim.url(path))
            .bearer_auth(&token)
            .header("Ocp-Apim-Subscription-Key", sim.unit.subscription_key.expose())
    };
    let request =
        json!({ "url": "https://shop.example.no/hooks", "events": ["epayments.payment.created.v1"] });
    let registered = sim.send(bare(Method::POST, "webhooks/v1/webhooks").json(&request)).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text());
    let id = registered.json()["id"].as_str().unwrap().to_owned();
    // The credentials named the unit: the typed client, which sends the MSN, sees it.
    let listed = sim.client().list_webhooks().await.unwrap().webhooks;
    assert_eq!(listed.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let raw = sim.send(bare(Method::GET, "webhooks/v1/webhooks")).await;
    assert_eq!(raw.json()["webhooks"][0]["id"], id.as_str());

    let theirs = bare(Method::GET, "webhooks/v1/webhooks").header("Merchant-Serial-Number", "234567");
    sim.send(theirs).await.problem(403);
    let gone = sim.send(bare(Method::DELETE, &format!("webhooks/v1/webhooks/{id}"))).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
}

// ------------------------------------------------------------------------------------------------
// Event log
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_event_log_lists_each_change_with_its_amount_and_idempotency_key() {
    let sim = spawn_sim().await;
    let client = sim.client();
    sim.create_qr_payment("logged-0001", 9_000).await;
    client
        .force_approve(
            "logged-0001",
            &ForceApprove { customer: Some(Customer::phone_number(KARI)), token: None },
        )
        .await
        .unwrap();
    client.capture_payment("logged-0001", Amount::new(4_000, Currency::Nok), "capture-1").await.unwrap();
    client.capture_payment("logged-0001", Amount::new(1_000, Currency::Nok), "capture-2").await.unwrap();
    client.refund_payment("logged-0001", Amount::new(500, Currency::Nok), "refund-1").await.unwrap();
    client.cancel_payment("logged-0001", false, "cancel-1").await.unwrap();

    let raw = sim.get("epayment/v1/payments/logged-0001/events").await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(raw.content_type(), "application/json");
    let raw = raw.json();
    let rows: Vec<_> = raw
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["reference"], "logged-0001");
            assert_eq!(e["success"], true);
            assert!(e["pspReference"].as_str().is_some_and(|p| !p.is_empty()), "{e}");
            assert!(e["timestamp"].is_string(), "{e}");
            (e["name"].as_str().unwrap(), e["amount"].clone(), e["idempotencyKey"].clone())
        })
        .collect();
    let key = |k: &str| json!(k);
    assert_eq!(
        rows,
        [
            ("CREATED", nok(9_000), key("create-logged-0001")),
            ("AUTHORIZED", nok(9_000), key("create-logged-0001")),
            ("CAPTURED", nok(4_000), key("capture-1")),
            ("CAPTURED", nok(1_000), key("capture-2")),
            ("REFUNDED", nok(500), key("refund-1")),
            ("CANCELLED", nok(9_000 - 5_000), Value::Null),
        ]
    );

    // The typed client reads the same log, and every psp reference is distinct.
    let typed = client.payment_events("logged-0001").await.unwrap();
    assert_eq!(typed.len(), 6);
    let mut psp: Vec<_> = typed.iter().map(|e| e.psp_reference.clone()).collect();
    psp.sort();
    psp.dedup();
    assert_eq!(psp.len(), 6);
    assert!(typed.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));

    // The typed client sent its Vipps-System-* headers with every write.
    let record = sim.handle.payment_records().into_iter().find(|r| r.reference == "logged-0001").unwrap();
    assert!(record.received.iter().all(|w| w.system.system_name.as_deref() == Some("kasse-tests")));
}

// ------------------------------------------------------------------------------------------------
// The phone and the QR code
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_phone_page_is_plain_html_listing_a_push_payment_addressed_to_that_customer() {
    let sim = spawn_sim().await;
    sim.create_push_payment("push-kari-01", 12_350, KARI).await;
    sim.create_push_payment("push-ola-001", 1_000, OLA).await;

    let page = sim.send(sim.http.get(sim.url(&format!("sim/phone?customer={KARI}")))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"), "{}", page.content_type());
    let html = page.text();
    assert!(!html.contains("<script"), "the phone page has no scripts");
    assert!(html.contains("Kari Nordmann"));
    assert!(html.contains("data-reference=\"push-kari-01\""), "{html}");
    assert!(html.contains("NOK 123.50"), "{html}");
    assert!(!html.contains("push-ola-001"), "Ola's request is not on Kari's phone");

    // Approving with the form on that page authorizes the payment.
    let section = &html[html.find("data-reference=\"push-kari-01\"").unwrap()..];
    let action = &section[section.find("action=\"/sim/pay/").unwrap() + "action=\"".len()..];
    let token = token_of(&format!("http://x{}", &action[..action.find('"').unwrap()]));
    sim.approve(&token, KARI).await;
    assert_eq!(sim.client().get_payment("push-kari-01").await.unwrap().state, PaymentState::Authorized);
    let after = sim.send(sim.http.get(sim.url(&format!("sim/phone?customer={KARI}")))).await.text();
    assert!(!after.contains("push-kari-01"), "an answered request leaves the phone");
}

#[tokio::test]
async fn the_pay_page_of_a_qr_payment_offers_approve_and_decline() {
    let sim = spawn_sim().await;
    let token = sim.create_qr_payment("qr-page-0001", 4_200).await;
    let page = sim.send(sim.http.get(sim.url(&format!("sim/pay/{token}")))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    let html = page.text();
    assert!(!html.contains("<script"));
    assert!(html.contains("Kaffebrenneriet"), "{html}");
    assert!(html.contains("NOK 42.00"), "{html}");
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("value=\"approve\"") && html.contains(">Approve<"), "{html}");
    assert!(html.contains("value=\"decline\"") && html.contains(">Decline<"), "{html}");
    // A QR payment has no fixed customer: whoever scans picks who pays.
    assert!(html.contains(&format!("<option value=\"{KARI}\"")), "{html}");

    let unknown = sim.send(sim.http.get(sim.url("sim/pay/not-a-token"))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_qr_image_is_svg_by_default_and_png_on_request() {
    let sim = spawn_sim().await;
    let request = CreatePaymentRequest { qr_format: None, ..qr_request("qr-image-001", 2_000) };
    let created = sim.client().create_payment(&request, "key-1").await.unwrap();
    let image_url = created.redirect_url.unwrap();
    assert!(image_url.contains("/sim/qr-image/"), "{image_url}");
    let token = token_of(&image_url);

    let svg = sim.send(sim.http.get(&image_url)).await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.content_type(), "image/svg+xml");
    assert!(svg.text().contains("<svg"), "{}", svg.text());

    let png = sim.send(sim.http.get(sim.url(&format!("sim/qr-image/{token}?format=png")))).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.content_type(), "image/png");
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));

    // Asking for PNG at create links to the PNG.
    let request = CreatePaymentRequest {
        qr_format: Some(QrFormat { format: QrImageFormat::ImagePng, size: None }),
        ..qr_request("qr-image-002", 2_000)
    };
    let created = sim.client().create_payment(&request, "key-2").await.unwrap();
    let png = sim.send(sim.http.get(created.redirect_url.unwrap())).await;
    assert_eq!(png.content_type(), "image/png");
}

//! A MobilePay PoS v10 integration, pointed at kasse: a client written from v10's OpenAPI file
//! (`pos.yaml` 10.2.6), its request bodies and headers as the spec's examples show them, runs each
//! v10 flow end to end on the simulator. Every answer is read into the spec's own shapes, closed
//! (`deny_unknown_fields`, v10's `additionalProperties: false`), with its closed sets as enums,
//! so an answer the spec does not allow fails the test.

use std::time::Duration;

use kasse_server::ops::integrators::{Added, Integrators};
use kasse_server::ops::qr::{self, CallbackQrKind};
use kasse_sim::FaultKnobs;
use kasse_vipps::qr::MerchantCallbackPutRequest;
use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::helpers::*;

mod answers;

/// Mette Hansen, the simulator's Danish customer, as v10's examples write her number.
const METTE: &str = "+4520031801";
const TILL_DK: &str = "kasse-a";
const BEACON: &str = "4f9c3a52-6b1e-4d4e-9a2b-0c7d5e1f2a3b";
/// The Danish store's sales unit.
const DANISH_MSN: &str = "234567";

// The spec's response shapes.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
    token_type: String,
    #[allow(dead_code, reason = "read to hold the shape")]
    scope: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ErrorResponse {
    code: Option<String>,
    #[allow(dead_code, reason = "read to hold the shape")]
    message: Option<String>,
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoreIdsResponse {
    store_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "read to hold the shape")]
struct StoreResponse {
    store_name: String,
    store_id: String,
    store_street: String,
    store_zip_code: String,
    store_city: String,
    brand_name: String,
    merchant_brand_id: String,
    merchant_location_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePosResponse {
    pos_id: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
enum BeaconType {
    #[serde(rename = "QR")]
    Qr,
    #[serde(rename = "NFC")]
    Nfc,
    Bluetooth,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "read to hold the shape")]
struct PosResponse {
    pos_id: String,
    merchant_pos_id: String,
    store_id: String,
    name: String,
    beacon_id: String,
    callback_alias: Option<String>,
    supported_beacon_types: Vec<BeaconType>,
    require_payment_before_checkin: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PosIdsResponse {
    pos_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "read to hold the shape")]
struct GetCheckInResponse {
    is_user_checked_in: bool,
    loyalty_ids: Option<Vec<String>>,
    poll_delay_in_ms: i32,
    customer_token: Option<String>,
    customer_receipt_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PaymentInitiatedResponse {
    payment_id: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
enum Status {
    Prepared,
    Initiated,
    Paired,
    IssuedToUser,
    Reserved,
    CancelledByUser,
    CancelledByClient,
    CancelledByMobilePay,
    ExpiredAndCancelled,
    Captured,
}

#[derive(Debug, Deserialize)]
enum CurrencyCode {
    #[serde(rename = "DKK")]
    Dkk,
    #[serde(rename = "EUR")]
    Eur,
}

#[derive(Debug, Deserialize)]
enum PlannedCaptureDelay {
    None,
    LessThan24Hours,
    LessThan14Days,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "read to hold the shape")]
struct Restrictions {
    debit_card_disallowed: Option<bool>,
    credit_card_disallowed: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "read to hold the shape")]
struct QueryPaymentResponse {
    payment_id: String,
    pos_id: String,
    order_id: String,
    amount: Option<f64>,
    currency_code: Option<CurrencyCode>,
    restrictions: Option<Restrictions>,
    merchant_payment_label: Option<String>,
    planned_capture_delay: Option<PlannedCaptureDelay>,
    status: Status,
    customer_token: Option<String>,
    customer_receipt_token: Option<String>,
    loyalty_ids: Option<Vec<String>>,
    payment_expires_at: chrono::DateTime<chrono::FixedOffset>,
    partial_capture_possible: Option<bool>,
    poll_delay_in_ms: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueryPaymentIdsResponse {
    payment_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateRefundResponse {
    refund_id: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
enum RefundState {
    Initiated,
    Reserved,
    Captured,
    CancelledByClient,
    CancelledByMobilePay,
    ExpiredAndCaptured,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code, reason = "read to hold the shape")]
struct GetRefundResponse {
    refund_id: String,
    payment_id: String,
    refund_order_id: String,
    amount: f64,
    currency_code: CurrencyCode,
    status: RefundState,
    poll_delay_in_ms: i32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueryRefundIdsResponse {
    refund_ids: Vec<String>,
}

/// A v10 integration with its credentials, talking to kasse.
struct V10 {
    base: String,
    http: reqwest::Client,
    token: String,
}

/// An answer: status and body.
struct Reply {
    status: StatusCode,
    body: String,
}

impl Reply {
    /// The body in the spec's shape for this answer.
    fn read<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not the spec's shape ({e}): {}", self.body))
    }

    /// A v10 error body, with its correlation id.
    fn error(&self) -> ErrorResponse {
        let error: ErrorResponse = self.read();
        assert!(error.correlation_id.as_deref().is_some_and(|c| !c.is_empty()), "{}", self.body);
        error
    }
}

impl V10 {
    /// The integration logs in as v10 integrators did: client credentials by HTTP Basic.
    async fn connect(app: &TestApp, added: &Added) -> Self {
        let http = browser();
        let answer = http
            .post(format!("{}/integrator-authentication/connect/token", app.base))
            .basic_auth(&added.integrator.id, Some(&added.api_key))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let token: TokenResponse = answer.json().await.unwrap();
        assert_eq!((token.token_type.as_str(), token.expires_in), ("Bearer", 3_700));
        Self { base: app.base.clone(), http, token: token.access_token }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-ibm-client-id", "kasse-v10-test")
            .header("X-MobilePay-Client-System-Version", "2.1.1")
            .header("CorrelationId", uuid::Uuid::new_v4().to_string())
    }

    async fn send(request: reqwest::RequestBuilder) -> Reply {
        let answer = request.send().await.unwrap();
        let status = answer.status();
        Reply { status, body: answer.text().await.unwrap() }
    }

    async fn get(&self, path: &str) -> Reply {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    /// A POST with a body and, where v10 requires one, its idempotency key.
    async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> Reply {
        let mut request = self.request(reqwest::Method::POST, path).json(body);
        if let Some(key) = key {
            request = request.header("X-MobilePay-Idempotency-Key", key);
        }
        Self::send(request).await
    }

    async fn delete(&self, path: &str) -> Reply {
        Self::send(self.request(reqwest::Method::DELETE, path)).await
    }

    async fn payment(&self, id: &str) -> QueryPaymentResponse {
        let reply = self.get(&format!("/pos/v10/payments/{id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.read()
    }

    /// Polls the payment as v10 asks (every `pollDelayInMs`) until it is `status`.
    async fn until(&self, id: &str, status: Status) -> QueryPaymentResponse {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let payment = self.payment(id).await;
            if payment.status == status {
                return payment;
            }
            assert!(tokio::time::Instant::now() < deadline, "still {:?}, not {status:?}", payment.status);
            tokio::time::sleep(Duration::from_millis(u64::try_from(payment.poll_delay_in_ms).unwrap())).await;
        }
    }
}

/// A server with a Danish store (v10 took DKK and EUR) and its till, and a v10 integrator for it.
async fn danish_shop() -> (TestApp, Added) {
    danish_shop_beside(None, None).await
}

/// [`danish_shop`], the Norwegian store beside it a merchant of its own if it has a VAT number,
/// on the database file in `data` if given.
async fn danish_shop_beside(norwegian_vat: Option<&str>, data: Option<&DataDir>) -> (TestApp, Added) {
    let database_url = data.map(DataDir::url);
    let app = spawn_app_with(|config| {
        if let Some(url) = database_url {
            config.database_url = url;
        }
        config.stores[0].vat_number = norwegian_vat.map(str::to_owned);
        let store = add_store(config, "norrebro", "Bageriet Nørrebro", "234567", kasse_api::Currency::Dkk);
        store.vat_number = Some("DK12345678".to_owned());
        add_till(config, TILL_DK, "Kasse A", "norrebro");
    })
    .await;
    let stores = ["grunerlokka".to_owned(), "norrebro".to_owned()];
    let added = Integrators::of_tools(&app.running.tools()).add("Legacy PoS", &stores, None).await.unwrap();
    (app, added)
}

/// The Danish store's v10 id and a point of sale on its till with the beacon [`BEACON`].
async fn point_of_sale(v10: &V10) -> String {
    point_of_sale_requiring(v10, false).await
}

/// [`point_of_sale`], with `requirePaymentBeforeCheckin` as given.
async fn point_of_sale_requiring(v10: &V10, payment_before_check_in: bool) -> String {
    let stores = v10
        .request(reqwest::Method::GET, "/pos/v10/stores")
        .header("X-MobilePay-Merchant-VAT-Number", "DK12345678");
    let stores: StoreIdsResponse = V10::send(stores).await.read();
    assert_eq!(stores.store_ids.len(), 1, "the merchant's stores only: {stores:?}");
    let body = json!({
        "merchantPosId": TILL_DK,
        "storeId": stores.store_ids[0],
        "name": "Kasse A",
        "beaconId": BEACON,
        "supportedBeaconTypes": ["QR"],
        "requirePaymentBeforeCheckin": payment_before_check_in,
    });
    let created = v10.post("/pos/v10/pointofsales", Some("pos-1"), &body).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    created.read::<CreatePosResponse>().pos_id
}

async fn initiate(v10: &V10, pos_id: &str, key: &str, amount: f64) -> String {
    let body = json!({
        "posId": pos_id,
        "orderId": format!("ORDER-{key}"),
        "amount": amount,
        "currencyCode": "DKK",
        "merchantPaymentLabel": "PaymentLabel",
        "plannedCaptureDelay": "None",
    });
    let reply = v10.post("/pos/v10/payments", Some(key), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.read::<PaymentInitiatedResponse>().payment_id
}

/// A payment of `amount` initiated under `key`, Mette checked in at the beacon and approving it.
async fn reserved(v10: &V10, pos_id: &str, key: &str, amount: f64) -> String {
    let payment = initiate(v10, pos_id, key, amount).await;
    simulate(v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    v10.until(&payment, Status::IssuedToUser).await;
    simulate(v10, "acceptpayment", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    v10.until(&payment, Status::Reserved).await;
    payment
}

/// The platform answers nothing (503 to every call) until [`platform_back`].
fn platform_down(app: &TestApp) {
    let down = FaultKnobs { error_rate: 1.0, error_status: Some(503), ..FaultKnobs::default() };
    app.sim().set_faults(down).unwrap();
}

/// The platform answers again.
fn platform_back(app: &TestApp) {
    app.sim().set_faults(FaultKnobs::default()).unwrap();
}

async fn simulate(v10: &V10, what: &str, body: &Value) {
    let reply = v10.post(&format!("/pos/app/usersimulation/{what}"), None, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
}

#[tokio::test]
async fn a_v10_integration_registers_a_point_of_sale_and_a_customer_who_checks_in_after_the_payment_pays_it()
{
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;

    let detailed: Vec<StoreResponse> = v10.get("/pos/v10/stores/detailed").await.read();
    assert_eq!(detailed.len(), 2, "both of the key's stores without a VAT number");
    let pos_id = point_of_sale(&v10).await;
    let pos: PosResponse = v10.get(&format!("/pos/v10/pointofsales/{pos_id}")).await.read();
    assert_eq!((pos.merchant_pos_id.as_str(), pos.beacon_id.as_str()), (TILL_DK, BEACON));
    assert_eq!(pos.supported_beacon_types, [BeaconType::Qr]);
    let listed: PosIdsResponse = v10.get(&format!("/pos/v10/pointofsales?beaconId={BEACON}")).await.read();
    assert_eq!(listed.pos_ids, std::slice::from_ref(&pos_id));
    // The integration's printed beacon was migrated as `qr migrate` migrates one: with the
    // platform's endpoint for MobilePay beacons, so the ordinary callback QR endpoint may not
    // touch it, and kasse records it as a beacon of the till.
    let ordinary = MerchantCallbackPutRequest::at("Kasse A");
    let ordinary = app.merchant_client_of(DANISH_MSN).put_callback_qr(BEACON, &ordinary).await;
    assert_eq!(ordinary.err().and_then(|e| e.status()), Some(409), "a migrated beacon at the platform");
    let listed = qr::list_callback_qrs(&app.running.tools()).await.unwrap();
    let sticker = listed.iter().flat_map(|store| &store.stickers).find(|s| s.id == BEACON).expect("listed");
    assert_eq!((sticker.kind, sticker.till.as_deref()), (Some(CallbackQrKind::Beacon), Some(TILL_DK)));

    let payment_id = initiate(&v10, &pos_id, "pay-1", 12.5).await;
    let initiated = v10.payment(&payment_id).await;
    assert_eq!(initiated.status, Status::Initiated, "the till shows its QR code meanwhile");
    assert_eq!(initiated.amount, Some(12.5));

    // Mette scans the beacon: the payment moves to her phone.
    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    v10.until(&payment_id, Status::IssuedToUser).await;
    simulate(&v10, "acceptpayment", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    let reserved = v10.until(&payment_id, Status::Reserved).await;
    assert_eq!(reserved.partial_capture_possible, Some(true));
    let active: QueryPaymentIdsResponse = v10.get(&format!("/pos/v10/payments?posId={pos_id}")).await.read();
    assert_eq!(
        active.payment_ids,
        std::slice::from_ref(&payment_id),
        "reserved payments are listed as active"
    );

    let captured =
        v10.post(&format!("/pos/v10/payments/{payment_id}/capture"), None, &json!({"amount": 12.5})).await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.body);
    assert_eq!(v10.payment(&payment_id).await.status, Status::Captured);
    assert_eq!(
        danish_push(&app, 1_250).aggregate.captured_amount.value,
        1_250,
        "DKK 12.50, exactly, to Mette"
    );

    // A refund, then v10's refund capture.
    let body =
        json!({"paymentId": payment_id, "refundOrderId": "REFUND-1", "amount": 2.5, "currencyCode": "DKK"});
    let refund = v10.post("/pos/v10/refunds", Some("refund-1"), &body).await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.body);
    let refund_id = refund.read::<CreateRefundResponse>().refund_id;
    let again = v10.post("/pos/v10/refunds", Some("refund-1"), &body).await;
    assert_eq!(again.read::<CreateRefundResponse>().refund_id, refund_id, "a retried refund is the same one");
    let capture = v10.post(&format!("/pos/v10/refunds/{refund_id}/capture"), None, &json!({})).await;
    assert_eq!(capture.status, StatusCode::OK, "{}", capture.body);
    let got: GetRefundResponse = v10.get(&format!("/pos/v10/refunds/{refund_id}")).await.read();
    assert_eq!((got.status, got.amount), (RefundState::Captured, 2.5));
    let refunds: QueryRefundIdsResponse =
        v10.get(&format!("/pos/v10/refunds?paymentId={payment_id}")).await.read();
    assert_eq!(refunds.refund_ids, std::slice::from_ref(&refund_id));
    assert_eq!(danish_push(&app, 1_250).aggregate.refunded_amount.value, 250, "given back once");
    let cancel = v10.post(&format!("/pos/v10/refunds/{refund_id}/cancel"), None, &json!({})).await;
    assert_eq!(cancel.status, StatusCode::CONFLICT, "an ePayment refund is final, and says so");
    assert_eq!(cancel.error().code.as_deref(), Some("1352"), "v10's number for it");

    assert_eq!(v10.delete(&format!("/pos/v10/pointofsales/{pos_id}")).await.status, StatusCode::OK);
    assert_eq!(v10.get(&format!("/pos/v10/pointofsales/{pos_id}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_prepared_payment_is_paid_by_a_customer_checked_in_before_it_is_ready_or_cancelled() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;

    let prepared = v10
        .post("/pos/v10/payments/prepare", Some("prep-1"), &json!({"posId": pos_id, "orderId": "ORDER-2"}))
        .await;
    assert_eq!(prepared.status, StatusCode::OK, "{}", prepared.body);
    let payment_id = prepared.read::<PaymentInitiatedResponse>().payment_id;
    assert_eq!(v10.payment(&payment_id).await.status, Status::Prepared);
    // pos.yaml's `nullable` beside an enum or allOf does not admit null (OpenAPI 3.0.3): what a
    // prepared payment does not know yet is left out.
    let raw: Value = v10.get(&format!("/pos/v10/payments/{payment_id}")).await.read();
    for unknown in ["currencyCode", "restrictions", "plannedCaptureDelay"] {
        assert!(raw.get(unknown).is_none(), "{unknown} is left out, not null: {raw}");
    }

    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let check_in: GetCheckInResponse =
            v10.get(&format!("/pos/v10/pointofsales/{pos_id}/checkin")).await.read();
        if check_in.is_user_checked_in {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the check-in arrives");
        tokio::time::sleep(Duration::from_millis(u64::try_from(check_in.poll_delay_in_ms).unwrap())).await;
    }
    let ready = json!({"currencyCode": "DKK", "amount": 49, "plannedCaptureDelay": "LessThan24Hours"});
    let reply = v10.post(&format!("/pos/v10/payments/{payment_id}/ready"), None, &ready).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        v10.payment(&payment_id).await.status,
        Status::IssuedToUser,
        "pushed to the checked-in customer"
    );
    // Sent again, as a PoS that gave up waiting does: the same payment, still with Mette.
    let twice = v10.post(&format!("/pos/v10/payments/{payment_id}/ready"), None, &ready).await;
    assert_eq!(twice.status, StatusCode::OK, "{}", twice.body);
    assert_eq!(v10.payment(&payment_id).await.status, Status::IssuedToUser);
    assert_eq!(app.sim().payment_records().len(), 1, "one payment at the platform");
    // Another amount for a payment made ready already: refused.
    let other = json!({"currencyCode": "DKK", "amount": 50, "plannedCaptureDelay": "LessThan24Hours"});
    let changed = v10.post(&format!("/pos/v10/payments/{payment_id}/ready"), None, &other).await;
    assert_eq!(changed.status, StatusCode::CONFLICT, "{}", changed.body);

    // The customer declines; a new payment, cancelled by the PoS before anyone pays.
    simulate(&v10, "cancelpaymentbyuser", &json!({"beaconId": BEACON})).await;
    v10.until(&payment_id, Status::CancelledByUser).await;
    let next = initiate(&v10, &pos_id, "pay-3", 20.0).await;
    let cancelled = v10.post(&format!("/pos/v10/payments/{next}/cancel"), None, &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    v10.until(&next, Status::CancelledByClient).await;
    let none: QueryPaymentIdsResponse = v10.get("/pos/v10/payments").await.read();
    assert!(none.payment_ids.is_empty(), "nothing active: {:?}", none.payment_ids);
    let cancelled_ones: QueryPaymentIdsResponse =
        v10.get("/pos/v10/payments?state=CancelledByClient").await.read();
    assert_eq!(cancelled_ones.payment_ids, [next]);
}

#[tokio::test]
async fn v10_requests_without_what_v10_required_are_refused_as_v10_refused_them() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;

    let anonymous = browser().get(format!("{}/pos/v10/stores", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let versionless =
        browser().get(format!("{}/pos/v10/stores", app.base)).bearer_auth(&v10.token).send().await.unwrap();
    assert_eq!(
        versionless.status(),
        StatusCode::BAD_REQUEST,
        "X-MobilePay-Client-System-Version is required"
    );
    let body = json!({"posId": pos_id, "orderId": "X", "amount": 10, "currencyCode": "DKK", "plannedCaptureDelay": "None"});
    let keyless = v10.post("/pos/v10/payments", None, &body).await;
    assert_eq!(keyless.status, StatusCode::BAD_REQUEST, "{}", keyless.body);
    keyless.error();
    let nok = json!({"posId": pos_id, "orderId": "X", "amount": 10, "currencyCode": "EUR", "plannedCaptureDelay": "None"});
    let wrong = v10.post("/pos/v10/payments", Some("eur"), &nok).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    let fractions = json!({"posId": pos_id, "orderId": "X", "amount": 10.005, "currencyCode": "DKK", "plannedCaptureDelay": "None"});
    assert_eq!(v10.post("/pos/v10/payments", Some("frac"), &fractions).await.status, StatusCode::BAD_REQUEST);
    let first = initiate(&v10, &pos_id, "busy-1", 10.0).await;
    let busy = v10.post("/pos/v10/payments", Some("busy-2"), &json!({"posId": pos_id, "orderId": "Y", "amount": 11, "currencyCode": "DKK", "plannedCaptureDelay": "None"})).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "one active payment per point of sale: {}", busy.body);
    assert_eq!(
        initiate(&v10, &pos_id, "busy-1", 10.0).await,
        first,
        "a retried initiate is the same payment"
    );
    let reused = v10.post("/pos/v10/payments", Some("busy-1"), &json!({"posId": pos_id, "orderId": "Z", "amount": 12, "currencyCode": "DKK", "plannedCaptureDelay": "None"})).await;
    assert_eq!(reused.status, StatusCode::CONFLICT, "{}", reused.body);
    // A query, an address or a body axum cannot read is v10's 400, in v10's shape, not plain text.
    for (what, refused) in [
        ("an unknown state", v10.get("/pos/v10/payments?state=Bogus").await),
        ("an address that is not text", v10.get("/pos/v10/payments/%FF%FE").await),
        (
            "a body past 64 KiB",
            v10.post("/pos/v10/payments", Some("huge"), &json!({ "orderId": "X".repeat(70_000) })).await,
        ),
    ] {
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{what}: {}", refused.body);
        assert!(refused.error().message.is_some_and(|m| !m.is_empty()), "{what}");
    }
    let wrong_method = V10::send(v10.request(reqwest::Method::DELETE, "/pos/v10/payments")).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED, "{}", wrong_method.body);
    assert!(wrong_method.error().message.is_some_and(|m| !m.is_empty()), "in v10's shape");
    let other_merchant = v10
        .request(reqwest::Method::GET, "/pos/v10/stores")
        .header("X-MobilePay-Merchant-VAT-Number", "DK99999999");
    assert_eq!(V10::send(other_merchant).await.status, StatusCode::FORBIDDEN);

    Integrators::of_tools(&app.running.tools()).revoke("Legacy PoS").await.unwrap();
    assert_eq!(
        v10.get("/pos/v10/stores").await.status,
        StatusCode::UNAUTHORIZED,
        "a revoked key's tokens die with it"
    );
}

/// What the Danish sales unit's platform holds of the push payment of `value` minor units.
fn danish_push(app: &TestApp, value: i64) -> kasse_sim::PaymentRecord {
    let records = app.sim().payment_records();
    records
        .into_iter()
        .find(|r| {
            r.msn == "234567"
                && r.amount.value == value
                && r.user_flow == kasse_vipps::epayment::UserFlow::PushMessage
        })
        .expect("the platform has the push payment")
}

#[tokio::test]
async fn a_caller_narrowed_to_one_merchant_neither_sees_nor_acts_on_another_merchants_payments() {
    let (app, added) = danish_shop_beside(Some("NO987654321"), None).await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = initiate(&v10, &pos_id, "scoped-1", 10.0).await;
    let as_merchant = |method: reqwest::Method, path: &str, vat: &str| {
        v10.request(method, path).header("X-MobilePay-Merchant-VAT-Number", vat)
    };
    let path = format!("/pos/v10/payments/{payment}");

    let danish = V10::send(as_merchant(reqwest::Method::GET, &path, "DK12345678")).await;
    assert_eq!(danish.status, StatusCode::OK, "{}", danish.body);
    let listed = V10::send(as_merchant(reqwest::Method::GET, "/pos/v10/payments", "DK12345678")).await;
    assert!(listed.body.contains(&payment), "{}", listed.body);

    // The same key, narrowed to the Norwegian merchant: the Danish payment is not its.
    let read = V10::send(as_merchant(reqwest::Method::GET, &path, "NO987654321")).await;
    assert_eq!(read.status, StatusCode::FORBIDDEN, "{}", read.body);
    let listed = V10::send(as_merchant(reqwest::Method::GET, "/pos/v10/payments", "NO987654321")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(!listed.body.contains(&payment), "{}", listed.body);
    let cancel = as_merchant(reqwest::Method::POST, &format!("{path}/cancel"), "NO987654321");
    assert_eq!(V10::send(cancel).await.status, StatusCode::FORBIDDEN);
    assert_ne!(v10.payment(&payment).await.status, Status::CancelledByClient, "nothing was done");
}

#[tokio::test]
async fn a_cancel_the_platform_has_not_answered_is_no_outcome_until_it_is_one() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = initiate(&v10, &pos_id, "slow-cancel", 10.0).await;
    until(|| async { !app.sim().payment_records().is_empty() }).await;

    // The platform stops answering: the cancel is kept and sent again, and v10 said 200.
    platform_down(&app);
    let cancel = v10.post(&format!("/pos/v10/payments/{payment}/cancel"), None, &json!({})).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    let meanwhile = v10.payment(&payment).await.status;
    assert_eq!(meanwhile, Status::Initiated, "not cancelled before the platform says so");

    platform_back(&app);
    v10.until(&payment, Status::CancelledByClient).await;
}

#[tokio::test]
async fn a_point_of_sale_requiring_the_payment_first_pays_by_a_check_in_made_after_it_only() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale_requiring(&v10, true).await;

    // Mette checks in before there is a payment: the next one is not sent to her phone.
    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    let checked_in = format!("/pos/v10/pointofsales/{pos_id}/checkin");
    until(|| async { v10.get(&checked_in).await.read::<GetCheckInResponse>().is_user_checked_in }).await;
    let payment = initiate(&v10, &pos_id, "after-1", 20.0).await;
    until(|| async { !app.sim().payment_records().is_empty() }).await;
    assert_eq!(v10.payment(&payment).await.status, Status::Initiated, "a QR code on the till");
    let flows: Vec<_> = app.sim().payment_records().iter().map(|p| p.user_flow).collect();
    assert_eq!(flows, [kasse_vipps::epayment::UserFlow::Qr]);

    // She checks in again, after the payment was made: now it moves to her.
    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    v10.until(&payment, Status::IssuedToUser).await;
}

#[tokio::test]
async fn a_payment_its_pos_cancels_while_its_sale_starts_is_never_left_open_for_the_customer() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    // The platform slow to answer: the PoS gives up on its payment while kasse is still creating
    // it there, and cancels it (v10 integrations time out within seconds).
    app.sim().set_faults(FaultKnobs { latency_ms: 1_500, ..FaultKnobs::default() }).unwrap();
    let listed = format!("/pos/v10/payments?posId={pos_id}");
    let (payment, cancelled) = tokio::join!(initiate(&v10, &pos_id, "given-up", 30.0), async {
        let id = loop {
            let active: QueryPaymentIdsResponse = v10.get(&listed).await.read();
            if let [id] = active.payment_ids.as_slice() {
                break id.clone();
            }
            tokio::task::yield_now().await;
        };
        v10.post(&format!("/pos/v10/payments/{id}/cancel"), None, &json!({})).await
    });
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);

    // The sale that started meanwhile is withdrawn: the customer cannot pay what the PoS let go.
    v10.until(&payment, Status::CancelledByClient).await;
    until(|| async {
        app.sim().payment_records().iter().all(|p| p.state != kasse_vipps::epayment::State::Created)
    })
    .await;
    let states: Vec<_> = app.sim().payment_records().iter().map(|p| p.state).collect();
    assert_eq!(states, [kasse_vipps::epayment::State::Terminated], "cancelled at the platform");
}

#[tokio::test]
async fn a_partial_capture_ends_the_payment_and_gives_the_customer_back_the_rest_of_the_reservation() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = reserved(&v10, &pos_id, "in-part", 40.0).await;

    // Only part of the goods went: a v10 capture is the payment's one, so the rest is let go.
    let path = format!("/pos/v10/payments/{payment}/capture");
    let captured = v10.post(&path, None, &json!({"amount": 15.0})).await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.body);
    assert_eq!(v10.payment(&payment).await.status, Status::Captured);
    let aggregate = danish_push(&app, 4_000).aggregate;
    assert_eq!(
        (aggregate.captured_amount.value, aggregate.cancelled_amount.value),
        (1_500, 2_500),
        "DKK 15 taken, DKK 25 no longer held on Mette's card"
    );
    // The same capture sent again (its answer lost) is the same capture, and nothing more moves.
    assert_eq!(v10.post(&path, None, &json!({"amount": 15.0})).await.status, StatusCode::OK);
    let again = danish_push(&app, 4_000).aggregate;
    assert_eq!((again.captured_amount.value, again.cancelled_amount.value), (1_500, 2_500));
    // Captured, it cannot be cancelled (refund it), nor captured further.
    let cancel = v10.post(&format!("/pos/v10/payments/{payment}/cancel"), None, &json!({})).await;
    assert_eq!(cancel.status, StatusCode::CONFLICT, "{}", cancel.body);
    let more = v10.post(&path, None, &json!({"amount": 5.0})).await;
    assert!(more.status.is_client_error(), "{}", more.body);
    assert_eq!(v10.payment(&payment).await.status, Status::Captured);
}

#[tokio::test]
async fn a_partial_capture_the_platform_answers_only_later_still_gives_back_the_rest() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = reserved(&v10, &pos_id, "late-part", 40.0).await;

    // The platform does not answer the capture: kept, and sent again once it does.
    platform_down(&app);
    let path = format!("/pos/v10/payments/{payment}/capture");
    assert_eq!(v10.post(&path, None, &json!({"amount": 15.0})).await.status, StatusCode::OK);
    let meanwhile = danish_push(&app, 4_000).aggregate;
    assert_eq!((meanwhile.captured_amount.value, meanwhile.cancelled_amount.value), (0, 0));

    // The reconciler's resend is confirmed, and the rest let go with it, the PoS asking nothing.
    platform_back(&app);
    until(|| async {
        let now = danish_push(&app, 4_000).aggregate;
        (now.captured_amount.value, now.cancelled_amount.value) == (1_500, 2_500)
    })
    .await;
    assert_eq!(v10.payment(&payment).await.status, Status::Captured);
}

#[tokio::test]
async fn a_partial_capture_whose_release_could_not_be_recorded_gives_back_the_rest_at_its_next_reading() {
    let data = DataDir::new();
    let (app, added) = danish_shop_beside(None, Some(&data)).await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = reserved(&v10, &pos_id, "unrecorded-release", 40.0).await;

    // The database takes the capture but not the release that follows it (as if it went away,
    // or the process died, between the two): the PoS is told its capture was made.
    let db = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    db.busy_timeout(PATIENCE).unwrap();
    db.execute_batch(
        "CREATE TRIGGER no_release BEFORE INSERT ON operations WHEN NEW.kind = 'cancel' \
         BEGIN SELECT RAISE(ABORT, 'the database is away'); END;",
    )
    .unwrap();
    let path = format!("/pos/v10/payments/{payment}/capture");
    let captured = v10.post(&path, None, &json!({"amount": 15.0})).await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.body);
    let held = danish_push(&app, 4_000).aggregate;
    assert_eq!((held.captured_amount.value, held.cancelled_amount.value), (1_500, 0), "DKK 25 still held");

    // The database back, the payment's next reading (half a minute on, brought forward) lets
    // the rest go, with nobody asking.
    db.execute_batch("DROP TRIGGER no_release;").unwrap();
    db.execute("UPDATE payments SET next_poll_at = 1 WHERE next_poll_at IS NOT NULL", []).unwrap();
    until(|| async {
        let now = danish_push(&app, 4_000).aggregate;
        (now.captured_amount.value, now.cancelled_amount.value) == (1_500, 2_500)
    })
    .await;
    assert_eq!(v10.payment(&payment).await.status, Status::Captured);
}

#[tokio::test]
async fn a_payment_whose_sale_started_as_the_process_died_takes_that_sale_and_moves_to_a_customer_checked_in_since()
 {
    let data = DataDir::new();
    let (app, added) = danish_shop_beside(None, Some(&data)).await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = initiate(&v10, &pos_id, "cut-off", 25.0).await;
    assert_eq!(v10.payment(&payment).await.status, Status::Initiated, "its QR code on the till");

    // As if the process had died after starting the QR sale and before naming it, and Mette
    // checked in before it came back: the payment has no sale, the till has it (the amount is
    // taken away meanwhile only so that no round finds the payment before she has checked in).
    let db = rusqlite::Connection::open(data.0.join("kasse.db")).unwrap();
    db.busy_timeout(PATIENCE).unwrap();
    let unnamed = db
        .execute("UPDATE v10_payments SET reference = NULL, amount = NULL WHERE payment_id = ?1", [&payment]);
    assert_eq!(unnamed.unwrap(), 1);
    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    let till = app.browser_of(TILL_DK).await;
    until(|| async { !app.check_ins_of(&till, TILL_DK).await.is_empty() }).await;
    db.execute("UPDATE v10_payments SET amount = 2500 WHERE payment_id = ?1", [&payment]).unwrap();

    // The next round finds the payment's sale at its till, and moves it to Mette: one request
    // on her phone, none left on the till.
    v10.until(&payment, Status::IssuedToUser).await;
    simulate(&v10, "acceptpayment", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    v10.until(&payment, Status::Reserved).await;
    let payments = app.sim().payment_records();
    let states: Vec<_> = payments.iter().map(|p| (p.amount.value, p.user_flow, p.state)).collect();
    assert_eq!(payments.len(), 2, "the QR sale and Mette's: {states:?}");
    assert_eq!(danish_push(&app, 2_500).state, kasse_vipps::epayment::State::Authorized);
}

#[tokio::test]
async fn a_payment_moving_to_a_checked_in_customer_while_the_platform_is_down_moves_once_it_is_back() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = initiate(&v10, &pos_id, "moving", 30.0).await;

    // Mette checks in while the platform answers nothing: the QR sale's cancel, the move's first
    // step, is kept and sent again by the reconciler.
    platform_down(&app);
    simulate(&v10, "checkin", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    let till = app.browser_of(TILL_DK).await;
    let cancelling = || async {
        let answer = app.send(till.get(format!("{}/api/tills/{TILL_DK}", app.base))).await;
        answer
            .json::<kasse_api::TillSnapshot>()
            .sale
            .is_some_and(|s| s.status == kasse_api::SaleStatus::Cancelling)
    };
    until(cancelling).await;
    assert_eq!(
        v10.payment(&payment).await.status,
        Status::Paired,
        "her check-in seen, nothing asked of her yet"
    );

    platform_back(&app);
    v10.until(&payment, Status::IssuedToUser).await;
    simulate(&v10, "acceptpayment", &json!({"beaconId": BEACON, "phoneNumber": METTE})).await;
    v10.until(&payment, Status::Reserved).await;
    assert_eq!(
        danish_push(&app, 3_000).state,
        kasse_vipps::epayment::State::Authorized,
        "paid once, on her phone"
    );
}

#[tokio::test]
async fn a_refund_is_captured_only_once_the_platform_has_given_it_back() {
    let (app, added) = danish_shop().await;
    let v10 = V10::connect(&app, &added).await;
    let pos_id = point_of_sale(&v10).await;
    let payment = reserved(&v10, &pos_id, "to-refund", 40.0).await;
    let captured =
        v10.post(&format!("/pos/v10/payments/{payment}/capture"), None, &json!({"amount": 40.0})).await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.body);

    // The platform stops answering: the refund is kept and sent again, but not given back yet.
    platform_down(&app);
    let body =
        json!({"paymentId": payment, "refundOrderId": "REFUND-9", "amount": 15.0, "currencyCode": "DKK"});
    let refund = v10.post("/pos/v10/refunds", Some("refund-9"), &body).await;
    assert_eq!(refund.status, StatusCode::OK, "{}", refund.body);
    let refund_id = refund.read::<CreateRefundResponse>().refund_id;
    let capture = format!("/pos/v10/refunds/{refund_id}/capture");
    let early = v10.post(&capture, None, &json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "nothing given back yet: {}", early.body);
    assert_eq!(early.error().code.as_deref(), Some("1351"), "v10's 'not reserved'");
    assert_eq!(danish_push(&app, 4_000).aggregate.refunded_amount.value, 0);

    platform_back(&app);
    until(|| async {
        v10.get(&format!("/pos/v10/refunds/{refund_id}")).await.read::<GetRefundResponse>().status
            == RefundState::Captured
    })
    .await;
    let done = v10.post(&capture, None, &json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(danish_push(&app, 4_000).aggregate.refunded_amount.value, 1_500, "given back once");
}

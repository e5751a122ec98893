//! A typed client for the platform's Access Token, ePayment, Webhooks, QR, Management, Userinfo and
//! Check-in APIs.
//!
//! It adds every header of reference/vipps-apis.md §1 to every call, fetches and caches the access
//! token (refreshing it before it expires, and once more if the platform says it is no longer
//! valid), and retries connection errors, 5xx and 429 with exponential backoff and jitter,
//! honouring `Retry-After` (an attempt that timed out is not sent again within the call, nor one
//! asked to wait longer than the policy's longest wait). A retry always sends the same body with
//! the same `Idempotency-Key`, which the caller supplies, so a retried write can never be applied
//! twice. Other 4xx answers are final.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::epayment::{
    Amount, CancelModificationRequest, CreatePaymentRequest, CreatePaymentResponse, ForceApprove,
    GetPaymentResponse, ModificationRequest, ModificationResponse, PaymentEvent,
};
use crate::headers;
use crate::problem::Problem;
use crate::qr::{
    CallbackQrImage, CustomerExchangeRequest, CustomerExchangeResponse, MerchantCallbackMobilePayPutRequest,
    MerchantCallbackPutRequest, MerchantCallbackQr, MerchantRedirectQrRequest, MerchantRedirectQrResponse,
    MerchantRedirectQrUpdateRequest, QrExchangeRequest, QrExchangeResponse, RedirectQrFormat,
};
use crate::retry::{Outcome, retry};
use crate::secret::Secret;
use crate::token::AuthorizationTokenResponse;
use crate::token_cache::{CachedToken, TokenState};
use crate::webhooks::{QueryResponse, RegisterRequest, RegisterResponse};

/// A sales unit's API credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Secret,
    /// `Ocp-Apim-Subscription-Key`.
    pub subscription_key: Secret,
    /// `Merchant-Serial-Number`: the sales unit.
    pub msn: String,
}

/// The `Vipps-System-*` headers: who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// `Vipps-System-Name`, at most 30 characters.
    pub name: String,
    /// `Vipps-System-Version`.
    pub version: String,
    /// `Vipps-System-Plugin-Name`.
    pub plugin_name: String,
    /// `Vipps-System-Plugin-Version`.
    pub plugin_version: String,
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; it doubles each attempt.
    pub base_delay: Duration,
    /// The longest single wait. A `Retry-After` longer than this ends the call instead: its
    /// caller keeps the write and sends it again later.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 4, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: full jitter over an exponentially growing window.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let window = self.base_delay.saturating_mul(2u32.saturating_pow(attempt)).min(self.max_delay);
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(window_ms / 2..=window_ms.max(1)))
    }
}

/// Everything a client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://apitest.vipps.no`, `https://api.vipps.no`, or the simulator's address.
    pub base_url: Url,
    /// The sales unit's credentials.
    pub credentials: Credentials,
    /// Who is calling.
    pub system: SystemInfo,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retry behaviour.
    pub retry: RetryPolicy,
}

/// Why a platform call did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The platform answered with an error status.
    #[error("the platform answered {status}: {problem}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The error body.
        problem: Box<Problem>,
    },
    /// No answer: connection failed or timed out, on every attempt.
    #[error("could not reach the platform: {0}")]
    Unreachable(String),
    /// An answer we could not read.
    #[error("unexpected answer from the platform: {0}")]
    UnexpectedAnswer(String),
    /// No access token could be had for the call, so the request itself was never sent: why.
    #[error("no access token: {0}")]
    NoToken(Box<Error>),
    /// An earlier attempt went unanswered (it may have been applied), and the platform refused
    /// the last before looking at it (credentials or access token not taken), so the call's
    /// outcome is the earlier attempt's: unknown.
    #[error("an earlier attempt went unanswered, and the last was refused before it was looked at: {0}")]
    Unsettled(Box<Error>),
}

impl Error {
    /// The HTTP status, if the platform answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The ePayment error code (e.g. 6060), if the platform sent one.
    pub fn error_code(&self) -> Option<u32> {
        match self {
            Self::Rejected { problem, .. } => problem.error_code(),
            _ => None,
        }
    }

    /// True when the platform refused the request before looking at it (its credentials or
    /// access token not taken: 401, 403), or it was never sent (no token to send it with). Such
    /// an answer says nothing of what an earlier sending of the same write did.
    pub fn refused_unread(&self) -> bool {
        matches!(self, Self::Rejected { status: 401 | 403, .. } | Self::NoToken(_))
    }

    /// True when the request may or may not have taken effect, or may take effect if sent again
    /// (no answer, or on the last attempt an answer saying "not now": see `is_retryable`): ask the
    /// platform, or retry with the same idempotency key, but never assume.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::UnexpectedAnswer(_) | Self::Unsettled(_) => true,
            Self::NoToken(why) => why.outcome_unknown(),
            Self::Rejected { status, problem } => is_retryable(*status, problem.error_code()),
        }
    }
}

/// Whether an answer says "not now" rather than "no", so the same request with the same key may
/// succeed later: 429, a 5xx, 423 Locked (another operation on the payment is under way), and
/// ePayment's 6160 ("Order processing, retry shortly"). Taken as a refusal, an automatic capture
/// asked while the platform was finishing an approval was never asked again. (6250, "Cannot
/// cancel processing payment", stays a refusal: the cashier hears the cancel cannot be done while
/// the customer's approval is being processed, and may press Cancel again.)
fn is_retryable(status: u16, code: Option<u32>) -> bool {
    status == 429 || status == 423 || status >= 500 || code == Some(6160)
}

/// A platform client for one sales unit. Cheap to share behind an `Arc`.
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    token: std::sync::Mutex<TokenState>,
    /// Held by the one call fetching a token (see `token_cache`).
    refreshing: Mutex<()>,
    /// Attempts sent again after a network error, a 5xx or a 429, since the client was made.
    retried: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base_url", &self.config.base_url.as_str()).finish_non_exhaustive()
    }
}

/// One logical platform call, sent again unchanged on each retry.
struct Call<'a> {
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    idempotency_key: Option<&'a str>,
    /// Headers of this call only, such as the QR API's `Accept` and `Size`.
    extra_headers: Vec<(header::HeaderName, String)>,
}

impl<'a> Call<'a> {
    fn new(method: Method, url: Url) -> Self {
        Self { method, url, body: None, idempotency_key: None, extra_headers: Vec::new() }
    }

    fn body<B: Serialize + ?Sized>(mut self, body: Option<&B>) -> Result<Self, Error> {
        self.body = body.map(to_json).transpose()?;
        Ok(self)
    }

    fn idempotency_key(mut self, key: Option<&'a str>) -> Self {
        self.idempotency_key = key;
        self
    }

    fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.extra_headers.push((name, value.into()));
        self
    }

    /// `Accept` and, for PNG, `Size`: the image a redirect-QR answer links to.
    fn image(self, format: RedirectQrFormat, size: Option<u32>) -> Self {
        let call = self.header(header::ACCEPT, format.accept());
        match size {
            Some(size) => call.header(header::HeaderName::from_static("size"), size.to_string()),
            None => call,
        }
    }
}

impl Client {
    /// A client for `config`.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| Error::UnexpectedAnswer(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            config,
            token: std::sync::Mutex::default(),
            refreshing: Mutex::new(()),
            retried: AtomicU64::new(0),
        })
    }

    /// The sales unit this client acts for.
    pub fn msn(&self) -> &str {
        &self.config.credentials.msn
    }

    /// How many attempts this client has sent again (after no answer, a 5xx or a 429) since it
    /// was made, access token requests included. Tools report the difference over a run.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// `POST /epayment/v1/payments`.
    pub async fn create_payment(
        &self,
        request: &CreatePaymentRequest,
        idempotency_key: &str,
    ) -> Result<CreatePaymentResponse, Error> {
        let url = self.endpoint(&["epayment", "v1", "payments"])?;
        self.json(Method::POST, url, Some(request), Some(idempotency_key)).await
    }

    /// `GET /epayment/v1/payments/{reference}`.
    pub async fn get_payment(&self, reference: &str) -> Result<GetPaymentResponse, Error> {
        let url = self.endpoint(&["epayment", "v1", "payments", reference])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `GET /epayment/v1/payments/{reference}/events`.
    pub async fn payment_events(&self, reference: &str) -> Result<Vec<PaymentEvent>, Error> {
        let url = self.endpoint(&["epayment", "v1", "payments", reference, "events"])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `POST /epayment/v1/payments/{reference}/capture`.
    pub async fn capture_payment(
        &self,
        reference: &str,
        amount: Amount,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, Error> {
        let url = self.endpoint(&["epayment", "v1", "payments", reference, "capture"])?;
        let body = ModificationRequest { modification_amount: amount };
        self.json(Method::POST, url, Some(&body), Some(idempotency_key)).await
    }

    /// `POST /epayment/v1/payments/{reference}/refund`.
    pub async fn refund_payment(
        &self,
        reference: &str,
        amount: Amount,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, Error> {
        let url = self.endpoint(&["epayment", "v1", "payments", reference, "refund"])?;
        let body = ModificationRequest { modification_amount: amount };
        self.json(Method::POST, url, Some(&body), Some(idempotency_key)).await
    }

    /// `POST /epayment/v1/payments/{reference}/cancel`. With `transaction_only`, the platform
    /// cancels only a payment the customer has not approved (else error 6060), so a till's "cancel"
    /// can never race the customer's approval.
    pub async fn cancel_payment(
        &self,
        reference: &str,
        transaction_only: bool,
        idempotency_key: &str,
    ) -> Result<ModificationResponse, Error> {
        let url = self.endpoint(&["epayment", "v1", "payments", reference, "cancel"])?;
        let body = CancelModificationRequest { cancel_transaction_only: transaction_only.then_some(true) };
        self.json(Method::POST, url, Some(&body), Some(idempotency_key)).await
    }

    /// Test only: `POST /epayment/v1/test/payments/{reference}/approve`.
    pub async fn force_approve(&self, reference: &str, body: &ForceApprove) -> Result<(), Error> {
        let url = self.endpoint(&["epayment", "v1", "test", "payments", reference, "approve"])?;
        self.send(Call::new(Method::POST, url).body(Some(body))?).await.map(drop)
    }

    /// `POST /webhooks/v1/webhooks`.
    pub async fn register_webhook(&self, request: &RegisterRequest) -> Result<RegisterResponse, Error> {
        let url = self.endpoint(&["webhooks", "v1", "webhooks"])?;
        self.json(Method::POST, url, Some(request), None).await
    }

    /// `GET /webhooks/v1/webhooks`.
    pub async fn list_webhooks(&self) -> Result<QueryResponse, Error> {
        let url = self.endpoint(&["webhooks", "v1", "webhooks"])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `GET /management/v1/sales-units/{msn}`: this client's sales unit as the Management API
    /// describes it.
    pub async fn sales_unit(&self) -> Result<crate::management::SalesUnit, Error> {
        let url = self.endpoint(&["management", "v1", "sales-units", &self.config.credentials.msn])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `GET /management/v1/merchants/{scheme}/{id}`: the merchant registered as `business`.
    pub async fn merchant(
        &self,
        business: &crate::management::BusinessIdentifier,
    ) -> Result<crate::management::Merchant, Error> {
        let url = self.endpoint(&["management", "v1", "merchants", &business.scheme, &business.id])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `GET /management/v1/merchants/{scheme}/{id}/sales-units`: the sales units of the merchant
    /// registered as `business` (of those these keys may see).
    pub async fn merchant_sales_units(
        &self,
        business: &crate::management::BusinessIdentifier,
    ) -> Result<Vec<crate::management::SalesUnitSummary>, Error> {
        let url =
            self.endpoint(&["management", "v1", "merchants", &business.scheme, &business.id, "sales-units"])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `GET /vipps-userinfo-api/userinfo/{sub}`: the profile data the customer `sub` (a
    /// payment's `profile.sub`) consented to share with this merchant. A 403 or 404 means there
    /// is nothing to read for these credentials.
    pub async fn userinfo(&self, sub: &str) -> Result<crate::userinfo::Userinfo, Error> {
        let url = self.endpoint(&["vipps-userinfo-api", "userinfo", sub])?;
        self.json(Method::GET, url, None::<&()>, None).await
    }

    /// `POST /point-of-sale/v1/loyalty-check-in` (Vipps in Norway only): shows the customer on
    /// their phone that they are checked in here, as a loyalty member or not. The answer's id is
    /// of no use to us and is dropped.
    pub async fn loyalty_check_in(&self, request: &crate::check_in::LoyaltyCheckIn) -> Result<(), Error> {
        let url = self.endpoint(&["point-of-sale", "v1", "loyalty-check-in"])?;
        // No idempotency key: the API takes none, and a retry after a lost answer only shows the
        // customer the same check-in screen again, which is harmless.
        self.send(Call::new(Method::POST, url).body(Some(request))?).await.map(drop)
    }

    /// The platform's clock: the `Date` of its answer to a harmless call (the webhook
    /// registrations), `None` if the answer had none. Webhook signatures carry the platform's
    /// time, and ours is what they are judged by.
    pub async fn platform_date(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
        let call = Call::new(Method::GET, self.endpoint(&["webhooks", "v1", "webhooks"])?);
        let token = self.access_token().await?;
        let response =
            self.request(&call, &token).send().await.map_err(|e| Error::Unreachable(without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.unwrap_or_default();
            return Err(Error::Rejected {
                status: status.as_u16(),
                problem: Box::new(problem_from(status, &bytes)),
            });
        }
        let date = response.headers().get(header::DATE).and_then(|v| v.to_str().ok());
        Ok(date
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&chrono::Utc)))
    }

    /// `DELETE /webhooks/v1/webhooks/{id}`.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["webhooks", "v1", "webhooks", id])?;
        self.send(Call::new(Method::DELETE, url)).await.map(drop)
    }

    /// `POST /qr/v1/merchant-redirect`: a static QR that sends whoever scans it to
    /// `request.redirect_url`. The answer's `url` links to an image in `format` (PNG of `size`
    /// pixels), or with [`RedirectQrFormat::TargetUrl`] is the code's content, to draw ourselves.
    ///
    /// A retry after a lost answer may meet the QR it created: that is a 409 whose body is
    /// [`ConflictResponse`](crate::qr::ConflictResponse); [`Client::get_redirect_qr`] then reads it.
    pub async fn create_redirect_qr(
        &self,
        request: &MerchantRedirectQrRequest,
        format: RedirectQrFormat,
        size: Option<u32>,
    ) -> Result<MerchantRedirectQrResponse, Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-redirect"])?;
        self.call_json(Call::new(Method::POST, url).body(Some(request))?.image(format, size)).await
    }

    /// `GET /qr/v1/merchant-redirect`: every redirect QR of the sales unit.
    pub async fn list_redirect_qrs(
        &self,
        format: RedirectQrFormat,
        size: Option<u32>,
    ) -> Result<Vec<MerchantRedirectQrResponse>, Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-redirect"])?;
        self.call_json(Call::new(Method::GET, url).image(format, size)).await
    }

    /// `GET /qr/v1/merchant-redirect/{id}`.
    pub async fn get_redirect_qr(
        &self,
        id: &str,
        format: RedirectQrFormat,
        size: Option<u32>,
    ) -> Result<MerchantRedirectQrResponse, Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-redirect", id])?;
        self.call_json(Call::new(Method::GET, url).image(format, size)).await
    }

    /// `PUT /qr/v1/merchant-redirect/{id}`: scans lead to `redirect_url` from now on; the printed
    /// code stays the same.
    pub async fn update_redirect_qr(
        &self,
        id: &str,
        redirect_url: &str,
        format: RedirectQrFormat,
        size: Option<u32>,
    ) -> Result<MerchantRedirectQrResponse, Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-redirect", id])?;
        let body = MerchantRedirectQrUpdateRequest { redirect_url: redirect_url.to_owned() };
        self.call_json(Call::new(Method::PUT, url).body(Some(&body))?.image(format, size)).await
    }

    /// `DELETE /qr/v1/merchant-redirect/{id}`: printed copies stop working for good, even if the
    /// id is used again.
    pub async fn delete_redirect_qr(&self, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-redirect", id])?;
        self.send(Call::new(Method::DELETE, url)).await.map(drop)
    }

    /// `PUT /qr/v1/merchant-callback/{merchantQrId}`: creates the callback QR, or changes its
    /// location description (the image never changes). A scan then sends `user.checked-in.v1`.
    pub async fn put_callback_qr(
        &self,
        merchant_qr_id: &str,
        request: &MerchantCallbackPutRequest,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-callback", merchant_qr_id])?;
        self.send(Call::new(Method::PUT, url).body(Some(request))?).await.map(drop)
    }

    /// `GET /qr/v1/merchant-callback`: every callback QR of the sales unit.
    pub async fn list_callback_qrs(&self, image: CallbackQrImage) -> Result<Vec<MerchantCallbackQr>, Error> {
        let mut url = self.endpoint(&["qr", "v1", "merchant-callback"])?;
        url.query_pairs_mut().extend_pairs(image.query());
        self.call_json(Call::new(Method::GET, url)).await
    }

    /// `GET /qr/v1/merchant-callback/{merchantQrId}`.
    pub async fn get_callback_qr(
        &self,
        merchant_qr_id: &str,
        image: CallbackQrImage,
    ) -> Result<MerchantCallbackQr, Error> {
        let mut url = self.endpoint(&["qr", "v1", "merchant-callback", merchant_qr_id])?;
        url.query_pairs_mut().extend_pairs(image.query());
        self.call_json(Call::new(Method::GET, url)).await
    }

    /// `DELETE /qr/v1/merchant-callback/{merchantQrId}`.
    pub async fn delete_callback_qr(&self, merchant_qr_id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-callback", merchant_qr_id])?;
        self.send(Call::new(Method::DELETE, url)).await.map(drop)
    }

    /// `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`: takes a printed MobilePay PoS beacon
    /// over as this sales unit's callback QR, with `merchantQrId` = `beacon_id`. Running it again
    /// is harmless; a beacon that belongs to another sales unit is a 409 ([`ConflictResponse`](crate::qr::ConflictResponse)).
    pub async fn put_mobilepay_qr(
        &self,
        beacon_id: &str,
        request: &MerchantCallbackMobilePayPutRequest,
    ) -> Result<(), Error> {
        let url = self.endpoint(&["qr", "v1", "merchant-callback", "mobilepay", beacon_id])?;
        self.send(Call::new(Method::PUT, url).body(Some(request))?).await.map(drop)
    }

    /// `POST /qr/v1/exchange`: the phone number behind a scanned personal QR (pass the complete
    /// scanned text; MobilePay codes are tokens that only this call can read).
    pub async fn exchange_personal_qr(&self, qr_code: &str) -> Result<QrExchangeResponse, Error> {
        let url = self.endpoint(&["qr", "v1", "exchange"])?;
        let body = QrExchangeRequest::msisdn(qr_code);
        self.call_json(Call::new(Method::POST, url).body(Some(&body))?).await
    }

    /// `POST /qr/v1/exchange/customer`: the phone number of the customer who checked in with
    /// `customer_token` (valid 15 minutes after the scan).
    pub async fn exchange_customer_token(
        &self,
        customer_token: &str,
    ) -> Result<CustomerExchangeResponse, Error> {
        let url = self.endpoint(&["qr", "v1", "exchange", "customer"])?;
        let body = CustomerExchangeRequest::msisdn(customer_token);
        self.call_json(Call::new(Method::POST, url).body(Some(&body))?).await
    }

    fn endpoint(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.config.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::UnexpectedAnswer("the platform base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        self.call_json(Call::new(method, url).body(body)?.idempotency_key(idempotency_key)).await
    }

    /// Sends `call` and reads the 2xx answer as `T`.
    async fn call_json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let bytes = self.send(call).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedAnswer(e.to_string()))
    }

    /// Sends one logical call, retrying as the policy allows. Returns the body of a 2xx answer.
    async fn send(&self, call: Call<'_>) -> Result<Vec<u8>, Error> {
        // Once per logical call, not per attempt: a 401 with a fresh token is the platform's answer.
        // Atomic only so that the attempts, which share it, stay `Send`; they never overlap.
        let refreshed_token = AtomicBool::new(false);
        retry(
            self.config.retry,
            &self.retried,
            |attempt| self.attempt(&call, attempt, &refreshed_token),
            |attempt, error| match error {
                Error::Rejected { status, .. } => {
                    tracing::warn!(url = %logged(&call.url), attempt, status = *status, "platform busy, retrying");
                }
                Error::Unreachable(reason) | Error::UnexpectedAnswer(reason) => {
                    tracing::warn!(url = %logged(&call.url), attempt, error = %reason, "platform unreachable, retrying");
                }
                // Always the call's last answer (see `unsettled`): never retried.
                Error::Unsettled(_) | Error::NoToken(_) => {}
            },
        )
        .await
    }

    /// One attempt at `call`: what it came to, for [`retry`] to act on.
    async fn attempt(
        &self,
        call: &Call<'_>,
        attempt: u32,
        refreshed_token: &AtomicBool,
    ) -> Outcome<Vec<u8>, Error> {
        loop {
            // The token request has had its own retries by the time it fails: do not add ours.
            let token = match self.access_token().await {
                Ok(token) => token,
                Err(e) => return Outcome::Done(Err(unsettled(Error::NoToken(Box::new(e)), attempt))),
            };
            let response = match self.request(call, &token).send().await {
                Ok(response) => response,
                Err(e) => return unanswered(&e),
            };
            let status = response.status();
            let retry_after = retry_after(&response);
            let bytes = match response.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => return Outcome::Done(Err(Error::Unreachable(without_url(&e)))),
            };
            tracing::debug!(method = %call.method, url = %logged(&call.url), status = status.as_u16(), attempt, "platform call");
            if status.is_success() {
                return Outcome::Done(Ok(bytes.to_vec()));
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed_token.swap(true, Ordering::Relaxed) {
                // The token may have been revoked or expired early: fetch a new one once. This is
                // the same attempt sent again at once, neither waited for nor counted as a retry.
                self.token_state().refused(&token);
                continue;
            }
            let problem = problem_from(status, &bytes);
            let retryable = is_retryable(status.as_u16(), problem.error_code());
            let rejected = Error::Rejected { status: status.as_u16(), problem: Box::new(problem) };
            if !retryable {
                // Credentials refused say nothing of what an earlier attempt did.
                return Outcome::Done(Err(if rejected.refused_unread() {
                    unsettled(rejected, attempt)
                } else {
                    rejected
                }));
            }
            return match retry_after {
                Some(after) => Outcome::RetryAfter(rejected, after),
                None => Outcome::Backoff(rejected),
            };
        }
    }

    /// `call` as an HTTP request with `token` and every required header.
    fn request(&self, call: &Call<'_>, token: &Secret) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(token.expose())
            .headers(self.common_headers());
        if let Some(key) = call.idempotency_key {
            request = request.header(headers::IDEMPOTENCY_KEY, key);
        }
        for (name, value) in &call.extra_headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request.header(header::CONTENT_TYPE, "application/json").body(body.clone());
        }
        request
    }

    fn common_headers(&self) -> header::HeaderMap {
        let creds = &self.config.credentials;
        let system = &self.config.system;
        let pairs = [
            (headers::SUBSCRIPTION_KEY, creds.subscription_key.expose()),
            (headers::MSN, creds.msn.as_str()),
            (headers::SYSTEM_NAME, system.name.as_str()),
            (headers::SYSTEM_VERSION, system.version.as_str()),
            (headers::SYSTEM_PLUGIN_NAME, system.plugin_name.as_str()),
            (headers::SYSTEM_PLUGIN_VERSION, system.plugin_version.as_str()),
        ];
        let mut map = header::HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(name), Ok(value)) =
                (header::HeaderName::from_bytes(name.as_bytes()), header::HeaderValue::from_str(value))
            {
                map.insert(name, value);
            }
        }
        map
    }

    /// The access token: the cached one, or the outcome of one fetch at a time (see
    /// `token_cache`).
    async fn access_token(&self) -> Result<Secret, Error> {
        let another_refreshes = self.refreshing.try_lock().is_err();
        if let Some(known) = self.token_state().known(Instant::now(), another_refreshes) {
            return known;
        }
        let _refreshing = self.refreshing.lock().await;
        // The call this one waited for has fetched, or failed: its outcome is this one's.
        if let Some(known) = self.token_state().known(Instant::now(), false) {
            return known;
        }
        let fetched = self.fetch_token().await.map(|token| {
            let lifetime = Duration::from_secs(token.lifetime_secs().unwrap_or(3600));
            CachedToken::fetched(Secret::new(token.access_token), lifetime, Instant::now())
        });
        self.token_state().fetched(fetched, Instant::now())
    }

    /// The token's state, for a moment (never held across an await).
    fn token_state(&self) -> std::sync::MutexGuard<'_, TokenState> {
        // A panic while it was held left nothing half-done: every change is one assignment.
        self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn fetch_token(&self) -> Result<AuthorizationTokenResponse, Error> {
        let url = self.endpoint(&["accesstoken", "get"])?;
        let creds = &self.config.credentials;
        // Unlike API calls, token retries always wait the policy's backoff and log nothing.
        // A reference, so that each attempt's future can take its own copy of it.
        let url = &url;
        retry(
            self.config.retry,
            &self.retried,
            move |_| async move {
                let outcome = self
                    .http
                    .post(url.clone())
                    .header(headers::CLIENT_ID, &creds.client_id)
                    .header(headers::CLIENT_SECRET, creds.client_secret.expose())
                    .headers(self.common_headers())
                    .send()
                    .await;
                match outcome {
                    Ok(response) if response.status().is_success() => Outcome::Done(
                        response.json().await.map_err(|e| Error::UnexpectedAnswer(without_url(&e))),
                    ),
                    Ok(response) => {
                        let status = response.status();
                        let bytes = response.bytes().await.unwrap_or_default();
                        let rejected = Error::Rejected {
                            status: status.as_u16(),
                            problem: Box::new(problem_from(status, &bytes)),
                        };
                        if rejected.outcome_unknown() {
                            Outcome::Backoff(rejected)
                        } else {
                            Outcome::Done(Err(rejected))
                        }
                    }
                    Err(e) => unanswered(&e),
                }
            },
            |_, _| {},
        )
        .await
    }
}

fn to_json<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|e| Error::UnexpectedAnswer(format!("cannot encode the request: {e}")))
}

/// A readable problem from any error answer, RFC 7807 or not.
fn problem_from(status: StatusCode, bytes: &[u8]) -> Problem {
    serde_json::from_slice::<Problem>(bytes).ok().filter(|p| !p.title.is_empty()).unwrap_or_else(|| Problem {
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: Some(status.as_u16()),
        detail: Some(String::from_utf8_lossy(bytes).chars().take(200).collect()),
        ..Problem::default()
    })
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// A transport error's text without the URL (which would repeat the reference on every line).
/// `refused`, the answer to attempt `attempt` given before the platform looked at the request
/// (no token, credentials refused): after an earlier attempt that went unanswered, and so may
/// have been applied, the call's outcome is unknown, never a refusal the caller would record as
/// final (a capture taken as refused, the customer asked to pay another way).
fn unsettled(refused: Error, attempt: u32) -> Error {
    if attempt > 1 && !refused.outcome_unknown() { Error::Unsettled(Box::new(refused)) } else { refused }
}

/// What a request that got no answer comes to. A connection refused, cut or not made in time is
/// tried again after the backoff. A request that timed out waiting for its answer is not, within
/// the call: the platform may be hanging, and each
/// attempt more held the caller (a cashier, under the payment's lock) for its whole timeout, four
/// of them about 40 s a press. Its outcome is unknown either way, so a write is kept and sent again
/// with its key by the server, a read asked again later.
fn unanswered<T>(e: &reqwest::Error) -> Outcome<T, Error> {
    let error = Error::Unreachable(without_url(e));
    // A connection that timed out being made sent nothing: that is tried again.
    if e.is_timeout() && !e.is_connect() { Outcome::Done(Err(error)) } else { Outcome::Backoff(error) }
}

fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_decode() {
        "could not decode the answer"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}

/// `url`'s path as the logs may show it: a customer's `sub` in a Userinfo path is personal data
/// that only the call needs, so the logs say `{sub}`.
fn logged(url: &Url) -> std::borrow::Cow<'_, str> {
    const USERINFO: &str = "/vipps-userinfo-api/userinfo/";
    match url.path().strip_prefix(USERINFO) {
        Some(_) => std::borrow::Cow::Owned(format!("{USERINFO}{{sub}}")),
        None => std::borrow::Cow::Borrowed(url.path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customers_sub_never_reaches_the_logs() {
        let url = Url::parse("https://api.vipps.no/vipps-userinfo-api/userinfo/c06c4afe-d9e1").unwrap();
        assert_eq!(logged(&url), "/vipps-userinfo-api/userinfo/{sub}");
        let other = Url::parse("https://api.vipps.no/epayment/v1/payments/ref-1").unwrap();
        assert_eq!(logged(&other), "/epayment/v1/payments/ref-1");
    }

    #[test]
    fn backoff_grows_and_stays_within_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            assert!(policy.backoff(8) <= Duration::from_secs(1));
            assert!(policy.backoff(8) >= Duration::from_millis(500));
        }
    }

    #[test]
    fn only_answers_that_say_not_now_are_retried() {
        let retried = |status, code| is_retryable(status, code);
        assert!(retried(500, None) && retried(503, None) && retried(429, None) && retried(423, None));
        assert!(retried(400, Some(6160)), "order processing, retry shortly");
        assert!(!retried(400, None) && !retried(409, None) && !retried(404, None));
        assert!(!retried(400, Some(6060)) && !retried(400, Some(6140)), "refusals that stand");
        assert!(!retried(400, Some(6250)), "a cancel while the approval is processed: the cashier hears so");
    }

    #[test]
    fn a_non_json_error_body_becomes_a_readable_problem() {
        let p = problem_from(StatusCode::TOO_MANY_REQUESTS, b"slow down");
        assert_eq!(p.title, "Too Many Requests");
        assert_eq!(p.detail.as_deref(), Some("slow down"));
    }

    #[test]
    fn every_call_can_be_spawned_on_a_multi_threaded_runtime() {
        fn spawnable<F: Future + Send>(_: &F) {}
        let client = Client::new(ClientConfig {
            base_url: Url::parse("http://127.0.0.1:9").unwrap(),
            credentials: Credentials {
                client_id: "id".into(),
                client_secret: Secret::new("secret"),
                subscription_key: Secret::new("key"),
                msn: "123456".into(),
            },
            system: SystemInfo {
                name: "kasse".into(),
                version: "0".into(),
                plugin_name: "kasse".into(),
                plugin_version: "0".into(),
            },
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        })
        .unwrap();
        // The retry helper is generic over each attempt's future: a call that lost `Send` there
        // would first show in the server, far from the cause. These are built, never run.
        spawnable(&client.get_payment("ref"));
        spawnable(&client.delete_webhook("id"));
        spawnable(&client.userinfo("sub"));
        let check_in = crate::check_in::LoyaltyCheckIn { phone_number: "4791234567".into(), is_member: true };
        spawnable(&client.loyalty_check_in(&check_in));
        spawnable(&client.fetch_token());
    }

    #[test]
    fn a_timed_out_or_5xx_call_has_an_unknown_outcome_but_a_4xx_does_not() {
        assert!(Error::Unreachable("timed out".into()).outcome_unknown());
        let rejected = |status| Error::Rejected { status, problem: Box::default() };
        assert!(rejected(502).outcome_unknown());
        assert!(!rejected(400).outcome_unknown());
    }
}

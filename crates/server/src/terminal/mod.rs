//! The terminal API's part of the sales engine: PoS systems (integrators) that hand a till an
//! amount, with their keys (`access`), what their requests become (here), their public types
//! (`wire`) and the callbacks that tell them how it went (`callbacks`). The HTTP surface is in
//! `routes::terminal`.
//!
//! A payment a PoS starts is an ordinary sale of its till, named with the PoS's integrator and
//! order id: the till shows it and may cancel it, and the reconciler finishes it like any other.

pub mod access;
pub mod callbacks;
pub mod wire;

use axum::http::HeaderMap;
use kasse_api::{NewSale, Payer as SalePayer, ProblemCode, SaleLine};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::config::TillConfig;
use crate::error::ApiError;
use crate::store::KeyUse;
use access::Integrator;
use wire::{Payer, PaymentRequest};

/// The header a PoS names each write with.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How much older than its key's record a payment or write under that key must be to have been
/// an earlier use of it, forgotten with the retention (at least a day): far more than any step of
/// the clock between recording a key and acting on it, so a retry always finds the first's.
const FORGOTTEN_USE_MS: i64 = 60 * 60 * 1000;

/// A write request's Idempotency-Key, as recorded for it.
#[derive(Debug, Clone)]
pub struct RequestKey {
    /// The PoS's key.
    pub key: String,
    /// `Again` when the same request named it before: a retry, which must find what the first did.
    pub used: KeyUse,
    /// Since when it has named this request (Unix ms).
    pub since: i64,
}

impl RequestKey {
    /// The key the sales engine knows this request's payment or write by: [`sale_key`], unless
    /// what that names was made before this key's record by more than [`FORGOTTEN_USE_MS`]
    /// (`earlier`, when it was made). Then it was an earlier use of the key, whose record the
    /// retention deleted: the README promises such a request is a new one, so it gets a key of
    /// its own, made unique by its record's time, the same for every retry of it.
    pub fn for_engine(&self, pos: &Integrator, earlier: Option<i64>) -> String {
        let key = sale_key(pos, &self.key);
        if earlier.is_some_and(|made| made + FORGOTTEN_USE_MS < self.since) {
            format!("{key}@{}", self.since)
        } else {
            key
        }
    }
}

/// A write request's Idempotency-Key, recorded for this request (see [`RequestKey`]). 400 without
/// a usable key, 409 when the key named another request.
pub async fn idempotency_key(
    app: &AppState,
    pos: &Integrator,
    headers: &HeaderMap,
    request: &str,
    body: &[u8],
) -> Result<RequestKey, ApiError> {
    let key = match headers.get(IDEMPOTENCY_KEY).map(|v| v.to_str()) {
        None => return Err(ApiError::idempotency_key_required()),
        Some(Ok(key)) if (1..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => key,
        Some(_) => {
            return Err(ApiError::bad_request(
                ProblemCode::BadIdempotencyKey,
                "The Idempotency-Key header must be 1 to 100 visible ASCII characters.",
            ));
        }
    };
    // The request is its method and path and its exact body: the same key on another payment,
    // another operation or another amount is another request.
    let hash =
        crate::hex(&Sha256::new().chain_update(request).chain_update([0]).chain_update(body).finalize());
    let (used, since) = app.store.use_idempotency_key_since(&pos.0.id, key, &hash, crate::now_ms()).await?;
    if used == KeyUse::Reused {
        return Err(crate::sales::SaleError::KeyReused.into());
    }
    Ok(RequestKey { key: key.to_owned(), used, since })
}

/// How the keys of PoS systems' writes begin; a browser's key may not.
pub const POS_KEY_PREFIX: &str = "pos:";

/// The key the sales engine knows a PoS's write by: the PoS's own key, made unique among
/// integrators (and apart from the keys of tills' browsers).
pub fn sale_key(pos: &Integrator, key: &str) -> String {
    format!("{POS_KEY_PREFIX}{}:{key}", pos.0.id)
}

/// What a PoS's payment request asks the till to do. "The till chooses" charges the customer
/// checked in at the till's sticker when exactly one is (the MobilePay PoS way of paying), and
/// otherwise shows a QR code.
pub async fn new_sale(
    app: &AppState,
    till: &TillConfig,
    request: PaymentRequest,
) -> Result<NewSale, ApiError> {
    if let Some(order) = &request.order_id
        && !((1..=64).contains(&order.len()) && order.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ApiError::bad_request(
            ProblemCode::BadRequestBody,
            "orderId must be 1 to 64 visible ASCII characters.",
        ));
    }
    let payer = match request.payer.unwrap_or(Payer::TillChooses) {
        Payer::Qr => SalePayer::Qr,
        Payer::Phone { phone_number } => SalePayer::Phone { phone_number },
        Payer::PersonalQr { personal_qr } => SalePayer::PersonalQr { personal_qr },
        Payer::TillChooses => match app.sales.open_check_ins(&till.id).await?.as_slice() {
            [only] => SalePayer::CheckIn { check_in: only.id.clone() },
            _ => SalePayer::Qr,
        },
    };
    let lines = request
        .lines
        .into_iter()
        .map(|line| SaleLine {
            name: line.name,
            quantity: line.quantity,
            unit_price: line.unit_price.into(),
            vat_rate: line.vat_rate,
        })
        .collect();
    Ok(NewSale {
        amount: request.amount.into(),
        description: request.description,
        lines,
        payer,
        loyalty: false,
    })
}

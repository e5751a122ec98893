//! The landing page's public API: a sticker's details, paying at it, and following the payment
//! (`/api/stickers/…`, `/api/payments/{token}…`). No pairing, so it is rate limited per client
//! address, per phone number and per sticker, with refusals a customer understands.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use axum::response::sse::{Event, Sse};
use futures_util::Stream;
use kasse_api::{LandingPayment, Msisdn, NewLandingPayment, ProblemCode, StickerInfo};

use super::live::{EventsQuery, stream_channel};
use super::{ApiJson, ApiQuery};
use crate::AppState;
use crate::error::ApiError;
use crate::limits::{RateLimiter, wait_in_words};
use crate::sales::{SaleError, landing_channel};

/// The landing page's limits: per client address, per phone number, per sticker.
#[derive(Debug)]
pub struct LandingLimits {
    address: RateLimiter,
    number: RateLimiter,
    sticker: RateLimiter,
}

impl Default for LandingLimits {
    fn default() -> Self {
        const TEN_MINUTES: i64 = 10 * 60 * 1000;
        Self {
            address: RateLimiter::new(10, TEN_MINUTES),
            // A stranger cannot flood someone's phone with payment requests.
            number: RateLimiter::new(3, TEN_MINUTES),
            sticker: RateLimiter::new(30, 60 * 1000),
        }
    }
}

/// Which of the landing page's limits refused a request.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// Requests to one phone number.
    Number,
    /// Requests from one client address.
    Client,
    /// Requests at one sticker.
    Sticker,
}

impl Limit {
    /// The refusal, `wait_ms` before a new attempt is allowed.
    fn refusal(self, wait_ms: i64) -> ApiError {
        let wait = wait_in_words(wait_ms);
        let (code, detail) = match self {
            Self::Number => (
                ProblemCode::NumberRateLimited,
                format!("This number has had several payment requests already. Try again in {wait}."),
            ),
            Self::Client => (
                ProblemCode::ClientRateLimited,
                format!("Too many payment requests from this phone. Try again in {wait}."),
            ),
            Self::Sticker => (
                ProblemCode::StickerRateLimited,
                format!("Many people are paying here right now. Try again in {wait}."),
            ),
        };
        ApiError::rate_limited(code, detail, wait_ms)
    }
}

/// `GET /api/stickers/{sticker}`.
pub async fn sticker(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
) -> Result<Json<StickerInfo>, ApiError> {
    Ok(Json(app.sales.sticker(&sticker).await?))
}

/// `POST /api/stickers/{sticker}/payments`: pay by phone number, or by opening the app.
///
/// Every limit is checked before any of them counts the request, so a request one limit refuses
/// uses up nothing of the others (a customer whose number a stranger flooded can still pay with
/// another), and a number counts only the requests that made a payment. Each refusal has its own
/// code and a `Retry-After`, so the page can say in the customer's language what to do and when.
pub async fn pay(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<NewLandingPayment>,
) -> Result<(StatusCode, Json<LandingPayment>), ApiError> {
    let info = app.sales.sticker(&sticker).await?;
    let now = crate::now_ms();
    let limits = &app.landing_limits;
    let address = client.ip().to_string();
    // Counted by the number it reaches, however it was typed.
    let number = request
        .phone_number
        .as_deref()
        .and_then(|typed| Msisdn::parse(typed, request.country.unwrap_or(info.country)).ok());
    let mut counted = Vec::with_capacity(3);
    if let Some(number) = &number {
        counted.push((Limit::Number, &limits.number, number.as_str()));
    }
    counted.push((Limit::Client, &limits.address, address.as_str()));
    counted.push((Limit::Sticker, &limits.sticker, sticker.as_str()));
    for (limit, limiter, key) in &counted {
        limiter.check(key, now).map_err(|wait| limit.refusal(wait))?;
    }
    for (limit, limiter, key) in &counted {
        // Checked again as it counts: two requests racing past the checks cannot both slip in.
        limiter.attempt(key, now).map_err(|wait| limit.refusal(wait))?;
    }
    let paid = app.sales.pay_at_sticker(&sticker, request).await;
    if let (Err(_), Some(number)) = (&paid, &number) {
        // Refused before any payment was made: nothing reached that phone, so nothing counts
        // against it (a customer trying while the till has nothing to pay is not flooding).
        limits.number.release(number.as_str(), now);
    }
    match paid {
        Ok(payment) => Ok((StatusCode::CREATED, Json(payment))),
        Err(SaleError::TillBusy { .. }) => Err(ApiError::busy_checkout()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/payments/{token}`: a landing-page payment as its customer may see it.
pub async fn payment(
    State(app): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Json<LandingPayment>, ApiError> {
    Ok(Json(app.sales.landing_payment(&token).await?))
}

/// `GET /api/payments/{token}/events`: the payment's live events.
pub async fn events(
    State(app): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    app.sales.landing_payment(&token).await?;
    stream_channel(&app, &landing_channel(&token), query, &headers).await
}

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
use kasse_api::{LandingPayment, Msisdn, NewLandingPayment, StickerInfo};

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

/// `GET /api/stickers/{sticker}`.
pub async fn sticker(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
) -> Result<Json<StickerInfo>, ApiError> {
    Ok(Json(app.sales.sticker(&sticker).await?))
}

/// `POST /api/stickers/{sticker}/payments`: pay by phone number, or by opening the app.
pub async fn pay(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<NewLandingPayment>,
) -> Result<(StatusCode, Json<LandingPayment>), ApiError> {
    let info = app.sales.sticker(&sticker).await?;
    let now = crate::now_ms();
    let limits = &app.landing_limits;
    if let Err(wait) = limits.sticker.attempt(&sticker, now) {
        return Err(ApiError::too_many(format!(
            "Many people are paying here right now. Try again in {}.",
            wait_in_words(wait)
        )));
    }
    if let Err(wait) = limits.address.attempt(&client.ip().to_string(), now) {
        return Err(ApiError::too_many(format!(
            "Too many payment requests from this phone. Try again in {}.",
            wait_in_words(wait)
        )));
    }
    if let Some(typed) = &request.phone_number {
        // Counted by the number it reaches, however it was typed.
        let country = request.country.unwrap_or(info.country);
        if let Ok(msisdn) = Msisdn::parse(typed, country)
            && let Err(wait) = limits.number.attempt(msisdn.as_str(), now)
        {
            return Err(ApiError::too_many(format!(
                "This number has had several payment requests already. Try again in {}.",
                wait_in_words(wait)
            )));
        }
    }
    match app.sales.pay_at_sticker(&sticker, request).await {
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

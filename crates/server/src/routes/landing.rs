//! The landing page's public API: a sticker's details, paying at it, and following the payment
//! (`/api/stickers/…`, `/api/payments/{token}…`). No pairing, so it is rate limited per client
//! address, per phone number and per sticker, with refusals a customer understands.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt as _};
use kasse_api::{LandingEvent, LandingPayment, Msisdn, NewLandingPayment, ProblemCode, StickerInfo};
use tokio::sync::broadcast;

use super::client::ClientAddr;
use super::live::{EventsQuery, stream_channel};
use super::{ApiJson, ApiQuery};
use crate::AppState;
use crate::error::ApiError;
use crate::limits::{SharedLimiter, wait_in_words};
use crate::live::{Caps, LiveEvent, Place};
use crate::sales::{SaleError, Sales, landing_channel, sticker_channel};
use crate::store::Store;

/// The landing page's limits: per client address (payment requests, and reads of a sticker), per
/// phone number (a short window, and a day), per sticker.
#[derive(Debug)]
pub struct LandingLimits {
    address: SharedLimiter,
    reads: SharedLimiter,
    number: SharedLimiter,
    /// `[limits] requests_per_number_per_day` a day.
    number_daily: SharedLimiter,
    sticker: SharedLimiter,
}

/// A minute and a day, in milliseconds.
const MINUTE: i64 = 60 * 1000;
const DAY: i64 = 24 * 60 * MINUTE;

impl LandingLimits {
    /// The limits, `daily_per_number` requests a day to one number among them, shared through
    /// `store` when instances share it.
    pub fn new(daily_per_number: u32, store: &Store) -> Self {
        Self {
            address: SharedLimiter::new("landing-address", 10, 10 * MINUTE, store),
            // A page reads its sticker on load and after some refusals: only something scraping
            // or hammering the sticker meets this.
            reads: SharedLimiter::new("landing-reads", 60, MINUTE, store),
            // A stranger cannot flood someone's phone with payment requests.
            number: SharedLimiter::new("landing-number", 3, 10 * MINUTE, store),
            number_daily: SharedLimiter::new(
                "landing-number-daily",
                usize::try_from(daily_per_number).unwrap_or(usize::MAX),
                DAY,
                store,
            ),
            sticker: SharedLimiter::new("landing-sticker", 30, MINUTE, store),
        }
    }
}

/// Which of the landing page's limits refused a request.
#[derive(Debug, Clone, Copy)]
enum Limit {
    /// Requests to one phone number in a short while.
    Number,
    /// Requests to one phone number in a day.
    NumberDaily,
    /// Requests from one client address.
    Client,
    /// Reads of stickers from one client address.
    Reads,
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
            Self::NumberDaily => (
                ProblemCode::NumberRateLimited,
                format!(
                    "This number has had as many payment requests as it may in a day. Try again in {}.",
                    long_wait_in_words(wait_ms)
                ),
            ),
            Self::Client => (
                ProblemCode::ClientRateLimited,
                format!("Too many payment requests from this phone. Try again in {wait}."),
            ),
            Self::Reads => (
                ProblemCode::ClientRateLimited,
                format!("Too many requests from this phone. Try again in {wait}."),
            ),
            Self::Sticker => (
                ProblemCode::StickerRateLimited,
                format!("Many people are paying here right now. Try again in {wait}."),
            ),
        };
        ApiError::rate_limited(code, detail, wait_ms)
    }
}

/// A wait of up to a day in words: hours once it is more than two of them.
fn long_wait_in_words(ms: i64) -> String {
    const HOUR: i64 = 60 * MINUTE;
    if ms > 2 * HOUR { format!("{} hours", (ms + HOUR - 1) / HOUR) } else { wait_in_words(ms) }
}

/// `GET /api/stickers/{sticker}`, limited per client address.
pub async fn sticker(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
    client: ClientAddr,
) -> Result<Json<StickerInfo>, ApiError> {
    let key = client.limit_key();
    app.landing_limits
        .reads
        .attempt(&key, crate::now_ms())
        .await?
        .map_err(|wait| Limit::Reads.refusal(wait))?;
    Ok(Json(app.sales.sticker(&sticker).await?))
}

/// `GET /api/stickers/{sticker}/events`: what the sticker offers, live, so a customer who scanned
/// before the cashier presented the amount sees it appear (and go again if the till takes it
/// back or another customer claims it). The first event is the sticker as it is now; each later
/// one is sent when it differs from the last sent. No event ids: a reconnecting page gets the
/// sticker as it is then, which is all it needs. Limited per client address as the sticker's
/// reads are, and to `[limits] streams_per_sticker` pages per sticker.
pub async fn sticker_events(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
    client: ClientAddr,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, super::live::StreamRefused> {
    use super::live::{Following, StreamRefused, ended};
    app.landing_limits
        .reads
        .attempt(&client.limit_key(), crate::now_ms())
        .await?
        .map_err(|wait| Limit::Reads.refusal(wait))?;
    let limits = app.config.limits;
    let caps = Caps { per_channel: limits.streams_per_sticker, total: limits.public_streams() };
    // Listen before reading, so a change in between is not missed.
    let (changes, place) = app
        .live
        .listen(&sticker_channel(&sticker), caps)
        .map_err(|full| StreamRefused::Full(full, Following::Sticker))?;
    let now = app.sales.sticker(&sticker).await?;
    let watch = StickerWatch { sales: app.sales.clone(), id: sticker, changes, shown: None, _place: place };
    let open = app.metrics.stream_opened();
    let stream = futures_util::stream::unfold((watch, Some(now)), |(mut watch, first)| async move {
        let sticker = watch.next(first).await?;
        let event = LandingEvent::Sticker { sticker };
        let data = serde_json::to_string(&event).unwrap_or_default();
        Some((Ok(Event::default().data(data)), (watch, None)))
    })
    .map(move |event| {
        // Counted as open until the page goes.
        let _open = &open;
        event
    })
    .take_until(ended(Arc::clone(&app), None));
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}

/// How long a sticker's stream goes without reading the sticker, when nothing signals a change.
const STICKER_LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// One page's watch on a sticker: the signals that it may have changed, and what the page was
/// last sent.
struct StickerWatch {
    sales: Sales,
    id: String,
    changes: broadcast::Receiver<LiveEvent>,
    shown: Option<StickerInfo>,
    /// The stream's place on the sticker's channel, given up with it.
    _place: Place,
}

impl StickerWatch {
    /// The sticker to send next: `first` if it is given, else the sticker as it is after the next
    /// change that made a difference. `None` ends the stream (the server stops listening, or the
    /// sticker cannot be read; the page reconnects by itself).
    async fn next(&mut self, first: Option<StickerInfo>) -> Option<StickerInfo> {
        let mut read = first;
        loop {
            if let Some(sticker) = read.take()
                && self.shown.as_ref() != Some(&sticker)
            {
                self.shown = Some(sticker.clone());
                return Some(sticker);
            }
            match tokio::time::timeout(STICKER_LOOK_EVERY, self.changes.recv()).await {
                // A page that fell behind has missed only signals: reading now catches it up. With
                // no signal for a while it looks anyway: on SQLite, `kasse-server sticker off` in
                // another process writes a switch this process is never told of.
                Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => {}
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
            }
            // Signals that came together need one reading.
            while matches!(self.changes.try_recv(), Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_))) {}
            match self.sales.sticker(&self.id).await {
                Ok(sticker) => read = Some(sticker),
                Err(e) => {
                    tracing::warn!(sticker = %self.id, error = %e, "cannot read a sticker for its pages");
                    return None;
                }
            }
        }
    }
}

/// `POST /api/stickers/{sticker}/payments`: pay by phone number, or by opening the app.
///
/// The client's limit counts every request that gets past it, malformed and refused ones too:
/// junk costs whoever sends it. The sticker's limit, which every customer there shares, and the
/// number's count only requests that made a payment: junk cannot lock a sticker for real
/// customers, and a request that reached nobody's phone floods no phone (nor locks its owner out
/// when they send again after a refusal). Every limit is checked before any of them counts, so a
/// request one limit refuses uses up nothing of the others (a customer whose number a stranger
/// flooded can still pay with another). Each refusal has its own code and a `Retry-After`, so the
/// page can say in the customer's language what to do and when.
pub async fn pay(
    State(app): State<Arc<AppState>>,
    Path(sticker): Path<String>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<ApiJson<NewLandingPayment>, ApiError>,
) -> Result<(StatusCode, Json<LandingPayment>), ApiError> {
    let key = super::till::client_key(&headers)?;
    if let Some(key) = key
        && let Some(earlier) = app.sales.landing_payment_by_key(&sticker, key).await?
    {
        // A retry of a request whose answer the customer's page never got: the payment it made,
        // counted once already.
        return Ok((StatusCode::CREATED, Json(earlier)));
    }
    let now = crate::now_ms();
    let limits = &app.landing_limits;
    let address = client.limit_key();
    limits.address.check(&address, now).await?.map_err(|wait| Limit::Client.refusal(wait))?;
    let (request, number) = match read_request(&app, &sticker, body).await {
        Ok(read) => read,
        Err(e) => {
            // Not a request anyone could pay by: it costs its sender, nobody else.
            limits.address.record(&address, now).await?;
            return Err(e);
        }
    };
    let mut counted = Vec::with_capacity(3);
    if let Some(number) = &number {
        counted.push((Limit::Number, &limits.number, number.as_str()));
        counted.push((Limit::NumberDaily, &limits.number_daily, number.as_str()));
    }
    counted.push((Limit::Client, &limits.address, address.as_str()));
    for (limit, limiter, key) in &counted {
        limiter.check(key, now).await?.map_err(|wait| limit.refusal(wait))?;
    }
    limits.sticker.check(&sticker, now).await?.map_err(|wait| Limit::Sticker.refusal(wait))?;
    for (limit, limiter, key) in &counted {
        // Checked again as it counts: two requests racing past the checks cannot both slip in.
        limiter.attempt(key, now).await?.map_err(|wait| limit.refusal(wait))?;
    }
    let paid = app.sales.pay_at_sticker(&sticker, request, key).await;
    if paid.is_ok() {
        // Counted only now that a payment was made, so junk never uses up a sticker for real
        // customers. Payments racing past the check together may all count, a few over the limit:
        // better than refused requests ever counting here. A refused request still counts
        // against its sender and the number it named (above): trying numbers, or one number
        // again and again, costs the one who tries.
        limits.sticker.record(&sticker, now).await?;
    } else if paid.as_ref().is_err_and(shop_not_ready) {
        // Refused for the shop's state, not the request's: the customer scanned before the
        // cashier presented, or while the checkout was busy. That is no reason to use up their
        // number; everything else refused (junk) still counts against it.
        for (limit, limiter, key) in &counted {
            if matches!(limit, Limit::Number | Limit::NumberDaily) {
                limiter.release(key, now).await?;
            }
        }
    }
    match paid {
        Ok(payment) => Ok((StatusCode::CREATED, Json(payment))),
        Err(SaleError::TillBusy { .. }) => Err(ApiError::busy_checkout()),
        Err(e) => Err(e.into()),
    }
}

/// Whether a payment was refused only because the till was not ready for it: nothing presented,
/// another payment in progress, or the amount changed since the customer read it.
fn shop_not_ready(refusal: &SaleError) -> bool {
    matches!(refusal, SaleError::NothingToPay | SaleError::TillBusy { .. } | SaleError::AmountChanged)
}

/// The request, and the number it reaches however it was typed; or why it cannot be paid by:
/// not understood, for no sticker, or to no number.
async fn read_request(
    app: &AppState,
    sticker: &str,
    body: Result<ApiJson<NewLandingPayment>, ApiError>,
) -> Result<(NewLandingPayment, Option<Msisdn>), ApiError> {
    let ApiJson(request) = body?;
    let info = app.sales.sticker(sticker).await?;
    let number = request
        .phone_number
        .as_deref()
        .map(|typed| Msisdn::parse(typed, request.country.unwrap_or(info.country)))
        .transpose()
        .map_err(SaleError::from)?;
    Ok((request, number))
}

/// `GET /api/payments/{token}`: a landing-page payment as its customer may see it.
pub async fn payment(
    State(app): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Json<LandingPayment>, ApiError> {
    Ok(Json(app.sales.landing_payment(&token).await?))
}

/// `GET /api/payments/{token}/events`: the payment's live events (at most
/// `[limits] streams_per_payment` streams at once per payment).
pub async fn events(
    State(app): State<Arc<AppState>>,
    Path(token): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, super::live::StreamRefused> {
    use super::live::{Audience, Channel, Following};
    app.sales.landing_payment(&token).await?;
    let name = landing_channel(&token);
    let channel =
        Channel { name: &name, following: Following::Payment, audience: Audience::Everything, session: None };
    stream_channel(&app, channel, query, &headers).await
}

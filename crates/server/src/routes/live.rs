//! Live events over server-sent events: each event has an id, and a reconnecting browser's
//! `Last-Event-ID` (or `?after=` on a first connection) replays what it missed from the store.
//!
//! Streams are capped per till, per landing payment and in all (`[limits]`): beyond a till's or a
//! payment's cap the answer is 429, beyond the server's 503, both with `Retry-After` and the code
//! `too-many-streams`. A till's stream belongs to its session and ends with it: when the operator
//! revokes it, when its lifetime runs out, or when the server stops; while open it counts as use
//! of the session, so a display that only watches stays paired.
//!
//! A customer display sees only its till's current sale: its replay holds the events of the sale
//! the till shows now (none of the till's earlier sales), and live it gets the events of that sale
//! and of each new sale from its start. It never gets check-ins (customers' identities, for the
//! cashier) or anything else that is not a sale.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _};
use kasse_api::{Problem, ProblemCode, Role, SaleStatus, TillEvent};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use super::ApiQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::live::{Caps, Full, LiveEvent};
use crate::pairing::{self, Paired};
use crate::sales::SaleError;
use crate::store::StoreError;

/// How long a browser turned away for too many streams is asked to wait.
const RETRY_AFTER_S: u16 = 30;

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Resume after this event id (a browser's first connection cannot send `Last-Event-ID`).
    after: Option<i64>,
}

/// `GET /api/tills/{till}/events`: the till's live events as server-sent events, resuming after
/// `Last-Event-ID` (or `?after=`), with keep-alives; a display's filtered to its current sale.
pub async fn till_events(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    ApiQuery(query): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, StreamRefused> {
    app.sales.till_view(&paired.till)?;
    let audience = match paired.role {
        Role::Till => Audience::Everything,
        // Its current sale is read once the backlog has been (see `stream_channel`).
        Role::Display => Audience::Display(DisplayView { current: None }),
    };
    let channel = Channel {
        name: &paired.till,
        following: Following::Till,
        audience,
        session: Some(SessionEnd { id: paired.session.clone(), ends_at: paired.ends_at }),
    };
    stream_channel(&app, channel, query, &headers).await
}

/// A channel to stream, and to whom.
pub struct Channel<'a> {
    /// Its name in the hub: a till's id, or a landing payment's channel.
    pub name: &'a str,
    /// What it follows, which sets its cap.
    pub following: Following,
    /// What of it the browser may see.
    pub audience: Audience,
    /// The session the stream belongs to, if any: it ends with it.
    pub session: Option<SessionEnd>,
}

/// What a stream follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Following {
    /// A till (its till screens and its displays).
    Till,
    /// A landing page's payment.
    Payment,
    /// What a sticker offers (landing pages waiting for an amount).
    Sticker,
}

/// What of a channel a browser sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every event: the till itself, or a landing page.
    Everything,
    /// A customer display: only its till's current sale.
    Display(DisplayView),
}

impl Audience {
    /// Whether a stored event is replayed.
    fn replays(&self, event: &LiveEvent) -> bool {
        match self {
            Self::Everything => true,
            Self::Display(view) => view.replays(&event.payload),
        }
    }

    /// Whether a live event is sent.
    fn shows(&mut self, event: &LiveEvent) -> bool {
        match self {
            Self::Everything => true,
            Self::Display(view) => view.shows(&event.payload),
        }
    }
}

/// The sale a customer display follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayView {
    /// The reference of the till's current sale, if it has had one (read by [`stream_channel`]
    /// after the stream's backlog).
    pub current: Option<String>,
}

impl DisplayView {
    /// The sale a till event is about: its reference and status.
    fn sale(payload: &str) -> Option<(String, SaleStatus)> {
        match serde_json::from_str::<TillEvent>(payload).ok()? {
            TillEvent::Sale { sale } => Some((sale.reference, sale.status)),
            _ => None,
        }
    }

    /// Replayed: the current sale's events only.
    fn replays(&self, payload: &str) -> bool {
        Self::sale(payload).is_some_and(|(reference, _)| self.current.as_ref() == Some(&reference))
    }

    /// Live: the current sale's events, and a new sale's from its first (then it is current).
    /// A later change to an earlier sale (a refund from the history) is not the customer's.
    fn shows(&mut self, payload: &str) -> bool {
        let Some((reference, status)) = Self::sale(payload) else { return false };
        if self.current.as_ref() == Some(&reference) {
            return true;
        }
        if status == SaleStatus::Creating {
            self.current = Some(reference);
            return true;
        }
        false
    }
}

/// The session a stream belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    /// Its id (the token's hash).
    pub id: String,
    /// When its lifetime runs out (Unix ms).
    pub ends_at: i64,
}

/// A channel's live events as server-sent events, after `Last-Event-ID`, `?after=`, or now.
pub async fn stream_channel(
    app: &Arc<AppState>,
    channel: Channel<'_>,
    query: EventsQuery,
    headers: &HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, StreamRefused> {
    let limits = app.config.limits;
    let caps = match channel.following {
        Following::Till => Caps { per_channel: limits.streams_per_till, total: limits.streams_total },
        Following::Payment => {
            Caps { per_channel: limits.streams_per_payment, total: limits.public_streams() }
        }
        Following::Sticker => {
            Caps { per_channel: limits.streams_per_sticker, total: limits.public_streams() }
        }
    };
    // Listen before reading the backlog, so nothing falls between the two.
    let (receiver, place) =
        app.live.listen(channel.name, caps).map_err(|full| StreamRefused::Full(full, channel.following))?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(query.after);
    let after = match resume {
        Some(id) => id,
        None => app.store.last_till_event_id(channel.name).await?,
    };
    let stored = app.live.since(channel.name, after).await?;
    let mut last_sent = stored.last().map_or(after, |e| e.id);
    app.live.replayed(channel.name, last_sent);
    let mut audience = channel.audience;
    if let Audience::Display(view) = &mut audience {
        // The till's current sale as it is after the backlog's read: read before it, a sale
        // started in between was in the backlog, left out as not the current one, and never
        // shown live either (its start already sent), the display stuck on the sale before.
        view.current = app.store.current_payment(channel.name).await?.map(|row| row.reference);
    }
    let backlog: Vec<LiveEvent> = stored.into_iter().filter(|e| audience.replays(e)).collect();
    let live = BroadcastStream::new(receiver)
        // A browser too slow to keep up is disconnected; it reconnects and replays from the store.
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(move |item| {
            let fresh = item.ok().filter(|e| e.id > last_sent);
            if let Some(e) = &fresh {
                last_sent = e.id;
            }
            std::future::ready(fresh.filter(|e| audience.shows(e)))
        });
    let end = ended(Arc::clone(app), channel.session);
    let open = app.metrics.stream_opened();
    let stream = tokio_stream::iter(backlog)
        .chain(live)
        .map(move |e| {
            // Held by the stream: counted as open, and its place on the channel taken, until the
            // browser goes.
            let _open = (&open, &place);
            Ok(Event::default().id(e.id.to_string()).data(&*e.payload))
        })
        .take_until(end);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Resolves when a stream must end: the server stops, or its session (if any) ends. Meanwhile
/// the open stream counts as use of its session.
pub(super) async fn ended(app: Arc<AppState>, session: Option<SessionEnd>) {
    let mut shutdown = app.shutdown.clone();
    let Some(session) = session else {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
        return;
    };
    let mut revoked = app.live.revocations();
    let left_ms = u64::try_from(session.ends_at - crate::now_ms()).unwrap_or(0);
    let lifetime = tokio::time::sleep(Duration::from_millis(left_ms));
    tokio::pin!(lifetime);
    // Often enough that an open stream keeps its session from idling out; the store writes at
    // most once a minute however often this comes.
    let every = (app.config.sessions.idle / 4).clamp(Duration::from_secs(1), Duration::from_hours(1));
    let mut in_use = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        // Each wait is its own future so the watch's read guard never lives across an await.
        let stopping = async { shutdown.wait_for(|stopping| *stopping).await.is_ok() };
        let revoked = async { revoked.wait_for(|ids| ids.contains(&session.id)).await.is_ok() };
        tokio::select! {
            _ = stopping => return,
            () = &mut lifetime => return,
            _ = revoked => return,
            _ = in_use.tick() => {
                if let Err(e) = pairing::note_use(&app.store, &session.id, crate::now_ms()).await {
                    tracing::warn!(error = %e, "cannot note an open stream's session as used");
                }
            }
        }
    }
}

/// Why a stream was not opened.
#[derive(Debug)]
pub enum StreamRefused {
    /// Refused as any request may be.
    Api(ApiError),
    /// Too many streams: on what it follows, or on the server.
    Full(Full, Following),
}

impl From<ApiError> for StreamRefused {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for StreamRefused {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

impl From<SaleError> for StreamRefused {
    fn from(e: SaleError) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for StreamRefused {
    fn into_response(self) -> Response {
        let wait_ms = i64::from(RETRY_AFTER_S) * 1000;
        match self {
            Self::Api(e) => e.into_response(),
            Self::Full(Full::Channel, Following::Till) => ApiError::rate_limited(
                ProblemCode::TooManyStreams,
                "Too many screens are following this till. Close one, then try again.",
                wait_ms,
            )
            .into_response(),
            Self::Full(Full::Channel, Following::Payment) => ApiError::rate_limited(
                ProblemCode::TooManyStreams,
                "Too many pages are following this payment. Close one, then try again.",
                wait_ms,
            )
            .into_response(),
            Self::Full(Full::Channel, Following::Sticker) => ApiError::rate_limited(
                ProblemCode::TooManyStreams,
                "Too many pages are waiting at this sticker. Close one, then try again.",
                wait_ms,
            )
            .into_response(),
            Self::Full(Full::Server, _) => {
                let status = StatusCode::SERVICE_UNAVAILABLE;
                let problem = Problem::new(
                    status.as_u16(),
                    ProblemCode::TooManyStreams,
                    "Too many streams",
                    "The server is following as many screens as it can. Try again in a moment.",
                );
                let body = serde_json::to_vec(&problem).unwrap_or_default();
                let mut response = (status, body).into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(Problem::CONTENT_TYPE));
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
                response
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::{Currency, Flow, Money, Sale};

    use super::*;

    fn sale_event(reference: &str, status: SaleStatus) -> String {
        let nok = |value: i64| Money::new(value, Currency::Nok);
        let sale = Sale {
            reference: reference.to_owned(),
            till_id: "till-1".to_owned(),
            sticker_id: None,
            amount: nok(100),
            description: None,
            flow: Flow::Qr,
            customer: None,
            status,
            qr: None,
            expires_at_ms: None,
            authorized: nok(0),
            captured: nok(0),
            cancelled: nok(0),
            refunded: nok(0),
            failure: None,
            created_at_ms: 0,
            loyalty: None,
        };
        serde_json::to_string(&TillEvent::Sale { sale }).unwrap()
    }

    #[test]
    fn a_display_replays_only_the_current_sale_and_follows_new_sales_from_their_start() {
        let mut view = DisplayView { current: Some("now".to_owned()) };
        assert!(!view.replays(&sale_event("before", SaleStatus::Creating)), "an earlier sale");
        assert!(!view.replays(&sale_event("before", SaleStatus::Captured)));
        assert!(view.replays(&sale_event("now", SaleStatus::AwaitingCustomer)));
        assert!(!view.replays(r#"{"type":"checkIn","checkIn":{}}"#), "not a sale");

        assert!(!view.shows(&sale_event("before", SaleStatus::Refunded)), "a refund from the history");
        assert!(view.shows(&sale_event("now", SaleStatus::Captured)));
        assert!(view.shows(&sale_event("next", SaleStatus::Creating)), "a new sale starts");
        assert!(view.shows(&sale_event("next", SaleStatus::AwaitingCustomer)));
        assert!(!view.shows(&sale_event("now", SaleStatus::Refunded)), "the last one is history now");
        assert!(!view.shows(r#"{"type":"platform","reachable":false}"#));
    }
}

//! Live events over server-sent events: each event has an id, and a reconnecting browser's
//! `Last-Event-ID` (or `?after=` on a first connection) replays what it missed from the store.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt as _};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use super::ApiQuery;
use crate::AppState;
use crate::error::ApiError;
use crate::pairing::Paired;

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Resume after this event id (a browser's first connection cannot send `Last-Event-ID`).
    after: Option<i64>,
}

/// `GET /api/tills/{till}/events`: the till's live events as server-sent events, resuming after
/// `Last-Event-ID` (or `?after=`), with keep-alives.
pub async fn till_events(
    State(app): State<Arc<AppState>>,
    paired: Paired,
    ApiQuery(query): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let till = paired.till;
    app.sales.till_view(&till)?;
    stream_channel(&app, &till, query, &headers).await
}

/// A channel's live events as server-sent events, after `Last-Event-ID`, `?after=`, or now.
pub async fn stream_channel(
    app: &AppState,
    channel: &str,
    query: EventsQuery,
    headers: &HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, ApiError> {
    // Listen before reading the backlog, so nothing falls between the two.
    let receiver = app.live.subscribe(channel);
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(query.after);
    let after = match resume {
        Some(id) => id,
        None => app.store.last_till_event_id(channel).await?,
    };
    let backlog = app.live.since(channel, after).await?;
    let mut last_sent = backlog.last().map_or(after, |e| e.id);
    let live = BroadcastStream::new(receiver)
        // A browser too slow to keep up is disconnected; it reconnects and replays from the store.
        .take_while(|item| std::future::ready(item.is_ok()))
        .filter_map(move |item| {
            let fresh = item.ok().filter(|e| e.id > last_sent);
            if let Some(e) = &fresh {
                last_sent = e.id;
            }
            std::future::ready(fresh)
        });
    let mut shutdown = app.shutdown.clone();
    let open = app.metrics.stream_opened();
    let stream = tokio_stream::iter(backlog)
        .chain(live)
        .map(move |e| {
            // Held by the stream: counted as open until the browser goes.
            let _open = &open;
            Ok(Event::default().id(e.id.to_string()).data(&*e.payload))
        })
        .take_until(async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

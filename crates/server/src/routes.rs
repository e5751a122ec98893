//! The HTTP surface for browsers: the till API under `/api`, the live event streams, the built web
//! app, and the security headers on everything.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{any, get, post};
use futures_util::{Stream, StreamExt as _};
use kasse_api::{NewSale, Sale, Session, TillSnapshot};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::ApiError;
use crate::webhook;

/// The Content-Security-Policy of every response: our own scripts and WebAssembly only, nothing
/// inline, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// JSON request bodies are small; anything larger is refused before it is read.
const MAX_BODY: usize = 64 * 1024;

/// Every route.
pub fn router(app: &Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/session", get(session))
        .route("/api/tills/{till}", get(snapshot))
        .route("/api/tills/{till}/sales", post(start_sale))
        .route("/api/tills/{till}/sales/{reference}", get(get_sale))
        .route("/api/tills/{till}/sales/{reference}/cancel", post(cancel_sale))
        .route("/api/tills/{till}/events", get(events))
        .route("/api", any(no_such_endpoint))
        .route("/api/", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
        .route(webhook::PATH, post(webhook::receive))
        .route("/healthz", get(|| async { "ok" }))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(app_files)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::clone(app));
    api.layer(middleware::from_fn(cache_control))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
        ))
}

async fn no_such_endpoint() -> ApiError {
    ApiError::no_such_endpoint()
}

/// The built web app. A path that names a file is that file (or 404); any other path is an app
/// route (/till, /display/…, /q/…), answered with the one page, which routes inside itself.
async fn app_files(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let names_a_file = request.uri().path().rsplit('/').next().is_some_and(|last| last.contains('.'));
    let served = if names_a_file {
        ServeDir::new(&app.config.dist).try_call(request).await
    } else {
        ServeFile::new(app.config.dist.join("index.html")).try_call(request).await
    };
    match served {
        Ok(response) => response.map(axum::body::Body::new),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the web app's files");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Hashed build outputs never change, so browsers keep them; everything else is revalidated.
async fn cache_control(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let value = if is_hashed_asset(&path) { "public, max-age=31536000, immutable" } else { "no-cache" };
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// `/kasse-0123456789abcdef_bg.wasm`: Trunk's file hash is 16 hex digits after the last `-`.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default().trim_end_matches("_bg");
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A JSON body whose rejection is a problem, not plain text.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::too_large())
            }
            Err(rejection) => Err(ApiError::bad_request("bad-request-body", rejection_sentence(&rejection))),
        }
    }
}

fn rejection_sentence(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Send the request as JSON (Content-Type: application/json).".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => "The request is not valid JSON.".to_owned(),
        other => format!("The request does not have the expected fields: {}", other.body_text()),
    }
}

/// What the browser is: for now every browser is the first till's; pairing replaces this.
async fn session(State(app): State<Arc<AppState>>) -> Result<Json<Session>, ApiError> {
    let first = app.config.tills.first().map(|t| t.id.clone()).unwrap_or_default();
    Ok(Json(Session { till: app.sales.till_view(&first)? }))
}

async fn snapshot(
    State(app): State<Arc<AppState>>,
    Path(till): Path<String>,
) -> Result<Json<TillSnapshot>, ApiError> {
    Ok(Json(app.sales.snapshot(&till).await?))
}

async fn start_sale(
    State(app): State<Arc<AppState>>,
    Path(till): Path<String>,
    ApiJson(new): ApiJson<NewSale>,
) -> Result<(StatusCode, Json<Sale>), ApiError> {
    Ok((StatusCode::CREATED, Json(app.sales.start(&till, new).await?)))
}

async fn get_sale(
    State(app): State<Arc<AppState>>,
    Path((till, reference)): Path<(String, String)>,
) -> Result<Json<Sale>, ApiError> {
    Ok(Json(app.sales.sale(&till, &reference).await?))
}

async fn cancel_sale(
    State(app): State<Arc<AppState>>,
    Path((till, reference)): Path<(String, String)>,
) -> Result<Json<Sale>, ApiError> {
    Ok(Json(app.sales.cancel(&till, &reference).await?))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    /// Resume after this event id (a browser's first connection cannot send `Last-Event-ID`).
    after: Option<i64>,
}

/// `GET /api/tills/{till}/events`: the till's live events as server-sent events, resuming after
/// `Last-Event-ID` (or `?after=`), with keep-alives.
async fn events(
    State(app): State<Arc<AppState>>,
    Path(till): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    app.sales.till_view(&till)?;
    // Listen before reading the backlog, so nothing falls between the two.
    let receiver = app.live.subscribe(&till);
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(query.after);
    let after = match resume {
        Some(id) => id,
        None => app.store.last_till_event_id(&till).await?,
    };
    let backlog = app.live.since(&till, after).await?;
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
    let stream = tokio_stream::iter(backlog)
        .chain(live)
        .map(|e| Ok(Event::default().id(e.id.to_string()).data(&*e.payload)))
        .take_until(async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_outputs_are_cached_forever_and_entry_points_are_not() {
        assert!(is_hashed_asset("/kasse-4f1c2a9b8d7e6f50_bg.wasm"));
        assert!(is_hashed_asset("/kasse-4f1c2a9b8d7e6f50.js"));
        assert!(is_hashed_asset("/app-0123456789abcdef.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/boot.js"));
        assert!(!is_hashed_asset("/till"));
        assert!(!is_hashed_asset("/api/tills/till-1"));
    }
}

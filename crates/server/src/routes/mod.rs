//! The HTTP surface for browsers: the till API under `/api` (`till`), the live event streams
//! (`live`), the built web app, and the security headers on everything.

mod admin;
mod admin_health;
mod admin_sales;
mod admin_stickers;
pub(crate) mod client;
mod end_of_day;
mod health;
mod landing;
mod live;
mod pair;
mod pos_v10;
pub(crate) mod terminal;
mod till;
pub(crate) mod webhooks;

pub use landing::LandingLimits;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{any, get, post};
use kasse_api::ProblemCode;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::error::ApiError;
use client::FromOperator;

/// The Content-Security-Policy of every response: our own scripts and WebAssembly only, nothing
/// inline, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The Strict-Transport-Security of every response when the public URL is https: a year, for
/// the host and its subdomains.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// JSON request bodies are small; anything larger is refused before it is read.
const MAX_BODY: usize = 64 * 1024;

/// Every route.
pub fn router(app: &Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/session", get(pair::session))
        .route("/api/pair", post(pair::pair))
        .route("/api/admin/session", get(admin::session))
        .route("/api/admin/devices", get(admin::devices))
        .route("/api/admin/devices/{device}/revoke", post(admin::revoke))
        .route("/api/admin/pairing-codes", post(admin::pairing_code))
        .route("/api/admin/health", get(admin_health::health))
        .route("/api/admin/stickers", get(admin_stickers::list).post(admin_stickers::create))
        .route("/api/admin/stickers/sheet", get(admin_stickers::sheet))
        .route("/api/admin/stickers/sheet.css", get(admin_stickers::sheet_css))
        .route("/api/admin/sales", get(admin_sales::sales))
        .route("/api/admin/sales/{reference}", get(admin_sales::sale))
        .route("/api/admin/sales/{reference}/log", get(admin_sales::log))
        .route("/api/admin/sales/{reference}/capture", post(admin_sales::capture))
        .route("/api/admin/sales/{reference}/cancel", post(admin_sales::cancel))
        .route("/api/admin/sales/{reference}/refund", post(admin_sales::refund))
        .route("/api/admin/sales/{reference}/reconcile", post(admin_sales::reconcile))
        .route("/api/admin/end-of-day", get(end_of_day::figures))
        .route("/api/admin/end-of-day.csv", get(end_of_day::csv))
        .route("/api/tills/{till}", get(till::snapshot))
        .route("/api/tills/{till}/sales", post(till::start_sale).get(till::history))
        .route("/api/tills/{till}/sales/{reference}", get(till::sale))
        .route("/api/tills/{till}/sales/{reference}/cancel", post(till::cancel))
        .route("/api/tills/{till}/sales/{reference}/capture", post(till::capture))
        .route("/api/tills/{till}/sales/{reference}/refund", post(till::refund))
        .route("/api/tills/{till}/sales/{reference}/reconcile", post(till::reconcile))
        .route("/api/tills/{till}/sales/{reference}/log", get(till::log))
        .route("/api/tills/{till}/check-ins", get(till::check_ins))
        .route("/api/tills/{till}/events", get(live::till_events))
        .route("/api/tills/{till}/presented", get(till::presented).put(till::present).delete(till::withdraw))
        .route("/api/stickers/{sticker}", get(landing::sticker))
        .route("/api/stickers/{sticker}/payments", post(landing::pay))
        .route("/api/stickers/{sticker}/events", get(landing::sticker_events))
        .route("/api/payments/{token}", get(landing::payment))
        .route("/api/payments/{token}/events", get(landing::events))
        .route("/api", any(no_such_endpoint))
        .route("/api/", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
        .route(webhooks::PATH, post(webhooks::receive))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(app_files)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(app), same_origin_only))
        .with_state(Arc::clone(app))
        .merge(terminal::router(app))
        .merge(pos_v10::router(app));
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
        // Only a server reached over https says so: browsers then never try plain http again.
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            (app.public_url.scheme() == "https").then(|| HeaderValue::from_static(HSTS)),
        ))
}

/// Refuses a state-changing request a browser sent from another site's page. The session cookie
/// is SameSite=Strict already; this also stops other sites reaching the public landing-page API.
async fn same_origin_only(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let changes_state = !matches!(request.method(), &Method::GET | &Method::HEAD | &Method::OPTIONS);
    let foreign = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin != app.public_url.origin().ascii_serialization());
    if changes_state && foreign {
        return ApiError::forbidden("Requests from other sites are refused.").into_response();
    }
    next.run(request).await
}

/// `GET /metrics`: Prometheus text.
/// `GET /metrics`, for the operator's own networks only ([`FromOperator`]): a shop's sales volume
/// is nobody else's business. Not found for anyone else.
async fn metrics(
    State(app): State<Arc<AppState>>,
    FromOperator(operator): FromOperator,
) -> Result<Response, ApiError> {
    if !operator {
        return Err(ApiError::no_such_endpoint());
    }
    let (pending, active, inbox) = app.store.gauges().await?;
    let text = app.metrics.render(&[
        ("kasse_operations_pending", "Platform writes recorded and not yet confirmed.", pending),
        ("kasse_sales_in_progress", "Sales that have not reached an outcome.", active),
        ("kasse_webhooks_unprocessed", "Webhook deliveries stored and not yet processed.", inbox),
        (
            "kasse_terminal_waits",
            "PoS requests waiting for a payment's outcome (?wait=).",
            i64::try_from(app.live.waiting()).unwrap_or(i64::MAX),
        ),
    ]);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn no_such_endpoint() -> ApiError {
    ApiError::no_such_endpoint()
}

/// The built web app. A path that names a file is that file (or 404); any other path is a page,
/// answered with the `index.html` of the bundle that draws it ([`bundle_of`]), which routes
/// inside itself. Each is sent pre-compressed (`.br`, else `.gz`, written at build time) to a
/// browser that takes it.
async fn app_files(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let path = request.uri().path();
    let names_a_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
    let dist = &app.config.dist;
    let served = if names_a_file {
        ServeDir::new(dist).precompressed_br().precompressed_gzip().try_call(request).await
    } else {
        let page = dist.join(bundle_of(path)).join("index.html");
        let early = sticker_read_early(path);
        ServeFile::new(page).precompressed_br().precompressed_gzip().try_call(request).await.map(
            |mut response| {
                if let Some(link) = early {
                    response.headers_mut().insert(header::LINK, link);
                }
                response
            },
        )
    };
    match served {
        Ok(response) => {
            let mut response = response.map(axum::body::Body::new);
            // The same address answers differently by Accept-Encoding: caches must keep both.
            response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the web app's files");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The folder of `dist/` whose bundle draws the page at `path` (see `xtask/src/app.rs`): each
/// screen a device opens is a download of its own, the sticker landing page's smallest of all.
/// The till's, at the root, draws the rest.
fn bundle_of(path: &str) -> &'static str {
    let under =
        |prefix: &str| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if under("/q") {
        "landing"
    } else if under("/till/history") || under("/till/sales") {
        "history"
    } else if under("/display") {
        "display"
    } else if under("/admin") {
        "admin"
    } else {
        ""
    }
}

/// For a sticker's landing page, `/q/{id}`: a `Link` that has the browser fetch what the
/// sticker offers while it loads the page's code, instead of after it (one round trip less on a
/// phone's slow connection). The id is read as the page reads it, so the page's own request is
/// the one preloaded.
fn sticker_read_early(path: &str) -> Option<HeaderValue> {
    let id = kasse_api::sticker_in_landing_path(path)?;
    HeaderValue::from_str(&format!("</api/stickers/{id}>; rel=preload; as=fetch; crossorigin")).ok()
}

/// Hashed build outputs never change, so browsers keep them; everything else is revalidated. A
/// live event stream is also marked for nginx not to buffer, whatever its `location` says: each
/// event must reach the page at once, and a proxy set up for the tills' streams alone would
/// otherwise hold a sticker page's in its buffer.
async fn cache_control(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let value = if is_hashed_asset(&path) { "public, max-age=31536000, immutable" } else { "no-cache" };
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    if crate::serving::is_event_stream(response.headers()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
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
            Err(rejection) => {
                Err(ApiError::bad_request(ProblemCode::BadRequestBody, rejection_sentence(&rejection)))
            }
        }
    }
}

/// A request body as bytes whose rejection (too large, cut off) is a problem, not plain text.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::too_large())
            }
            Err(rejection) => Err(ApiError::bad_request(
                ProblemCode::BadRequestBody,
                format!("The request body could not be read: {}", rejection.body_text()),
            )),
        }
    }
}

/// The address's parameters whose rejection (not text, not a number) is a problem, not plain text.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request(
                ProblemCode::BadQuery,
                format!("The address is not understood: {}", rejection.body_text()),
            )),
        }
    }
}

/// A query string whose rejection is a problem, not plain text.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request(
                ProblemCode::BadQuery,
                format!("The address's query is not understood: {}", rejection.body_text()),
            )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_is_drawn_by_its_own_bundle() {
        for (path, bundle) in [
            ("/till", ""),
            ("/", ""),
            ("/pair", ""),
            ("/till/history", "history"),
            ("/till/sales/kasse-till-1-abc", "history"),
            ("/display/till-1", "display"),
            ("/display", "display"),
            ("/displays", ""),
            ("/admin", "admin"),
            ("/admin/sales", "admin"),
            ("/administrator", ""),
            ("/till/historyx", ""),
            ("/q/demo", "landing"),
            ("/q", "landing"),
            ("/quit", ""),
        ] {
            assert_eq!(bundle_of(path), bundle, "{path}");
        }
    }

    #[test]
    fn only_a_sticker_the_landing_page_can_read_has_its_offer_fetched_early() {
        let link = |path| sticker_read_early(path).map(|v| v.to_str().unwrap_or_default().to_owned());
        assert_eq!(
            link("/q/demo").as_deref(),
            Some("</api/stickers/demo>; rel=preload; as=fetch; crossorigin")
        );
        assert_eq!(
            link("/q/tips_jar-2/").as_deref(),
            Some("</api/stickers/tips_jar-2>; rel=preload; as=fetch; crossorigin")
        );
        for path in ["/q", "/q/", "/q/a%20b", "/q/a/b", "/q/a>;x", "/till", "/quit"] {
            assert_eq!(link(path), None, "{path}");
        }
    }

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

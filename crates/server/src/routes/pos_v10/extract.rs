//! A v10 request's address, query string and body, whose rejections are v10's 400 in its error
//! shape (`{code, message, correlationId}`), naming the request as v10 named it, rather than
//! axum's plain text, which a v10 integration reading every error as JSON cannot read. A body
//! past [`MAX_BODY`] is a 400 too: v10 declared no 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, StatusCode};
use kasse_api::ProblemCode;

use super::V10Error;

/// The largest v10 request body taken: far above any v10 request.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// The correlation id [`super::V10Caller`] chose for a request (its `CorrelationId`, or a new
/// one), kept for the extractors that run after it.
#[derive(Debug, Clone)]
pub(super) struct Correlation(pub(super) String);

/// A 400 named by the request's correlation id (a new one if no caller was read first).
fn refused(extensions: &Extensions, code: ProblemCode, message: String) -> V10Error {
    let correlation_id =
        extensions.get::<Correlation>().map_or_else(|| uuid::Uuid::new_v4().to_string(), |c| c.0.clone());
    V10Error { correlation_id, ..V10Error::bad_request(code.as_str(), message) }
}

/// The address's parameters.
pub(super) struct V10Path<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for V10Path<T> {
    type Rejection = V10Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, V10Error> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(refused(
                &parts.extensions,
                ProblemCode::BadQuery,
                format!("The address is not understood: {}", rejection.body_text()),
            )),
        }
    }
}

/// The query string.
pub(super) struct V10Query<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for V10Query<T> {
    type Rejection = V10Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, V10Error> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(refused(
                &parts.extensions,
                ProblemCode::BadQuery,
                format!("The query is not understood: {}", rejection.body_text()),
            )),
        }
    }
}

/// The body, as bytes (each route reads its JSON itself, after the caller and the idempotency
/// key).
pub(super) struct V10Body(pub(super) Bytes);

impl<S: Send + Sync> FromRequest<S> for V10Body {
    type Rejection = V10Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, V10Error> {
        let extensions = request.extensions().clone();
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) => {
                let message = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    format!("The request body is larger than {} KiB.", MAX_BODY / 1024)
                } else {
                    format!("The request body could not be read: {}", rejection.body_text())
                };
                Err(refused(&extensions, ProblemCode::BadRequestBody, message))
            }
        }
    }
}

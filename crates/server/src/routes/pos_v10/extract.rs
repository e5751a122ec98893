//! A v10 request's address, query string and body, read as kasse's other APIs read them
//! ([`ApiPath`], [`ApiQuery`], [`ApiBytes`]) but refused in v10's error shape
//! (`{code, message, correlationId}`, a body too large as 400: v10 declared no 413), naming the
//! request as v10 named it, rather than axum's plain text, which a v10 integration reading every
//! error as JSON cannot read.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Extensions;
use axum::http::request::Parts;

use super::V10Error;
use crate::error::ApiError;
use crate::routes::{ApiBytes, ApiPath, ApiQuery};

/// The largest v10 request body taken: far above any v10 request.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// The correlation id [`super::V10Caller`] chose for a request (its `CorrelationId`, or a new
/// one), kept for the extractors that run after it.
#[derive(Debug, Clone)]
pub(super) struct Correlation(pub(super) String);

/// `refusal` in v10's shape, named by the request's correlation id (a new one if no caller was
/// read first).
fn refused(extensions: &Extensions, refusal: ApiError) -> V10Error {
    let correlation_id =
        extensions.get::<Correlation>().map_or_else(|| uuid::Uuid::new_v4().to_string(), |c| c.0.clone());
    V10Error { correlation_id, ..refusal.into() }
}

/// The address's parameters.
pub(super) struct V10Path<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for V10Path<T> {
    type Rejection = V10Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, V10Error> {
        match ApiPath::<T>::from_request_parts(parts, state).await {
            Ok(ApiPath(value)) => Ok(Self(value)),
            Err(refusal) => Err(refused(&parts.extensions, refusal)),
        }
    }
}

/// The query string.
pub(super) struct V10Query<T>(pub(super) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for V10Query<T> {
    type Rejection = V10Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, V10Error> {
        match ApiQuery::<T>::from_request_parts(parts, state).await {
            Ok(ApiQuery(value)) => Ok(Self(value)),
            Err(refusal) => Err(refused(&parts.extensions, refusal)),
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
        match ApiBytes::from_request(request, state).await {
            Ok(ApiBytes(bytes)) => Ok(Self(bytes)),
            Err(refusal) => Err(refused(&extensions, refusal)),
        }
    }
}

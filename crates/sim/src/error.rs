//! The simulator's errors, answered as the platform answers them: `application/problem+json` with a
//! `traceId`, the request path as `instance`, and the numeric error code in `extraDetails`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kasse_vipps::problem::{ExtraDetail, Problem};

/// A refusal, before it is turned into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError {
    /// HTTP status.
    pub status: u16,
    /// The platform's title.
    pub title: String,
    /// A sentence about this occurrence.
    pub detail: String,
    /// The ePayment error code, for domain errors.
    pub code: Option<u32>,
    /// Field errors, for validation errors.
    pub fields: Vec<(String, String)>,
    /// The request path, filled in by the handler.
    pub instance: Option<String>,
}

impl SimError {
    /// A domain error with its numeric code.
    pub fn domain(status: u16, code: u32, title: &str, detail: &str) -> Self {
        Self {
            status,
            title: title.to_owned(),
            detail: detail.to_owned(),
            code: Some(code),
            fields: Vec::new(),
            instance: None,
        }
    }

    /// A field validation error.
    pub fn validation(field: &str, reason: &str) -> Self {
        Self {
            status: 400,
            title: "Bad Request".to_owned(),
            detail: "See extraDetails for further details".to_owned(),
            code: None,
            fields: vec![(field.to_owned(), reason.to_owned())],
            instance: None,
        }
    }

    /// 401, as the API gateway answers it.
    pub fn unauthorized(detail: &str) -> Self {
        Self {
            status: 401,
            title: "Unauthorized".to_owned(),
            detail: detail.to_owned(),
            code: None,
            fields: Vec::new(),
            instance: None,
        }
    }

    /// 403.
    pub fn forbidden(detail: &str) -> Self {
        Self {
            status: 403,
            title: "Forbidden".to_owned(),
            detail: detail.to_owned(),
            code: None,
            fields: Vec::new(),
            instance: None,
        }
    }

    /// 404 for an unknown resource.
    pub fn not_found(detail: &str) -> Self {
        Self {
            status: 404,
            title: "Not Found".to_owned(),
            detail: detail.to_owned(),
            code: None,
            fields: Vec::new(),
            instance: None,
        }
    }

    /// 409 for an idempotency key reused with another body.
    pub fn idempotency_conflict(code: u32, title: &str) -> Self {
        Self::domain(
            409,
            code,
            title,
            "This Idempotency-Key was used before with a different request. Retry with the identical body, or use a new key for a new operation.",
        )
    }

    /// 429: over a rate limit, or throttled by the gateway. The response needs a `Retry-After`
    /// header too: see `faults::Throttled`.
    pub fn too_many_requests(detail: &str) -> Self {
        Self {
            status: 429,
            title: "Too Many Requests".to_owned(),
            detail: detail.to_owned(),
            code: None,
            fields: Vec::new(),
            instance: None,
        }
    }

    /// 503: the platform is briefly unavailable.
    pub fn unavailable(detail: &str) -> Self {
        Self {
            status: 503,
            title: "Service Unavailable".to_owned(),
            detail: detail.to_owned(),
            code: None,
            fields: Vec::new(),
            instance: None,
        }
    }

    /// With the request path as `instance`.
    #[must_use]
    pub fn at(mut self, path: &str) -> Self {
        self.instance = Some(path.to_owned());
        self
    }

    /// The platform's problem body.
    pub fn problem(&self) -> Problem {
        let mut extra: Vec<ExtraDetail> = self
            .fields
            .iter()
            .map(|(name, reason)| ExtraDetail { name: name.clone(), reason: reason.clone() })
            .collect();
        if let Some(code) = self.code {
            extra.push(ExtraDetail { name: "ErrorCode".to_owned(), reason: code.to_string() });
        }
        Problem {
            kind: Some(format!("https://httpstatuses.io/{}", self.status)),
            title: self.title.clone(),
            detail: Some(self.detail.clone()),
            status: Some(self.status),
            instance: self.instance.clone(),
            trace_id: Some(trace_id()),
            extra_details: (!extra.is_empty()).then_some(extra),
            invalid_params: None,
        }
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for SimError {}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// A W3C traceparent-like id, as the platform puts in `traceId`.
fn trace_id() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{span}-01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_error_carries_its_code_in_extra_details() {
        let p = SimError::domain(400, 6080, "Cannot capture before reservation", "x")
            .at("/epayment/v1/payments/r/capture")
            .problem();
        assert_eq!(p.error_code(), Some(6080));
        assert_eq!(p.instance.as_deref(), Some("/epayment/v1/payments/r/capture"));
        assert!(p.trace_id.unwrap().starts_with("00-"));
    }

    #[test]
    fn a_validation_error_names_the_field() {
        let p = SimError::validation("reference", "too short").problem();
        assert_eq!(p.field_errors().next().map(|d| d.name.as_str()), Some("reference"));
        assert_eq!(p.error_code(), None);
    }
}

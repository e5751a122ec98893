//! The platform's error bodies: RFC 7807 `Problem` of ePayment, `ProblemDetails` of the Webhooks API
//! and `QrErrorResponse` of the QR API, read into one lenient type.
//!
//! Every field is optional when reading, because a 429 from the API gateway may not be RFC 7807 at
//! all, and the Webhooks API may send any field as `null`; the simulator fills every field the
//! ePayment spec requires (`type`, `title`, `status`, `traceId`).

use serde::{Deserialize, Deserializer, Serialize};

/// One entry of `extraDetails` (or `invalidParams` in the QR API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraDetail {
    /// The field name, or `ErrorCode` for a domain error.
    pub name: String,
    /// Why, or the numeric error code as a string.
    pub reason: String,
}

/// A platform error body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A short summary; empty when the body had none (or `null`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub title: String,
    /// What happened this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// A W3C trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Field errors, or the domain error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<Vec<ExtraDetail>>,
    /// The QR API's name for field errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_params: Option<Vec<ExtraDetail>>,
}

/// Reads a string that may be `null` (the Webhooks API's `ProblemDetails`) as empty.
fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl Problem {
    /// The numeric ePayment error code (`extraDetails: [{"name":"ErrorCode","reason":"6080"}]`).
    pub fn error_code(&self) -> Option<u32> {
        self.extra_details
            .iter()
            .flatten()
            .find(|d| d.name == "ErrorCode")
            .and_then(|d| d.reason.parse().ok())
    }

    /// The field errors, whichever API sent them.
    pub fn field_errors(&self) -> impl Iterator<Item = &ExtraDetail> {
        self.extra_details
            .iter()
            .chain(self.invalid_params.iter())
            .flatten()
            .filter(|d| d.name != "ErrorCode")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.title.is_empty() { "(no title)" } else { &self.title })?;
        if let Some(code) = self.error_code() {
            write!(f, " [{code}]")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_error_code_is_read_from_extra_details() {
        let wire = r#"{"type":"https://httpstatuses.io/400","title":"Cannot capture before reservation",
            "detail":"The amount you tried to capture is not reserved.",
            "instance":"/v1/payments/577531734343670112/capture","status":400,
            "extraDetails":[{"name":"ErrorCode","reason":"6080"}],
            "traceId":"00-813b63975adcaaeef2b0ec7c103c40e3-706492e906541d31-01"}"#;
        let p: Problem = serde_json::from_str(wire).unwrap();
        assert_eq!(p.error_code(), Some(6080));
        assert_eq!(p.field_errors().count(), 0);
        assert_eq!(p.status, Some(400));
    }

    #[test]
    fn field_errors_come_from_either_api_spelling() {
        let epayment = r#"{"title":"Bad Request","status":400,
            "extraDetails":[{"name":"reference","reason":"must match"}]}"#;
        let qr = r#"{"title":"One or more validation errors occurred.","detail":"BadRequest",
            "instance":"00-1-00","invalidParams":[{"name":"RedirectUrl","reason":"must match"}]}"#;
        for wire in [epayment, qr] {
            let p: Problem = serde_json::from_str(wire).unwrap();
            assert_eq!(p.field_errors().count(), 1);
            assert_eq!(p.error_code(), None);
        }
    }

    #[test]
    fn a_gateway_body_that_is_not_rfc_7807_still_parses() {
        let p: Problem = serde_json::from_str(r#"{"statusCode":429,"message":"Rate limit"}"#).unwrap();
        assert_eq!(p.title, "");
    }
}

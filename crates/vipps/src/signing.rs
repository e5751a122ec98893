//! Webhook request signing, as the Webhooks API does it (reference/vipps-apis.md §5.1).
//!
//! The platform sends `x-ms-date`, `x-ms-content-sha256` (base64 SHA-256 of the raw body) and
//! `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=…`, where
//! the signature is base64 HMAC-SHA256, keyed with the UTF-8 bytes of the registration's secret, of
//!
//! ```text
//! POST\n{path and query}\n{x-ms-date};{host};{x-ms-content-sha256}
//! ```
//!
//! The simulator signs with [`sign`]; the server checks with [`verify`], which also refuses a date
//! outside the allowed clock skew so that a captured request cannot be replayed later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

const AUTHORIZATION_PREFIX: &str = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=";

/// The three headers that make a signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-ms-date`, RFC 1123.
    pub date: String,
    /// `x-ms-content-sha256`.
    pub content_sha256: String,
    /// `Authorization`.
    pub authorization: String,
}

/// Why a delivery is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A signing header is absent.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// The body is not the one that was signed.
    #[error("the body does not match x-ms-content-sha256")]
    BodyHashMismatch,
    /// The signature does not verify with our secret.
    #[error("the signature does not match")]
    BadSignature,
    /// `x-ms-date` is not an RFC 1123 date.
    #[error("x-ms-date is not a date: {0}")]
    BadDate(String),
    /// `x-ms-date` is too far from our clock.
    #[error("x-ms-date is {skew_secs} s away from our clock (at most {max_secs} s allowed)")]
    StaleDate {
        /// How far off, in seconds.
        skew_secs: i64,
        /// The allowed skew, in seconds.
        max_secs: i64,
    },
    /// The URL the signature is bound to has no host.
    #[error("the webhook URL has no host")]
    NoHost,
}

/// Formats a time as an RFC 1123 HTTP date, e.g. `Thu, 30 Mar 2023 08:38:32 GMT`.
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Base64 SHA-256 of the raw body.
pub fn content_sha256(body: &[u8]) -> String {
    BASE64.encode(Sha256::digest(body))
}

/// The string the platform signs for a delivery to `url`.
pub fn string_to_sign(url: &Url, date: &str, content_sha256: &str) -> Result<String, SignatureError> {
    Ok(format!("POST\n{}\n{date};{};{content_sha256}", path_and_query(url), authority(url)?))
}

/// Signs a delivery of `body` to `url` at `date`, as the platform does.
pub fn sign(secret: &str, url: &Url, date: &str, body: &[u8]) -> Result<SignedHeaders, SignatureError> {
    let content_sha256 = content_sha256(body);
    let signature = hmac_base64(secret, &string_to_sign(url, date, &content_sha256)?);
    Ok(SignedHeaders {
        date: date.to_owned(),
        content_sha256,
        authorization: format!("{AUTHORIZATION_PREFIX}{signature}"),
    })
}

/// The signing headers as received, each possibly absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Received<'a> {
    /// `x-ms-date`.
    pub date: Option<&'a str>,
    /// `x-ms-content-sha256`.
    pub content_sha256: Option<&'a str>,
    /// `Authorization`.
    pub authorization: Option<&'a str>,
}

/// Checks a delivery of `body` to our `url`: the body hash, the signature with `secret`, and that
/// `x-ms-date` is within `max_skew` of `now`.
pub fn verify(
    secret: &str,
    url: &Url,
    received: Received<'_>,
    body: &[u8],
    now: DateTime<Utc>,
    max_skew: chrono::Duration,
) -> Result<(), SignatureError> {
    let date = received.date.ok_or(SignatureError::MissingHeader("x-ms-date"))?;
    let claimed_hash = received.content_sha256.ok_or(SignatureError::MissingHeader("x-ms-content-sha256"))?;
    let authorization = received.authorization.ok_or(SignatureError::MissingHeader("Authorization"))?;

    // The hash first, on the raw bytes: a body changed in transit must never be processed.
    if !bool::from(content_sha256(body).as_bytes().ct_eq(claimed_hash.as_bytes())) {
        return Err(SignatureError::BodyHashMismatch);
    }
    let expected = sign(secret, url, date, body)?;
    if !bool::from(expected.authorization.as_bytes().ct_eq(authorization.as_bytes())) {
        return Err(SignatureError::BadSignature);
    }
    let sent_at = DateTime::parse_from_rfc2822(date)
        .map_err(|e| SignatureError::BadDate(e.to_string()))?
        .with_timezone(&Utc);
    let skew = (now - sent_at).num_seconds().abs();
    if skew > max_skew.num_seconds() {
        return Err(SignatureError::StaleDate { skew_secs: skew, max_secs: max_skew.num_seconds() });
    }
    Ok(())
}

fn hmac_base64(secret: &str, message: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps `unwrap` out.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Host, plus `:port` only when the port is not the scheme's default (JS `url.host`).
fn authority(url: &Url) -> Result<String, SignatureError> {
    let host = url.host_str().ok_or(SignatureError::NoHost)?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of reference/vipps-apis.md §5.1 (Webhooks API request-authentication.md).
    const SECRET: &str =
        "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==";
    const URL: &str = "https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63";
    const BODY: &str = r#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
    const DATE: &str = "Thu, 30 Mar 2023 08:38:32 GMT";
    const HASH: &str = "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=";
    const AUTHORIZATION: &str = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=";

    fn url() -> Url {
        Url::parse(URL).unwrap()
    }

    fn example_time() -> DateTime<Utc> {
        DateTime::parse_from_rfc2822(DATE).unwrap().with_timezone(&Utc)
    }

    fn check(date: &str, hash: &str, authorization: &str, body: &[u8]) -> Result<(), SignatureError> {
        let received =
            Received { date: Some(date), content_sha256: Some(hash), authorization: Some(authorization) };
        verify(SECRET, &url(), received, body, example_time(), chrono::Duration::minutes(5))
    }

    fn flip_one_byte(s: &str, at: usize) -> Vec<u8> {
        let mut bytes = s.as_bytes().to_vec();
        bytes[at] ^= 0x01;
        bytes
    }

    #[test]
    fn the_worked_example_signs_to_exactly_the_documented_headers() {
        assert_eq!(
            string_to_sign(&url(), DATE, HASH).unwrap(),
            "POST\n/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63\nThu, 30 Mar 2023 08:38:32 GMT;webhook.site;lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
        );
        let signed = sign(SECRET, &url(), DATE, BODY.as_bytes()).unwrap();
        assert_eq!(signed.content_sha256, HASH);
        assert_eq!(signed.authorization, AUTHORIZATION);
        assert_eq!(http_date(example_time()), DATE);
    }

    #[test]
    fn the_worked_example_verifies() {
        assert_eq!(check(DATE, HASH, AUTHORIZATION, BODY.as_bytes()), Ok(()));
    }

    #[test]
    fn a_one_byte_change_in_the_body_is_refused() {
        for at in [0, BODY.len() / 2, BODY.len() - 1] {
            assert_eq!(
                check(DATE, HASH, AUTHORIZATION, &flip_one_byte(BODY, at)),
                Err(SignatureError::BodyHashMismatch)
            );
        }
    }

    #[test]
    fn a_one_byte_change_in_the_date_header_is_refused() {
        // "32" -> "33" seconds: still a valid, fresh date, but not the one that was signed.
        let date = String::from_utf8(flip_one_byte(DATE, DATE.find(":32").unwrap() + 2)).unwrap();
        assert_eq!(check(&date, HASH, AUTHORIZATION, BODY.as_bytes()), Err(SignatureError::BadSignature));
    }

    #[test]
    fn a_one_byte_change_in_the_signature_is_refused() {
        for at in [AUTHORIZATION.len() - 5, AUTHORIZATION.len() - 1, 0] {
            let authorization = String::from_utf8(flip_one_byte(AUTHORIZATION, at)).unwrap();
            assert_eq!(check(DATE, HASH, &authorization, BODY.as_bytes()), Err(SignatureError::BadSignature));
        }
    }

    #[test]
    fn a_changed_hash_header_is_refused_even_with_a_matching_body() {
        let hash = String::from_utf8(flip_one_byte(HASH, 3)).unwrap();
        assert_eq!(check(DATE, &hash, AUTHORIZATION, BODY.as_bytes()), Err(SignatureError::BodyHashMismatch));
    }

    #[test]
    fn a_correctly_signed_but_old_delivery_is_refused() {
        let received =
            Received { date: Some(DATE), content_sha256: Some(HASH), authorization: Some(AUTHORIZATION) };
        let later = example_time() + chrono::Duration::minutes(6);
        assert_eq!(
            verify(SECRET, &url(), received, BODY.as_bytes(), later, chrono::Duration::minutes(5)),
            Err(SignatureError::StaleDate { skew_secs: 360, max_secs: 300 })
        );
    }

    #[test]
    fn a_missing_header_is_named() {
        let received = Received { date: Some(DATE), content_sha256: Some(HASH), authorization: None };
        assert_eq!(
            verify(SECRET, &url(), received, BODY.as_bytes(), example_time(), chrono::Duration::minutes(5)),
            Err(SignatureError::MissingHeader("Authorization"))
        );
    }

    #[test]
    fn a_non_default_port_and_the_query_are_part_of_what_is_signed() {
        let url = Url::parse("http://127.0.0.1:8080/webhooks/vipps?store=1").unwrap();
        assert_eq!(
            string_to_sign(&url, DATE, HASH).unwrap(),
            format!("POST\n/webhooks/vipps?store=1\n{DATE};127.0.0.1:8080;{HASH}")
        );
    }
}

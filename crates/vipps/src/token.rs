//! Access Token API (`POST /accesstoken/get`), from `access-token-api/swagger.yaml` (v2.0.0).
//!
//! The request has no body: the credentials travel as headers. The other endpoint of that spec,
//! `POST /miami/v1/token`, serves roles a till does not have, and is not typed.

use serde::{Deserialize, Serialize};

/// The token answer. The platform types every field as a string, numbers included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationTokenResponse {
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds, as a string (`"3600"` in test, `"86400"` in production).
    pub expires_in: String,
    /// Unused by the platform; `"0"`.
    pub ext_expires_in: String,
    /// Expiry as Unix seconds, as a string.
    pub expires_on: String,
    /// Start of validity as Unix seconds, as a string.
    pub not_before: String,
    /// An opaque resource id.
    pub resource: String,
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
}

impl AuthorizationTokenResponse {
    /// The lifetime in seconds, if the platform sent a number.
    pub fn lifetime_secs(&self) -> Option<u64> {
        self.expires_in.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_token_answer_parses_with_string_numbers() {
        let json = r#"{"token_type":"Bearer","expires_in":"86398","ext_expires_in":"0",
            "expires_on":"1495271273","not_before":"1495184574",
            "resource":"00000002-0000-0000-c000-000000000000","access_token":"eyJ0eXAi"}"#;
        let token: AuthorizationTokenResponse = serde_json::from_str(json).unwrap();
        assert_eq!(token.lifetime_secs(), Some(86_398));
        assert_eq!(token.access_token, "eyJ0eXAi");
    }

    #[test]
    fn a_numeric_expires_in_is_refused_because_the_spec_says_string() {
        let json = r#"{"token_type":"Bearer","expires_in":3600,"ext_expires_in":"0",
            "expires_on":"1","not_before":"1","resource":"r","access_token":"t"}"#;
        assert!(serde_json::from_str::<AuthorizationTokenResponse>(json).is_err());
    }
}

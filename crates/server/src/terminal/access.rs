//! Integrator keys: how one is made (shown once, stored as its hash), how a request presents it
//! (`Authorization: Bearer …`), and what it may reach (the tills of the stores it names).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use kasse_api::ProblemCode;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::config::TillConfig;
use crate::error::ApiError;
use crate::store::{IntegratorRow, PaymentRow};

/// The start of every integrator key, so that one found in a log or a repository is recognised.
pub const KEY_PREFIX: &str = "kasse_pos_";
/// The start of every callback secret.
pub const SECRET_PREFIX: &str = "kasse_cbs_";

/// A new random secret with `prefix`: 244 random bits, from two v4 UUIDs.
fn random_secret(prefix: &str) -> String {
    format!("{prefix}{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// A new integrator API key.
pub fn new_key() -> String {
    random_secret(KEY_PREFIX)
}

/// A new callback signing secret.
pub fn new_callback_secret() -> String {
    random_secret(SECRET_PREFIX)
}

/// A new integrator id.
pub fn new_id() -> String {
    format!("int-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// What a key is stored as: its SHA-256 (a key is random enough that no slow hash is needed).
pub fn key_hash(key: &str) -> String {
    crate::hex(&Sha256::digest(key.as_bytes()))
}

/// The credentials of an `Authorization: Bearer <credentials>` header's value. The scheme is
/// matched whatever its case (RFC 9110 §11.1): a PoS's HTTP library may well send `bearer`.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    let credentials = credentials.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !credentials.is_empty()).then_some(credentials)
}

/// Notes a key's use at most this often, so that a busy PoS does not write on every request.
const NOTE_USE_EVERY_MS: i64 = 60_000;

/// The integrator whose live key a request presents.
#[derive(Debug, Clone)]
pub struct Integrator(pub IntegratorRow);

impl Integrator {
    /// Whether the key may act in `store`.
    fn reaches(&self, store: &str) -> bool {
        self.0.stores.iter().any(|s| s == store)
    }

    /// The till `id`, if the key may use it: 404 when there is no such till, 403 when it is
    /// another store's.
    pub fn till<'a>(&self, app: &'a AppState, id: &str) -> Result<&'a TillConfig, ApiError> {
        let till = app.config.till(id).ok_or_else(|| {
            ApiError::not_found(ProblemCode::UnknownTill, format!("There is no till '{id}'."))
        })?;
        if !self.reaches(&till.store) {
            return Err(ApiError::forbidden(format!(
                "This key may not use till '{id}': its store '{}' is not one of the key's.",
                till.store
            )));
        }
        Ok(till)
    }

    /// The payment `reference`, if the key may see it: 404 when there is no such payment at a
    /// till, 403 when it is at another store's till.
    pub async fn payment(&self, app: &AppState, reference: &str) -> Result<PaymentRow, ApiError> {
        let unknown = || {
            ApiError::not_found(ProblemCode::UnknownPayment, format!("There is no payment '{reference}'."))
        };
        let row = app.store.payment(reference).await?.ok_or_else(unknown)?;
        let store = app.config.till(&row.till_id).map(|till| till.store.as_str()).ok_or_else(unknown)?;
        if !self.reaches(store) {
            return Err(ApiError::forbidden(format!(
                "This key may not see payment '{reference}': it is at a till of store '{store}', not one of the key's."
            )));
        }
        Ok(row)
    }
}

impl FromRequestParts<Arc<AppState>> for Integrator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or_else(|| {
                ApiError::unauthorized("Send the integrator's API key as 'Authorization: Bearer <key>'.")
            })?;
        let Some(row) = app.store.integrator_by_key(&key_hash(presented)).await? else {
            return Err(ApiError::unauthorized("That API key is not known here."));
        };
        if row.revoked_at.is_some() {
            return Err(ApiError::key_revoked());
        }
        let now = crate::now_ms();
        if row.last_used_at.is_none_or(|at| at + NOTE_USE_EVERY_MS <= now) {
            app.store.note_integrator_use(&row.id, now).await?;
        }
        Ok(Self(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_secrets_are_long_random_and_recognisable() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 64, "{a}");
        assert!(new_callback_secret().starts_with(SECRET_PREFIX));
        assert_eq!(key_hash(&a).len(), 64);
        assert_ne!(key_hash(&a), key_hash(&b));
    }

    #[test]
    fn a_bearer_scheme_is_read_whatever_its_case_and_nothing_else_is() {
        assert_eq!(bearer("Bearer kasse_live_1"), Some("kasse_live_1"));
        assert_eq!(bearer("bearer kasse_live_1"), Some("kasse_live_1"));
        assert_eq!(bearer("BEARER   kasse_live_1 "), Some("kasse_live_1"));
        assert_eq!(bearer("Basic a2Fzc2U6"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearerkasse_live_1"), None);
    }
}

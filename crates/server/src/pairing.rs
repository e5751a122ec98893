//! Pairing: how a browser becomes a till (or a till's customer display).
//!
//! `kasse-server till pair TILL` makes a one-time code, valid ten minutes; the browser exchanges
//! it at `/pair` for a session cookie (HttpOnly, SameSite=Strict) that the till API then asks for
//! on every request. Codes and session tokens are stored only as SHA-256 hashes.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{Store, StoreError};

/// The cookie holding a session token.
pub const COOKIE: &str = "kasse_session";
/// How long a pairing code can be used.
const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Letters and digits no one confuses when reading a code aloud (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

pub use kasse_api::Role;

/// The stored name of a role.
const fn role_name(role: Role) -> &'static str {
    match role {
        Role::Till => "till",
        Role::Display => "display",
    }
}

/// Parses a stored role name.
fn parse_role(s: &str) -> Option<Role> {
    match s {
        "till" => Some(Role::Till),
        "display" => Some(Role::Display),
        _ => None,
    }
}

/// A fresh one-time code, as people read it: `ABCD-EFGH`.
fn new_code() -> String {
    // uuid v4 draws from the operating system's random source.
    let random = uuid::Uuid::new_v4().into_bytes();
    let chars: String = random
        .iter()
        .take(8)
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// A code as typed (any case, with or without the dash or spaces), in its canonical form.
fn normalise_code(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn hash(secret: &str) -> String {
    crate::hex(&Sha256::digest(secret.as_bytes()))
}

/// Makes a one-time pairing code for `till_id` in `role`. Returns the code to show.
pub async fn create_code(store: &Store, till_id: &str, role: Role, now: i64) -> Result<String, StoreError> {
    let code = new_code();
    store
        .insert_pairing_code(
            &hash(&normalise_code(&code)),
            till_id,
            role_name(role),
            now,
            now + CODE_LIFETIME_MS,
        )
        .await?;
    Ok(code)
}

/// Exchanges a code for a new session. Returns the till, the role, and the session token for the
/// cookie; `None` if the code is unknown, used or expired.
pub async fn redeem(
    store: &Store,
    typed: &str,
    now: i64,
) -> Result<Option<(String, Role, String)>, StoreError> {
    let Some((till_id, role)) = store.use_pairing_code(&hash(&normalise_code(typed)), now).await? else {
        return Ok(None);
    };
    let Some(role) = parse_role(&role) else { return Ok(None) };
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    store.insert_session(&hash(&token), &till_id, role_name(role), now).await?;
    Ok(Some((till_id, role, token)))
}

/// The session a token names, if it is live.
pub async fn session(store: &Store, token: &str) -> Result<Option<(String, Role)>, StoreError> {
    Ok(store.session(&hash(token)).await?.and_then(|(till, role)| parse_role(&role).map(|role| (till, role))))
}

/// The `Set-Cookie` value for a session token.
pub fn cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}")
}

/// The session token in a request's cookies.
pub fn token_in(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// A request from a browser paired with the till in its path (`/api/tills/{till}/…`).
#[derive(Debug, Clone)]
pub struct Paired {
    /// The till.
    pub till: String,
    /// What the browser is to it.
    pub role: Role,
}

impl Paired {
    /// Refuses a browser that may only watch.
    pub fn require_till(&self) -> Result<(), ApiError> {
        if self.role == Role::Till {
            Ok(())
        } else {
            Err(ApiError::forbidden("A customer display cannot take payments."))
        }
    }
}

impl FromRequestParts<std::sync::Arc<crate::AppState>> for Paired {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &std::sync::Arc<crate::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(|_| ApiError::no_such_endpoint())?;
        let till = params.get("till").cloned().unwrap_or_default();
        let token = token_in(parts).ok_or_else(not_paired)?;
        let (paired_till, role) = session(&app.store, token).await?.ok_or_else(not_paired)?;
        if paired_till != till {
            return Err(ApiError::forbidden("This browser is paired with another till."));
        }
        Ok(Self { till, role })
    }
}

/// The refusal for a browser without a live session.
pub fn not_paired() -> ApiError {
    ApiError::unauthorized("This browser is not paired with a till. Ask the manager for a pairing code.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_eight_unambiguous_characters_and_reads_back_however_it_is_typed() {
        let code = new_code();
        assert_eq!(code.len(), 9);
        assert!(code.chars().filter(|c| *c != '-').all(|c| CODE_ALPHABET.contains(&(c as u8))));
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalise_code(&typed), normalise_code(&code));
    }

    #[tokio::test]
    async fn a_code_pairs_one_browser_once_and_only_while_it_lasts() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
        assert!(redeem(&store, "WRONG-CODE", 1).await.unwrap().is_none());
        let (till, role, token) = redeem(&store, &code, 1).await.unwrap().unwrap();
        assert_eq!((till.as_str(), role), ("till-1", Role::Till));
        assert_eq!(session(&store, &token).await.unwrap(), Some(("till-1".to_owned(), Role::Till)));
        assert!(redeem(&store, &code, 2).await.unwrap().is_none(), "a code is used once");

        let late = create_code(&store, "till-1", Role::Display, 0).await.unwrap();
        assert!(redeem(&store, &late, CODE_LIFETIME_MS).await.unwrap().is_none(), "expired");
        assert_eq!(session(&store, "not-a-token").await.unwrap(), None);
    }

    #[test]
    fn the_session_cookie_is_http_only_and_same_site_strict() {
        let c = cookie("t", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!cookie("t", false).contains("Secure"));
    }
}

//! Managers: who may open the back office (`/admin`), what they may see, and their PIN.
//!
//! A manager is paired like a till: `kasse-server manager pair NAME` (or another manager, from
//! the back office) makes a one-time code, typed at `/pair`. The first pairing sets the manager's
//! PIN (4 to 8 digits). Their session is shorter than a till's (`[sessions]
//! manager_idle_minutes`, `manager_max_hours`), and an action that changes who can use the shop
//! asks for the PIN again ([`confirm_pin`]), so a manager's tablet left on the counter is not a
//! way in.
//!
//! The PIN is kept as PBKDF2-HMAC-SHA256 with a salt of its own. Honestly said: a PIN of a few
//! digits cannot withstand a search by someone holding a copy of the database, however slow the
//! hash; what protects it is that wrong PINs are counted in the database ([`PIN_LIMIT`]), so the
//! limit holds whichever instance a guess reaches.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kasse_api::ProblemCode;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::AppState;
use crate::config::TillConfig;
use crate::error::ApiError;
use crate::pairing::{self, ManagerState};
use crate::store::{ManagerRow, PinLimit, StoreError};

/// Wrong PINs in a row before the PIN is locked, and for how long.
pub const PIN_LIMIT: PinLimit = PinLimit { attempts: 5, lock_ms: 15 * 60 * 1000 };
/// PBKDF2 rounds: about 40 ms a check on this server's cores, few enough that checks cannot
/// tie up the server, as many as that allows.
const PIN_ROUNDS: u32 = 100_000;
/// How a stored PIN hash begins: the scheme, then rounds, salt and hash, `$`-separated.
const PIN_SCHEME: &str = "pbkdf2-sha256";

/// The longest manager's name.
pub const NAME_MAX: usize = 60;

/// A manager's name as typed: trimmed, 1 to [`NAME_MAX`] characters, no control characters.
pub fn read_name(typed: &str) -> Option<String> {
    let name = typed.trim();
    let fits = !name.is_empty() && name.chars().count() <= NAME_MAX && !name.chars().any(char::is_control);
    fits.then(|| name.to_owned())
}

/// Why a manager cannot be added under a name.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Another manager has the name, for other stores than asked.
    #[error("another manager has that name")]
    NameTaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The manager `name` of `store` (every store for `None`): the one there is, or a new one. A
/// name is one manager's: another with it for other stores is refused.
pub async fn for_pairing(
    store: &crate::store::Store,
    name: &str,
    scope: Option<&str>,
    now: i64,
) -> Result<ManagerRow, AddError> {
    let fresh_id = format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let manager = store.manager_for_pairing(name, scope, &fresh_id, now).await?;
    if manager.store_id.as_deref() != scope {
        return Err(AddError::NameTaken);
    }
    Ok(manager)
}

/// The stored form of a new PIN: `pbkdf2-sha256$ROUNDS$SALT$HASH` (salt and hash in hex).
pub fn hash_pin(pin: &str) -> String {
    let salt = crate::hex(uuid::Uuid::new_v4().as_bytes());
    let hash = derive(pin, &salt, PIN_ROUNDS);
    format!("{PIN_SCHEME}${PIN_ROUNDS}${salt}${}", crate::hex(&hash))
}

/// Whether `pin` is the one `stored` was made from (compared in constant time).
pub fn pin_matches(stored: &str, pin: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(PIN_SCHEME), Some(rounds), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(rounds) = rounds.parse::<u32>() else { return false };
    bool::from(crate::hex(&derive(pin, salt, rounds)).as_bytes().ct_eq(hash.as_bytes()))
}

fn derive(pin: &str, salt: &str, rounds: u32) -> [u8; 32] {
    let mut out = [0; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(pin.as_bytes(), salt.as_bytes(), rounds, &mut out);
    out
}

/// Why a PIN was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PinRefusal {
    /// Not 4 to 8 digits.
    #[error("a PIN is 4 to 8 digits")]
    Malformed,
    /// The manager has no PIN (never finished pairing): nothing it could match.
    #[error("this manager has no PIN")]
    NotSet,
    /// Wrong.
    #[error("wrong PIN")]
    Wrong,
    /// Too many wrong PINs: locked until then (ms since the epoch).
    #[error("the PIN is locked for a while")]
    Locked {
        /// When it opens again.
        until: i64,
    },
    /// The count of attempts could not be kept.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PinRefusal> for ApiError {
    fn from(refusal: PinRefusal) -> Self {
        match refusal {
            PinRefusal::Malformed => Self::bad_request(ProblemCode::BadPin, "A PIN is 4 to 8 digits."),
            PinRefusal::NotSet | PinRefusal::Wrong => Self::pin_wrong(),
            PinRefusal::Locked { until } => Self::pin_locked(until - crate::now_ms()),
            PinRefusal::Store(e) => e.into(),
        }
    }
}

/// Checks the manager's PIN for an action that needs it: counted before it is checked, and the
/// count given back when it is right.
pub async fn confirm_pin(app: &AppState, manager: &ManagerRow, pin: &str) -> Result<(), PinRefusal> {
    if !kasse_api::pin_is_well_formed(pin) {
        return Err(PinRefusal::Malformed);
    }
    let Some(stored) = &manager.pin_hash else { return Err(PinRefusal::NotSet) };
    if let Some(until) = app.store.count_pin_attempt(&manager.id, PIN_LIMIT, crate::now_ms()).await? {
        return Err(PinRefusal::Locked { until });
    }
    // The hash takes tens of milliseconds of CPU: off the async workers.
    let (stored, typed) = (stored.clone(), pin.to_owned());
    let matches = tokio::task::spawn_blocking(move || pin_matches(&stored, &typed)).await.unwrap_or(false);
    if !matches {
        return Err(PinRefusal::Wrong);
    }
    app.store.clear_pin_attempts(&manager.id).await?;
    Ok(())
}

/// Checks a PIN typed at `till` against every manager of its store (of that store, or of every
/// store), for a till's action that needs one; the manager whose PIN it is. Attempts are counted
/// before the check, per till and per store ([`PIN_LIMIT`]'s five in a quarter of an hour; shared
/// by every instance on PostgreSQL), and a right PIN gives its attempts back: a till cannot be
/// used to guess, nor can the store's tills together. A manager whose PIN wrong ones locked in
/// the back office is not among them until it opens: the till is no way around that lock. Their
/// PIN is then answered as any wrong one, so that the answer never says a guess was right.
pub async fn confirm_at_till(app: &AppState, till: &TillConfig, pin: &str) -> Result<ManagerRow, PinRefusal> {
    if !kasse_api::pin_is_well_formed(pin) {
        return Err(PinRefusal::Malformed);
    }
    let now = crate::now_ms();
    let keys = [format!("till:{}", till.id), format!("store:{}", till.store)];
    for (counted, key) in keys.iter().enumerate() {
        if let Err(wait) = app.till_pin_attempts.attempt(key, now).await? {
            // The attempts counted before this refusal are given back: it was never checked.
            for key in &keys[..counted] {
                app.till_pin_attempts.release(key, now).await?;
            }
            return Err(PinRefusal::Locked { until: now + wait });
        }
    }
    let managers: Vec<ManagerRow> = app
        .store
        .managers()
        .await?
        .into_iter()
        .filter(|m| m.pin_hash.is_some() && m.store_id.as_deref().is_none_or(|own| own == till.store))
        .filter(|m| !m.pin_locked_at(now))
        .collect();
    // Each hash takes tens of milliseconds of CPU: off the async workers, all in one task.
    let typed = pin.to_owned();
    let found = tokio::task::spawn_blocking(move || {
        managers.into_iter().find(|m| m.pin_hash.as_deref().is_some_and(|stored| pin_matches(stored, &typed)))
    })
    .await
    .ok()
    .flatten();
    let manager = found.ok_or(PinRefusal::Wrong)?;
    for key in &keys {
        app.till_pin_attempts.release(key, now).await?;
    }
    Ok(manager)
}

/// A request from a manager's live session.
#[derive(Debug, Clone)]
pub struct ManagerAccess {
    /// The manager.
    pub manager: ManagerRow,
    /// When the session's lifetime runs out (ms since the epoch).
    pub ends_at: i64,
}

impl ManagerAccess {
    /// Whether this manager manages `store_id`.
    pub fn manages(&self, store_id: &str) -> bool {
        self.manager.store_id.as_deref().is_none_or(|own| own == store_id)
    }

    /// Whether this manager manages every store.
    pub const fn manages_every_store(&self) -> bool {
        self.manager.store_id.is_none()
    }
}

impl FromRequestParts<Arc<AppState>> for ManagerAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let token = pairing::token_in(parts, pairing::https(app)).unwrap_or_default();
        let state = pairing::manager_session(&app.store, token, app.config.manager_sessions, crate::now_ms())
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        match state {
            ManagerState::Live { manager_id, ends_at } => match app.store.manager(&manager_id).await {
                Ok(Some(manager)) => Ok(Self { manager, ends_at }),
                Ok(None) => Err(pairing::Refusal::Revoked.into_response()),
                Err(e) => Err(ApiError::from(e).into_response()),
            },
            ManagerState::Device => {
                Err(ApiError::forbidden("Only a manager may do this; this browser is a till's.")
                    .into_response())
            }
            ManagerState::Expired => Err(pairing::Refusal::Expired.into_response()),
            ManagerState::Revoked => Err(pairing::Refusal::Revoked.into_response()),
            ManagerState::Unknown => Err(ApiError::unauthorized(
                "This browser is not paired as a manager. Ask for a manager's pairing code.",
            )
            .into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_matches_its_own_hash_only_and_two_hashes_of_one_pin_differ() {
        let stored = hash_pin("4711");
        assert!(stored.starts_with("pbkdf2-sha256$100000$"), "{stored}");
        assert!(pin_matches(&stored, "4711"));
        assert!(!pin_matches(&stored, "4712"));
        assert_ne!(hash_pin("4711"), stored, "each has a salt of its own");
        assert!(!stored.contains("4711"));
    }

    #[test]
    fn a_stored_hash_that_cannot_be_read_matches_nothing() {
        for stored in ["", "4711", "pbkdf2-sha256$x$aa$bb", "md5$1$aa$bb", "pbkdf2-sha256$1$aa$bb$cc"] {
            assert!(!pin_matches(stored, "4711"), "{stored:?}");
        }
    }
}

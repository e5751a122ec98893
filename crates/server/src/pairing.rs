//! Pairing: how a browser becomes a till (or a till's customer display, or a manager's back
//! office), and how that ends.
//!
//! `kasse-server till pair TILL` makes a one-time code, valid ten minutes: eight characters drawn
//! uniformly (rejection sampling, no modulo bias) from an alphabet no one misreads, from the
//! operating system's random source. Codes are stored only as HMAC-SHA256 under a key the server
//! made once at random and keeps in its database, so a code's stored hash cannot be tested
//! against guesses without that key. The browser exchanges the code at `/pair` for a session
//! cookie (HttpOnly, SameSite=Strict; `__Host-kasse_session` and Secure when the server's public
//! URL is https, plain `kasse_session` on http), whose token is stored only as its SHA-256.
//!
//! A session ends when it has not been used for `[sessions] idle_hours`, when it is older than
//! `[sessions] max_days`, or when the operator revokes it (`kasse-server till revoke`). Every till
//! API request checks all three ([`Paired`]); an ended session is answered 401 with
//! `session-expired` or `session-revoked`, which the app turns into the pairing page with a
//! sentence saying why. Use is written down at most once a minute per session, to spare writes.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kasse_api::{Problem, ProblemCode};
use sha2::{Digest, Sha256};

use crate::config::SessionPolicy;
use crate::error::ApiError;
use crate::store::{SessionRow, Store, StoreError};

/// The session cookie on a plain-http server (the demo, a shop's LAN).
pub const COOKIE: &str = "kasse_session";
/// The session cookie on an https server: the `__Host-` prefix makes the browser take it only
/// when Secure, with `Path=/` and no `Domain`, so no other host (a sibling subdomain) can set it.
pub const SECURE_COOKIE: &str = "__Host-kasse_session";
/// How long a pairing code can be used.
const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Letters and digits no one confuses when reading a code aloud (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a code (without the dash): 31⁸, about 40 bits.
const CODE_LENGTH: usize = 8;
/// The name of the key pairing codes are hashed under, in the store's `server_keys`.
const CODE_KEY: &str = "pairing";
/// A session's use is written down when the last note is at least this old.
const NOTE_USE_EVERY_MS: i64 = 60 * 1000;
/// Hex characters of a token's hash that name its device to the operator: enough to tell
/// devices apart, and, being part of a hash, nothing about the token itself.
pub const DEVICE_ID_LENGTH: usize = 12;

pub use kasse_api::Role;

/// The stored name of a role.
pub const fn role_name(role: Role) -> &'static str {
    match role {
        Role::Till => "till",
        Role::Display => "display",
    }
}

/// The stored role of a manager's code or session, whose `till_id` then holds the manager's id.
const MANAGER_ROLE: &str = "manager";

/// Whom a pairing code (or a session) is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A till, or its customer display.
    Device {
        /// The till.
        till: String,
        /// Which of the two.
        role: Role,
    },
    /// A manager, by id.
    Manager(String),
}

impl Holder {
    /// The stored columns: `till_id` and `role`.
    fn columns(&self) -> (&str, &'static str) {
        match self {
            Self::Device { till, role } => (till, role_name(*role)),
            Self::Manager(id) => (id, MANAGER_ROLE),
        }
    }

    /// From the stored columns; `None` for a role this build does not know.
    fn of(till_id: String, role: &str) -> Option<Self> {
        if role == MANAGER_ROLE {
            return Some(Self::Manager(till_id));
        }
        Some(Self::Device { till: till_id, role: parse_role(role)? })
    }
}

/// Whom a stored session is for; `None` for a role this build does not know.
pub fn holder_of_session(row: &SessionRow) -> Option<Holder> {
    Holder::of(row.till_id.clone(), &row.role)
}

/// Every session live at `now` with who holds it: a till's or a display's judged by `devices`,
/// a manager's by `managers`. Sessions of a role this build does not know are left out.
pub async fn live_holders(
    store: &Store,
    devices: SessionPolicy,
    managers: SessionPolicy,
    now: i64,
) -> Result<Vec<(SessionRow, Holder)>, StoreError> {
    // Asked for what either policy may keep alive, then each session judged by its own.
    let widest = devices.widest(managers);
    let rows = store
        .live_sessions(now.saturating_sub(widest.lifetime_ms()), now.saturating_sub(widest.idle_ms()))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let holder = holder_of_session(&row)?;
            let policy = if matches!(holder, Holder::Manager(_)) { managers } else { devices };
            policy.is_live(row.created_at, row.last_seen_at, now).then_some((row, holder))
        })
        .collect())
}

/// Parses a stored role name.
pub fn parse_role(s: &str) -> Option<Role> {
    match s {
        "till" => Some(Role::Till),
        "display" => Some(Role::Display),
        _ => None,
    }
}

/// `n` bytes from the operating system's random source. uuid v4 draws its bytes from it; of
/// each uuid's 16 bytes the two carrying its version and variant bits are left out.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(n + 14);
    while bytes.len() < n {
        let uuid = uuid::Uuid::new_v4().into_bytes();
        bytes.extend(uuid.iter().enumerate().filter(|(i, _)| *i != 6 && *i != 8).map(|(_, b)| *b));
    }
    bytes.truncate(n);
    bytes
}

/// The alphabet position a random byte picks, or `None` for a byte to throw away: only bytes
/// below the largest multiple of the alphabet's size are used, so each position is equally
/// likely (a plain `byte % 31` would favour the first nine characters).
fn pick(byte: u8) -> Option<u8> {
    const SIZE: usize = CODE_ALPHABET.len();
    let usable = 256 - 256 % SIZE;
    let byte = usize::from(byte);
    (byte < usable).then(|| CODE_ALPHABET[byte % SIZE])
}

/// A fresh one-time code, as people read it: `ABCD-EFGH`.
fn new_code() -> String {
    let mut chars = Vec::with_capacity(CODE_LENGTH);
    while chars.len() < CODE_LENGTH {
        chars.extend(random_bytes(CODE_LENGTH).into_iter().filter_map(pick).take(CODE_LENGTH - chars.len()));
    }
    let (first, second) = chars.split_at(CODE_LENGTH / 2);
    format!("{}-{}", String::from_utf8_lossy(first), String::from_utf8_lossy(second))
}

/// A code as typed (any case, with or without the dash or spaces), in its canonical form.
fn normalise_code(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// Whether a canonical code could be one we made: anything else is wrong without asking the
/// database.
fn well_formed(code: &str) -> bool {
    code.len() == CODE_LENGTH && code.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// SHA-256 of a session token, hex: what the store keeps of it.
fn hash(secret: &str) -> String {
    crate::hex(&Sha256::digest(secret.as_bytes()))
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner).finalize().into()
}

/// What the store keeps of a canonical code: its HMAC under the server's pairing key (made, at
/// random, the first time one is needed).
async fn code_hash(store: &Store, code: &str, now: i64) -> Result<String, StoreError> {
    let key = store.server_key(CODE_KEY, &random_bytes(32), now).await?;
    Ok(crate::hex(&hmac_sha256(&key, code.as_bytes())))
}

/// Sets the PIN (its hash) of the manager `id`, who has none yet, as they pair with the code
/// `typed`, spending their other unused codes; whether it was set (`false`: chosen meanwhile,
/// with another of their codes).
pub async fn choose_pin(
    store: &Store,
    typed: &str,
    id: &str,
    pin_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let code = code_hash(store, &normalise_code(typed), now).await?;
    store.set_pin_once((id, MANAGER_ROLE), pin_hash, &code, now).await
}

/// Makes a one-time pairing code for `till_id` in `role`. Returns the code to show.
pub async fn create_code(store: &Store, till_id: &str, role: Role, now: i64) -> Result<String, StoreError> {
    create_code_for(store, &Holder::Device { till: till_id.to_owned(), role }, now).await
}

/// Makes a one-time pairing code for `holder`. Returns the code to show.
pub async fn create_code_for(store: &Store, holder: &Holder, now: i64) -> Result<String, StoreError> {
    let code = new_code();
    let hash = code_hash(store, &normalise_code(&code), now).await?;
    let (till_id, role) = holder.columns();
    store.insert_pairing_code(&hash, till_id, role, now, expires(now)).await?;
    Ok(code)
}

/// When a code made at `now` stops working.
pub const fn expires(now: i64) -> i64 {
    now + CODE_LIFETIME_MS
}

/// Whom a typed code is for, if it is unused and unexpired, without using it: a manager's first
/// pairing must choose a PIN before the code is spent.
pub async fn holder_of(store: &Store, typed: &str, now: i64) -> Result<Option<Holder>, StoreError> {
    let code = normalise_code(typed);
    if !well_formed(&code) {
        return Ok(None);
    }
    let found = store.pairing_code(&code_hash(store, &code, now).await?, now).await?;
    Ok(found.and_then(|(till_id, role)| Holder::of(till_id, &role)))
}

/// Exchanges a code for a new session. Returns whom it is for and the session token for the
/// cookie; `None` if the code is unknown, used or expired.
pub async fn redeem(store: &Store, typed: &str, now: i64) -> Result<Option<(Holder, String)>, StoreError> {
    let code = normalise_code(typed);
    if !well_formed(&code) {
        return Ok(None);
    }
    let Some((till_id, role)) = store.use_pairing_code(&code_hash(store, &code, now).await?, now).await?
    else {
        return Ok(None);
    };
    let Some(holder) = Holder::of(till_id, &role) else { return Ok(None) };
    let token = crate::hex(&random_bytes(32));
    let (till_id, role) = holder.columns();
    store.insert_session(&hash(&token), till_id, role, now).await?;
    Ok(Some((holder, token)))
}

/// A session that opens its till now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Its token's hash: how the server names it (never the token).
    pub id: String,
    /// The till.
    pub till: String,
    /// What the browser is to it.
    pub role: Role,
    /// When its lifetime runs out (Unix ms), however much it is used.
    pub ends_at: i64,
}

/// What a session token is worth now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// It opens its till.
    Live(LiveSession),
    /// It ran out: unused too long, or too old.
    Expired,
    /// The operator ended it.
    Revoked,
    /// No such session: never paired here (or long pruned).
    Unknown,
    /// A manager's session (whatever its state): it opens no till.
    Manager,
}

/// What a session token is worth now to the back office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagerState {
    /// A manager's live session.
    Live {
        /// The manager's id.
        manager_id: String,
        /// When its lifetime runs out (Unix ms), however much it is used.
        ends_at: i64,
    },
    /// A manager's session that ran out.
    Expired,
    /// A manager's session that was ended.
    Revoked,
    /// A till's or a display's session (whatever its state).
    Device,
    /// No such session.
    Unknown,
}

/// How a stored session stands at `now` under `policy`.
enum Standing {
    Live { ends_at: i64 },
    Expired,
    Revoked,
}

fn standing(row: &SessionRow, policy: SessionPolicy, now: i64) -> Standing {
    // The operator's act is the more useful reason to give when both apply.
    if row.revoked_at.is_some() {
        return Standing::Revoked;
    }
    if !policy.is_live(row.created_at, row.last_seen_at, now) {
        return Standing::Expired;
    }
    Standing::Live { ends_at: policy.ends_at(row.created_at) }
}

/// The state of the session `token` names at `now` under `policy`; a live one's use is noted (at
/// most once a minute).
pub async fn session(
    store: &Store,
    token: &str,
    policy: SessionPolicy,
    now: i64,
) -> Result<SessionState, StoreError> {
    if token.is_empty() {
        return Ok(SessionState::Unknown);
    }
    let Some(row) = store.session(&hash(token)).await? else { return Ok(SessionState::Unknown) };
    if row.role == MANAGER_ROLE {
        return Ok(SessionState::Manager);
    }
    let ends_at = match standing(&row, policy, now) {
        Standing::Revoked => return Ok(SessionState::Revoked),
        Standing::Expired => return Ok(SessionState::Expired),
        Standing::Live { ends_at } => ends_at,
    };
    let Some(role) = parse_role(&row.role) else { return Ok(SessionState::Unknown) };
    if now - row.last_seen_at >= NOTE_USE_EVERY_MS {
        store.touch_session(&row.token_hash, now, now - NOTE_USE_EVERY_MS).await?;
    }
    Ok(SessionState::Live(LiveSession { id: row.token_hash, till: row.till_id, role, ends_at }))
}

/// The state of the manager's session `token` names at `now` under `policy`; a live one's use
/// is noted (at most once a minute).
pub async fn manager_session(
    store: &Store,
    token: &str,
    policy: SessionPolicy,
    now: i64,
) -> Result<ManagerState, StoreError> {
    if token.is_empty() {
        return Ok(ManagerState::Unknown);
    }
    let Some(row) = store.session(&hash(token)).await? else { return Ok(ManagerState::Unknown) };
    if row.role != MANAGER_ROLE {
        return Ok(ManagerState::Device);
    }
    match standing(&row, policy, now) {
        Standing::Revoked => Ok(ManagerState::Revoked),
        Standing::Expired => Ok(ManagerState::Expired),
        Standing::Live { ends_at } => {
            if now - row.last_seen_at >= NOTE_USE_EVERY_MS {
                store.touch_session(&row.token_hash, now, now - NOTE_USE_EVERY_MS).await?;
            }
            Ok(ManagerState::Live { manager_id: row.till_id, ends_at })
        }
    }
}

/// Notes that a session is in use at `now` (an open event stream is use), at most once a minute.
pub async fn note_use(store: &Store, id: &str, now: i64) -> Result<(), StoreError> {
    store.touch_session(id, now, now - NOTE_USE_EVERY_MS).await
}

/// The device id the operator sees for a session: the start of its token's hash.
pub fn device_id(session_id: &str) -> &str {
    session_id.get(..DEVICE_ID_LENGTH).unwrap_or(session_id)
}

/// The session cookie's name on a server whose public URL is https (`secure`) or not.
pub const fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The `Set-Cookie` value for a session token, kept by the browser as long as the session can
/// last.
pub fn cookie(token: &str, secure: bool, policy: SessionPolicy) -> String {
    let name = cookie_name(secure);
    let max_age = policy.lifetime.as_secs();
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The session token in a request's cookies: only the cookie that applies to this server, so a
/// plain `kasse_session` set by another host cannot stand in for the `__Host-` one.
pub fn token_in(parts: &Parts, secure: bool) -> Option<&str> {
    let name = cookie_name(secure);
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value)
}

/// Whether the server is reached over https, which decides the cookie.
pub fn https(app: &crate::AppState) -> bool {
    app.public_url.scheme() == "https"
}

/// The live session of a request, or why there is none.
pub async fn of_request(parts: &Parts, app: &crate::AppState) -> Result<LiveSession, Refusal> {
    let token = token_in(parts, https(app)).ok_or(Refusal::NotPaired)?;
    match session(&app.store, token, app.config.sessions, crate::now_ms()).await? {
        SessionState::Live(live) => Ok(live),
        SessionState::Expired => Err(Refusal::Expired),
        SessionState::Revoked => Err(Refusal::Revoked),
        SessionState::Unknown => Err(Refusal::NotPaired),
        SessionState::Manager => Err(Refusal::ManagerBrowser),
    }
}

/// A request from a browser paired with the till in its path (`/api/tills/{till}/…`).
#[derive(Debug, Clone)]
pub struct Paired {
    /// The till.
    pub till: String,
    /// What the browser is to it.
    pub role: Role,
    /// Its session's id (the token's hash), by which a revocation reaches its open streams.
    pub session: String,
    /// When the session's lifetime runs out (Unix ms).
    pub ends_at: i64,
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
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &std::sync::Arc<crate::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(|_| Refusal::NoSuchEndpoint)?;
        let till = params.get("till").cloned().unwrap_or_default();
        let live = of_request(parts, app).await?;
        if live.till != till {
            return Err(Refusal::OtherTill);
        }
        Ok(Self { till, role: live.role, session: live.id, ends_at: live.ends_at })
    }
}

/// The refusal for a browser without a live session.
pub fn not_paired() -> ApiError {
    ApiError::unauthorized("This browser is not paired with a till. Ask the manager for a pairing code.")
}

/// Why a request is not let in to a till.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No session cookie, or one the server does not know.
    #[error("this browser is not paired")]
    NotPaired,
    /// The session ran out (unused too long, or too old).
    #[error("this browser's session has expired")]
    Expired,
    /// The operator ended the session.
    #[error("this browser's session was revoked")]
    Revoked,
    /// The session is another till's.
    #[error("this browser is paired with another till")]
    OtherTill,
    /// The session is a manager's: it opens the back office, not a till.
    #[error("this browser is a manager's")]
    ManagerBrowser,
    /// The path names no till.
    #[error("no such endpoint")]
    NoSuchEndpoint,
    /// The sessions could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::NotPaired => not_paired().into_response(),
            Self::Expired => ended(
                ProblemCode::SessionExpired,
                "Session expired",
                "This browser's pairing has run out. Ask the manager for a new pairing code.",
            ),
            Self::Revoked => ended(
                ProblemCode::SessionRevoked,
                "Session revoked",
                "The manager has unpaired this browser. Ask the manager for a new pairing code.",
            ),
            Self::OtherTill => {
                ApiError::forbidden("This browser is paired with another till.").into_response()
            }
            Self::ManagerBrowser => ApiError::forbidden(
                "This browser is paired as a manager's back office (/admin), not as a till.",
            )
            .into_response(),
            Self::NoSuchEndpoint => ApiError::no_such_endpoint().into_response(),
            Self::Store(e) => ApiError::from(e).into_response(),
        }
    }
}

/// A 401 problem for a session that ended, with its own code, so the app can say why.
fn ended(code: ProblemCode, title: &str, detail: &str) -> Response {
    let problem = Problem::new(StatusCode::UNAUTHORIZED.as_u16(), code, title, detail);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(Problem::CONTENT_TYPE));
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const POLICY: SessionPolicy =
        SessionPolicy { idle: Duration::from_hours(1), lifetime: Duration::from_hours(10) };
    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_code_is_eight_unambiguous_characters_and_reads_back_however_it_is_typed() {
        let code = new_code();
        assert_eq!(code.len(), 9);
        assert!(code.chars().filter(|c| *c != '-').all(|c| CODE_ALPHABET.contains(&(c as u8))));
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(normalise_code(&typed), normalise_code(&code));
        assert!(well_formed(&normalise_code(&typed)));
    }

    #[test]
    fn every_character_of_the_alphabet_is_equally_likely_from_a_random_byte() {
        let mut counts = std::collections::HashMap::new();
        for byte in 0..=u8::MAX {
            if let Some(c) = pick(byte) {
                *counts.entry(c).or_insert(0) += 1;
            }
        }
        assert_eq!(counts.len(), CODE_ALPHABET.len(), "every character can be picked");
        assert!(counts.values().all(|n| *n == 256 / CODE_ALPHABET.len()), "each as often: {counts:?}");
    }

    #[test]
    fn every_position_of_a_code_uses_the_whole_alphabet() {
        let codes: Vec<Vec<u8>> = (0..3_000).map(|_| normalise_code(&new_code()).into_bytes()).collect();
        for position in 0..CODE_LENGTH {
            let seen: std::collections::HashSet<u8> = codes.iter().map(|c| c[position]).collect();
            assert_eq!(seen.len(), CODE_ALPHABET.len(), "position {position} uses only {seen:?}");
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2: a short key.
        assert_eq!(
            crate::hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than a block is hashed first.
        assert_eq!(
            crate::hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[tokio::test]
    async fn a_code_is_stored_only_as_a_keyed_hash() {
        for store in crate::store::testing::stores().await {
            let code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
            let canonical = normalise_code(&code);
            let key = store.server_key(CODE_KEY, &[0; 32], 0).await.unwrap();
            assert_eq!(key.len(), 32);
            assert_ne!(key, [0; 32], "the key was made at random before");
            let keyed = crate::hex(&hmac_sha256(&key, canonical.as_bytes()));
            assert!(
                store.use_pairing_code(&hash(&canonical), 1).await.unwrap().is_none(),
                "not plain SHA-256"
            );
            assert!(store.use_pairing_code(&keyed, 1).await.unwrap().is_some(), "the HMAC under the key");
        }
    }

    #[tokio::test]
    async fn a_code_pairs_one_browser_once_and_only_while_it_lasts() {
        for store in crate::store::testing::stores().await {
            let code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
            assert!(redeem(&store, "WRONG-CODE", 1).await.unwrap().is_none());
            let (holder, token) = redeem(&store, &code, 1).await.unwrap().unwrap();
            assert_eq!(holder, Holder::Device { till: "till-1".into(), role: Role::Till });
            let SessionState::Live(live) = session(&store, &token, POLICY, 2).await.unwrap() else {
                panic!("a live session")
            };
            assert_eq!((live.till.as_str(), live.role, live.id), ("till-1", Role::Till, hash(&token)));
            assert!(redeem(&store, &code, 2).await.unwrap().is_none(), "a code is used once");

            let late = create_code(&store, "till-1", Role::Display, 0).await.unwrap();
            assert!(redeem(&store, &late, CODE_LIFETIME_MS).await.unwrap().is_none(), "expired");
            assert_eq!(session(&store, "not-a-token", POLICY, 2).await.unwrap(), SessionState::Unknown);
            assert_eq!(session(&store, "", POLICY, 2).await.unwrap(), SessionState::Unknown);
        }
    }

    #[tokio::test]
    async fn a_managers_code_can_be_looked_at_before_it_is_spent_and_its_session_opens_no_till() {
        for store in crate::store::testing::stores().await {
            let ingrid = Holder::Manager("m-1".into());
            let code = create_code_for(&store, &ingrid, 0).await.unwrap();
            assert_eq!(holder_of(&store, &code, 1).await.unwrap(), Some(ingrid.clone()));
            assert_eq!(
                holder_of(&store, &code, 2).await.unwrap(),
                Some(ingrid.clone()),
                "not spent by looking"
            );
            let (holder, token) = redeem(&store, &code, 3).await.unwrap().unwrap();
            assert_eq!(holder, ingrid);
            assert_eq!(holder_of(&store, &code, 4).await.unwrap(), None, "spent");

            assert_eq!(session(&store, &token, POLICY, 4).await.unwrap(), SessionState::Manager);
            let live = manager_session(&store, &token, POLICY, 4).await.unwrap();
            assert_eq!(live, ManagerState::Live { manager_id: "m-1".into(), ends_at: 3 + 10 * HOUR });
            assert_eq!(
                manager_session(&store, &token, POLICY, HOUR + 3).await.unwrap(),
                ManagerState::Expired
            );
            assert_eq!(manager_session(&store, "nobody", POLICY, 4).await.unwrap(), ManagerState::Unknown);

            let till_code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
            let (_, till_token) = redeem(&store, &till_code, 0).await.unwrap().unwrap();
            assert_eq!(manager_session(&store, &till_token, POLICY, 1).await.unwrap(), ManagerState::Device);
        }
    }

    #[tokio::test]
    async fn a_session_expires_when_unused_for_the_idle_time_and_at_the_end_of_its_lifetime() {
        for store in crate::store::testing::stores().await {
            let code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
            let (_, token) = redeem(&store, &code, 0).await.unwrap().unwrap();
            // Used every 50 minutes, it lives on: each use counts.
            for t in (1..=13).map(|n| n * 50 * 60_000) {
                let state = session(&store, &token, POLICY, t).await.unwrap();
                let expected = if t < 10 * HOUR { "live" } else { "expired" };
                let got = if matches!(state, SessionState::Live(_)) { "live" } else { "expired" };
                assert_eq!(got, expected, "at {t} ms: {state:?}");
            }
            let code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
            let (_, idle) = redeem(&store, &code, 0).await.unwrap().unwrap();
            assert!(matches!(session(&store, &idle, POLICY, HOUR - 1).await.unwrap(), SessionState::Live(_)));
            assert_eq!(session(&store, &idle, POLICY, 2 * HOUR).await.unwrap(), SessionState::Expired);
        }
    }

    #[tokio::test]
    async fn many_requests_in_a_minute_note_a_sessions_use_once() {
        for store in crate::store::testing::stores().await {
            let code = create_code(&store, "till-1", Role::Till, 0).await.unwrap();
            let (_, token) = redeem(&store, &code, 0).await.unwrap().unwrap();
            for t in [1_000, 30_000, 59_999] {
                session(&store, &token, POLICY, t).await.unwrap();
            }
            assert_eq!(store.session(&hash(&token)).await.unwrap().unwrap().last_seen_at, 0);
            session(&store, &token, POLICY, 60_000).await.unwrap();
            assert_eq!(store.session(&hash(&token)).await.unwrap().unwrap().last_seen_at, 60_000);
        }
    }

    #[test]
    fn the_session_cookie_is_http_only_and_same_site_strict_and_host_only_on_https() {
        let c = cookie("t", true, POLICY);
        assert!(c.starts_with("__Host-kasse_session=t; Path=/;"), "{c}");
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!c.contains("Domain"), "{c}");
        assert!(c.contains("Max-Age=36000"), "kept as long as the session can last: {c}");
        let plain = cookie("t", false, POLICY);
        assert!(plain.starts_with("kasse_session=t;") && !plain.contains("Secure"), "{plain}");
    }

    #[test]
    fn a_device_id_is_the_start_of_the_tokens_hash() {
        let id = hash("token");
        assert_eq!(device_id(&id), &id[..DEVICE_ID_LENGTH]);
        assert_eq!(device_id("abc"), "abc");
    }
}

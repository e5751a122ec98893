//! Pairing and the session it makes: `POST /api/pair` exchanges a one-time code for a session
//! cookie (a till's, a display's or a manager's), and `GET /api/session` says which till a browser
//! works for. A manager's first pairing also sets their PIN; until it is given, the code is not
//! spent.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, header};
use axum::response::{IntoResponse, Json, Response};
use kasse_api::{PairRequest, Paired, ProblemCode, Session};

use super::ApiJson;
use super::admin::manager_session_view;
use super::client::ClientAddr;
use crate::AppState;
use crate::error::ApiError;
use crate::limits;
use crate::managers;
use crate::pairing::{self, Holder};

/// `GET /api/session`: the till this browser is paired with, and as what (401 if none, with
/// `session-expired` or `session-revoked` when its session has ended; 403 for a manager's).
pub async fn session(State(app): State<Arc<AppState>>, request: Request) -> Result<Json<Session>, Response> {
    let (parts, _) = request.into_parts();
    let live = pairing::of_request(&parts, &app).await.map_err(IntoResponse::into_response)?;
    let till = app.sales.till_view(&live.till).map_err(|e| ApiError::from(e).into_response())?;
    Ok(Json(Session { till, role: live.role }))
}

/// The refusal of a code that is not (or no longer) good.
fn wrong_code() -> ApiError {
    ApiError::unauthorized(
        "That pairing code is not valid: it may be mistyped, used or more than ten minutes old. Ask the manager for a new one.",
    )
}

/// The refusal of a PIN chosen for a manager who has one: the code is not spent.
fn pin_chosen() -> ApiError {
    ApiError::pin_chosen(
        "This manager has chosen a PIN already, on another device. Pair without choosing one; the back office asks for that PIN.",
    )
}

/// `POST /api/pair`: exchanges a one-time code for a session cookie.
pub async fn pair(
    State(app): State<Arc<AppState>>,
    client: ClientAddr,
    ApiJson(request): ApiJson<PairRequest>,
) -> Result<([(HeaderName, String); 1], Json<Paired>), ApiError> {
    let now = crate::now_ms();
    let address = client.limit_key();
    // Only wrong codes count: pairing every till of a shop from one laptop is fine, guessing is
    // not. Every attempt is counted before the database is asked and a good code gives its
    // count back, so a burst of guesses sent at once cannot all slip in while the first are
    // being checked.
    if let Err(wait) = app.pairing_attempts.attempt(&address, now).await? {
        return Err(ApiError::rate_limited(
            ProblemCode::TooManyRequests,
            format!(
                "Too many wrong pairing codes from this device. Try again in {}.",
                limits::wait_in_words(wait)
            ),
            wait,
        ));
    }
    let Some(holder) = pairing::holder_of(&app.store, &request.code, now).await? else {
        return Err(wrong_code());
    };
    app.pairing_attempts.release(&address, now).await?;
    // A manager pairing for the first time chooses a PIN, set before the code is spent: without
    // one the code waits, and a session never exists for a manager without a PIN.
    if let Holder::Manager(id) = &holder {
        let manager = app.store.manager(id).await?.ok_or_else(wrong_code)?;
        if manager.pin_hash.is_some() && request.pin.is_some() {
            // Chosen on another device: this one's would be dropped unsaid.
            return Err(pin_chosen());
        }
        if manager.pin_hash.is_none() {
            let pin = match request.pin {
                None => {
                    return Err(ApiError::bad_request(
                        ProblemCode::PinRequired,
                        "Choose a PIN of 4 to 8 digits: the back office asks for it before it pairs or unpairs a device.",
                    ));
                }
                Some(pin) if !kasse_api::pin_is_well_formed(&pin) => {
                    return Err(ApiError::bad_request(ProblemCode::BadPin, "A PIN is 4 to 8 digits."));
                }
                Some(pin) => pin,
            };
            // The hash takes tens of milliseconds of CPU: off the async workers.
            let hash = tokio::task::spawn_blocking(move || managers::hash_pin(&pin))
                .await
                .map_err(|_| ApiError::internal())?;
            if !pairing::choose_pin(&app.store, &request.code, id, &hash, now).await? {
                // Another of this manager's codes was used a moment ago, with a PIN of its own.
                return Err(pin_chosen());
            }
        }
    }
    // Another browser may have used the code meanwhile: then it is spent.
    let Some((holder, token)) = pairing::redeem(&app.store, &request.code, now).await? else {
        return Err(wrong_code());
    };
    let secure = pairing::https(&app);
    match holder {
        Holder::Device { till, role } => {
            tracing::info!(%till, ?role, "browser paired");
            let session = Session { till: app.sales.till_view(&till)?, role };
            let cookie = pairing::cookie(&token, secure, app.config.sessions);
            Ok(([(header::SET_COOKIE, cookie)], Json(Paired::Device(session))))
        }
        Holder::Manager(id) => {
            let manager = app.store.manager(&id).await?.ok_or_else(wrong_code)?;
            tracing::info!(manager = %manager.name, "manager's browser paired");
            let session = manager_session_view(&app, &manager, app.config.manager_sessions.ends_at(now))?;
            let cookie = pairing::cookie(&token, secure, app.config.manager_sessions);
            Ok(([(header::SET_COOKIE, cookie)], Json(Paired::Manager(session))))
        }
    }
}

//! The back office's API (`/api/admin/…`), for managers only: who they are, the devices paired
//! with their stores, pairing codes for new ones, and taking one away (the sales are in
//! `admin_sales`). A till's or a display's session gets 403 on every one of them; an action that changes
//! who can use the shop asks for the manager's PIN again (see `managers`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Json;
use kasse_api::{
    Device, DeviceKind, Manager, ManagerSession, NewPairingCode, OpenSticker, PairingCode, PairingFor,
    PinConfirmation, ProblemCode, Role, StoreSummary,
};

use super::ApiJson;
use crate::AppState;
use crate::config::{StickerConfig, TillConfig};
use crate::error::ApiError;
use crate::managers::{self, ManagerAccess};
use crate::pairing::{self, Holder};
use crate::store::ManagerRow;

/// The tills of the stores `manager` manages, in the configuration's order.
pub(super) fn tills_of<'a>(app: &'a AppState, manager: &ManagerRow) -> impl Iterator<Item = &'a TillConfig> {
    let own = manager.store_id.clone();
    app.config.tills.iter().filter(move |till| own.as_deref().is_none_or(|store| store == till.store))
}

/// The open-amount stickers of the stores `manager` manages, in the configuration's order.
pub(super) fn stickers_of<'a>(
    app: &'a AppState,
    manager: &ManagerRow,
) -> impl Iterator<Item = &'a StickerConfig> {
    let own = manager.store_id.clone();
    app.config
        .stickers
        .iter()
        .filter(move |sticker| own.as_deref().is_none_or(|store| store == sticker.store))
}

/// What the back office shows of `manager`'s session, ending at `ends_at`.
pub fn manager_session_view(
    app: &AppState,
    manager: &ManagerRow,
    ends_at: i64,
) -> Result<ManagerSession, ApiError> {
    let mut stores = Vec::new();
    for store in &app.config.stores {
        if manager.store_id.as_deref().is_some_and(|own| own != store.id) {
            continue;
        }
        let tills = app
            .config
            .tills
            .iter()
            .filter(|till| till.store == store.id)
            .map(|till| app.sales.till_view(&till.id))
            .collect::<Result<_, _>>()?;
        stores.push(StoreSummary {
            id: store.id.clone(),
            name: store.name.clone(),
            currency: store.currency,
            tills,
            stickers: app
                .config
                .stickers
                .iter()
                .filter(|sticker| sticker.store == store.id)
                .map(|sticker| OpenSticker {
                    id: sticker.id.clone(),
                    description: sticker.description.clone(),
                })
                .collect(),
        });
    }
    Ok(ManagerSession { manager: manager_view(manager), stores, ends_at_ms: ends_at })
}

fn manager_view(manager: &ManagerRow) -> Manager {
    Manager { id: manager.id.clone(), name: manager.name.clone(), store: manager.store_id.clone() }
}

/// `GET /api/admin/session`: the manager this browser is paired as, and their stores.
pub async fn session(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
) -> Result<Json<ManagerSession>, ApiError> {
    Ok(Json(manager_session_view(&app, &access.manager, access.ends_at)?))
}

/// A device the manager may see, and its session's token hash (what unpairing ends).
struct Visible {
    device: Device,
    token_hash: String,
}

/// The devices whose sessions are live and that `access` may see: tills and displays of their
/// stores, and managers of their store (every manager, for a manager of every store).
async fn visible_devices(app: &AppState, access: &ManagerAccess) -> Result<Vec<Visible>, ApiError> {
    let (devices, managers_policy) = (app.config.sessions, app.config.manager_sessions);
    let live = pairing::live_holders(&app.store, devices, managers_policy, crate::now_ms()).await?;
    let managers = app.store.managers().await?;
    let tills: Vec<&TillConfig> = tills_of(app, &access.manager).collect();
    let mut visible = Vec::new();
    for (row, holder) in live {
        let (kind, of) = match holder {
            Holder::Device { till, role } if tills.iter().any(|t| t.id == till) => {
                let kind = if role == Role::Till { DeviceKind::Till } else { DeviceKind::Display };
                (kind, till)
            }
            Holder::Manager(id) => {
                let Some(manager) = managers.iter().find(|m| m.id == id) else { continue };
                if !access.manages_every_store() && manager.store_id != access.manager.store_id {
                    continue;
                }
                (DeviceKind::Manager, manager.name.clone())
            }
            Holder::Device { .. } => continue,
        };
        let device = Device {
            id: pairing::device_id(&row.token_hash).to_owned(),
            kind,
            of,
            paired_at_ms: row.created_at,
            last_seen_at_ms: row.last_seen_at,
        };
        visible.push(Visible { device, token_hash: row.token_hash });
    }
    Ok(visible)
}

/// `GET /api/admin/devices`: the devices paired with the manager's stores, by kind, then what
/// they are for, then pairing time.
pub async fn devices(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
) -> Result<Json<Vec<Device>>, ApiError> {
    let mut devices: Vec<Device> =
        visible_devices(&app, &access).await?.into_iter().map(|v| v.device).collect();
    devices.sort_by(|a, b| {
        let rank = |kind| DeviceKind::ALL.iter().position(|k| *k == kind);
        (rank(a.kind), &a.of, a.paired_at_ms).cmp(&(rank(b.kind), &b.of, b.paired_at_ms))
    });
    Ok(Json(devices))
}

/// `POST /api/admin/devices/{id}/revoke`: ends a device's session at once (its open screens are
/// sent to pairing); asks for the PIN.
pub async fn revoke(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    Path(id): Path<String>,
    ApiJson(confirmation): ApiJson<PinConfirmation>,
) -> Result<Json<Vec<Device>>, ApiError> {
    let id = id.to_ascii_lowercase();
    let visible = visible_devices(&app, &access).await?;
    let Some(Visible { device, token_hash }) = visible.into_iter().find(|v| v.device.id == id) else {
        return Err(ApiError::not_found(
            ProblemCode::UnknownDevice,
            "No device of your stores has this id: it may have been unpaired already.",
        ));
    };
    managers::confirm_pin(&app, &access.manager, &confirmation.pin).await?;
    // Its whole token hash: the id the manager sees is only its start.
    app.store.revoke_sessions_by_prefix(&token_hash, crate::now_ms()).await?;
    crate::live::sessions_revoked();
    tracing::info!(manager = %access.manager.name, device = %device.id, of = %device.of, "device unpaired");
    Ok(Json(vec![device]))
}

/// Whom a code will be for, if `access` may make it.
async fn holder_for(
    app: &AppState,
    access: &ManagerAccess,
    pairing_for: &PairingFor,
) -> Result<Pending, ApiError> {
    let own_till = |till: &str| {
        let Some(config) = app.config.till(till) else {
            return Err(ApiError::from(crate::sales::SaleError::UnknownTill(till.to_owned())));
        };
        if access.manages(&config.store) {
            Ok(config.id.clone())
        } else {
            Err(ApiError::forbidden("That till is not in a store you manage."))
        }
    };
    match pairing_for {
        PairingFor::Till { till } => {
            Ok(Pending::Ready(Holder::Device { till: own_till(till)?, role: Role::Till }))
        }
        PairingFor::Display { till } => {
            Ok(Pending::Ready(Holder::Device { till: own_till(till)?, role: Role::Display }))
        }
        PairingFor::Manager { name, store } => {
            let name = managers::read_name(name).ok_or_else(|| {
                ApiError::bad_request(
                    ProblemCode::BadRequestBody,
                    format!("A manager's name is 1 to {} characters.", managers::NAME_MAX),
                )
            })?;
            match store {
                Some(store) if app.config.store(store).is_none() => {
                    return Err(ApiError::bad_request(
                        ProblemCode::BadRequestBody,
                        "There is no such store.",
                    ));
                }
                Some(store) if !access.manages(store) => {
                    return Err(ApiError::forbidden("That store is not one you manage."));
                }
                None if !access.manages_every_store() => {
                    return Err(ApiError::forbidden("Only a manager of every store can add one."));
                }
                _ => {}
            }
            // Only looked at here: the manager is added once the PIN is confirmed.
            if app
                .store
                .manager_by_name(&name)
                .await?
                .is_some_and(|m| m.store_id != *store || someone_else(&m, &access.manager))
            {
                return Err(name_taken());
            }
            Ok(Pending::Manager { name, store: store.clone() })
        }
    }
}

/// Whom a code will be for, once the PIN is confirmed.
enum Pending {
    /// A till or display, or a manager there is.
    Ready(Holder),
    /// A manager to add (or find) by name.
    Manager { name: String, store: Option<String> },
}

/// Whether `manager` is a manager other than `caller` who has chosen a PIN: a code for them
/// would open their back office with no PIN asked (their next device's pairing asks none), so
/// only they make one. One who has not chosen a PIN yet is still being added, and has no
/// session to take over.
fn someone_else(manager: &ManagerRow, caller: &ManagerRow) -> bool {
    manager.id != caller.id && manager.pin_hash.is_some()
}

/// 409 for a name another manager has: the other's stores are not said.
fn name_taken() -> ApiError {
    ApiError::manager_name_taken("Another manager has that name. Choose another.")
}

/// `POST /api/admin/pairing-codes`: a one-time code (and its address, for a QR code) that pairs
/// a new till, display or manager's device; asks for the PIN.
pub async fn pairing_code(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    ApiJson(request): ApiJson<NewPairingCode>,
) -> Result<(StatusCode, Json<PairingCode>), ApiError> {
    // The request is checked before the PIN, so a mistake costs no attempt.
    let pending = holder_for(&app, &access, &request.pairing_for).await?;
    managers::confirm_pin(&app, &access.manager, &request.pin).await?;
    let now = crate::now_ms();
    let holder = match pending {
        Pending::Ready(holder) => holder,
        Pending::Manager { name, store } => {
            match managers::for_pairing(&app.store, &name, store.as_deref(), now).await {
                // Asked again as it is now: they may have chosen their PIN meanwhile.
                Ok(manager) if someone_else(&manager, &access.manager) => return Err(name_taken()),
                Ok(manager) => Holder::Manager(manager.id),
                Err(managers::AddError::NameTaken) => return Err(name_taken()),
                Err(managers::AddError::Store(e)) => return Err(e.into()),
            }
        }
    };
    let code = pairing::create_code_for(&app.store, &holder, now).await?;
    let mut url = app.public_url.join("pair").map_err(|_| ApiError::internal())?;
    url.query_pairs_mut().append_pair("code", &code);
    tracing::info!(manager = %access.manager.name, for = ?holder, "pairing code made in the back office");
    Ok((
        StatusCode::CREATED,
        Json(PairingCode { code, url: url.into(), expires_at_ms: pairing::expires(now) }),
    ))
}

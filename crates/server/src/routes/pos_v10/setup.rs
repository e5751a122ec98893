//! v10's stores (kasse's configured stores) and points of sale (kasse's tills, each linked to the
//! beacon, a callback sticker, where customers check in), and the simulated check-in.

use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Json;
use kasse_api::ProblemCode;
use serde::Deserialize;

use super::extract::{V10Body, V10Path, V10Query};
use super::{V10Caller, V10Error, parse};
use crate::AppState;
use crate::config::StoreConfig;
use crate::pos_v10::codes::V10Code;
use crate::pos_v10::wire::{
    BeaconType, CreatePosRequest, CreatePosResponse, GetCheckInResponse, PosIdsResponse, PosResponse,
    StoreIdsResponse, StoreResponse, UserSimulationRequest,
};
use crate::pos_v10::{POLL_DELAY_MS, id_from, store_id};
use crate::store::V10PosRow;

/// `?merchantBrandId=&merchantLocationId=`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StoreQuery {
    merchant_brand_id: Option<String>,
    merchant_location_id: Option<String>,
}

/// A configured store as v10 shows it: its brand is its name and its MSN, its location its id.
fn store_response(store: &StoreConfig) -> StoreResponse {
    let part = |p: &Option<String>| p.clone().unwrap_or_default();
    StoreResponse {
        store_name: store.name.clone(),
        store_id: store_id(&store.id),
        store_street: part(&store.address.street),
        store_zip_code: part(&store.address.zip_code),
        store_city: part(&store.address.city),
        brand_name: store.name.clone(),
        merchant_brand_id: store.msn.clone(),
        merchant_location_id: store.id.clone(),
    }
}

/// The caller's stores that match `query`.
fn matching<'a>(app: &'a AppState, caller: &V10Caller, query: &StoreQuery) -> Vec<&'a StoreConfig> {
    caller
        .stores
        .iter()
        .filter_map(|id| app.config.store(id))
        .filter(|s| query.merchant_brand_id.as_ref().is_none_or(|b| *b == s.msn))
        .filter(|s| query.merchant_location_id.as_ref().is_none_or(|l| *l == s.id))
        .collect()
}

/// The caller's store with v10 id `id`.
fn store_by_v10_id<'a>(app: &'a AppState, caller: &V10Caller, id: &str) -> Option<&'a StoreConfig> {
    caller
        .stores
        .iter()
        .filter_map(|s| app.config.store(s))
        .find(|s| store_id(&s.id).eq_ignore_ascii_case(id))
}

/// `GET /pos/v10/stores`.
pub(super) async fn stores(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Query(query): V10Query<StoreQuery>,
) -> Json<StoreIdsResponse> {
    Json(StoreIdsResponse {
        store_ids: matching(&app, &caller, &query).iter().map(|s| store_id(&s.id)).collect(),
    })
}

/// `GET /pos/v10/stores/detailed`.
pub(super) async fn detailed_stores(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Query(query): V10Query<StoreQuery>,
) -> Json<Vec<StoreResponse>> {
    Json(matching(&app, &caller, &query).into_iter().map(store_response).collect())
}

/// `GET /pos/v10/stores/{storeid}`.
pub(super) async fn store(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(id): V10Path<String>,
) -> Result<Json<StoreResponse>, V10Error> {
    let store = store_by_v10_id(&app, &caller, &id).ok_or_else(|| V10Error::not_found().of(&caller))?;
    Ok(Json(store_response(store)))
}

fn pos_response(pos: &V10PosRow) -> PosResponse {
    PosResponse {
        pos_id: pos.pos_id.clone(),
        merchant_pos_id: pos.merchant_pos_id.clone(),
        store_id: store_id(&pos.store_id),
        name: pos.name.clone(),
        beacon_id: pos.beacon_id.clone(),
        callback_alias: pos.callback_alias.clone(),
        supported_beacon_types: pos.beacon_types.split(',').filter_map(BeaconType::from_name).collect(),
        require_payment_before_checkin: pos.require_payment_before_checkin,
    }
}

/// The caller's live point of sale `pos_id`: 404 if there is none, 403 if another integrator's.
pub(super) async fn own_pos(app: &AppState, caller: &V10Caller, pos_id: &str) -> Result<V10PosRow, V10Error> {
    let pos = app.store.v10_pos(&pos_id.to_ascii_lowercase()).await?.filter(|p| p.deleted_at.is_none());
    let pos = pos.ok_or_else(|| V10Error::not_found().of(caller))?;
    if pos.integrator_id != caller.integrator.id || !caller.stores.contains(&pos.store_id) {
        return Err(V10Error::forbidden(
            V10Code::ForeignPos,
            "This point of sale was created by another integrator or merchant.",
        )
        .of(caller));
    }
    Ok(pos)
}

/// `POST /pos/v10/pointofsales`: a point of sale for the kasse till whose id is `merchantPosId`,
/// in the store `storeId`, linked to `beaconId` (else the till's own callback sticker).
pub(super) async fn create_pos(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    V10Body(body): V10Body,
) -> Result<Json<CreatePosResponse>, V10Error> {
    let request: CreatePosRequest = parse(&caller, &body)?;
    let key = caller.idempotency_key(&app, &headers, &format!("POST {}", uri.path()), &body).await?;
    let store = store_by_v10_id(&app, &caller, &request.store_id).ok_or_else(|| {
        V10Error::conflict(V10Code::StoreNotFound, "storeId is not a store of this integrator.").of(&caller)
    })?;
    let tills: Vec<&str> =
        app.config.tills.iter().filter(|t| t.store == store.id).map(|t| t.id.as_str()).collect();
    let till = app.config.till(&request.merchant_pos_id).filter(|t| t.store == store.id).ok_or_else(|| {
        V10Error::bad_request(
            V10Code::InvalidMerchantPosId,
            format!(
                "kasse's points of sale are the tills of its configuration: merchantPosId must be the id of a till of this store ({}).",
                tills.join(", ")
            ),
        )
        .of(&caller)
    })?;
    let name_ok = |s: &str| (1..=36).contains(&s.chars().count());
    if !name_ok(&request.name) || request.supported_beacon_types.is_empty() {
        return Err(V10Error::bad_request(
            V10Code::BadRequest,
            "name must be 1 to 36 characters and supportedBeaconTypes must name at least one.",
        )
        .of(&caller));
    }
    let pos_id = id_from(&caller.integrator.id, "pos", &key);
    let taken = app.store.v10_points_of_sale(&caller.integrator.id).await?;
    if taken.iter().any(|p| p.merchant_pos_id == till.id && p.pos_id != pos_id) {
        return Err(V10Error::conflict(
            V10Code::PosExists,
            format!("A point of sale for till {} exists already: delete it first.", till.id),
        )
        .of(&caller));
    }
    let beacon =
        request.beacon_id.clone().or_else(|| till.callback_qr.clone()).unwrap_or_else(|| till.id.clone());
    link_beacon(&app, till, &store.msn, &beacon)
        .await
        .map_err(|(code, message)| V10Error::conflict(code, message).of(&caller))?;
    let types: Vec<&str> = request.supported_beacon_types.iter().map(|t| t.name()).collect();
    let row = V10PosRow {
        pos_id,
        integrator_id: caller.integrator.id.clone(),
        till_id: till.id.clone(),
        store_id: store.id.clone(),
        merchant_pos_id: request.merchant_pos_id,
        name: request.name,
        beacon_id: beacon,
        beacon_types: types.join(","),
        callback_alias: request.callback_alias,
        require_payment_before_checkin: request.require_payment_before_checkin.unwrap_or(false),
        created_at: crate::now_ms(),
        deleted_at: None,
    };
    let row = app.store.insert_v10_pos(&row).await?;
    tracing::info!(pos = %row.pos_id, till = %row.till_id, beacon = %row.beacon_id, integrator = %caller.integrator.name, "v10 point of sale created");
    Ok(Json(CreatePosResponse { pos_id: row.pos_id }))
}

/// Makes check-ins at `beacon` reach `till`: nothing to do when they do already (the till's
/// `callback_qr`, or a beacon `qr migrate` moved to it). A MobilePay PoS beacon (15 digits, or a
/// GUID: the sticker the integration printed) is migrated to the till as `qr migrate` does, with
/// the platform's endpoint for migrating beacons, which alone makes a printed MobilePay code work
/// (the QR API says integrators migrating QRs cannot use the ordinary one); any other id becomes a
/// callback sticker, as `qr callback create` makes one. v10's code and a sentence when it cannot.
async fn link_beacon(
    app: &AppState,
    till: &crate::config::TillConfig,
    msn: &str,
    beacon: &str,
) -> Result<(), (V10Code, String)> {
    use crate::sales::routing::Route;
    // v10 numbered a beacon taken by another point of sale; the rest is the platform's refusal.
    let failed = |message: String| (V10Code::Kasse(ProblemCode::PlatformRefused), message);
    let route = crate::sales::routing::route(&app.config, &app.store, msn, beacon)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let rings = match route {
        Route::Till(t) if t.id == till.id => return Ok(()),
        Route::Till(other) => Some(other.id.clone()),
        Route::Nobody | Route::Conflict(_) => None,
    };
    let tools = crate::Tools {
        config: Arc::clone(&app.config),
        store: app.store.clone(),
        platform: Arc::clone(&app.platform),
        public_url: app.public_url.clone(),
    };
    if let Some(beacon) = crate::ops::migrate::beacon_id(beacon) {
        if let Some(other) = rings {
            return Err((
                V10Code::BeaconTaken,
                format!("The beacon rings till {other}; a beacon serves one till."),
            ));
        }
        let row = crate::ops::migrate::PosRow {
            row: 1,
            beacon_id: Some(beacon),
            pos_name: Some(till.name.clone()),
            msn: Some(msn.to_owned()),
            till: Some(till.id.clone()),
        };
        let options = crate::ops::migrate::Options::default();
        let report = crate::ops::migrate::run(&tools, std::slice::from_ref(&row), options, &|_| {}).await;
        return match report.rows.first().and_then(|row| row.problem.as_ref()) {
            None if !report.rows.is_empty() => Ok(()),
            problem => Err(failed(format!(
                "The beacon could not be migrated to till {}: {}",
                till.id,
                problem.map_or_else(|| "no answer".to_owned(), ToString::to_string)
            ))),
        };
    }
    let report = crate::ops::qr::create_callback_qrs(&tools, std::slice::from_ref(&till.id), Some(beacon))
        .await
        .map_err(|e| failed(e.to_string()))?;
    match report.stickers.first() {
        Some(change) if change.detail.is_none() => Ok(()),
        Some(change) => Err(failed(format!(
            "The beacon could not be linked to till {}: {}",
            till.id,
            change.detail.clone().unwrap_or_default()
        ))),
        None => Err(failed("The beacon could not be linked.".to_owned())),
    }
}

/// `?storeId=&beaconId=&merchantPosId=`, as v10 names them.
#[derive(Debug, Deserialize)]
#[allow(clippy::struct_field_names, reason = "v10's names")]
#[serde(rename_all = "camelCase")]
pub(super) struct PosQuery {
    store_id: Option<String>,
    beacon_id: Option<String>,
    merchant_pos_id: Option<String>,
}

/// `GET /pos/v10/pointofsales`.
pub(super) async fn points_of_sale(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Query(query): V10Query<PosQuery>,
) -> Result<Json<PosIdsResponse>, V10Error> {
    let all = app
        .store
        .v10_points_of_sale(&caller.integrator.id)
        .await
        .map_err(|e| V10Error::from(e).of(&caller))?;
    let pos_ids = all
        .into_iter()
        .filter(|p| caller.stores.contains(&p.store_id))
        .filter(|p| query.store_id.as_ref().is_none_or(|s| s.eq_ignore_ascii_case(&store_id(&p.store_id))))
        .filter(|p| query.beacon_id.as_ref().is_none_or(|b| *b == p.beacon_id))
        .filter(|p| query.merchant_pos_id.as_ref().is_none_or(|m| *m == p.merchant_pos_id))
        .map(|p| p.pos_id)
        .collect();
    Ok(Json(PosIdsResponse { pos_ids }))
}

/// `GET /pos/v10/pointofsales/{posid}`.
pub(super) async fn pos(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(pos_id): V10Path<String>,
) -> Result<Json<PosResponse>, V10Error> {
    Ok(Json(pos_response(&own_pos(&app, &caller, &pos_id).await?)))
}

/// `DELETE /pos/v10/pointofsales/{posid}`: the point of sale goes; its till and sticker stay.
pub(super) async fn delete_pos(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(pos_id): V10Path<String>,
) -> Result<StatusCode, V10Error> {
    let pos = own_pos(&app, &caller, &pos_id).await?;
    app.store
        .delete_v10_pos(&pos.pos_id, crate::now_ms())
        .await
        .map_err(|e| V10Error::from(e).of(&caller))?;
    Ok(StatusCode::OK)
}

/// `GET /pos/v10/pointofsales/{posid}/checkin`: whether a customer is checked in at the till's
/// sticker now.
pub(super) async fn check_in(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Path(pos_id): V10Path<String>,
) -> Result<Json<GetCheckInResponse>, V10Error> {
    let pos = own_pos(&app, &caller, &pos_id).await?;
    let open = app.sales.open_check_ins(&pos.till_id).await.map_err(|e| V10Error::from(e).of(&caller))?;
    Ok(Json(GetCheckInResponse {
        is_user_checked_in: !open.is_empty(),
        loyalty_ids: None,
        poll_delay_in_ms: POLL_DELAY_MS,
        customer_token: None,
        customer_receipt_token: None,
    }))
}

/// `POST /pos/app/usersimulation/checkin`: the customer `phoneNumber` scans the beacon, as on
/// the simulator's phone page. Only with the built-in simulator; 404 otherwise.
pub(super) async fn simulate_check_in(
    State(app): State<Arc<AppState>>,
    caller: V10Caller,
    V10Body(body): V10Body,
) -> Result<StatusCode, V10Error> {
    let request: UserSimulationRequest = parse(&caller, &body)?;
    let pos = simulated_pos(&app, &caller, &request.beacon_id).await?;
    let phone = request.phone_number.as_deref().unwrap_or_default().trim_start_matches('+');
    let store = app.config.store(&pos.store_id).ok_or_else(|| V10Error::not_found().of(&caller))?;
    simulate(
        &app,
        &caller,
        Act::CheckIn { msn: &store.msn, merchant_qr_id: &pos.beacon_id, phone_number: phone },
    )
}

/// The caller's point of sale with `beacon`, for the user simulation.
pub(super) async fn simulated_pos(
    app: &AppState,
    caller: &V10Caller,
    beacon: &str,
) -> Result<V10PosRow, V10Error> {
    let all = app
        .store
        .v10_points_of_sale(&caller.integrator.id)
        .await
        .map_err(|e| V10Error::from(e).of(caller))?;
    all.into_iter()
        .find(|p| p.beacon_id == beacon && caller.stores.contains(&p.store_id))
        .ok_or_else(|| V10Error::not_found().of(caller))
}

/// What the user simulation makes a simulated customer do.
#[cfg_attr(not(feature = "sim"), allow(dead_code, reason = "a production build has no simulator to act on"))]
pub(super) enum Act<'a> {
    /// Scan the callback sticker `merchant_qr_id` of sales unit `msn`.
    CheckIn { msn: &'a str, merchant_qr_id: &'a str, phone_number: &'a str },
    /// Answer the payment `reference` in the app.
    Answer { msn: &'a str, reference: &'a str, phone_number: Option<&'a str>, approve: bool },
}

/// Does `act` on the built-in simulator; 404 when there is none (v10 simulated users only in
/// its sandbox).
pub(super) fn simulate(app: &AppState, caller: &V10Caller, act: Act<'_>) -> Result<StatusCode, V10Error> {
    #[cfg(feature = "sim")]
    if let Some(sim) = app.platform.sim() {
        let done = match act {
            Act::CheckIn { msn, merchant_qr_id, phone_number } => {
                sim.scan_callback_sticker(msn, merchant_qr_id, phone_number)
            }
            Act::Answer { msn, reference, phone_number, approve } => {
                sim.answer(msn, reference, phone_number, approve)
            }
        };
        done.map_err(|e| V10Error::bad_request(V10Code::BadRequest, e.to_string()).of(caller))?;
        return Ok(StatusCode::OK);
    }
    let _ = (app, act);
    Err(V10Error::not_found().of(caller))
}

//! The QR API: merchant redirect QRs, merchant callback QRs (with the MobilePay beacon migration),
//! the personal-QR exchange, and the check-ins a callback sticker scan sends.
//!
//! Every QR the simulator hands out encodes a URL on the simulator itself: `/sim/r/{print}` for a
//! redirect QR, which answers 302 to the QR's current `redirectUrl` (so a PUT retargets a printed
//! sticker, as on the platform), and `/sim/c/{print}` for a callback QR, where a simulated customer
//! checks in. `print` is random per creation, so a deleted QR's prints stay dead even when its id
//! is used again. Images are drawn here with `qrcode` and served from `…/image`, without
//! authentication, like the platform's image links.
//!
//! QR state lives in [`Qr`] behind its own lock, apart from the payment world. Lock order: the world
//! first, then the QR state (ePayment's `customerToken` check holds the world while it asks);
//! nothing here takes the world lock while holding the QR lock.
//!
//! Errors answer in the QR API's own shape (`error::Api::Qr`, or `Api::QrExchange` on the exchange
//! endpoints), except 401, which comes from the API gateway and looks the same everywhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use kasse_vipps::qr::{
    CallbackQrImage, ConflictResponse, CustomerExchangeRequest, CustomerExchangeResponse, IMAGE_SIZES,
    MAX_LOCATION_DESCRIPTION, MAX_TTL_SECS, MIN_TTL_SECS, MerchantCallbackMobilePayPutRequest,
    MerchantCallbackPutRequest, MerchantCallbackQr, MerchantRedirectQrRequest, MerchantRedirectQrResponse,
    MerchantRedirectQrUpdateRequest, NEVER_EXPIRES, QrExchangeRequest, QrExchangeResponse, QrImageFormat,
    RedirectQrFormat,
};
use kasse_vipps::webhooks::{USER_CHECKED_IN, UserCheckedIn};
use serde::Deserialize;
use url::Url;

use crate::Sim;
use crate::config::SalesUnit;
use crate::drawing::{self, Format};
use crate::error::{Api, SimError};
use crate::http::{Msn, authenticate, header, json, lock};
use crate::world::Outgoing;

/// How long a check-in's customer token can be used.
const CUSTOMER_TOKEN_LIFETIME: Duration = Duration::minutes(15);

/// The PNG edge when the caller does not say (the newer documentation's 1024, not 2023's 800).
const DEFAULT_PNG_SIZE: u32 = 1024;

/// The `timestamp` of every tokenized personal QR: the simulator's codes are stable, so they were
/// all "generated" at one moment, 2025-01-01T00:00:00Z.
const PERSONAL_QR_GENERATED_AT: i64 = 1_735_689_600;

/// The QR API's state.
#[derive(Debug, Default)]
pub struct Qr {
    state: Mutex<QrState>,
}

#[derive(Debug, Default)]
struct QrState {
    /// Redirect QRs by sales unit and id.
    redirects: BTreeMap<(String, String), RedirectQr>,
    /// Callback QRs (migrated beacons included) by sales unit and merchantQrId.
    callbacks: BTreeMap<(String, String), CallbackQr>,
    /// Check-ins by their customer token, until the token expires. (A payment made with a token
    /// keeps the customer's phone number itself, so it stays theirs after that.)
    check_ins: HashMap<String, CheckIn>,
}

/// A merchant redirect QR.
#[derive(Debug)]
struct RedirectQr {
    /// Where a scan leads now.
    redirect_url: String,
    /// When its `ttl` runs out and it is deleted for good; `None` for never.
    expires_at: Option<DateTime<Utc>>,
    /// The random part of the printed code's content.
    print: String,
}

/// A merchant callback QR, or a migrated MobilePay beacon.
#[derive(Debug)]
struct CallbackQr {
    location_description: String,
    /// Kept as sent; the platform has not published what it does with it.
    #[allow(dead_code, reason = "stored like the platform stores it, read by nothing yet")]
    category: Option<String>,
    print: String,
    /// A migrated MobilePay beacon: its id is global, not per sales unit.
    beacon: bool,
}

/// A customer's check-in at a callback sticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckIn {
    /// The customer's phone number.
    pub phone_number: String,
    /// The sales unit of the sticker.
    pub msn: String,
    /// When they scanned.
    pub at: DateTime<Utc>,
}

/// A printed QR code somewhere in the simulated world, as the phone page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sticker {
    /// Redirect or callback.
    pub kind: StickerKind,
    /// The sales unit it belongs to.
    pub msn: String,
    /// The redirect QR's id, or the callback QR's merchantQrId.
    pub id: String,
    /// The callback QR's location description (empty for a redirect QR).
    pub location_description: String,
    /// The random part of the code's content: `/sim/r/{print}` or `/sim/c/{print}`.
    pub print: String,
}

/// What scanning a sticker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StickerKind {
    /// Opens the merchant's page.
    Redirect,
    /// Checks the customer in at the merchant.
    Callback,
}

impl CheckIn {
    /// Whether its customer token can still be used at `now`.
    fn is_valid(&self, now: DateTime<Utc>) -> bool {
        now < self.at + CUSTOMER_TOKEN_LIFETIME
    }
}

impl QrState {
    /// Deletes, for good, the redirect QRs whose ttl has run out and the check-ins whose token
    /// has expired.
    fn purge(&mut self, now: DateTime<Utc>) {
        self.redirects.retain(|_, qr| qr.expires_at.is_none_or(|at| at > now));
        self.check_ins.retain(|_, check_in| check_in.is_valid(now));
    }
}

impl Qr {
    /// What is printed on the callback QR `merchant_qr_id` of sales unit `msn`.
    pub(crate) fn print_of(&self, msn: &str, merchant_qr_id: &str, now: DateTime<Utc>) -> Option<String> {
        let state = self.state(now);
        state.callbacks.get(&(msn.to_owned(), merchant_qr_id.to_owned())).map(|qr| qr.print.clone())
    }

    fn state(&self, now: DateTime<Utc>) -> MutexGuard<'_, QrState> {
        let mut state = lock(&self.state);
        state.purge(now);
        state
    }

    /// Every live sticker of every sales unit: callback QRs first, then redirect QRs.
    pub(crate) fn stickers(&self, now: DateTime<Utc>) -> Vec<Sticker> {
        let state = self.state(now);
        let callbacks = state.callbacks.iter().map(|((msn, id), qr)| Sticker {
            kind: StickerKind::Callback,
            msn: msn.clone(),
            id: id.clone(),
            location_description: qr.location_description.clone(),
            print: qr.print.clone(),
        });
        let redirects = state.redirects.iter().map(|((msn, id), qr)| Sticker {
            kind: StickerKind::Redirect,
            msn: msn.clone(),
            id: id.clone(),
            location_description: String::new(),
            print: qr.print.clone(),
        });
        callbacks.chain(redirects).collect()
    }

    /// The sticker with this print, if it is still live.
    pub(crate) fn sticker(&self, print: &str, now: DateTime<Utc>) -> Option<Sticker> {
        self.stickers(now).into_iter().find(|s| s.print == print)
    }

    /// Where scanning the redirect QR with this print leads now.
    pub(crate) fn redirect_target(&self, print: &str, now: DateTime<Utc>) -> Option<String> {
        self.state(now).redirects.values().find(|qr| qr.print == print).map(|qr| qr.redirect_url.clone())
    }

    /// The customer with `phone_number` scans the callback QR with this print: a new customer
    /// token, valid for 15 minutes, and the `user.checked-in.v1` body that announces it.
    fn check_in(
        &self,
        print: &str,
        phone_number: &str,
        now: DateTime<Utc>,
    ) -> Result<UserCheckedIn, SimError> {
        let mut state = self.state(now);
        let (msn, merchant_qr_id) = state
            .callbacks
            .iter()
            .find(|(_, qr)| qr.print == print)
            .map(|(key, _)| key.clone())
            .ok_or_else(|| SimError::not_found("No merchant callback QR has this code."))?;
        let token = customer_token();
        // Expired check-ins were purged on the way in: the map holds the last 15 minutes' only.
        state.check_ins.insert(
            token.clone(),
            CheckIn { phone_number: phone_number.to_owned(), msn: msn.clone(), at: now },
        );
        Ok(UserCheckedIn {
            customer_token: token,
            merchant_qr_id,
            msn,
            initiated_at: now.to_rfc3339_opts(SecondsFormat::Micros, true),
        })
    }

    /// Who checked in with this customer token, if the simulator issued it for a check-in at `msn`
    /// less than 15 minutes before `now`. Else ePayment's error 4050, which a create request with
    /// `customer.customerToken` answers as it is.
    pub(crate) fn check_customer_token(
        &self,
        token: &str,
        msn: &str,
        now: DateTime<Utc>,
    ) -> Result<CheckIn, SimError> {
        let state = self.state(now);
        state.check_ins.get(token).filter(|c| c.msn == msn && c.is_valid(now)).cloned().ok_or_else(|| {
            SimError::domain(
                400,
                4050,
                "Invalid CustomerToken",
                "The customerToken is unknown, belongs to another sales unit, or has expired (15 minutes after the check-in).",
            )
        })
    }
}

impl Sim {
    /// The customer with `phone_number` scans the callback sticker with this print: checks them
    /// in and queues `user.checked-in.v1` to the sales unit's registration.
    pub(crate) fn check_in(&self, print: &str, phone_number: &str) -> Result<UserCheckedIn, SimError> {
        let event = self.qr.check_in(print, phone_number, self.clock.now())?;
        if let Ok(body) = serde_json::to_vec(&event) {
            let (msn, order) = (event.msn.clone(), format!("check-in:{}", event.merchant_qr_id));
            self.deliveries.dispatch(vec![Outgoing { msn, event_type: USER_CHECKED_IN, order, body }]);
        }
        Ok(event)
    }
}

/// The QR API routes, and the images of the codes it hands out.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/qr/v1/merchant-redirect", post(create_redirect).get(list_redirects))
        .route(
            "/qr/v1/merchant-redirect/{id}",
            get(get_redirect).put(update_redirect).delete(delete_redirect),
        )
        .route("/qr/v1/merchant-callback", get(list_callbacks))
        .route(
            "/qr/v1/merchant-callback/{merchant_qr_id}",
            get(get_callback).put(put_callback).delete(delete_callback),
        )
        .route("/qr/v1/merchant-callback/mobilepay/{beacon_id}", put(put_beacon))
        .route("/qr/v1/exchange", post(exchange_personal_qr))
        .route("/qr/v1/exchange/customer", post(exchange_customer))
        .route("/sim/r/{print}/image", get(redirect_image))
        .route("/sim/c/{print}/image", get(callback_image))
}

// ------------------------------------------------------------------------------------------------
// Calls: authentication and the QR API's error shapes
// ------------------------------------------------------------------------------------------------

/// Runs one redirect- or callback-QR call: authenticates, then `answer` with the QR state as of
/// the simulated now.
fn call(
    sim: &Sim,
    headers: &HeaderMap,
    msn: Msn,
    answer: impl FnOnce(&SalesUnit, &mut QrState, DateTime<Utc>) -> Result<Response, SimError>,
) -> Response {
    let now = sim.clock.now();
    // The world lock is released at the end of this statement, before the QR lock is taken.
    let unit = authenticate(&sim.world(), headers, msn, now);
    let outcome = unit.and_then(|unit| answer(&unit, &mut sim.qr.state(now), now));
    outcome.unwrap_or_else(|e| Api::Qr.refuse(e))
}

/// Runs one exchange call: authenticates, then `answer`, which asks [`Qr`] itself for what it needs.
fn exchange_call(
    sim: &Sim,
    headers: &HeaderMap,
    answer: impl FnOnce(&SalesUnit, DateTime<Utc>) -> Result<Response, SimError>,
) -> Response {
    let now = sim.clock.now();
    let unit = authenticate(&sim.world(), headers, Msn::Optional, now);
    unit.and_then(|unit| answer(&unit, now)).unwrap_or_else(|e| Api::QrExchange.refuse(e))
}

/// A QR API request body as `T`.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    crate::http::parse(body, "request")
}

/// The required `Accept` header of the redirect-QR reads and writes.
fn accept(headers: &HeaderMap) -> Result<RedirectQrFormat, SimError> {
    header(headers, header::ACCEPT.as_str()).and_then(RedirectQrFormat::from_accept).ok_or_else(|| {
        SimError::unsupported_media_type(
            "The Accept header must be image/*, image/png, image/svg+xml or text/targetUrl.",
        )
    })
}

/// The optional `Size` header: a PNG's edge in pixels.
fn size(headers: &HeaderMap) -> Result<Option<u32>, SimError> {
    let Some(value) = headers.get("Size") else { return Ok(None) };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|s| IMAGE_SIZES.contains(s))
        .map(Some)
        .ok_or_else(|| {
            SimError::validation("Size", "The Size header must be a whole number from 100 to 2000.")
        })
}

// ------------------------------------------------------------------------------------------------
// Field rules
// ------------------------------------------------------------------------------------------------

/// .NET's `\w`, close enough: letters, digits and the underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A redirect QR id: 1 to 128 characters of `^[-_+%æøåÆØÅ\w\s]*$`.
fn check_redirect_id(id: &str) -> Result<(), SimError> {
    if !(1..=128).contains(&id.chars().count()) {
        return Err(SimError::validation(
            "Id",
            "The field Id must be a string with a minimum length of 1 and a maximum length of 128.",
        ));
    }
    if !id.chars().all(|c| is_word(c) || c.is_whitespace() || "-+%".contains(c)) {
        return Err(SimError::validation(
            "Id",
            "The field Id must match the regular expression '^[-_+%æøåÆØÅ\\w\\s]*$'.",
        ));
    }
    Ok(())
}

/// `^https:\/\/[\w\.]+([\w#!:.?+=&%@\-\/]+)?$` and a valid URI. Plain `http://` is allowed to
/// this machine only, where kasse's landing page runs during development and tests.
fn check_redirect_url(url: &str) -> Result<(), SimError> {
    let local = Url::parse(url)
        .is_ok_and(|u| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost")));
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://").filter(|_| local));
    let fits = rest.is_some_and(|rest| {
        rest.starts_with(|c: char| is_word(c) || c == '.')
            && rest.chars().all(|c| is_word(c) || "#!:.?+=&%@-/".contains(c))
    });
    if fits && Url::parse(url).is_ok() {
        Ok(())
    } else {
        Err(SimError::validation(
            "RedirectUrl",
            "The field RedirectUrl must match the regular expression '^https://[\\w\\.]+([\\w#!:.?+=&%@\\-/]+)?$'.",
        ))
    }
}

fn check_ttl(ttl: i64) -> Result<Duration, SimError> {
    if (MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
        Ok(Duration::seconds(ttl))
    } else {
        Err(SimError::validation("Ttl", "The field Ttl must be between 300 and 2147483647."))
    }
}

/// A callback QR's location description: required, at most 36 characters.
fn check_location(description: &str) -> Result<(), SimError> {
    if description.trim().is_empty() {
        return Err(SimError::validation(
            "LocationDescription",
            "The LocationDescription field is required.",
        ));
    }
    if description.chars().count() > MAX_LOCATION_DESCRIPTION {
        return Err(SimError::validation(
            "LocationDescription",
            "The field LocationDescription must be a string with a maximum length of 36.",
        ));
    }
    Ok(())
}

/// A merchantQrId: the platform publishes no rule, so anything up to 128 characters.
fn check_merchant_qr_id(id: &str) -> Result<(), SimError> {
    if (1..=128).contains(&id.chars().count()) {
        Ok(())
    } else {
        Err(SimError::validation("merchantQrId", "The merchantQrId must be 1 to 128 characters."))
    }
}

/// A MobilePay PoS beaconId: 15 digits, or a GUID.
fn is_beacon_id(id: &str) -> bool {
    let digits = id.len() == 15 && id.bytes().all(|b| b.is_ascii_digit());
    let groups: Vec<_> = id.split('-').collect();
    let guid = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    digits || guid
}

// ------------------------------------------------------------------------------------------------
// Merchant redirect QRs
// ------------------------------------------------------------------------------------------------

/// The code's content: what the printed QR encodes.
fn content_url(base: &Url, kind: &str, print: &str) -> String {
    base.join(&format!("sim/{kind}/{print}")).map(String::from).unwrap_or_default()
}

/// A link to the code's image.
fn image_url(base: &Url, kind: &str, print: &str, png_size: Option<u32>) -> String {
    let path = match png_size {
        Some(size) => format!("sim/{kind}/{print}/image?format=png&size={size}"),
        None => format!("sim/{kind}/{print}/image?format=svg"),
    };
    base.join(&path).map(String::from).unwrap_or_default()
}

fn redirect_view(
    base: &Url,
    id: &str,
    qr: &RedirectQr,
    format: RedirectQrFormat,
    size: Option<u32>,
    now: DateTime<Utc>,
) -> MerchantRedirectQrResponse {
    let url = match format {
        RedirectQrFormat::TargetUrl => content_url(base, "r", &qr.print),
        RedirectQrFormat::Png => image_url(base, "r", &qr.print, Some(size.unwrap_or(DEFAULT_PNG_SIZE))),
        RedirectQrFormat::Svg | RedirectQrFormat::AnyImage => image_url(base, "r", &qr.print, None),
    };
    let expires_in = qr.expires_at.map_or(NEVER_EXPIRES, |at| (at - now).num_seconds().max(0));
    MerchantRedirectQrResponse {
        id: id.to_owned(),
        url,
        redirect_url: qr.redirect_url.clone(),
        expires_in: Some(expires_in),
    }
}

fn redirect_not_found() -> SimError {
    SimError::not_found("No merchant redirect QR with this id exists for this sales unit.")
}

/// `POST /qr/v1/merchant-redirect`: a new redirect QR, or 409 `{id}` if the id is taken.
async fn create_redirect(AxumState(sim): AxumState<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    call(&sim, &headers, Msn::Optional, |unit, state, now| {
        let format = accept(&headers)?;
        let size = size(&headers)?;
        let request: MerchantRedirectQrRequest = parse(&body)?;
        check_redirect_id(&request.id)?;
        check_redirect_url(&request.redirect_url)?;
        let expires_at = request.ttl.map(check_ttl).transpose()?.map(|ttl| now + ttl);
        let key = (unit.msn.clone(), request.id.clone());
        if state.redirects.contains_key(&key) {
            return Ok(json(StatusCode::CONFLICT, &ConflictResponse { id: Some(request.id) }));
        }
        let qr = RedirectQr { redirect_url: request.redirect_url, expires_at, print: print() };
        let view = redirect_view(&sim.base_url, &request.id, &qr, format, size, now);
        state.redirects.insert(key, qr);
        Ok(json(StatusCode::OK, &view))
    })
}

/// `GET /qr/v1/merchant-redirect`: the sales unit's redirect QRs.
async fn list_redirects(AxumState(sim): AxumState<Arc<Sim>>, headers: HeaderMap) -> Response {
    call(&sim, &headers, Msn::Optional, |unit, state, now| {
        let format = accept(&headers)?;
        let size = size(&headers)?;
        let all: Vec<_> = state
            .redirects
            .iter()
            .filter(|((msn, _), _)| *msn == unit.msn)
            .map(|((_, id), qr)| redirect_view(&sim.base_url, id, qr, format, size, now))
            .collect();
        Ok(json(StatusCode::OK, &all))
    })
}

/// `GET /qr/v1/merchant-redirect/{id}`.
async fn get_redirect(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(&sim, &headers, Msn::Optional, |unit, state, now| {
        let format = accept(&headers)?;
        let size = size(&headers)?;
        let qr = state.redirects.get(&(unit.msn.clone(), id.clone())).ok_or_else(redirect_not_found)?;
        Ok(json(StatusCode::OK, &redirect_view(&sim.base_url, &id, qr, format, size, now)))
    })
}

/// `PUT /qr/v1/merchant-redirect/{id}`: a new target for the same printed code.
async fn update_redirect(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sim, &headers, Msn::Optional, |unit, state, now| {
        let format = accept(&headers)?;
        let size = size(&headers)?;
        let request: MerchantRedirectQrUpdateRequest = parse(&body)?;
        check_redirect_url(&request.redirect_url)?;
        let qr = state.redirects.get_mut(&(unit.msn.clone(), id.clone())).ok_or_else(redirect_not_found)?;
        // Only the target changes: the printed code, and so its content and image, stay.
        qr.redirect_url = request.redirect_url;
        Ok(json(StatusCode::OK, &redirect_view(&sim.base_url, &id, qr, format, size, now)))
    })
}

/// `DELETE /qr/v1/merchant-redirect/{id}`: gone for good, prints included.
async fn delete_redirect(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(&sim, &headers, Msn::Optional, |unit, state, _| {
        state.redirects.remove(&(unit.msn.clone(), id)).ok_or_else(redirect_not_found)?;
        Ok(StatusCode::OK.into_response())
    })
}

// ------------------------------------------------------------------------------------------------
// Merchant callback QRs and the MobilePay beacon migration
// ------------------------------------------------------------------------------------------------

/// The `QrImageFormat` and `QrImageSize` query parameters. Their names are matched without regard
/// to case, as ASP.NET binds them (the spec spells them with a capital Q, the guide without).
fn callback_image_query(query: Option<&str>) -> Result<CallbackQrImage, SimError> {
    let mut image = CallbackQrImage::default();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name.eq_ignore_ascii_case("qrImageFormat") {
            image.format = QrImageFormat::parse(&value).ok_or_else(|| {
                SimError::validation(
                    "QrImageFormat",
                    &format!("The value '{value}' is not valid: use PNG or SVG."),
                )
            })?;
        } else if name.eq_ignore_ascii_case("qrImageSize") {
            let size = value.trim().parse().ok().filter(|s| IMAGE_SIZES.contains(s)).ok_or_else(|| {
                SimError::validation("QrImageSize", "The field QrImageSize must be between 100 and 2000.")
            })?;
            image.size = Some(size);
        }
    }
    Ok(image)
}

fn callback_view(
    base: &Url,
    msn: &str,
    id: &str,
    qr: &CallbackQr,
    image: CallbackQrImage,
) -> MerchantCallbackQr {
    let png_size = (image.format == QrImageFormat::Png).then(|| image.size.unwrap_or(DEFAULT_PNG_SIZE));
    MerchantCallbackQr {
        merchant_serial_number: Some(msn.to_owned()),
        merchant_qr_id: Some(id.to_owned()),
        location_description: Some(qr.location_description.clone()),
        qr_image_url: Some(image_url(base, "c", &qr.print, png_size)),
        qr_content: Some(content_url(base, "c", &qr.print)),
    }
}

fn callback_not_found() -> SimError {
    SimError::not_found("No merchant callback QR with this merchantQrId exists for this sales unit.")
}

/// `PUT /qr/v1/merchant-callback/{merchantQrId}`: creates a callback QR, or renames one. A
/// migrated beacon is not this endpoint's to touch (409, as the reverse case).
async fn put_callback(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(merchant_qr_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sim, &headers, Msn::Required, |unit, state, _| {
        check_merchant_qr_id(&merchant_qr_id)?;
        let request: MerchantCallbackPutRequest = parse(&body)?;
        check_location(&request.location_description)?;
        let beacon = state
            .callbacks
            .iter()
            .any(|((msn, id), qr)| *msn == unit.msn && qr.beacon && id.eq_ignore_ascii_case(&merchant_qr_id));
        if beacon {
            return Ok(json(StatusCode::CONFLICT, &ConflictResponse { id: Some(merchant_qr_id) }));
        }
        // Create or update; an update changes what the app shows, never the printed code.
        state
            .callbacks
            .entry((unit.msn.clone(), merchant_qr_id))
            .and_modify(|qr| {
                qr.location_description.clone_from(&request.location_description);
                qr.category.clone_from(&request.category);
            })
            .or_insert_with(|| CallbackQr {
                location_description: request.location_description.clone(),
                category: request.category.clone(),
                print: print(),
                beacon: false,
            });
        Ok(StatusCode::OK.into_response())
    })
}

/// `GET /qr/v1/merchant-callback`: the sales unit's callback QRs, migrated beacons included.
async fn list_callbacks(
    AxumState(sim): AxumState<Arc<Sim>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    call(&sim, &headers, Msn::Required, |unit, state, _| {
        let image = callback_image_query(query.as_deref())?;
        let all: Vec<_> = state
            .callbacks
            .iter()
            .filter(|((msn, _), _)| *msn == unit.msn)
            .map(|((msn, id), qr)| callback_view(&sim.base_url, msn, id, qr, image))
            .collect();
        Ok(json(StatusCode::OK, &all))
    })
}

/// `GET /qr/v1/merchant-callback/{merchantQrId}`.
async fn get_callback(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(merchant_qr_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    call(&sim, &headers, Msn::Required, |unit, state, _| {
        let image = callback_image_query(query.as_deref())?;
        let qr = state
            .callbacks
            .get(&(unit.msn.clone(), merchant_qr_id.clone()))
            .ok_or_else(callback_not_found)?;
        Ok(json(StatusCode::OK, &callback_view(&sim.base_url, &unit.msn, &merchant_qr_id, qr, image)))
    })
}

/// `DELETE /qr/v1/merchant-callback/{merchantQrId}`.
async fn delete_callback(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(merchant_qr_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    call(&sim, &headers, Msn::Required, |unit, state, _| {
        state.callbacks.remove(&(unit.msn.clone(), merchant_qr_id)).ok_or_else(callback_not_found)?;
        Ok(StatusCode::OK.into_response())
    })
}

/// `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}`: maps a printed MobilePay PoS beacon to
/// the sales unit, once: any other unit gets 409 `{id}`, and so does this unit when it already
/// has an ordinary callback QR of that id.
async fn put_beacon(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(beacon_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(&sim, &headers, Msn::Required, |unit, state, _| {
        if !is_beacon_id(&beacon_id) {
            return Err(SimError::validation("beaconId", "The beaconId must be 15 digits or a GUID."));
        }
        // A GUID is one beacon however it is spelled: in lower case it is compared, kept, and
        // sent back as merchantQrId.
        let beacon_id = beacon_id.to_ascii_lowercase();
        let request: MerchantCallbackMobilePayPutRequest = parse(&body)?;
        check_location(&request.location_description)?;
        // A printed beacon is one physical thing: it can belong to one sales unit only.
        let taken = state.callbacks.iter().any(|((msn, id), qr)| {
            // Another unit's beacon, or this unit's own ordinary callback QR with the same id.
            id.eq_ignore_ascii_case(&beacon_id)
                && ((*msn != unit.msn && qr.beacon) || (*msn == unit.msn && !qr.beacon))
        });
        if taken {
            return Ok(json(StatusCode::CONFLICT, &ConflictResponse { id: Some(beacon_id) }));
        }
        state
            .callbacks
            .entry((unit.msn.clone(), beacon_id))
            .and_modify(|qr| qr.location_description.clone_from(&request.location_description))
            .or_insert_with(|| CallbackQr {
                location_description: request.location_description.clone(),
                category: None,
                print: print(),
                beacon: true,
            });
        Ok(StatusCode::OK.into_response())
    })
}

// ------------------------------------------------------------------------------------------------
// Exchange
// ------------------------------------------------------------------------------------------------

/// `POST /qr/v1/exchange`: the phone number behind a customer's personal QR code.
async fn exchange_personal_qr(
    AxumState(sim): AxumState<Arc<Sim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let customers = sim.world().config.customers.clone();
    exchange_call(&sim, &headers, |_, _| {
        let request: QrExchangeRequest = serde_json::from_slice(&body).map_err(|_| {
            SimError::validation("qrCode", "The complete data contained in the QR code is required.")
        })?;
        let customer = customers.iter().find(|c| c.personal_qr() == request.qr_code).ok_or_else(|| {
            SimError::validation(
                "qrCode",
                "The QR code is not a valid personal QR code of a Vipps MobilePay user.",
            )
        })?;
        let (version, timestamp) =
            if customer.uses_mobilepay() { ("2.0", Some(PERSONAL_QR_GENERATED_AT)) } else { ("1.0", None) };
        Ok(json(
            StatusCode::OK,
            &QrExchangeResponse {
                msisdn: customer.phone_number.clone(),
                timestamp,
                version: version.to_owned(),
            },
        ))
    })
}

/// The body of a customer exchange, read leniently so each missing part gets its own message.
#[derive(Debug, Deserialize)]
struct CustomerExchangeBody {
    customer: Option<serde_json::Value>,
}

/// `POST /qr/v1/exchange/customer`: the phone number behind a check-in's customer token.
async fn exchange_customer(AxumState(sim): AxumState<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    exchange_call(&sim, &headers, |unit, now| {
        let lenient: CustomerExchangeBody = parse(&body)?;
        if lenient.customer.is_none() {
            return Err(SimError::validation("customer", "Customer object is required."));
        }
        let request: CustomerExchangeRequest = parse(&body)?;
        let token = request.customer.customer_token.ok_or_else(|| {
            SimError::validation("customer.customerToken", "The customerToken is required.")
        })?;
        let check_in = sim.qr.check_customer_token(&token, &unit.msn, now).map_err(|e| {
            // The exchange names the field where ePayment gives its error code.
            SimError::validation("customer.customerToken", &e.detail)
        })?;
        let answer = CustomerExchangeResponse {
            msisdn: check_in.phone_number,
            timestamp: Some(check_in.at.timestamp()),
        };
        Ok(json(StatusCode::OK, &answer))
    })
}

// ------------------------------------------------------------------------------------------------
// Images
// ------------------------------------------------------------------------------------------------

/// The query of an image link: `format=png|svg` and, for a PNG, `size`.
#[derive(Debug, Deserialize)]
struct ImageQuery {
    format: Option<String>,
    size: Option<u32>,
}

impl ImageQuery {
    /// A QR code of `content`, drawn as this query asks.
    fn draw(&self, content: &str) -> Response {
        let size = self.size.filter(|s| IMAGE_SIZES.contains(s)).unwrap_or(DEFAULT_PNG_SIZE);
        drawing::image_response(content, Format::from_query(self.format.as_deref()), size)
    }
}

/// The image behind a redirect QR's `url`, with no authentication, like the platform's links.
async fn redirect_image(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(print): Path<String>,
    Query(query): Query<ImageQuery>,
) -> Response {
    let now = sim.clock.now();
    if sim.qr.redirect_target(&print, now).is_none() {
        // Deleted or expired: the image is gone with the QR.
        return StatusCode::NOT_FOUND.into_response();
    }
    query.draw(&content_url(&sim.base_url, "r", &print))
}

/// The image behind a callback QR's `qrImageUrl`.
async fn callback_image(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path(print): Path<String>,
    Query(query): Query<ImageQuery>,
) -> Response {
    let now = sim.clock.now();
    if sim.qr.sticker(&print, now).is_none_or(|s| s.kind != StickerKind::Callback) {
        return StatusCode::NOT_FOUND.into_response();
    }
    query.draw(&content_url(&sim.base_url, "c", &print))
}

// ------------------------------------------------------------------------------------------------
// Random values
// ------------------------------------------------------------------------------------------------

/// The random part of a printed code's content.
fn print() -> String {
    std::iter::repeat_with(fastrand::alphanumeric).take(22).collect()
}

/// A customer token like the platform's: 47 random bytes in standard base64, 64 characters.
fn customer_token() -> String {
    let bytes: Vec<u8> = std::iter::repeat_with(|| fastrand::u8(..)).take(47).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_token_is_64_characters_of_padded_base64() {
        let token = customer_token();
        assert_eq!(token.len(), 64);
        assert!(token.ends_with('=') && !token.ends_with("=="));
    }

    #[test]
    fn redirect_ids_follow_the_specs_pattern_and_length() {
        for ok in ["billboard_1", "vending machine 122", "kasse+1%", "blåbær-ØL", &"x".repeat(128)] {
            assert_eq!(check_redirect_id(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a/b", "a.b", "a?b", &"x".repeat(129)] {
            assert_eq!(check_redirect_id(bad).unwrap_err().fields[0].0, "Id", "{bad}");
        }
    }

    #[test]
    fn redirect_urls_are_https_or_local_http_without_forbidden_characters() {
        for ok in [
            "https://example.com/myProduct",
            "https://shop.example.no/q/kasse-1?till=2#top",
            "http://127.0.0.1:8080/q/sticker-1",
            "http://localhost:3000/q/s",
        ] {
            assert_eq!(check_redirect_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com/x",
            "ftp://example.com/x",
            "https://example.com/a,b",
            "https://example.com/(x)",
            "https://example.com/~me",
            "https://-bad.example.com",
            "https://",
            "example.com",
        ] {
            assert_eq!(check_redirect_url(bad).unwrap_err().fields[0].0, "RedirectUrl", "{bad}");
        }
    }

    #[test]
    fn ttl_is_300_seconds_to_i32_max_and_location_36_characters() {
        assert!(check_ttl(299).is_err() && check_ttl(2_147_483_648).is_err());
        assert!(check_ttl(300).is_ok() && check_ttl(2_147_483_647).is_ok());
        assert!(check_location(&"å".repeat(36)).is_ok());
        assert!(check_location(&"a".repeat(37)).is_err() && check_location(" ").is_err());
    }

    #[test]
    fn beacon_ids_are_fifteen_digits_or_a_guid() {
        assert!(is_beacon_id("100000000000001"));
        assert!(is_beacon_id("27072f82-c4b6-49cd-9838-10f21d87496e"));
        for bad in ["10000000000001", "10000000000000a", "27072f82c4b649cd983810f21d87496e", "kasse-1"] {
            assert!(!is_beacon_id(bad), "{bad}");
        }
    }

    /// The QR API with one callback sticker, `till-1` at MSN 123456, whose code reads `p`.
    fn with_till_sticker() -> Qr {
        let qr = Qr::default();
        lock(&qr.state).callbacks.insert(
            ("123456".into(), "till-1".into()),
            CallbackQr {
                location_description: "Kasse 1".into(),
                category: None,
                print: "p".into(),
                beacon: false,
            },
        );
        qr
    }

    #[test]
    fn a_customer_token_is_valid_for_fifteen_minutes_at_its_own_sales_unit_only() {
        let qr = with_till_sticker();
        let now = Utc::now();
        let event = qr.check_in("p", "4791234567", now).unwrap();
        assert_eq!((event.msn.as_str(), event.merchant_qr_id.as_str()), ("123456", "till-1"));
        let token = event.customer_token;
        let valid = qr.check_customer_token(&token, "123456", now + Duration::minutes(14)).unwrap();
        assert_eq!((valid.phone_number.as_str(), valid.at), ("4791234567", now));
        let expired = qr.check_customer_token(&token, "123456", now + Duration::minutes(15)).unwrap_err();
        assert_eq!((expired.status, expired.code), (400, Some(4050)));
        assert!(qr.check_customer_token(&token, "234567", now).is_err());
        assert!(qr.check_customer_token("made-up", "123456", now).is_err());
        assert!(qr.check_in("unknown", "4791234567", now).is_err());
    }

    #[test]
    fn an_expired_check_in_is_forgotten_at_the_next_look() {
        let qr = with_till_sticker();
        let now = Utc::now();
        let old = qr.check_in("p", "4791234567", now).unwrap().customer_token;
        let later = now + CUSTOMER_TOKEN_LIFETIME;
        let new = qr.check_in("p", "4798765432", later).unwrap().customer_token;
        let tokens: Vec<_> = lock(&qr.state).check_ins.keys().cloned().collect();
        assert_eq!(tokens, [new], "{old} is still kept");
    }
}

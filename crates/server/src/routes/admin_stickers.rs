//! The back office's stickers (`/api/admin/stickers…`): every sticker of the manager's tills and
//! stores as the platform has them (migrated beacons included), putting up a callback sticker for
//! a till, and the print-ready sheet (`ops::stickers`), in the store's language unless another is
//! asked for, for one till, one sticker, or all of them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use kasse_api::{
    AdminStickers, MissingSticker, NewCallbackSticker, ProblemCode, StickerKind, StickerSheetQuery,
    StickerSummary,
};

use super::admin::tills_of;
use super::{ApiJson, ApiQuery};
use crate::AppState;
use crate::config::TillConfig;
use crate::error::ApiError;
use crate::managers::ManagerAccess;
use crate::ops::qr::{self, Change, QrError};
use crate::ops::stickers::{self, Language, Selection, Sheet, Styling};

/// Where the sheet's CSS is served (the back office's pages allow no inline style).
const SHEET_CSS: &str = "/api/admin/stickers/sheet.css";

/// `till`, if it is one of the manager's.
fn own_till<'a>(app: &'a AppState, access: &ManagerAccess, till: &str) -> Result<&'a TillConfig, ApiError> {
    let config =
        app.config.till(till).ok_or_else(|| crate::sales::SaleError::UnknownTill(till.to_owned()))?;
    if access.manages(&config.store) {
        Ok(config)
    } else {
        Err(ApiError::forbidden("That till is not in a store you manage."))
    }
}

/// The stickers of `till`, or of every till and open-amount sticker of the manager's stores;
/// with `beacons`, the migrated MobilePay beacons too (printed by MobilePay already: listed, and
/// printed again only when one is asked for).
fn selection<'a>(
    app: &'a AppState,
    access: &ManagerAccess,
    till: Option<&str>,
    beacons: bool,
) -> Result<Selection<'a>, ApiError> {
    let selection = match till {
        Some(till) => Selection { tills: vec![own_till(app, access, till)?], ..Selection::default() },
        None => Selection {
            tills: tills_of(app, &access.manager).collect(),
            open_amount: app.config.stickers.iter().filter(|s| access.manages(&s.store)).collect(),
            ..Selection::default()
        },
    };
    Ok(Selection { beacons, ..selection })
}

/// The stickers of `selection`, as the platform has them.
async fn gather(app: &AppState, selection: &Selection<'_>) -> Result<Sheet, ApiError> {
    stickers::gather(&app.tools, selection).await.map_err(qr_refusal)
}

fn qr_refusal(error: QrError) -> ApiError {
    match error {
        QrError::Store(e) => {
            tracing::error!(error = %e, "stickers: the database failed");
            ApiError::internal()
        }
        QrError::Unavailable(e) => {
            tracing::error!(error = %e, "stickers: the database cannot be reached");
            ApiError::unavailable()
        }
        other => ApiError::bad_request(ProblemCode::BadRequestBody, other.to_string()),
    }
}

fn kind(sticker_kind: qr::StickerKind, beacon: bool) -> StickerKind {
    match sticker_kind {
        qr::StickerKind::Callback if beacon => StickerKind::Beacon,
        qr::StickerKind::Callback => StickerKind::Callback,
        qr::StickerKind::Redirect => StickerKind::Redirect,
    }
}

/// What the back office shows of `sheet`.
fn listing(sheet: Sheet) -> AdminStickers {
    AdminStickers {
        stickers: sheet
            .stickers
            .into_iter()
            .map(|s| StickerSummary {
                kind: kind(s.kind, s.beacon),
                target: if s.kind == qr::StickerKind::Redirect { s.target } else { s.title.clone() },
                id: s.id,
                store: s.store,
                till: s.till,
                title: s.title,
            })
            .collect(),
        missing: sheet
            .missing
            .into_iter()
            .map(|m| MissingSticker { kind: kind(m.kind, false), id: m.id, till: m.till, why: m.why })
            .collect(),
    }
}

/// `GET /api/admin/stickers`: every sticker of the manager's tills and stores.
pub async fn list(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
) -> Result<Json<AdminStickers>, ApiError> {
    let selection = selection(&app, &access, None, true)?;
    Ok(Json(listing(gather(&app, &selection).await?)))
}

/// `POST /api/admin/stickers`: puts up a callback sticker for a till (the one it already has is
/// left as it is); answers with every sticker, the new one among them.
pub async fn create(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    ApiJson(request): ApiJson<NewCallbackSticker>,
) -> Result<(StatusCode, Json<AdminStickers>), ApiError> {
    let till = own_till(&app, &access, &request.till)?;
    let report = qr::create_callback_qrs(&app.tools, std::slice::from_ref(&till.id), request.id.as_deref())
        .await
        .map_err(qr_refusal)?;
    if let Some(failed) = report.stickers.iter().find(|s| s.change == Change::Failed) {
        let why = failed.detail.clone().unwrap_or_else(|| "the platform did not put it up".to_owned());
        let sentence = format!("Sticker {} was not put up: {why}.", failed.id);
        return Err(crate::sales::SaleError::Platform(sentence).into());
    }
    tracing::info!(manager = %access.manager.name, till = %till.id, report = %report.summary(), "callback sticker from the back office");
    let selection = selection(&app, &access, None, true)?;
    Ok((StatusCode::CREATED, Json(listing(gather(&app, &selection).await?))))
}

/// `GET /api/admin/stickers/sheet`: the print-ready sheet, as an HTML page of its own. A
/// sticker's id is one store's (another's may have the same): with its till, one sticker.
pub async fn sheet(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    ApiQuery(query): ApiQuery<StickerSheetQuery>,
) -> Result<Response, ApiError> {
    let StickerSheetQuery { till, sticker, language } = query;
    let language = match language.as_deref() {
        None => None,
        Some(code) => Some(Language::from_code(code).ok_or_else(|| {
            ApiError::bad_request(ProblemCode::BadRequestBody, "The language is one of en, nb, da and fi.")
        })?),
    };
    let selection = selection(&app, &access, till.as_deref(), sticker.is_some())?;
    let mut sheet = gather(&app, &selection).await?;
    if let Some(id) = &sticker {
        sheet.stickers.retain(|s| s.id == *id);
        sheet.missing.retain(|m| m.id == *id);
        sheet.notes.clear();
        if sheet.stickers.is_empty() {
            return Err(ApiError::not_found(
                ProblemCode::UnknownSticker,
                "None of your stickers has that id.",
            ));
        }
    }
    // The store's own language: the first sticker's store's (a sheet is usually one store's).
    let language = language.unwrap_or_else(|| {
        let store = sheet.stickers.first().and_then(|sticker| match &sticker.till {
            Some(till) => app.config.till(till).map(|t| t.store.as_str()),
            None => app.config.stickers.iter().find(|s| s.id == sticker.id).map(|s| s.store.as_str()),
        });
        let currency =
            store.and_then(|id| app.config.store(id)).map_or(kasse_api::Currency::Nok, |s| s.currency);
        Language::of_store(currency)
    });
    let page = stickers::html_in(&sheet, language, Styling::Linked(SHEET_CSS));
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], page)
        .into_response())
}

/// `GET /api/admin/stickers/sheet.css`: the sheet's CSS.
pub async fn sheet_css(_access: ManagerAccess) -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], stickers::STYLE).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn a_database_out_of_reach_is_a_503_to_come_back_from_and_a_failing_one_a_500() {
        let answer = |e: sqlx::Error| qr_refusal(StoreError::Database(e).into()).into_response();
        let unreachable = answer(sqlx::Error::PoolClosed);
        assert_eq!(unreachable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(unreachable.headers().contains_key(header::RETRY_AFTER));
        let failed = answer(sqlx::Error::RowNotFound);
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}

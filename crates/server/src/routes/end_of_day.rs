//! The back office's end of day: `GET /api/admin/end-of-day` sums a day's sales per till, per
//! open-amount sticker and per store of the manager's stores (see `kasse_api::DayFigures`), and
//! `GET /api/admin/end-of-day.csv` is the same day's sales, one row each, for the bookkeeping.
//! The day is a date, and each store's runs from its midnight to the next in the store's own
//! time (`local_day`), whoever asks from wherever: a chain's office in Copenhagen closing a
//! Helsinki store's books gets Helsinki's day, not one an hour off. Every sale of it counts, not
//! a page of them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Json, Response};
use chrono::NaiveDate;
use kasse_api::{
    DayFigures, EndOfDay, EndOfDayQuery, Identified, Money, ProblemCode, Sale, StickerDay, StoreDay, TillDay,
};

use super::ApiQuery;
use super::admin::{stickers_of, tills_of};
use crate::AppState;
use crate::error::ApiError;
use crate::managers::ManagerAccess;

/// The date a query names, or 400.
fn date_of(query: &EndOfDayQuery) -> Result<NaiveDate, ApiError> {
    // Four-digit years only: what a date input writes, and what the file's name is made of.
    NaiveDate::parse_from_str(&query.day, "%Y-%m-%d")
        .ok()
        .filter(|_| query.day.len() == 10)
        .ok_or_else(|| ApiError::bad_request(ProblemCode::BadQuery, "day must be a date, as 2026-12-05."))
}

/// The day's sales of the manager's tills and open-amount stickers, each store's from the date's
/// midnight to the next in its own time, newest first; and each store's bounds, by its id.
async fn day_sales(
    app: &AppState,
    access: &ManagerAccess,
    date: NaiveDate,
) -> Result<(Vec<Sale>, HashMap<String, (i64, i64)>), ApiError> {
    let bounds: HashMap<String, (i64, i64)> = app
        .config
        .stores
        .iter()
        .filter(|store| access.manages(&store.id))
        .map(|store| (store.id.clone(), crate::local_day::bounds(date, store.currency)))
        .collect();
    // One read for each span (one for each time zone among the stores), not for each store.
    let spans: BTreeSet<(i64, i64)> = bounds.values().copied().collect();
    let mut sales = Vec::new();
    for (since, until) in spans {
        let of_span = |store: &str| bounds.get(store) == Some(&(since, until));
        let tills: Vec<&str> = tills_of(app, &access.manager)
            .filter(|till| of_span(&till.store))
            .map(|till| till.id.as_str())
            .collect();
        let stickers: Vec<&str> = stickers_of(app, &access.manager)
            .filter(|sticker| of_span(&sticker.store))
            .map(|sticker| sticker.id.as_str())
            .collect();
        sales.extend(app.sales.day_of(&tills, &stickers, since, until).await?);
    }
    sales.sort_by(|a, b| b.created_at_ms.cmp(&a.created_at_ms).then_with(|| b.reference.cmp(&a.reference)));
    Ok((sales, bounds))
}

/// `GET /api/admin/end-of-day?day=YYYY-MM-DD`: the day's figures per store, till and
/// open-amount sticker.
pub async fn figures(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    ApiQuery(query): ApiQuery<EndOfDayQuery>,
) -> Result<Json<EndOfDay>, ApiError> {
    let (sales, bounds) = day_sales(&app, &access, date_of(&query)?).await?;
    let mut stores = Vec::new();
    for store in app.config.stores.iter().filter(|store| access.manages(&store.id)) {
        let tills: Vec<TillDay> = app
            .config
            .tills
            .iter()
            .filter(|till| till.store == store.id)
            .map(|till| {
                let of_till: Vec<Sale> = sales.iter().filter(|s| s.till_id == till.id).cloned().collect();
                TillDay { id: till.id.clone(), name: till.name.clone(), figures: DayFigures::of(&of_till) }
            })
            .collect();
        let stickers: Vec<StickerDay> = app
            .config
            .stickers
            .iter()
            .filter(|sticker| sticker.store == store.id)
            .map(|sticker| {
                let of_sticker: Vec<Sale> = sales
                    .iter()
                    .filter(|s| s.sticker_id.as_deref() == Some(sticker.id.as_str()))
                    .cloned()
                    .collect();
                StickerDay {
                    id: sticker.id.clone(),
                    description: sticker.description.clone(),
                    figures: DayFigures::of(&of_sticker),
                }
            })
            .collect();
        let of_store: Vec<Sale> = sales
            .iter()
            .filter(|s| match &s.sticker_id {
                Some(id) => stickers.iter().any(|k| k.id == *id),
                None => tills.iter().any(|t| t.id == s.till_id),
            })
            .cloned()
            .collect();
        let (since_ms, until_ms) = bounds.get(&store.id).copied().unwrap_or_default();
        stores.push(StoreDay {
            id: store.id.clone(),
            name: store.name.clone(),
            since_ms,
            until_ms,
            figures: DayFigures::of(&of_store),
            tills,
            stickers,
        });
    }
    Ok(Json(EndOfDay { stores }))
}

/// `GET /api/admin/end-of-day.csv?day=YYYY-MM-DD`: the day's sales, oldest first, one row each
/// (amounts in units with two decimals; when each started, in UTC and in its store's time), as a
/// download named after the day.
pub async fn csv(
    State(app): State<Arc<AppState>>,
    access: ManagerAccess,
    ApiQuery(query): ApiQuery<EndOfDayQuery>,
) -> Result<Response, ApiError> {
    let date = date_of(&query)?;
    let (mut sales, _) = day_sales(&app, &access, date).await?;
    sales.reverse();
    let mut rows = csv::Writer::from_writer(Vec::new());
    let written = rows
        .write_record([
            "store",
            "till",
            "reference",
            "started_utc",
            "started_local",
            "status",
            "flow",
            "customer",
            "currency",
            "amount",
            "captured",
            "refunded",
            "released",
        ])
        .and_then(|()| {
            sales.iter().try_for_each(|sale| {
                // Where it was paid: at a till, or on an open-amount sticker's landing page.
                let (store, place) = if let Some(id) = &sale.sticker_id {
                    let sticker = app.config.sticker(id);
                    (sticker.map(|s| s.store.as_str()), sticker.map(|s| s.description.as_str()))
                } else {
                    let till = app.config.till(&sale.till_id);
                    (till.map(|t| t.store.as_str()), till.map(|t| t.name.as_str()))
                };
                let store = store.and_then(|id| app.config.store(id));
                let started = chrono::DateTime::from_timestamp_millis(sale.created_at_ms);
                let started_utc =
                    started.map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default();
                // On the store's clock, its offset written out: what its books go by.
                let started_local = store
                    .and_then(|store| {
                        let offset = crate::local_day::offset_at(sale.created_at_ms, store.currency) / 1000;
                        let zone = chrono::FixedOffset::east_opt(i32::try_from(offset).ok()?)?;
                        Some(started?.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%:z").to_string())
                    })
                    .unwrap_or_default();
                let store = store.map_or("", |s| s.name.as_str());
                let customer = match &sale.customer {
                    Some(Identified::Phone { masked } | Identified::StickerPhone { masked }) => {
                        masked.clone()
                    }
                    Some(Identified::PersonalQr) => "personal QR".to_owned(),
                    Some(Identified::CheckIn) => "check-in".to_owned(),
                    None => String::new(),
                };
                let (store, till) = (cell(store), cell(place.unwrap_or(sale.till_id.as_str())));
                rows.write_record([
                    store.as_ref(),
                    till.as_ref(),
                    &sale.reference,
                    &started_utc,
                    &started_local,
                    sale.status.as_str(),
                    sale.flow.as_str(),
                    cell(&customer).as_ref(),
                    sale.amount.currency.code(),
                    &units(sale.amount),
                    &units(sale.captured),
                    &units(sale.refunded),
                    &units(sale.cancelled),
                ])
            })
        });
    let rows = written.ok().and_then(|()| rows.into_inner().ok()).ok_or_else(ApiError::internal)?;
    // A byte order mark first: spreadsheets then read the file as UTF-8 (Grünerløkka, •••).
    let text = [b"\xEF\xBB\xBF".as_slice(), &rows].concat();
    let file = format!("kasse-end-of-day-{}.csv", date.format("%Y-%m-%d"));
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Minor units as units with two decimals (`12550` → `125.50`), as bookkeeping reads them.
fn units(money: Money) -> String {
    let sign = if money.value < 0 { "-" } else { "" };
    let value = money.value.unsigned_abs();
    format!("{sign}{}.{:02}", value / 100, value % 100)
}

/// A text cell a spreadsheet will not run as a formula: one that begins with `=`, `+`, `-` or
/// `@` (a masked phone number begins with `+`) gets a leading `'`, as spreadsheets show text.
fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_in_units_with_two_decimals() {
        assert_eq!(units(Money::new(12_550, kasse_api::Currency::Nok)), "125.50");
        assert_eq!(units(Money::new(5, kasse_api::Currency::Dkk)), "0.05");
        assert_eq!(units(Money::new(0, kasse_api::Currency::Eur)), "0.00");
        assert_eq!(units(Money::new(-5, kasse_api::Currency::Eur)), "-0.05");
        assert_eq!(units(Money::new(-12_550, kasse_api::Currency::Eur)), "-125.50");
    }

    #[test]
    fn a_text_cell_that_a_spreadsheet_would_run_is_kept_as_text() {
        assert_eq!(cell("+47 •••••567"), "'+47 •••••567");
        assert_eq!(cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(cell("Kasse 1"), "Kasse 1");
    }
}

//! The Management API, as far as kasse reads it (`management-api/swagger.yaml`):
//! `GET /management/v1/sales-units/{msn}`, a sales unit with its business and what it is allowed
//! (`SalesUnit`); `GET /management/v1/merchants/{scheme}/{id}`, a merchant (`Merchant`); and
//! `…/sales-units`, its sales units (`MsnInfo`). The merchant's credentials read their own unit
//! and their own business; another MSN, or another business, is a 403.
//!
//! The simulator keeps no business registry: a unit belongs to the demo business of its
//! currency's country (a Norwegian one for NOK, a Danish one for DKK, a Finnish one for EUR).

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kasse_vipps::Currency;
use kasse_vipps::management::{
    BusinessIdentifier, Merchant, MerchantStatus, SalesUnit, SalesUnitConfiguration, SalesUnitSummary,
};

use crate::Sim;
use crate::config;
use crate::error::SimError;
use crate::http::{Msn, authenticate, json};

/// The Management API's routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/management/v1/sales-units/{msn}", get(sales_unit))
        .route("/management/v1/merchants/{scheme}/{id}", get(merchant))
        .route("/management/v1/merchants/{scheme}/{id}/sales-units", get(merchant_sales_units))
}

/// The demo business of `currency`'s country: its registration, its name and its country.
fn business(currency: Currency) -> (BusinessIdentifier, &'static str, &'static str) {
    let (scheme, id, name, country) = match currency {
        Currency::Nok => ("business:NO:ORG", "987654321", "Kaffebrenneriet AS", "NO"),
        Currency::Dkk => ("business:DK:CVR", "12345678", "Bageriet Nørrebro ApS", "DK"),
        Currency::Eur => ("business:FI:Y-tunnus", "1234567-8", "Kahvila Kallio Oy", "FI"),
    };
    (BusinessIdentifier { scheme: scheme.to_owned(), id: id.to_owned() }, name, country)
}

/// The business the caller asks about, if it is the caller's own: a 403 if it is another
/// merchant's, a 404 if the simulator knows no such business.
fn own_business(
    sim: &Sim,
    headers: &HeaderMap,
    asked: &BusinessIdentifier,
) -> Result<(BusinessIdentifier, &'static str, &'static str, Currency), SimError> {
    let unit = authenticate(&sim.world(), headers, Msn::Optional, sim.clock.now())?;
    let (own, name, country) = business(unit.currency);
    if own == *asked {
        return Ok((own, name, country, unit.currency));
    }
    if [Currency::Nok, Currency::Dkk, Currency::Eur].into_iter().any(|c| business(c).0 == *asked) {
        Err(SimError::forbidden("This merchant is not the one of these credentials."))
    } else {
        Err(SimError::not_found("No merchant is registered with this business identifier."))
    }
}

async fn merchant(
    State(sim): State<Arc<Sim>>,
    Path((scheme, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match own_business(&sim, &headers, &BusinessIdentifier { scheme, id }) {
        Ok((business_identifier, name, country, _)) => json(
            StatusCode::OK,
            &Merchant {
                business_identifier,
                name: name.to_owned(),
                status: Some(MerchantStatus::Active),
                country_code: Some(country.to_owned()),
            },
        ),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn merchant_sales_units(
    State(sim): State<Arc<Sim>>,
    Path((scheme, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    match own_business(&sim, &headers, &BusinessIdentifier { scheme, id }) {
        Ok((.., currency)) => {
            let units: Vec<SalesUnitSummary> = sim
                .world()
                .config
                .sales_units
                .iter()
                .filter(|unit| unit.currency == currency)
                .map(|unit| SalesUnitSummary { msn: unit.msn.clone(), name: unit.name.clone() })
                .collect();
            json(StatusCode::OK, &units)
        }
        Err(e) => e.at(uri.path()).into_response(),
    }
}

async fn sales_unit(
    State(sim): State<Arc<Sim>>,
    Path(msn): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let caller = authenticate(&sim.world(), &headers, Msn::Optional, sim.clock.now());
    match caller {
        Ok(unit) if unit.msn == msn => json(StatusCode::OK, &described(&unit)),
        Ok(_) => SimError::forbidden("This sales unit is not one of these credentials'.")
            .at(uri.path())
            .into_response(),
        Err(e) => e.at(uri.path()).into_response(),
    }
}

/// `unit` as the Management API describes it.
fn described(unit: &config::SalesUnit) -> SalesUnit {
    SalesUnit {
        msn: unit.msn.clone(),
        name: unit.name.clone(),
        business_identifier: business(unit.currency).0,
        configuration: unit.settings_described.then_some(SalesUnitConfiguration {
            payment_allowed: Some(unit.payment_allowed),
            capture_type: Some(unit.capture_type),
            skip_landing_page_allowed: Some(unit.push_allowed),
            recurring_allowed: Some(false),
        }),
    }
}

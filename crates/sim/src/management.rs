//! The Management API, as far as kasse reads it: `GET /management/v1/sales-units/{msn}`, a
//! sales unit with its business and what it is allowed (`management-api/swagger.yaml`,
//! `SalesUnit`). The merchant's credentials read their own unit; another MSN is a 403.
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
use kasse_vipps::management::{BusinessIdentifier, CaptureType, SalesUnit, SalesUnitConfiguration};

use crate::Sim;
use crate::config;
use crate::error::SimError;
use crate::http::{Msn, authenticate, json};

/// The Management API's routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new().route("/management/v1/sales-units/{msn}", get(sales_unit))
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
    let (scheme, id) = match unit.currency {
        Currency::Nok => ("business:NO:ORG", "987654321"),
        Currency::Dkk => ("business:DK:CVR", "12345678"),
        Currency::Eur => ("business:FI:Y-tunnus", "1234567-8"),
    };
    SalesUnit {
        msn: unit.msn.clone(),
        name: unit.name.clone(),
        business_identifier: BusinessIdentifier { scheme: scheme.to_owned(), id: id.to_owned() },
        configuration: Some(SalesUnitConfiguration {
            payment_allowed: Some(true),
            capture_type: Some(CaptureType::ReserveCapture),
            skip_landing_page_allowed: Some(unit.push_allowed),
            recurring_allowed: Some(false),
        }),
    }
}

//! The Check-in API (`specs/check-in-api/swagger.yaml`): `POST /point-of-sale/v1/loyalty-check-in`
//! with `{phoneNumber, isMember}` shows a customer, in the app, that they are checked in at the
//! merchant's point of sale and whether they are a loyalty member. The simulated app shows it on
//! the customer's phone page for 15 minutes.
//!
//! The API is Vipps's, in Norway only: the number must be Norwegian (`^47[0-9]{8}$`), and a sales
//! unit that does not take NOK (a MobilePay one, in Denmark or Finland) is refused with a 400
//! saying so. A 400 has the API's `ErrorResponse` shape (`invalidParams`), which is the QR API's
//! ASP.NET shape (`error::Api::CheckIn`). Success is a 200 whose body is a JSON string, an id.
//!
//! Every check-in is recorded (the newest 1000) for the control API,
//! `GET /sim/control/loyalty-check-ins`, and [`SimHandle::loyalty_check_ins`](crate::SimHandle::loyalty_check_ins).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Utc};
use kasse_vipps::Currency;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Sim;
use crate::error::{Api, SimError};
use crate::http::{Msn, authenticate, json, lock};
use crate::recent::Recent;

/// The path of the one endpoint.
const PATH: &str = "/point-of-sale/v1/loyalty-check-in";

/// How many loyalty check-ins are kept: the newest.
const KEPT: usize = 1000;

/// How long the app shows a loyalty check-in.
const SHOWN_FOR: chrono::Duration = chrono::Duration::minutes(15);

/// A loyalty check-in the platform received, as the control API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyCheckInRecord {
    /// The sales unit that checked the customer in.
    pub msn: String,
    /// The customer's number, MSISDN.
    pub phone_number: String,
    /// Whether the merchant said the customer is a loyalty member.
    pub is_member: bool,
    /// When, by the simulator's clock.
    pub at: DateTime<Utc>,
}

/// The loyalty check-ins received, behind their own lock (never taken while the world's is held,
/// nor the other way round).
#[derive(Debug)]
pub struct LoyaltyCheckIns {
    records: Mutex<Recent<LoyaltyCheckInRecord>>,
}

impl Default for LoyaltyCheckIns {
    fn default() -> Self {
        Self { records: Mutex::new(Recent::new(KEPT)) }
    }
}

impl LoyaltyCheckIns {
    /// Every check-in kept, oldest first.
    pub fn all(&self) -> Vec<LoyaltyCheckInRecord> {
        lock(&self.records).to_vec()
    }

    /// What the app of `phone_number` shows at `now`: the newest check-in of each sales unit in
    /// the last 15 minutes, newest first.
    pub fn showing(&self, phone_number: &str, now: DateTime<Utc>) -> Vec<LoyaltyCheckInRecord> {
        let records = lock(&self.records);
        let mut seen = HashSet::new();
        let mut shown: Vec<_> = records
            .iter()
            .filter(|r| r.phone_number == phone_number && r.at <= now && now - r.at < SHOWN_FOR)
            .cloned()
            .collect();
        shown.reverse();
        shown.retain(|r| seen.insert(r.msn.clone()));
        shown
    }

    fn record(&self, record: LoyaltyCheckInRecord) {
        lock(&self.records).push(record);
    }
}

/// The Check-in API's route.
pub fn router() -> Router<Arc<Sim>> {
    Router::new().route(PATH, post(loyalty_check_in))
}

/// `POST /point-of-sale/v1/loyalty-check-in`.
async fn loyalty_check_in(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = sim.clock.now();
    // The world lock is released at the end of this statement, before the check-ins' is taken.
    let unit = authenticate(&sim.world(), &headers, Msn::Optional, now);
    let outcome = unit.and_then(|unit| {
        if unit.currency != Currency::Nok {
            return Err(SimError::bad_request(
                "The Check-in API is for Vipps in Norway only; this sales unit is a MobilePay one (it does not take NOK).",
            ));
        }
        let (phone_number, is_member) = validated(&body)?;
        sim.loyalty_check_ins.record(LoyaltyCheckInRecord { msn: unit.msn, phone_number, is_member, at: now });
        Ok(json(StatusCode::OK, &uuid::Uuid::new_v4().to_string()))
    });
    outcome.unwrap_or_else(|e| Api::CheckIn.refuse(e.at(PATH)))
}

/// The phone number and membership of a `LoyaltyCheckInRequest`, or a 400 naming every field
/// that is wrong.
fn validated(body: &[u8]) -> Result<(String, bool), SimError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| SimError::validation("request", &format!("The request body is not valid JSON: {e}")))?;
    let phone_number = request.get("phoneNumber").and_then(Value::as_str).filter(|n| is_norwegian(n));
    let is_member = request.get("isMember").and_then(Value::as_bool);
    let mut invalid = Vec::new();
    if phone_number.is_none() {
        invalid.push((
            "phoneNumber",
            "The field phoneNumber must be in MSISDN format and match the regular expression '^47[0-9]{8}$'.",
        ));
    }
    if is_member.is_none() {
        invalid.push(("isMember", "The isMember field is required and must be true or false."));
    }
    match (phone_number, is_member) {
        (Some(phone_number), Some(is_member)) => Ok((phone_number.to_owned(), is_member)),
        _ => Err(SimError::invalid_fields(&invalid)),
    }
}

/// `^47[0-9]{8}$`.
fn is_norwegian(number: &str) -> bool {
    number.len() == 10 && number.starts_with("47") && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-11-27T10:{minute:02}:00Z")).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn only_a_norwegian_msisdn_passes() {
        assert!(is_norwegian("4791234567"));
        for bad in ["479123456", "47912345678", "4520031801", "+4791234567", "47912345x7", ""] {
            assert!(!is_norwegian(bad), "{bad}");
        }
    }

    #[test]
    fn every_wrong_field_is_named() {
        let names = |body: &str| -> Vec<String> {
            validated(body.as_bytes()).unwrap_err().fields.into_iter().map(|(name, _)| name).collect()
        };
        assert_eq!(names(r#"{"phoneNumber":"4520031801","isMember":true}"#), ["phoneNumber"]);
        assert_eq!(names(r#"{"phoneNumber":"4791234567","isMember":null}"#), ["isMember"]);
        assert_eq!(names("{}"), ["phoneNumber", "isMember"]);
        assert_eq!(names("not json"), ["request"]);
        assert_eq!(
            validated(br#"{"phoneNumber":"4791234567","isMember":false}"#).unwrap(),
            ("4791234567".to_owned(), false)
        );
    }

    #[test]
    fn the_app_shows_the_newest_check_in_of_each_merchant_for_fifteen_minutes() {
        let check_ins = LoyaltyCheckIns::default();
        let record = |msn: &str, is_member, minute| LoyaltyCheckInRecord {
            msn: msn.to_owned(),
            phone_number: "4791234567".to_owned(),
            is_member,
            at: at(minute),
        };
        check_ins.record(record("123456", false, 0));
        check_ins.record(record("123456", true, 5));
        check_ins.record(record("999999", false, 6));
        let shown: Vec<_> =
            check_ins.showing("4791234567", at(10)).into_iter().map(|r| (r.msn, r.is_member)).collect();
        assert_eq!(shown, [("999999".to_owned(), false), ("123456".to_owned(), true)]);
        assert!(check_ins.showing("4798765432", at(10)).is_empty());
        assert_eq!(check_ins.showing("4791234567", at(20)).len(), 1, "the 10:05 one is gone at 10:20");
        assert_eq!(check_ins.all().len(), 3);
    }
}

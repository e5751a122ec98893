//! The Management API as far as kasse reads it: a sales unit (`GET
//! /management/v1/sales-units/{msn}`), whose it is and what it is allowed; a merchant by its
//! business registration (`GET /management/v1/merchants/{scheme}/{id}`) and its sales units
//! (`…/sales-units`). Written by hand from `specs/management-api/swagger.yaml` (`SalesUnit`,
//! `businessIdentifier`, `configuration`, `Merchant`, `MsnInfo`).
//!
//! The spec says any field of `configuration` may be missing, and that a missing one does not
//! mean the setting is off: each is an `Option`, and `None` is "the platform did not say".

use serde::{Deserialize, Serialize};

/// A sales unit (one MSN) of a merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesUnit {
    /// The merchant serial number.
    pub msn: String,
    /// Its name, as customers see it.
    pub name: String,
    /// The business it belongs to.
    pub business_identifier: BusinessIdentifier,
    /// What it is allowed, where the platform says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<SalesUnitConfiguration>,
}

/// A business by its registry: `business:NO:ORG`, `business:DK:CVR` or `business:FI:Y-tunnus`,
/// and its number there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessIdentifier {
    /// The registry, e.g. `business:NO:ORG`.
    pub scheme: String,
    /// The organisation number in it.
    pub id: String,
}

impl BusinessIdentifier {
    /// The country of the registry (`NO`, `DK`, `FI`), from the scheme's middle part.
    pub fn country(&self) -> Option<&str> {
        let mut parts = self.scheme.split(':');
        (parts.next() == Some("business")).then(|| parts.next()).flatten()
    }
}

/// A merchant: a business with one or more sales units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    /// Its registration.
    pub business_identifier: BusinessIdentifier,
    /// Its name (the business's, not a sales unit's).
    pub name: String,
    /// `ACTIVE` or `DEACTIVATED`, where the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MerchantStatus>,
    /// Its country, ISO 3166 (`NO`), where the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// Whether a merchant is in business with the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MerchantStatus {
    /// It is.
    Active,
    /// It is no longer.
    Deactivated,
    /// A value this client does not know yet.
    #[serde(other)]
    Other,
}

/// One of a merchant's sales units, as the list of them gives it (`MsnInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesUnitSummary {
    /// The merchant serial number.
    pub msn: String,
    /// Its name.
    pub name: String,
}

/// A sales unit's settings. Each may be missing (see the module's note).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesUnitConfiguration {
    /// Whether it may take payments at all (false for a unit approved for Login only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_allowed: Option<bool>,
    /// Reserve then capture, or capture at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_type: Option<CaptureType>,
    /// Whether it may skip the landing page: what ePayment's `userFlow: PUSH_MESSAGE` needs
    /// (else error 5080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_landing_page_allowed: Option<bool>,
    /// Whether it may use the Recurring API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring_allowed: Option<bool>,
}

/// How the unit's payments are captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaptureType {
    /// Reserved at approval, captured later (what a till that captures by hand needs).
    ReserveCapture,
    /// Captured at approval.
    DirectCapture,
    /// Neither applies.
    NotApplicable,
    /// A value this client does not know yet (the spec says the API may grow).
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sales_unit_reads_as_the_spec_spells_it_and_missing_settings_stay_unknown() {
        let unit: SalesUnit = serde_json::from_value(serde_json::json!({
            "msn": "123456",
            "name": "Kaffebrenneriet",
            "businessIdentifier": {"scheme": "business:NO:ORG", "id": "987654321"},
            "configuration": {"captureType": "ReserveCapture", "skipLandingPageAllowed": false}
        }))
        .unwrap();
        assert_eq!(unit.business_identifier.country(), Some("NO"));
        let settings = unit.configuration.unwrap();
        assert_eq!(settings.skip_landing_page_allowed, Some(false));
        assert_eq!(settings.capture_type, Some(CaptureType::ReserveCapture));
        assert_eq!(settings.payment_allowed, None, "not said is not false");
        let bare: SalesUnit = serde_json::from_value(serde_json::json!({
            "msn": "1", "name": "n", "businessIdentifier": {"scheme": "odd", "id": "1"}
        }))
        .unwrap();
        assert_eq!((bare.configuration, bare.business_identifier.country()), (None, None));
    }

    #[test]
    fn a_merchant_and_its_sales_units_read_as_the_spec_spells_them() {
        let merchant: Merchant = serde_json::from_value(serde_json::json!({
            "businessIdentifier": {"scheme": "business:NO:ORG", "id": "987654321"},
            "name": "Kaffebrenneriet AS",
            "status": "ACTIVE",
            "createdAt": "2022-09-02T06:45:25.921251Z",
            "countryCode": "NO",
            "businessAddress": {"lines": ["Thorvald Meyers gate 48"], "postCode": "0555", "city": "Oslo"}
        }))
        .unwrap();
        assert_eq!(merchant.status, Some(MerchantStatus::Active));
        assert_eq!(merchant.country_code.as_deref(), Some("NO"));
        let units: Vec<SalesUnitSummary> =
            serde_json::from_value(serde_json::json!([{"msn": "123456", "name": "Grünerløkka"}])).unwrap();
        assert_eq!(units, [SalesUnitSummary { msn: "123456".into(), name: "Grünerløkka".into() }]);
    }
}

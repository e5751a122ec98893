//! The Management API's sales unit (`GET /management/v1/sales-units/{msn}`), as far as kasse
//! reads it: whose it is and what it is allowed. Written by hand from
//! `specs/management-api/swagger.yaml` (`SalesUnit`, `BusinessIdentifier`, `configuration`).
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
}

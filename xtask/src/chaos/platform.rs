//! The simulator as the run uses it: its fault knobs, its held creates, its records, and its
//! customers, who approve or decline on the phone page (or, for a payment whose create landed
//! after its sale was cancelled, through the test environment's force approve).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::processes::SalesUnit;
use super::verdict::{PlatformPayment, Totals};
use crate::error::{Error, Result};
use crate::http::{Request, Response};

/// The simulator at `base`, with its sales units' credentials.
#[derive(Debug)]
pub(crate) struct Platform {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(crate) base: String,
    units: Vec<SalesUnit>,
    /// An access token per MSN, for force approve.
    tokens: Mutex<HashMap<String, String>>,
}

/// The fault knobs the run sets, as `PUT /sim/control/faults` takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Knobs {
    pub(crate) latency_ms: u64,
    pub(crate) error_rate: f64,
    pub(crate) throttle_rate: f64,
    pub(crate) drop_webhook_rate: f64,
    pub(crate) duplicate_webhook_rate: f64,
    pub(crate) hold_creates: bool,
    pub(crate) seed: u64,
}

impl Knobs {
    /// Every fault off.
    pub(crate) const OFF: Self = Self {
        latency_ms: 0,
        error_rate: 0.0,
        throttle_rate: 0.0,
        drop_webhook_rate: 0.0,
        duplicate_webhook_rate: 0.0,
        hold_creates: false,
        seed: 0,
    };

    fn to_json(self) -> Json {
        json!({
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "throttleRate": self.throttle_rate,
            "dropWebhookRate": self.drop_webhook_rate,
            "duplicateWebhookRate": self.duplicate_webhook_rate,
            "holdCreates": self.hold_creates,
            "seed": self.seed,
        })
    }
}

impl Platform {
    /// The simulator at `base`.
    pub(crate) fn new(base: String, units: Vec<SalesUnit>) -> Self {
        Self { base, units, tokens: Mutex::new(HashMap::new()) }
    }

    /// Sets every knob (one left out is off).
    pub(crate) fn set_faults(&self, knobs: Knobs) -> Result<()> {
        let answer =
            Request::put(format!("{}/sim/control/faults", self.base)).json(&knobs.to_json()).send()?;
        if answer.is_success() {
            Ok(())
        } else {
            Err(Error::new(format!("the simulator refused the knobs ({}): {}", answer.status, answer.text())))
        }
    }

    /// Delivers the creates `holdCreates` held, once the platform has processed them all; how
    /// many.
    pub(crate) fn deliver_held(&self) -> Result<u64> {
        let answer = Request::post(format!("{}/sim/control/faults/deliver-held", self.base))
            .timeout(Duration::from_mins(2))
            .send()?;
        answer
            .json()?
            .get("delivered")
            .and_then(Json::as_u64)
            .ok_or_else(|| Error::new(format!("deliver-held answered ({}) {}", answer.status, answer.text())))
    }

    /// Every payment the platform has.
    pub(crate) fn payments(&self) -> Result<Vec<PlatformPayment>> {
        let answer = Request::get(format!("{}/sim/control/payments", self.base))
            .timeout(Duration::from_secs(30))
            .send()?;
        let records = answer.json()?;
        let records = records
            .as_array()
            .ok_or_else(|| Error::new(format!("the payments are not a list: {records}")))?;
        records.iter().map(payment_of).collect()
    }

    /// `customer` answers (`approve` or `decline`) the push request for `reference` with the
    /// form on their phone page; `None` while the request is not on the page yet.
    pub(crate) fn answer_request(
        &self,
        customer: &str,
        reference: &str,
        action: &str,
    ) -> Result<Option<Response>> {
        let page = Request::get(format!("{}/sim/phone?customer={customer}", self.base)).send()?;
        let page = page.text();
        let Some(form) = attribute_after(&page, &format!("data-reference=\"{reference}\""), "action") else {
            return Ok(None);
        };
        let answer = Request::post(format!("{}{form}", self.base))
            .form(&[("action", action), ("customer", customer)])
            .send()?;
        Ok(Some(answer))
    }

    /// `customer` scans the QR code whose text is `qr` (the pay page's address) and answers.
    pub(crate) fn answer_qr(qr: &str, customer: &str, action: &str) -> Result<Response> {
        Request::post(qr).form(&[("action", action), ("customer", customer)]).send()
    }

    /// Approves `reference` of sales unit `msn` for `customer` with the test environment's force
    /// approve; the platform's answer.
    pub(crate) fn force_approve(&self, msn: &str, reference: &str, customer: &str) -> Result<Response> {
        let unit = self
            .units
            .iter()
            .find(|u| u.msn == msn)
            .ok_or_else(|| Error::new(format!("no sales unit {msn} at the simulator")))?;
        let token = self.token(unit)?;
        let answer = Request::post(format!("{}/epayment/v1/test/payments/{reference}/approve", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .header("Ocp-Apim-Subscription-Key", unit.subscription_key.clone())
            .header("Merchant-Serial-Number", unit.msn.clone())
            .json(&json!({ "customer": { "phoneNumber": customer } }))
            .send()?;
        if answer.status == 401 {
            // Expired: the next call asks for a new one.
            self.lock_tokens().remove(msn);
        }
        Ok(answer)
    }

    /// An access token for `unit`, from the cache or the Access Token API.
    fn token(&self, unit: &SalesUnit) -> Result<String> {
        if let Some(token) = self.lock_tokens().get(&unit.msn) {
            return Ok(token.clone());
        }
        let answer = Request::post(format!("{}/accesstoken/get", self.base))
            .header("client_id", unit.client_id.clone())
            .header("client_secret", unit.client_secret.clone())
            .header("Ocp-Apim-Subscription-Key", unit.subscription_key.clone())
            .header("Merchant-Serial-Number", unit.msn.clone())
            .send()?;
        let token = answer
            .json()
            .ok()
            .and_then(|body| body.get("access_token").and_then(Json::as_str).map(str::to_owned))
            .ok_or_else(|| Error::new(format!("no access token ({}): {}", answer.status, answer.text())))?;
        self.lock_tokens().insert(unit.msn.clone(), token.clone());
        Ok(token)
    }

    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One record of `GET /sim/control/payments`.
fn payment_of(record: &Json) -> Result<PlatformPayment> {
    let text = |name: &str| {
        record
            .get(name)
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Error::new(format!("a payment record without `{name}`: {record}")))
    };
    let value = |path: &[&str]| {
        path.iter()
            .try_fold(record, |at, key| at.get(key))
            .and_then(Json::as_i64)
            .ok_or_else(|| Error::new(format!("a payment record without `{}`: {record}", path.join("."))))
    };
    Ok(PlatformPayment {
        msn: text("msn")?,
        reference: text("reference")?,
        amount: value(&["amount", "value"])?,
        state: text("state")?,
        totals: Totals {
            authorized: value(&["aggregate", "authorizedAmount", "value"])?,
            captured: value(&["aggregate", "capturedAmount", "value"])?,
            cancelled: value(&["aggregate", "cancelledAmount", "value"])?,
            refunded: value(&["aggregate", "refundedAmount", "value"])?,
        },
    })
}

/// The value of `attribute` in the first tag at or after `marker` in `html`, if any.
fn attribute_after<'a>(html: &'a str, marker: &str, attribute: &str) -> Option<&'a str> {
    let rest = &html[html.find(marker)?..];
    let start = rest.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    Some(&rest[start..start + rest[start..].find('"')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_on_the_phone_page_is_answered_with_its_own_form() {
        let page = r#"<section class="request" data-reference="chaos-1-aaa"><p>x</p>
            <form method="post" action="/sim/pay/tok1"></form></section>
            <section class="request" data-reference="chaos-2-bbb"><form method="post" action="/sim/pay/tok2">"#;
        assert_eq!(attribute_after(page, "data-reference=\"chaos-2-bbb\"", "action"), Some("/sim/pay/tok2"));
        assert_eq!(attribute_after(page, "data-reference=\"chaos-1-aaa\"", "action"), Some("/sim/pay/tok1"));
        assert_eq!(attribute_after(page, "data-reference=\"other\"", "action"), None);
    }

    #[test]
    fn a_payment_record_is_read_with_its_totals() {
        let record = json!({
            "msn": "123456", "reference": "chaos-1-aaa", "userFlow": "QR", "state": "AUTHORIZED",
            "amount": {"value": 12_345, "currency": "NOK"},
            "aggregate": {
                "authorizedAmount": {"value": 12_345, "currency": "NOK"},
                "capturedAmount": {"value": 12_345, "currency": "NOK"},
                "cancelledAmount": {"value": 0, "currency": "NOK"},
                "refundedAmount": {"value": 0, "currency": "NOK"}
            },
            "received": []
        });
        let payment = payment_of(&record).unwrap();
        assert_eq!(payment.reference, "chaos-1-aaa");
        assert_eq!(payment.state, "AUTHORIZED");
        assert_eq!(
            payment.totals,
            Totals { authorized: 12_345, captured: 12_345, cancelled: 0, refunded: 0 }
        );
        assert!(payment_of(&json!({"msn": "1"})).is_err());
    }

    #[test]
    fn the_knobs_are_sent_in_the_control_apis_words() {
        let knobs = Knobs { latency_ms: 80, hold_creates: true, seed: 7, ..Knobs::OFF };
        let sent = knobs.to_json();
        assert_eq!(sent["latencyMs"], 80);
        assert_eq!(sent["holdCreates"], true);
        assert_eq!(sent["seed"], 7);
        assert_eq!(sent["errorRate"], 0.0);
    }
}

//! The simulated platform's state and rules, with no HTTP in sight.
//!
//! Payments follow the ePayment state machine and aggregate arithmetic of reference/vipps-apis.md
//! §3.7–3.8. Every change appends to the payment's event log and queues the matching webhook in
//! `outgoing`, which the delivery module drains after each operation.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kasse_vipps::epayment::{
    Aggregate, Amount, CreatePaymentRequest, Customer, GetPaymentResponse, ModificationResponse,
    PaymentEvent, PaymentEventName, PaymentMethodResponse, ProfileResponse, State, UserFlow, WebhookEvent,
};

use crate::config::{SalesUnit, SimConfig};
use crate::error::SimError;

/// The `Vipps-System-*` headers a call arrived with, kept so tests can check what a client sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemHeaders {
    /// `Vipps-System-Name`.
    pub system_name: Option<String>,
    /// `Vipps-System-Version`.
    pub system_version: Option<String>,
    /// `Vipps-System-Plugin-Name`.
    pub plugin_name: Option<String>,
    /// `Vipps-System-Plugin-Version`.
    pub plugin_version: Option<String>,
}

/// A write the platform received, as the control API reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedWrite {
    /// `create`, `capture`, `refund` or `cancel`.
    pub operation: &'static str,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Vipps-System-*` headers.
    pub system: SystemHeaders,
    /// Whether it was applied (a replay or a refusal is not).
    pub applied: bool,
}

/// One simulated payment.
#[derive(Debug, Clone)]
pub struct Payment {
    /// The sales unit.
    pub msn: String,
    /// The merchant's reference.
    pub reference: String,
    /// The create request as received.
    pub request: CreatePaymentRequest,
    /// Current state.
    pub state: State,
    /// Running totals.
    pub aggregate: Aggregate,
    /// The token in this payment's QR / landing-page URL.
    pub token: String,
    /// When the customer's time runs out.
    pub expires_at: DateTime<Utc>,
    /// The event log.
    pub events: Vec<PaymentEvent>,
    /// Every write received for this payment.
    pub received: Vec<ReceivedWrite>,
}

impl Payment {
    /// The customer the payment was addressed to, if any.
    pub fn customer(&self) -> Option<&Customer> {
        self.request.customer.as_ref()
    }

    /// The GET view of the payment.
    pub fn view(&self) -> GetPaymentResponse {
        GetPaymentResponse {
            aggregate: self.aggregate,
            amount: self.request.amount,
            state: self.state,
            payment_method: PaymentMethodResponse { kind: self.request.payment_method.kind, card_bin: None },
            profile: ProfileResponse::default(),
            psp_reference: self.events.first().map(|e| e.psp_reference.clone()).unwrap_or_default(),
            redirect_url: None,
            reference: self.reference.clone(),
            metadata: self.request.metadata.clone(),
        }
    }

    fn modification_response(&self, psp_reference: String) -> ModificationResponse {
        ModificationResponse {
            amount: self.request.amount,
            state: self.state,
            aggregate: self.aggregate,
            psp_reference,
            reference: self.reference.clone(),
        }
    }

    /// The uncaptured, uncancelled rest of the reservation.
    fn capturable(&self) -> i64 {
        self.aggregate.authorized_amount.value
            - self.aggregate.captured_amount.value
            - self.aggregate.cancelled_amount.value
    }
}

/// A webhook body waiting for delivery to the registrations that want it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The sales unit it concerns.
    pub msn: String,
    /// The Webhooks API event type.
    pub event_type: &'static str,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The first answer to an idempotent write, replayed when the same key comes again.
#[derive(Debug, Clone)]
pub struct Replay {
    /// What the request was: a different request under the same key is a conflict.
    pub fingerprint: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The body answered.
    pub body: Vec<u8>,
}

/// An access token the simulator issued.
#[derive(Debug, Clone)]
struct IssuedToken {
    client_id: String,
    expires_at: DateTime<Utc>,
}

/// The whole simulated platform.
pub struct World {
    /// Start configuration.
    pub config: SimConfig,
    tokens: HashMap<String, IssuedToken>,
    payments: HashMap<(String, String), Payment>,
    by_token: HashMap<String, (String, String)>,
    idempotency: HashMap<(String, String), Replay>,
    outgoing: Vec<Outgoing>,
}

impl World {
    /// A platform with no payments yet.
    pub fn new(config: SimConfig) -> Self {
        Self {
            config,
            tokens: HashMap::new(),
            payments: HashMap::new(),
            by_token: HashMap::new(),
            idempotency: HashMap::new(),
            outgoing: Vec::new(),
        }
    }

    /// Issues an access token to the unit whose credentials these are.
    pub fn issue_token(
        &mut self,
        client_id: &str,
        client_secret: &str,
        subscription_key: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), SimError> {
        let known = self.config.sales_units.iter().any(|u| {
            u.client_id == client_id
                && u.client_secret.expose() == client_secret
                && u.subscription_key.expose() == subscription_key
        });
        if !known {
            return Err(SimError::unauthorized(
                "Access denied due to invalid client_id, client_secret or subscription key.",
            ));
        }
        let token = format!("sim.{}.{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let lifetime = i64::try_from(self.config.token_lifetime_secs).unwrap_or(3600);
        let expires_at = now + chrono::Duration::seconds(lifetime);
        self.tokens.insert(token.clone(), IssuedToken { client_id: client_id.to_owned(), expires_at });
        Ok((token, expires_at))
    }

    /// Every access token issued so far, expired ones included.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    /// Checks a call's credentials and returns the sales unit it acts for.
    pub fn authenticate(
        &self,
        bearer: Option<&str>,
        subscription_key: Option<&str>,
        msn: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<&SalesUnit, SimError> {
        let Some(token) = bearer else {
            return Err(SimError::unauthorized(
                "Missing or malformed Authorization header: use 'Bearer <token>'.",
            ));
        };
        let issued = self
            .tokens
            .get(token)
            .filter(|t| t.expires_at > now)
            .ok_or_else(|| SimError::unauthorized("The access token is invalid or has expired."))?;
        let unit = self
            .config
            .sales_units
            .iter()
            .find(|u| u.client_id == issued.client_id)
            .ok_or_else(|| SimError::unauthorized("The access token is invalid or has expired."))?;
        if subscription_key != Some(unit.subscription_key.expose()) {
            return Err(SimError::unauthorized(
                "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
            ));
        }
        match msn {
            Some(msn) if msn == unit.msn => Ok(unit),
            Some(_) => {
                Err(SimError::forbidden("The Merchant-Serial-Number does not belong to these credentials."))
            }
            None => Err(SimError::validation(
                "Merchant-Serial-Number",
                "The Merchant-Serial-Number header is required.",
            )),
        }
    }

    /// A payment by sales unit and reference.
    pub fn payment(&self, msn: &str, reference: &str) -> Option<&Payment> {
        self.payments.get(&(msn.to_owned(), reference.to_owned()))
    }

    /// A payment by the token in its QR or landing-page URL.
    pub fn payment_by_token(&self, token: &str) -> Option<&Payment> {
        self.by_token.get(token).and_then(|key| self.payments.get(key))
    }

    /// Every payment, newest first.
    pub fn payments(&self) -> Vec<&Payment> {
        let mut all: Vec<_> = self.payments.values().collect();
        all.sort_by(|a, b| b.events.first().map(|e| e.timestamp).cmp(&a.events.first().map(|e| e.timestamp)));
        all
    }

    /// The stored answer for an idempotency key of a sales unit.
    pub fn replay(&self, msn: &str, key: &str) -> Option<&Replay> {
        self.idempotency.get(&(msn.to_owned(), key.to_owned()))
    }

    /// Stores the answer for an idempotency key of a sales unit.
    pub fn remember(&mut self, msn: &str, key: &str, replay: Replay) {
        self.idempotency.insert((msn.to_owned(), key.to_owned()), replay);
    }

    /// Takes the webhooks queued by the operations so far.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outgoing)
    }

    /// Creates a payment whose request has already been validated. Returns the URL token.
    pub fn create(
        &mut self,
        unit_msn: &str,
        request: CreatePaymentRequest,
        idempotency_key: Option<String>,
        system: SystemHeaders,
        now: DateTime<Utc>,
    ) -> Result<String, SimError> {
        let key = (unit_msn.to_owned(), request.reference.clone());
        if self.payments.contains_key(&key) {
            return Err(SimError::domain(
                409,
                4150,
                "Reference exists",
                "A payment with this reference already exists for this sales unit. Use a new reference for a new attempt.",
            ));
        }
        let expires_at =
            request.expires_at.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map_or_else(
                || now + chrono::Duration::seconds(self.config.payment_timeout_secs),
                |d| d.with_timezone(&Utc),
            );
        let token = uuid::Uuid::new_v4().simple().to_string();
        let currency = request.amount.currency;
        let mut payment = Payment {
            msn: unit_msn.to_owned(),
            reference: request.reference.clone(),
            state: State::Created,
            aggregate: Aggregate::zero(currency),
            token: token.clone(),
            expires_at,
            events: Vec::new(),
            received: vec![ReceivedWrite {
                operation: "create",
                idempotency_key: idempotency_key.clone(),
                system,
                applied: true,
            }],
            request,
        };
        let amount = payment.request.amount;
        self.record(&mut payment, PaymentEventName::Created, amount, idempotency_key, now);
        self.by_token.insert(token.clone(), key.clone());
        self.payments.insert(key, payment);
        Ok(token)
    }

    /// The customer approves in the app.
    pub fn approve(&mut self, msn: &str, reference: &str, now: DateTime<Utc>) -> Result<(), SimError> {
        let mut payment = self.take_open(msn, reference, now)?;
        payment.state = State::Authorized;
        payment.aggregate.authorized_amount = payment.request.amount;
        let key = payment.received.first().and_then(|r| r.idempotency_key.clone());
        let amount = payment.request.amount;
        self.record(&mut payment, PaymentEventName::Authorized, amount, key, now);
        self.put(payment);
        Ok(())
    }

    /// The customer declines in the app.
    pub fn decline(&mut self, msn: &str, reference: &str, now: DateTime<Utc>) -> Result<(), SimError> {
        let mut payment = self.take_open(msn, reference, now)?;
        payment.state = State::Aborted;
        let key = payment.received.first().and_then(|r| r.idempotency_key.clone());
        let amount = payment.request.amount;
        self.record(&mut payment, PaymentEventName::Aborted, amount, key, now);
        self.put(payment);
        Ok(())
    }

    /// Captures `amount` of an authorized payment.
    pub fn capture(
        &mut self,
        msn: &str,
        reference: &str,
        amount: Amount,
        idempotency_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<ModificationResponse, SimError> {
        let mut payment = self.take(msn, reference)?;
        let outcome = (|| {
            check_currency(&payment, amount)?;
            match payment.state {
                State::Created => {
                    return Err(SimError::domain(
                        400,
                        6080,
                        "Cannot capture before reservation",
                        "The amount you tried to capture is not reserved. The user must accept the payment before capture can be done.",
                    ));
                }
                State::Aborted | State::Expired | State::Terminated => {
                    return Err(SimError::domain(
                        400,
                        6200,
                        "Payment cannot be captured",
                        "The payment is not in a state that can be captured.",
                    ));
                }
                State::Authorized => {}
            }
            if payment.aggregate.cancelled_amount.value > 0 {
                return Err(SimError::domain(
                    400,
                    6070,
                    "Cannot capture a cancelled payment",
                    "The rest of this payment was cancelled; nothing more can be captured.",
                ));
            }
            if amount.value > payment.capturable() {
                return Err(SimError::domain(
                    400,
                    6090,
                    "Capture amount too high",
                    "The capture amount exceeds the amount left to capture.",
                ));
            }
            Ok(())
        })();
        if let Err(e) = outcome {
            self.put(payment);
            return Err(e);
        }
        payment.aggregate.captured_amount.value += amount.value;
        let psp = self.record(&mut payment, PaymentEventName::Captured, amount, idempotency_key, now);
        let response = payment.modification_response(psp);
        self.put(payment);
        Ok(response)
    }

    /// Refunds `amount` of what was captured.
    pub fn refund(
        &mut self,
        msn: &str,
        reference: &str,
        amount: Amount,
        idempotency_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<ModificationResponse, SimError> {
        let mut payment = self.take(msn, reference)?;
        let outcome = (|| {
            check_currency(&payment, amount)?;
            if payment.state != State::Authorized {
                return Err(SimError::domain(
                    400,
                    6020,
                    "Attempted refund before reservation",
                    "Only a captured payment can be refunded.",
                ));
            }
            let refundable =
                payment.aggregate.captured_amount.value - payment.aggregate.refunded_amount.value;
            if amount.value > refundable {
                return Err(SimError::domain(
                    400,
                    6150,
                    "Not enough refundable",
                    "The refund amount exceeds the captured amount not yet refunded.",
                ));
            }
            Ok(())
        })();
        if let Err(e) = outcome {
            self.put(payment);
            return Err(e);
        }
        payment.aggregate.refunded_amount.value += amount.value;
        let psp = self.record(&mut payment, PaymentEventName::Refunded, amount, idempotency_key, now);
        let response = payment.modification_response(psp);
        self.put(payment);
        Ok(response)
    }

    /// Cancels: before approval the payment is terminated; after it, the uncaptured rest is
    /// released. With `transaction_only`, an approved payment is left alone (error 6060).
    pub fn cancel(
        &mut self,
        msn: &str,
        reference: &str,
        transaction_only: bool,
        idempotency_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<ModificationResponse, SimError> {
        let mut payment = self.take(msn, reference)?;
        self.expire_if_due(&mut payment, now);
        let outcome = match payment.state {
            State::Created => {
                payment.state = State::Terminated;
                payment.aggregate.cancelled_amount = payment.request.amount;
                Ok((PaymentEventName::Terminated, payment.request.amount))
            }
            State::Authorized if transaction_only => Err(SimError::domain(
                400,
                6060,
                "Cannot cancel authorized payment",
                "The payment is already authorized; cancelTransactionOnly leaves it as it is.",
            )),
            State::Authorized if payment.aggregate.cancelled_amount.value > 0 => Err(SimError::domain(
                400,
                6190,
                "Payment cannot be cancelled",
                "The payment is already cancelled.",
            )),
            State::Authorized if payment.capturable() == 0 => Err(SimError::domain(
                400,
                6040,
                "Cannot cancel a captured payment",
                "The whole amount is captured; refund instead.",
            )),
            State::Authorized => {
                let rest = payment.capturable();
                payment.aggregate.cancelled_amount.value = rest;
                Ok((PaymentEventName::Cancelled, Amount::new(rest, payment.request.amount.currency)))
            }
            State::Terminated => Err(SimError::domain(
                400,
                6190,
                "Payment cannot be cancelled",
                "The payment is already cancelled.",
            )),
            State::Aborted | State::Expired => Err(SimError::domain(
                400,
                6050,
                "Cannot cancel a non-reserved payment",
                "The payment was never approved; there is nothing to cancel.",
            )),
        };
        match outcome {
            Ok((name, amount)) => {
                // The platform leaves the idempotency key out of CANCELLED events.
                let key = if name == PaymentEventName::Cancelled { None } else { idempotency_key };
                let psp = self.record(&mut payment, name, amount, key, now);
                let response = payment.modification_response(psp);
                self.put(payment);
                Ok(response)
            }
            Err(e) => {
                self.put(payment);
                Err(e)
            }
        }
    }

    /// Notes a write on a payment's record of received calls.
    pub fn note_received(&mut self, msn: &str, reference: &str, write: ReceivedWrite) {
        if let Some(p) = self.payments.get_mut(&(msn.to_owned(), reference.to_owned())) {
            p.received.push(write);
        }
    }

    /// Expires every open payment whose time has run out.
    pub fn expire_due(&mut self, now: DateTime<Utc>) {
        let due: Vec<_> = self
            .payments
            .iter()
            .filter(|(_, p)| p.state == State::Created && p.expires_at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some(mut payment) = self.payments.remove(&key) {
                self.expire_if_due(&mut payment, now);
                self.put(payment);
            }
        }
    }

    fn expire_if_due(&mut self, payment: &mut Payment, now: DateTime<Utc>) {
        if payment.state == State::Created && payment.expires_at <= now {
            payment.state = State::Expired;
            let amount = payment.request.amount;
            self.record(payment, PaymentEventName::Expired, amount, None, payment.expires_at);
        }
    }

    /// Removes a payment to change it; `put` returns it. Keeps the borrow checker out of the rules.
    fn take(&mut self, msn: &str, reference: &str) -> Result<Payment, SimError> {
        self.payments.remove(&(msn.to_owned(), reference.to_owned())).ok_or_else(|| {
            SimError::domain(
                404,
                5090,
                "Reference not found",
                "No payment with this reference exists for this sales unit.",
            )
        })
    }

    /// Like `take`, for a payment the customer can still act on.
    fn take_open(&mut self, msn: &str, reference: &str, now: DateTime<Utc>) -> Result<Payment, SimError> {
        let mut payment = self.take(msn, reference)?;
        self.expire_if_due(&mut payment, now);
        if payment.state == State::Created {
            Ok(payment)
        } else {
            let state = payment.state;
            self.put(payment);
            Err(SimError::domain(
                400,
                10020,
                "Approve not allowed",
                &format!("The payment is {state:?}, not waiting for the customer."),
            ))
        }
    }

    fn put(&mut self, payment: Payment) {
        self.payments.insert((payment.msn.clone(), payment.reference.clone()), payment);
    }

    /// Appends an event to the log, queues its webhook, and returns its psp reference.
    fn record(
        &mut self,
        payment: &mut Payment,
        name: PaymentEventName,
        amount: Amount,
        idempotency_key: Option<String>,
        at: DateTime<Utc>,
    ) -> String {
        let psp_reference = uuid::Uuid::new_v4().to_string();
        let event = PaymentEvent {
            reference: payment.reference.clone(),
            psp_reference: psp_reference.clone(),
            name,
            amount,
            timestamp: at,
            idempotency_key,
            success: true,
        };
        let webhook = WebhookEvent {
            msn: payment.msn.clone(),
            reference: event.reference.clone(),
            psp_reference: event.psp_reference.clone(),
            name,
            amount,
            timestamp: at,
            idempotency_key: event.idempotency_key.clone(),
            success: true,
        };
        if let Ok(body) = serde_json::to_vec(&webhook) {
            self.outgoing.push(Outgoing {
                msn: payment.msn.clone(),
                event_type: name.webhook_event_type(),
                body,
            });
        }
        payment.events.push(event);
        psp_reference
    }
}

fn check_currency(payment: &Payment, amount: Amount) -> Result<(), SimError> {
    if amount.currency != payment.request.amount.currency || amount.value <= 0 {
        return Err(SimError::domain(
            400,
            4040,
            "Invalid amount",
            "The amount must be positive and in the payment's currency.",
        ));
    }
    Ok(())
}

/// Is this payment waiting for the customer with this phone number (push flows)?
pub fn addressed_to(payment: &Payment, phone_number: &str, personal_qr: &str) -> bool {
    payment.request.user_flow == UserFlow::PushMessage
        && payment.customer().is_some_and(|c| {
            c.phone_number.as_deref() == Some(phone_number) || c.personal_qr.as_deref() == Some(personal_qr)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasse_vipps::Currency;
    use kasse_vipps::epayment::PaymentMethodType;

    const MSN: &str = "123456";

    fn world() -> World {
        World::new(SimConfig::demo())
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn nok(value: i64) -> Amount {
        Amount::new(value, Currency::Nok)
    }

    fn request(reference: &str, value: i64) -> CreatePaymentRequest {
        serde_json::from_value(serde_json::json!({
            "amount": { "currency": "NOK", "value": value },
            "paymentMethod": { "type": "WALLET" },
            "reference": reference,
            "userFlow": "QR",
        }))
        .unwrap()
    }

    fn authorized(world: &mut World, reference: &str, value: i64) {
        world
            .create(MSN, request(reference, value), Some("k".into()), SystemHeaders::default(), now())
            .unwrap();
        world.approve(MSN, reference, now()).unwrap();
    }

    #[test]
    fn partial_captures_then_cancel_releases_the_rest_and_refunds_are_bounded_by_captures() {
        let mut w = world();
        authorized(&mut w, "ref-00001", 1000);
        w.capture(MSN, "ref-00001", nok(250), None, now()).unwrap();
        let after = w.capture(MSN, "ref-00001", nok(150), None, now()).unwrap();
        assert_eq!(after.aggregate.captured_amount.value, 400);
        let cancelled = w.cancel(MSN, "ref-00001", false, None, now()).unwrap();
        assert_eq!(cancelled.state, State::Authorized);
        assert_eq!(cancelled.aggregate.cancelled_amount.value, 600);
        assert_eq!(w.capture(MSN, "ref-00001", nok(1), None, now()).unwrap_err().code, Some(6070));
        w.refund(MSN, "ref-00001", nok(300), None, now()).unwrap();
        assert_eq!(w.refund(MSN, "ref-00001", nok(101), None, now()).unwrap_err().code, Some(6150));
        let last = w.refund(MSN, "ref-00001", nok(100), None, now()).unwrap();
        assert_eq!(last.aggregate.refunded_amount.value, 400);
    }

    #[test]
    fn capturing_more_than_authorized_or_before_approval_is_refused() {
        let mut w = world();
        w.create(MSN, request("ref-00002", 1000), None, SystemHeaders::default(), now()).unwrap();
        assert_eq!(w.capture(MSN, "ref-00002", nok(1000), None, now()).unwrap_err().code, Some(6080));
        w.approve(MSN, "ref-00002", now()).unwrap();
        assert_eq!(w.capture(MSN, "ref-00002", nok(1001), None, now()).unwrap_err().code, Some(6090));
        w.capture(MSN, "ref-00002", nok(1000), None, now()).unwrap();
        assert_eq!(w.cancel(MSN, "ref-00002", false, None, now()).unwrap_err().code, Some(6040));
    }

    #[test]
    fn cancel_transaction_only_terminates_an_open_payment_but_never_an_approved_one() {
        let mut w = world();
        w.create(MSN, request("ref-00003", 500), None, SystemHeaders::default(), now()).unwrap();
        let r = w.cancel(MSN, "ref-00003", true, None, now()).unwrap();
        assert_eq!(r.state, State::Terminated);
        assert_eq!(r.aggregate.cancelled_amount.value, 500);
        authorized(&mut w, "ref-00004", 500);
        assert_eq!(w.cancel(MSN, "ref-00004", true, None, now()).unwrap_err().code, Some(6060));
        assert_eq!(w.payment(MSN, "ref-00004").unwrap().state, State::Authorized);
    }

    #[test]
    fn an_unanswered_payment_expires_after_ten_minutes_and_cannot_be_approved() {
        let mut w = world();
        w.create(MSN, request("ref-00005", 500), None, SystemHeaders::default(), now()).unwrap();
        w.expire_due(now() + chrono::Duration::seconds(599));
        assert_eq!(w.payment(MSN, "ref-00005").unwrap().state, State::Created);
        w.expire_due(now() + chrono::Duration::seconds(600));
        assert_eq!(w.payment(MSN, "ref-00005").unwrap().state, State::Expired);
        assert!(w.approve(MSN, "ref-00005", now()).is_err());
    }

    #[test]
    fn a_reused_reference_is_refused() {
        let mut w = world();
        w.create(MSN, request("ref-00006", 500), None, SystemHeaders::default(), now()).unwrap();
        let err =
            w.create(MSN, request("ref-00006", 500), None, SystemHeaders::default(), now()).unwrap_err();
        assert_eq!((err.status, err.code), (409, Some(4150)));
    }

    #[test]
    fn every_change_is_logged_and_queued_as_a_webhook_in_order() {
        let mut w = world();
        authorized(&mut w, "ref-00007", 700);
        w.capture(MSN, "ref-00007", nok(700), Some("cap-1".into()), now()).unwrap();
        let names: Vec<_> = w.payment(MSN, "ref-00007").unwrap().events.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [PaymentEventName::Created, PaymentEventName::Authorized, PaymentEventName::Captured]
        );
        let types: Vec<_> = w.take_outgoing().into_iter().map(|o| o.event_type).collect();
        assert_eq!(
            types,
            [
                "epayments.payment.created.v1",
                "epayments.payment.authorized.v1",
                "epayments.payment.captured.v1"
            ]
        );
        assert!(w.take_outgoing().is_empty());
    }

    #[test]
    fn the_get_view_carries_the_created_events_psp_reference() {
        let mut w = world();
        authorized(&mut w, "ref-00008", 100);
        let p = w.payment(MSN, "ref-00008").unwrap();
        assert_eq!(p.view().psp_reference, p.events[0].psp_reference);
        assert_eq!(p.view().payment_method.kind, PaymentMethodType::Wallet);
    }
}

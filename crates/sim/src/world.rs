//! The simulated platform's state and rules, with no HTTP in sight.
//!
//! Payments follow the ePayment state machine and aggregate arithmetic of reference/vipps-apis.md
//! §3.7–3.8. Every change appends to the payment's event log and queues the matching webhook in
//! `outgoing`, which the delivery module drains after each operation.
//!
//! The sales unit's capabilities and deadlines (`SalesUnit`) are checked here, and so are the test
//! environment's magic amounts (§8): an approval of 151, 182, 183, 184, 186, 187, 197 or 202 fails
//! with a failed AUTHORIZED event and leaves the payment open, 201 leaves the result unknown for an
//! hour and then fails, and a refund of a 123 or 124 payment is refused.

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use kasse_vipps::epayment::{
    Aggregate, Amount, CreatePaymentRequest, Customer, GetPaymentResponse, ModificationResponse,
    PaymentEvent, PaymentEventName, PaymentMethodResponse, ProfileResponse, State, UserFlow, WebhookEvent,
};

use crate::config::{SalesUnit, SimConfig};
use crate::error::SimError;
use crate::recent::Recent;
use crate::userinfo::{self, Consents};
use crate::validate;

/// How many received writes a payment's record keeps: the newest. A client stuck retrying into a
/// rate limit would otherwise grow it forever.
const RECEIVED_KEPT: usize = 100;

/// How many issued access tokens [`World::issued_tokens`] lists: the newest.
const ISSUED_TOKENS_KEPT: usize = 1000;

/// An idempotent ePayment write. Serialized as the control API shows it: `create`, `capture`,
/// `refund` or `cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// `POST /epayment/v1/payments`.
    Create,
    /// `POST …/{reference}/capture`.
    Capture,
    /// `POST …/{reference}/refund`.
    Refund,
    /// `POST …/{reference}/cancel`.
    Cancel,
}

impl Operation {
    /// `create`, `capture`, `refund` or `cancel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Capture => "capture",
            Self::Refund => "refund",
            Self::Cancel => "cancel",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the control API's spelling, so `write.operation == "capture"` reads as before.
impl PartialEq<str> for Operation {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Operation {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

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
    /// Which write.
    pub operation: Operation,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The `Vipps-System-*` headers.
    pub system: SystemHeaders,
    /// Whether it was applied (a replay or a refusal is not).
    pub applied: bool,
    /// The HTTP status answered.
    pub status: u16,
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
    /// The idempotency key of the create, which the AUTHORIZED and ABORTED events repeat.
    pub create_key: Option<String>,
    /// The phone number of the customer it was addressed to, however the request named them (a
    /// phone number, a personal QR code, or a check-in's customer token, which expires long
    /// before the payment is forgotten).
    pub customer_phone: Option<String>,
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
    /// The newest writes received for this payment.
    pub received: Recent<ReceivedWrite>,
    /// While the result of the customer's authorization is unknown (test amount 201): until when.
    pub processing_until: Option<DateTime<Utc>>,
    /// The `sub` of the customer who approved and shared the profile scope asked for.
    pub profile_sub: Option<String>,
}

impl Payment {
    /// The customer the payment was addressed to, if any.
    pub fn customer(&self) -> Option<&Customer> {
        self.request.customer.as_ref()
    }

    /// The profile data the create request asks the customer to share (`profile.scope`), if any.
    pub fn profile_scope(&self) -> Option<&str> {
        self.request.profile.as_ref().and_then(|p| p.scope.as_deref())
    }

    /// The GET view of the payment.
    pub fn view(&self) -> GetPaymentResponse {
        GetPaymentResponse {
            aggregate: self.aggregate,
            amount: self.request.amount,
            state: self.state,
            payment_method: PaymentMethodResponse { kind: self.request.payment_method.kind, card_bin: None },
            profile: ProfileResponse { sub: self.profile_sub.clone() },
            psp_reference: self.events.first().map(|e| e.psp_reference.clone()).unwrap_or_default(),
            redirect_url: None,
            reference: self.reference.clone(),
            metadata: self.request.metadata.clone(),
        }
    }

    /// Is this a push payment waiting on the phone of the customer with `phone_number`?
    pub fn is_addressed_to(&self, phone_number: &str) -> bool {
        self.request.user_flow == UserFlow::PushMessage
            && self.customer_phone.as_deref() == Some(phone_number)
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

    /// When the customer's authorization succeeded.
    fn authorized_at(&self) -> Option<DateTime<Utc>> {
        self.last_success(PaymentEventName::Authorized)
    }

    /// When the latest successful `name` event happened.
    fn last_success(&self, name: PaymentEventName) -> Option<DateTime<Utc>> {
        self.events.iter().rev().find(|e| e.name == name && e.success).map(|e| e.timestamp)
    }

    /// Whether something happens to it by `now` with nobody acting: an unknown authorization
    /// result turns into a failure, or the customer's time runs out.
    fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == State::Created && self.due_at() <= now
    }

    /// When something next happens to an open payment by itself.
    fn due_at(&self) -> DateTime<Utc> {
        self.processing_until.unwrap_or(self.expires_at)
    }
}

/// How a test amount makes the customer's approval go (reference/vipps-apis.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MagicAmount {
    /// The card is refused for this reason; the payment stays open.
    Refused(&'static str),
    /// 201: nothing is known for an hour, then the authorization fails.
    UnknownResult,
}

impl MagicAmount {
    /// The outcome the test environment gives an approval of `value` minor units, if special.
    /// Applied in every currency: the platform lists 197 and 202 for Norway only, but nothing
    /// makes them pay in Denmark or Finland either.
    pub fn of(value: i64) -> Option<Self> {
        let reason = match value {
            151 => "Insufficient funds",
            182 => "Refused by the card issuer",
            183 => "Suspected fraud",
            184 => "Withdrawal limit exceeded",
            186 => "Expired card",
            187 => "Invalid card",
            197 => "3-D Secure denied",
            202 => "Strong customer authentication required",
            201 => return Some(Self::UnknownResult),
            _ => return None,
        };
        Some(Self::Refused(reason))
    }
}

/// How long the result of a 201 approval stays unknown.
const UNKNOWN_RESULT_FOR: chrono::Duration = chrono::Duration::hours(1);

/// A webhook body waiting for delivery to the registrations that want it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The sales unit it concerns.
    pub msn: String,
    /// The Webhooks API event type.
    pub event_type: &'static str,
    /// What it is kept in order with: the platform keeps a registration's events in order per
    /// payment (its reference), not across payments.
    pub order: String,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The first answer to an idempotent write, replayed when the same key comes again.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The operation the key was first used for.
    pub operation: Operation,
    /// The payment it was for.
    pub reference: String,
    /// The body as the platform compares it: another body under the same key is a conflict.
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
    /// Access tokens that have not expired yet (or not been swept since).
    tokens: HashMap<String, IssuedToken>,
    /// The same tokens in the order they were issued, which with one lifetime for all is the
    /// order they expire in: each issue sweeps the expired ones off the front.
    tokens_by_expiry: VecDeque<(DateTime<Utc>, String)>,
    /// The newest tokens issued, expired ones included, for tests that look for leaks.
    issued: Recent<String>,
    payments: HashMap<(String, String), Payment>,
    by_token: HashMap<String, (String, String)>,
    /// Answers by sales unit and idempotency key. Whether the platform scopes keys per MSN, or
    /// per merchant, reference or operation, is UNCONFIRMED (reference/vipps-apis.md §3.9); per
    /// MSN is the narrowest reading that never lets two sales units collide.
    idempotency: HashMap<(String, String), Replay>,
    /// Open payments by the time something happens to them by itself, so the sweep before every
    /// call looks only at what is due (entries for payments answered since are skipped).
    due: BTreeSet<(DateTime<Utc>, (String, String))>,
    outgoing: Vec<Outgoing>,
    /// The profile scopes customers shared with sales units.
    consents: Consents,
}

impl World {
    /// A platform with no payments yet.
    pub fn new(config: SimConfig) -> Self {
        Self {
            config,
            tokens: HashMap::new(),
            tokens_by_expiry: VecDeque::new(),
            issued: Recent::new(ISSUED_TOKENS_KEPT),
            payments: HashMap::new(),
            by_token: HashMap::new(),
            idempotency: HashMap::new(),
            due: BTreeSet::new(),
            outgoing: Vec::new(),
            consents: Consents::default(),
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
        while let Some((_, expired)) = self.tokens_by_expiry.pop_front_if(|(at, _)| *at <= now) {
            self.tokens.remove(&expired);
        }
        let token = format!("sim.{}.{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let lifetime = i64::try_from(self.config.token_lifetime_secs).unwrap_or(3600);
        let expires_at = now + chrono::Duration::seconds(lifetime);
        self.tokens.insert(token.clone(), IssuedToken { client_id: client_id.to_owned(), expires_at });
        self.tokens_by_expiry.push_back((expires_at, token.clone()));
        self.issued.push(token.clone());
        Ok((token, expires_at))
    }

    /// The newest access tokens issued (1000 at most), expired ones included.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.issued.to_vec()
    }

    /// The sales unit whose valid access token `bearer` is, when it comes with that unit's own
    /// subscription key. The caller checks the `Merchant-Serial-Number` (`http::authenticate`).
    pub fn authenticate(
        &self,
        bearer: Option<&str>,
        subscription_key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<&SalesUnit, SimError> {
        let Some(token) = bearer else {
            return Err(SimError::unauthorized(
                "Missing or malformed Authorization header: use 'Bearer <token>'.",
            ));
        };
        let invalid = || SimError::unauthorized("The access token is invalid or has expired.");
        let issued = self.tokens.get(token).filter(|t| t.expires_at > now).ok_or_else(invalid)?;
        let unit =
            self.config.sales_units.iter().find(|u| u.client_id == issued.client_id).ok_or_else(invalid)?;
        if subscription_key != Some(unit.subscription_key.expose()) {
            return Err(SimError::unauthorized(
                "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
            ));
        }
        Ok(unit)
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

    /// The profile scopes customers shared with sales units.
    pub fn consents(&self) -> &Consents {
        &self.consents
    }

    /// Takes the webhooks queued by the operations so far.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outgoing)
    }

    /// Creates a payment whose request has already been validated, for the customer with
    /// `customer_phone` if it names one. Returns the URL token.
    pub fn create(
        &mut self,
        unit_msn: &str,
        request: CreatePaymentRequest,
        idempotency_key: Option<String>,
        customer_phone: Option<String>,
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
            create_key: idempotency_key.clone(),
            customer_phone,
            state: State::Created,
            aggregate: Aggregate::zero(currency),
            token: token.clone(),
            expires_at,
            events: Vec::new(),
            received: Recent::new(RECEIVED_KEPT),
            processing_until: None,
            profile_sub: None,
            request,
        };
        let amount = payment.request.amount;
        self.record(&mut payment, PaymentEventName::Created, amount, idempotency_key, now, true);
        self.by_token.insert(token.clone(), key.clone());
        self.put(payment);
        Ok(token)
    }

    /// The customer with phone number `approver` (if known) approves in the app. A payment that
    /// asks for profile data (`profile.scope`) shows its consent screen first: a customer who
    /// shares it (`shares`) pays and is named by the payment's `profile.sub`; one who does not
    /// cannot pay, and the payment fails (aborted), as the platform's profile sharing guide
    /// says. One younger than the payment's `minimumUserAge` may not pay (7010), and a magic
    /// test amount makes the authorization fail: the error says why, for the phone page.
    pub fn approve(
        &mut self,
        msn: &str,
        reference: &str,
        approver: Option<&str>,
        shares: bool,
        now: DateTime<Utc>,
    ) -> Result<(), SimError> {
        let mut payment = self.take_open(msn, reference, now)?;
        let customer = approver.and_then(|phone| self.config.customer(phone)).cloned();
        let too_young = customer
            .as_ref()
            .and_then(|customer| validate::old_enough(payment.request.minimum_user_age, customer).err());
        if let Some(refusal) = too_young {
            // The app does not let them pay; anyone else still may.
            self.put(payment);
            return Err(refusal);
        }
        let key = payment.create_key.clone();
        let amount = payment.request.amount;
        let asked = userinfo::asked_for(&userinfo::scope_words(payment.profile_scope()));
        // Nobody known to share with is nobody who agreed.
        if let (Some(asked), false) = (&asked, shares && customer.is_some()) {
            // "If the user doesn't consent, the payment will fail."
            payment.state = State::Aborted;
            self.record(&mut payment, PaymentEventName::Aborted, amount, key, now, true);
            self.put(payment);
            return Err(approve_failed(&format!(
                "You did not agree to share {asked}, so the payment was cancelled: the app lets no one pay without it."
            )));
        }
        let outcome = match MagicAmount::of(amount.value) {
            None => {
                payment.state = State::Authorized;
                payment.aggregate.authorized_amount = amount;
                if let Some((sub, words)) =
                    userinfo::consent(payment.profile_scope(), customer.as_ref(), shares)
                {
                    self.consents.grant(msn, &sub, &words);
                    payment.profile_sub = Some(sub);
                }
                self.record(&mut payment, PaymentEventName::Authorized, amount, key, now, true);
                Ok(())
            }
            Some(MagicAmount::Refused(reason)) => {
                // The merchant hears of the failure, but the payment stays open: in the app the
                // customer could pick another card. If nobody does, it expires.
                self.record(&mut payment, PaymentEventName::Authorized, amount, key, now, false);
                Err(approve_failed(&format!(
                    "{reason} (test amount {}): the authorization failed. The payment stays open until it expires.",
                    amount.value
                )))
            }
            Some(MagicAmount::UnknownResult) => {
                payment.processing_until = Some(now + UNKNOWN_RESULT_FOR);
                Err(approve_failed(
                    "Unknown result (test amount 201): the payment stays CREATED, without events, for an hour; then the authorization fails.",
                ))
            }
        };
        self.put(payment);
        outcome
    }

    /// The customer declines in the app.
    pub fn decline(&mut self, msn: &str, reference: &str, now: DateTime<Utc>) -> Result<(), SimError> {
        let mut payment = self.take_open(msn, reference, now)?;
        payment.state = State::Aborted;
        let key = payment.create_key.clone();
        let amount = payment.request.amount;
        self.record(&mut payment, PaymentEventName::Aborted, amount, key, now, true);
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
        let (deadline, partial_allowed) = self
            .config
            .sales_unit(msn)
            .map_or((chrono::Duration::MAX, true), |u| (u.capture_deadline, u.partial_capture_allowed));
        self.modify(msn, reference, idempotency_key, now, |payment| {
            check_currency(payment, amount)?;
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
            if payment.capturable() == 0 {
                return Err(SimError::domain(
                    400,
                    6170,
                    "Payment already captured",
                    "The whole amount is captured already.",
                ));
            }
            if payment.authorized_at().is_some_and(|at| is_past(at, deadline, now)) {
                return Err(SimError::domain(
                    400,
                    6100,
                    "Capture period expired",
                    "The reservation is older than the sales unit's capture deadline; it can no longer be captured.",
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
            if !partial_allowed && amount.value != payment.capturable() {
                return Err(SimError::domain(
                    400,
                    6140,
                    "Must capture full amount",
                    "This sales unit cannot capture part of a payment: capture the whole amount.",
                ));
            }
            payment.aggregate.captured_amount.value += amount.value;
            Ok((PaymentEventName::Captured, amount))
        })
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
        let window = self.config.sales_unit(msn).map_or(chrono::Duration::MAX, |u| u.refund_window);
        self.modify(msn, reference, idempotency_key, now, |payment| {
            check_currency(payment, amount)?;
            if payment.state != State::Authorized {
                return Err(SimError::domain(
                    400,
                    6020,
                    "Attempted refund before reservation",
                    "Only a captured payment can be refunded.",
                ));
            }
            let Aggregate { captured_amount: captured, refunded_amount: refunded, .. } = payment.aggregate;
            // All of it: every øre captured is refunded, and no more can be captured.
            if refunded.value > 0 && refunded.value == captured.value && payment.capturable() == 0 {
                return Err(SimError::domain(
                    400,
                    6180,
                    "Payment already refunded",
                    "The whole captured amount is refunded already.",
                ));
            }
            if amount.value > captured.value - refunded.value {
                return Err(SimError::domain(
                    400,
                    6150,
                    "Not enough refundable",
                    "The refund amount exceeds the captured amount not yet refunded.",
                ));
            }
            let captured_at = payment.last_success(PaymentEventName::Captured);
            if captured_at.is_some_and(|at| is_past(at, window, now)) {
                return Err(refund_period_expired());
            }
            // Test amounts: a valid refund the bank then refuses.
            match payment.request.amount.value {
                123 => {
                    return Err(SimError::domain(
                        400,
                        5100,
                        "Refund not possible",
                        "The refund cannot be made (test amount 123: the customer's account is gone).",
                    ));
                }
                124 => return Err(refund_period_expired()),
                _ => {}
            }
            payment.aggregate.refunded_amount.value += amount.value;
            Ok((PaymentEventName::Refunded, amount))
        })
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
        // Cancelling is possible within the cancel period, and only while the reservation can
        // still be captured (reference/vipps-apis.md §3.7).
        let period = self
            .config
            .sales_unit(msn)
            .map_or(chrono::Duration::MAX, |u| u.cancel_period.min(u.capture_deadline));
        let already_cancelled = || {
            SimError::domain(400, 6190, "Payment cannot be cancelled", "The payment is already cancelled.")
        };
        self.modify(msn, reference, idempotency_key, now, |payment| {
            let period_over = payment.authorized_at().is_some_and(|at| is_past(at, period, now));
            match payment.state {
                State::Created if payment.processing_until.is_some() => Err(SimError::domain(
                    400,
                    6250,
                    "Cannot cancel processing payment",
                    "The customer's authorization is being processed; its result is not known yet.",
                )),
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
                State::Authorized if payment.aggregate.cancelled_amount.value > 0 => Err(already_cancelled()),
                State::Authorized if payment.capturable() == 0 => Err(SimError::domain(
                    400,
                    6040,
                    "Cannot cancel a captured payment",
                    "The whole amount is captured; refund instead.",
                )),
                State::Authorized if period_over => Err(SimError::domain(
                    400,
                    6030,
                    "Cancel period expired",
                    "The reservation is past the sales unit's cancel period or capture deadline.",
                )),
                State::Authorized => {
                    let rest = payment.capturable();
                    payment.aggregate.cancelled_amount.value = rest;
                    Ok((PaymentEventName::Cancelled, Amount::new(rest, payment.request.amount.currency)))
                }
                State::Terminated => Err(already_cancelled()),
                State::Aborted | State::Expired => Err(SimError::domain(
                    400,
                    6050,
                    "Cannot cancel a non-reserved payment",
                    "The payment was never approved; there is nothing to cancel.",
                )),
            }
        })
    }

    /// Notes a write on a payment's record of received calls.
    pub fn note_received(&mut self, msn: &str, reference: &str, write: ReceivedWrite) {
        if let Some(p) = self.payments.get_mut(&(msn.to_owned(), reference.to_owned())) {
            p.received.push(write);
        }
    }

    /// Expires every open payment whose time has run out, and fails every authorization whose
    /// unknown hour is up.
    pub fn expire_due(&mut self, now: DateTime<Utc>) {
        while self.due.first().is_some_and(|(at, _)| *at <= now) {
            let Some((_, key)) = self.due.pop_first() else { break };
            if let Some(mut payment) = self.payments.remove(&key) {
                self.settle_due(&mut payment, now);
                self.put(payment);
            }
        }
    }

    /// Applies to `payment` what is due by `now`, each at the time it fell due.
    fn settle_due(&mut self, payment: &mut Payment, now: DateTime<Utc>) {
        if !payment.is_due(now) {
            return;
        }
        let amount = payment.request.amount;
        if let Some(until) = payment.processing_until.take() {
            // The unknown result turns out a failure. By then the customer's time is long up,
            // so the payment expires with it rather than before it.
            let key = payment.create_key.clone();
            self.record(payment, PaymentEventName::Authorized, amount, key, until, false);
            payment.expires_at = payment.expires_at.max(until);
        }
        if payment.expires_at <= now {
            payment.state = State::Expired;
            self.record(payment, PaymentEventName::Expired, amount, None, payment.expires_at, true);
        }
    }

    /// A merchant's change to a payment (capture, refund, cancel): `change` checks the payment
    /// and changes it, or refuses and leaves it as it was. The event it names is logged and
    /// queued as a webhook, and the payment goes back in either way.
    fn modify(
        &mut self,
        msn: &str,
        reference: &str,
        idempotency_key: Option<String>,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Payment) -> Result<(PaymentEventName, Amount), SimError>,
    ) -> Result<ModificationResponse, SimError> {
        let mut payment = self.take(msn, reference)?;
        self.settle_due(&mut payment, now);
        let outcome = change(&mut payment).map(|(name, amount)| {
            // The platform leaves the idempotency key out of CANCELLED events.
            let key = if name == PaymentEventName::Cancelled { None } else { idempotency_key };
            let psp_reference = self.record(&mut payment, name, amount, key, now, true);
            payment.modification_response(psp_reference)
        });
        self.put(payment);
        outcome
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
        self.settle_due(&mut payment, now);
        if payment.state == State::Created && payment.processing_until.is_none() {
            return Ok(payment);
        }
        let detail = match payment.state {
            State::Created => "The customer's authorization is being processed; its result is not known yet.",
            State::Authorized => "This payment is already approved.",
            State::Aborted => "This payment was declined.",
            State::Expired => "This payment has expired.",
            State::Terminated => "This payment was cancelled by the merchant.",
        };
        self.put(payment);
        Err(SimError::domain(400, 10020, "Approve not allowed", detail))
    }

    fn put(&mut self, payment: Payment) {
        let key = (payment.msn.clone(), payment.reference.clone());
        if payment.state == State::Created {
            self.due.insert((payment.due_at(), key.clone()));
        }
        self.payments.insert(key, payment);
    }

    /// Appends an event to the log, queues its webhook, and returns its psp reference.
    fn record(
        &mut self,
        payment: &mut Payment,
        name: PaymentEventName,
        amount: Amount,
        idempotency_key: Option<String>,
        at: DateTime<Utc>,
        success: bool,
    ) -> String {
        let psp_reference = uuid::Uuid::new_v4().to_string();
        let event = PaymentEvent {
            reference: payment.reference.clone(),
            psp_reference: psp_reference.clone(),
            name,
            amount,
            timestamp: at,
            idempotency_key,
            success,
        };
        let webhook = WebhookEvent {
            msn: payment.msn.clone(),
            reference: event.reference.clone(),
            psp_reference: event.psp_reference.clone(),
            name,
            amount,
            timestamp: at,
            idempotency_key: event.idempotency_key.clone(),
            success,
        };
        if let Ok(body) = serde_json::to_vec(&webhook) {
            self.outgoing.push(Outgoing {
                msn: payment.msn.clone(),
                event_type: name.webhook_event_type(),
                order: event.reference.clone(),
                body,
            });
        }
        payment.events.push(event);
        psp_reference
    }
}

/// Is `now` more than `period` after `start`? A period too long to add up never ends.
fn is_past(start: DateTime<Utc>, period: chrono::Duration, now: DateTime<Utc>) -> bool {
    start.checked_add_signed(period).is_some_and(|end| now > end)
}

/// Why the customer's approval did not authorize the payment.
fn approve_failed(detail: &str) -> SimError {
    SimError::domain(400, 10010, "Approve failed", detail)
}

fn refund_period_expired() -> SimError {
    SimError::domain(
        400,
        6220,
        "Refund period expired",
        "The payment was captured too long ago to be refunded.",
    )
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
        world.create(MSN, request(reference, value), Some("k".into()), None, now()).unwrap();
        world.approve(MSN, reference, None, false, now()).unwrap();
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
        w.create(MSN, request("ref-00002", 1000), None, None, now()).unwrap();
        assert_eq!(w.capture(MSN, "ref-00002", nok(1000), None, now()).unwrap_err().code, Some(6080));
        w.approve(MSN, "ref-00002", None, false, now()).unwrap();
        assert_eq!(w.capture(MSN, "ref-00002", nok(1001), None, now()).unwrap_err().code, Some(6090));
        w.capture(MSN, "ref-00002", nok(1000), None, now()).unwrap();
        assert_eq!(w.cancel(MSN, "ref-00002", false, None, now()).unwrap_err().code, Some(6040));
    }

    #[test]
    fn cancel_transaction_only_terminates_an_open_payment_but_never_an_approved_one() {
        let mut w = world();
        w.create(MSN, request("ref-00003", 500), None, None, now()).unwrap();
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
        w.create(MSN, request("ref-00005", 500), None, None, now()).unwrap();
        w.expire_due(now() + chrono::Duration::seconds(599));
        assert_eq!(w.payment(MSN, "ref-00005").unwrap().state, State::Created);
        w.expire_due(now() + chrono::Duration::seconds(600));
        assert_eq!(w.payment(MSN, "ref-00005").unwrap().state, State::Expired);
        assert!(w.approve(MSN, "ref-00005", None, false, now()).is_err());
    }

    #[test]
    fn a_reused_reference_is_refused() {
        let mut w = world();
        w.create(MSN, request("ref-00006", 500), None, None, now()).unwrap();
        let err = w.create(MSN, request("ref-00006", 500), None, None, now()).unwrap_err();
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
    fn a_magic_amount_fails_the_approval_with_a_failed_authorized_event_and_leaves_it_open() {
        let mut w = world();
        w.create(MSN, request("ref-00009", 151), Some("k".into()), None, now()).unwrap();
        let err = w.approve(MSN, "ref-00009", None, false, now()).unwrap_err();
        assert!(err.detail.contains("Insufficient funds"), "{err}");
        let p = w.payment(MSN, "ref-00009").unwrap();
        assert_eq!(p.state, State::Created);
        assert_eq!(p.aggregate.authorized_amount.value, 0);
        let last = p.events.last().unwrap();
        assert_eq!((last.name, last.success), (PaymentEventName::Authorized, false));
        w.expire_due(now() + chrono::Duration::minutes(10));
        assert_eq!(w.payment(MSN, "ref-00009").unwrap().state, State::Expired);
    }

    #[test]
    fn an_unknown_result_holds_the_payment_for_an_hour_then_fails_and_expires() {
        let mut w = world();
        w.create(MSN, request("ref-00010", 201), None, None, now()).unwrap();
        assert!(w.approve(MSN, "ref-00010", None, false, now()).is_err());
        w.expire_due(now() + chrono::Duration::minutes(59));
        let p = w.payment(MSN, "ref-00010").unwrap();
        assert_eq!((p.state, p.events.len()), (State::Created, 1));
        let later = now() + chrono::Duration::minutes(30);
        assert_eq!(w.cancel(MSN, "ref-00010", true, None, later).unwrap_err().code, Some(6250));
        assert_eq!(w.approve(MSN, "ref-00010", None, false, later).unwrap_err().code, Some(10020));
        w.expire_due(now() + chrono::Duration::hours(1));
        let p = w.payment(MSN, "ref-00010").unwrap();
        let log: Vec<_> = p.events.iter().map(|e| (e.name, e.success)).collect();
        assert_eq!(
            log,
            [
                (PaymentEventName::Created, true),
                (PaymentEventName::Authorized, false),
                (PaymentEventName::Expired, true)
            ]
        );
        assert_eq!(p.events[1].timestamp, p.events[2].timestamp);
    }

    #[test]
    fn capture_cancel_and_refund_keep_the_sales_units_deadlines() {
        let day = chrono::Duration::days(1);
        let mut w = world();
        authorized(&mut w, "ref-00011", 1000);
        w.capture(MSN, "ref-00011", nok(100), None, now() + day * 180).unwrap();
        let late = now() + day * 180 + chrono::Duration::seconds(1);
        assert_eq!(w.capture(MSN, "ref-00011", nok(100), None, late).unwrap_err().code, Some(6100));
        assert_eq!(w.cancel(MSN, "ref-00011", false, None, late).unwrap_err().code, Some(6030));
        let captured_at = now() + day * 180;
        w.refund(MSN, "ref-00011", nok(10), None, captured_at + day * 365).unwrap();
        let too_late = captured_at + day * 365 + chrono::Duration::seconds(1);
        assert_eq!(w.refund(MSN, "ref-00011", nok(10), None, too_late).unwrap_err().code, Some(6220));
    }

    #[test]
    fn expired_access_tokens_are_forgotten_when_the_next_is_issued_but_stay_listed() {
        let mut w = world();
        let unit = w.config.sales_units[0].clone();
        let mut issue = |at| {
            let (id, secret, key) =
                (&unit.client_id, unit.client_secret.expose(), unit.subscription_key.expose());
            w.issue_token(id, secret, key, at).unwrap().0
        };
        let old = issue(now());
        let new = issue(now() + chrono::Duration::hours(2));
        assert_eq!(w.tokens.keys().collect::<Vec<_>>(), [&new]);
        assert_eq!(w.tokens_by_expiry.len(), 1);
        assert_eq!(w.issued_tokens(), [old.clone(), new]);
        assert!(w.authenticate(Some(&old), Some(unit.subscription_key.expose()), now()).is_err());
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

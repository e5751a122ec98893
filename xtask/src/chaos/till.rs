//! One till's cashier, and the customers who answer it: sales one after another until the run
//! has started enough or its time is up.
//!
//! Each sale goes as a cashier would take it through the till's API: a start (QR code or the
//! customer's phone number) carrying one `Idempotency-Key` however often it is retried; the
//! customer approving or declining on the simulator's phone page, or the cashier cancelling; and
//! automatic capture finishing it. The server dies under it every few seconds, so every request is
//! retried until answered (the same key for the same action), and a sale whose create does not
//! land is sometimes cancelled while the till still shows "creating", as an impatient cashier
//! would: the late-create case. Everything the till was shown is kept in its [`Intent`] for the
//! comparison at the end.
//!
//! With several instances a till talks to its own, and a request its own does not answer (down,
//! or killed under the request) goes to the other at once, as a load balancer in front of them
//! would send it ([`Shared::send`]): a sale started at one instance is often followed, cancelled
//! or captured at the other.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::Shared;
use super::platform::Platform;
use super::rng::Rng;
use super::verdict::{Action, Intent, is_final};
use crate::http::{Request, Response};

/// How often a cashier looks at a sale it waits on.
const POLL: Duration = Duration::from_millis(250);

/// The longest a cashier waits for one sale to end before cancelling it.
const SALE_PATIENCE: Duration = Duration::from_secs(90);

/// The longest any cashier watches a sale "creating" before cancelling it.
const CREATING_PATIENCE: Duration = Duration::from_secs(20);

/// The longest one action (a start, a cancel) is retried while the server does not answer.
const ACTION_PATIENCE: Duration = Duration::from_mins(1);

/// A till of the run, paired.
#[derive(Debug, Clone)]
pub(crate) struct TillSetup {
    pub(crate) id: String,
    /// Its store's sales unit.
    pub(crate) msn: String,
    /// Its store's currency.
    pub(crate) currency: String,
    /// A customer's number as the cashier types it (the store's country is the default).
    pub(crate) typed_phone: &'static str,
    /// That customer at the simulator, who also scans the till's QR codes.
    pub(crate) customer: &'static str,
    /// The session cookie, `name=value`.
    pub(crate) cookie: String,
    /// The kasse-server instance it talks to (from 0); while that one does not answer, the other.
    pub(crate) home: usize,
}

/// What the cashier means to do with a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Approve,
    Decline,
    Cancel,
}

/// The cashier of one till.
struct Cashier<'a> {
    till: &'a TillSetup,
    shared: &'a Shared,
    rng: Rng,
}

/// Takes sales at `till` until the run has started enough of them or its time is up; what each
/// was.
pub(crate) fn work(till: &TillSetup, shared: &Shared, rng: Rng) -> Vec<Intent> {
    let mut cashier = Cashier { till, shared, rng };
    let mut intents = Vec::new();
    while Instant::now() < shared.drive_until && !shared.over() {
        let number = shared.claim();
        if number >= shared.sales {
            break;
        }
        thread::sleep(shared.start_at(number).saturating_duration_since(Instant::now()));
        let intent = cashier.sale(number, &mut intents);
        intents.push(intent);
        let pause = cashier.rng.between(Duration::ZERO, Duration::from_millis(300));
        thread::sleep(pause);
    }
    intents
}

impl Cashier<'_> {
    /// Says what happened, in the run's log.
    fn note(&self, number: usize, what: impl std::fmt::Display) {
        self.shared.journal.note(format_args!("{} #{number}: {what}", self.till.id));
    }

    /// Sale number `number`, from start to end; `earlier` are this till's sales so far.
    fn sale(&mut self, number: usize, earlier: &mut [Intent]) -> Intent {
        // Amounts from 10.00 up, each in its own band of 97 øre/cents, so no two sales of the run
        // share one and an amount identifies its sale everywhere.
        let amount =
            1_000 + i64::try_from(number).unwrap_or(0) * 97 + i64::try_from(self.rng.below(97)).unwrap_or(0);
        let flow = if self.rng.chance(0.5) { "qr" } else { "phone" };
        let roll = self.rng.fraction();
        let plan = if roll < 0.7 {
            Plan::Approve
        } else if roll < 0.83 {
            Plan::Decline
        } else {
            Plan::Cancel
        };
        let mut intent = Intent {
            number,
            till: self.till.id.clone(),
            msn: self.till.msn.clone(),
            amount,
            flow,
            key: self.rng.hex(16),
            reference: None,
            shown: Vec::new(),
            actions: Vec::new(),
            creating: Duration::ZERO,
        };
        self.note(
            number,
            format_args!(
                "start {amount} {} by {flow}, plan {plan:?}, key {}",
                self.till.currency, intent.key
            ),
        );
        let Some(sale) = self.start(&mut intent, earlier) else {
            self.note(number, "no sale: the start was refused or never answered");
            return intent;
        };
        let reference = text(&sale, "reference");
        intent.reference = Some(reference.clone());
        self.follow(&mut intent, &reference, &sale, plan);
        intent
    }

    /// Starts the sale, retrying with the same key until the server answers; the sale it
    /// answered with.
    fn start(&mut self, intent: &mut Intent, earlier: &mut [Intent]) -> Option<Json> {
        let amount = json!({ "value": intent.amount, "currency": self.till.currency });
        let mut body = json!({ "amount": amount, "flow": intent.flow });
        if intent.flow == "phone" {
            body["phoneNumber"] = Json::from(self.till.typed_phone);
        }
        let give_up = self.shared.bounded(ACTION_PATIENCE);
        let mut busy_since = None;
        let mut silent = 0;
        while Instant::now() < give_up && !self.shared.over() {
            let answer = self.shared.send(self.till.home, |server| {
                Request::post(format!("{server}/api/tills/{}/sales", self.till.id))
                    .header("Cookie", self.till.cookie.clone())
                    .header("Idempotency-Key", intent.key.clone())
                    .json(&body)
                    .timeout(Duration::from_secs(30))
            });
            match answer {
                Ok(answer) if answer.status == 201 || answer.status == 202 => {
                    if let Ok(sale) = answer.json() {
                        if silent > 0 {
                            self.note(
                                intent.number,
                                format_args!("answered {} after {silent} unanswered tries", answer.status),
                            );
                        }
                        intent.show(&text(&sale, "status"));
                        return Some(sale);
                    }
                }
                Ok(answer) if answer.status == 409 && problem_code(&answer) == "till-busy" => {
                    let since = *busy_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_secs(20) {
                        self.clear_the_way(intent.number, earlier);
                        busy_since = None;
                    }
                }
                Ok(answer) if answer.status >= 500 || answer.status == 429 => {
                    self.note(
                        intent.number,
                        format_args!("start answered {}: {}", answer.status, answer.text()),
                    );
                }
                Ok(answer) => {
                    self.note(
                        intent.number,
                        format_args!("START REFUSED {}: {}", answer.status, answer.text()),
                    );
                    return None;
                }
                Err(_) => silent += 1,
            }
            thread::sleep(self.rng.between(Duration::from_millis(150), Duration::from_millis(400)));
        }
        None
    }

    /// The till has been busy for long with a sale nobody is finishing (one whose start was
    /// never answered): the cashier cancels it, as the till's "busy" message asks.
    fn clear_the_way(&mut self, number: usize, earlier: &mut [Intent]) {
        let Some(snapshot) = self.get(&format!("/api/tills/{}", self.till.id)) else { return };
        let Some(sale) = snapshot.get("sale").filter(|sale| !sale.is_null()) else { return };
        let status = text(sale, "status");
        if !open_request(&status) {
            // Final, or approved: automatic capture has to finish that one, not the cashier.
            return;
        }
        let reference = text(sale, "reference");
        let amount = sale.pointer("/amount/value").and_then(Json::as_i64).unwrap_or_default();
        self.note(number, format_args!("the till is busy with {reference} ({status}): closing it up"));
        let status = self.cancel(number, &reference);
        if let Some(owner) = earlier.iter_mut().find(|i| i.amount == amount) {
            owner.actions.push(Action::ClosedUp);
            if let Some(status) = status {
                owner.show(&status);
            }
        }
    }

    /// Takes a started sale to its end as `plan` says.
    fn follow(&mut self, intent: &mut Intent, reference: &str, first: &Json, plan: Plan) {
        let mut sale = first.clone();
        let mut status = text(&sale, "status");
        let since = Instant::now();
        // Shorter than a hold of the creates lasts, now and then: the late-create case.
        let patience = self.rng.between(Duration::from_secs(1), Duration::from_secs(5));
        let mut waited_out = false;
        let mut cancelled = false;
        while status == "creating" && !self.shared.over() {
            // An impatient cashier gives up soon, now and then; every cashier after a while.
            let impatient = !waited_out && since.elapsed() > patience;
            if impatient || since.elapsed() > CREATING_PATIENCE {
                waited_out = true;
                if !impatient || plan == Plan::Cancel || self.rng.chance(0.6) {
                    self.note(
                        intent.number,
                        format_args!("{reference} still creating after {:.1?}: cancelling", since.elapsed()),
                    );
                    intent.actions.push(Action::CancelledWhileCreating);
                    self.shared.withdrawn(reference, &self.till.msn, self.till.customer);
                    self.cancel_shown(intent, reference);
                    cancelled = true;
                    break;
                }
            }
            thread::sleep(POLL);
            if let Some(now) = self.sale_now(intent, reference) {
                sale = now;
                status = text(&sale, "status");
            }
        }
        if text(first, "status") == "creating" {
            intent.creating = since.elapsed();
        }
        if status == "awaitingCustomer" && !cancelled {
            // The customer takes a moment to find the phone.
            thread::sleep(self.rng.between(Duration::from_millis(300), Duration::from_secs(2)));
            match plan {
                Plan::Approve => self.answer(intent, reference, &sale, "approve"),
                Plan::Decline => self.answer(intent, reference, &sale, "decline"),
                Plan::Cancel => {
                    intent.actions.push(Action::Cancelled);
                    self.cancel_shown(intent, reference);
                }
            }
        }
        let status = self.until_final(intent, reference, self.shared.bounded(SALE_PATIENCE));
        if open_request(&status) {
            // Still asking (the customer's answer did not take, or the server is slow): the
            // cashier gives up on it so the till is free for the next customer. An approved sale
            // is left alone: capturing it is the server's job, and the end of the run judges it.
            self.note(intent.number, format_args!("{reference} still {status}: closing it up"));
            intent.actions.push(Action::ClosedUp);
            self.cancel_shown(intent, reference);
            self.until_final(intent, reference, self.shared.bounded(Duration::from_secs(30)));
        }
    }

    /// The customer answers the sale on the phone page: scanning its QR code, or the request on
    /// their phone.
    fn answer(&mut self, intent: &mut Intent, reference: &str, sale: &Json, action: &str) {
        let done = if action == "approve" { Action::Approved } else { Action::Declined };
        let give_up = self.shared.bounded(Duration::from_secs(20));
        while Instant::now() < give_up {
            let answer = if intent.flow == "qr" {
                let Some(qr) = sale.get("qr").and_then(Json::as_str) else {
                    self.note(intent.number, format_args!("{reference} shows no QR code: {sale}"));
                    return;
                };
                Platform::answer_qr(qr, self.till.customer, action).map(Some)
            } else {
                self.shared.platform.answer_request(self.till.customer, reference, action)
            };
            match answer {
                // The phone page answers a form it took with a redirect (303) to what it shows next.
                Ok(Some(answer)) if answer.status < 400 => {
                    intent.actions.push(done);
                    self.note(intent.number, format_args!("{reference}: the customer did {action}"));
                    return;
                }
                Ok(Some(answer)) => {
                    self.note(
                        intent.number,
                        format_args!("{reference}: the phone refused {action} ({})", answer.status),
                    );
                    return;
                }
                // Not on the phone yet, or the simulator was slow: look again.
                Ok(None) | Err(_) => thread::sleep(POLL),
            }
        }
        self.note(intent.number, format_args!("{reference}: the request never reached the phone"));
    }

    /// Cancels the sale, noting what the till is shown then.
    fn cancel_shown(&mut self, intent: &mut Intent, reference: &str) {
        if let Some(status) = self.cancel(intent.number, reference) {
            intent.show(&status);
        }
    }

    /// Cancels the sale, retrying with one key until the server answers; the status answered.
    fn cancel(&mut self, number: usize, reference: &str) -> Option<String> {
        let key = self.rng.hex(16);
        let give_up = self.shared.bounded(ACTION_PATIENCE);
        while Instant::now() < give_up && !self.shared.over() {
            let answer = self.shared.send(self.till.home, |server| {
                Request::post(format!("{server}/api/tills/{}/sales/{reference}/cancel", self.till.id))
                    .header("Cookie", self.till.cookie.clone())
                    .header("Idempotency-Key", key.clone())
                    .timeout(Duration::from_secs(30))
            });
            match answer {
                Ok(answer) if answer.status == 200 || answer.status == 202 => {
                    let status = answer.json().map(|sale| text(&sale, "status")).ok();
                    self.note(
                        number,
                        format_args!("{reference}: cancel answered {} ({status:?})", answer.status),
                    );
                    return status;
                }
                Ok(answer) if answer.status >= 500 || answer.status == 429 => {}
                Ok(answer) => {
                    self.note(
                        number,
                        format_args!("{reference}: cancel refused {}: {}", answer.status, answer.text()),
                    );
                    return None;
                }
                Err(_) => {}
            }
            thread::sleep(self.rng.between(Duration::from_millis(150), Duration::from_millis(400)));
        }
        self.note(number, format_args!("{reference}: the cancel was never answered"));
        None
    }

    /// Follows the sale until it is final or `until`; the last status seen.
    fn until_final(&self, intent: &mut Intent, reference: &str, until: Instant) -> String {
        let mut status = intent.shown.last().cloned().unwrap_or_default();
        while !is_final(&status) && Instant::now() < until && !self.shared.over() {
            thread::sleep(POLL);
            if let Some(sale) = self.sale_now(intent, reference) {
                status = text(&sale, "status");
            }
        }
        status
    }

    /// The sale as the till loads it now (noting its status), or `None` while the server does
    /// not answer.
    fn sale_now(&self, intent: &mut Intent, reference: &str) -> Option<Json> {
        let sale = self.get(&format!("/api/tills/{}/sales/{reference}", self.till.id))?;
        intent.show(&text(&sale, "status"));
        Some(sale)
    }

    /// A GET of the till API, `None` unless answered 200 with JSON.
    fn get(&self, path: &str) -> Option<Json> {
        let answer = self
            .shared
            .send(self.till.home, |server| {
                Request::get(format!("{server}{path}"))
                    .header("Cookie", self.till.cookie.clone())
                    .timeout(Duration::from_secs(15))
            })
            .ok()?;
        if answer.status == 200 { answer.json().ok() } else { None }
    }
}

/// Whether a sale in `status` is still a request the cashier may withdraw: not answered by the
/// customer yet.
fn open_request(status: &str) -> bool {
    status == "creating" || status == "awaitingCustomer"
}

/// A text field of a JSON object, empty when absent.
fn text(object: &Json, name: &str) -> String {
    object.get(name).and_then(Json::as_str).unwrap_or_default().to_owned()
}

/// The `code` of a problem answer, empty when it has none.
fn problem_code(answer: &Response) -> String {
    answer.json().map(|body| text(&body, "code")).unwrap_or_default()
}

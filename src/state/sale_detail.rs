//! The sale detail page's logic: what the cashier can still do with a sale (take all or part of a
//! reservation, release the rest, refund), checking the amounts they type, and keeping the sale
//! and its platform log as the server has them, live. The back office's page is the same, with
//! the manager's PIN asked for a refund above the store's limit.
//!
//! As on the till, the sale is never guessed: it changes only from a request's answer, a live
//! event, or a fresh read. A request without an answer makes the page say so and read again.

use kasse_api::{Money, Sale, SaleEvent, SaleStatus, TillEvent};

pub use super::money::{AmountMistake, parse_amount};
use super::pin;
use super::till::{Connection, Failure, Notice, moves_forward};

/// An action the cashier can take on the sale page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Take everything still reserved.
    CaptureAll,
    /// Take the amount typed in the "take part" field.
    CapturePart,
    /// Release what is reserved and not taken.
    Release,
    /// Give back the amount typed in the refund field (everything left when empty).
    Refund,
    /// Ask the platform now.
    CheckAgain,
}

/// A request the page should send, made from an action the cashier took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Capture this much, or everything reserved when `None`.
    Capture(Option<Money>),
    /// Cancel: release what is not captured.
    Release,
    /// Refund this much, confirmed by the manager's PIN where the store asks for it.
    Refund {
        /// How much.
        amount: Money,
        /// The PIN, in the back office when the amount is above the store's limit.
        pin: Option<String>,
    },
    /// Reconcile with the platform.
    Reconcile,
}

/// When a refund asks for a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundPin {
    /// Never: at the till, until the server says otherwise.
    Never,
    /// In the back office: when the sale's refunds would come to more than this in all (the
    /// store's limit), the manager's own.
    AboveInAll(Money),
    /// At the till, for a sale from an earlier day at a store that asks: a manager's, always.
    Manager,
}

impl RefundPin {
    /// The rule the page states, if any.
    pub const fn rule(self) -> Option<PinRule> {
        match self {
            Self::Never => None,
            Self::Manager => Some(PinRule::Manager),
            Self::AboveInAll(limit) if limit.value == 0 => Some(PinRule::Always),
            Self::AboveInAll(limit) => Some(PinRule::Above(limit)),
        }
    }
}

/// A refund rule the page states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRule {
    /// Every refund asks for the manager's PIN.
    Always,
    /// Refunds of more than this in all do.
    Above(Money),
    /// This sale is from an earlier day: a manager's PIN.
    Manager,
}

/// The sale detail page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleDetail {
    /// The sale as the server has it.
    pub sale: Sale,
    /// Its event log at the platform, oldest first; `None` while it cannot be read.
    pub log: Option<Vec<SaleEvent>>,
    /// The action whose request is on its way: no other can start meanwhile.
    pub pending: Option<Action>,
    /// A request got no answer: the sale is being read again.
    pub unsure: bool,
    /// A write was kept by the server but not yet answered by the platform (or may have been:
    /// the request got no answer), and the sale has not changed since: no other action starts
    /// until it does, so the same refund is not sent twice under two keys.
    pub waiting: bool,
    /// The sale's money when a write on its way was sent: an answer showing the same was kept
    /// by the server, not yet done (live events may have shown the change before the answer).
    money_when_sent: Option<[i64; 4]>,
    /// The server's sentence about the last refusal.
    pub notice: Option<Notice>,
    /// What is typed in the "take part" field.
    pub part: String,
    /// Why the "take part" amount cannot be used.
    pub part_mistake: Option<AmountMistake>,
    /// What is typed in the refund field.
    pub refund: String,
    /// Why the refund amount cannot be used.
    pub refund_mistake: Option<AmountMistake>,
    /// When a refund asks for a PIN.
    pub refund_pin: RefundPin,
    /// The manager's PIN as typed, for a refund that asks for it.
    pub pin: String,
    /// The PIN typed is not one (4 to 8 digits).
    pub pin_mistake: bool,
    /// The till's live event stream.
    pub connection: Connection,
    last_event_id: u64,
}

impl SaleDetail {
    /// The page for `sale`, following the till's events after `last_event_id`.
    pub fn new(sale: Sale, log: Option<Vec<SaleEvent>>, last_event_id: u64) -> Self {
        let mut detail = Self {
            sale,
            log: None,
            pending: None,
            unsure: false,
            waiting: false,
            money_when_sent: None,
            notice: None,
            part: String::new(),
            part_mistake: None,
            refund: String::new(),
            refund_mistake: None,
            refund_pin: RefundPin::Never,
            pin: String::new(),
            pin_mistake: false,
            connection: Connection::Connecting,
            last_event_id,
        };
        detail.set_log(log);
        detail
    }

    /// The page in the back office, where a refund above `limit` asks for the manager's PIN.
    #[must_use]
    pub const fn with_refund_pin_above(mut self, limit: Money) -> Self {
        self.refund_pin = RefundPin::AboveInAll(limit);
        self
    }

    /// Whether the refund as typed (everything left when nothing is) asks for the manager's PIN:
    /// the sale's refunds would then come to more than the limit in all.
    pub fn refund_needs_pin(&self) -> bool {
        let limit = match self.refund_pin {
            RefundPin::Never => return false,
            RefundPin::Manager => return true,
            RefundPin::AboveInAll(limit) => limit,
        };
        let amount = self.refund_amount().map_or(self.refundable(), |amount| amount);
        self.sale.refunded.value + amount.value > limit.value
    }

    /// The amount of the refund as typed: everything left when nothing is.
    fn refund_amount(&self) -> Result<Money, AmountMistake> {
        if self.refund.trim().is_empty() {
            Ok(self.refundable())
        } else {
            parse_amount(&self.refund, self.refundable())
        }
    }

    /// The id of the newest event applied: the stream resumes after it.
    pub const fn last_event_id(&self) -> u64 {
        self.last_event_id
    }

    /// What is reserved and can still be taken.
    pub fn capturable(&self) -> Money {
        Money::new(self.sale.capturable(), self.sale.amount.currency)
    }

    /// What was taken and can still be given back.
    pub fn refundable(&self) -> Money {
        Money::new(self.sale.refundable(), self.sale.amount.currency)
    }

    /// Whether the reservation can be taken (wholly or in part) or released: the customer
    /// approved and something reserved is neither taken nor released.
    pub fn can_capture(&self) -> bool {
        matches!(self.sale.status, SaleStatus::Authorized | SaleStatus::Captured)
            && self.sale.capturable() > 0
    }

    /// Whether some of what was taken can be given back.
    pub fn can_refund(&self) -> bool {
        self.sale.refundable() > 0
    }

    /// True while a request is on its way, or a write waits for the platform's answer.
    pub const fn busy(&self) -> bool {
        self.pending.is_some() || self.waiting
    }

    /// The page stops waiting for a write that has not shown (it was never made, or the platform
    /// is very slow: the server keeps it and bounds what can be refunded or taken either way).
    pub fn give_up_waiting(&mut self) {
        self.waiting = false;
    }

    /// The cashier typed in the "take part" field.
    pub fn type_part(&mut self, text: String) {
        self.part = text;
        self.part_mistake = None;
    }

    /// The cashier typed in the refund field.
    pub fn type_refund(&mut self, text: String) {
        self.refund = text;
        self.refund_mistake = None;
    }

    /// The manager typed in the PIN field.
    pub fn type_pin(&mut self, text: String) {
        self.pin = text;
        self.pin_mistake = false;
    }

    /// The cashier pressed `action`: the request to send, or `None` when it cannot be taken now
    /// (another is on its way, the sale does not allow it, or the typed amount has a mistake,
    /// which is then set).
    pub fn begin(&mut self, action: Action) -> Option<Request> {
        if self.busy() {
            return None;
        }
        let request = match action {
            Action::CaptureAll if self.can_capture() => Request::Capture(None),
            Action::CapturePart if self.can_capture() => match parse_amount(&self.part, self.capturable()) {
                Ok(amount) => Request::Capture(Some(amount)),
                Err(mistake) => {
                    self.part_mistake = Some(mistake);
                    return None;
                }
            },
            Action::Release if self.can_capture() => Request::Release,
            Action::Refund if self.can_refund() => {
                let amount = match self.refund_amount() {
                    Ok(amount) => amount,
                    Err(mistake) => {
                        self.refund_mistake = Some(mistake);
                        return None;
                    }
                };
                let pin = if self.refund_needs_pin() {
                    let Ok(pin) = pin::typed(&self.pin) else {
                        self.pin_mistake = true;
                        return None;
                    };
                    Some(pin)
                } else {
                    None
                };
                Request::Refund { amount, pin }
            }
            Action::CheckAgain => Request::Reconcile,
            _ => return None,
        };
        self.pending = Some(action);
        self.money_when_sent = Some(money_of(&self.sale));
        self.notice = None;
        Some(request)
    }

    /// The request was answered with the sale as it is now; the field it used is cleared. A
    /// write answered with the sale unchanged is kept by the server until the platform answers:
    /// the page waits for the sale to change.
    pub fn answered(&mut self, sale: Sale) {
        // Kept but not done: the answer shows the money as it was when sent, and nothing (a live
        // event before the answer) has shown it moving since.
        let as_sent = Some(money_of(&sale));
        self.waiting =
            self.moves_money() && self.money_when_sent == as_sent && Some(money_of(&self.sale)) == as_sent;
        self.money_when_sent = None;
        match self.pending.take() {
            Some(Action::CapturePart) => self.part.clear(),
            Some(Action::Refund) => {
                self.refund.clear();
                self.pin.clear();
            }
            _ => {}
        }
        self.unsure = false;
        self.show(sale);
    }

    /// The request did not succeed: a refusal's sentence is shown; without an answer the page
    /// says it is checking and reads the sale again.
    pub fn failed(&mut self, failure: Failure) {
        // A PIN is typed afresh for each try, right or wrong.
        self.pin.clear();
        let moved_money = self.moves_money();
        self.pending = None;
        self.money_when_sent = None;
        if let Failure::Refused(problem) = &failure
            && problem.code == Some(kasse_api::ProblemCode::ManagerPinRequired)
        {
            // Every refund of this sale needs one from now on: the field is shown.
            self.refund_pin = RefundPin::Manager;
        }
        match failure {
            Failure::Refused(problem) => self.notice = Some(Notice::Refused(problem)),
            Failure::NoAnswer => {
                self.unsure = true;
                // It may have reached the server: wait for the sale to show it.
                self.waiting = moved_money;
            }
        }
    }

    /// The sale, read again.
    pub fn reread(&mut self, sale: Sale) {
        self.unsure = false;
        self.show(sale);
    }

    /// The event log, read again (`None`: it could not be read).
    pub fn set_log(&mut self, log: Option<Vec<SaleEvent>>) {
        self.log = log.map(|mut events| {
            events.sort_by_key(|e| e.at_ms);
            events
        });
    }

    /// A live event of the till. Returns true when it changed this sale (the page then reads its
    /// log again). Events already applied are ignored.
    pub fn apply_event(&mut self, id: u64, event: TillEvent) -> bool {
        if id <= self.last_event_id {
            return false;
        }
        self.last_event_id = id;
        match event {
            TillEvent::Sale { sale } if sale.reference == self.sale.reference => {
                let changed = sale != self.sale;
                self.show(sale);
                changed
            }
            _ => false,
        }
    }

    /// The stream's state changed.
    pub fn set_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    /// Whether the request on its way takes, releases or gives back money.
    const fn moves_money(&self) -> bool {
        matches!(
            self.pending,
            Some(Action::CaptureAll | Action::CapturePart | Action::Release | Action::Refund)
        )
    }

    /// Shows `sale` if it is this page's and not older than what the page shows (an answer or a
    /// read that left before a live event brought the sale further).
    fn show(&mut self, sale: Sale) {
        if sale.reference == self.sale.reference && moves_forward(&self.sale, &sale) {
            if sale != self.sale {
                // What was waited for has shown (or something else changed it): act anew.
                self.waiting = false;
            }
            self.sale = sale;
        }
    }
}

/// What a sale's money stands at: reserved, taken, released, given back.
const fn money_of(sale: &Sale) -> [i64; 4] {
    [sale.authorized.value, sale.captured.value, sale.cancelled.value, sale.refunded.value]
}

#[cfg(test)]
mod tests {
    use kasse_api::{Currency, Flow, Problem, SaleEventName};

    use super::*;

    const LEFT: Money = Money::new(10_000, Currency::Nok);

    fn sale(status: SaleStatus, authorized: i64, captured: i64, cancelled: i64, refunded: i64) -> Sale {
        let nok = |v| Money::new(v, Currency::Nok);
        Sale {
            reference: "kasse-till-1-a".into(),
            till_id: "till-1".into(),
            sticker_id: None,
            amount: nok(10_000),
            description: None,
            flow: Flow::Qr,
            customer: None,
            status,
            qr: None,
            expires_at_ms: None,
            authorized: nok(authorized),
            captured: nok(captured),
            cancelled: nok(cancelled),
            refunded: nok(refunded),
            failure: None,
            created_at_ms: 0,
            loyalty: None,
        }
    }

    #[test]
    fn an_approved_reservation_can_be_taken_in_part_then_the_rest_released() {
        let mut page = SaleDetail::new(sale(SaleStatus::Authorized, 10_000, 0, 0, 0), Some(vec![]), 3);
        assert!(page.can_capture() && !page.can_refund());
        page.type_part("40".into());
        assert_eq!(
            page.begin(Action::CapturePart),
            Some(Request::Capture(Some(Money::new(4_000, Currency::Nok))))
        );
        assert_eq!(page.begin(Action::Release), None, "no second action while one is on its way");
        page.answered(sale(SaleStatus::Captured, 10_000, 4_000, 0, 0));
        assert!(page.part.is_empty(), "the field is cleared once the amount is taken");
        assert!(page.can_capture(), "60.00 is still reserved");
        assert!(page.can_refund());
        assert_eq!(page.begin(Action::Release), Some(Request::Release));
        page.answered(sale(SaleStatus::Captured, 10_000, 4_000, 6_000, 0));
        assert!(!page.can_capture());
        assert_eq!(page.begin(Action::CaptureAll), None, "nothing is left to take");
    }

    #[test]
    fn a_mistyped_amount_sends_nothing_and_says_why_until_the_cashier_types_again() {
        let mut page = SaleDetail::new(sale(SaleStatus::Authorized, 10_000, 0, 0, 0), None, 0);
        page.type_part("150".into());
        assert_eq!(page.begin(Action::CapturePart), None);
        assert_eq!(page.part_mistake, Some(AmountMistake::MoreThanLeft { left: LEFT }));
        assert!(!page.busy());
        page.type_part("15".into());
        assert_eq!(page.part_mistake, None);
    }

    #[test]
    fn a_refund_gives_back_all_that_is_left_unless_an_amount_is_typed() {
        let mut page = SaleDetail::new(sale(SaleStatus::Captured, 10_000, 4_000, 6_000, 1_500), None, 0);
        assert_eq!(page.begin(Action::Refund), Some(refund(2_500, None)));
        let refusal = Problem::new(409, kasse_api::ProblemCode::NotCapturable, "No", "Not now.");
        page.failed(Failure::Refused(refusal.clone()));
        assert_eq!(page.notice, Some(Notice::Refused(refusal)));
        page.type_refund("30".into());
        assert_eq!(page.begin(Action::Refund), None);
        assert_eq!(
            page.refund_mistake,
            Some(AmountMistake::MoreThanLeft { left: Money::new(2_500, Currency::Nok) })
        );
        page.type_refund("15".into());
        assert_eq!(page.begin(Action::Refund), Some(refund(1_500, None)));
        assert_eq!(page.notice, None, "a new action clears the old refusal");
    }

    fn refund(value: i64, pin: Option<&str>) -> Request {
        Request::Refund { amount: Money::new(value, Currency::Nok), pin: pin.map(str::to_owned) }
    }

    #[test]
    fn in_the_back_office_a_refund_above_the_stores_limit_asks_for_the_pin_and_one_below_does_not() {
        let taken = sale(SaleStatus::Captured, 10_000, 10_000, 0, 0);
        let mut page =
            SaleDetail::new(taken.clone(), None, 0).with_refund_pin_above(Money::new(5_000, Currency::Nok));
        assert!(page.refund_needs_pin(), "nothing typed: all 100.00");
        page.type_refund("50".into());
        assert!(!page.refund_needs_pin());
        assert_eq!(page.begin(Action::Refund), Some(refund(5_000, None)), "up to the limit, no PIN");
        page.answered(sale(SaleStatus::Captured, 10_000, 10_000, 0, 5_000));

        // The sale's refunds would come to more than the limit in all: however small, one more
        // asks for the PIN.
        page.type_refund("0,01".into());
        assert!(page.refund_needs_pin());
        assert_eq!(page.begin(Action::Refund), None, "no PIN typed");
        assert!(page.pin_mistake && !page.busy());
        page.type_pin("12".into());
        assert!(!page.pin_mistake, "typing again clears the mistake");
        assert_eq!(page.begin(Action::Refund), None, "too short");
        page.type_pin("4711".into());
        assert_eq!(page.begin(Action::Refund), Some(refund(1, Some("4711"))));
        let wrong =
            Problem::new(403, kasse_api::ProblemCode::WrongPin, "Wrong PIN", "That PIN is not right.");
        page.failed(Failure::Refused(wrong));
        assert!(page.pin.is_empty(), "a refused PIN is typed afresh");
        assert_eq!(page.refund, "0,01", "the amount stays");

        let at_the_till = SaleDetail::new(taken, None, 0);
        assert!(!at_the_till.refund_needs_pin(), "the till asks for no PIN");
    }

    #[test]
    fn at_the_till_an_earlier_days_refund_asks_for_a_managers_pin_once_the_server_says_so() {
        let mut page = SaleDetail::new(sale(SaleStatus::Captured, 10_000, 10_000, 0, 0), None, 0);
        page.type_refund("20".into());
        assert_eq!(page.begin(Action::Refund), Some(refund(2_000, None)), "nothing asks for a PIN yet");
        let asked = Problem::new(403, kasse_api::ProblemCode::ManagerPinRequired, "PIN", "A manager's PIN.");
        page.failed(Failure::Refused(asked));
        assert!(page.refund_pin == RefundPin::Manager && page.refund_needs_pin());
        assert_eq!(page.refund, "20", "the amount stays");
        assert_eq!(page.begin(Action::Refund), None, "no PIN typed yet");
        assert!(page.pin_mistake);
        page.type_pin("4711".into());
        assert_eq!(page.begin(Action::Refund), Some(refund(2_000, Some("4711"))));
    }

    #[test]
    fn a_refund_the_platform_has_not_answered_pauses_the_page_until_the_sale_shows_it() {
        let taken = sale(SaleStatus::Captured, 10_000, 10_000, 0, 0);
        let mut page = SaleDetail::new(taken.clone(), None, 0);
        page.type_refund("30".into());
        assert!(page.begin(Action::Refund).is_some());
        // 202: kept, not yet answered; the sale comes back as it was.
        page.answered(taken.clone());
        assert!(page.waiting && page.busy());
        page.type_refund("30".into());
        assert_eq!(page.begin(Action::Refund), None, "not sent again under a new key");
        page.reread(taken.clone());
        assert!(page.busy(), "still as it was");
        page.reread(sale(SaleStatus::Captured, 10_000, 10_000, 0, 3_000));
        assert!(!page.busy(), "the refund shows: the page acts again");

        // The change shown by a live event before the answer came: nothing to wait for.
        let mut page = SaleDetail::new(taken.clone(), None, 0);
        page.type_refund("30".into());
        assert!(page.begin(Action::Refund).is_some());
        let refunded = sale(SaleStatus::Captured, 10_000, 10_000, 0, 3_000);
        page.apply_event(1, TillEvent::Sale { sale: refunded.clone() });
        page.answered(refunded);
        assert!(!page.busy(), "done, as the event showed");

        // No answer at all: it may have reached the server.
        let approved = sale(SaleStatus::Authorized, 10_000, 0, 0, 0);
        let mut page = SaleDetail::new(approved.clone(), None, 0);
        assert!(page.begin(Action::CaptureAll).is_some());
        page.failed(Failure::NoAnswer);
        assert!(page.waiting && page.busy());
        page.give_up_waiting();
        assert!(!page.busy(), "after a while the page lets the cashier act");
        // Asking the platform moves no money: its answer never makes the page wait.
        page.begin(Action::CheckAgain);
        page.answered(approved);
        assert!(!page.busy());
    }

    #[test]
    fn nothing_can_be_taken_or_given_back_before_approval_but_the_platform_can_be_asked() {
        let mut page = SaleDetail::new(sale(SaleStatus::AwaitingCustomer, 0, 0, 0, 0), None, 0);
        assert!(!page.can_capture() && !page.can_refund());
        assert_eq!(page.begin(Action::CaptureAll), None);
        assert_eq!(page.begin(Action::Refund), None);
        assert_eq!(page.begin(Action::CheckAgain), Some(Request::Reconcile));
    }

    #[test]
    fn without_an_answer_the_page_is_unsure_until_it_reads_the_sale_again() {
        let mut page = SaleDetail::new(sale(SaleStatus::Authorized, 10_000, 0, 0, 0), None, 0);
        page.begin(Action::CaptureAll);
        page.failed(Failure::NoAnswer);
        assert!(page.unsure && page.busy(), "it may have reached the server: wait for the sale");
        assert_eq!(page.notice, None, "no answer is not a refusal");
        page.reread(sale(SaleStatus::Captured, 10_000, 10_000, 0, 0));
        assert!(!page.unsure && !page.busy());
        assert_eq!(page.sale.status, SaleStatus::Captured);
    }

    #[test]
    fn live_events_of_this_sale_update_it_and_others_or_old_ones_do_not() {
        let mut page = SaleDetail::new(sale(SaleStatus::Authorized, 10_000, 0, 0, 0), None, 10);
        let mut other = sale(SaleStatus::AwaitingCustomer, 0, 0, 0, 0);
        other.reference = "kasse-till-1-b".into();
        assert!(!page.apply_event(11, TillEvent::Sale { sale: other }));
        assert!(
            !page.apply_event(9, TillEvent::Sale { sale: sale(SaleStatus::Captured, 10_000, 10_000, 0, 0) })
        );
        assert_eq!(page.sale.status, SaleStatus::Authorized);
        assert!(
            page.apply_event(12, TillEvent::Sale { sale: sale(SaleStatus::Captured, 10_000, 10_000, 0, 0) })
        );
        assert_eq!(page.sale.status, SaleStatus::Captured);
        assert_eq!(page.last_event_id(), 12);
    }

    #[test]
    fn an_answer_older_than_a_live_event_does_not_move_the_sale_back() {
        let mut page = SaleDetail::new(sale(SaleStatus::Authorized, 10_000, 0, 0, 0), None, 10);
        assert!(page.begin(Action::CheckAgain).is_some());
        let paid = sale(SaleStatus::Captured, 10_000, 10_000, 0, 0);
        assert!(page.apply_event(11, TillEvent::Sale { sale: paid.clone() }));
        // The platform's answer to "check again" was read before the capture.
        page.answered(sale(SaleStatus::Authorized, 10_000, 0, 0, 0));
        assert_eq!(page.sale, paid, "a final status is not replaced by an older unfinished one");
        assert!(!page.busy());

        // A refund shown live before the answer that kept it: the page neither goes back nor waits.
        page.type_refund("30".into());
        assert!(page.begin(Action::Refund).is_some());
        let refunded = sale(SaleStatus::Captured, 10_000, 10_000, 0, 3_000);
        page.apply_event(12, TillEvent::Sale { sale: refunded.clone() });
        page.answered(paid.clone());
        assert_eq!(page.sale, refunded, "no money comes back");
        assert!(!page.busy(), "what the answer said it kept has shown already");
        page.reread(paid);
        assert_eq!(page.sale, refunded, "nor from a read that left before the event");
    }

    #[test]
    fn the_log_is_kept_oldest_first() {
        let event =
            |name, at_ms| SaleEvent { name, amount: Money::new(100, Currency::Nok), at_ms, success: true };
        let page = SaleDetail::new(
            sale(SaleStatus::Captured, 100, 100, 0, 0),
            Some(vec![
                event(SaleEventName::Captured, 3),
                event(SaleEventName::Created, 1),
                event(SaleEventName::Authorized, 2),
            ]),
            0,
        );
        let names: Vec<_> = page.log.unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, [SaleEventName::Created, SaleEventName::Authorized, SaleEventName::Captured]);
    }
}

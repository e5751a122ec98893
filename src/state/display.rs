//! The customer display's logic: it mirrors the till's current sale, from the till's snapshot and
//! live events, as one calm screen: a welcome, the amount to pay (with the QR code for a QR
//! sale), or the outcome, which stays a minute and then gives way to the welcome again.

use kasse_api::{Flow, Money, Sale, SaleStatus, Till, TillEvent, TillSnapshot};

use super::till::{Charged, Connection, charged, moves_forward};

/// How long an outcome stays on the display after it happened, unless the next sale starts.
pub const OUTCOME_MS: i64 = 60_000;

/// What the customer sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Nothing to pay: the store's name and a welcome.
    Idle,
    /// The till is starting or stopping a payment request.
    OneMoment {
        /// The amount.
        amount: Money,
    },
    /// The customer is asked to pay.
    Pay {
        /// The amount.
        amount: Money,
        /// For a QR sale, the text of its QR code; `None` when the request went to the app.
        qr: Option<String>,
    },
    /// How it ended (or, for a till that captures by hand, that it was approved).
    Outcome {
        /// The amount, or what was taken of it when a capture took only part.
        amount: Charged,
        /// The status in words on screen.
        status: SaleStatus,
    },
}

/// The feeling an outcome should give at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Approved or paid.
    Success,
    /// Given back: neither good nor bad news at a counter.
    Neutral,
    /// Not paid.
    Failure,
}

/// The tone of an outcome.
pub const fn tone(status: SaleStatus) -> Tone {
    match status {
        SaleStatus::Authorized | SaleStatus::Captured => Tone::Success,
        SaleStatus::Refunded
        | SaleStatus::Creating
        | SaleStatus::AwaitingCustomer
        | SaleStatus::Cancelling => Tone::Neutral,
        SaleStatus::Declined | SaleStatus::Expired | SaleStatus::Cancelled | SaleStatus::Failed => {
            Tone::Failure
        }
    }
}

/// The customer display of one till.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayModel {
    /// The till it belongs to.
    pub till: Till,
    /// The till's current sale.
    pub sale: Option<Sale>,
    /// The live event stream.
    pub connection: Connection,
    /// When the current outcome was first seen here, if it was seen happening.
    outcome_seen_at_ms: Option<i64>,
    last_event_id: u64,
}

impl DisplayModel {
    /// The display of a freshly loaded till. An outcome already there when the display loads
    /// belongs to a customer who has left: the display starts with its welcome.
    pub fn new(snapshot: TillSnapshot) -> Self {
        Self {
            till: snapshot.till,
            sale: snapshot.sale,
            connection: Connection::Connecting,
            outcome_seen_at_ms: None,
            last_event_id: snapshot.last_event_id,
        }
    }

    /// The id of the newest event applied: the stream resumes after it.
    pub const fn last_event_id(&self) -> u64 {
        self.last_event_id
    }

    /// A live event at `now_ms`. Events already applied are ignored.
    pub fn apply_event(&mut self, id: u64, event: TillEvent, now_ms: i64) {
        if id <= self.last_event_id {
            return;
        }
        self.last_event_id = id;
        if let TillEvent::Sale { sale } = event {
            self.show(sale, now_ms);
        }
    }

    /// The till's state read again (after the stream came back), at `now_ms`. A snapshot read
    /// before events the display has applied is older than what it shows, and changes nothing.
    pub fn apply_snapshot(&mut self, snapshot: TillSnapshot, now_ms: i64) {
        if snapshot.last_event_id < self.last_event_id {
            return;
        }
        self.last_event_id = snapshot.last_event_id;
        if let Some(sale) = snapshot.sale {
            self.show(sale, now_ms);
        }
    }

    /// The stream's state changed.
    pub fn set_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    /// What to show at `now_ms`.
    pub fn screen(&self, now_ms: i64) -> Screen {
        let Some(sale) = &self.sale else { return Screen::Idle };
        let amount = sale.amount;
        match sale.status {
            SaleStatus::Creating | SaleStatus::Cancelling => Screen::OneMoment { amount },
            SaleStatus::AwaitingCustomer => {
                let qr = if sale.flow == Flow::Qr { sale.qr.clone() } else { None };
                if sale.flow == Flow::Qr && qr.is_none() {
                    Screen::OneMoment { amount }
                } else {
                    Screen::Pay { amount, qr }
                }
            }
            status => match self.outcome_seen_at_ms {
                Some(seen) if now_ms - seen < OUTCOME_MS => Screen::Outcome { amount: charged(sale), status },
                _ => Screen::Idle,
            },
        }
    }

    /// Shows `sale` unless it is older than the one on screen (another sale started before it, or
    /// the same sale as it was earlier), noting when an outcome appears.
    fn show(&mut self, sale: Sale, now_ms: i64) {
        let previous = match &self.sale {
            Some(current)
                if current.reference != sale.reference && sale.created_at_ms < current.created_at_ms =>
            {
                return;
            }
            Some(current) if current.reference == sale.reference => {
                if !moves_forward(current, &sale) {
                    return;
                }
                Some(current.status)
            }
            _ => None,
        };
        let is_outcome = |status: SaleStatus| status.is_final() || status == SaleStatus::Authorized;
        if !is_outcome(sale.status) {
            self.outcome_seen_at_ms = None;
        } else if !previous.is_some_and(is_outcome) {
            // Approved then captured is one outcome to the customer: its minute runs from the first.
            self.outcome_seen_at_ms = Some(now_ms);
        }
        self.sale = Some(sale);
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::Currency;

    use super::*;

    fn till() -> Till {
        Till {
            id: "till-1".into(),
            name: "Kasse 1".into(),
            store_name: "Kaffe".into(),
            loyalty: false,
            currency: Currency::Nok,
        }
    }

    fn sale(reference: &str, flow: Flow, status: SaleStatus, created_at_ms: i64) -> Sale {
        Sale {
            reference: reference.into(),
            till_id: "till-1".into(),
            sticker_id: None,
            amount: Money::new(10_000, Currency::Nok),
            description: None,
            flow,
            customer: None,
            status,
            qr: (flow == Flow::Qr).then(|| "http://sim/pay/t".to_owned()),
            expires_at_ms: None,
            authorized: Money::zero(Currency::Nok),
            captured: Money::zero(Currency::Nok),
            cancelled: Money::zero(Currency::Nok),
            refunded: Money::zero(Currency::Nok),
            failure: None,
            created_at_ms,
            loyalty: None,
        }
    }

    fn display(sale: Option<Sale>) -> DisplayModel {
        DisplayModel::new(TillSnapshot {
            till: till(),
            sale,
            presented: None,
            check_ins: Vec::new(),
            last_event_id: 5,
            platform_reachable: true,
        })
    }

    fn event(sale: Sale) -> TillEvent {
        TillEvent::Sale { sale }
    }

    const AMOUNT: Money = Money::new(10_000, Currency::Nok);

    #[test]
    fn a_qr_sale_shows_the_amount_and_its_code_then_paid_then_the_welcome_again() {
        let mut d = display(None);
        assert_eq!(d.screen(0), Screen::Idle);
        d.apply_event(6, event(sale("a", Flow::Qr, SaleStatus::Creating, 0)), 0);
        assert_eq!(d.screen(0), Screen::OneMoment { amount: AMOUNT });
        d.apply_event(7, event(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0)), 1);
        assert_eq!(d.screen(1), Screen::Pay { amount: AMOUNT, qr: Some("http://sim/pay/t".into()) });
        d.apply_event(8, event(sale("a", Flow::Qr, SaleStatus::Captured, 0)), 1_000);
        assert_eq!(
            d.screen(2_000),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Captured }
        );
        assert_eq!(d.screen(1_000 + OUTCOME_MS), Screen::Idle, "the next customer sees the welcome");
    }

    #[test]
    fn a_push_request_asks_the_customer_to_approve_in_the_app_without_a_code() {
        let mut d = display(None);
        d.apply_event(6, event(sale("a", Flow::Phone, SaleStatus::AwaitingCustomer, 0)), 0);
        assert_eq!(d.screen(0), Screen::Pay { amount: AMOUNT, qr: None });
    }

    #[test]
    fn the_next_sale_replaces_an_outcome_at_once() {
        let mut d = display(None);
        d.apply_event(6, event(sale("a", Flow::Qr, SaleStatus::Declined, 0)), 0);
        assert_eq!(
            d.screen(0),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Declined }
        );
        d.apply_event(7, event(sale("b", Flow::Qr, SaleStatus::AwaitingCustomer, 10)), 10);
        assert!(matches!(d.screen(10), Screen::Pay { .. }));
    }

    #[test]
    fn an_outcome_already_there_when_the_display_loads_is_not_shown() {
        let d = display(Some(sale("a", Flow::Qr, SaleStatus::Captured, 0)));
        assert_eq!(d.screen(0), Screen::Idle);
        let waiting = display(Some(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0)));
        assert!(matches!(waiting.screen(0), Screen::Pay { .. }), "a reload mid-payment shows the payment");
    }

    #[test]
    fn approved_then_captured_is_one_outcome_whose_minute_runs_from_the_approval() {
        let mut d = display(None);
        d.apply_event(6, event(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0)), 0);
        d.apply_event(7, event(sale("a", Flow::Qr, SaleStatus::Authorized, 0)), 100);
        assert_eq!(
            d.screen(100),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Authorized }
        );
        d.apply_event(8, event(sale("a", Flow::Qr, SaleStatus::Captured, 0)), 50_000);
        assert_eq!(
            d.screen(50_000),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Captured }
        );
        assert_eq!(d.screen(100 + OUTCOME_MS), Screen::Idle);
    }

    #[test]
    fn old_repeated_or_older_sales_events_change_nothing() {
        let mut d = display(None);
        d.apply_event(6, event(sale("new", Flow::Qr, SaleStatus::AwaitingCustomer, 200)), 0);
        d.apply_event(6, event(sale("new", Flow::Qr, SaleStatus::Declined, 200)), 0);
        d.apply_event(7, event(sale("old", Flow::Qr, SaleStatus::Captured, 100)), 0);
        assert!(matches!(d.screen(0), Screen::Pay { .. }));
        assert_eq!(d.last_event_id(), 7);
    }

    #[test]
    fn a_snapshot_after_a_drop_shows_an_outcome_missed_meanwhile() {
        let mut d = display(Some(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0)));
        d.apply_snapshot(
            TillSnapshot {
                till: till(),
                sale: Some(sale("a", Flow::Qr, SaleStatus::Captured, 0)),
                presented: None,
                check_ins: Vec::new(),
                last_event_id: 9,
                platform_reachable: true,
            },
            500,
        );
        assert_eq!(
            d.screen(600),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Captured }
        );
        assert_eq!(d.last_event_id(), 9);
    }

    fn snapshot(sale: Sale, last_event_id: u64) -> TillSnapshot {
        TillSnapshot {
            till: till(),
            sale: Some(sale),
            presented: None,
            check_ins: Vec::new(),
            last_event_id,
            platform_reachable: true,
        }
    }

    #[test]
    fn a_snapshot_older_than_the_events_applied_does_not_move_the_sale_back() {
        let mut d = display(None);
        d.apply_event(6, event(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0)), 0);
        d.apply_event(7, event(sale("a", Flow::Qr, SaleStatus::Captured, 0)), 10);
        // Read before the payment was approved, answered after the events.
        d.apply_snapshot(snapshot(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0), 6), 20);
        assert_eq!(
            d.screen(30),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Captured }
        );
        assert_eq!(d.last_event_id(), 7);
    }

    #[test]
    fn a_finished_sale_never_turns_back_into_one_to_pay() {
        let mut d = display(None);
        d.apply_event(6, event(sale("a", Flow::Qr, SaleStatus::Cancelled, 0)), 0);
        // A snapshot as new as the events, with an answer the server had before the cancel.
        d.apply_snapshot(snapshot(sale("a", Flow::Qr, SaleStatus::AwaitingCustomer, 0), 6), 10);
        assert_eq!(
            d.screen(10),
            Screen::Outcome { amount: Charged::Whole(AMOUNT), status: SaleStatus::Cancelled }
        );
    }

    #[test]
    fn a_payment_taken_in_part_shows_what_was_taken_of_the_amount() {
        let mut d = display(None);
        d.apply_event(6, event(sale("a", Flow::Qr, SaleStatus::Authorized, 0)), 0);
        let part = Sale {
            authorized: AMOUNT,
            captured: Money::new(4_000, Currency::Nok),
            ..sale("a", Flow::Qr, SaleStatus::Captured, 0)
        };
        d.apply_event(7, event(part), 100);
        let taken = Money::new(4_000, Currency::Nok);
        assert_eq!(
            d.screen(200),
            Screen::Outcome { amount: Charged::Part { taken, of: AMOUNT }, status: SaleStatus::Captured }
        );
    }

    #[test]
    fn paid_and_approved_look_good_and_the_failures_do_not() {
        assert_eq!(tone(SaleStatus::Captured), Tone::Success);
        assert_eq!(tone(SaleStatus::Authorized), Tone::Success);
        for failed in [SaleStatus::Declined, SaleStatus::Expired, SaleStatus::Cancelled, SaleStatus::Failed] {
            assert_eq!(tone(failed), Tone::Failure);
        }
    }
}

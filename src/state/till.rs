//! The till screen's state: the server's view of the current sale, shown live, plus what the
//! cashier is typing and whether a request is on its way.
//!
//! The sale itself is never guessed here. It changes only from what the server says: a request's
//! answer, a live event, or a fresh snapshot. When a request gets no answer at all, the model says
//! so (`unsure`) and the page asks the server again instead of assuming either outcome.

use kasse_api::{Money, NewSale, Payer, Problem, Sale, SaleStatus, Till, TillEvent, TillSnapshot};

use super::keypad::{AmountEntry, Key};

/// The live connection to the server's event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Opening for the first time.
    Connecting,
    /// Receiving events.
    Online,
    /// Lost; the browser is reconnecting and will replay what it missed.
    Reconnecting,
}

/// How a request to the server ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with a problem: nothing happened, and the sentence says why.
    Refused(Problem),
    /// No answer: it may or may not have happened.
    NoAnswer,
}

/// What the cashier should take from the screen at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something is under way.
    Waiting,
    /// The customer has paid.
    Success,
    /// The payment did not happen.
    Failure,
}

/// The till screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillModel {
    /// The till.
    pub till: Till,
    /// The sale on screen: in progress, or finished and not yet put away.
    pub sale: Option<Sale>,
    /// What the cashier has typed.
    pub entry: AmountEntry,
    /// A request is on its way to the server.
    pub busy: bool,
    /// A request got no answer: what happened is being asked for.
    pub unsure: bool,
    /// A sentence about the last refusal, for the cashier.
    pub notice: Option<String>,
    /// The event stream.
    pub connection: Connection,
    last_event_id: u64,
}

impl TillModel {
    /// The screen for a freshly loaded till.
    pub fn new(snapshot: TillSnapshot) -> Self {
        Self {
            till: snapshot.till,
            sale: snapshot.sale,
            entry: AmountEntry::default(),
            busy: false,
            unsure: false,
            notice: None,
            connection: Connection::Connecting,
            last_event_id: snapshot.last_event_id,
        }
    }

    /// The id of the newest event applied: the stream resumes after it.
    pub const fn last_event_id(&self) -> u64 {
        self.last_event_id
    }

    /// True while a sale occupies the till (it cannot start another).
    pub fn has_active_sale(&self) -> bool {
        self.sale.as_ref().is_some_and(|s| !s.status.is_final())
    }

    /// The amount typed, in the till's currency.
    pub fn amount(&self) -> Money {
        Money::new(self.entry.minor(), self.till.currency)
    }

    /// A keypad press; ignored while a sale is on screen.
    pub fn press(&mut self, key: Key) {
        if self.sale.is_none() && !self.busy {
            self.entry = self.entry.press(key);
            self.notice = None;
        }
    }

    /// Whether "Show QR" can be pressed now.
    pub fn can_start(&self) -> bool {
        self.sale.is_none() && !self.busy && !self.entry.is_empty()
    }

    /// The request for a QR sale of the typed amount, if one can start now.
    pub fn start_qr(&mut self) -> Option<NewSale> {
        if !self.can_start() {
            return None;
        }
        self.busy = true;
        self.notice = None;
        Some(NewSale { amount: self.amount(), description: None, payer: Payer::Qr })
    }

    /// Marks a request (other than a start) as on its way.
    pub fn request_sent(&mut self) {
        self.busy = true;
        self.notice = None;
    }

    /// A request answered with the sale as it is now.
    pub fn request_answered(&mut self, sale: Sale) {
        self.busy = false;
        self.unsure = false;
        self.show(sale);
    }

    /// A request did not succeed.
    pub fn request_failed(&mut self, failure: Failure) {
        self.busy = false;
        match failure {
            Failure::Refused(problem) => self.notice = Some(problem.sentence().to_owned()),
            Failure::NoAnswer => self.unsure = true,
        }
    }

    /// The server's state, fetched anew (on load, after an unanswered request, after a reconnect).
    pub fn apply_snapshot(&mut self, snapshot: TillSnapshot) {
        self.unsure = false;
        self.last_event_id = self.last_event_id.max(snapshot.last_event_id);
        match snapshot.sale {
            Some(sale) => self.show(sale),
            // A final sale the cashier already put away stays away.
            None => self.sale = None,
        }
    }

    /// A live event. Events already applied (by id) are ignored.
    pub fn apply_event(&mut self, id: u64, event: TillEvent) {
        if id <= self.last_event_id {
            return;
        }
        self.last_event_id = id;
        match event {
            TillEvent::Sale { sale } => self.show(sale),
            // Check-ins come to the till screen with the flows issue; nothing to show yet.
            TillEvent::CheckIn { .. } => {}
        }
    }

    /// The stream's state changed.
    pub fn set_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    /// Puts a finished sale away and clears the keypad for the next customer.
    pub fn next_sale(&mut self) {
        if self.sale.as_ref().is_some_and(|s| s.status.is_final()) {
            self.sale = None;
            self.entry = AmountEntry::default();
            self.notice = None;
        }
    }

    /// Shows `sale` unless it is older than the sale on screen.
    fn show(&mut self, sale: Sale) {
        let newer = match &self.sale {
            Some(current) => {
                current.reference == sale.reference || sale.created_at_ms >= current.created_at_ms
            }
            None => true,
        };
        if newer {
            self.sale = Some(sale);
        }
    }

    /// Seconds left before the platform gives up on the customer, at `now_ms`.
    pub fn seconds_left(&self, now_ms: i64) -> Option<i64> {
        let sale = self.sale.as_ref().filter(|s| s.status == SaleStatus::AwaitingCustomer)?;
        sale.expires_at_ms.map(|at| ((at - now_ms) / 1000).max(0))
    }
}

/// The headline for a sale's status.
pub fn headline(status: SaleStatus) -> &'static str {
    match status {
        SaleStatus::Creating => "Starting the payment…",
        SaleStatus::AwaitingCustomer => "Waiting for the customer",
        SaleStatus::Authorized => "Approved",
        SaleStatus::Captured => "Paid",
        SaleStatus::Refunded => "Refunded",
        SaleStatus::Cancelling => "Cancelling…",
        SaleStatus::Declined => "Declined",
        SaleStatus::Expired => "Expired",
        SaleStatus::Cancelled => "Cancelled",
        SaleStatus::Failed => "Failed",
    }
}

/// The sentence under the headline.
pub fn explanation(sale: &Sale) -> String {
    match sale.status {
        SaleStatus::Creating => "Asking Vipps MobilePay for a QR code.".to_owned(),
        SaleStatus::AwaitingCustomer => {
            "Ask the customer to scan the code with the Vipps or MobilePay app.".to_owned()
        }
        SaleStatus::Authorized => "The customer approved. Taking the payment…".to_owned(),
        SaleStatus::Captured => "The money is taken. Hand over the goods.".to_owned(),
        SaleStatus::Refunded => "Everything taken was given back.".to_owned(),
        SaleStatus::Cancelling => "Stopping the payment request.".to_owned(),
        SaleStatus::Declined => "The customer declined in the app. Nothing was charged.".to_owned(),
        SaleStatus::Expired => "The customer did not answer in time. Nothing was charged.".to_owned(),
        SaleStatus::Cancelled => "The payment was cancelled. Nothing was charged.".to_owned(),
        SaleStatus::Failed => sale
            .failure
            .clone()
            .unwrap_or_else(|| "The payment could not be started. Nothing was charged.".to_owned()),
    }
}

/// The tone of a status.
pub const fn tone(status: SaleStatus) -> Tone {
    match status {
        SaleStatus::Captured => Tone::Success,
        SaleStatus::Refunded
        | SaleStatus::Declined
        | SaleStatus::Expired
        | SaleStatus::Cancelled
        | SaleStatus::Failed => Tone::Failure,
        SaleStatus::Creating
        | SaleStatus::AwaitingCustomer
        | SaleStatus::Authorized
        | SaleStatus::Cancelling => Tone::Waiting,
    }
}

/// `m:ss` for a countdown.
pub fn format_countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasse_api::{Currency, Flow};

    fn till() -> Till {
        Till {
            id: "till-1".into(),
            name: "Kasse 1".into(),
            store_name: "Kaffe".into(),
            currency: Currency::Nok,
        }
    }

    fn sale(reference: &str, status: SaleStatus, created_at_ms: i64) -> Sale {
        Sale {
            reference: reference.into(),
            till_id: "till-1".into(),
            amount: Money::new(12_350, Currency::Nok),
            description: None,
            flow: Flow::Qr,
            customer: None,
            status,
            qr: (status == SaleStatus::AwaitingCustomer).then(|| "http://sim/pay/t".to_owned()),
            expires_at_ms: Some(created_at_ms + 600_000),
            authorized: Money::zero(Currency::Nok),
            captured: Money::zero(Currency::Nok),
            cancelled: Money::zero(Currency::Nok),
            refunded: Money::zero(Currency::Nok),
            failure: None,
            created_at_ms,
        }
    }

    fn model(sale: Option<Sale>) -> TillModel {
        TillModel::new(TillSnapshot { till: till(), sale, last_event_id: 10 })
    }

    #[test]
    fn the_cashier_types_an_amount_and_starts_a_qr_sale_for_it() {
        let mut m = model(None);
        assert!(!m.can_start(), "nothing typed yet");
        for key in [Key::Digit(1), Key::Digit(2), Key::Digit(3), Key::Digit(5), Key::Digit(0)] {
            m.press(key);
        }
        let request = m.start_qr().unwrap();
        assert_eq!(request.amount, Money::new(12_350, Currency::Nok));
        assert!(m.busy);
        assert_eq!(m.start_qr(), None, "a second press while the first is on its way does nothing");
    }

    #[test]
    fn live_events_move_the_sale_on_and_old_or_repeated_events_are_ignored() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 1)));
        m.apply_event(11, TillEvent::Sale { sale: sale("a", SaleStatus::Captured, 1) });
        assert_eq!(m.sale.as_ref().unwrap().status, SaleStatus::Captured);
        m.apply_event(11, TillEvent::Sale { sale: sale("a", SaleStatus::AwaitingCustomer, 1) });
        m.apply_event(9, TillEvent::Sale { sale: sale("a", SaleStatus::AwaitingCustomer, 1) });
        assert_eq!(m.sale.as_ref().unwrap().status, SaleStatus::Captured);
        assert_eq!(m.last_event_id(), 11);
    }

    #[test]
    fn an_older_sale_never_replaces_a_newer_one() {
        let mut m = model(Some(sale("new", SaleStatus::AwaitingCustomer, 200)));
        m.apply_event(11, TillEvent::Sale { sale: sale("old", SaleStatus::Captured, 100) });
        assert_eq!(m.sale.as_ref().unwrap().reference, "new");
    }

    #[test]
    fn the_keypad_is_locked_while_a_sale_is_on_screen() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 1)));
        m.press(Key::Digit(5));
        assert!(m.entry.is_empty());
        assert!(m.has_active_sale());
    }

    #[test]
    fn a_refusal_shows_its_sentence_and_an_unanswered_request_makes_the_till_ask_again() {
        let mut m = model(None);
        m.press(Key::Digit(5));
        m.start_qr();
        m.request_failed(Failure::Refused(Problem::new(409, "till-busy", "Till busy", "Finish it first.")));
        assert_eq!(m.notice.as_deref(), Some("Finish it first."));
        assert!(!m.busy && !m.unsure);
        m.start_qr();
        m.request_failed(Failure::NoAnswer);
        assert!(m.unsure, "no answer is not a refusal");
        m.apply_snapshot(TillSnapshot {
            till: till(),
            sale: Some(sale("a", SaleStatus::AwaitingCustomer, 1)),
            last_event_id: 12,
        });
        assert!(!m.unsure);
        assert_eq!(m.sale.as_ref().unwrap().reference, "a", "the server's answer is what is shown");
    }

    #[test]
    fn a_finished_sale_is_put_away_for_the_next_customer_but_an_active_one_is_not() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 1)));
        m.next_sale();
        assert!(m.sale.is_some());
        m.request_answered(sale("a", SaleStatus::Captured, 1));
        m.next_sale();
        assert!(m.sale.is_none() && m.entry.is_empty());
    }

    #[test]
    fn the_countdown_runs_to_the_platforms_expiry_and_stops_at_zero() {
        let m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 0)));
        assert_eq!(m.seconds_left(0), Some(600));
        assert_eq!(m.seconds_left(599_500), Some(0));
        assert_eq!(m.seconds_left(700_000), Some(0));
        assert_eq!(format_countdown(581), "9:41");
        assert_eq!(model(Some(sale("a", SaleStatus::Captured, 0))).seconds_left(0), None);
    }

    #[test]
    fn every_outcome_reads_differently_to_the_cashier() {
        let outcomes = [
            SaleStatus::Captured,
            SaleStatus::Declined,
            SaleStatus::Expired,
            SaleStatus::Cancelled,
            SaleStatus::Failed,
        ];
        let headlines: std::collections::HashSet<_> = outcomes.iter().map(|s| headline(*s)).collect();
        assert_eq!(headlines.len(), outcomes.len());
        assert_eq!(tone(SaleStatus::Captured), Tone::Success);
        assert_eq!(tone(SaleStatus::Declined), Tone::Failure);
    }
}

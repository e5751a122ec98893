//! The till screen's state: the server's view of the current sale, shown live, plus what the
//! cashier is preparing (amount, lines, description, a phone number, a scan) and whether a request
//! is on its way.
//!
//! The sale itself is never guessed here. It changes only from what the server says: a request's
//! answer, a live event, or a fresh snapshot. When a request gets no answer at all, the model says
//! so (`unsure`) and the page asks the server again instead of assuming either outcome.

use kasse_api::{
    CheckIn, Country, Currency, Flow, Money, Msisdn, NewSale, Payer, PhoneError, Presented, Problem, Sale,
    SaleLine, SaleStatus, Till, TillEvent, TillSnapshot,
};

use super::keypad::{AmountEntry, Key};
use super::scanner::{self, Typed};

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

/// A sentence for the cashier about something that did not happen: the server's refusal (said
/// in the cashier's language when drawn, see `i18n::common::notice`), or one the till found itself
/// and already put in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The server refused, and its problem says why.
    Refused(Problem),
    /// Already in the cashier's words.
    Said(String),
    /// A scan the till could not use as a customer's personal QR code (said as the server's
    /// refusal of one is).
    NotAPersonalQr,
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

/// Whether the server can reach the payment platform, as it last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformReach {
    /// It can (or nothing says otherwise).
    Reachable,
    /// It cannot: payments may not go through until it can again.
    Unreachable,
}

impl PlatformReach {
    /// What the server's `reachable` says.
    pub const fn from_reachable(reachable: bool) -> Self {
        if reachable { Self::Reachable } else { Self::Unreachable }
    }
}

/// The flow panel open under the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Panel {
    /// Just the keypad and the flow buttons.
    #[default]
    Keypad,
    /// Typing the customer's phone number.
    Phone,
    /// Waiting for a scan of the customer's personal QR code.
    Scan,
    /// Editing the receipt's lines.
    Lines,
}

/// Whether a sale asks the customer to share their phone number for the store's loyalty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AskLoyalty {
    /// It does not (the default: nobody is asked unless they said so at the counter).
    #[default]
    No,
    /// It does.
    Yes,
}

/// The till screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TillModel {
    /// The till.
    pub till: Till,
    /// The sale on screen: in progress, or finished and not yet put away.
    pub sale: Option<Sale>,
    /// The finished sale the cashier last put away, which stays away when the server names it
    /// again as the till's last sale (after a reconnect or a reload) or sends news of it.
    pub put_away: Option<String>,
    /// What the cashier has typed on the keypad.
    pub entry: AmountEntry,
    /// The receipt's lines; when there are any, they make the amount.
    pub lines: Vec<SaleLine>,
    /// What the payment is for, as the customer reads it in the app.
    pub description: String,
    /// The open flow panel.
    pub panel: Panel,
    /// The customer's number as typed.
    pub phone: String,
    /// The country the number is read in.
    pub country: Country,
    /// What the till presents to its sticker.
    pub presented: Option<Presented>,
    /// Customers checked in at the till's callback sticker.
    pub check_ins: Vec<CheckIn>,
    /// A request is on its way to the server.
    pub busy: bool,
    /// A request got no answer: what happened is being asked for.
    pub unsure: bool,
    /// A sentence about the last refusal, for the cashier.
    pub notice: Option<Notice>,
    /// The event stream.
    pub connection: Connection,
    /// The QR code shows on the paired customer display, not on the till.
    pub qr_on_display: bool,
    /// At a store with loyalty: whether the next sale asks the customer to share their number
    /// (they said at the counter that they are a member). Back to `No` once a new sale is on
    /// screen, whoever started it.
    pub ask_loyalty: AskLoyalty,
    /// Whether the server can reach the payment platform (while it cannot, the till shows a
    /// banner).
    pub platform: PlatformReach,
    last_event_id: u64,
}

impl TillModel {
    /// The screen for a freshly loaded till.
    pub fn new(snapshot: TillSnapshot) -> Self {
        let country = Country::of_currency(snapshot.till.currency);
        Self {
            till: snapshot.till,
            sale: snapshot.sale,
            put_away: None,
            entry: AmountEntry::default(),
            lines: Vec::new(),
            description: String::new(),
            panel: Panel::Keypad,
            phone: String::new(),
            country,
            presented: snapshot.presented,
            check_ins: snapshot.check_ins,
            busy: false,
            unsure: false,
            notice: None,
            connection: Connection::Connecting,
            qr_on_display: false,
            ask_loyalty: AskLoyalty::No,
            platform: PlatformReach::from_reachable(snapshot.platform_reachable),
            last_event_id: snapshot.last_event_id,
        }
    }

    /// The same screen, knowing that the cashier put the finished sale `reference` away (this
    /// device remembers it across reloads).
    #[must_use]
    pub fn with_put_away(mut self, reference: Option<String>) -> Self {
        self.put_away = reference;
        if self.sale.as_ref().is_some_and(|sale| self.is_put_away(sale)) {
            self.sale = None;
        }
        self
    }

    /// Whether `sale` is the finished sale the cashier put away.
    fn is_put_away(&self, sale: &Sale) -> bool {
        sale.status.is_final() && self.put_away.as_deref() == Some(sale.reference.as_str())
    }

    /// The id of the newest event applied: the stream resumes after it.
    pub const fn last_event_id(&self) -> u64 {
        self.last_event_id
    }

    /// True while a sale occupies the till (it cannot start another).
    pub fn has_active_sale(&self) -> bool {
        self.sale.as_ref().is_some_and(|s| !s.status.is_final())
    }

    /// The amount to charge: the lines' sum when there are lines, else what was typed.
    pub fn amount(&self) -> Money {
        let value = if self.lines.is_empty() {
            self.entry.minor()
        } else {
            self.lines.iter().map(SaleLine::total).sum()
        };
        Money::new(value, self.till.currency)
    }

    /// A keypad press; ignored while a sale is on screen or the lines make the amount.
    pub fn press(&mut self, key: Key) {
        if self.sale.is_none() && !self.busy && self.lines.is_empty() {
            self.entry = self.entry.press(key);
            self.notice = None;
        }
    }

    /// Opens a flow panel (or closes it when it is already open).
    pub fn toggle(&mut self, panel: Panel) {
        self.panel = if self.panel == panel { Panel::Keypad } else { panel };
        self.notice = None;
    }

    /// Whether a payment can be started now.
    pub fn can_start(&self) -> bool {
        self.sale.is_none() && !self.busy && self.amount().value > 0
    }

    /// The request for a sale paid by `payer`, if one can start now.
    pub fn start(&mut self, payer: Payer) -> Option<NewSale> {
        if !self.can_start() {
            return None;
        }
        self.busy = true;
        self.notice = None;
        let description = Some(self.description.trim().to_owned()).filter(|d| !d.is_empty());
        // Kept until a sale is on screen: a start that was refused or went unanswered is tried
        // again as the cashier ticked it.
        let loyalty = self.till.loyalty && self.ask_loyalty == AskLoyalty::Yes;
        Some(NewSale { amount: self.amount(), description, lines: self.lines.clone(), payer, loyalty })
    }

    /// A QR sale of the amount.
    pub fn start_qr(&mut self) -> Option<NewSale> {
        self.start(Payer::Qr)
    }

    /// A push to the typed phone number, read in the chosen country. A mistyped number is
    /// refused here, with its sentence, before anything is sent.
    pub fn start_phone(&mut self) -> Result<Option<NewSale>, PhoneError> {
        let msisdn = Msisdn::parse(&self.phone, self.country)?;
        Ok(self.start(Payer::Phone { phone_number: format!("+{msisdn}") }))
    }

    /// A push to the customer whose personal QR code a scanner typed (control characters the
    /// scanner added are dropped).
    pub fn scanned(&mut self, text: &str) -> Option<NewSale> {
        let code = scanner::clean(text)?;
        self.start(Payer::PersonalQr { personal_qr: code })
    }

    /// What keys typed at the keypad screen came to (see [`scanner::KeyBursts`]): a person's keys
    /// are pressed, and their Enter starts a QR sale; a scanner's burst is a customer's personal
    /// QR code, as if scanned in the scan panel, never an amount. Returns the request to send.
    pub fn typed(&mut self, typed: Typed) -> Option<NewSale> {
        match typed {
            Typed::Keys(keys) => {
                for key in keys {
                    self.press(key);
                }
                None
            }
            Typed::Enter(keys) => {
                for key in keys {
                    self.press(key);
                }
                self.start_qr()
            }
            Typed::Scan(text) => self.keypad_scan(&text),
        }
    }

    /// A scanner's burst at the keypad screen: a push to the customer whose personal QR code it
    /// is, for the amount typed. When no sale can start from it (no amount typed yet, or nothing
    /// in it that could be a code) nothing is sent, and the cashier is told it was no personal QR
    /// code; with a sale on screen or a request on its way it is ignored, as the keypad is.
    pub fn keypad_scan(&mut self, text: &str) -> Option<NewSale> {
        if self.sale.is_some() || self.busy {
            return None;
        }
        let request = self.scanned(text);
        if request.is_none() {
            self.notice = Some(Notice::NotAPersonalQr);
        }
        request
    }

    /// A push to a checked-in customer.
    pub fn charge(&mut self, check_in: &str) -> Option<NewSale> {
        self.start(Payer::CheckIn { check_in: check_in.to_owned() })
    }

    /// What to present to the till's sticker: the amount and description, if there is one.
    pub fn presentation(&self) -> Option<Presented> {
        let description = Some(self.description.trim().to_owned()).filter(|d| !d.is_empty());
        (self.sale.is_none() && self.amount().value > 0).then(|| Presented {
            amount: self.amount(),
            description,
            claimed: false,
            claimed_by: None,
        })
    }

    /// The sale on screen when a customer started it at the till's sticker, as its reference and
    /// status. Such a sale claimed what the till presents, and the claim changes with it (a
    /// payment that could not start leaves the amount for the next customer, a finished one uses
    /// it up): the page reads what the till presents anew whenever this changes.
    pub fn sticker_sale(&self) -> Option<(String, SaleStatus)> {
        let sale = self.sale.as_ref().filter(|s| is_sticker_sale(s))?;
        Some((sale.reference.clone(), sale.status))
    }

    /// The cashier takes back what the till presents (the server also cancels the request of a
    /// customer who claimed it): true when the request should go, false when there is nothing to
    /// take back or a request is already on its way.
    pub fn take_back(&mut self) -> bool {
        if self.presented.is_none() || self.busy {
            return false;
        }
        self.request_sent();
        true
    }

    /// What the till presented is taken back.
    pub fn taken_back(&mut self) {
        self.request_done();
        self.presented = None;
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
        self.panel = Panel::Keypad;
        self.show(sale);
    }

    /// A request that changes no sale was answered (presenting, taking back).
    pub fn request_done(&mut self) {
        self.busy = false;
        self.unsure = false;
    }

    /// A request did not succeed.
    pub fn request_failed(&mut self, failure: Failure) {
        self.busy = false;
        match failure {
            Failure::Refused(problem) => self.notice = Some(Notice::Refused(problem)),
            Failure::NoAnswer => self.unsure = true,
        }
    }

    /// A refusal found before asking the server (a mistyped number).
    pub fn refuse(&mut self, sentence: String) {
        self.notice = Some(Notice::Said(sentence));
    }

    /// The server's state, fetched anew (on load, after an unanswered request, after a reconnect).
    /// A snapshot older than what the till already shows (read before events or an answer that
    /// came first) changes nothing of it: it only ends the wait for an answer.
    pub fn apply_snapshot(&mut self, snapshot: TillSnapshot) {
        self.unsure = false;
        if self.is_older(&snapshot) {
            return;
        }
        self.last_event_id = snapshot.last_event_id;
        self.platform = PlatformReach::from_reachable(snapshot.platform_reachable);
        self.check_ins = snapshot.check_ins;
        match snapshot.sale {
            Some(sale) => self.show(sale),
            // A final sale the cashier already put away stays away.
            None => self.sale = None,
        }
        // After the sale: what the server presents now is the truth, whatever a new sale on
        // screen cleared.
        self.presented = snapshot.presented;
    }

    /// Whether `snapshot` is older than what the till shows: it was read before an event the till
    /// has applied, or (an answer to a start can come before the events that announce the
    /// sale) it has none of the sale on screen, or an older one in its place. The server always
    /// names the till's newest sale, so a snapshot without it was read before it started.
    fn is_older(&self, snapshot: &TillSnapshot) -> bool {
        if snapshot.last_event_id < self.last_event_id {
            return true;
        }
        let Some(shown) = &self.sale else { return false };
        snapshot.sale.as_ref().is_none_or(|theirs| {
            theirs.reference != shown.reference && theirs.created_at_ms < shown.created_at_ms
        })
    }

    /// A live event. Events already applied (by id) are ignored.
    pub fn apply_event(&mut self, id: u64, event: TillEvent) {
        if id <= self.last_event_id {
            return;
        }
        self.last_event_id = id;
        match event {
            TillEvent::Sale { sale } => self.show(sale),
            TillEvent::CheckIn { check_in } => {
                self.check_ins.retain(|c| c.id != check_in.id);
                if check_in.charged_by.is_none() {
                    self.check_ins.insert(0, check_in);
                }
            }
            TillEvent::Platform { reachable } => self.platform = PlatformReach::from_reachable(reachable),
        }
    }

    /// What the till presents now, after presenting or taking back.
    pub fn set_presented(&mut self, presented: Option<Presented>) {
        self.presented = presented;
    }

    /// The check-ins that can be charged at `now_ms`, newest first.
    pub fn open_check_ins(&self, now_ms: i64) -> Vec<CheckIn> {
        self.check_ins
            .iter()
            .filter(|c| c.charged_by.is_none() && c.expires_at_ms > now_ms)
            .cloned()
            .collect()
    }

    /// The stream's state changed.
    pub fn set_connection(&mut self, connection: Connection) {
        self.connection = connection;
    }

    /// Whether the till says the payment platform cannot be reached: only while the server says
    /// so and the till hears the server (without a connection, the connection badge speaks).
    pub fn platform_banner(&self) -> bool {
        self.platform == PlatformReach::Unreachable && self.connection != Connection::Reconnecting
    }

    /// Adds a receipt line; the keypad's amount gives way to the lines' sum.
    pub fn add_line(&mut self, line: SaleLine) {
        if self.sale.is_none() {
            self.lines.push(line);
        }
    }

    /// Removes the receipt line at `index`.
    pub fn remove_line(&mut self, index: usize) {
        if self.sale.is_none() && index < self.lines.len() {
            self.lines.remove(index);
        }
    }

    /// Puts a finished sale away and clears everything for the next customer.
    pub fn next_sale(&mut self) {
        if let Some(sale) = self.sale.take_if(|s| s.status.is_final()) {
            self.put_away = Some(sale.reference);
            self.entry = AmountEntry::default();
            self.lines.clear();
            self.description.clear();
            self.phone.clear();
            self.panel = Panel::Keypad;
            self.notice = None;
        }
    }

    /// Shows `sale` unless it is older than the sale on screen (another sale started before it,
    /// or the same sale as an older answer had it).
    fn show(&mut self, sale: Sale) {
        if self.is_put_away(&sale) {
            return;
        }
        let newer = match &self.sale {
            Some(current) if current.reference == sale.reference => moves_forward(current, &sale),
            Some(current) => sale.created_at_ms >= current.created_at_ms,
            None => true,
        };
        if !newer {
            return;
        }
        if self.sale.as_ref().is_none_or(|current| current.reference != sale.reference) {
            // A new sale on screen, whoever started it: the tick was for one customer.
            self.ask_loyalty = AskLoyalty::No;
            // The server takes back an amount left waiting at the sticker when the till starts
            // a sale, so that no customer pays it there as well; only the sticker's own sale
            // (the customer who claimed it) keeps it. An older sale's news (a refund, a poll)
            // is no new sale: what is presented stays.
            if !is_sticker_sale(&sale) && !sale.status.is_final() {
                self.presented = None;
            }
        }
        self.sale = Some(sale);
    }

    /// The QR code the till itself shows: the sale's, unless the customer display shows it.
    pub fn qr_here(&self) -> Option<&str> {
        let sale = self.sale.as_ref().filter(|_| !self.qr_on_display)?;
        sale.qr.as_deref()
    }

    /// The QR code is on the customer display: the till says so instead of drawing it.
    pub fn qr_elsewhere(&self) -> bool {
        self.qr_on_display && self.sale.as_ref().is_some_and(|s| s.qr.is_some())
    }

    /// Seconds left before the platform gives up on the customer, at `now_ms`.
    pub fn seconds_left(&self, now_ms: i64) -> Option<i64> {
        let sale = self.sale.as_ref().filter(|s| s.status == SaleStatus::AwaitingCustomer)?;
        sale.expires_at_ms.map(|at| ((at - now_ms) / 1000).max(0))
    }
}

/// Whether a customer started `sale` at the till's sticker (by a number, or by opening the app),
/// claiming what the till presents there.
fn is_sticker_sale(sale: &Sale) -> bool {
    matches!(sale.flow, Flow::Sticker | Flow::AppSwitch)
}

/// Whether `heard`, news of the same sale as `shown`, may replace it. A sale only moves forward
/// (the platform's totals only grow, and a final state is never left for an unfinished one), so
/// news that turns a final status back into an unfinished one, or shows less reserved, taken,
/// released or given back, is an older answer arriving late.
pub fn moves_forward(shown: &Sale, heard: &Sale) -> bool {
    let back_to_unfinished = shown.status.is_final() && !heard.status.is_final();
    let less_money = [
        (heard.authorized, shown.authorized),
        (heard.captured, shown.captured),
        (heard.cancelled, shown.cancelled),
        (heard.refunded, shown.refunded),
    ]
    .iter()
    .any(|(heard, shown)| heard.value < shown.value);
    !back_to_unfinished && !less_money
}

/// What a sale's amount reads as once it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charged {
    /// The amount asked (paid in full, or not paid at all).
    Whole(Money),
    /// A capture took only part of the amount asked (an approved reservation taken in part):
    /// saying "Paid" with the whole amount would tell the cashier and the customer a sum that
    /// was never taken.
    Part {
        /// What was taken.
        taken: Money,
        /// The amount asked.
        of: Money,
    },
}

/// What `sale`'s amount reads as: what was taken of it when a capture took another sum than the
/// amount asked, else the amount asked.
pub fn charged(sale: &Sale) -> Charged {
    let taken = sale.captured.value;
    if sale.status == SaleStatus::Captured && taken > 0 && taken != sale.amount.value {
        Charged::Part { taken: sale.captured, of: sale.amount }
    } else {
        Charged::Whole(sale.amount)
    }
}

/// The VAT rates a store of `currency` charges, in hundredths of a percent, the standard first.
pub const fn vat_rates(currency: Currency) -> &'static [u16] {
    match currency {
        // Norway: general 25 %, food 15 %, transport and culture 12 %.
        Currency::Nok => &[2500, 1500, 1200, 0],
        // Denmark: 25 % on nearly everything.
        Currency::Dkk => &[2500, 0],
        // Finland: general 25.5 %, food and restaurants 14 %, books and medicine 10 %.
        Currency::Eur => &[2550, 1400, 1000, 0],
    }
}

/// A VAT rate for people: `25 %`, `25.5 %`.
pub fn format_vat(rate: u16) -> String {
    if rate.is_multiple_of(100) {
        format!("{} %", rate / 100)
    } else {
        format!("{}.{} %", rate / 100, (rate % 100) / 10)
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
    use kasse_api::Flow;

    fn till() -> Till {
        Till {
            id: "till-1".into(),
            name: "Kasse 1".into(),
            store_name: "Kaffe".into(),
            currency: Currency::Nok,
            loyalty: false,
        }
    }

    fn sale(reference: &str, status: SaleStatus, created_at_ms: i64) -> Sale {
        Sale {
            reference: reference.into(),
            till_id: "till-1".into(),
            sticker_id: None,
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
            loyalty: None,
        }
    }

    fn snapshot(sale: Option<Sale>, last_event_id: u64) -> TillSnapshot {
        TillSnapshot {
            till: till(),
            sale,
            presented: None,
            check_ins: Vec::new(),
            last_event_id,
            platform_reachable: true,
        }
    }

    fn model(sale: Option<Sale>) -> TillModel {
        TillModel::new(snapshot(sale, 10))
    }

    fn typed(m: &mut TillModel, keys: &[u8]) {
        for key in keys {
            m.press(Key::Digit(*key));
        }
    }

    fn line(name: &str, quantity: u32, unit_price: i64) -> SaleLine {
        SaleLine {
            name: name.into(),
            quantity,
            unit_price: Money::new(unit_price, Currency::Nok),
            vat_rate: 2500,
        }
    }

    #[test]
    fn the_cashier_types_an_amount_and_starts_a_qr_sale_for_it() {
        let mut m = model(None);
        assert!(!m.can_start(), "nothing typed yet");
        typed(&mut m, &[1, 2, 3, 5, 0]);
        m.description = "  Two buns  ".into();
        let request = m.start_qr().unwrap();
        assert_eq!(request.amount, Money::new(12_350, Currency::Nok));
        assert_eq!(request.description.as_deref(), Some("Two buns"));
        assert_eq!(request.payer, Payer::Qr);
        assert!(m.busy);
        assert_eq!(m.start_qr(), None, "a second press while the first is on its way does nothing");
    }

    #[test]
    fn a_sale_asks_for_loyalty_only_when_the_cashier_ticked_it_at_a_store_that_has_it_and_only_once() {
        let mut m = model(None);
        m.till.loyalty = true;
        typed(&mut m, &[5, 0, 0]);
        m.ask_loyalty = AskLoyalty::Yes;
        assert!(m.start_qr().unwrap().loyalty, "ticked: the customer is asked");
        m.request_failed(Failure::NoAnswer);
        assert!(m.start_qr().unwrap().loyalty, "tried again as ticked");
        m.request_answered(sale("a", SaleStatus::AwaitingCustomer, 1));
        assert_eq!(m.ask_loyalty, AskLoyalty::No, "cleared once the sale is on screen");
        m.request_answered(sale("a", SaleStatus::Cancelled, 1));
        m.next_sale();
        typed(&mut m, &[5, 0, 0]);
        assert!(!m.start_qr().unwrap().loyalty, "the next sale asks nothing unless ticked again");

        let mut elsewhere = model(None);
        typed(&mut elsewhere, &[5, 0, 0]);
        elsewhere.ask_loyalty = AskLoyalty::Yes;
        assert!(!elsewhere.start_qr().unwrap().loyalty, "a store without loyalty never asks");
    }

    #[test]
    fn a_phone_number_is_checked_here_and_sent_as_an_international_number() {
        let mut m = model(None);
        typed(&mut m, &[5, 0, 0]);
        m.phone = "912 34".into();
        assert_eq!(m.start_phone(), Err(PhoneError::TooShort));
        assert!(!m.busy, "a mistyped number sends nothing");
        m.phone = "912 34 567".into();
        let request = m.start_phone().unwrap().unwrap();
        assert_eq!(request.payer, Payer::Phone { phone_number: "+4791234567".into() });
        let mut danish = model(None);
        typed(&mut danish, &[5, 0, 0]);
        danish.country = Country::Dk;
        danish.phone = "20 03 18 01".into();
        assert_eq!(
            danish.start_phone().unwrap().unwrap().payer,
            Payer::Phone { phone_number: "+4520031801".into() }
        );
    }

    #[test]
    fn a_scan_becomes_a_personal_qr_push_without_the_scanners_control_characters() {
        let mut m = model(None);
        typed(&mut m, &[5, 0, 0]);
        let request = m.scanned("https://qr.vipps.no/28/2/01/031/4791234567?v=1\r").unwrap();
        assert_eq!(
            request.payer,
            Payer::PersonalQr { personal_qr: "https://qr.vipps.no/28/2/01/031/4791234567?v=1".into() }
        );
        let mut m = model(None);
        typed(&mut m, &[5, 0, 0]);
        assert_eq!(m.scanned("\r\n"), None, "an empty scan starts nothing");
    }

    /// Types `keys` at the keypad screen `gap_ms` apart from `start_ms`, as the page does; returns
    /// the requests they made.
    fn keyboard(m: &mut TillModel, keys: &[&str], start_ms: f64, gap_ms: f64) -> Vec<NewSale> {
        let mut bursts = scanner::KeyBursts::default();
        let mut at = start_ms;
        let mut requests = Vec::new();
        for key in keys.iter().copied().chain(["(pause)"]) {
            let typed = if key == "(pause)" { bursts.settle(at + 1_000.0) } else { bursts.key(key, at) };
            requests.extend(typed.and_then(|typed| m.typed(typed)));
            at += gap_ms;
        }
        requests
    }

    /// The keys a scanner types for `code`, then Enter.
    fn scan_keys(code: &str) -> Vec<String> {
        code.chars().map(String::from).chain(["Enter".to_owned()]).collect()
    }

    #[test]
    fn a_customers_code_scanned_at_the_keypad_never_becomes_the_amount_or_a_qr_sale() {
        let code = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
        let keys = scan_keys(code);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();

        // An amount typed first: the scan pays it by the customer's code.
        let mut m = model(None);
        assert!(keyboard(&mut m, &["4", "5", "0", "0"], 0.0, 300.0).is_empty());
        assert_eq!(m.amount().value, 4_500);
        let requests = keyboard(&mut m, &keys, 5_000.0, 10.0);
        assert_eq!(m.amount().value, 4_500, "the scan typed nothing into the amount");
        let [request] = requests.as_slice() else { panic!("one request: {requests:?}") };
        assert_eq!(request.payer, Payer::PersonalQr { personal_qr: code.to_owned() });
        assert_eq!(request.amount, Money::new(4_500, Currency::Nok));

        // Nothing typed: no sale at all, and the cashier is told.
        let mut m = model(None);
        assert!(keyboard(&mut m, &keys, 0.0, 10.0).is_empty());
        assert!(m.entry.is_empty() && !m.busy);
        assert_eq!(m.notice, Some(Notice::NotAPersonalQr));

        // A long number (a product's barcode) is no amount either.
        let mut m = model(None);
        typed(&mut m, &[5]);
        let barcode = scan_keys("7038010069307");
        let barcode: Vec<&str> = barcode.iter().map(String::as_str).collect();
        let requests = keyboard(&mut m, &barcode, 0.0, 10.0);
        assert_eq!(m.amount().value, 5);
        assert!(requests.iter().all(|r| r.payer != Payer::Qr), "no QR sale: {requests:?}");
    }

    #[test]
    fn digits_and_enter_typed_by_a_person_make_the_amount_and_show_the_qr_code() {
        let mut m = model(None);
        let requests = keyboard(&mut m, &["4", "2", "5", "0", "Enter"], 0.0, 150.0);
        assert_eq!(m.amount().value, 4_250);
        assert_eq!(requests.iter().map(|r| &r.payer).collect::<Vec<_>>(), [&Payer::Qr]);
        let mut quick = model(None);
        let requests = keyboard(&mut quick, &["9", "9", "Enter"], 0.0, 15.0);
        assert_eq!((quick.amount().value, requests.len()), (99, 1), "a quick person too");
    }

    #[test]
    fn lines_make_the_amount_and_lock_the_keypad() {
        let mut m = model(None);
        typed(&mut m, &[9, 9]);
        m.add_line(line("Bun", 2, 3_500));
        m.add_line(line("Coffee", 1, 4_200));
        assert_eq!(m.amount().value, 11_200);
        m.press(Key::Digit(1));
        assert_eq!(m.amount().value, 11_200, "the keypad does not change a sum of lines");
        m.remove_line(0);
        assert_eq!(m.amount().value, 4_200);
        let request = m.start_qr().unwrap();
        assert_eq!(request.lines.len(), 1);
        assert_eq!(request.amount.value, 4_200);
    }

    #[test]
    fn check_ins_arrive_live_and_leave_when_charged_or_expired() {
        let mut m = model(None);
        let check_in = CheckIn { id: "c1".into(), at_ms: 0, expires_at_ms: 900_000, charged_by: None };
        m.apply_event(11, TillEvent::CheckIn { check_in: check_in.clone() });
        assert_eq!(m.open_check_ins(1).len(), 1);
        assert!(m.open_check_ins(900_000).is_empty(), "15 minutes later it cannot be charged");
        typed(&mut m, &[5, 0, 0]);
        assert_eq!(m.charge("c1").unwrap().payer, Payer::CheckIn { check_in: "c1".into() });
        m.apply_event(
            12,
            TillEvent::CheckIn { check_in: CheckIn { charged_by: Some("r".into()), ..check_in } },
        );
        assert!(m.open_check_ins(1).is_empty());
    }

    #[test]
    fn the_banner_shows_while_the_server_cannot_reach_the_platform_and_goes_when_it_can() {
        let mut m = TillModel::new(TillSnapshot { platform_reachable: false, ..snapshot(None, 10) });
        m.set_connection(Connection::Online);
        assert!(m.platform_banner(), "a till loaded during an outage says so at once");
        m.apply_event(11, TillEvent::Platform { reachable: true });
        assert!(!m.platform_banner());
        m.apply_event(12, TillEvent::Platform { reachable: false });
        assert!(m.platform_banner());
        m.apply_event(12, TillEvent::Platform { reachable: true });
        assert!(m.platform_banner(), "an event already applied changes nothing");
        m.set_connection(Connection::Reconnecting);
        assert!(!m.platform_banner(), "without the server, the connection badge speaks instead");
        m.set_connection(Connection::Online);
        m.apply_snapshot(snapshot(None, 13));
        assert!(!m.platform_banner(), "a fresh snapshot says what is true now");
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

    fn presented(claimed: bool) -> Presented {
        Presented { amount: Money::new(4_500, Currency::Nok), description: None, claimed, claimed_by: None }
    }

    #[test]
    fn a_sale_the_till_starts_takes_back_what_waited_at_the_sticker_and_an_older_snapshot_does_not_bring_it_back()
     {
        let mut m = model(None);
        m.set_presented(Some(presented(false)));
        typed(&mut m, &[4, 5, 0, 0]);
        m.start_qr().unwrap();
        m.request_answered(sale("a", SaleStatus::AwaitingCustomer, 1));
        assert_eq!(m.presented, None, "the server took it back as the sale started");
        // A resync read before the sale started comes back after its answer.
        m.apply_snapshot(TillSnapshot { presented: Some(presented(false)), ..snapshot(None, 10) });
        assert_eq!(m.presented, None, "read before the sale: nothing presented comes back");
        assert_eq!(m.sale.as_ref().map(|s| s.reference.as_str()), Some("a"), "nor does the sale go");
        // The server's own word after the sale started: nothing presented.
        m.apply_snapshot(snapshot(Some(sale("a", SaleStatus::AwaitingCustomer, 1)), 11));
        assert_eq!(m.presented, None);

        // A sale the till learns of live (a PoS started it) takes it back too.
        let mut m = model(Some(sale("old", SaleStatus::Captured, 1)));
        m.next_sale();
        m.set_presented(Some(presented(false)));
        m.apply_event(11, TillEvent::Sale { sale: sale("pos", SaleStatus::Creating, 2) });
        assert_eq!(m.presented, None, "a sale of the till's own, not the sticker's");
        m.apply_snapshot(TillSnapshot {
            presented: Some(presented(false)),
            ..snapshot(Some(sale("old", SaleStatus::Captured, 1)), 10)
        });
        assert_eq!(m.presented, None, "an older snapshot does not bring it back");
        assert_eq!(m.sale.as_ref().map(|s| s.reference.as_str()), Some("pos"));
    }

    #[test]
    fn news_of_a_finished_sale_is_no_new_sale_and_leaves_what_waits_at_the_sticker() {
        let mut m = model(None);
        m.set_presented(Some(presented(false)));
        // An older sale refunded from its page, or read by a poll: the till shows it, nothing more.
        m.apply_event(11, TillEvent::Sale { sale: sale("old", SaleStatus::Refunded, 1) });
        assert_eq!(m.presented, Some(presented(false)), "still up at the sticker");
    }

    #[test]
    fn the_sale_of_the_customer_who_claimed_the_amount_at_the_sticker_keeps_it() {
        let mut m = model(None);
        m.set_presented(Some(presented(true)));
        let at_sticker = Sale { flow: Flow::Sticker, ..sale("s", SaleStatus::AwaitingCustomer, 2) };
        m.apply_event(11, TillEvent::Sale { sale: at_sticker });
        assert_eq!(m.presented, Some(presented(true)), "claimed by that very sale");
        let mut m = model(None);
        m.set_presented(Some(presented(true)));
        let app_switch = Sale { flow: Flow::AppSwitch, ..sale("s", SaleStatus::Creating, 2) };
        m.apply_event(11, TillEvent::Sale { sale: app_switch });
        assert!(m.presented.is_some(), "opening the app claims it too");
    }

    #[test]
    fn a_snapshot_older_than_the_events_applied_does_not_move_the_sale_back() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 1)));
        m.apply_event(12, TillEvent::Sale { sale: sale("b", SaleStatus::Creating, 2) });
        m.apply_snapshot(snapshot(Some(sale("a", SaleStatus::Cancelled, 1)), 11));
        assert_eq!(
            m.sale.as_ref().map(|s| (s.reference.as_str(), s.status)),
            Some(("b", SaleStatus::Creating))
        );
        assert_eq!(m.last_event_id(), 12, "the stream still resumes after the newest event");
        m.apply_snapshot(snapshot(None, 11));
        assert!(m.sale.is_some(), "an older snapshot without a sale clears nothing");
        m.apply_snapshot(snapshot(Some(sale("b", SaleStatus::AwaitingCustomer, 2)), 13));
        assert_eq!(m.sale.as_ref().map(|s| s.status), Some(SaleStatus::AwaitingCustomer));
        assert_eq!(m.last_event_id(), 13);
        // The cashier cancels; a snapshot read before that still says awaiting the customer.
        m.apply_event(14, TillEvent::Sale { sale: sale("b", SaleStatus::Cancelling, 2) });
        m.apply_snapshot(snapshot(Some(sale("b", SaleStatus::AwaitingCustomer, 2)), 13));
        assert_eq!(m.sale.as_ref().map(|s| s.status), Some(SaleStatus::Cancelling));
    }

    #[test]
    fn an_older_answer_never_turns_a_finished_sale_back_or_shows_less_money() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 1)));
        m.request_sent();
        m.apply_event(11, TillEvent::Sale { sale: sale("a", SaleStatus::Cancelled, 1) });
        // The answer to "cancel" left before the event: it says cancelling.
        m.request_answered(sale("a", SaleStatus::Cancelling, 1));
        assert_eq!(m.sale.as_ref().map(|s| s.status), Some(SaleStatus::Cancelled));
        assert!(!m.busy, "the request is answered all the same");

        let taken = |captured, refunded| Sale {
            authorized: Money::new(12_350, Currency::Nok),
            captured: Money::new(captured, Currency::Nok),
            refunded: Money::new(refunded, Currency::Nok),
            ..sale("p", SaleStatus::Captured, 1)
        };
        let mut m = model(Some(Sale { status: SaleStatus::Refunded, ..taken(12_350, 12_350) }));
        m.apply_snapshot(snapshot(Some(taken(12_350, 0)), 10));
        assert_eq!(m.sale.as_ref().map(|s| s.status), Some(SaleStatus::Refunded), "no money comes back");
        m.apply_snapshot(snapshot(Some(Sale { status: SaleStatus::Authorized, ..taken(0, 0) }), 10));
        assert_eq!(m.sale.as_ref().map(|s| s.status), Some(SaleStatus::Refunded));
        let mut m = model(Some(taken(4_000, 0)));
        m.apply_event(11, TillEvent::Sale { sale: taken(12_350, 0) });
        assert_eq!(m.sale.as_ref().map(|s| s.captured.value), Some(12_350), "a final sale still moves on");
    }

    #[test]
    fn a_capture_that_took_part_of_the_amount_reads_as_what_was_taken_of_it() {
        let of = Money::new(10_000, Currency::Nok);
        let captured = |value| Sale {
            amount: of,
            authorized: of,
            captured: Money::new(value, Currency::Nok),
            ..sale("a", SaleStatus::Captured, 1)
        };
        assert_eq!(charged(&captured(4_000)), Charged::Part { taken: Money::new(4_000, Currency::Nok), of });
        assert_eq!(charged(&captured(10_000)), Charged::Whole(of), "all of it: the amount");
        let approved = Sale { status: SaleStatus::Authorized, ..captured(0) };
        assert_eq!(charged(&approved), Charged::Whole(of), "nothing taken yet: the amount asked");
        let declined = Sale { status: SaleStatus::Declined, ..captured(0) };
        assert_eq!(charged(&declined), Charged::Whole(of));
    }

    #[test]
    fn the_keypad_is_locked_while_a_sale_is_on_screen() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 1)));
        m.press(Key::Digit(5));
        assert!(m.entry.is_empty());
        assert!(m.has_active_sale());
        assert_eq!(m.presentation(), None, "nothing to present while a sale is on screen");
    }

    #[test]
    fn a_sale_a_customer_started_at_the_sticker_is_followed_for_its_claim_on_what_the_till_presents() {
        let at_sticker = |flow, status| Sale { flow, ..sale("s", status, 1) };
        let mut m = model(Some(at_sticker(Flow::Sticker, SaleStatus::AwaitingCustomer)));
        assert_eq!(m.sticker_sale(), Some(("s".to_owned(), SaleStatus::AwaitingCustomer)));
        m.apply_event(11, TillEvent::Sale { sale: at_sticker(Flow::Sticker, SaleStatus::Cancelled) });
        assert_eq!(m.sticker_sale(), Some(("s".to_owned(), SaleStatus::Cancelled)), "each change counts");
        let app_switch = model(Some(at_sticker(Flow::AppSwitch, SaleStatus::Creating)));
        assert!(app_switch.sticker_sale().is_some(), "opening the app claims it too");
        assert_eq!(model(Some(sale("q", SaleStatus::AwaitingCustomer, 1))).sticker_sale(), None);
        assert_eq!(model(None).sticker_sale(), None);
    }

    #[test]
    fn taking_back_what_the_till_presents_sends_one_request_and_then_nothing_is_presented() {
        let mut m = model(None);
        assert!(!m.take_back(), "nothing presented, nothing to take back");
        m.set_presented(Some(Presented {
            amount: Money::new(4_500, Currency::Nok),
            description: None,
            claimed: true,
            claimed_by: Some("+47 ••• •• 567".into()),
        }));
        assert!(m.take_back());
        assert!(m.busy);
        assert!(!m.take_back(), "a second tap while the first is on its way does nothing");
        m.taken_back();
        assert_eq!((m.presented.as_ref(), m.busy), (None, false));
    }

    #[test]
    fn a_refusal_shows_its_sentence_and_an_unanswered_request_makes_the_till_ask_again() {
        let mut m = model(None);
        m.press(Key::Digit(5));
        m.start_qr();
        let busy = Problem::new(409, kasse_api::ProblemCode::TillBusy, "Till busy", "Finish it first.");
        m.request_failed(Failure::Refused(busy.clone()));
        assert_eq!(m.notice, Some(Notice::Refused(busy)));
        assert!(!m.busy && !m.unsure);
        m.start_qr();
        m.request_failed(Failure::NoAnswer);
        assert!(m.unsure, "no answer is not a refusal");
        m.apply_snapshot(snapshot(Some(sale("a", SaleStatus::AwaitingCustomer, 1)), 12));
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
        assert!(m.sale.is_none() && m.entry.is_empty() && m.lines.is_empty());
    }

    #[test]
    fn a_sale_put_away_stays_away_after_a_reconnect_a_reload_or_news_of_it() {
        let mut m = model(Some(sale("a", SaleStatus::Captured, 1)));
        m.next_sale();
        assert_eq!(m.put_away.as_deref(), Some("a"));
        // A reconnect: the server names it as the till's last sale.
        m.apply_snapshot(snapshot(Some(sale("a", SaleStatus::Captured, 1)), 11));
        assert!(m.sale.is_none(), "back after a reconnect");
        // News of it: refunded from the history.
        m.apply_event(12, TillEvent::Sale { sale: sale("a", SaleStatus::Refunded, 1) });
        assert!(m.sale.is_none(), "back after an event");
        // A reload on a device that remembers it.
        let reloaded = TillModel::new(snapshot(Some(sale("a", SaleStatus::Captured, 1)), 12))
            .with_put_away(Some("a".to_owned()));
        assert!(reloaded.sale.is_none(), "back after a reload");
        // The next sale shows, and so does an unfinished one of the same name.
        m.apply_event(13, TillEvent::Sale { sale: sale("b", SaleStatus::AwaitingCustomer, 2) });
        assert_eq!(m.sale.as_ref().map(|s| s.reference.as_str()), Some("b"));
        let active = TillModel::new(snapshot(Some(sale("a", SaleStatus::AwaitingCustomer, 1)), 12))
            .with_put_away(Some("a".to_owned()));
        assert!(active.sale.is_some(), "only a finished sale can be put away");
    }

    #[test]
    fn the_qr_code_shows_on_the_till_or_on_the_customer_display_never_both() {
        let mut m = model(Some(sale("a", SaleStatus::AwaitingCustomer, 0)));
        assert_eq!(m.qr_here(), Some("http://sim/pay/t"));
        assert!(!m.qr_elsewhere());
        m.qr_on_display = true;
        assert_eq!(m.qr_here(), None);
        assert!(m.qr_elsewhere());
        // A push to a phone has no QR code anywhere.
        let mut pushed = model(Some(sale("b", SaleStatus::Captured, 0)));
        pushed.qr_on_display = true;
        assert!(!pushed.qr_elsewhere());
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
    fn vat_rates_follow_the_stores_country_and_read_as_percentages() {
        assert_eq!(vat_rates(Currency::Eur)[0], 2550);
        assert_eq!(format_vat(2550), "25.5 %");
        assert_eq!(format_vat(1500), "15 %");
        assert_eq!(format_vat(0), "0 %");
    }

    #[test]
    fn the_outcomes_have_the_tone_a_cashier_expects() {
        assert_eq!(tone(SaleStatus::Captured), Tone::Success);
        assert_eq!(tone(SaleStatus::Declined), Tone::Failure);
        assert_eq!(tone(SaleStatus::AwaitingCustomer), Tone::Waiting);
    }
}

//! The sticker landing page's logic: what the customer typed, what may be sent, and the payment
//! as the server reports it.
//!
//! A customer scans a static sticker and lands on `/q/{sticker}`. The page shows the merchant and
//! what there is to pay (what the till presents, or an amount field within an open-amount
//! sticker's bounds), takes a phone number (checked and normalised here with the same rules as
//! the till and the server, so a mistake is named before anything is sent), and then shows the
//! payment live. The payment is the server's: this model only ever shows what a request's answer
//! or a live event said, and the page keeps its token in the address so a reload, or the switch
//! back from the app, finds the same payment.
//!
//! A request that got no answer may still have started a payment (the answer can be lost on the
//! way back). The page then has no token for it, so each request carries an Idempotency-Key, and
//! the same request sent again after no answer carries the same one: the server answers it with
//! the payment the first started, if it started one, instead of starting a second ([`Attempt`]).

use kasse_api::{
    Country, LandingPayment, Money, Msisdn, NewLandingPayment, PhoneError, Problem, SaleStatus, StickerInfo,
};

use super::money::{AmountMistake, parse_amount};

/// The query parameter naming the payment a page follows (the server's `returnUrl` uses it too).
pub const PAYMENT_PARAMETER: &str = "payment";

/// What the customer must put right before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mistake {
    /// The phone number cannot receive a payment request.
    Phone(PhoneError),
    /// The typed amount is not an amount.
    Amount(AmountMistake),
    /// Less than the sticker allows.
    BelowMinimum(Money),
    /// More than the sticker allows.
    AboveMaximum(Money),
}

/// Why the server refused a request, in terms the page can word in the customer's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The number had several requests already; the wait in seconds, if the server said.
    NumberLimited(Option<i64>),
    /// This phone (its address) sent too many requests.
    PhoneLimited(Option<i64>),
    /// Many people are paying at this sticker.
    StickerBusy(Option<i64>),
    /// The till presents nothing now.
    NothingToPay,
    /// The till is busy with another payment.
    CheckoutBusy,
    /// The till changed the amount after the page showed it.
    AmountChanged,
    /// The sticker is not in use.
    UnknownSticker,
    /// The payment the address names does not exist.
    UnknownPayment,
    /// The platform would not send the request (e.g. no account on that number).
    PlatformRefused,
    /// Anything else: the server's own sentence.
    Other(String),
}

impl Refusal {
    /// Reads a problem answer, and the `Retry-After` that came with it, as a refusal.
    pub fn from_problem(problem: &Problem, retry_after_s: Option<i64>) -> Self {
        use kasse_api::ProblemCode as C;
        let Some(code) = problem.code else { return Self::Other(problem.sentence().to_owned()) };
        match code {
            C::NumberRateLimited => Self::NumberLimited(retry_after_s),
            C::ClientRateLimited => Self::PhoneLimited(retry_after_s),
            C::StickerRateLimited => Self::StickerBusy(retry_after_s),
            C::NothingToPay => Self::NothingToPay,
            C::CheckoutBusy => Self::CheckoutBusy,
            C::AmountChanged => Self::AmountChanged,
            C::UnknownSticker => Self::UnknownSticker,
            C::UnknownPayment => Self::UnknownPayment,
            C::PlatformRefused => Self::PlatformRefused,
            // The page has no sentence of its own for the rest, said in the server's words: a
            // phone number, amount or request the server judged, and the till's and PoS
            // systems' answers, which never come here.
            C::BadPhoneNumber
            | C::AmountTooSmall
            | C::AmountTooLarge
            | C::AmountOutsideBounds
            | C::WrongCurrency
            | C::BadRequestBody
            | C::BadQuery
            | C::BadIdempotencyKey
            | C::KeyReused
            | C::KeyRevoked
            | C::IdempotencyKeyRequired
            | C::TooLarge
            | C::TooManyRequests
            | C::Pending
            | C::Internal
            | C::Unknown
            | C::TooManyStreams
            | C::SessionExpired
            | C::SessionRevoked
            | C::Unauthorized
            | C::Forbidden
            | C::NotFound
            | C::MethodNotAllowed
            | C::BadWebhook
            | C::PinRequired
            | C::BadPin
            | C::PinChosen
            | C::WrongPin
            | C::PinLocked
            | C::ManagerPinRequired
            | C::UnknownDevice
            | C::ManagerNameTaken
            | C::UnknownTill
            | C::TillBusy
            | C::AmountOutOfRange
            | C::BadPersonalQr
            | C::NoLoyalty
            | C::BadLines
            | C::BadDescription
            | C::CheckInGone
            | C::NotCancellable
            | C::NotCapturable
            | C::NotRefundable
            | C::AlreadyApproved => Self::Other(problem.sentence().to_owned()),
        }
    }
}

/// How a request to the server ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// The server said no, and why.
    Refused(Refusal),
    /// No answer: the network failed.
    NoAnswer,
}

/// A sentence under the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Something typed is wrong; nothing was sent.
    Mistake(Mistake),
    /// A request did not succeed.
    Trouble(Trouble),
}

/// Where the customer's payment stands, in the steps the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The request is on its way to the app.
    Sending,
    /// The request is in the customer's app: approve it there.
    Approve,
    /// The platform's page is ready: open the app to pay.
    OpenApp,
    /// Approved; the shop is taking the money.
    Finishing,
    /// The shop is cancelling it (before or after the customer approved): not to be paid.
    Cancelling,
    /// Paid.
    Paid,
    /// The money was given back.
    Refunded,
    /// Declined in the app.
    Declined,
    /// Not approved in time.
    Expired,
    /// The shop cancelled it.
    Cancelled,
    /// The platform refused it.
    Failed,
}

impl Step {
    /// The step a payment is at.
    pub fn of(payment: &LandingPayment) -> Self {
        match payment.status {
            SaleStatus::Creating => Self::Sending,
            SaleStatus::AwaitingCustomer if payment.phone.is_none() => Self::OpenApp,
            SaleStatus::AwaitingCustomer => Self::Approve,
            SaleStatus::Authorized => Self::Finishing,
            // Not "approved": whatever the customer did, the shop is stopping this payment.
            SaleStatus::Cancelling => Self::Cancelling,
            SaleStatus::Captured => Self::Paid,
            SaleStatus::Refunded => Self::Refunded,
            SaleStatus::Declined => Self::Declined,
            SaleStatus::Expired => Self::Expired,
            SaleStatus::Cancelled => Self::Cancelled,
            SaleStatus::Failed => Self::Failed,
        }
    }

    /// Whether the customer can ask for the same payment again: it ended and took nothing, and
    /// not because the shop stopped it.
    pub const fn can_send_again(self) -> bool {
        matches!(self, Self::Declined | Self::Expired | Self::Failed)
    }

    /// Whether nothing more will happen to the payment.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Paid | Self::Refunded | Self::Declined | Self::Expired | Self::Cancelled | Self::Failed
        )
    }
}

/// What the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the sticker (and the payment the address names).
    Loading,
    /// The sticker could not be read.
    Unavailable,
    /// The till presents nothing now.
    NothingToPay,
    /// The form: amount, phone number, Pay and Open the app.
    Form,
    /// A payment, live.
    Payment(Step),
}

/// What the page follows live, one stream at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// A payment's events, until it is final (by its token).
    Payment(String),
    /// What the sticker offers, while the page waits there (by the sticker's id).
    Sticker(String),
}

/// A payment request the page sent and got no answer to (its Idempotency-Key, and what it
/// asked), so that the same request sent again is known to the server as the same payment. The
/// page keeps it in the tab's session storage, so a reload meanwhile keeps it too. It is forgotten
/// once an answer comes (a payment, or a refusal: then nothing started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The request's Idempotency-Key.
    pub key: String,
    /// What it asked ([`asked`]): another request (a changed amount or number) is another
    /// payment, under a key of its own.
    asked: String,
}

impl Attempt {
    /// The attempt as the page keeps it: the key, a space, what it asked.
    pub fn stored(&self) -> String {
        format!("{} {}", self.key, self.asked)
    }

    /// An attempt as the page kept it; `None` for anything else.
    pub fn from_stored(stored: &str) -> Option<Self> {
        let (key, asked) = stored.split_once(' ')?;
        // The server takes 1 to 100 visible ASCII characters.
        let usable = (1..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        usable.then(|| Self { key: key.to_owned(), asked: asked.to_owned() })
    }
}

/// What a request asks, to tell one payment request from another: the amount, the number (or
/// the app), and the earlier payment it sends again.
fn asked(request: &NewLandingPayment) -> String {
    let amount = request.amount.map(|m| format!("{}{}", m.value, m.currency)).unwrap_or_default();
    let phone = request.phone_number.as_deref().unwrap_or("app");
    format!("{amount}|{phone}|{}", request.again.as_deref().unwrap_or_default())
}

/// A payment request to send: its body, and the Idempotency-Key it goes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sending {
    /// The body.
    pub request: NewLandingPayment,
    /// The key: fresh for a new request, the earlier one's for the same request sent again.
    pub key: String,
}

/// An earlier payment the customer sends again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Again {
    /// Its token, which lets the server repeat a till's amount it took.
    token: String,
    /// Its amount, which the customer saw.
    amount: Money,
}

/// The landing page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandingModel {
    /// The sticker's id, from the address.
    pub sticker_id: String,
    /// The sticker, once read.
    pub sticker: Option<StickerInfo>,
    /// Why the sticker could not be read.
    pub sticker_trouble: Option<Trouble>,
    /// The phone number as typed.
    pub phone: String,
    /// The country a number without `+` is read in.
    pub country: Country,
    /// The amount as typed, for an open-amount sticker.
    pub amount: String,
    /// "Remember my number on this device" is ticked.
    pub remember: bool,
    /// The number this device keeps because the customer asked it to (the page offers to forget
    /// it).
    pub kept: Option<String>,
    /// The payment the page follows.
    pub payment: Option<LandingPayment>,
    /// A request is on its way.
    pub busy: bool,
    /// The sentence under the form.
    pub notice: Option<Notice>,
    /// The customer asked to open the app: the page goes to the platform once it has the address.
    pub opening_app: bool,
    /// How many times the sticker was read: the page redraws what it offers after each reading.
    pub sticker_reads: u32,
    /// The country the customer chose themselves: the store's does not replace it.
    chosen: Option<Country>,
    /// The token of the payment the page follows: named by the address, or just started.
    following: Option<String>,
    /// "Send again": the earlier, unpaid payment the next request repeats.
    again: Option<Again>,
    /// The request sent without an answer yet, whose key the same request sent again reuses.
    attempt: Option<Attempt>,
}

impl LandingModel {
    /// The page for `sticker_id`, following the payment `token` the address names (if any), with
    /// the number this device remembers (if the customer once asked it to).
    pub fn new(sticker_id: String, token: Option<String>, remembered: Option<String>) -> Self {
        Self {
            sticker_id,
            sticker: None,
            sticker_trouble: None,
            phone: remembered.clone().unwrap_or_default(),
            country: Country::No,
            amount: String::new(),
            remember: remembered.is_some(),
            kept: remembered,
            payment: None,
            busy: false,
            notice: None,
            opening_app: false,
            sticker_reads: 0,
            chosen: None,
            following: token,
            again: None,
            attempt: None,
        }
    }

    /// The same page, with the request this tab sent without an answer before a reload (as
    /// [`Attempt::stored`] kept it; anything else is ignored).
    #[must_use]
    pub fn with_attempt(mut self, stored: Option<&str>) -> Self {
        self.attempt = stored.and_then(Attempt::from_stored);
        self
    }

    /// The request sent without an answer yet, for the page to keep across a reload.
    pub const fn attempt(&self) -> Option<&Attempt> {
        self.attempt.as_ref()
    }

    /// What the page shows now.
    pub fn stage(&self) -> Stage {
        if let Some(payment) = &self.payment {
            return Stage::Payment(Step::of(payment));
        }
        if self.following.is_some() {
            // The address names a payment not read yet.
            return Stage::Loading;
        }
        match &self.sticker {
            None if self.sticker_trouble.is_some() => Stage::Unavailable,
            None => Stage::Loading,
            Some(sticker)
                if sticker.presented.is_none() && sticker.open.is_none() && self.again.is_none() =>
            {
                Stage::NothingToPay
            }
            Some(_) => Stage::Form,
        }
    }

    /// The sticker was read (on load, or again after "check again" or a changed amount).
    pub fn sticker_loaded(&mut self, sticker: StickerInfo) {
        self.country = self.chosen.unwrap_or(sticker.country);
        self.sticker = Some(sticker);
        self.sticker_trouble = None;
        self.sticker_reads = self.sticker_reads.wrapping_add(1);
    }

    /// What the sticker offers now, as its live stream tells: the page redraws only when that
    /// differs from what it shows (the till presented an amount, changed it or took it back;
    /// another customer claimed it), never for a reconnection that repeats what it has.
    pub fn sticker_offered(&mut self, sticker: StickerInfo) {
        if self.sticker.as_ref() != Some(&sticker) {
            self.sticker_loaded(sticker);
        }
    }

    /// Whether the page waits at its sticker, following what it offers live: it has read the
    /// sticker, follows no payment, and has no request on its way (which would claim the amount
    /// and have the sticker say "nothing to pay" a moment before the payment shows; a refused
    /// request waits again, from the sticker as it is then).
    pub fn waits_at_sticker(&self) -> bool {
        self.sticker.is_some() && self.following.is_none() && !self.busy
    }

    /// What the page follows live now: the payment it follows until that is final; else, while
    /// it waits at the sticker, what the sticker offers; else nothing.
    pub fn live(&self) -> Option<Live> {
        if let Some(token) = &self.following {
            let done = self.payment.as_ref().is_some_and(|p| Step::of(p).is_final());
            return (!done).then(|| Live::Payment(token.clone()));
        }
        self.waits_at_sticker().then(|| Live::Sticker(self.sticker_id.clone()))
    }

    /// The sticker could not be read.
    pub fn sticker_failed(&mut self, trouble: Trouble) {
        self.sticker_trouble = Some(trouble);
    }

    /// The countries to offer, the store's first, then the others in their usual order.
    pub fn countries(&self) -> [Country; 3] {
        let first = self.sticker.as_ref().map_or(Country::No, |s| s.country);
        let mut countries = Country::ALL;
        if let Some(at) = countries.iter().position(|c| *c == first) {
            countries[..=at].rotate_right(1);
        }
        countries
    }

    /// The customer chose a country.
    pub fn choose_country(&mut self, country: Country) {
        self.country = country;
        self.chosen = Some(country);
    }

    /// The customer forgot the remembered number: it is gone from the form too.
    pub fn forget_number(&mut self) {
        self.phone.clear();
        self.remember = false;
        self.kept = None;
    }

    /// The amount this payment asks: what the till presents (as the page shows it), the typed
    /// amount checked against the sticker's bounds, or the amount being sent again.
    pub fn amount_to_pay(&self) -> Result<Option<Money>, Mistake> {
        let Some(sticker) = &self.sticker else { return Ok(None) };
        if let Some(presented) = &sticker.presented {
            return Ok(Some(presented.amount));
        }
        let Some(open) = &sticker.open else {
            return Ok(self.again.as_ref().map(|again| again.amount));
        };
        let amount = parse_amount(&self.amount, open.max).map_err(|mistake| match mistake {
            AmountMistake::MoreThanLeft { .. } => Mistake::AboveMaximum(open.max),
            AmountMistake::Negative | AmountMistake::Zero => Mistake::BelowMinimum(open.min),
            other => Mistake::Amount(other),
        })?;
        if amount.value < open.min.value {
            return Err(Mistake::BelowMinimum(open.min));
        }
        Ok(Some(amount))
    }

    /// The number to keep on this device as the customer pays: the typed number, normalised,
    /// when they ticked "remember"; `None` means keep none.
    pub fn number_to_remember(&self) -> Option<String> {
        if !self.remember {
            return None;
        }
        Msisdn::parse(&self.phone, self.country).ok().map(|msisdn| format!("+{msisdn}"))
    }

    /// Pay: a payment request to the typed number. A mistyped number or amount is refused here,
    /// with its reason, and nothing is sent. `None` while a request is already on its way.
    /// `fresh_key` makes the Idempotency-Key of a new request (not of one sent again).
    pub fn pay(&mut self, fresh_key: impl FnOnce() -> String) -> Option<Sending> {
        if self.busy {
            return None;
        }
        let checked = Msisdn::parse(&self.phone, self.country)
            .map_err(Mistake::Phone)
            .and_then(|msisdn| Ok((msisdn, self.amount_to_pay()?)));
        match checked {
            Ok((msisdn, amount)) => {
                // The device now keeps the number, or none, as the box says.
                self.kept = self.number_to_remember();
                let request = NewLandingPayment {
                    amount,
                    phone_number: Some(format!("+{msisdn}")),
                    country: Some(self.country),
                    again: None,
                };
                Some(self.send(request, fresh_key))
            }
            Err(mistake) => {
                self.notice = Some(Notice::Mistake(mistake));
                None
            }
        }
    }

    /// Open the app instead: an app-switch payment, no number needed. The page goes to the
    /// platform's address once the answer has it (see [`LandingModel::app_to_open`]).
    /// `fresh_key` as for [`LandingModel::pay`].
    pub fn open_app(&mut self, fresh_key: impl FnOnce() -> String) -> Option<Sending> {
        if self.busy {
            return None;
        }
        match self.amount_to_pay() {
            Ok(amount) => {
                self.opening_app = true;
                let request = NewLandingPayment { amount, phone_number: None, country: None, again: None };
                Some(self.send(request, fresh_key))
            }
            Err(mistake) => {
                self.notice = Some(Notice::Mistake(mistake));
                None
            }
        }
    }

    /// Sends `request`: under the key of the same request sent earlier without an answer (which
    /// may have started a payment the page never heard of), else under a fresh one.
    fn send(&mut self, mut request: NewLandingPayment, fresh_key: impl FnOnce() -> String) -> Sending {
        self.busy = true;
        self.notice = None;
        request.again = self.again.as_ref().map(|again| again.token.clone());
        let asked = asked(&request);
        let key = match self.attempt.take() {
            Some(earlier) if earlier.asked == asked => earlier.key,
            _ => fresh_key(),
        };
        self.attempt = Some(Attempt { key: key.clone(), asked });
        Sending { request, key }
    }

    /// Send again, after a payment was declined, expired or failed: the same payment once more.
    /// Sent at once when the page has what it needs (the number is still typed, or it was an app
    /// switch); otherwise the form shows, ready to send it. `fresh_key` as for
    /// [`LandingModel::pay`].
    pub fn send_again(&mut self, fresh_key: impl FnOnce() -> String) -> Option<Sending> {
        let payment = self.payment.take_if(|p| Step::of(p).can_send_again())?;
        if self.sticker.as_ref().is_some_and(|s| s.open.is_some()) && self.amount.trim().is_empty() {
            self.amount = plain_amount(payment.amount);
        }
        self.again = Some(Again { token: payment.token, amount: payment.amount });
        self.following = None;
        if payment.phone.is_none() {
            self.open_app(fresh_key)
        } else if self.phone.trim().is_empty() {
            None
        } else {
            self.pay(fresh_key)
        }
    }

    /// The token of the payment the page follows (whose live events it listens to).
    pub fn following(&self) -> Option<&str> {
        self.following.as_deref()
    }

    /// The server started the payment, or read the one the address names.
    pub fn answered(&mut self, payment: LandingPayment) {
        self.busy = false;
        self.notice = None;
        self.again = None;
        // Answered: the next request is a new one.
        self.attempt = None;
        self.following = Some(payment.token.clone());
        self.payment = Some(payment);
    }

    /// A request did not succeed: refused, it started nothing; without an answer it may have, and
    /// the same request sent again keeps its key.
    pub fn failed(&mut self, trouble: Trouble) {
        self.busy = false;
        self.opening_app = false;
        if let Trouble::Refused(_) = trouble {
            self.attempt = None;
        }
        match &trouble {
            // The payment the address named does not exist: start over from the sticker.
            Trouble::Refused(Refusal::UnknownPayment) => {
                self.following = None;
                self.payment = None;
            }
            // What was sent again is gone too: the till must present the amount anew.
            Trouble::Refused(Refusal::NothingToPay) => self.again = None,
            _ => {}
        }
        self.notice = Some(Notice::Trouble(trouble));
    }

    /// Whether the sticker should be read again after this refusal (its amount changed or went).
    pub fn sticker_is_stale(&self) -> bool {
        matches!(
            &self.notice,
            Some(Notice::Trouble(Trouble::Refused(Refusal::AmountChanged | Refusal::NothingToPay)))
        )
    }

    /// A live event: the payment as it is now. Another payment's event changes nothing.
    pub fn apply_event(&mut self, payment: LandingPayment) {
        if self.following.as_deref() == Some(payment.token.as_str()) {
            self.payment = Some(payment);
        }
    }

    /// The platform's address to send the browser to, once, after "Open the app".
    pub fn app_to_open(&mut self) -> Option<String> {
        if !self.opening_app {
            return None;
        }
        let payment = self.payment.as_ref()?;
        let url = payment.redirect_url.clone().filter(|_| payment.status == SaleStatus::AwaitingCustomer)?;
        self.opening_app = false;
        Some(url)
    }

    /// Whole seconds left for the customer to approve, at `now_ms`.
    pub fn seconds_left(&self, now_ms: i64) -> Option<i64> {
        let payment = self.payment.as_ref().filter(|p| p.status == SaleStatus::AwaitingCustomer)?;
        payment.expires_at_ms.map(|at| ((at - now_ms) / 1000).max(0))
    }
}

/// An amount as a person types it back into the amount field: `20.00`.
fn plain_amount(money: Money) -> String {
    format!("{}.{:02}", money.value / 100, money.value % 100)
}

/// The sticker id of a landing page's path, `/q/{sticker}`.
pub fn sticker_in_path(path: &str) -> Option<String> {
    kasse_api::sticker_in_landing_path(path).map(str::to_owned)
}

/// The payment token a landing page's query names (`?payment=…`), if any.
pub fn token_in_query(query: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(PAYMENT_PARAMETER)?.strip_prefix('='))
        .filter(|token| !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use kasse_api::{Currency, OpenAmount, Presented};

    use super::*;

    const NOK: Currency = Currency::Nok;

    fn sticker(presented: Option<i64>, open: Option<(i64, i64)>) -> StickerInfo {
        StickerInfo {
            id: "demo".into(),
            merchant: "Kaffebrenneriet".into(),
            place: "Kasse 1".into(),
            country: Country::No,
            presented: presented.map(|value| Presented {
                amount: Money::new(value, NOK),
                description: None,
                claimed: false,
                claimed_by: None,
            }),
            open: open.map(|(min, max)| OpenAmount { min: Money::new(min, NOK), max: Money::new(max, NOK) }),
            closed: false,
        }
    }

    /// The Idempotency-Key of a new request, in tests that look at other things.
    fn key() -> String {
        "k".into()
    }

    fn page(info: StickerInfo) -> LandingModel {
        let mut m = LandingModel::new("demo".into(), None, None);
        m.sticker_loaded(info);
        m
    }

    fn payment(token: &str, status: SaleStatus, phone: Option<&str>) -> LandingPayment {
        LandingPayment {
            token: token.into(),
            sticker: "demo".into(),
            merchant: "Kaffebrenneriet".into(),
            amount: Money::new(4_500, NOK),
            description: None,
            status,
            phone: phone.map(str::to_owned),
            redirect_url: (phone.is_none() && status == SaleStatus::AwaitingCustomer)
                .then(|| "https://platform/pay/t".to_owned()),
            expires_at_ms: Some(600_000),
        }
    }

    #[test]
    fn a_customer_pays_what_the_till_presents_to_their_number_in_the_platforms_form() {
        let mut m = page(sticker(Some(4_500), None));
        assert_eq!(m.stage(), Stage::Form);
        m.phone = "912 34 567".into();
        let request = m.pay(key).unwrap().request;
        assert_eq!(request.phone_number.as_deref(), Some("+4791234567"));
        assert_eq!(
            request.amount,
            Some(Money::new(4_500, NOK)),
            "the amount the page shows, checked by the server"
        );
        assert_eq!(request.again, None);
        assert!(m.busy);
        assert_eq!(m.pay(key), None, "a second press while the first is on its way sends nothing");
    }

    /// A key maker that must not be called: the request is sent again under its earlier key.
    fn no_new_key() -> String {
        panic!("a request sent again after no answer got a new key")
    }

    #[test]
    fn a_donation_sent_again_after_no_answer_goes_under_the_same_key_so_it_starts_one_payment() {
        let mut m = page(sticker(None, Some((1_000, 100_000))));
        m.amount = "45".into();
        m.phone = "91234567".into();
        let first = m.pay(|| "k1".into()).unwrap();
        assert_eq!(first.key, "k1");
        // The network dropped as the answer came back: the payment may have started.
        m.failed(Trouble::NoAnswer);
        assert!(!m.busy, "Pay can be pressed again");
        let again = m.pay(no_new_key).unwrap();
        assert_eq!(again, first, "the same request under the same key");
        m.failed(Trouble::NoAnswer);
        let again = m.pay(no_new_key).unwrap();
        assert_eq!(again.key, "k1", "and again");
        // The server answers with the payment the first one started.
        m.answered(payment("t1", SaleStatus::AwaitingCustomer, Some("+47 •••••567")));
        assert_eq!(m.attempt(), None, "answered: nothing to send again under that key");

        // Opening the app is a request like any other.
        let mut m = page(sticker(Some(4_500), None));
        assert_eq!(m.open_app(|| "a1".into()).unwrap().key, "a1");
        m.failed(Trouble::NoAnswer);
        assert_eq!(m.open_app(no_new_key).unwrap().key, "a1");
    }

    #[test]
    fn a_refusal_or_another_amount_or_number_is_a_new_request_under_a_new_key() {
        let mut m = page(sticker(None, Some((1_000, 100_000))));
        m.amount = "45".into();
        m.phone = "91234567".into();
        assert_eq!(m.pay(|| "k1".into()).unwrap().key, "k1");
        m.failed(Trouble::NoAnswer);
        m.amount = "50".into();
        assert_eq!(m.pay(|| "k2".into()).unwrap().key, "k2", "another amount: another payment");
        m.failed(Trouble::NoAnswer);
        m.phone = "98765432".into();
        assert_eq!(m.pay(|| "k3".into()).unwrap().key, "k3", "another number: another payment");
        m.failed(Trouble::NoAnswer);
        assert_eq!(m.open_app(|| "k4".into()).unwrap().key, "k4", "the app instead of the number");
        m.failed(Trouble::Refused(Refusal::StickerBusy(Some(5))));
        assert_eq!(m.attempt(), None, "refused: nothing started");
        assert_eq!(m.open_app(|| "k5".into()).unwrap().key, "k5");
    }

    #[test]
    fn a_reload_while_the_customer_sends_again_keeps_the_key() {
        let mut m = page(sticker(None, Some((1_000, 100_000))));
        m.amount = "45".into();
        m.phone = "91234567".into();
        m.pay(|| "0123456789abcdef0123456789abcdef".into()).unwrap();
        m.failed(Trouble::NoAnswer);
        let kept = m.attempt().map(Attempt::stored).unwrap();

        let mut reloaded = LandingModel::new("demo".into(), None, None).with_attempt(Some(&kept));
        reloaded.sticker_loaded(sticker(None, Some((1_000, 100_000))));
        reloaded.amount = "45,00".into();
        reloaded.phone = "912 34 567".into();
        assert_eq!(reloaded.pay(no_new_key).unwrap().key, "0123456789abcdef0123456789abcdef");

        let too_long = format!("{} x", "k".repeat(101));
        for stored in ["", "no-space", " nothing", too_long.as_str(), "ké x"] {
            let m = LandingModel::new("demo".into(), None, None).with_attempt(Some(stored));
            assert_eq!(m.attempt(), None, "{stored:?} is not a kept request");
        }
    }

    #[test]
    fn mistyped_numbers_are_refused_here_with_their_reason_and_nothing_is_sent() {
        let mut m = page(sticker(Some(4_500), None));
        for (typed, mistake) in [
            ("912 34", PhoneError::TooShort),
            ("912 3A 567", PhoneError::NotDigits),
            ("+46 70 123 45 67", PhoneError::UnknownCountry),
            ("", PhoneError::Empty),
        ] {
            m.phone = typed.into();
            assert_eq!(m.pay(key), None, "{typed:?}");
            assert_eq!(m.notice, Some(Notice::Mistake(Mistake::Phone(mistake))), "{typed:?}");
            assert!(!m.busy, "{typed:?}: nothing on its way");
        }
        m.phone = "912 34 567".into();
        assert!(m.pay(key).is_some());
        assert_eq!(m.notice, None, "the mistake is gone once the number is right");
    }

    #[test]
    fn a_number_is_read_in_the_chosen_country_which_the_stores_country_does_not_override() {
        let mut m = LandingModel::new("demo".into(), None, None);
        m.choose_country(Country::Dk);
        m.sticker_loaded(sticker(Some(4_500), None));
        assert_eq!(m.country, Country::Dk, "the customer's choice stands");
        m.phone = "20 03 18 01".into();
        assert_eq!(m.pay(key).unwrap().request.phone_number.as_deref(), Some("+4520031801"));

        let mut finnish = LandingModel::new("kahvila".into(), None, None);
        finnish.sticker_loaded(StickerInfo { country: Country::Fi, ..sticker(Some(500), None) });
        assert_eq!(finnish.country, Country::Fi, "the store's country until the customer chooses");
        assert_eq!(finnish.countries(), [Country::Fi, Country::No, Country::Dk], "the store's first");
        assert_eq!(page(sticker(None, None)).countries(), Country::ALL);
        let danish = page(StickerInfo { country: Country::Dk, ..sticker(None, None) });
        assert_eq!(danish.countries(), [Country::Dk, Country::No, Country::Fi]);
    }

    #[test]
    fn an_open_amount_sticker_takes_only_an_amount_within_its_bounds() {
        let mut m = page(sticker(None, Some((1_000, 100_000))));
        m.phone = "91234567".into();
        for (typed, mistake) in [
            ("9,99", Mistake::BelowMinimum(Money::new(1_000, NOK))),
            ("0", Mistake::BelowMinimum(Money::new(1_000, NOK))),
            ("1000,01", Mistake::AboveMaximum(Money::new(100_000, NOK))),
            ("ten", Mistake::Amount(AmountMistake::NotANumber)),
            ("", Mistake::Amount(AmountMistake::Empty)),
        ] {
            m.amount = typed.into();
            assert_eq!(m.pay(key), None, "{typed:?}");
            assert_eq!(m.notice, Some(Notice::Mistake(mistake)), "{typed:?}");
        }
        m.amount = "1000".into();
        assert_eq!(
            m.pay(key).unwrap().request.amount,
            Some(Money::new(100_000, NOK)),
            "the bound itself is allowed"
        );
    }

    #[test]
    fn opening_the_app_needs_no_number_and_goes_to_the_platform_once() {
        let mut m = page(sticker(Some(4_500), None));
        let request = m.open_app(key).unwrap().request;
        assert_eq!((request.phone_number, request.amount), (None, Some(Money::new(4_500, NOK))));
        m.answered(payment("t1", SaleStatus::Creating, None));
        assert_eq!(m.app_to_open(), None, "not before the platform gave its address");
        m.apply_event(payment("t1", SaleStatus::AwaitingCustomer, None));
        assert_eq!(m.stage(), Stage::Payment(Step::OpenApp));
        assert_eq!(m.app_to_open().as_deref(), Some("https://platform/pay/t"));
        assert_eq!(m.app_to_open(), None, "once: coming back does not send the customer away again");
    }

    #[test]
    fn a_reload_follows_the_payment_the_address_names_and_ignores_others() {
        let mut m = LandingModel::new("demo".into(), Some("t1".into()), None);
        m.sticker_loaded(sticker(None, None));
        assert_eq!(m.stage(), Stage::Loading, "not 'nothing to pay' while the payment is read");
        assert_eq!(m.following(), Some("t1"));
        m.apply_event(payment("other", SaleStatus::Captured, Some("+47 •••••567")));
        assert_eq!(m.stage(), Stage::Loading);
        m.apply_event(payment("t1", SaleStatus::AwaitingCustomer, Some("+47 •••••567")));
        assert_eq!(m.stage(), Stage::Payment(Step::Approve));
        assert_eq!(m.seconds_left(540_500), Some(59));
        m.apply_event(payment("t1", SaleStatus::Captured, Some("+47 •••••567")));
        assert_eq!(m.stage(), Stage::Payment(Step::Paid));
        assert_eq!(m.seconds_left(0), None, "no countdown once paid");
    }

    #[test]
    fn a_payment_the_shop_is_cancelling_is_shown_as_cancelling_not_as_approved() {
        let mut m = LandingModel::new("demo".into(), Some("t1".into()), None);
        m.sticker_loaded(sticker(None, None));
        m.apply_event(payment("t1", SaleStatus::Authorized, Some("+47 •••••567")));
        assert_eq!(m.stage(), Stage::Payment(Step::Finishing));
        m.apply_event(payment("t1", SaleStatus::Cancelling, Some("+47 •••••567")));
        assert_eq!(m.stage(), Stage::Payment(Step::Cancelling));
        let step = Step::Cancelling;
        assert!(!step.is_final(), "the page follows it until it is cancelled");
        assert!(!step.can_send_again(), "the shop stopped it");
        m.apply_event(payment("t1", SaleStatus::Cancelled, Some("+47 •••••567")));
        assert_eq!(m.stage(), Stage::Payment(Step::Cancelled));
    }

    #[test]
    fn an_unknown_payment_in_the_address_leads_back_to_the_sticker() {
        let mut m = LandingModel::new("demo".into(), Some("gone".into()), None);
        m.sticker_loaded(sticker(Some(4_500), None));
        m.failed(Trouble::Refused(Refusal::UnknownPayment));
        assert_eq!((m.stage(), m.following()), (Stage::Form, None));
        assert!(m.notice.is_some());
    }

    #[test]
    fn send_again_repeats_an_unpaid_push_to_the_same_number_naming_the_earlier_payment() {
        let mut m = page(sticker(Some(4_500), None));
        m.phone = "91234567".into();
        m.pay(key).unwrap();
        m.answered(payment("t1", SaleStatus::AwaitingCustomer, Some("+47 •••••567")));
        // The till's amount is taken now.
        m.sticker_loaded(sticker(None, None));
        assert_eq!(m.send_again(key), None, "nothing to send again while the payment is live");
        m.apply_event(payment("t1", SaleStatus::Expired, Some("+47 •••••567")));
        assert!(Step::of(m.payment.as_ref().unwrap()).can_send_again());
        let again = m.send_again(key).unwrap().request;
        assert_eq!(again.again.as_deref(), Some("t1"));
        assert_eq!(again.phone_number.as_deref(), Some("+4791234567"));
        assert_eq!(again.amount, Some(Money::new(4_500, NOK)), "the amount the customer saw");
        m.answered(payment("t2", SaleStatus::AwaitingCustomer, Some("+47 •••••567")));
        assert_eq!(m.following(), Some("t2"));
    }

    #[test]
    fn send_again_after_a_reload_shows_the_form_with_the_amount_ready_for_the_number() {
        let mut m = LandingModel::new("donations".into(), Some("t1".into()), None);
        m.sticker_loaded(sticker(None, Some((1_000, 100_000))));
        m.answered(payment("t1", SaleStatus::Declined, Some("+47 •••••567")));
        assert_eq!(m.send_again(key), None, "the number is not known after a reload");
        assert_eq!(m.stage(), Stage::Form);
        assert_eq!(m.amount, "45.00");
        m.phone = "91234567".into();
        let request = m.pay(key).unwrap().request;
        assert_eq!((request.amount, request.again.as_deref()), (Some(Money::new(4_500, NOK)), Some("t1")));
    }

    #[test]
    fn send_again_at_a_tills_sticker_whose_amount_is_gone_keeps_the_form_until_the_server_says_no() {
        let mut m = LandingModel::new("demo".into(), Some("t1".into()), None);
        m.sticker_loaded(sticker(None, None));
        m.answered(payment("t1", SaleStatus::Declined, None));
        let request = m.send_again(key).unwrap().request;
        assert_eq!(
            (request.phone_number, request.again.as_deref()),
            (None, Some("t1")),
            "an app switch again"
        );
        m.failed(Trouble::Refused(Refusal::NothingToPay));
        assert_eq!(m.stage(), Stage::NothingToPay, "the till moved on: nothing to send again");
        assert!(m.sticker_is_stale(), "the page reads the sticker again");
    }

    #[test]
    fn a_paid_or_cancelled_payment_is_never_sent_again() {
        for status in [SaleStatus::Captured, SaleStatus::Cancelled, SaleStatus::Authorized] {
            let mut m = page(sticker(Some(4_500), None));
            m.phone = "91234567".into();
            m.answered(payment("t1", status, Some("+47 •••••567")));
            assert_eq!(m.send_again(key), None, "{status:?}");
            assert!(m.payment.is_some(), "{status:?}: still shown");
        }
    }

    #[test]
    fn the_number_is_remembered_only_when_the_customer_ticks_it_and_can_be_forgotten() {
        let mut m = page(sticker(Some(4_500), None));
        m.phone = "912 34 567".into();
        assert_eq!(m.number_to_remember(), None, "not unless asked");
        m.remember = true;
        assert_eq!(m.number_to_remember().as_deref(), Some("+4791234567"));

        let mut back = LandingModel::new("demo".into(), None, Some("+4791234567".into()));
        assert!(back.remember);
        assert_eq!(back.kept.as_deref(), Some("+4791234567"));
        assert_eq!(back.phone, "+4791234567", "the form is filled in");
        back.remember = false;
        back.sticker_loaded(sticker(Some(4_500), None));
        back.pay(key).unwrap();
        assert_eq!(back.number_to_remember(), None, "unticked when paying: forgotten");
        assert_eq!(back.kept, None);
        let mut back = LandingModel::new("demo".into(), None, Some("+4791234567".into()));
        back.forget_number();
        assert!(back.phone.is_empty() && !back.remember && back.kept.is_none());
    }

    #[test]
    fn the_page_shows_nothing_to_pay_until_the_till_presents_an_amount() {
        let mut m = LandingModel::new("demo".into(), None, None);
        assert_eq!(m.stage(), Stage::Loading);
        m.sticker_loaded(sticker(None, None));
        assert_eq!(m.stage(), Stage::NothingToPay);
        m.sticker_loaded(sticker(Some(100), None));
        assert_eq!(m.stage(), Stage::Form);
        let mut broken = LandingModel::new("nope".into(), None, None);
        broken.sticker_failed(Trouble::Refused(Refusal::UnknownSticker));
        assert_eq!(broken.stage(), Stage::Unavailable);
    }

    #[test]
    fn a_page_waiting_at_a_sticker_shows_each_amount_as_the_till_presents_it_and_waits_again_when_it_goes() {
        let mut m = page(sticker(None, None));
        assert!(m.waits_at_sticker());
        assert_eq!(m.stage(), Stage::NothingToPay);
        m.phone = "912".into();
        m.sticker_offered(sticker(Some(4_500), None));
        assert_eq!(m.stage(), Stage::Form, "the amount, with no tap");
        assert_eq!(m.amount_to_pay(), Ok(Some(Money::new(4_500, NOK))));
        assert_eq!(m.phone, "912", "what the customer typed stays");
        let reads = m.sticker_reads;
        m.sticker_offered(sticker(Some(4_500), None));
        assert_eq!(m.sticker_reads, reads, "a reconnection repeating the same redraws nothing");
        m.sticker_offered(sticker(None, None));
        assert_eq!(m.stage(), Stage::NothingToPay, "taken back: the page waits again");
        assert_eq!(m.sticker_reads, reads + 1);
    }

    #[test]
    fn a_page_follows_the_sticker_while_it_waits_there_and_the_payment_once_it_has_one() {
        let sticker_live = Some(Live::Sticker("demo".into()));
        assert_eq!(LandingModel::new("demo".into(), None, None).live(), None, "the sticker is not read yet");
        let mut m = page(sticker(Some(4_500), None));
        assert_eq!(m.live(), sticker_live);
        m.phone = "91234567".into();
        m.pay(key).unwrap();
        assert_eq!(m.live(), None, "the request claims the amount: its answer is awaited");
        m.failed(Trouble::NoAnswer);
        assert_eq!(m.live(), sticker_live, "nothing started: the page waits at the sticker again");
        m.pay(key).unwrap();
        m.answered(payment("t1", SaleStatus::AwaitingCustomer, Some("+47 ••• •• 567")));
        assert_eq!(m.live(), Some(Live::Payment("t1".into())), "the payment's page now");
        m.apply_event(payment("t1", SaleStatus::Captured, Some("+47 ••• •• 567")));
        assert_eq!(m.live(), None, "paid: nothing more to follow");
        let reloaded = LandingModel::new("demo".into(), Some("t1".into()), None);
        assert_eq!(reloaded.live(), Some(Live::Payment("t1".into())), "the address names a payment");
    }

    #[test]
    fn a_changed_amount_makes_the_page_read_the_sticker_again() {
        let mut m = page(sticker(Some(4_000), None));
        m.phone = "91234567".into();
        m.pay(key).unwrap();
        m.failed(Trouble::Refused(Refusal::AmountChanged));
        assert!(m.sticker_is_stale() && !m.busy);
        let reads = m.sticker_reads;
        m.sticker_loaded(sticker(Some(4_200), None));
        assert_eq!(m.sticker_reads, reads + 1, "the page redraws the new amount");
        assert_eq!(m.amount_to_pay(), Ok(Some(Money::new(4_200, NOK))));
        m.failed(Trouble::NoAnswer);
        assert!(!m.sticker_is_stale());
    }

    #[test]
    fn each_limit_is_told_apart_with_its_wait_and_unknown_problems_keep_their_sentence() {
        use kasse_api::ProblemCode as C;
        let limited = |code| Problem::new(429, code, "Too many requests", "Try again in 10 minutes.");
        assert_eq!(
            Refusal::from_problem(&limited(C::NumberRateLimited), Some(600)),
            Refusal::NumberLimited(Some(600))
        );
        assert_eq!(Refusal::from_problem(&limited(C::ClientRateLimited), None), Refusal::PhoneLimited(None));
        assert_eq!(
            Refusal::from_problem(&limited(C::StickerRateLimited), Some(5)),
            Refusal::StickerBusy(Some(5))
        );
        let odd = Problem::new(400, C::Unknown, "Bad request", "Something new went wrong.");
        assert_eq!(Refusal::from_problem(&odd, None), Refusal::Other("Something new went wrong.".into()));
    }

    #[test]
    fn the_sticker_and_payment_are_read_from_the_address() {
        assert_eq!(sticker_in_path("/q/demo").as_deref(), Some("demo"));
        assert_eq!(sticker_in_path("/q/till_1-a/").as_deref(), Some("till_1-a"));
        assert_eq!(sticker_in_path("/q/"), None);
        assert_eq!(sticker_in_path("/q/a%20b"), None);
        assert_eq!(sticker_in_path("/till"), None);
        assert_eq!(token_in_query("?payment=abc123").as_deref(), Some("abc123"));
        assert_eq!(token_in_query("?lang=nb&payment=abc123").as_deref(), Some("abc123"));
        assert_eq!(token_in_query("?payments=abc"), None);
        assert_eq!(token_in_query("?payment=<script>"), None);
        assert_eq!(token_in_query(""), None);
    }
}

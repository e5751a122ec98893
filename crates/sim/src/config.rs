//! What a simulated platform holds at start: sales units with their credentials, and customers.

use kasse_vipps::management::CaptureType;
use kasse_vipps::{Currency, Secret};

/// A sales unit (merchant serial number) and the API credentials that act for it.
#[derive(Debug, Clone)]
#[expect(clippy::struct_excessive_bools, reason = "each is a setting of its own at the platform")]
pub struct SalesUnit {
    /// The MSN, 4 to 6 digits.
    pub msn: String,
    /// The merchant name shown to customers.
    pub name: String,
    /// The one currency this unit takes.
    pub currency: Currency,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: Secret,
    /// `Ocp-Apim-Subscription-Key`.
    pub subscription_key: Secret,
    /// May skip the landing page with `userFlow: PUSH_MESSAGE`; otherwise error 5080.
    pub push_allowed: bool,
    /// May create long-living payments (`expiresAt`); otherwise error 5050.
    pub long_living_allowed: bool,
    /// May capture less than the rest of a reservation; otherwise error 6140.
    pub partial_capture_allowed: bool,
    /// May take payments at all; otherwise a create is refused (a unit approved for Login only).
    pub payment_allowed: bool,
    /// How the Management API says the unit captures. Only what it says: direct capture belongs to
    /// the eCom and Recurring APIs, and an ePayment payment is reserved whatever this is.
    pub capture_type: CaptureType,
    /// Whether the Management API describes the unit's settings (`configuration`); the API says
    /// a setting it leaves out proves nothing, and some units are described without them.
    pub settings_described: bool,
    /// How long after authorization a capture is possible (error 6100 after it): 180 days in
    /// Norway, 14 days in Denmark and Finland (reference/vipps-apis.md §3.7, §9).
    pub capture_deadline: chrono::Duration,
    /// How long after authorization the rest of a reservation can be cancelled (error 6030 after
    /// it, or after the capture deadline, whichever is first).
    pub cancel_period: chrono::Duration,
    /// How long after its last capture a payment can be refunded (error 6220 after it).
    pub refund_window: chrono::Duration,
}

impl SalesUnit {
    /// A unit with freshly generated credentials, allowed everything, with its market's deadlines.
    pub fn generated(msn: &str, name: &str, currency: Currency) -> Self {
        // Only Norwegian units reserve for 180 days by default; Danish and Finnish ones need
        // "late capture" for more than 14.
        let capture_days = if currency == Currency::Nok { 180 } else { 14 };
        Self {
            msn: msn.to_owned(),
            name: name.to_owned(),
            currency,
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret: Secret::new(random_secret()),
            subscription_key: Secret::new(uuid::Uuid::new_v4().simple().to_string()),
            push_allowed: true,
            long_living_allowed: true,
            partial_capture_allowed: true,
            payment_allowed: true,
            capture_type: CaptureType::ReserveCapture,
            settings_described: true,
            capture_deadline: chrono::Duration::days(capture_days),
            cancel_period: chrono::Duration::days(180),
            refund_window: chrono::Duration::days(365),
        }
    }
}

/// A simulated app user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCustomer {
    /// Display name on the phone page.
    pub name: String,
    /// MSISDN, digits only.
    pub phone_number: String,
    /// Age in years, checked against a payment's `minimumUserAge` (7010 if younger). `None`, the
    /// default, is an adult of no particular age, old enough for any payment.
    pub age: Option<u32>,
}

impl SimCustomer {
    /// An adult customer (no particular age).
    pub fn new(name: &str, phone_number: &str) -> Self {
        Self { name: name.to_owned(), phone_number: phone_number.to_owned(), age: None }
    }

    /// The text of this customer's personal QR code, as the app would show it, stable per customer.
    /// Vipps users (Norway) have a clear-text code with their number; MobilePay users (Denmark,
    /// Finland) an opaque token that only `POST /qr/v1/exchange` turns into the number.
    pub fn personal_qr(&self) -> String {
        if self.uses_mobilepay() {
            format!("https://qr.vipps.no/p/{}", self.qr_token())
        } else {
            format!("https://qr.vipps.no/28/2/01/031/{}?v=1", self.phone_number)
        }
    }

    /// Danish and Finnish numbers use the MobilePay app, whose personal QR codes are tokenized.
    pub fn uses_mobilepay(&self) -> bool {
        self.phone_number.starts_with("45") || self.phone_number.starts_with("358")
    }

    /// This customer's `sub`, the Userinfo API's stable identifier of a user: a UUID-shaped
    /// string derived from the number, the same every run, so tests can compute it.
    pub fn sub(&self) -> String {
        let high = self.fnv("kasse-sim sub ");
        let low = self.fnv("kasse-sim sub, again ");
        uuid::Uuid::from_u64_pair(high, low).to_string()
    }

    /// 128 bits derived from the number (FNV-1a, twice): the same every run, and not the number.
    fn qr_token(&self) -> String {
        format!(
            "{:016x}{:016x}",
            self.fnv("kasse-sim personal qr "),
            self.fnv("kasse-sim personal qr, again ")
        )
    }

    /// FNV-1a of `salt` followed by the number: different salts give unrelated values.
    fn fnv(&self, salt: &str) -> u64 {
        format!("{salt}{}", self.phone_number).bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
}

/// Everything the simulator starts with.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The sales units and their credentials.
    pub sales_units: Vec<SalesUnit>,
    /// The customers who can pay.
    pub customers: Vec<SimCustomer>,
    /// Access token lifetime, in seconds (the test environment's is one hour).
    pub token_lifetime_secs: u64,
    /// How long a customer has to act on a payment, in seconds (the platform's is ten minutes).
    pub payment_timeout_secs: i64,
    /// How webhook deliveries are retried.
    pub delivery: DeliveryPolicy,
    /// The platform's rate limits.
    pub limits: Limits,
}

impl SimConfig {
    /// Demo sales units in NOK, DKK and EUR and customers in Norway, Denmark and Finland.
    pub fn demo() -> Self {
        Self {
            sales_units: vec![
                SalesUnit::generated("123456", "Kaffebrenneriet Grünerløkka", Currency::Nok),
                SalesUnit::generated("234567", "Bageriet Nørrebro", Currency::Dkk),
                SalesUnit::generated("345678", "Kahvila Kallio", Currency::Eur),
            ],
            customers: default_customers(),
            token_lifetime_secs: 3600,
            payment_timeout_secs: 600,
            delivery: DeliveryPolicy::default(),
            limits: Limits::default(),
        }
    }

    /// The sales unit with this MSN.
    pub fn sales_unit(&self, msn: &str) -> Option<&SalesUnit> {
        self.sales_units.iter().find(|u| u.msn == msn)
    }

    /// The customer with this phone number.
    pub fn customer(&self, phone_number: &str) -> Option<&SimCustomer> {
        self.customers.iter().find(|c| c.phone_number == phone_number)
    }
}

/// The simulated customers every simulator starts with. Ola is 16, for trying `minimumUserAge`;
/// the others are 34, 41 and 27.
pub fn default_customers() -> Vec<SimCustomer> {
    [
        ("Kari Nordmann", "4791234567", 34),
        ("Ola Nordmann", "4798765432", 16),
        ("Mette Hansen", "4520031801", 41),
        ("Aino Virtanen", "358401234567", 27),
    ]
    .into_iter()
    .map(|(name, phone, age)| SimCustomer { age: Some(age), ..SimCustomer::new(name, phone) })
    .collect()
}

/// The platform's rate limits (reference/vipps-apis.md §3.10), counted per API, per reference and
/// caller over the last minute of the simulator's clock. Over a limit the answer is 429 with
/// `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Calls per minute to each of create, capture, cancel and refund, per reference and MSN.
    pub writes_per_minute: u32,
    /// Calls per minute to each of GET payment and GET event log, per reference and
    /// subscription key.
    pub reads_per_minute: u32,
}

impl Default for Limits {
    /// The platform's: 5 writes and 120 reads per minute.
    fn default() -> Self {
        Self { writes_per_minute: 5, reads_per_minute: 120 }
    }
}

/// Retry schedule of webhook deliveries.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// The wait before each retry; the last one repeats until `give_up_after` attempts.
    pub retry_delays: Vec<std::time::Duration>,
    /// A receiver that takes longer than this has failed.
    pub timeout: std::time::Duration,
    /// Attempts before a delivery is dropped.
    pub give_up_after: u32,
}

impl Default for DeliveryPolicy {
    /// The platform's schedule, compressed: four quick retries, then slower ones.
    fn default() -> Self {
        use std::time::Duration;
        Self {
            retry_delays: vec![
                Duration::from_secs(2),
                Duration::from_secs(2),
                Duration::from_secs(2),
                Duration::from_secs(2),
                Duration::from_mins(1),
                Duration::from_mins(2),
                Duration::from_hours(1),
            ],
            timeout: Duration::from_secs(10),
            give_up_after: 29,
        }
    }
}

fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

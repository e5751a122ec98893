//! What a simulated platform holds at start: sales units with their credentials, and customers.

use kasse_vipps::{Currency, Secret};

/// A sales unit (merchant serial number) and the API credentials that act for it.
#[derive(Debug, Clone)]
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
}

impl SalesUnit {
    /// A unit with freshly generated credentials.
    pub fn generated(msn: &str, name: &str, currency: Currency) -> Self {
        Self {
            msn: msn.to_owned(),
            name: name.to_owned(),
            currency,
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret: Secret::new(random_secret()),
            subscription_key: Secret::new(uuid::Uuid::new_v4().simple().to_string()),
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
}

impl SimCustomer {
    /// The text of this customer's personal QR code, as the app would show it.
    pub fn personal_qr(&self) -> String {
        format!("https://qr.vipps.no/28/2/01/031/{}?v=1", self.phone_number)
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
        }
    }

    /// The sales unit with this MSN.
    pub fn sales_unit(&self, msn: &str) -> Option<&SalesUnit> {
        self.sales_units.iter().find(|u| u.msn == msn)
    }
}

/// The simulated customers every simulator starts with.
pub fn default_customers() -> Vec<SimCustomer> {
    [
        ("Kari Nordmann", "4791234567"),
        ("Ola Nordmann", "4798765432"),
        ("Mette Hansen", "4520031801"),
        ("Aino Virtanen", "358401234567"),
    ]
    .into_iter()
    .map(|(name, phone)| SimCustomer { name: name.to_owned(), phone_number: phone.to_owned() })
    .collect()
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

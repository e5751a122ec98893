//! What `doctor` asks about a sales unit itself: from the Management API, its business's country
//! (against the store's currency), whether it may take payments, how it captures, and whether it
//! may send push messages; where the API leaves the last out, a probe payment to the operator's
//! own phone, cancelled at once; and, for a store whose tills capture by hand, whether it may
//! capture less than the whole amount, which only a partial capture shows (the platform answers
//! error 6140 to a unit that may not), so the database's sales are asked for one that went through.

use kasse_api::{Country, Currency, Msisdn};
use kasse_vipps::Client;
use kasse_vipps::epayment::{
    Amount, CreatePaymentRequest, Customer, CustomerInteraction, PaymentMethod, PaymentMethodType, UserFlow,
};
use kasse_vipps::management::{CaptureType, SalesUnitConfiguration};

use super::{Check, Options, Report, Verdict};
use crate::config::{CapturePolicy, StoreConfig};
use crate::ops::Tools;
use crate::platform::to_vipps;

/// The probe payment's amount, in minor units: the least a payment may be (1 krone, 1 euro).
const PROBE_AMOUNT: i64 = 100;

/// The country whose business takes `currency` at a till (the sales unit's business must be in it).
fn country_of(currency: Currency) -> &'static str {
    match currency {
        Currency::Nok => "NO",
        Currency::Dkk => "DK",
        Currency::Eur => "FI",
    }
}

/// The sales unit's checks, in the report's order: currency, payments, capture, partial capture,
/// push messages.
pub(super) async fn check(
    tools: &Tools,
    options: &Options,
    report: &mut Report,
    store: &StoreConfig,
    client: &Client,
    name: &str,
) {
    use Verdict::{NotChecked, Ok, Problem};
    let settings = match client.sales_unit().await {
        Result::Ok(unit) => {
            let wanted = country_of(store.currency);
            let (verdict, says) = match unit.business_identifier.country() {
                Some(country) if country == wanted => (
                    Ok,
                    format!(
                        "{name} belongs to a business in {country}, where {} is the currency.",
                        store.currency
                    ),
                ),
                Some(country) => (
                    Problem,
                    format!(
                        "{name} belongs to a business in {country}, but the store takes {}: the platform takes \
                         a sales unit's own currency only. Set the store's currency, or use the MSN of the \
                         business in {wanted}.",
                        store.currency
                    ),
                ),
                None => (
                    NotChecked,
                    format!(
                        "The Management API gave {name} no country ({}).",
                        unit.business_identifier.scheme
                    ),
                ),
            };
            report.push(Check::Currency, verdict, Some(store), says);
            unit.configuration.unwrap_or_default()
        }
        Err(e) => {
            let says = format!(
                "The Management API did not describe {name} ({e}), so whether its currency, payments and \
                 capture fit was not checked. The keys need access to the Management API in the portal."
            );
            report.push(Check::Currency, NotChecked, Some(store), says);
            SalesUnitConfiguration::default()
        }
    };
    report_payments(report, store, name, settings.payment_allowed);
    report_capture(report, store, name, settings.capture_type);
    check_partial_capture(tools, report, store, name).await;
    check_push(options, report, store, client, name, settings.skip_landing_page_allowed).await;
}

fn report_payments(report: &mut Report, store: &StoreConfig, name: &str, allowed: Option<bool>) {
    let (verdict, says) = match allowed {
        Some(true) => (Verdict::Ok, format!("{name} may take payments (from the Management API).")),
        Some(false) => (
            Verdict::Problem,
            format!(
                "{name} may not take payments (the Management API says so; most often the sales unit is \
                 approved for Login only): every sale is refused. Ask Vipps MobilePay to open the sales unit \
                 for the ePayment API."
            ),
        ),
        None => (
            Verdict::NotChecked,
            format!("The Management API does not say whether {name} may take payments; the first sale will."),
        ),
    };
    report.push(Check::Payments, verdict, Some(store), says);
}

fn report_capture(report: &mut Report, store: &StoreConfig, name: &str, capture: Option<CaptureType>) {
    let (verdict, says) = match capture {
        Some(CaptureType::ReserveCapture) => (
            Verdict::Ok,
            format!(
                "{name} reserves at approval and captures after, as kasse's tills need (from the Management API)."
            ),
        ),
        Some(CaptureType::DirectCapture) => (
            Verdict::Problem,
            format!(
                "{name} captures at approval (direct capture, the Management API says): the money is taken \
                 before the till has it, a sale stopped after approval must be refunded rather than released, \
                 and a till that captures by hand finds nothing to capture. Ask Vipps MobilePay to set the \
                 sales unit to reserve capture, as they advise."
            ),
        ),
        Some(CaptureType::NotApplicable | CaptureType::Other) | None => (
            Verdict::NotChecked,
            format!("The Management API does not say how {name} captures payments; the first sale will."),
        ),
    };
    report.push(Check::Capture, verdict, Some(store), says);
}

/// For a store with a till that captures by hand: a partial capture that went through shows the
/// unit may; without one, nothing can show it short of trying.
async fn check_partial_capture(tools: &Tools, report: &mut Report, store: &StoreConfig, name: &str) {
    let by_hand: Vec<&str> = tools
        .config
        .tills
        .iter()
        .filter(|t| t.store == store.id && t.capture == CapturePolicy::Manual)
        .map(|t| t.name.as_str())
        .collect();
    if by_hand.is_empty() {
        // Automatic capture takes the whole amount: partial capture is never asked for.
        return;
    }
    let tills = by_hand.join(", ");
    let (verdict, says) = match tools.store.partial_capture_seen(&store.msn).await {
        Result::Ok(Some(seen)) => (
            Verdict::Ok,
            format!(
                "{name} may capture part of a payment: sale {} had {} of {} captured ({tills} capture by hand).",
                seen.reference,
                minor(seen.captured),
                minor(seen.authorized)
            ),
        ),
        Result::Ok(None) => (
            Verdict::NotChecked,
            format!(
                "{tills} of {} capture by hand, and whether {name} may capture less than the whole amount shows \
                 only at the first such capture (error 6140, \"Must capture full amount\"). Capture part of a \
                 small sale before go-live (doctor then finds it), or ask Vipps MobilePay.",
                store.name
            ),
        ),
        Err(e) => (Verdict::NotChecked, format!("The database's captures could not be read: {e}.")),
    };
    report.push(Check::PartialCapture, verdict, Some(store), says);
}

/// An amount in minor units as the tills show it, without its currency.
fn minor(value: i64) -> String {
    format!("{}.{:02}", value / 100, value % 100)
}

async fn check_push(
    options: &Options,
    report: &mut Report,
    store: &StoreConfig,
    client: &Client,
    name: &str,
    allowed: Option<bool>,
) {
    let refused = |how: &str| {
        format!(
            "{name} may not send push messages ({how}): a sale to a phone number, a customer's QR, a check-in \
             or a MobilePay sticker is refused with error 5080. Ask Vipps MobilePay to allow skipping the \
             landing page for the sales unit (\"POS integration in a physical store\")."
        )
    };
    let (verdict, says) = match (allowed, options.probe_phone.as_deref()) {
        (Some(true), _) => (
            Verdict::Ok,
            format!("{name} may send push messages to customers' phones (from the Management API)."),
        ),
        (Some(false), _) => (Verdict::Problem, refused("the Management API says so")),
        (None, None) => (
            Verdict::NotChecked,
            format!(
                "The Management API does not say whether {name} may send push messages. `doctor --probe-phone \
                 YOUR_NUMBER` finds out with a payment request of {} {} to that phone, cancelled at once.",
                minor(PROBE_AMOUNT),
                store.currency
            ),
        ),
        (None, Some(phone)) => match probe(client, store, phone).await {
            Probe::Sent { reference, cancelled: Result::Ok(()) } => (
                Verdict::Ok,
                format!(
                    "{name} may send push messages: the probe payment {reference} reached {phone} and was \
                     cancelled at once."
                ),
            ),
            Probe::Sent { reference, cancelled: Err(e) } => (
                Verdict::Ok,
                format!(
                    "{name} may send push messages: the probe payment {reference} reached {phone}, but could not \
                     be cancelled ({e}); it expires by itself, and nothing is taken unless it is approved."
                ),
            ),
            Probe::Refused5080 => (Verdict::Problem, refused("a probe payment was refused")),
            Probe::Failed(why) => (
                Verdict::NotChecked,
                format!("Whether {name} may send push messages was not found out: {why}."),
            ),
        },
    };
    report.push(Check::PushMessages, verdict, Some(store), says);
}

/// What a probe payment showed.
enum Probe {
    /// Created (so push messages are allowed), and then cancelled or not.
    Sent { reference: String, cancelled: Result<(), kasse_vipps::Error> },
    /// Refused with error 5080: push messages are not allowed.
    Refused5080,
    /// Neither: why.
    Failed(String),
}

/// Sends the smallest payment request to `phone` as a push message, and cancels it at once: the
/// phone shows a request that goes away; nothing is reserved unless someone approves it in the
/// moment, and then the cancel releases it.
async fn probe(client: &Client, store: &StoreConfig, phone: &str) -> Probe {
    let phone = match Msisdn::parse(phone, Country::of_currency(store.currency)) {
        Result::Ok(phone) => phone,
        Err(e) => return Probe::Failed(format!("{phone} is not a phone number kasse can send to ({e})")),
    };
    let reference = format!("kasse-doctor-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let request = CreatePaymentRequest {
        amount: Amount::new(PROBE_AMOUNT, to_vipps(store.currency)),
        customer: Some(Customer::phone_number(phone.as_str())),
        customer_interaction: Some(CustomerInteraction::CustomerPresent),
        payment_method: PaymentMethod { kind: PaymentMethodType::Wallet },
        reference: reference.clone(),
        user_flow: UserFlow::PushMessage,
        qr_format: None,
        payment_description: Some("kasse doctor: a test of payment requests, cancelled at once".to_owned()),
        return_url: None,
        minimum_user_age: None,
        industry_data: None,
        profile: None,
        expires_at: None,
        receipt: None,
        metadata: None,
        receipt_url: None,
    };
    match client.create_payment(&request, &format!("{reference}-create")).await {
        Result::Ok(_) => {
            let cancelled = client.cancel_payment(&reference, false, &format!("{reference}-cancel")).await;
            Probe::Sent { reference, cancelled: cancelled.map(drop) }
        }
        Err(e) if e.error_code() == Some(5080) => Probe::Refused5080,
        Err(e) => Probe::Failed(format!("the probe payment was refused ({e})")),
    }
}

//! What `doctor` asks about a sales unit itself: from the Management API, its business's country
//! (against the store's currency), whether it may take payments and whether it may send push
//! messages; where the API leaves the last out, a probe payment to the operator's own phone,
//! cancelled at once; and, for a store whose tills capture by hand, whether it may capture less
//! than the whole amount, which only a capture shows (the platform answers error 6140 to a unit
//! that may not), so the database's sales are asked for the newest one that went through or was
//! refused so.
//!
//! The Management API's `captureType` is read but judged nothing: direct capture belongs to the
//! eCom and Recurring APIs only, and an ePayment payment, which kasse makes, is always reserved
//! first (developer.vippsmobilepay.com/docs/knowledge-base/reserve-and-capture).

use std::time::Duration;

use kasse_api::{Currency, Msisdn};
use kasse_vipps::Client;
use kasse_vipps::epayment::{
    Amount, CreatePaymentRequest, Customer, CustomerInteraction, PaymentMethod, PaymentMethodType, UserFlow,
};
use kasse_vipps::management::{CaptureType, SalesUnitConfiguration};

use super::{Check, Options, Report, Verdict};
use crate::config::{CapturePolicy, StoreConfig};
use crate::ops::Tools;
use crate::platform::to_vipps;

/// The probe payment's amount, in minor units: 1 krone or 1 euro, small and plainly a test.
const PROBE_AMOUNT: i64 = 100;
/// How often the probe's cancel is tried, and how long apart: right after a create the platform
/// may still be processing it.
const CANCEL_ATTEMPTS: u32 = 3;
const CANCEL_PAUSE: Duration = Duration::from_secs(1);

/// The country whose business takes `currency` at a till (the sales unit's business must be in it).
fn country_of(currency: Currency) -> &'static str {
    match currency {
        Currency::Nok => "NO",
        Currency::Dkk => "DK",
        Currency::Eur => "FI",
    }
}

/// The sales unit's checks, in the report's order: currency, payments, partial capture, push
/// messages.
pub(super) async fn check(
    tools: &Tools,
    options: &Options,
    report: &mut Report,
    store: &StoreConfig,
    client: &Client,
    name: &str,
) {
    use Verdict::{NotChecked, Ok, Problem};
    let (settings, unanswered) = match client.sales_unit().await {
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
            (unit.configuration.unwrap_or_default(), None)
        }
        Err(e) => {
            let says = format!(
                "The Management API did not describe {name} ({e}), so whether its business fits the currency \
                 was not checked. The keys need access to the Management API in the portal."
            );
            report.push(Check::Currency, NotChecked, Some(store), says);
            (SalesUnitConfiguration::default(), Some(format!("the Management API did not answer ({e})")))
        }
    };
    let unknown = |what: &str| match &unanswered {
        Some(why) => format!("Whether {name} {what} was not checked: {why}."),
        None => format!("The Management API does not say whether {name} {what}."),
    };
    report_payments(report, store, name, &settings, &unknown("may take payments"));
    check_partial_capture(tools, report, store, name).await;
    let push_unknown = unknown("may send push messages");
    check_push(options, report, store, client, name, &settings, push_unknown).await;
}

fn report_payments(
    report: &mut Report,
    store: &StoreConfig,
    name: &str,
    settings: &SalesUnitConfiguration,
    unknown: &str,
) {
    let (verdict, says) = match settings.payment_allowed {
        Some(true) => {
            // Said, so a merchant who reads "direct capture" in the portal is not alarmed.
            let capture = if settings.capture_type == Some(CaptureType::DirectCapture) {
                " Its direct capture applies to the eCom and Recurring APIs only: kasse's ePayment payments \
                 are reserved at approval and captured by kasse."
            } else {
                ""
            };
            (Verdict::Ok, format!("{name} may take payments (from the Management API).{capture}"))
        }
        Some(false) => (
            Verdict::Problem,
            format!(
                "{name} may not take payments (the Management API says so; most often the sales unit is \
                 approved for Login only): every sale is refused. Ask Vipps MobilePay to open the sales unit \
                 for the ePayment API."
            ),
        ),
        None => (Verdict::NotChecked, format!("{unknown} The first sale will show it.")),
    };
    report.push(Check::Payments, verdict, Some(store), says);
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
    let (verdict, says) = match tools.store.partial_capture_answer(&store.msn).await {
        Result::Ok(Some(answer)) if answer.allowed => (
            Verdict::Ok,
            format!(
                "{name} may capture part of a payment: sale {} had a capture of {} of {} confirmed ({tills} \
                 capture by hand).",
                answer.reference,
                minor(answer.amount),
                minor(answer.authorized)
            ),
        ),
        Result::Ok(Some(answer)) => (
            Verdict::Problem,
            format!(
                "{name} may not capture part of a payment: the platform refused {} of {} on sale {} with \
                 error 6140 (\"Must capture full amount\"). {tills} capture by hand: capture whole amounts \
                 there, or ask Vipps MobilePay to allow partial capture for the sales unit.",
                minor(answer.amount),
                minor(answer.authorized),
                answer.reference
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
    settings: &SalesUnitConfiguration,
    unknown: String,
) {
    let refused = |how: &str| {
        format!(
            "{name} may not send push messages ({how}): a sale to a phone number, a customer's QR, a check-in \
             or a MobilePay sticker is refused with error 5080. Ask Vipps MobilePay to allow skipping the \
             landing page for the sales unit (\"POS integration in a physical store\")."
        )
    };
    let (verdict, says) = match (settings.skip_landing_page_allowed, options.probe_phone.as_ref()) {
        (Some(true), _) => (
            Verdict::Ok,
            format!("{name} may send push messages to customers' phones (from the Management API)."),
        ),
        (Some(false), _) => (Verdict::Problem, refused("the Management API says so")),
        // A unit that may take no payments would refuse the probe too, and say nothing of push.
        (None, Some(_)) if settings.payment_allowed == Some(false) => (
            Verdict::NotChecked,
            format!("{unknown} No probe was sent: {name} may not take payments at all."),
        ),
        (None, None) => (
            Verdict::NotChecked,
            format!(
                "{unknown} `doctor --probe-phone +CC NUMBER` (your own) finds out with a payment request of {} {} \
                 to that phone, cancelled at once.",
                minor(PROBE_AMOUNT),
                store.currency
            ),
        ),
        (None, Some(phone)) => {
            let to = phone.masked();
            match probe(client, store, phone).await {
                Probe::Taken { reference, cancelled: Result::Ok(()) } => (
                    Verdict::Ok,
                    format!(
                        "{name} may send push messages: the platform took the probe payment {reference} to {to}, \
                         and it was cancelled at once."
                    ),
                ),
                Probe::Taken { reference, cancelled: Err(e) } => (
                    Verdict::Ok,
                    format!(
                        "{name} may send push messages: the platform took the probe payment {reference} to {to}, \
                         but it could not be cancelled ({e}). Decline it in the app, or let it expire; if it was \
                         approved, {} {} stays reserved until it is cancelled through the ePayment API (POST \
                         /epayment/v1/payments/{reference}/cancel).",
                        minor(PROBE_AMOUNT),
                        store.currency
                    ),
                ),
                Probe::Refused5080 => (Verdict::Problem, refused("the platform refused a probe payment")),
                Probe::Failed(why) => {
                    (Verdict::NotChecked, format!("{unknown} The probe did not tell: {why}."))
                }
            }
        }
    };
    report.push(Check::PushMessages, verdict, Some(store), says);
}

/// What a probe payment showed.
enum Probe {
    /// The platform took it (so push messages are allowed), and it was then cancelled or not.
    Taken { reference: String, cancelled: Result<(), kasse_vipps::Error> },
    /// Refused with error 5080: push messages are not allowed.
    Refused5080,
    /// Neither: why.
    Failed(String),
}

/// Sends a payment request of [`PROBE_AMOUNT`] to `phone` as a push message, and cancels it at
/// once: the phone shows a request that goes away; nothing is reserved unless someone approves it
/// in that moment, and then the cancel releases it. A create whose answer was lost is cancelled
/// too, in case the platform has it.
async fn probe(client: &Client, store: &StoreConfig, phone: &Msisdn) -> Probe {
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
            let cancelled = cancel(client, &reference, false).await;
            Probe::Taken { reference, cancelled }
        }
        Err(e) if e.error_code() == Some(5080) => Probe::Refused5080,
        Err(e) if e.outcome_unknown() => {
            // The create may still be landing: a 404 is asked again before it is believed.
            let why = match cancel(client, &reference, true).await {
                Result::Ok(()) => {
                    format!("no answer to the probe payment {reference} ({e}); it was cancelled")
                }
                Err(gone) if gone.status() == Some(404) => {
                    format!("no answer to the probe payment ({e}), and the platform does not have it")
                }
                Err(other) => format!(
                    "no answer to the probe payment {reference} ({e}), and it could not be cancelled ({other}); \
                     if the phone shows it, decline it"
                ),
            };
            Probe::Failed(why)
        }
        Err(e) => Probe::Failed(format!("the platform refused the probe payment ({e})")),
    }
}

/// Cancels the probe, trying again a little later while the platform is still busy with it
/// (and, with `until_found`, while it does not know the payment yet). Each attempt has a key of
/// its own: the platform answers a key it refused with the same refusal.
async fn cancel(client: &Client, reference: &str, until_found: bool) -> Result<(), kasse_vipps::Error> {
    let mut attempt = 1;
    loop {
        let key = format!("{reference}-cancel-{attempt}");
        match client.cancel_payment(reference, false, &key).await {
            Result::Ok(_) => return Result::Ok(()),
            Err(e) if attempt < CANCEL_ATTEMPTS && (until_found || e.status() != Some(404)) => {
                attempt += 1;
                tracing::debug!(error = %e, "the probe's cancel failed; trying again");
                tokio::time::sleep(CANCEL_PAUSE).await;
            }
            Err(e) => return Err(e),
        }
    }
}

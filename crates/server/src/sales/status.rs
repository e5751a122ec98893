//! How the platform's word becomes what the till shows: the status derived from the platform's
//! state and totals, the browser's view of a sale, and sentences for the platform's refusals.

use kasse_api::{Flow, Identified, Money, Sale, SaleStatus};
use kasse_vipps::epayment::{Aggregate, State};

use crate::store::PaymentRow;

/// How long a customer has to act on a payment, as the platform counts it (ten minutes).
pub const PLATFORM_TIMEOUT_MS: i64 = 10 * 60 * 1000;
/// The polling rule: first after 5 s, then every 2 s.
pub const FIRST_POLL_MS: i64 = 5_000;
/// The polling rule: then every 2 s.
pub const POLL_EVERY_MS: i64 = 2_000;
/// An approved payment waiting for a manual capture is looked at less often.
pub const POLL_AUTHORIZED_MS: i64 = 30_000;

/// Moves a row to what the platform says. The platform's totals only grow, and a final state
/// never turns back into `CREATED`, so a stale or reordered answer cannot move the sale backwards.
/// Returns whether anything the till shows changed.
pub fn apply(row: &mut PaymentRow, state: State, aggregate: &Aggregate) -> bool {
    let before = sale_view(row);
    row.authorized = row.authorized.max(aggregate.authorized_amount.value);
    row.captured = row.captured.max(aggregate.captured_amount.value);
    row.cancelled = row.cancelled.max(aggregate.cancelled_amount.value);
    row.refunded = row.refunded.max(aggregate.refunded_amount.value);
    let stale = state == State::Created && row.platform_state.is_some_and(|s| s != State::Created);
    if !stale {
        row.platform_state = Some(state);
    }
    let derived = derive_status(row);
    if row.withdrawn() {
        // The cashier cancelled it before the platform had it: whatever of it turns up there
        // later is cancelled there too, and the till never shows it as anything else.
        row.set_status(SaleStatus::Cancelled);
    } else if !(row.status() == SaleStatus::Cancelling && derived == SaleStatus::AwaitingCustomer) {
        // A cancel on its way stays visible until the platform says how it ended.
        row.set_status(derived);
    }
    if row.status() != SaleStatus::Authorized && row.failure.as_deref() == Some(super::for_now::ASKED_AGAIN) {
        // About an approved payment waiting for its capture: once it is not that (captured, or
        // cancelled, wherever), nobody asks again, and the sale must not say so.
        row.failure = None;
    }
    sale_view(row) != before
}

/// The till's status for the row's platform state and totals.
pub fn derive_status(row: &PaymentRow) -> SaleStatus {
    match row.platform_state {
        Some(State::Created) => SaleStatus::AwaitingCustomer,
        Some(State::Aborted) => SaleStatus::Declined,
        Some(State::Expired) => SaleStatus::Expired,
        Some(State::Terminated) => SaleStatus::Cancelled,
        // Refunded only once nothing is left reserved either: part captured and all of that given
        // back, the rest can still be captured or released.
        Some(State::Authorized)
            if row.captured > 0
                && row.refunded >= row.captured
                && row.authorized <= row.captured + row.cancelled =>
        {
            SaleStatus::Refunded
        }
        Some(State::Authorized) if row.captured > 0 => SaleStatus::Captured,
        Some(State::Authorized) if row.cancelled > 0 => SaleStatus::Cancelled,
        Some(State::Authorized) => SaleStatus::Authorized,
        // Not at the platform (yet): whatever we recorded.
        _ => row.status(),
    }
}

/// How the customer of a row was identified, which its flow says (with the masked number of the
/// phone flows).
fn identified(row: &PaymentRow) -> Option<Identified> {
    let masked = || row.masked_phone.clone();
    match row.flow {
        Flow::Phone => masked().map(|masked| Identified::Phone { masked }),
        Flow::Sticker => masked().map(|masked| Identified::StickerPhone { masked }),
        Flow::PersonalQr => Some(Identified::PersonalQr),
        Flow::CheckIn => Some(Identified::CheckIn),
        Flow::Qr | Flow::AppSwitch => None,
    }
}

/// The browser's view of a row.
pub fn sale_view(row: &PaymentRow) -> Sale {
    let currency = row.currency;
    let status = row.status();
    Sale {
        reference: row.reference.clone(),
        till_id: row.till_id.clone(),
        sticker_id: row.sticker_id.clone().filter(|_| row.till_id.is_empty()),
        amount: Money::new(row.amount, currency),
        description: row.description.clone(),
        flow: row.flow,
        customer: identified(row),
        status,
        qr: row.qr.clone().filter(|_| status == SaleStatus::AwaitingCustomer && row.flow == Flow::Qr),
        expires_at_ms: row.expires_at,
        authorized: Money::new(row.authorized, currency),
        captured: Money::new(row.captured, currency),
        cancelled: Money::new(row.cancelled, currency),
        refunded: Money::new(row.refunded, currency),
        failure: row.failure.clone(),
        created_at_ms: row.created_at,
        loyalty: row.loyalty.clone(),
    }
}

/// A sentence a cashier (or customer) understands for a platform refusal.
pub fn refusal_sentence(e: &kasse_vipps::Error) -> String {
    let known = match e.error_code() {
        Some(4050) => Some("The customer's check-in has run out. Ask them to scan the sticker again."),
        Some(4060) => {
            Some("That QR code is not a Vipps MobilePay personal code. Ask the customer to show it again.")
        }
        Some(4070) => Some("That phone number is not valid."),
        Some(5040) => Some("This store cannot take payments in that currency."),
        Some(5080) => Some("This store is not allowed to send payment requests to customers' phones."),
        Some(6010) => Some("The amount is below the smallest payment allowed."),
        Some(6090) => Some("That is more than is left to capture."),
        Some(6100) => Some("The time to capture this payment has run out."),
        Some(6140) => Some("This store must capture the whole amount at once."),
        Some(6150) => Some("That is more than is left to refund."),
        Some(6220) => Some("The time to refund this payment has run out."),
        Some(6280) => Some("The platform could not take the money just now. Try again in a while."),
        Some(7010) => Some("The customer has no Vipps MobilePay account that can pay."),
        _ => None,
    };
    if let Some(sentence) = known {
        return sentence.to_owned();
    }
    match e {
        kasse_vipps::Error::Rejected { status: 401 | 403, .. } | kasse_vipps::Error::NoToken(_)
            if !e.outcome_unknown() =>
        {
            "The payment service did not accept this store's credentials. Ask the manager to check the set-up."
                .to_owned()
        }
        kasse_vipps::Error::Rejected { status: 429, .. } => {
            "The payment service is busy. Wait a moment and try again.".to_owned()
        }
        kasse_vipps::Error::Rejected { problem, .. } => {
            format!("The payment service refused: {}", problem.detail.as_deref().unwrap_or(&problem.title))
        }
        _ => "The payment service could not be reached.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasse_vipps::epayment::Amount;

    fn row(status: SaleStatus) -> PaymentRow {
        PaymentRow {
            reference: "till-1-abc".into(),
            till_id: "till-1".into(),
            msn: "123456".into(),
            flow: Flow::Qr,
            currency: kasse_api::Currency::Nok,
            amount: 1000,
            status,
            active: true,
            platform_state: None,
            qr: Some("https://qr".into()),
            expires_at: None,
            authorized: 0,
            captured: 0,
            cancelled: 0,
            refunded: 0,
            failure: None,
            next_poll_at: None,
            created_at: 0,
            updated_at: 0,
            read_version: 0,
            description: None,
            masked_phone: None,
            client_key: None,
            sticker_id: None,
            landing_token: None,
            withdrawn_at: None,
            watch_until: None,
            integrator_id: None,
            order_id: None,
            loyalty: None,
        }
    }

    fn aggregate(authorized: i64, captured: i64, cancelled: i64, refunded: i64) -> Aggregate {
        let nok = |v| Amount::new(v, kasse_vipps::Currency::Nok);
        Aggregate {
            authorized_amount: nok(authorized),
            cancelled_amount: nok(cancelled),
            captured_amount: nok(captured),
            refunded_amount: nok(refunded),
        }
    }

    #[test]
    fn the_platform_state_and_totals_decide_the_till_status() {
        let cases = [
            (State::Created, aggregate(0, 0, 0, 0), SaleStatus::AwaitingCustomer),
            (State::Authorized, aggregate(1000, 0, 0, 0), SaleStatus::Authorized),
            (State::Authorized, aggregate(1000, 400, 0, 0), SaleStatus::Captured),
            (State::Authorized, aggregate(1000, 400, 600, 100), SaleStatus::Captured),
            (State::Authorized, aggregate(1000, 1000, 0, 1000), SaleStatus::Refunded),
            // Part captured and all of that given back: the rest is still reserved, to capture or
            // release, until it is released.
            (State::Authorized, aggregate(1000, 400, 0, 400), SaleStatus::Captured),
            (State::Authorized, aggregate(1000, 400, 600, 400), SaleStatus::Refunded),
            (State::Authorized, aggregate(1000, 0, 1000, 0), SaleStatus::Cancelled),
            (State::Aborted, aggregate(0, 0, 0, 0), SaleStatus::Declined),
            (State::Expired, aggregate(0, 0, 0, 0), SaleStatus::Expired),
            (State::Terminated, aggregate(0, 0, 1000, 0), SaleStatus::Cancelled),
        ];
        for (state, totals, expected) in cases {
            let mut r = row(SaleStatus::AwaitingCustomer);
            apply(&mut r, state, &totals);
            assert_eq!(r.status(), expected, "{state:?} {totals:?}");
            assert_eq!(r.active, !expected.is_final());
        }
    }

    #[test]
    fn a_stale_answer_never_moves_a_sale_backwards() {
        let mut r = row(SaleStatus::AwaitingCustomer);
        apply(&mut r, State::Authorized, &aggregate(1000, 1000, 0, 0));
        assert!(!apply(&mut r, State::Created, &aggregate(0, 0, 0, 0)), "nothing the till shows changes");
        assert_eq!(r.status(), SaleStatus::Captured);
        assert_eq!((r.authorized, r.captured), (1000, 1000));
    }

    #[test]
    fn a_cancel_on_its_way_stays_shown_until_the_platform_decides() {
        let mut r = row(SaleStatus::Cancelling);
        r.platform_state = Some(State::Created);
        apply(&mut r, State::Created, &aggregate(0, 0, 0, 0));
        assert_eq!(r.status(), SaleStatus::Cancelling);
        apply(&mut r, State::Authorized, &aggregate(1000, 0, 0, 0));
        assert_eq!(r.status(), SaleStatus::Authorized, "the customer approved first");
    }

    #[test]
    fn a_withdrawn_sale_stays_cancelled_and_off_its_till_whatever_the_platform_says_later() {
        let mut r = row(SaleStatus::Cancelling);
        r.withdrawn_at = Some(1);
        r.set_status(SaleStatus::Cancelled);
        for (state, totals) in [
            (State::Created, aggregate(0, 0, 0, 0)),
            (State::Authorized, aggregate(1000, 0, 0, 0)),
            (State::Authorized, aggregate(1000, 0, 1000, 0)),
            (State::Terminated, aggregate(0, 0, 1000, 0)),
        ] {
            apply(&mut r, state, &totals);
            assert_eq!(r.status(), SaleStatus::Cancelled, "{state:?} {totals:?}");
            assert!(!r.active, "the till stays free for the next sale");
        }
    }

    #[test]
    fn a_sale_that_left_its_till_never_occupies_it_again() {
        let mut r = row(SaleStatus::AwaitingCustomer);
        apply(&mut r, State::Expired, &aggregate(0, 0, 0, 0));
        assert!(!r.active);
        r.set_status(SaleStatus::AwaitingCustomer);
        assert!(!r.active, "a late answer cannot put it back in the till's way");
    }

    #[test]
    fn the_qr_is_shown_only_while_the_customer_can_scan_it() {
        assert!(sale_view(&row(SaleStatus::AwaitingCustomer)).qr.is_some());
        assert!(sale_view(&row(SaleStatus::Captured)).qr.is_none());
        assert!(sale_view(&row(SaleStatus::Cancelling)).qr.is_none());
    }
}

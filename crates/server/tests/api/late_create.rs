//! A sale the cashier cancelled while its create was still on its way to the platform.
//!
//! The real `kasse-server` binary is killed (SIGKILL) while the platform holds the sale's create
//! (the simulator's `hold_creates` knob answers its sender 504 and keeps the request), then
//! restarted; the cashier cancels, and the platform, not having the payment yet, answers 404.
//! The held creates are then delivered, long after their senders died. Whatever happens next,
//! nothing of the cancelled sale is charged or stays reserved, the till shows it Cancelled
//! throughout, a sale rung up again meanwhile is captured once, and no error is logged.

use kasse_api::{Sale, SaleStatus};
use kasse_sim::FaultKnobs;
use kasse_vipps::epayment::State;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::journey::{Journey, ServerProcess, TillEvents, approve, start_qr_sale};
use crate::helpers::*;

/// Kari's number as a cashier types it.
const KARI: &str = "91234567";

/// The simulator as kasse meets it while it cannot look: no webhook arrives, and every platform
/// call is answered 503 (the phone pages still work).
fn blind() -> FaultKnobs {
    FaultKnobs { error_rate: 1.0, error_status: Some(503), drop_webhook_rate: 1.0, ..FaultKnobs::default() }
}

/// A cancelled sale whose create has not reached the platform yet.
struct Cancelled {
    journey: Journey,
    /// The restarted server.
    _server: ServerProcess,
    till: reqwest::Client,
    sale: Sale,
    /// What the till is shown from the cancel on.
    shown: TillEvents,
}

/// The cashier asks Kari's phone for `value` øre. The server is killed while the platform holds
/// that sale's create, and restarted (its resend of the create is held too); the cashier cancels,
/// and the platform, which has no such payment yet, answers 404.
async fn cancelled_before_its_create_lands(value: i64) -> Cancelled {
    let mut journey = Journey::new().await;
    journey.sim.set_faults(FaultKnobs { hold_creates: true, ..FaultKnobs::default() }).unwrap();
    let first = journey.start(None).await;
    let till = journey.pair().await;

    let body = json!({"amount": {"value": value, "currency": "NOK"}, "flow": "phone", "phoneNumber": KARI});
    let asking = till.post(format!("{}/api/tills/{TILL}/sales", journey.base)).json(&body).send();
    let killing = async {
        journey.sim.until_creates_held(1).await;
        journey.kill(first);
    };
    let (answer, ()) = tokio::join!(asking, killing);
    assert!(answer.is_err(), "the server died before answering: {answer:?}\n{}", journey.logs());
    assert!(journey.sim.payment_records().is_empty(), "the create is held\n{}", journey.logs());

    let server = journey.start(None).await;
    let snapshot = journey.snapshot(&till).await;
    let sale = snapshot.sale.unwrap_or_else(|| panic!("the till has the sale\n{}", journey.logs()));
    assert_eq!(sale.status, SaleStatus::Creating, "not confirmed by the platform: {sale:?}");
    let shown = journey.follow_after(&journey.first(), &till, snapshot.last_event_id).await;

    let url = format!("{}/api/tills/{TILL}/sales/{}/cancel", journey.base, sale.reference);
    let cancel = || till.post(&url).header("Idempotency-Key", "cancel-late-1").send();
    let answer = cancel().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "the cancel is done\n{}", journey.logs());
    let cancelled: Sale = answer.json().await.unwrap();
    assert_eq!(cancelled.status, SaleStatus::Cancelled, "{cancelled:?}");
    // Its answer lost, the same cancel sent again is answered as done: the platform's "no such
    // payment" withdrew the sale, and no approval overtook anything.
    let again = cancel().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK, "the same cancel again\n{}", journey.logs());
    assert_eq!(again.json::<Sale>().await.unwrap().status, SaleStatus::Cancelled);
    assert!(journey.sim.payment_records().is_empty(), "the platform still has nothing\n{}", journey.logs());
    Cancelled { journey, _server: server, till, sale, shown }
}

impl Cancelled {
    /// The platform's totals for the cancelled sale: (authorized, captured, cancelled).
    fn totals(&self) -> (State, i64, i64, i64) {
        let payment = self.journey.sim.payment(MSN, &self.sale.reference).unwrap();
        let a = payment.aggregate;
        (payment.state, a.authorized_amount.value, a.captured_amount.value, a.cancelled_amount.value)
    }

    /// The till showed the sale Cancelling while the cashier's cancel was under way, then
    /// Cancelled and nothing else to now; no error was logged, and no payment event went unhandled.
    fn shown_cancelled_throughout_and_logged_no_error(&self) {
        let statuses = self.shown.statuses(&self.sale.reference);
        let cancelled_from = statuses.iter().position(|s| *s == SaleStatus::Cancelled);
        let (under_way, since) = statuses.split_at(cancelled_from.unwrap_or(statuses.len()));
        assert!(
            under_way.iter().all(|s| *s == SaleStatus::Cancelling)
                && !since.is_empty()
                && since.iter().all(|s| *s == SaleStatus::Cancelled),
            "the till showed Cancelled throughout: {statuses:?}\n{}",
            self.journey.logs()
        );
        let logs = self.journey.logs();
        let troubled: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(" ERROR ") || l.contains("could not act on a payment event"))
            .collect();
        assert!(troubled.is_empty(), "no error: {troubled:#?}\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sale_whose_create_lands_late_is_cancelled_there_before_anyone_can_pay() {
    let mut c = cancelled_before_its_create_lands(13_000).await;
    assert!(c.journey.sim.deliver_held_creates().await >= 1);

    let cancelled =
        c.shown.until(&c.journey, "the late payment cancelled", |s| s.cancelled.value == 13_000).await;
    assert_eq!(cancelled.status, SaleStatus::Cancelled);
    c.journey.until_nothing_pending().await;
    assert_eq!(c.totals(), (State::Terminated, 0, 0, 13_000));
    let phone = phone_page(&c.journey.sim, CUSTOMER).await;
    assert!(!phone.contains(&c.sale.reference), "nothing waits on Kari's phone: {phone}");
    c.shown_cancelled_throughout_and_logged_no_error();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sale_whose_late_payment_the_customer_approves_has_its_reservation_released() {
    let mut c = cancelled_before_its_create_lands(24_500).await;
    // The create lands while kasse cannot look, and Kari approves it at once.
    c.journey.sim.set_faults(blind()).unwrap();
    assert!(c.journey.sim.deliver_held_creates().await >= 1);
    let approved = answer_request_on_phone(&c.journey.sim, CUSTOMER, &c.sale.reference, "approve").await;
    assert!(approved.is_success(), "Kari approved: {approved}");
    assert_eq!(c.totals(), (State::Authorized, 24_500, 0, 0), "reserved on Kari's card");

    c.journey.sim.set_faults(FaultKnobs::default()).unwrap();
    let released =
        c.shown.until(&c.journey, "the reservation released", |s| s.cancelled.value == 24_500).await;
    assert_eq!(released.captured.value, 0, "{released:?}");
    c.journey.until_nothing_pending().await;
    assert_eq!(c.totals(), (State::Authorized, 24_500, 0, 24_500), "nothing captured, nothing reserved");
    c.shown_cancelled_throughout_and_logged_no_error();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_rung_up_again_is_captured_once_and_the_cancelled_ones_late_payment_is_released() {
    let mut c = cancelled_before_its_create_lands(8_900).await;
    c.journey.sim.set_faults(FaultKnobs::default()).unwrap();
    // The cashier rings the purchase up again, as a QR code on the display.
    let answer = start_qr_sale(&c.journey, &c.till, 8_900).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED, "the till is free\n{}", c.journey.logs());
    let again: Sale = answer.json().await.unwrap();

    // The first create lands late while kasse cannot look; Kari approves it on her phone, and
    // scans the new QR code and approves that too.
    c.journey.sim.set_faults(blind()).unwrap();
    assert!(c.journey.sim.deliver_held_creates().await >= 1);
    let approved = answer_request_on_phone(&c.journey.sim, CUSTOMER, &c.sale.reference, "approve").await;
    assert!(approved.is_success(), "Kari approved the late one: {approved}");
    approve(&c.journey, &again).await;

    c.journey.sim.set_faults(FaultKnobs::default()).unwrap();
    let captured = c
        .shown
        .until(&c.journey, "the new sale captured", |s| {
            s.reference == again.reference && s.status == SaleStatus::Captured
        })
        .await;
    assert_eq!(captured.captured.value, 8_900);
    c.shown.until(&c.journey, "the late reservation released", |s| s.cancelled.value == 8_900).await;
    c.journey.until_nothing_pending().await;

    assert_eq!(c.totals(), (State::Authorized, 8_900, 0, 8_900), "the late one: nothing kept");
    c.journey.applied_once(&again.reference, "capture");
    let snapshot = c.journey.snapshot(&c.till).await;
    assert_eq!(snapshot.sale.map(|s| (s.reference, s.status)), Some((again.reference, SaleStatus::Captured)));
    c.shown_cancelled_throughout_and_logged_no_error();
}

/// Waits until the server has no platform write left unconfirmed (`/metrics` says so; there is no
/// event for it).
async fn until_nothing_pending(app: &TestApp) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let settled = tokio::time::timeout(PATIENCE, async {
        loop {
            tick.tick().await;
            let text = app.get("/metrics").await.body;
            if metric(&text, "kasse_operations_pending") == Some(0) {
                return;
            }
        }
    })
    .await;
    assert!(settled.is_ok(), "a recorded write stayed pending: {}", app.get("/metrics").await.body);
}

#[tokio::test]
async fn a_create_the_customer_approved_before_the_cashiers_cancel_is_finished_not_resent_forever() {
    let app = spawn_app().await;
    app.sim().set_faults(FaultKnobs { hold_creates: true, ..FaultKnobs::default() }).unwrap();
    let body = json!({"amount": {"value": 6_524, "currency": "NOK"}, "flow": "phone", "phoneNumber": KARI});
    let answer = app.try_start_sale(&body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "the platform has not answered: {}", answer.body);
    let sale: Sale = answer.json();
    assert_eq!(sale.status, SaleStatus::Creating);

    // The create lands late, and Kari approves at once, while the till still shows creating.
    assert!(app.sim().deliver_held_creates().await >= 1);
    let approved = answer_request_on_phone(app.sim(), CUSTOMER, &sale.reference, "approve").await;
    assert!(approved.is_success(), "{approved}");
    let cancel = app.cancel(&sale.reference).await;
    assert_eq!(cancel.status, StatusCode::CONFLICT, "the customer approved first: {}", cancel.body);
    app.sim().set_faults(FaultKnobs::default()).unwrap();

    // The recorded create is settled (the platform has the payment), not sent again forever.
    until_nothing_pending(&app).await;
    let payment = app.platform_payment(&sale.reference);
    assert_eq!((payment.state, payment.aggregate.captured_amount.value), (State::Authorized, 6_524));
    let captures =
        writes(&app.received(&sale.reference), "capture").into_iter().filter(|w| w.applied).count();
    assert_eq!(captures, 1, "captured once");
}

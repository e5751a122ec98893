//! Crash safety: the real `kasse-server` binary as a child process, killed (it aborts itself, as if
//! killed there) at a named point between recording a platform write and sending it, or between
//! sending it and recording the answer; then started again on the same database file, with the
//! same simulator (the [`Journey`] harness in `helpers/journey.rs`).

use kasse_api::{Currency, Flow, Money, Sale, SaleStatus};
use kasse_vipps::epayment::State;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::journey::{Journey, approve, start_qr_sale};
use crate::helpers::*;

/// Both runs' journey after the create: approval, captured on the till, and once at the platform.
async fn approve_and_capture_once(journey: &Journey, till: &reqwest::Client, sale: &Sale, value: i64) {
    approve(journey, sale).await;
    let captured = journey.until_till_shows(till, SaleStatus::Captured).await;
    assert_eq!(captured.captured, Money::new(value, Currency::Nok), "{captured:?}");
    journey.until_nothing_pending().await;
    journey.applied_once(&sale.reference, "capture");
    let payment = journey.sim.payment(MSN, &sale.reference).unwrap();
    assert_eq!((payment.state, payment.aggregate.captured_amount.value), (State::Authorized, value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_after_recording_a_create_sends_it_after_restart_and_the_payment_is_created_and_captured_once()
 {
    let mut journey = Journey::new().await;
    let first = journey.start(Some("after-record:create")).await;
    let till = journey.pair().await;

    let answer = start_qr_sale(&journey, &till, 12_350).await;
    assert!(answer.is_err(), "the server died before answering: {answer:?}\n{}", journey.logs());
    journey.until_crashed(first, "after-record:create").await;
    assert!(journey.sim.payment_records().is_empty(), "the create was never sent\n{}", journey.logs());

    let _second = journey.start(None).await;
    let sale = journey.until_till_shows(&till, SaleStatus::AwaitingCustomer).await;
    assert_eq!(sale.amount, Money::new(12_350, Currency::Nok));
    let creates = journey.applied_once(&sale.reference, "create");
    assert_eq!(creates.len(), 1, "sent once, after the restart: {creates:#?}");
    approve_and_capture_once(&journey, &till, &sale, 12_350).await;
    journey.applied_once(&sale.reference, "create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_after_sending_a_create_sends_it_again_after_restart_and_the_platform_creates_it_once()
 {
    let mut journey = Journey::new().await;
    let first = journey.start(Some("after-send:create")).await;
    let till = journey.pair().await;

    let answer = start_qr_sale(&journey, &till, 8_800).await;
    assert!(answer.is_err(), "the server died before answering: {answer:?}\n{}", journey.logs());
    journey.until_crashed(first, "after-send:create").await;
    let records = journey.sim.payment_records();
    assert_eq!(records.len(), 1, "the platform has the payment: {records:#?}\n{}", journey.logs());
    let reference = records[0].reference.clone();
    assert_eq!(records[0].state, State::Created);

    let _second = journey.start(None).await;
    let sale = journey.until_till_shows(&till, SaleStatus::AwaitingCustomer).await;
    assert_eq!(sale.reference, reference, "the recorded sale is the one the platform has");
    let creates = journey.applied_once(&reference, "create");
    assert!(creates.len() >= 2, "the create was sent again: {creates:#?}\n{}", journey.logs());
    assert!(
        creates[1..].iter().all(|w| !w.applied && (200..300).contains(&w.status)),
        "and the platform answered it as a replay: {creates:#?}"
    );
    approve_and_capture_once(&journey, &till, &sale, 8_800).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_after_recording_a_check_in_sale_comes_back_with_the_check_in_charged_to_it() {
    let mut journey = Journey::new().await;
    let first = journey.start(Some("after-record:create")).await;
    let till = journey.pair().await;
    journey.command_on(&journey.first(), &["qr", "callback", "create", TILL]).await;
    scan_callback_sticker(&journey.sim, CUSTOMER, TILL).await;
    let check_in = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(check_in) = journey.snapshot(&till).await.check_ins.pop() {
                return check_in;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("Kari's check-in reached the till\n{}", journey.logs()));

    let charge =
        json!({"amount": {"value": 4_900, "currency": "NOK"}, "flow": "checkIn", "checkIn": check_in.id});
    let answer = till.post(format!("{}/api/tills/{TILL}/sales", journey.base)).json(&charge).send().await;
    assert!(answer.is_err(), "the server died before answering: {answer:?}\n{}", journey.logs());
    journey.until_crashed(first, "after-record:create").await;

    let _second = journey.start(None).await;
    let sale = journey.until_till_shows(&till, SaleStatus::AwaitingCustomer).await;
    assert_eq!((sale.flow, sale.amount), (Flow::CheckIn, Money::new(4_900, Currency::Nok)));
    journey.applied_once(&sale.reference, "create");
    // The sale asks Kari to pay; her check-in went with it, so no next sale can ask her again.
    assert_eq!(journey.snapshot(&till).await.check_ins, Vec::new(), "the check-in is no longer offered");
}

/// The capture journeys: a sale approved while the server runs with `point`, the server dying
/// while it takes the money, and the money taken once after the restart.
async fn crash_while_capturing(point: &str, value: i64) -> (Journey, Sale) {
    let mut journey = Journey::new().await;
    let first = journey.start(Some(point)).await;
    let till = journey.pair().await;

    let answer = start_qr_sale(&journey, &till, value).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED, "the sale starts\n{}", journey.logs());
    let sale: Sale = answer.json().await.unwrap();
    assert_eq!(sale.status, SaleStatus::AwaitingCustomer);
    approve(&journey, &sale).await;
    journey.until_crashed(first, point).await;
    assert_eq!(journey.sim.payment(MSN, &sale.reference).unwrap().state, State::Authorized);

    let _second = journey.start(None).await;
    let captured = journey.until_till_shows(&till, SaleStatus::Captured).await;
    assert_eq!(captured.captured, Money::new(value, Currency::Nok), "{captured:?}");
    assert_eq!(captured.reference, sale.reference);
    journey.until_nothing_pending().await;
    journey.applied_once(&sale.reference, "create");
    let payment = journey.sim.payment(MSN, &sale.reference).unwrap();
    assert_eq!((payment.state, payment.aggregate.captured_amount.value), (State::Authorized, value));
    (journey, sale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_after_recording_a_capture_captures_once_after_restart() {
    let (journey, sale) = crash_while_capturing("after-record:capture", 4_500).await;
    let captures = journey.applied_once(&sale.reference, "capture");
    assert_eq!(captures.len(), 1, "sent once, after the restart: {captures:#?}\n{}", journey.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_after_sending_a_capture_sends_it_again_after_restart_and_the_platform_captures_once()
{
    let (journey, sale) = crash_while_capturing("after-send:capture", 6_000).await;
    let captures = journey.applied_once(&sale.reference, "capture");
    assert!(captures.len() >= 2, "the capture was sent again: {captures:#?}\n{}", journey.logs());
    assert!(
        captures[1..].iter().all(|w| !w.applied && (200..300).contains(&w.status)),
        "and the platform answered it as a replay: {captures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_cut_by_repeated_kills_is_sent_again_as_each_restart_begins_and_lands_once() {
    const POINT: &str = "after-send:capture";
    let mut journey = Journey::new().await;
    let first = journey.start(Some(POINT)).await;
    let till = journey.pair().await;
    let answer = start_qr_sale(&journey, &till, 7_700).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED, "the sale starts\n{}", journey.logs());
    let sale: Sale = answer.json().await.unwrap();
    approve(&journey, &sale).await;
    journey.until_crashed(first, POINT).await;

    // Each restart sends the capture the dead process left unconfirmed as it begins, and dies
    // again. Had a restart kept the dead process's backoff (4 s, 8 s, 16 s, then 32 s after four
    // attempts), the last run would outlast the test's patience. Five sends in all: the platform
    // takes at most five capture calls a minute for one reference.
    for _ in 0..3 {
        journey.run_until_crash(POINT).await;
    }
    let _last = journey.start(None).await;
    let captured = journey.until_till_shows(&till, SaleStatus::Captured).await;
    assert_eq!(captured.captured, Money::new(7_700, Currency::Nok), "{captured:?}");
    journey.until_nothing_pending().await;
    let captures = journey.applied_once(&sale.reference, "capture");
    assert_eq!(captures.len(), 5, "sent by each of the five runs: {captures:#?}\n{}", journey.logs());
}

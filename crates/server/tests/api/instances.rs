//! Several instances on one PostgreSQL database: two real `kasse-server` binaries, A and B, each on
//! its own port, sharing a database and the simulator, as two instances behind a load balancer
//! do (the [`Journey`] harness's `two_instances`). Both give B's address as their public URL, so
//! the platform's webhooks reach B even for a payment the till started through A.
//!
//! A till paired and followed through A sees, live on A's own event stream, what B learnt from the
//! platform; and when A is killed in the middle of a payment (at a crash point between recording a
//! platform write and sending it, or between sending it and recording the answer), B, running
//! throughout, finishes the payment: nothing is created or captured twice.
//!
//! These tests need a PostgreSQL server (`KASSE_TEST_POSTGRES`, which `cargo xtask test` sets);
//! without one each says so and checks nothing.

use kasse_api::{Currency, Money, Sale, SaleStatus};
use kasse_sim::FaultKnobs;
use kasse_vipps::epayment::State;
use reqwest::StatusCode;

use crate::helpers::journey::{Instance, Journey, ServerProcess, approve, start_qr_sale};
use crate::helpers::*;

/// Webhook deliveries an instance accepted, as its `/metrics` counts them.
const WEBHOOKS_ACCEPTED: &str = "kasse_webhooks_total{outcome=\"accepted\"}";

/// Instances A and B of one journey, B serving throughout (the platform's webhooks go to it), and
/// the till paired through A.
struct TwoInstances {
    /// B's run, killed (first of the fields) when the test ends.
    _b_run: ServerProcess,
    journey: Journey,
    a: Instance,
    b: Instance,
    till: reqwest::Client,
}

/// Starts B, then A (aborting itself at `crash_at_a` if given), and pairs the till through A;
/// A's run is returned apart, for the test to watch it die. `None` without a PostgreSQL server.
async fn two_instances(crash_at_a: Option<&str>) -> Option<(TwoInstances, ServerProcess)> {
    two_instances_polling(crash_at_a, true).await
}

/// [`two_instances`], neither instance polling the platform unless `polling`: then what a till
/// is shown comes from the platform's webhooks only.
async fn two_instances_polling(
    crash_at_a: Option<&str>,
    polling: bool,
) -> Option<(TwoInstances, ServerProcess)> {
    let mut journey = Journey::two_instances().await?;
    let (a, b) = (journey.instance("A"), journey.instance("B"));
    if !polling {
        a.polling_nothing();
        b.polling_nothing();
    }
    // One after the other: the second finds the webhook registration the first made.
    let b_run = journey.start_on(&b, None).await;
    let a_run = journey.start_on(&a, crash_at_a).await;
    let till = journey.pair_through(&a).await;
    Some((TwoInstances { _b_run: b_run, journey, a, b, till }, a_run))
}

impl TwoInstances {
    /// The till on B shows the sale captured for `value` øre, nothing is left pending, and the
    /// platform created and captured it exactly once; the captures it received.
    async fn captured_once_by_b(&self, sale: &Sale, value: i64) -> Vec<kasse_sim::ReceivedWrite> {
        let captured = self.journey.until_till_shows_on(&self.b, &self.till, SaleStatus::Captured).await;
        assert_eq!(captured.reference, sale.reference);
        assert_eq!(captured.captured, Money::new(value, Currency::Nok), "{captured:?}");
        self.journey.until_nothing_pending_on(&self.b).await;
        self.journey.applied_once(&sale.reference, "create");
        let payment = self.journey.sim.payment(MSN, &sale.reference).unwrap();
        assert_eq!((payment.state, payment.aggregate.captured_amount.value), (State::Authorized, value));
        self.journey.applied_once(&sale.reference, "capture")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_started_through_a_is_approved_the_webhook_reaches_b_and_the_till_on_a_shows_paid_captured_once()
 {
    // Neither instance polls the platform after its start (a poll by either would show the till
    // the sale paid as well): the till on A can only learn of it from the webhook B took.
    let Some((t, _a_run)) = two_instances_polling(None, false).await else { return };
    let before = t.journey.snapshot_on(&t.a, &t.till).await.last_event_id;
    let mut shown = t.journey.follow_on(&t.a, &t.till).await;

    let answer = start_qr_sale(&t.journey, &t.till, 15_900).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED, "the sale starts on A\n{}", t.journey.logs());
    let sale: Sale = answer.json().await.unwrap();
    approve(&t.journey, &sale).await;

    // The platform tells B; the till following A is shown the sale paid, on A's own stream.
    let captured =
        shown.try_until(|s| s.reference == sale.reference && s.status == SaleStatus::Captured).await;
    let Some(captured) = captured else {
        let on_a = t.journey.snapshot_on(&t.a, &t.till).await.sale.map(|s| s.status);
        panic!(
            "A's live stream never showed {} captured (it showed {:?}; the till loaded from A shows \
             {on_a:?})\n{}",
            sale.reference,
            shown.statuses(&sale.reference),
            t.journey.logs()
        );
    };
    assert_eq!(captured.captured, Money::new(15_900, Currency::Nok), "{captured:?}");
    let snapshot = t.journey.snapshot_on(&t.a, &t.till).await;
    assert_eq!(
        snapshot.sale.map(|s| (s.reference, s.status)),
        Some((sale.reference.clone(), SaleStatus::Captured))
    );

    t.journey.until_metric_on(&t.b, WEBHOOKS_ACCEPTED, "B taking the platform's webhook", |n| n >= 1).await;
    let on_a = t.journey.metric_on(&t.a, WEBHOOKS_ACCEPTED).await.unwrap_or(0);
    assert_eq!(on_a, 0, "the platform delivers to B only\n{}", t.journey.logs());
    let attempts = t.journey.sim.webhook_attempts();
    assert!(
        attempts.iter().all(|a| a.status.is_some_and(|s| (200..300).contains(&s))),
        "B refused a genuine delivery: {attempts:#?}\n{}",
        t.journey.logs()
    );
    t.journey.until_nothing_pending_on(&t.a).await;
    t.journey.applied_once(&sale.reference, "create");
    t.journey.applied_once(&sale.reference, "capture");

    // The browser reconnects, through the balancer, to B: from its Last-Event-ID, B replays what
    // A's stream showed, ids and all, since the ids are the database's.
    let mut replayed = t.journey.follow_after(&t.b, &t.till, before).await;
    let again =
        replayed.try_until(|s| s.reference == sale.reference && s.status == SaleStatus::Captured).await;
    assert!(again.is_some(), "B replayed {:?}\n{}", replayed.statuses(&sale.reference), t.journey.logs());
    assert_eq!(replayed.statuses(&sale.reference), shown.statuses(&sale.reference), "the same events");
}

/// B stores the platform's webhook and dies before it answers or works on it (the platform tries
/// B again, in vain): A's inbox finds the delivery in the database at its next sweep and
/// processes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_stored_by_an_instance_that_died_before_working_on_it_is_processed_by_the_other() {
    const UNPROCESSED: &str = "kasse_webhooks_unprocessed";
    let Some(mut journey) = Journey::two_instances().await else { return };
    let (a, b) = (journey.instance("A"), journey.instance("B"));
    let b_run = journey.start_on(&b, Some("after-store:webhook")).await;
    let _a_run = journey.start_on(&a, None).await;
    let till = journey.pair_through(&a).await;
    let answer = start_qr_sale(&journey, &till, 7_300).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED, "the sale starts on A\n{}", journey.logs());
    // The create's webhook reaches B, which stores it and dies.
    journey.until_crashed(b_run, "after-store:webhook").await;
    let on_a = journey.metric_on(&a, WEBHOOKS_ACCEPTED).await.unwrap_or(0);
    assert_eq!(on_a, 0, "delivered to B only\n{}", journey.logs());
    journey.until_metric_on(&a, UNPROCESSED, "A processing what B stored", |n| n == 0).await;
}

/// A dies at `point` while it creates a sale of `value` øre for the till; B, running on, finishes
/// the create, the till (loaded from B now) shows the sale awaiting Kari, she approves, and B has
/// it captured once. The creates the platform received.
async fn a_dies_creating(point: &str, value: i64) -> Option<Vec<kasse_sim::ReceivedWrite>> {
    let (t, a_run) = two_instances(Some(point)).await?;
    let answer = start_qr_sale(&t.journey, &t.till, value).await;
    assert!(answer.is_err(), "A died before answering: {answer:?}\n{}", t.journey.logs());
    t.journey.until_crashed(a_run, point).await;

    let sale = t.journey.until_till_shows_on(&t.b, &t.till, SaleStatus::AwaitingCustomer).await;
    assert_eq!(sale.amount, Money::new(value, Currency::Nok), "{sale:?}");
    approve(&t.journey, &sale).await;
    let captures = t.captured_once_by_b(&sale, value).await;
    assert_eq!(captures.len(), 1, "captured by B alone, once: {captures:#?}\n{}", t.journey.logs());
    let creates = t.journey.applied_once(&sale.reference, "create");
    assert!(
        creates[1..].iter().all(|w| !w.applied && (200..300).contains(&w.status)),
        "every create after the first was answered as a replay: {creates:#?}"
    );
    Some(creates)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_after_recording_a_create_leaves_it_to_the_other_which_creates_and_captures_it_once()
 {
    let Some(creates) = a_dies_creating("after-record:create", 12_350).await else { return };
    assert_eq!(creates.len(), 1, "sent once, by B: {creates:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_after_sending_a_create_leaves_it_to_the_other_which_resends_it_and_it_is_created_once()
 {
    let Some(creates) = a_dies_creating("after-send:create", 8_800).await else { return };
    assert!(creates.len() >= 2, "sent by A, and again by B: {creates:#?}");
}

/// A dies at `point` while it captures an approved sale of `value` øre; B, running on, finishes
/// the capture. The captures the platform received.
///
/// The platform's webhooks are lost until A is dead, so that B does not hear of the approval
/// before A acts on it; the cashier then presses "check again" on the till (loaded from A), and A
/// reads the approval and takes the money.
async fn a_dies_capturing(point: &str, value: i64) -> Option<Vec<kasse_sim::ReceivedWrite>> {
    let (t, a_run) = two_instances(Some(point)).await?;
    t.journey.sim.set_faults(FaultKnobs { drop_webhook_rate: 1.0, ..FaultKnobs::default() }).unwrap();
    let answer = start_qr_sale(&t.journey, &t.till, value).await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED, "the sale starts on A\n{}", t.journey.logs());
    let sale: Sale = answer.json().await.unwrap();
    approve(&t.journey, &sale).await;

    let check_again = format!("{}/api/tills/{TILL}/sales/{}/reconcile", t.a.base, sale.reference);
    let answer = t.till.post(check_again).send().await;
    assert!(answer.is_err(), "A died before answering: {answer:?}\n{}", t.journey.logs());
    t.journey.until_crashed(a_run, point).await;
    assert_eq!(t.journey.sim.payment(MSN, &sale.reference).unwrap().state, State::Authorized);
    t.journey.sim.set_faults(FaultKnobs::default()).unwrap();

    Some(t.captured_once_by_b(&sale, value).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_after_recording_a_capture_leaves_it_to_the_other_which_captures_once() {
    let Some(captures) = a_dies_capturing("after-record:capture", 4_500).await else { return };
    assert_eq!(captures.len(), 1, "sent once, by B: {captures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_after_sending_a_capture_leaves_it_to_the_other_which_confirms_it_and_it_is_captured_once()
 {
    let Some(captures) = a_dies_capturing("after-send:capture", 6_000).await else { return };
    assert!(captures.len() >= 2, "sent by A, and again by B: {captures:#?}");
    assert!(
        captures[1..].iter().all(|w| !w.applied && (200..300).contains(&w.status)),
        "and the platform answered B's as a replay: {captures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_register_the_webhooks_once_and_keep_that_registration() {
    let Some(mut journey) = Journey::two_instances().await else { return };
    let (a, b) = (journey.instance("A"), journey.instance("B"));
    let runs = journey.start_together(&[&a, &b]).await;
    until_registered(&journey, &[&a, &b]).await;
    let first = journey.sim.webhook_registrations(MSN);
    eprintln!("REGISTRATIONS {first:?}");
    assert_eq!(first.len(), 1, "one registration for the sales unit: {first:?}\n{}", journey.logs());

    // Both again, together: each finds the registration and keeps it.
    drop(runs);
    let runs = journey.start_together(&[&b, &a]).await;
    until_registered(&journey, &[&a, &b]).await;
    let kept = journey.sim.webhook_registrations(MSN);
    assert_eq!(kept, first, "the same one, never replaced\n{}", journey.logs());

    // The platform dropped it meanwhile: both, starting together, find it gone, and one makes the
    // new registration that both then use.
    // A slow platform widens the moment between looking and registering, as a real one does.
    drop(runs);
    journey.sim.drop_webhook_registration(MSN, &first[0].0).unwrap();
    journey.sim.set_faults(FaultKnobs { latency_ms: 400, ..FaultKnobs::default() }).unwrap();
    let made_before = journey.logs().matches("registered webhooks").count();
    let _runs = journey.start_together(&[&a, &b]).await;
    until_registered(&journey, &[&a, &b]).await;
    let again = journey.sim.webhook_registrations(MSN);
    assert_eq!(again.len(), 1, "one new registration: {again:?}\n{}", journey.logs());
    assert_ne!(again, first);
    let made = journey.logs().matches("registered webhooks").count() - made_before;
    assert_eq!(made, 1, "made by one instance, kept by the other, none replaced\n{}", journey.logs());
    assert!(
        !journey.logs().contains("cannot register webhooks yet"),
        "nobody was refused\n{}",
        journey.logs()
    );
}

/// Waits until each of `instances` says in `/healthz` that the sales unit's webhooks are
/// registered.
async fn until_registered(journey: &Journey, instances: &[&Instance]) {
    for instance in instances {
        let registered = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            loop {
                let health: serde_json::Value = browser()
                    .get(format!("{}/healthz", instance.base))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if health["webhooks"][0]["registered"] == true {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
        .await;
        assert!(registered.is_ok(), "{} never registered\n{}", instance.name, journey.logs());
    }
}

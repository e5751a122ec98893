//! The latencies timed one sale at a time: a create through the server against the same call
//! made to the simulator directly, and an approval from the simulator sending its webhook to a
//! till's event stream delivering it.

use std::time::{Duration, Instant};

use kasse_sim::SimHandle;
use serde_json::json;

use crate::ALONE_SALES;
use crate::common::{self, Spread};
use crate::load::{TillClient, alone};

/// A round trip to a real platform from a shop's server, for the second comparison: the
/// simulator answers from memory in a fraction of a millisecond, which no real call does.
const PLATFORM_LATENCY: Duration = Duration::from_millis(40);

/// The comparisons on one instance: its create latency against the simulator's directly, and
/// both with a real platform's round trip added.
pub(super) async fn against_the_simulator(sim: &SimHandle, till: &TillClient) -> serde_json::Value {
    let through_server = Spread::of(alone(till, ALONE_SALES).await);
    let unit = sim.config().sales_unit(common::MSN).unwrap().clone();
    let http = reqwest::Client::new();
    let sim_base = sim.base_url().to_string();
    let token: serde_json::Value = http
        .post(format!("{sim_base}accesstoken/get"))
        .header("client_id", &unit.client_id)
        .header("client_secret", unit.client_secret.expose())
        .header("Ocp-Apim-Subscription-Key", unit.subscription_key.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let direct = Direct {
        http,
        base: sim_base,
        token: token["access_token"].as_str().unwrap().to_owned(),
        key: unit.subscription_key.expose().to_owned(),
        msn: unit.msn.clone(),
    };
    let mut direct_latencies = Vec::with_capacity(ALONE_SALES);
    for _ in 0..ALONE_SALES {
        direct_latencies.push(direct.create_and_cancel().await);
    }
    let direct_spread = Spread::of(direct_latencies);

    // The platform as far away as a real one: every call to the simulator waits
    // PLATFORM_LATENCY first, as a round trip over the internet would.
    let far = kasse_sim::FaultKnobs {
        latency_ms: u64::try_from(PLATFORM_LATENCY.as_millis()).unwrap(),
        ..kasse_sim::FaultKnobs::default()
    };
    sim.set_faults(far).unwrap();
    let far_server = Spread::of(alone(till, ALONE_SALES / 2).await);
    let mut far_direct = Vec::new();
    for _ in 0..ALONE_SALES / 2 {
        far_direct.push(direct.create_and_cancel().await);
    }
    sim.set_faults(kasse_sim::FaultKnobs::default()).unwrap();
    let far_direct = Spread::of(far_direct);

    let ratio = through_server.p50 / direct_spread.p50;
    let far_ratio = far_server.p50 / far_direct.p50;
    println!(
        "  one till alone on SQLite: create p50 {:.2} ms p95 {:.2} ms through the server, \
         p50 {:.2} ms p95 {:.2} ms at the simulator directly: {ratio:.2}× at the median (goal ≤ 1.2×)",
        through_server.p50, through_server.p95, direct_spread.p50, direct_spread.p95
    );
    println!(
        "  with {} ms platform latency: through the server p50 {:.2} ms, directly p50 {:.2} ms, {far_ratio:.2}×",
        PLATFORM_LATENCY.as_millis(),
        far_server.p50,
        far_direct.p50
    );
    json!({
        "createMsThroughServer": through_server.json(),
        "createMsDirect": direct_spread.json(),
        "overheadAtMedian": ratio,
        "withPlatformLatency": {
            "latencyMs": PLATFORM_LATENCY.as_millis(),
            "createMsThroughServer": far_server.json(),
            "createMsDirect": far_direct.json(),
            "overheadAtMedian": far_ratio,
        },
    })
}

/// The platform directly: create a QR payment and cancel it.
struct Direct {
    http: reqwest::Client,
    base: String,
    token: String,
    key: String,
    msn: String,
}

impl Direct {
    async fn create_and_cancel(&self) -> Duration {
        let reference = format!("direct-{}", uuid::Uuid::new_v4().simple());
        let request = |builder: reqwest::RequestBuilder| {
            builder
                .bearer_auth(&self.token)
                .header("Ocp-Apim-Subscription-Key", &self.key)
                .header("Merchant-Serial-Number", &self.msn)
        };
        let started = Instant::now();
        let created = request(self.http.post(format!("{}epayment/v1/payments", self.base)))
            .header("Idempotency-Key", format!("{reference}-create"))
            .json(&json!({
                "amount": {"currency": "NOK", "value": 1000},
                "customerInteraction": "CUSTOMER_PRESENT",
                "paymentMethod": {"type": "WALLET"},
                "reference": reference,
                "userFlow": "QR",
                "qrFormat": {"format": "TEXT/TARGETURL"}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let _ = created.bytes().await;
        let latency = started.elapsed();
        let cancelled =
            request(self.http.post(format!("{}epayment/v1/payments/{reference}/cancel", self.base)))
                .header("Idempotency-Key", format!("{reference}-cancel"))
                .json(&json!({"cancelTransactionOnly": true}))
                .send()
                .await
                .unwrap();
        assert_eq!(cancelled.status(), 200);
        latency
    }
}

/// Approvals of sales `seller` starts, each timed from the simulator sending the `authorized`
/// webhook to the event stream `follower` reads (the same till, perhaps through another
/// instance) delivering it, and, for comparison, from the customer's press.
#[derive(Debug, Default)]
pub(super) struct Approvals {
    pub(super) from_webhook: Vec<Duration>,
    pub(super) from_press: Vec<Duration>,
    /// Approvals not shown on the till within [`APPROVAL_PATIENCE`] (or whose sale did not start).
    pub(super) missed: usize,
    /// Approvals the till was shown before their webhook was sent: the server's poll of the
    /// platform found them first (the simulator sends its webhooks one at a time, oldest first,
    /// so under load they queue there).
    pub(super) before_webhook: usize,
}

impl Approvals {
    pub(super) fn json(&self) -> serde_json::Value {
        json!({
            "count": self.from_press.len(),
            "throughWebhook": self.from_webhook.len(),
            "beforeWebhook": self.before_webhook,
            "missed": self.missed,
            "webhookToTillEventMs": Spread::of(self.from_webhook.clone()).json(),
            "approvalToTillEventMs": Spread::of(self.from_press.clone()).json(),
        })
    }
}

/// How long an approval may take to reach the till before it counts as missed.
const APPROVAL_PATIENCE: Duration = Duration::from_secs(10);

/// `count` approvals one after the other, or as many as fit before `until`.
pub(super) async fn approvals(
    seller: &TillClient,
    follower: &TillClient,
    sim: &SimHandle,
    count: usize,
    until: Option<Instant>,
) -> Approvals {
    let mut timed = Approvals::default();
    while timed.from_press.len() + timed.missed < count && until.is_none_or(|until| Instant::now() < until) {
        match approve_once(seller, follower, sim).await {
            Ok(Reached::Webhook(webhook, press)) => {
                timed.from_webhook.push(webhook);
                timed.from_press.push(press);
            }
            Ok(Reached::BeforeWebhook(press)) => {
                timed.before_webhook += 1;
                timed.from_press.push(press);
            }
            Err(why) => {
                if timed.missed == 0 {
                    println!("  an approval was missed: {why}");
                }
                timed.missed += 1;
                // A sale left in progress is finished by the server meanwhile.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    timed
}

/// The `authorized` webhook's event type.
const AUTHORIZED: &str = "epayments.payment.authorized.v1";

/// When the simulator first sent the `authorized` webhook of payment `reference` that the server
/// took, looking among the attempts sent at or after `since_ms` (Unix ms) only: copying all it
/// keeps (10 000) every few milliseconds, under the lock its deliveries note theirs with, slowed
/// the load being measured.
fn authorized_sent_since(sim: &SimHandle, reference: &str, since_ms: f64) -> Option<f64> {
    let attempts = sim.webhook_attempts_sent_since(since_ms);
    let taken = attempts
        .iter()
        .filter(|a| a.event_type == AUTHORIZED && a.order == reference && a.status.is_some_and(|s| s < 300));
    taken.map(|a| a.sent_at_ms).reduce(f64::min)
}

/// How one approval reached the till.
enum Reached {
    /// Through its webhook: from the webhook's sending, and from the customer's press.
    Webhook(Duration, Duration),
    /// Before its webhook was sent (the server polled the platform): from the press.
    BeforeWebhook(Duration),
}

/// One sale started, approved by the customer, and followed on the till's stream until it is
/// captured.
async fn approve_once(
    seller: &TillClient,
    follower: &TillClient,
    sim: &SimHandle,
) -> Result<Reached, String> {
    let (_, sale) = seller.start_qr_sale().await?;
    let qr = sale["qr"].as_str().ok_or_else(|| format!("no QR code: {sale}"))?.to_owned();
    let reference = sale["reference"].as_str().ok_or_else(|| format!("no reference: {sale}"))?.to_owned();
    let mut events = follower
        .http
        .get(format!("{}api/tills/{}/events", follower.base, follower.till))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    // The sale's `authorized` webhook cannot be sent before the press.
    let pressed_ms = common::unix_ms_now();
    let started = Instant::now();
    let phone = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    phone
        .post(&qr)
        .form(&[("action", "approve"), ("customer", "4791234567")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut seen = String::new();
    let mut approved = None;
    let followed = tokio::time::timeout(APPROVAL_PATIENCE, async {
        // Read until the automatic capture is shown too, so the till is free for the next sale.
        while let Ok(Some(chunk)) = events.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if approved.is_none() && seen.contains("\"status\":\"authorized\"") {
                approved = Some((started.elapsed(), common::unix_ms_now()));
            }
            if seen.contains("\"status\":\"captured\"") {
                return true;
            }
        }
        false
    })
    .await;
    match followed {
        Ok(true) => {}
        Ok(false) => return Err("the stream ended".to_owned()),
        Err(_) => return Err(format!("not shown captured within {APPROVAL_PATIENCE:?}")),
    }
    let (press, arrived_ms) = approved.unwrap_or_else(|| (started.elapsed(), common::unix_ms_now()));
    // The simulator logs a delivery once it is answered, which may be just after the event reached
    // the till; and under load its webhook may not have been sent yet at all.
    let waiting = Instant::now();
    let sent_ms = loop {
        if let Some(sent) = authorized_sent_since(sim, &reference, pressed_ms) {
            break sent;
        }
        if waiting.elapsed() > APPROVAL_PATIENCE {
            return Ok(Reached::BeforeWebhook(press));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    if sent_ms > arrived_ms {
        return Ok(Reached::BeforeWebhook(press));
    }
    Ok(Reached::Webhook(Duration::from_secs_f64((arrived_ms - sent_ms) / 1000.0), press))
}

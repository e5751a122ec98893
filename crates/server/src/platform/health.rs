//! What the server knows about the platform, per sales unit: whether its calls get through, and
//! whether its webhooks are registered. `/healthz` reports both as they were last learnt (never
//! asking the platform itself), tills are told when a sales unit's reachability changes, and
//! the background tasks that register webhooks and probe a platform that stopped answering wait
//! on the changes here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

/// Where one sales unit stands with the platform, as last learnt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reach {
    /// Whether the last call got through. True until a call says otherwise: nothing is known to
    /// be wrong before the first.
    pub reachable: bool,
    /// When that was learnt (Unix milliseconds); `None` before any call.
    pub checked_at_ms: Option<i64>,
    /// Why the last call that did not get through failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where one sales unit's webhook registration stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// Ours is registered and its secret is known.
    pub registered: bool,
    /// Attempts so far (the first at start, then with backoff until one succeeds, then the
    /// regular checks).
    pub attempts: u32,
    /// When the last attempt ended (Unix milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at_ms: Option<i64>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// How one sales unit's registration attempt (or check) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// Ours is registered, and its secret known.
    Registered,
    /// Ours is not, and why.
    Missing(String),
    /// The platform (or the database) could not be asked; why. What was known before stands.
    Unknown(String),
}

/// The registrations, and how many rounds of attempts have ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registrations {
    /// Per sales unit.
    pub units: BTreeMap<String, Registration>,
    /// Rounds of attempts ended so far.
    pub rounds: u32,
}

/// The platform's health as the server learnt it. Cheap to read; changes are broadcast.
#[derive(Debug)]
pub struct Health {
    reach: watch::Sender<BTreeMap<String, Reach>>,
    registrations: watch::Sender<Registrations>,
}

/// Whether a failed call says the platform cannot be reached (or will not let us in), as
/// opposed to refusing one request: no answer, an answer that is no answer (a proxy's page),
/// a 5xx, or credentials refused. A 429 is the platform answering, busy.
pub fn is_outage(error: &kasse_vipps::Error) -> bool {
    match error {
        kasse_vipps::Error::Unreachable(_) | kasse_vipps::Error::UnexpectedAnswer(_) => true,
        kasse_vipps::Error::Rejected { status, .. } => *status >= 500 || matches!(status, 401 | 403),
        kasse_vipps::Error::Unsettled(why) | kasse_vipps::Error::NoToken(why) => is_outage(why),
    }
}

/// The wait before attempt `failures + 1` of something retried until it works: from `first`,
/// doubling, at most `most`, each drawn at random from the upper half of its window so that
/// several servers do not retry in step.
pub fn backoff(failures: u32, first: Duration, most: Duration) -> Duration {
    let window = first.saturating_mul(2u32.saturating_pow(failures)).min(most);
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(fastrand::u64(window_ms / 2..=window_ms))
}

impl Health {
    /// Nothing known yet about the sales units `msns`: each taken to be reachable, none registered.
    pub fn new<'a>(msns: impl IntoIterator<Item = &'a str>) -> Self {
        let msns: Vec<&str> = msns.into_iter().collect();
        let reach = msns
            .iter()
            .map(|msn| ((*msn).to_owned(), Reach { reachable: true, checked_at_ms: None, error: None }))
            .collect();
        let units = msns.iter().map(|msn| ((*msn).to_owned(), Registration::default())).collect();
        Self {
            reach: watch::Sender::new(reach),
            registrations: watch::Sender::new(Registrations { units, rounds: 0 }),
        }
    }

    /// Learns from a call for `msn` that got through (`None`) or failed with `error`. Listeners
    /// hear of it only when the sales unit's reachability changes.
    pub fn note(&self, msn: &str, error: Option<&str>, now_ms: i64) {
        self.reach.send_if_modified(|all| {
            let Some(reach) = all.get_mut(msn) else { return false };
            let was = reach.reachable;
            reach.reachable = error.is_none();
            reach.checked_at_ms = Some(now_ms);
            reach.error = error.map(str::to_owned);
            if was != reach.reachable {
                if let Some(error) = error {
                    tracing::warn!(%msn, %error, "the platform cannot be reached");
                } else {
                    tracing::info!(%msn, "the platform answers again");
                }
            }
            was != reach.reachable
        });
    }

    /// Whether calls for `msn` got through last time (true for a sales unit not known).
    pub fn reachable(&self, msn: &str) -> bool {
        self.reach.borrow().get(msn).is_none_or(|r| r.reachable)
    }

    /// Every sales unit's reachability.
    pub fn reach(&self) -> BTreeMap<String, Reach> {
        self.reach.borrow().clone()
    }

    /// The sales units whose calls did not get through last time.
    pub fn unreachable(&self) -> Vec<String> {
        self.reach.borrow().iter().filter(|(_, r)| !r.reachable).map(|(msn, _)| msn.clone()).collect()
    }

    /// Hears of every change of reachability.
    pub fn subscribe_reach(&self) -> watch::Receiver<BTreeMap<String, Reach>> {
        self.reach.subscribe()
    }

    /// Records a round of registration attempts: per sales unit, how it ended.
    pub fn registration_round(&self, outcomes: &[(String, RegistrationOutcome)], now_ms: i64) {
        self.registrations.send_modify(|all| {
            for (msn, outcome) in outcomes {
                let unit = all.units.entry(msn.clone()).or_default();
                unit.attempts = unit.attempts.saturating_add(1);
                unit.last_attempt_at_ms = Some(now_ms);
                match outcome {
                    RegistrationOutcome::Registered => {
                        unit.registered = true;
                        unit.last_error = None;
                    }
                    RegistrationOutcome::Missing(why) => {
                        unit.registered = false;
                        unit.last_error = Some(why.clone());
                    }
                    // Registered as far as anyone knows, if it was: a check the platform did not
                    // answer says nothing of it.
                    RegistrationOutcome::Unknown(why) => unit.last_error = Some(why.clone()),
                }
            }
            all.rounds = all.rounds.saturating_add(1);
        });
    }

    /// Every sales unit's registration, and the rounds so far.
    pub fn registrations(&self) -> Registrations {
        self.registrations.borrow().clone()
    }

    /// Waits until `rounds` rounds of registration attempts have ended.
    pub async fn until_registration_rounds(&self, rounds: u32) {
        let mut changes = self.registrations.subscribe();
        // The sender lives as long as `self`: this ends only when the rounds are reached.
        let _ = changes.wait_for(|r| r.rounds >= rounds).await;
    }

    /// Waits until every sales unit's webhooks are registered.
    pub async fn until_registered(&self) {
        let mut changes = self.registrations.subscribe();
        let _ = changes.wait_for(|r| r.units.values().all(|u| u.registered)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16) -> kasse_vipps::Error {
        kasse_vipps::Error::Rejected { status, problem: Box::default() }
    }

    #[test]
    fn no_answer_a_5xx_or_refused_credentials_is_an_outage_and_a_refused_request_or_a_429_is_not() {
        assert!(is_outage(&kasse_vipps::Error::Unreachable("connection refused".into())));
        assert!(is_outage(&rejected(503)) && is_outage(&rejected(401)) && is_outage(&rejected(403)));
        assert!(!is_outage(&rejected(400)) && !is_outage(&rejected(404)) && !is_outage(&rejected(429)));
    }

    #[test]
    fn backoff_doubles_from_the_first_wait_and_never_passes_the_most() {
        let (first, most) = (Duration::from_secs(1), Duration::from_mins(5));
        for _ in 0..100 {
            let wait = backoff(0, first, most);
            assert!(wait >= Duration::from_millis(500) && wait <= first, "{wait:?}");
            let wait = backoff(3, first, most);
            assert!(wait >= Duration::from_secs(4) && wait <= Duration::from_secs(8), "{wait:?}");
            assert!(backoff(40, first, most) <= most);
            assert!(backoff(40, first, most) >= most / 2);
        }
    }

    #[tokio::test]
    async fn listeners_hear_of_a_sales_unit_only_when_its_reachability_changes() {
        let health = Health::new(["123456", "654321"]);
        let mut changes = health.subscribe_reach();
        assert!(health.reachable("123456"), "nothing is known to be wrong at first");
        health.note("123456", None, 1);
        assert!(!changes.has_changed().unwrap(), "still reachable: nothing to say");
        health.note("123456", Some("connection refused"), 2);
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        assert_eq!(health.unreachable(), ["123456"]);
        health.note("123456", Some("503"), 3);
        assert!(!changes.has_changed().unwrap(), "still down: nothing new to say");
        assert_eq!(health.reach()["123456"].error.as_deref(), Some("503"), "but the reason is kept");
        health.note("123456", None, 4);
        assert!(changes.has_changed().unwrap());
        assert!(health.unreachable().is_empty());
    }
}

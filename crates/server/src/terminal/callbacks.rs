//! Callbacks: telling a PoS system, at its callback URL, how the payments it started go.
//!
//! Every instance runs one deliverer. It wakes when a PoS payment changes here, and once a second
//! anyway (for changes made on another instance, and retries), finds the payments whose latest
//! change is not yet delivered, claims each with a lease (so one instance at a time delivers it)
//! and posts the payment as it is now, signed as the platform signs its webhooks. A delivery that
//! fails is tried again after 1 s, 2 s, 4 s… (at most 10 minutes apart), 30 times in all (about
//! four hours); then it is given up and logged. A change made while the PoS was not answering
//! is delivered as the payment's state at the next try, never lost: what is delivered is
//! recorded by the payment's version, after the PoS answered 2xx.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::{Notify, watch};
use url::Url;

use super::wire::{Callback, CallbackKind, Payment};
use crate::store::{DueCallback, Store, StoreError};

/// How long a PoS has to answer a callback.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// How long a claimed delivery is this instance's (longer than a delivery can take).
const LEASE_MS: i64 = 30_000;
/// The first wait before trying a failed delivery again; it doubles each time...
const RETRY_FIRST_MS: i64 = 1_000;
/// ...up to this.
const RETRY_AT_MOST_MS: i64 = 600_000;
/// Deliveries of one change tried at most this often.
const ATTEMPTS: i64 = 30;
/// Changes older than this are not looked at again (the last retry of one is long over).
const HORIZON_MS: i64 = 24 * 3_600_000;
/// How often the deliverer looks even when nothing here changed.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Deliveries under way at once.
const AT_ONCE: usize = 8;

/// The wait before attempt `failed + 1` of a delivery that failed `failed` times.
fn backoff_ms(failed: i64) -> i64 {
    let doublings = u32::try_from(failed.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    RETRY_FIRST_MS.saturating_mul(1 << doublings).min(RETRY_AT_MOST_MS)
}

/// The deliverer of one instance.
pub struct Deliverer {
    store: Store,
    http: reqwest::Client,
}

impl Deliverer {
    /// A deliverer working on `store`.
    pub fn new(store: Store) -> Self {
        let http = reqwest::Client::builder()
            .timeout(ANSWER_WITHIN)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kasse/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { store, http }
    }

    /// Delivers until `shutdown`, waking at `changed`.
    pub async fn run(self, changed: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "cannot look for PoS callbacks to deliver");
            }
            tokio::select! {
                () = changed.notified() => {}
                () = tokio::time::sleep(LOOK_EVERY) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Delivers what is due now.
    async fn round(&self) -> Result<(), StoreError> {
        loop {
            let now = crate::now_ms();
            let due = self.store.due_callbacks(now, now - HORIZON_MS, 64).await?;
            let full = due.len() == 64;
            futures_util::stream::iter(due)
                .for_each_concurrent(AT_ONCE, |due| async move {
                    if let Err(e) = self.deliver(&due).await {
                        tracing::warn!(reference = %due.reference, error = %e, "cannot deliver a PoS callback");
                    }
                })
                .await;
            if !full {
                return Ok(());
            }
        }
    }

    /// Claims and delivers one payment's callback.
    async fn deliver(&self, due: &DueCallback) -> Result<(), StoreError> {
        let now = crate::now_ms();
        let Some(failed) = self.store.claim_callback(&due.reference, now, now + LEASE_MS).await? else {
            return Ok(());
        };
        let Some(row) = self.store.payment(&due.reference).await? else { return Ok(()) };
        // The tries of this change: one made while an earlier change was retried gets all its own.
        let failed = failed.telling(row.updated_at);
        let Some(integrator) =
            self.store.integrator(row.integrator_id.as_deref().unwrap_or_default()).await?
        else {
            return self
                .store
                .callback_done(&row.reference, row.updated_at, Some("no such integrator"))
                .await;
        };
        let Some(url) = integrator.callback_url.as_deref().and_then(|u| Url::parse(u).ok()) else {
            return self.store.callback_done(&row.reference, row.updated_at, Some("no callback URL")).await;
        };
        let callback = Callback {
            id: format!("{}.{}", row.reference, row.updated_at),
            kind: CallbackKind::PaymentChanged,
            sent_at: chrono::Utc::now(),
            payment: Payment::from(&row),
        };
        match self.post(&url, &integrator.callback_secret, &callback).await {
            Ok(()) => {
                tracing::info!(reference = %row.reference, status = ?callback.payment.status, integrator = %integrator.name, "PoS callback delivered");
                self.store.callback_done(&row.reference, row.updated_at, None).await
            }
            Err(why) if failed + 1 >= ATTEMPTS => {
                tracing::error!(reference = %row.reference, integrator = %integrator.name, %why, "PoS callback given up after {ATTEMPTS} attempts");
                self.store.callback_done(&row.reference, row.updated_at, Some(&why)).await
            }
            Err(why) => {
                let wait = backoff_ms(failed + 1);
                tracing::warn!(reference = %row.reference, integrator = %integrator.name, %why, wait_ms = wait, "PoS callback failed; will try again");
                self.store.callback_failed(&row.reference, row.updated_at, crate::now_ms() + wait, &why).await
            }
        }
    }

    /// Posts one signed callback; `Err` says why it did not reach the PoS.
    async fn post(&self, url: &Url, secret: &str, callback: &Callback) -> Result<(), String> {
        let body = serde_json::to_vec(callback).map_err(|e| e.to_string())?;
        let answer = crate::signed_post::post(&self.http, url, secret, callback.sent_at, body).await?;
        if answer.status().is_success() { Ok(()) } else { Err(format!("answered {}", answer.status())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_delivery_waits_twice_as_long_each_time_up_to_ten_minutes() {
        let waits: Vec<i64> = (1..=12).map(backoff_ms).collect();
        assert_eq!(&waits[..4], [1_000, 2_000, 4_000, 8_000]);
        assert_eq!(waits[10], 600_000);
        assert_eq!(backoff_ms(ATTEMPTS), 600_000);
        let total: i64 = (1..ATTEMPTS).map(backoff_ms).sum();
        assert!((3 * 3_600_000..5 * 3_600_000).contains(&total), "about four hours in all: {total} ms");
    }
}

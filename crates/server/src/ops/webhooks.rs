//! Our webhook registrations: for every store (MSN), exactly one, at our public webhook URL, for
//! `user.checked-in.v1` and every `epayments.payment.*.v1` event, whose secret the database holds
//! so the webhook endpoint can verify its deliveries. `kasse-server webhooks sync` and every
//! `serve` start run [`sync`].
//!
//! "Ours" is a registration at our webhook URL, or the one the database says we made (it may be at
//! an address we had before). The one to keep is ours, at our URL, for exactly our events, and has
//! its secret in the database; every other one of ours is stale and deleted, before a new one is
//! made if none can be kept, because the platform allows a single registration for check-ins.
//! Registrations of others (another URL, not in our records) are left alone; if one of them holds
//! the check-in event, ours cannot be made, and the report says so.
//!
//! Safe to run again and after a crash: a registration made whose secret was not saved is found
//! at our URL without a known secret, so the next run replaces it. A run that finds everything in
//! order changes nothing.
//!
//! Every platform call tells the platform's health whether it got through, and a secret saved is
//! at once the one deliveries are verified with: a running server's background registration
//! (and a sync run through its tools) needs no restart and no database read to use it.

use std::collections::BTreeSet;

use kasse_vipps::webhooks::{RegisterRequest, USER_CHECKED_IN, Webhook, epayment_event_types};
use serde::Serialize;
use url::Url;

use super::Tools;
use crate::store::WebhookRegistration;

/// Every event type we register for.
pub fn our_events() -> BTreeSet<String> {
    epayment_event_types().chain(std::iter::once(USER_CHECKED_IN)).map(str::to_owned).collect()
}

/// How to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Only say what would change.
    pub dry_run: bool,
}

/// A registration deleted (in a dry run: to delete), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    /// Its id.
    pub id: String,
    /// Where it delivered.
    pub url: String,
    /// Why it goes.
    pub why: String,
}

/// One store's registrations after the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitReport {
    /// The store's id.
    pub store: String,
    /// Its sales unit.
    pub msn: String,
    /// The registration kept as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
    /// The registration made, its secret saved (in a dry run: `"(new)"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Stale registrations of ours deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
    /// Other registrations of the sales unit, left alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<String>,
    /// Why the store is not in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the platform said which registrations the sales unit has. Without that (it did not
    /// answer, or the database did not), the run learnt nothing of them.
    #[serde(skip)]
    pub listed: bool,
}

impl UnitReport {
    /// Whether the run changed (or, dry, would change) anything here.
    pub fn changed(&self) -> bool {
        self.created.is_some() || !self.removed.is_empty()
    }
}

/// What a run did, store by store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Our webhook URL.
    pub url: String,
    /// Each store, in the configuration's order.
    pub units: Vec<UnitReport>,
    /// Platform calls sent again (after no answer, a 5xx or a 429) during the run.
    pub retries: u64,
}

impl SyncReport {
    /// Registrations made.
    pub fn created(&self) -> usize {
        self.units.iter().filter(|u| u.created.is_some()).count()
    }

    /// Registrations deleted.
    pub fn removed(&self) -> usize {
        self.units.iter().map(|u| u.removed.len()).sum()
    }

    /// Stores not in order.
    pub fn failed(&self) -> usize {
        self.units.iter().filter(|u| u.error.is_some()).count()
    }
}

/// Two URLs are one address when they parse to the same URL.
pub(super) fn same_url(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Brings every store's registrations in order (see the module documentation).
pub async fn sync(tools: &Tools, options: Options) -> SyncReport {
    let url = tools.webhook_url();
    let before = tools.retried();
    let mut units = Vec::new();
    for (store, client) in tools.units() {
        let mut report = UnitReport {
            store: store.id.clone(),
            msn: store.msn.clone(),
            kept: None,
            created: None,
            removed: Vec::new(),
            others: Vec::new(),
            error: None,
            listed: false,
        };
        // One instance at a time per sales unit, each reading what the one before it saved: the
        // first registers, the others keep its registration.
        let saved = match tools.store.lock(&format!("webhooks:{}", store.msn)).await {
            Ok(lock) => tools.store.webhook_registrations().await.map(|saved| (lock, saved)),
            Err(e) => Err(e),
        };
        match saved {
            Ok((_lock, saved)) => {
                let ours = saved.iter().find(|r| r.msn == store.msn);
                if let Err(error) = sync_unit(tools, &client, &url, ours, options, &mut report).await {
                    report.error = Some(error);
                }
            }
            Err(e) => report.error = Some(format!("the database failed: {e}")),
        }
        units.push(report);
    }
    SyncReport { dry_run: options.dry_run, url: url.to_string(), units, retries: tools.retried() - before }
}

async fn sync_unit(
    tools: &Tools,
    client: &kasse_vipps::Client,
    url: &Url,
    saved: Option<&WebhookRegistration>,
    options: Options,
    report: &mut UnitReport,
) -> Result<(), String> {
    let wanted = our_events();
    let msn = report.msn.clone();
    let listed = client.list_webhooks().await;
    tools.platform.note(&msn, &listed);
    let listed = listed.map_err(|e| super::qr::platform_failure(&e))?.webhooks;
    report.listed = true;
    let is_ours = |w: &Webhook| same_url(&w.url, url.as_str()) || saved.is_some_and(|s| s.webhook_id == w.id);
    let keep = listed.iter().find(|w| {
        same_url(&w.url, url.as_str())
            && saved.is_some_and(|s| s.webhook_id == w.id && same_url(&s.url, url.as_str()))
            && w.events.iter().cloned().collect::<BTreeSet<_>>() == wanted
    });
    for w in listed.iter().filter(|w| is_ours(w) && Some(*w) != keep) {
        let why = if !same_url(&w.url, url.as_str()) {
            "it delivers to an address we had before".to_owned()
        } else if keep.is_some() {
            "a second registration of ours".to_owned()
        } else if saved.is_none_or(|s| s.webhook_id != w.id) {
            "its secret is not in our database, so its deliveries cannot be verified".to_owned()
        } else {
            "its events are not exactly ours".to_owned()
        };
        report.removed.push(Removed { id: w.id.clone(), url: w.url.clone(), why });
    }
    report.others = listed.iter().filter(|w| !is_ours(w)).map(|w| format!("{} ({})", w.id, w.url)).collect();
    if let Some(keep) = keep {
        report.kept = Some(keep.id.clone());
        // Perhaps registered by another instance since this one read the secrets.
        if let Some(saved) = saved {
            tools.platform.webhook_secrets().remember(saved);
        }
    } else if let Some(holder) =
        listed.iter().find(|w| !is_ours(w) && w.events.iter().any(|e| e == USER_CHECKED_IN))
    {
        // The platform takes one registration for check-ins per sales unit: changing anything
        // here would leave the store worse off, so nothing is.
        report.removed.clear();
        return Err(format!(
            "registration {} at {} receives {USER_CHECKED_IN}, and the platform allows only one per \
             sales unit; delete it (it is not ours) and run again",
            holder.id, holder.url
        ));
    }
    if options.dry_run {
        if keep.is_none() {
            report.created = Some("(new)".to_owned());
        }
        return Ok(());
    }
    for removed in &report.removed {
        let deleted = client.delete_webhook(&removed.id).await;
        tools.platform.note(&msn, &deleted);
        match deleted {
            Ok(()) => {}
            // Gone already (deleted meanwhile, or by the platform after two silent weeks).
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(super::qr::platform_failure(&e)),
        }
    }
    if keep.is_some() {
        return Ok(());
    }
    let events: Vec<String> = wanted.into_iter().collect();
    let registered =
        client.register_webhook(&RegisterRequest { url: url.to_string(), events: events.clone() }).await;
    tools.platform.note(&msn, &registered);
    let registered = registered.map_err(|e| super::qr::platform_failure(&e))?;
    let registration = WebhookRegistration {
        msn: report.msn.clone(),
        webhook_id: registered.id.clone(),
        url: url.to_string(),
        events: events.join(","),
        secret: registered.secret,
    };
    tools.store.save_webhook_registration(&registration, crate::now_ms()).await.map_err(|e| {
        format!(
            "registration {} was made, but its secret could not be saved ({e}); run again to replace it",
            registered.id
        )
    })?;
    tools.platform.webhook_secrets().remember(&registration);
    report.created = Some(registered.id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn we_register_for_check_ins_and_all_eight_payment_events() {
        let events = our_events();
        assert_eq!(events.len(), 9);
        assert!(events.contains(USER_CHECKED_IN) && events.contains("epayments.payment.captured.v1"));
    }

    #[test]
    fn urls_that_parse_alike_are_one_address() {
        assert!(same_url(
            "https://kasse.example.no/webhooks/vipps",
            "https://KASSE.example.no:443/webhooks/vipps"
        ));
        assert!(!same_url(
            "https://kasse.example.no/webhooks/vipps",
            "https://kasse.example.no/webhooks/other"
        ));
    }
}

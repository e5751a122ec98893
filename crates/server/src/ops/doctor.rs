//! `kasse-server doctor`: the configuration checked against the platform before the first sale,
//! each finding said in a sentence with what to do. Several set-up mistakes otherwise show only
//! when a customer is waiting: keys or an MSN typed wrong, push messages not allowed (error 5080
//! on four of the five flows), webhooks missing or registered twice, stickers that ring no till,
//! a clock the webhook signatures disagree with.
//!
//! Checked, for each store (sales unit):
//! - its keys give a token and its MSN belongs to them (one harmless read, the webhook list);
//! - from the Management API ([`sales_unit`]): its business's country fits the store's currency,
//!   it may take payments, and it may skip the landing page (`userFlow: PUSH_MESSAGE`); a setting
//!   the API leaves out is reported as not checked, since the API says a missing one proves
//!   nothing, except push messages, which a probe payment to the operator's phone can show
//!   (`--probe-phone`); and for a store whose tills capture by hand, whether a partial capture
//!   went through or was refused;
//! - exactly one webhook registration of ours (as `webhooks sync` judges it: at our URL, with
//!   the secret we keep, and every event we need), and none of another system's;
//! - every callback sticker at the platform rings a till (as the running server routes a
//!   check-in), and every till's sticker, configured or saved by the QR tools, is at the platform;
//! - every redirect sticker of the configuration is at the platform and leads to its landing
//!   page, and none at the platform leads to a landing page of ours the configuration lacks;
//!
//! and once: our clock against the `Date` of the platform's answers.

use std::collections::BTreeSet;

use kasse_api::Msisdn;
use kasse_vipps::Client;
use kasse_vipps::qr::{CallbackQrImage, RedirectQrFormat};
use kasse_vipps::webhooks::{USER_CHECKED_IN, Webhook};
use serde::Serialize;

use super::Tools;
use super::webhooks::{our_events, same_url};
use crate::config::StoreConfig;
use crate::sales::routing::{Route, route, same_qr_id};
use crate::store::CallbackQrKind;

mod sales_unit;

/// How far our clock may be from the platform's, at most, before it is a problem: a minute, or
/// half of what the webhook endpoint allows (`webhook_max_skew`) when that is less.
const CLOCK_TOLERANCE_SECONDS: i64 = 60;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// In order.
    Ok,
    /// Wrong: the sentence says what to do.
    Problem,
    /// Could not be checked: the sentence says why.
    NotChecked,
}

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The keys give a token, and the MSN is theirs.
    Credentials,
    /// The sales unit's business is in the store's currency's country.
    Currency,
    /// The sales unit may take payments.
    Payments,
    /// The sales unit may capture part of a payment (for a store whose tills capture by hand).
    PartialCapture,
    /// The sales unit may send push messages (skip the landing page).
    PushMessages,
    /// Our webhook registration.
    Webhooks,
    /// Another system's webhook registration on the same sales unit.
    ForeignWebhook,
    /// Callback stickers and the tills they ring.
    Stickers,
    /// Redirect stickers and the landing pages they lead to.
    RedirectStickers,
    /// Our clock against the platform's.
    Clock,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The check.
    pub check: Check,
    /// What it found.
    pub verdict: Verdict,
    /// The store's id, for a store's finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// What it means and what to do, in a sentence or two.
    pub says: String,
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The findings, store by store, then the clock.
    pub findings: Vec<Finding>,
    /// Platform calls sent again during the run.
    pub retries: u64,
}

impl Report {
    /// How many findings have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.findings.iter().filter(|f| f.verdict == verdict).count()
    }

    fn push(&mut self, check: Check, verdict: Verdict, store: Option<&StoreConfig>, says: String) {
        self.findings.push(Finding { check, verdict, store: store.map(|s| s.id.clone()), says });
    }
}

/// How `doctor` may check what the platform does not say.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The operator's own phone number, for a probe payment request (cancelled at once) to a sales
    /// unit whose push messages the Management API does not describe.
    pub probe_phone: Option<Msisdn>,
}

/// Checks `tools`' configuration against the platform.
pub async fn check(tools: &Tools, options: &Options) -> Report {
    let before = tools.retried();
    let mut report = Report::default();
    for (store, client) in tools.units() {
        check_store(tools, options, &mut report, store, &client).await;
    }
    if let Some((_, client)) = tools.units().first() {
        check_clock(&mut report, client, tools.config.webhook_max_skew).await;
    }
    report.retries = tools.retried().saturating_sub(before);
    report
}

async fn check_store(
    tools: &Tools,
    options: &Options,
    report: &mut Report,
    store: &StoreConfig,
    client: &Client,
) {
    use Verdict::{NotChecked, Ok, Problem};
    let name = format!("{} (MSN {})", store.name, store.msn);
    let registrations = match client.list_webhooks().await {
        Result::Ok(answer) => answer.webhooks,
        Err(e) => {
            // Keys refused are refused at the token, before the call is made.
            let status = match &e {
                kasse_vipps::Error::NoToken(why) => why.status(),
                _ => e.status(),
            };
            let (verdict, says) = match status {
                Some(401) => (
                    Problem,
                    format!(
                        "The platform refused the keys of {name}: check its client_id, client_secret and \
                         subscription key against the portal (Utvikler / For developers). Nothing else of \
                         this store was checked."
                    ),
                ),
                Some(403) => (
                    Problem,
                    format!(
                        "MSN {} does not belong to the keys of {}: every sale would be refused. Use the MSN \
                         the keys were made for, or that sales unit's keys. Nothing else of this store was \
                         checked.",
                        store.msn, store.name
                    ),
                ),
                _ => (NotChecked, format!("The platform could not be asked about {name}: {e}.")),
            };
            report.push(Check::Credentials, verdict, Some(store), says);
            return;
        }
    };
    report.push(
        Check::Credentials,
        Ok,
        Some(store),
        format!("The keys of {name} give a token, and the MSN is theirs."),
    );
    sales_unit::check(tools, options, report, store, client, &name).await;
    check_webhooks(tools, report, store, &registrations).await;
    check_stickers(tools, report, store, client).await;
    check_redirect_stickers(tools, report, store, client).await;
}

async fn check_webhooks(tools: &Tools, report: &mut Report, store: &StoreConfig, registrations: &[Webhook]) {
    use Verdict::{NotChecked, Ok, Problem};
    let url = tools.webhook_url();
    let saved = match tools.store.webhook_registrations().await {
        Result::Ok(saved) => saved.into_iter().find(|r| r.msn == store.msn),
        Err(e) => {
            let says = format!(
                "The database could not be read, so the webhooks of {} were not checked: {e}.",
                store.name
            );
            report.push(Check::Webhooks, NotChecked, Some(store), says);
            return;
        }
    };
    // Ours as `webhooks sync` judges it: at our address, or the one whose secret we keep.
    let is_ours =
        |w: &Webhook| same_url(&w.url, url.as_str()) || saved.as_ref().is_some_and(|s| s.webhook_id == w.id);
    let (ours, others): (Vec<&Webhook>, Vec<&Webhook>) = registrations.iter().partition(|w| is_ours(w));
    let sync = "Run `kasse-server webhooks sync`.";
    let (verdict, says) = match ours.as_slice() {
        [] => (
            Problem,
            format!(
                "{} has no webhook registration at {url}: tills learn of approvals only by polling, and \
                 callback stickers ring no till. {sync}",
                store.name
            ),
        ),
        [one] if !same_url(&one.url, url.as_str()) => (
            Problem,
            format!(
                "The webhook registration of {} delivers to {}, an address kasse had before, not {url}. {sync}",
                store.name, one.url
            ),
        ),
        [one] if saved.as_ref().is_none_or(|s| s.webhook_id != one.id) => (
            Problem,
            format!(
                "The webhook registration of {} at {url} has a secret kasse does not keep, so every delivery \
                 is refused as unsigned. {sync}",
                store.name
            ),
        ),
        [one] => {
            let have: BTreeSet<&str> = one.events.iter().map(String::as_str).collect();
            let missing: Vec<String> =
                our_events().into_iter().filter(|e| !have.contains(e.as_str())).collect();
            if missing.is_empty() {
                (
                    Ok,
                    format!(
                        "{} has one webhook registration at {url}, with every event kasse needs.",
                        store.name
                    ),
                )
            } else {
                let missing = missing.join(", ");
                (
                    Problem,
                    format!("The webhook registration of {} at {url} lacks {missing}. {sync}", store.name),
                )
            }
        }
        several => (
            Problem,
            format!(
                "{} has {} webhook registrations of kasse's: every event arrives more than once. {sync} It \
                 keeps one.",
                store.name,
                several.len()
            ),
        ),
    };
    report.push(Check::Webhooks, verdict, Some(store), says);
    for other in others {
        let check_ins = other.events.iter().any(|e| e == USER_CHECKED_IN);
        let what = if check_ins {
            "It holds the sales unit's one registration for check-ins, so kasse's cannot have them: a customer who \
             scans a callback sticker is checked in at that system, and no till rings."
        } else {
            "It is told of every payment of the sales unit."
        };
        report.push(
            Check::ForeignWebhook,
            Problem,
            Some(store),
            format!(
                "{} has a webhook registration of another system, {} at {}. {what} If nothing uses it any \
                 more (an old MobilePay PoS integration), delete it with the Webhooks API; kasse leaves \
                 other systems' registrations alone.",
                store.name, other.id, other.url
            ),
        );
    }
}

async fn check_stickers(tools: &Tools, report: &mut Report, store: &StoreConfig, client: &Client) {
    use Verdict::{NotChecked, Ok, Problem};
    let at_platform = match client.list_callback_qrs(CallbackQrImage::default()).await {
        Result::Ok(stickers) => stickers,
        Err(e) => {
            let says = format!("The callback stickers of {} could not be listed: {e}.", store.name);
            report.push(Check::Stickers, NotChecked, Some(store), says);
            return;
        }
    };
    let before = report.findings.len();
    for sticker in &at_platform {
        let Some(id) = sticker.merchant_qr_id.as_deref() else { continue };
        let place = sticker.location_description.as_deref().unwrap_or("no description");
        // Where a check-in at it goes, as the running server decides it.
        let says = match route(&tools.config, &tools.store, &store.msn, id).await {
            Result::Ok(Route::Till(_)) => continue,
            Result::Ok(Route::Nobody) => format!(
                "Callback sticker {id} ({place}) of {} rings no till: a customer who scans it is checked in \
                 nowhere. Give it to a till with `kasse-server qr callback create TILL --id {id}`, or take it \
                 down with `kasse-server qr callback delete {id} --store {}`.",
                store.name, store.id
            ),
            Result::Ok(Route::Conflict(conflict)) => format!(
                "Callback sticker {id} ({place}) of {} rings no till: the configuration gives it to {} and the \
                 database to {}. Make the till's `callback_qr` and the database agree (`kasse-server qr callback \
                 list` shows both).",
                store.name, conflict.configured, conflict.saved
            ),
            Err(e) => {
                let says = format!("Where callback sticker {id} leads could not be read: {e}.");
                report.push(Check::Stickers, NotChecked, Some(store), says);
                continue;
            }
        };
        report.push(Check::Stickers, Problem, Some(store), says);
    }
    let up = |id: &str| {
        at_platform.iter().filter_map(|s| s.merchant_qr_id.as_deref()).any(|up| same_qr_id(up, id))
    };
    for till in tools.config.tills.iter().filter(|t| t.store == store.id) {
        let Some(id) = till.callback_qr.as_deref() else { continue };
        if !up(id) {
            report.push(
                Check::Stickers,
                Problem,
                Some(store),
                format!(
                    "The callback sticker {id} of {} is not at the platform: scanning it does nothing. Run \
                     `kasse-server qr callback create {}`.",
                    till.name, till.id
                ),
            );
        }
    }
    // The stickers the QR tools gave to tills: one taken down at the platform (by the portal, or
    // another tool) still hangs in the shop.
    match tools.store.callback_qrs().await {
        Result::Ok(saved) => {
            for sticker in saved.iter().filter(|s| s.msn == store.msn && !up(&s.merchant_qr_id)) {
                let Some(till) = sticker.till_id.as_deref() else { continue };
                // A configured sticker was reported above.
                let configured = tools.config.tills.iter().any(|t| {
                    t.store == store.id
                        && t.callback_qr.as_deref().is_some_and(|id| same_qr_id(id, &sticker.merchant_qr_id))
                });
                if configured {
                    continue;
                }
                let id = &sticker.merchant_qr_id;
                let forget = format!("kasse-server qr callback delete {id} --store {}", store.id);
                let till_here = tools.config.tills.iter().any(|t| t.id == till && t.store == store.id);
                let what_to_do = match sticker.kind {
                    _ if !till_here => format!(
                        "Till {till} is no longer a till of {}: forget the sticker with `{forget}`.",
                        store.name
                    ),
                    CallbackQrKind::Beacon => format!(
                        "It is a MobilePay beacon moved over: move it again with `kasse-server qr migrate \
                         --from FILE` (your PoS list, with its row), or forget it with `{forget}`."
                    ),
                    CallbackQrKind::Callback => format!(
                        "Put it up again with `kasse-server qr callback create {till} --id {id}`, or forget it \
                         with `{forget}`."
                    ),
                };
                report.push(
                    Check::Stickers,
                    Problem,
                    Some(store),
                    format!(
                        "The callback sticker {id} ({}) the QR tools gave to till {till} is not at the platform \
                         any more: scanning it does nothing. {what_to_do}",
                        sticker.location_description
                    ),
                );
            }
        }
        Err(e) => {
            let says = format!("The callback stickers the QR tools saved could not be read: {e}.");
            report.push(Check::Stickers, NotChecked, Some(store), says);
        }
    }
    // Said only when nothing else was.
    if report.findings.len() == before {
        let says = format!(
            "{} has {} callback stickers at the platform, each ringing a till, and every till's configured \
             sticker is up.",
            store.name,
            at_platform.len()
        );
        report.push(Check::Stickers, Ok, Some(store), says);
    }
}

async fn check_redirect_stickers(tools: &Tools, report: &mut Report, store: &StoreConfig, client: &Client) {
    use Verdict::{NotChecked, Ok, Problem};
    let at_platform = match client.list_redirect_qrs(RedirectQrFormat::TargetUrl, None).await {
        Result::Ok(stickers) => stickers,
        Err(e) => {
            let says = format!("The redirect stickers of {} could not be listed: {e}.", store.name);
            report.push(Check::RedirectStickers, NotChecked, Some(store), says);
            return;
        }
    };
    // The store's redirect stickers: its tills' and its open-amount ones.
    let tills = tools.config.tills.iter().filter(|t| t.store == store.id);
    let configured: BTreeSet<&str> = tills
        .filter_map(|t| t.redirect_sticker.as_deref())
        .chain(tools.config.stickers.iter().filter(|s| s.store == store.id).map(|s| s.id.as_str()))
        .collect();
    let mut problems = Vec::new();
    for id in &configured {
        let landing = tools.landing_url(id);
        match at_platform.iter().find(|qr| qr.id == *id) {
            None => problems.push(format!(
                "Redirect sticker {id} of {} is not at the platform: its prints lead nowhere. Run `kasse-server \
                 qr redirect create {id}`.",
                store.name
            )),
            Some(qr) if !same_url(&qr.redirect_url, landing.as_str()) => problems.push(format!(
                "Redirect sticker {id} of {} leads to {}, not to its landing page {landing}. Run `kasse-server \
                 qr redirect create {id}`.",
                store.name, qr.redirect_url
            )),
            Some(_) => {}
        }
    }
    // One leading to our landing pages that the configuration does not have: a scan finds no
    // sticker there. Others lead elsewhere on purpose (a menu, a web shop) and are not ours.
    let ours = tools.landing_url("");
    for qr in at_platform.iter().filter(|qr| !configured.contains(qr.id.as_str())) {
        if qr.redirect_url.starts_with(ours.as_str()) {
            problems.push(format!(
                "Redirect sticker {} of {} leads to {}, a landing page of kasse's, but the configuration has no \
                 such sticker: a customer who scans it is told it is unknown. Add it to the configuration, or \
                 take it down with `kasse-server qr redirect delete {} --store {}`.",
                qr.id, store.name, qr.redirect_url, qr.id, store.id
            ));
        }
    }
    if problems.is_empty() {
        let says = format!(
            "{} has {} redirect stickers configured, each at the platform and leading to its landing page.",
            store.name,
            configured.len()
        );
        report.push(Check::RedirectStickers, Ok, Some(store), says);
    }
    for says in problems {
        report.push(Check::RedirectStickers, Problem, Some(store), says);
    }
}

async fn check_clock(report: &mut Report, client: &Client, allowed: std::time::Duration) {
    use Verdict::{NotChecked, Ok, Problem};
    let allowed = i64::try_from(allowed.as_secs()).unwrap_or(i64::MAX);
    let tolerance = CLOCK_TOLERANCE_SECONDS.min(allowed / 2);
    let asked = chrono::Utc::now();
    let (verdict, says) = match client.platform_date().await {
        Result::Ok(Some(theirs)) => {
            // The answer's date was set between asking and now: judged against the middle.
            let ours = asked + (chrono::Utc::now() - asked) / 2;
            let off = (theirs - ours).num_seconds();
            if off.abs() <= tolerance {
                (Ok, format!("This machine's clock and the platform's agree (within {tolerance} s)."))
            } else {
                let way = if off > 0 { "behind" } else { "ahead of" };
                (
                    Problem,
                    format!(
                        "This machine's clock is {} s {way} the platform's: webhooks are signed with the \
                         platform's time, and kasse refuses those more than {allowed} s off its own. Keep the \
                         clock set by NTP (systemd-timesyncd or chrony).",
                        off.abs()
                    ),
                )
            }
        }
        Result::Ok(None) => (NotChecked, "The platform's answer had no Date header.".to_owned()),
        Err(e) => (NotChecked, format!("The platform's clock could not be read: {e}.")),
    };
    report.push(Check::Clock, verdict, None, says);
}

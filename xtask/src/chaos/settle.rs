//! The settling at the end of a chaos run: the faults go off, the held creates are delivered and
//! the last late approvals made, the sales nobody is finishing are closed up, and the reconciler is
//! given time to finish (`kasse_operations_pending` at 0 and the comparison clean, within a bound).
//! The comparison reads every till's history and the platform's records and checks them against
//! what the tills did (`verdict`); writes still pending at the end are stuck findings, named from
//! the resends in the servers' logs.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::killer::{self, Kills};
use super::platform::Knobs;
use super::processes::ServerProcess;
use super::rng::Rng;
use super::till::TillSetup;
use super::verdict::{self, Action, Figures, Finding, Intent, KasseSale, Totals};
use super::{SETTLING, Shared};
use crate::error::{Error, Result};
use crate::http::{Request, Response};

/// The state of things once the run has settled.
pub(super) struct Settled {
    pub(super) figures: Figures,
    pub(super) findings: Vec<Finding>,
    pub(super) kills: Kills,
    /// Operations the server still had pending at the end, if it said.
    pub(super) pending: Option<u64>,
    /// Sales cancelled at the end because nobody had finished them.
    pub(super) closed_up: usize,
    pub(super) settle_took: Duration,
}

/// Faults off, held creates delivered, the last late approvals; then waits until the server has
/// nothing pending and the comparison is clean, or the settling time is up; compares.
pub(super) fn settle(
    servers: &mut [ServerProcess],
    shared: &Shared,
    tills: &[TillSetup],
    intents: &mut [Intent],
    mut kills: Kills,
    seed: u64,
) -> Result<Settled> {
    let started = Instant::now();
    for server in servers.iter_mut() {
        if !server.running() {
            // The killer leaves every instance up: this one stopped by itself.
            kills.stopped_by_themselves += usize::from(server.started());
            shared.journal.note(format_args!("settling: {} is down, starting it again", server.name()));
            killer::restart(server, shared)?;
        }
    }
    shared.platform.set_faults(Knobs::OFF)?;
    let delivered = shared.platform.deliver_held()?;
    shared.journal.note(format_args!("settling: faults off, {delivered} held creates delivered"));
    kills.delivered_late += delivered;
    kills.approved_late += killer::approve_withdrawn(shared, &mut Rng::new(seed, "settle"), 0.6);

    let until = Instant::now() + SETTLING;
    let mut closed_up = None;
    let mut last = None;
    let mut pending = None;
    loop {
        pending = shared.servers.iter().find_map(|server| operations_pending(server)).or(pending);
        if pending == Some(0) {
            if closed_up.is_none() {
                closed_up = Some(close_up(shared, tills, intents));
                continue;
            }
            if let Ok(findings) = compare(shared, tills, intents) {
                let clean = findings.is_empty();
                last = Some(findings);
                if clean {
                    break;
                }
            }
        }
        if Instant::now() >= until {
            break;
        }
        thread::sleep(Duration::from_secs(1));
    }
    let mut findings = match last {
        Some(findings) if pending == Some(0) => findings,
        // Never settled: compare as things are.
        _ => compare(shared, tills, intents)?,
    };
    if pending != Some(0) {
        let logs: Vec<&Path> = servers.iter().map(ServerProcess::log).collect();
        findings.extend(unfinished_operations(&logs, pending));
        findings.sort();
    }
    shared.journal.note(format_args!("settled in {:.1?}: {} findings", started.elapsed(), findings.len()));
    for finding in &findings {
        shared.journal.note(format_args!(
            "FINDING {} {}: {}",
            finding.kind.as_str(),
            finding.reference,
            finding.detail
        ));
    }
    Ok(Settled {
        figures: Figures::of(&findings),
        findings,
        kills,
        pending,
        closed_up: closed_up.unwrap_or(0),
        settle_took: started.elapsed(),
    })
}

/// How long the server's log is watched for resends when writes stay pending at the end.
const RESEND_WATCH: Duration = Duration::from_secs(10);

/// The writes the servers still had pending once the settling time was up, as stuck findings:
/// the references their reconcilers send a write again for while the `logs` are watched (faults
/// are off, so nothing should be left to send), or one finding for them all if they name none.
fn unfinished_operations(logs: &[&Path], pending: Option<u64>) -> Vec<Finding> {
    let from: Vec<u64> = logs.iter().map(|log| fs::metadata(log).map_or(0, |m| m.len())).collect();
    thread::sleep(RESEND_WATCH);
    let mut tail = String::new();
    for (log, from) in logs.iter().zip(from) {
        let text = fs::read(log).unwrap_or_default();
        tail.push_str(&String::from_utf8_lossy(
            text.get(usize::try_from(from).unwrap_or(0)..).unwrap_or_default(),
        ));
    }
    let pending = pending.map_or_else(|| "unknown (no /metrics)".to_owned(), |n| n.to_string());
    let resent = resends(&tail);
    if resent.is_empty() {
        return vec![Finding {
            kind: verdict::Kind::Stuck,
            reference: "(operations)".to_owned(),
            detail: format!("kasse_operations_pending is {pending} at the end"),
        }];
    }
    resent
        .into_iter()
        .map(|(reference, (kind, times))| Finding {
            kind: verdict::Kind::Stuck,
            detail: format!(
                "its {kind} is still pending at the end (kasse_operations_pending {pending}): sent again \
                 {times} times in {}s with the platform's faults off",
                RESEND_WATCH.as_secs()
            ),
            reference,
        })
        .collect()
}

/// The references the log says are sent a recorded write again, each with the write's kind and
/// how many times.
fn resends(log: &str) -> std::collections::BTreeMap<String, (String, usize)> {
    let mut resent = std::collections::BTreeMap::new();
    for line in log.lines().filter(|line| line.contains("sending a recorded write again")) {
        let field = |name: &str| {
            let at = line.rfind(&format!(" {name}="))? + name.len() + 2;
            let value = line[at..].split_whitespace().next()?;
            Some(value.trim_matches('"').to_owned())
        };
        if let Some(reference) = field("reference") {
            let kind = field("kind").unwrap_or_else(|| "write".to_owned());
            resent.entry(reference).or_insert((kind, 0)).1 += 1;
        }
    }
    resent
}

/// `kasse_operations_pending` from the server's `/metrics`, if it answers.
fn operations_pending(server: &str) -> Option<u64> {
    let answer = Request::get(format!("{server}/metrics")).send().ok().filter(Response::is_success)?;
    metric(&answer.text(), "kasse_operations_pending")
}

/// The value of the metric `name` in Prometheus text.
fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        let value = value.trim().parse::<f64>().ok()?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a count")]
        Some(value.max(0.0) as u64)
    })
}

/// Cancels, as a cashier closing up, every sale still waiting for its customer that nobody is
/// finishing any more (a start never answered, a cashier who ran out of time); how many.
fn close_up(shared: &Shared, tills: &[TillSetup], intents: &mut [Intent]) -> usize {
    let mut closed = 0;
    for till in tills {
        let Ok(sales) = history(shared, till) else { continue };
        for sale in sales.iter().filter(|s| s.status == "awaitingCustomer") {
            let answer = shared.send(till.home, |server| {
                Request::post(format!("{server}/api/tills/{}/sales/{}/cancel", till.id, sale.reference))
                    .header("Cookie", till.cookie.clone())
                    .header("Idempotency-Key", format!("close-up-{}", sale.reference))
            });
            shared.journal.note(format_args!(
                "closing up {} (awaiting its customer at the end): {:?}",
                sale.reference,
                answer.map(|a| a.status)
            ));
            if let Some(intent) = intents.iter_mut().find(|i| i.till == till.id && i.amount == sale.amount) {
                intent.actions.push(Action::ClosedUp);
            }
            closed += 1;
        }
    }
    closed
}

/// Every sale of `till` as its history lists it.
fn history(shared: &Shared, till: &TillSetup) -> Result<Vec<KasseSale>> {
    let answer = shared.send(till.home, |server| {
        Request::get(format!("{server}/api/tills/{}/sales", till.id))
            .header("Cookie", till.cookie.clone())
            .timeout(Duration::from_secs(30))
    })?;
    if answer.status != 200 {
        return Err(Error::new(format!(
            "{}'s history was answered {}: {}",
            till.id,
            answer.status,
            answer.text()
        )));
    }
    let body = answer.json()?;
    let sales = body
        .get("sales")
        .and_then(Json::as_array)
        .ok_or_else(|| Error::new(format!("{}'s history has no sales: {body}", till.id)))?;
    Ok(sales
        .iter()
        .map(|sale| {
            let text = |name: &str| sale.get(name).and_then(Json::as_str).unwrap_or_default().to_owned();
            let value = |name: &str| {
                sale.pointer(&format!("/{name}/value")).and_then(Json::as_i64).unwrap_or_default()
            };
            KasseSale {
                reference: text("reference"),
                till: till.id.clone(),
                amount: value("amount"),
                status: text("status"),
                totals: Totals {
                    authorized: value("authorized"),
                    captured: value("captured"),
                    cancelled: value("cancelled"),
                    refunded: value("refunded"),
                },
            }
        })
        .collect())
}

/// Reads every till's history and the platform's records, and compares them with the tills'
/// intents.
fn compare(shared: &Shared, tills: &[TillSetup], intents: &[Intent]) -> Result<Vec<Finding>> {
    let mut kasse = Vec::new();
    for till in tills {
        kasse.extend(history(shared, till)?);
    }
    let platform = shared.platform.payments()?;
    let msns: Vec<String> =
        tills.iter().map(|t| t.msn.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    Ok(verdict::check(intents, &kasse, &platform, &msns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_operations_are_read_from_the_metrics() {
        let text = "# HELP kasse_operations_pending Writes recorded, not confirmed.\n\
                    # TYPE kasse_operations_pending gauge\nkasse_operations_pending 3\nkasse_operations_pending_total 9\n";
        assert_eq!(metric(text, "kasse_operations_pending"), Some(3));
        assert_eq!(metric("kasse_operations_pending 0\n", "kasse_operations_pending"), Some(0));
        assert_eq!(metric("other 1\n", "kasse_operations_pending"), None);
    }

    #[test]
    fn the_writes_sent_again_are_read_from_the_servers_log() {
        let log = "\
2026-12-05T00:29:25.917602Z  INFO kasse_server::sales::reconcile: sending a recorded write again reference=chaos-3-7fd4e1870d8f kind=\"create\" attempts=5
2026-12-05T00:29:26.000000Z  WARN resend{reference=chaos-3-7fd4e1870d8f}: kasse_vipps::client: platform busy, retrying
2026-12-05T00:29:26.917519Z  INFO kasse_server::sales::reconcile: sending a recorded write again reference=chaos-3-7fd4e1870d8f kind=\"create\" attempts=5
2026-12-05T00:29:27.100000Z  INFO kasse_server::sales::reconcile: sending a recorded write again reference=chaos-1-aaa kind=\"capture\" attempts=1
";
        let resent = resends(log);
        assert_eq!(resent.len(), 2);
        assert_eq!(resent["chaos-3-7fd4e1870d8f"], ("create".to_owned(), 2));
        assert_eq!(resent["chaos-1-aaa"], ("capture".to_owned(), 1));
        assert!(resends("nothing to see\n").is_empty());
    }
}

//! Running the jobs: per sales unit, list what is there, put up what is missing, save each
//! beacon's till, and try once more what failed.

use std::collections::{BTreeMap, HashMap};

use futures_util::StreamExt as _;
use kasse_vipps::qr::{CallbackQrImage, MerchantCallbackMobilePayPutRequest};

use super::{EXTRA_ROUNDS, IN_FLIGHT, Job, MigrationReport, Outcome, PosRow, RowProblem, RowReport, plan};
use crate::ops::Tools;
use crate::store::{CallbackQrKind, CallbackQrRow};

/// How to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Check and read only: send nothing to the platform, save nothing.
    pub dry_run: bool,
}

/// Migrates `rows`: checks them all, then sends the good ones, each sales unit's [`IN_FLIGHT`] at
/// a time, calling `progress` as each row is done (refused rows first).
pub async fn run(
    tools: &Tools,
    rows: &[PosRow],
    options: Options,
    progress: &(dyn Fn(&RowReport) + Sync),
) -> MigrationReport {
    let before = tools.retried();
    let (jobs, refusals) = plan(&tools.config, rows);
    for report in &refusals {
        progress(report);
    }
    let mut reports = refusals;
    let mut by_msn: BTreeMap<String, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        by_msn.entry(job.msn.clone()).or_default().push(job);
    }
    for (msn, jobs) in by_msn {
        reports.extend(run_unit(tools, &msn, jobs, options, progress).await);
    }
    MigrationReport::new(options.dry_run, reports, tools.retried() - before)
}

/// One sales unit's jobs.
async fn run_unit(
    tools: &Tools,
    msn: &str,
    jobs: Vec<Job>,
    options: Options,
    progress: &(dyn Fn(&RowReport) + Sync),
) -> Vec<RowReport> {
    let Some((_, client)) = tools.unit(msn) else {
        let problem = RowProblem::Rejected("the store has no platform client".to_owned());
        return jobs.iter().map(|job| job.report(Outcome::Failed, Some(problem.clone()))).collect();
    };
    // What the platform has: a beacon there with the same name needs nothing.
    let existing: HashMap<String, String> = match client.list_callback_qrs(CallbackQrImage::default()).await {
        Ok(qrs) => qrs
            .into_iter()
            .filter_map(|qr| {
                Some((qr.merchant_qr_id?.to_ascii_lowercase(), qr.location_description.unwrap_or_default()))
            })
            .collect(),
        Err(e) => {
            let problem = if e.outcome_unknown() {
                RowProblem::Unavailable(format!("listing the sales unit's callback QRs: {e}"))
            } else {
                RowProblem::Rejected(format!("listing the sales unit's callback QRs: {e}"))
            };
            let reports: Vec<_> =
                jobs.iter().map(|job| job.report(Outcome::Failed, Some(problem.clone()))).collect();
            reports.iter().for_each(progress);
            return reports;
        }
    };
    let mut done = Vec::new();
    let mut pending = jobs;
    for round in 0..=EXTRA_ROUNDS {
        let last = round == EXTRA_ROUNDS;
        let mut again = Vec::new();
        let mut results = futures_util::stream::iter(pending)
            .map(|job| {
                let (client, existing) = (&client, &existing);
                async move {
                    let report = migrate_one(tools, client, existing, &job, options).await;
                    (job, report)
                }
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some((job, report)) = results.next().await {
            if matches!(report.problem, Some(RowProblem::Unavailable(_))) && !last {
                again.push(job);
            } else {
                progress(&report);
                done.push(report);
            }
        }
        pending = again;
        if pending.is_empty() {
            break;
        }
    }
    done
}

/// One beacon: sent unless it is there already, then its till recorded.
async fn migrate_one(
    tools: &Tools,
    client: &kasse_vipps::Client,
    existing: &HashMap<String, String>,
    job: &Job,
    options: Options,
) -> RowReport {
    let mut job = job.clone();
    let outcome = match existing.get(&job.beacon_id) {
        Some(shown) if *shown == job.location => Outcome::AlreadyThere,
        Some(shown) => {
            job.notes.push(format!("the app showed {shown:?}"));
            Outcome::Updated
        }
        None => Outcome::Migrated,
    };
    if outcome != Outcome::AlreadyThere && !options.dry_run {
        let request = MerchantCallbackMobilePayPutRequest { location_description: job.location.clone() };
        if let Err(e) = client.put_mobilepay_qr(&job.beacon_id, &request).await {
            let problem = match e.status() {
                Some(409) => RowProblem::Taken(job.beacon_id.clone()),
                _ if e.outcome_unknown() => RowProblem::Unavailable(e.to_string()),
                _ => RowProblem::Rejected(e.to_string()),
            };
            return job.report(Outcome::Failed, Some(problem));
        }
    }
    match record_till(tools, &mut job, options).await {
        Ok(()) => job.report(outcome, None),
        Err(e) => job.report(Outcome::Failed, Some(RowProblem::NotSaved(e.to_string()))),
    }
}

/// Saves which till the beacon reaches (keeping an earlier run's till when the row names none),
/// with a note of what changed.
async fn record_till(tools: &Tools, job: &mut Job, options: Options) -> Result<(), crate::store::StoreError> {
    let saved = tools.store.callback_qr(&job.msn, &job.beacon_id).await?;
    let earlier = saved.as_ref().and_then(|s| s.till_id.clone());
    let till = job.till.clone().or_else(|| earlier.clone());
    match (&job.till, &earlier) {
        (Some(now), Some(before)) if now != before => job.notes.push(format!("reached till {before} before")),
        (None, Some(before)) => {
            job.notes.push(format!("still reaches till {before}, as saved by an earlier run"));
        }
        (None, None) if !job.notes.iter().any(|n| n.starts_with("reaches till")) => {
            job.notes.push("reaches no till: give the row a till to ring".to_owned());
        }
        _ => {}
    }
    job.till.clone_from(&till);
    let row = CallbackQrRow {
        msn: job.msn.clone(),
        merchant_qr_id: job.beacon_id.clone(),
        kind: CallbackQrKind::Beacon,
        till_id: till,
        location_description: job.location.clone(),
    };
    if options.dry_run || saved.as_ref() == Some(&row) {
        return Ok(());
    }
    tools.store.save_callback_qr(&row, crate::now_ms()).await
}

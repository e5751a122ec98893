//! The report at the end of a chaos run: the six figures, what the tills and the killer did, how
//! the instances fared and how long each phase took, then each problem sale with what its till
//! did and the servers' log lines about it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::settle::Settled;
use super::verdict::{Action, Intent};
use super::{Database, LOG_LINES_PER_SALE, MAX_INSTANCES};
use crate::process::format_duration;

/// A server instance's log, for the report.
pub(super) struct Log {
    /// `server`, or `instance N`.
    pub(super) name: String,
    pub(super) path: PathBuf,
}

/// How the run went, besides the sales: for the report.
pub(super) struct RunFacts {
    pub(super) instances: usize,
    pub(super) database: Database,
    /// Requests a till sent to another instance because its own did not answer.
    pub(super) rerouted: usize,
    /// How long the drive phase took.
    pub(super) drove: Duration,
    /// How long the whole run took.
    pub(super) took: Duration,
}

/// The figures, what happened, and each problem sale with the servers' log lines about it.
pub(super) fn report(intents: &[Intent], settled: &Settled, logs: &[Log], run: &RunFacts) -> String {
    let count = |action: Action| intents.iter().filter(|i| i.actions.contains(&action)).count();
    let f = settled.figures;
    let mut text = String::from("\nchaos figures\n");
    let figures = [
        ("sales", intents.len()),
        ("kills", settled.kills.sent),
        ("lost", f.lost),
        ("doubled", f.doubled),
        ("stuck", f.stuck),
        ("mismatched", f.mismatched),
    ];
    // Writing to a String cannot fail.
    for (name, value) in figures {
        let _ = writeln!(text, "  {name:<10}  {value}");
    }
    let unanswered = intents.iter().filter(|i| i.reference.is_none()).count();
    let _ = writeln!(
        text,
        "\n  approved {}, declined {}, cancelled {} ({} while still being created), closed up {} ({} at \
         the end); starts refused or never answered {unanswered}",
        count(Action::Approved),
        count(Action::Declined),
        count(Action::Cancelled) + count(Action::CancelledWhileCreating),
        count(Action::CancelledWhileCreating),
        count(Action::ClosedUp),
        settled.closed_up,
    );
    let _ = writeln!(
        text,
        "  kills with creates held {}, creates delivered after their sender died {}, payments of \
         cancelled sales approved late {}",
        settled.kills.with_held_creates, settled.kills.delivered_late, settled.kills.approved_late,
    );
    if run.instances > 1 {
        let per_instance: Vec<String> = settled.kills.per_instance[..run.instances.min(MAX_INSTANCES)]
            .iter()
            .enumerate()
            .map(|(number, kills)| format!("instance {} {kills}", number + 1))
            .collect();
        let _ = writeln!(
            text,
            "  {} instances on {} (webhooks to instance 1): kills {}; requests a till sent to the \
             other instance while its own did not answer {}",
            run.instances,
            run.database.as_str(),
            per_instance.join(", "),
            run.rerouted,
        );
    } else if run.database == Database::Postgres {
        let _ = writeln!(text, "  one instance on postgres");
    }
    if run.database == Database::Postgres {
        let _ = writeln!(
            text,
            "  the database's connections cut {} times, the instances left running",
            settled.kills.cuts
        );
    }
    if settled.kills.stopped_by_themselves > 0 {
        let _ = writeln!(
            text,
            "  SERVER RUNS THAT STOPPED WITHOUT BEING KILLED: {} (see chaos.log and the server logs)",
            settled.kills.stopped_by_themselves
        );
    }
    if let Some(slowest) = intents.iter().max_by_key(|i| i.creating).filter(|i| !i.creating.is_zero()) {
        let _ = writeln!(
            text,
            "  longest a till showed a sale \"creating\": {:.1}s ({})",
            slowest.creating.as_secs_f64(),
            slowest.reference.as_deref().unwrap_or("?"),
        );
    }
    let _ = writeln!(
        text,
        "  driving {}, settling {} (operations still pending: {}), in all {}",
        format_duration(run.drove),
        format_duration(settled.settle_took),
        settled.pending.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
        format_duration(run.took),
    );
    if settled.findings.is_empty() {
        return text;
    }
    text.push_str("\nproblems:\n");
    let logs: Vec<(&str, String)> = logs
        .iter()
        .map(|log| (log.name.as_str(), fs::read_to_string(&log.path).unwrap_or_default()))
        .collect();
    let several = logs.len() > 1;
    let mut shown = BTreeSet::new();
    for finding in &settled.findings {
        let _ = writeln!(text, "  {} {}: {}", finding.kind.as_str(), finding.reference, finding.detail);
        if let Some(intent) =
            intents.iter().find(|i| i.reference.as_deref() == Some(finding.reference.as_str()))
        {
            let _ = writeln!(
                text,
                "    the till: {} {} by {}, shown {}, did {:?}",
                intent.till,
                intent.amount,
                intent.flow,
                intent.shown.join(" → "),
                intent.actions
            );
        }
        if !shown.insert(finding.reference.clone()) {
            continue;
        }
        for (name, log) in &logs {
            let lines: Vec<&str> =
                log.lines().filter(|line| line.contains(finding.reference.as_str())).collect();
            if several && !lines.is_empty() {
                let _ = writeln!(text, "    {name}:");
            }
            // Its beginning and its end: how it started, and what it came to.
            let half = LOG_LINES_PER_SALE / 2;
            let (head, tail) = if lines.len() > LOG_LINES_PER_SALE {
                (&lines[..half], &lines[lines.len() - half..])
            } else {
                (&lines[..], &lines[..0])
            };
            for line in head {
                let _ = writeln!(text, "    | {line}");
            }
            if !tail.is_empty() {
                let _ = writeln!(text, "    | … {} more lines …", lines.len() - 2 * half);
            }
            for line in tail {
                let _ = writeln!(text, "    | {line}");
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::killer::Kills;
    use crate::chaos::verdict::{self, Figures, Finding};

    #[test]
    fn the_report_prints_the_six_figures_and_each_problem_with_its_log_lines() {
        let intent = Intent {
            number: 0,
            till: "chaos-1".to_owned(),
            msn: "123456".to_owned(),
            amount: 1_001,
            flow: "qr",
            key: "k".to_owned(),
            reference: Some("chaos-1-abc".to_owned()),
            shown: vec!["awaitingCustomer".to_owned(), "authorized".to_owned()],
            actions: vec![Action::Approved],
            creating: Duration::from_millis(1_500),
        };
        let finding = Finding {
            kind: verdict::Kind::Stuck,
            reference: "chaos-1-abc".to_owned(),
            detail: "kasse still says authorized at the end".to_owned(),
        };
        let settled = Settled {
            figures: Figures::of(std::slice::from_ref(&finding)),
            findings: vec![finding],
            kills: Kills { sent: 8, per_instance: [5, 3], ..Kills::default() },
            pending: Some(0),
            closed_up: 0,
            settle_took: Duration::from_secs(3),
        };
        let log = |n: usize| {
            let path =
                std::env::temp_dir().join(format!("xtask-chaos-report-{}-{n}.log", std::process::id()));
            Log { name: format!("instance {n}"), path }
        };
        let logs = [log(1), log(2)];
        fs::write(&logs[0].path, "a line about chaos-1-abc\nanother sale\n").unwrap();
        fs::write(&logs[1].path, "the other instance on chaos-1-abc\n").unwrap();
        let mut run = RunFacts {
            instances: 1,
            database: Database::Sqlite,
            rerouted: 0,
            drove: Duration::from_secs(50),
            took: Duration::from_mins(1),
        };
        let single = report(std::slice::from_ref(&intent), &settled, &logs[..1], &run);
        run.instances = 2;
        run.database = Database::Postgres;
        run.rerouted = 17;
        let double = report(&[intent], &settled, &logs, &run);
        for log in &logs {
            let _ = fs::remove_file(&log.path);
        }
        assert!(!single.contains("instance"), "{single}");
        for expected in [
            "2 instances on postgres (webhooks to instance 1): kills instance 1 5, instance 2 3; requests a \
             till sent to the other instance while its own did not answer 17",
            "    instance 1:\n    | a line about chaos-1-abc\n    instance 2:\n    | the other instance on chaos-1-abc\n",
        ] {
            assert!(double.contains(expected), "{expected:?} is missing from:\n{double}");
        }
        let text = single;
        for expected in [
            "  sales       1\n",
            "  kills       8\n",
            "  lost        0\n",
            "  doubled     0\n",
            "  stuck       1\n",
            "  mismatched  0\n",
            "stuck chaos-1-abc: kasse still says authorized at the end",
            "the till: chaos-1 1001 by qr, shown awaitingCustomer → authorized, did [Approved]",
            "longest a till showed a sale \"creating\": 1.5s (chaos-1-abc)",
            "    | a line about chaos-1-abc\n",
        ] {
            assert!(text.contains(expected), "{expected:?} is missing from:\n{text}");
        }
        assert!(!text.contains("another sale"), "{text}");
    }
}

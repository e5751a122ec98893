//! Checking every row before anything is sent: a row with a mistake is refused with its reason,
//! and the others become jobs.

use std::collections::BTreeMap;

use kasse_vipps::qr::MAX_LOCATION_DESCRIPTION;

use super::{Outcome, PosRow, RowProblem, RowReport};
use crate::config::Config;
use crate::sales::routing::is_guid;

/// A row that passed every check: what to send, and the till to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The row.
    pub row: usize,
    /// The beacon id as the platform keeps it (a GUID in lower case).
    pub beacon_id: String,
    /// Its sales unit.
    pub msn: String,
    /// The till the row names.
    pub till: Option<String>,
    /// The PoS name, shortened to fit.
    pub location: String,
    /// Notes so far.
    pub notes: Vec<String>,
}

impl Job {
    pub(super) fn report(&self, outcome: Outcome, problem: Option<RowProblem>) -> RowReport {
        RowReport {
            row: self.row,
            beacon_id: Some(self.beacon_id.clone()),
            msn: Some(self.msn.clone()),
            till: self.till.clone(),
            location_description: Some(self.location.clone()),
            outcome,
            problem,
            notes: self.notes.clone(),
        }
    }
}

/// A failed row's report.
fn refused(row: &PosRow, problem: RowProblem) -> RowReport {
    RowReport {
        row: row.row,
        beacon_id: row.beacon_id.clone(),
        msn: row.msn.clone(),
        till: row.till.clone(),
        location_description: None,
        outcome: Outcome::Failed,
        problem: Some(problem),
        notes: Vec::new(),
    }
}

/// The MobilePay PoS beacon id `raw` names (15 digits, or a GUID), as the platform keeps it;
/// `None` when it names none.
pub fn beacon_id(raw: &str) -> Option<String> {
    let id = raw.trim();
    if id.len() == 15 && id.bytes().all(|b| b.is_ascii_digit()) {
        Some(id.to_owned())
    } else if is_guid(id) {
        Some(id.to_ascii_lowercase())
    } else {
        None
    }
}

/// `name` trimmed and, if longer than the platform allows, cut to 35 characters and an ellipsis.
pub fn shorten(name: &str) -> (String, bool) {
    let name = name.trim();
    if name.chars().count() <= MAX_LOCATION_DESCRIPTION {
        return (name.to_owned(), false);
    }
    let cut: String = name.chars().take(MAX_LOCATION_DESCRIPTION - 1).collect();
    (format!("{}…", cut.trim_end()), true)
}

/// Checks every row against the configuration and the others: the jobs to do, and the reports of
/// the rows refused.
pub fn plan(config: &Config, rows: &[PosRow]) -> (Vec<Job>, Vec<RowReport>) {
    let mut jobs = Vec::new();
    let mut refusals = Vec::new();
    for row in rows {
        match check_row(config, row) {
            Ok(job) => jobs.push(job),
            Err(problem) => refusals.push(refused(row, problem)),
        }
    }
    // Rows that share a beacon: identical ones are one row said twice; different ones cannot
    // all be right, and picking one would be a guess.
    let mut by_beacon: BTreeMap<String, Vec<&PosRow>> = BTreeMap::new();
    for row in rows {
        if let Some(id) = row.beacon_id.as_deref().and_then(beacon_id) {
            by_beacon.entry(id).or_default().push(row);
        }
    }
    for (id, same) in by_beacon.into_iter().filter(|(_, same)| same.len() > 1) {
        let first = same[0];
        let agree = same.iter().all(|r| {
            (r.pos_name.as_deref().map(str::trim), &r.msn, &r.till)
                == (first.pos_name.as_deref().map(str::trim), &first.msn, &first.till)
        });
        let lines = same.iter().map(|r| r.row.to_string()).collect::<Vec<_>>().join(", ");
        for (index, row) in same.iter().enumerate() {
            let problem = if agree {
                if index == 0 {
                    continue;
                }
                RowProblem::Duplicate { beacon_id: id.clone(), first: first.row }
            } else {
                RowProblem::ConflictingDuplicates { beacon_id: id.clone(), rows: lines.clone() }
            };
            if let Some(at) = jobs.iter().position(|j| j.row == row.row) {
                jobs.remove(at);
                refusals.push(refused(row, problem));
            }
        }
    }
    (jobs, refusals)
}

fn check_row(config: &Config, row: &PosRow) -> Result<Job, RowProblem> {
    let raw = row.beacon_id.as_deref().ok_or(RowProblem::MissingBeaconId)?;
    let beacon_id = beacon_id(raw).ok_or_else(|| RowProblem::BadBeaconId(raw.to_owned()))?;
    let name = row.pos_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let name = name.ok_or(RowProblem::MissingPosName)?;
    let till = match row.till.as_deref() {
        Some(id) => Some(config.till(id).ok_or_else(|| RowProblem::UnknownTill(id.to_owned()))?),
        None => None,
    };
    let till_msn = till.and_then(|t| config.store(&t.store)).map(|s| s.msn.clone());
    let mut notes = Vec::new();
    let msn = match (row.msn.as_deref(), till_msn, config.stores.as_slice()) {
        (Some(msn), _, _) => msn.trim().to_owned(),
        (None, Some(msn), _) => msn,
        (None, None, [only]) => {
            notes.push(format!("no MSN given: the only store's, {}", only.msn));
            only.msn.clone()
        }
        (None, None, _) => return Err(RowProblem::MissingMsn),
    };
    if config.store_by_msn(&msn).is_none() {
        let known = config.stores.iter().map(|s| s.msn.as_str()).collect::<Vec<_>>().join(", ");
        return Err(RowProblem::UnknownMsn { msn, known });
    }
    if let Some(till) = till {
        let till_msn = config.store(&till.store).map(|s| s.msn.clone()).unwrap_or_default();
        if till_msn != msn {
            return Err(RowProblem::TillAtOtherStore { till: till.id.clone(), till_msn, msn });
        }
    }
    let configured = config.tills.iter().find(|t| {
        t.callback_qr.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&beacon_id))
            && config.store(&t.store).is_some_and(|s| s.msn == msn)
    });
    match (configured, till) {
        (Some(configured), Some(till)) if configured.id != till.id => {
            return Err(RowProblem::ConflictsWithConfig {
                beacon_id,
                configured: configured.id.clone(),
                till: till.id.clone(),
            });
        }
        (Some(configured), None) => {
            notes.push(format!("reaches till {} by the configuration", configured.id));
        }
        _ => {}
    }
    let (location, shortened) = shorten(name);
    if shortened {
        notes.push(format!(
            "posName is {} characters, more than the platform's {MAX_LOCATION_DESCRIPTION}: sent as {location:?}",
            name.chars().count()
        ));
    }
    Ok(Job { row: row.row, beacon_id, msn, till: till.map(|t| t.id.clone()), location, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};

    use crate::config::TillConfig;
    use crate::ops::migrate::fixtures::row;

    fn config() -> Config {
        let mut config =
            Config::demo(SocketAddr::from(([127, 0, 0, 1], 0)), PathBuf::from("dist"), Path::new("data"));
        let second = TillConfig {
            id: "till-2".into(),
            name: "Kasse 2".into(),
            callback_qr: None,
            redirect_sticker: None,
            ..config.tills[0].clone()
        };
        config.tills.push(second);
        config
    }

    #[test]
    fn a_long_pos_name_is_cut_to_36_characters_with_an_ellipsis() {
        let (short, cut) = shorten("Kasse ved inngangen til bakeriet på hjørnet");
        assert!(cut);
        assert_eq!(short.chars().count(), 36);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("  Kasse 1 "), ("Kasse 1".to_owned(), false));
        assert!(!shorten(&"å".repeat(36)).1);
    }

    #[test]
    fn every_bad_row_is_refused_with_its_reason_and_the_good_ones_go_on() {
        let config = config();
        let rows = [
            row(1, "100000000000001", "Kasse 1", "123456", "till-1"),
            row(2, "", "Kasse 2", "123456", ""),
            row(3, "12345", "Kasse 3", "123456", ""),
            row(4, "100000000000004", "", "123456", ""),
            row(5, "100000000000005", "Kasse 5", "999999", ""),
            row(6, "100000000000006", "Kasse 6", "123456", "till-9"),
            row(7, "100000000000007", "Kasse 7", "123456", "till-2"),
            row(8, "100000000000007", "Kasse 7", "123456", "till-2"),
            row(9, "100000000000009", "Kasse 9", "123456", "till-1"),
            row(10, "100000000000009", "Kasse 9", "123456", "till-2"),
            row(11, "till-1", "Kasse 1", "123456", "till-2"),
            row(12, "100000000000012", &"Lang kassenavn ".repeat(4), "", ""),
        ];
        let (jobs, refused) = plan(&config, &rows);
        let codes: Vec<_> =
            refused.iter().map(|r| (r.row, r.problem.as_ref().map(RowProblem::code))).collect();
        assert_eq!(
            codes,
            [
                (2, Some("missing-beacon-id")),
                (3, Some("bad-beacon-id")),
                (4, Some("missing-pos-name")),
                (5, Some("unknown-msn")),
                (6, Some("unknown-till")),
                (11, Some("bad-beacon-id")),
                (8, Some("duplicate-beacon-id")),
                (9, Some("conflicting-duplicates")),
                (10, Some("conflicting-duplicates")),
            ]
        );
        assert_eq!(jobs.iter().map(|j| j.row).collect::<Vec<_>>(), [1, 7, 12]);
        let long = &jobs[2];
        assert!(long.location.chars().count() <= 36 && long.location.ends_with('…'), "{}", long.location);
        assert!(long.notes.iter().any(|n| n.contains("more than the platform's 36")), "{:?}", long.notes);
        assert!(long.notes.iter().any(|n| n.contains("the only store's, 123456")), "{:?}", long.notes);
    }

    #[test]
    fn a_row_that_sends_a_configured_callback_qr_to_another_till_is_refused() {
        let mut config = config();
        config.tills[0].callback_qr = Some("100000000000001".into());
        let (jobs, refused) = plan(&config, &[row(1, "100000000000001", "Kasse 1", "123456", "till-2")]);
        assert!(jobs.is_empty());
        assert_eq!(
            refused[0].problem,
            Some(RowProblem::ConflictsWithConfig {
                beacon_id: "100000000000001".into(),
                configured: "till-1".into(),
                till: "till-2".into(),
            })
        );
        let (jobs, _) = plan(&config, &[row(1, "100000000000001", "Kasse 1", "123456", "")]);
        assert_eq!(jobs[0].notes, ["reaches till till-1 by the configuration"]);
    }
}

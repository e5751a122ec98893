//! `kasse-server qr migrate`: moves a merchant's printed MobilePay PoS QR stickers (beacons) to
//! the new platform, so that they keep working, and records which till each one rings.
//!
//! The merchant's list of points of sale (CSV or JSON; [`read_pos_list`]) gives per beacon its
//! `beaconId`, its old PoS name, its store's MSN and, optionally, its till. Every row is checked
//! first ([`plan`]): a row with a mistake is reported and left alone, and the others go on. Each
//! good row is then sent as `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}` with the PoS name
//! as `locationDescription` (shortened to the platform's 36 characters, with a note), and its till
//! saved in the database, which check-in routing reads ([`crate::sales::routing::route`]).
//!
//! Safe to run again: the platform's PUT creates or updates, so the sales unit's callback QRs are
//! listed first and a beacon already there with the same name is left alone and reported as
//! such. Whatever a crash or a failed call leaves undone, the next run does. The client retries
//! 5xx and 429 (honouring `Retry-After`), a row whose calls all failed is tried once more at the
//! end, and the report counts the retries. The QR API publishes no rate limit, so each sales unit
//! gets at most [`IN_FLIGHT`] calls at a time.

mod input;
mod plan;
mod report;
mod run;

pub use input::{InputError, PosRow, parse_csv, parse_json, read_pos_list};
pub use plan::{Job, beacon_id, plan, shorten};
pub use report::{Counts, MigrationReport, Outcome, RowProblem, RowReport};
pub use run::{Options, run};

/// Platform calls in flight at once per sales unit.
pub const IN_FLIGHT: usize = 4;

/// How often a row whose platform call got no answer is tried again at the end of the run (the
/// client has already retried each call a few times).
const EXTRA_ROUNDS: usize = 1;

#[cfg(test)]
pub(super) mod fixtures {
    //! Rows the migration's tests start from.

    use super::PosRow;

    pub(crate) fn row(row: usize, beacon: &str, name: &str, msn: &str, till: &str) -> PosRow {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        PosRow { row, beacon_id: some(beacon), pos_name: some(name), msn: some(msn), till: some(till) }
    }
}

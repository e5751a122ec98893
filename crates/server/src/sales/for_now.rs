//! Captures the platform could only not make just now: error 6280, "Capture failed, please try
//! again later". Nothing was taken, and asking again is what the platform asks for; but a refusal
//! stays with its idempotency key, so each new ask needs a key of its own.
//!
//! - kasse's own automatic capture so refused is asked again by the reconciler, a minute after the
//!   refusal, then two, four … at most an hour apart, for a day after the sale started; the sale
//!   says so meanwhile ([`ASKED_AGAIN`]), and a PoS waiting for the payment's outcome goes on
//!   waiting;
//! - a capture someone asked for (a cashier, a PoS) is theirs to ask again: the same client key
//!   then makes a new capture, under a key of its own, where it only repeated the refusal
//!   ([`client_key`]).

use super::record::key_number;
use super::{SaleError, Sales};
use crate::store::{OperationKind, OperationRow, OperationStatus, PaymentRow};

/// What joins a client's key to the number of its ask in the keys [`client_key`] makes: a space
/// then `#`. No key a client sends holds a space (kasse takes visible ASCII only, at every door),
/// so a key made so is never one a PoS or a browser sent for a capture of its own.
const ASKED_AGAIN_AS: &str = " #";

/// The platform's error for a capture it could not make just now.
pub const CAPTURE_FAILED_FOR_NOW: u32 = 6280;

/// What the sale says while kasse asks again for its automatic capture.
pub const ASKED_AGAIN: &str =
    "Approved, but the platform could not take the money just now; kasse asks again in a while.";

/// The first wait before an automatic capture is asked again; it doubles with each refusal.
const AGAIN_AFTER_MS: i64 = 60_000;
/// The longest wait between two asks.
const AGAIN_AT_MOST_MS: i64 = 60 * 60_000;
/// How long after its sale started an automatic capture is asked again: then it waits for a
/// person, as any refused capture does (a platform saying "later" for a day is not saying it
/// about this payment alone).
const ASKED_FOR_MS: i64 = 24 * 60 * 60_000;

/// Whether `op` was refused with [`CAPTURE_FAILED_FOR_NOW`]. The refusal is stored as the platform
/// client words it, its code in brackets (`title [6280]: detail`).
pub fn refused_for_now(op: &OperationRow) -> bool {
    let code = format!("[{CAPTURE_FAILED_FOR_NOW}]");
    op.status == OperationStatus::Failed && op.error.as_deref().is_some_and(|e| e.contains(&code))
}

/// When kasse next asks again on its own for the capture of `row`'s payment, `captures` being
/// every capture recorded for it: when each was kasse's own (no client asked for it) and refused
/// only for now, the last refusal as old as the wait after so many, if that is less than
/// [`ASKED_FOR_MS`] after the sale started. `None` otherwise: one pending or done is the payment's
/// capture, and one refused for good, one a person asked for, or a day gone leaves the rest to a
/// person. Decided from the captures alone, so what the sale says when a refusal is recorded
/// (see `Sales::asks_again_after`) is what the reconciler then does.
pub fn next_ask(row: &PaymentRow, captures: &[&OperationRow]) -> Option<i64> {
    if captures.is_empty() || !captures.iter().all(|op| op.client_key.is_none() && refused_for_now(op)) {
        return None;
    }
    let last = captures.iter().map(|op| op.updated_at).max()?;
    let doublings = captures.len().saturating_sub(1).min(6);
    let at = last.saturating_add((AGAIN_AFTER_MS << doublings).min(AGAIN_AT_MOST_MS));
    (at < row.created_at.saturating_add(ASKED_FOR_MS)).then_some(at)
}

/// Whether the automatic capture of `row`'s payment is due to be asked again at `now` (see
/// [`next_ask`]).
pub fn due(row: &PaymentRow, captures: &[&OperationRow], now: i64) -> bool {
    next_ask(row, captures).is_some_and(|at| at <= now)
}

/// The client key a capture of `amount` (`None`: all that is left) asked for with `key` is
/// recorded and replayed under, `operations` being the payment's: `key` itself at first; once a
/// capture under it was refused only for now, the next of `key #2`, `key #3` …, so that asking
/// again with the same key asks the platform again under an idempotency key of its own. A
/// capture done, pending or refused for good under the last of them is what the key finds, never
/// made twice; so is the refusal, when the key asks for another amount (a mistake, said as one),
/// or once another capture was recorded after it (the key sent again late, after the PoS captured
/// under another: asked anew, it would take the money a second time).
///
/// "After" is the order kasse numbered the captures in ([`super::record::key_number`]), which
/// every instance agrees on, never the times instances stamp with their own clocks: one a little
/// behind would make a capture recorded after the refusal look older than it.
pub fn client_key(key: &str, amount: Option<i64>, operations: &[OperationRow]) -> String {
    let nth = |op: &OperationRow| -> Option<u32> {
        if op.kind != OperationKind::Capture {
            return None;
        }
        let theirs = op.client_key.as_deref()?;
        if theirs == key {
            return Some(1);
        }
        theirs.strip_prefix(key)?.strip_prefix(ASKED_AGAIN_AS)?.parse().ok().filter(|n| *n >= 2)
    };
    let last = operations.iter().filter_map(|op| nth(op).map(|n| (n, op))).max_by_key(|(n, _)| *n);
    let Some((n, op)) = last else { return key.to_owned() };
    let theirs = op.client_key.clone().unwrap_or_else(|| key.to_owned());
    let recorded_after =
        |other: &OperationRow| match (key_number(&other.idempotency_key), key_number(&op.idempotency_key)) {
            (Some(other), Some(this)) => other > this,
            // Not numbered as kasse numbers captures: it may be later, and taking it so never captures twice.
            _ => true,
        };
    let captured_since = operations.iter().any(|other| {
        other.kind == OperationKind::Capture
            && other.status != OperationStatus::Failed
            && other.idempotency_key != op.idempotency_key
            && recorded_after(other)
    });
    let same = amount.is_none_or(|amount| op.amount == Some(amount));
    if refused_for_now(op) && same && !captured_since {
        format!("{key}{ASKED_AGAIN_AS}{}", n.saturating_add(1))
    } else {
        theirs
    }
}

impl Sales {
    /// Whether kasse asks again on its own for the capture of `row`'s payment just refused under
    /// `key` only for now (see `next_ask`): read from the payment's captures, that one as
    /// refused at `refused_at`.
    pub(super) async fn asks_again_after(
        &self,
        row: &PaymentRow,
        key: &str,
        refusal: &kasse_vipps::Error,
        refused_at: i64,
    ) -> Result<bool, SaleError> {
        let mut operations = self.inner.store.operations_for(&row.reference).await?;
        for op in operations.iter_mut().filter(|op| op.idempotency_key == key) {
            op.status = OperationStatus::Failed;
            op.error = Some(refusal.to_string());
            op.updated_at = refused_at;
        }
        let captures: Vec<&OperationRow> =
            operations.iter().filter(|op| op.kind == OperationKind::Capture).collect();
        Ok(next_ask(row, &captures).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const FOR_NOW: &str = "the platform answered 400: Capture failed, please try again later [6280]: not now";

    fn capture(
        status: OperationStatus,
        error: Option<&str>,
        client_key: Option<&str>,
        at: i64,
    ) -> OperationRow {
        OperationRow {
            // Numbered as recorded: in these tests, in the order of their times.
            idempotency_key: format!("till-1-abc-capture-{}", at + 1),
            reference: "till-1-abc".to_owned(),
            kind: OperationKind::Capture,
            amount: Some(1_000),
            status,
            error: error.map(str::to_owned),
            attempts: 1,
            updated_at: at,
            request: None,
            client_key: client_key.map(str::to_owned),
            reason: None,
        }
    }

    fn refused(at: i64) -> OperationRow {
        capture(OperationStatus::Failed, Some(FOR_NOW), None, at)
    }

    fn sale() -> PaymentRow {
        let mut row = crate::store::fixtures::row("till-1-abc", "till-1");
        row.created_at = 0;
        row
    }

    #[test]
    fn an_automatic_capture_refused_for_now_is_asked_again_backing_off_for_a_day() {
        let row = sale();
        let first = refused(0);
        assert_eq!(next_ask(&row, &[&first]), Some(MINUTE), "a minute after the first");
        assert!(!due(&row, &[&first], MINUTE - 1));
        assert!(due(&row, &[&first], MINUTE));
        let second = refused(10 * MINUTE);
        assert_eq!(next_ask(&row, &[&first, &second]), Some(12 * MINUTE), "two minutes after the second");
        let many: Vec<OperationRow> = (0..12).map(|n| refused(n * MINUTE)).collect();
        let many: Vec<&OperationRow> = many.iter().collect();
        assert_eq!(next_ask(&row, &many), Some(71 * MINUTE), "at most an hour apart");
        // The last ask that still falls within a day of the sale; after its refusal, none: the
        // sale then says it waits for a person, and it does.
        let day = 24 * 60 * MINUTE;
        let late = refused(day - 61 * MINUTE);
        assert_eq!(next_ask(&row, &[&first, &late]), Some(day - 59 * MINUTE));
        let later = refused(day - 3 * MINUTE);
        assert_eq!(next_ask(&row, &[&first, &second, &later]), None, "four minutes on is past the day");
        assert!(!due(&row, &[&first, &second, &later], 2 * day));
    }

    #[test]
    fn anything_else_recorded_is_the_payment_s_capture_or_leaves_it_to_a_person() {
        let (row, later) = (sale(), 1_000 * MINUTE);
        let first = refused(0);
        let expired = capture(OperationStatus::Failed, Some("Capture period expired [6100]"), None, 0);
        let pending = capture(OperationStatus::Pending, None, None, 0);
        let done = capture(OperationStatus::Done, None, None, 0);
        let a_cashiers = capture(OperationStatus::Failed, Some(FOR_NOW), Some("browser-key"), 0);
        for other in [&expired, &pending, &done, &a_cashiers] {
            assert_eq!(next_ask(&row, &[&first, other]), None, "{other:?}");
            assert!(!due(&row, &[&first, other], later), "{other:?}");
        }
        assert_eq!(next_ask(&row, &[]), None, "none recorded: the first capture, not a repeat");
    }

    #[test]
    fn a_client_s_key_asks_again_under_a_new_key_after_a_refusal_for_now_and_finds_the_rest() {
        let with = |status, error, key, at| capture(status, error, Some(key), at);
        let for_now = |key, at| with(OperationStatus::Failed, Some(FOR_NOW), key, at);
        let all = None;
        assert_eq!(client_key("k", all, &[]), "k", "not seen: the key itself");
        assert_eq!(client_key("k", all, &[for_now("k", 0)]), "k #2");
        assert_eq!(client_key("k", Some(1_000), &[for_now("k", 0)]), "k #2", "the same amount");
        let asked_again = [for_now("k", 0), with(OperationStatus::Done, None, "k #2", 1)];
        assert_eq!(client_key("k", all, &asked_again), "k #2", "done: found, never made twice");
        assert_eq!(client_key("k", all, &[for_now("k", 0), for_now("k #2", 1)]), "k #3");
        for stays in [
            with(OperationStatus::Pending, None, "k", 0),
            with(OperationStatus::Done, None, "k", 0),
            with(OperationStatus::Failed, Some("Capture amount too high [6090]"), "k", 0),
        ] {
            assert_eq!(client_key("k", all, std::slice::from_ref(&stays)), "k", "{stays:?}");
        }
        // Another amount is a mistake, found as one; and once a capture was made under another key
        // since, the key sent again late finds its refusal, never a second capture.
        assert_eq!(client_key("k", Some(500), &[for_now("k", 0)]), "k");
        let captured_since = [for_now("k", 0), with(OperationStatus::Done, None, "other", 1)];
        assert_eq!(client_key("k", all, &captured_since), "k");
        // A PoS numbering its own keys so is not taken for kasse asking again: its own `k#2`,
        // made after `k` was refused, is a capture since, and `k` sent again late finds its refusal.
        let own_numbering = [for_now("k", 0), with(OperationStatus::Done, None, "k#2", 1)];
        assert_eq!(client_key("k", all, &own_numbering), "k", "a PoS's own k#2 is another capture");
        // Another key's captures, and this key's other writes, are not this capture's.
        let others = [
            for_now("kk", 0),
            for_now("k #x", 0),
            OperationRow { kind: OperationKind::Refund, ..for_now("k #2", 0) },
        ];
        assert_eq!(client_key("k", all, &others), "k");
    }

    #[test]
    fn since_means_recorded_after_whatever_the_clocks_of_the_instances_that_recorded_them() {
        let numbered = |op: OperationRow, n: usize| OperationRow {
            idempotency_key: crate::sales::record::idempotency_key("till-1-abc", OperationKind::Capture, n),
            ..op
        };
        let refused = numbered(capture(OperationStatus::Failed, Some(FOR_NOW), Some("k"), 10_000), 1);
        // Captured under another key after the refusal, by an instance whose clock is 5 s behind:
        // since, so the key sent again late does not take the money a second time.
        let behind = numbered(capture(OperationStatus::Done, None, Some("other"), 5_000), 2);
        assert_eq!(client_key("k", None, &[refused.clone(), behind]), "k");
        // Recorded before the refusal and only confirmed after it (its clock ahead, or its
        // answer late): another capture the PoS asked for, not one since, so `k` is asked again.
        let earlier = numbered(capture(OperationStatus::Done, None, Some("other"), 15_000), 1);
        let refused = numbered(refused, 2);
        assert_eq!(client_key("k", None, &[earlier, refused]), "k #2");
    }
}

//! The comparison at the end of a chaos run: what the tills asked for and were shown, what kasse
//! recorded, and what the platform did, sale by sale.
//!
//! A pure function of the three, so every rule is unit-tested with made-up records. Each problem
//! is a [`Finding`] naming the sale's reference and saying what is wrong in words; the figures
//! count distinct sales per kind.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// What a cashier did to a sale (or had a customer do), in the order done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The customer approved it on the simulator's phone page, which took the answer.
    Approved,
    /// The customer declined it on the phone page.
    Declined,
    /// The cashier cancelled it while it waited for the customer.
    Cancelled,
    /// The cashier cancelled it while its create was still unconfirmed (the late-create case).
    CancelledWhileCreating,
    /// A customer approved its payment after the cashier had cancelled it, once the platform
    /// received its create late.
    ApprovedLate,
    /// Left open when the run's time was up, and cancelled then.
    ClosedUp,
}

impl Action {
    /// Whether the cashier cancelled the sale.
    const fn is_cancel(self) -> bool {
        matches!(self, Self::Cancelled | Self::CancelledWhileCreating | Self::ClosedUp)
    }
}

/// One sale a till started: what it asked for, what it was shown, and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Intent {
    /// Its number in the run, from 0.
    pub(crate) number: usize,
    /// The till.
    pub(crate) till: String,
    /// The till's store's sales unit.
    pub(crate) msn: String,
    /// The amount in minor units: unique in the run, so it identifies the sale everywhere.
    pub(crate) amount: i64,
    /// `qr` or `phone`.
    pub(crate) flow: &'static str,
    /// The `Idempotency-Key` every attempt at its start carried.
    pub(crate) key: String,
    /// The reference the server answered the start with; `None` if no attempt was answered.
    pub(crate) reference: Option<String>,
    /// The statuses the till was shown, in order, each change once.
    pub(crate) shown: Vec<String>,
    /// What was done, in order.
    pub(crate) actions: Vec<Action>,
    /// How long the till showed it "creating" (the platform's confirmation of the create
    /// outstanding); not a problem by itself, reported as the run's slowest.
    pub(crate) creating: std::time::Duration,
}

impl Intent {
    /// Notes that the till was shown `status` (a repeat of the last one is not a change).
    pub(crate) fn show(&mut self, status: &str) {
        if self.shown.last().is_none_or(|last| last != status) {
            self.shown.push(status.to_owned());
        }
    }

    /// The last final status the till was shown, if any.
    fn last_final(&self) -> Option<&str> {
        self.shown.iter().rev().map(String::as_str).find(|status| is_final(status))
    }
}

/// A sale as kasse reports it in a till's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KasseSale {
    pub(crate) reference: String,
    pub(crate) till: String,
    pub(crate) amount: i64,
    /// The status as the API spells it (`captured`, `awaitingCustomer`, …).
    pub(crate) status: String,
    pub(crate) totals: Totals,
}

/// A payment as the simulator's control API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformPayment {
    pub(crate) msn: String,
    pub(crate) reference: String,
    pub(crate) amount: i64,
    /// The state as the platform spells it (`CREATED`, `AUTHORIZED`, …).
    pub(crate) state: String,
    pub(crate) totals: Totals,
}

/// A payment's running totals, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) authorized: i64,
    pub(crate) captured: i64,
    pub(crate) cancelled: i64,
    pub(crate) refunded: i64,
}

impl Totals {
    /// Reserved and neither taken nor released.
    const fn left(self) -> i64 {
        self.authorized - self.captured - self.cancelled
    }

    const fn is_zero(self) -> bool {
        self.authorized == 0 && self.captured == 0 && self.cancelled == 0 && self.refunded == 0
    }
}

impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authorized {}, captured {}, cancelled {}, refunded {}",
            self.authorized, self.captured, self.cancelled, self.refunded
        )
    }
}

/// The kinds of problem the run counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A sale the till was shown that kasse has no record of, or a customer's approval the
    /// platform holds that kasse never captured or released.
    Lost,
    /// Money taken more than once, or two payments for one start.
    Doubled,
    /// Not final at the end, or money left reserved.
    Stuck,
    /// kasse's status or totals differ from the platform's, or from what the till was shown.
    Mismatched,
}

impl Kind {
    /// The name the figures use.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Lost => "lost",
            Self::Doubled => "doubled",
            Self::Stuck => "stuck",
            Self::Mismatched => "mismatched",
        }
    }
}

/// One problem with one sale.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Finding {
    pub(crate) kind: Kind,
    /// The sale's reference (kasse's, or the platform's).
    pub(crate) reference: String,
    /// What is wrong, in words.
    pub(crate) detail: String,
}

/// The problem figures: distinct sales per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Figures {
    pub(crate) lost: usize,
    pub(crate) doubled: usize,
    pub(crate) stuck: usize,
    pub(crate) mismatched: usize,
}

impl Figures {
    /// Counts the distinct sales of each kind in `findings`.
    pub(crate) fn of(findings: &[Finding]) -> Self {
        let count = |kind: Kind| {
            findings
                .iter()
                .filter(|f| f.kind == kind)
                .map(|f| f.reference.as_str())
                .collect::<BTreeSet<_>>()
                .len()
        };
        Self {
            lost: count(Kind::Lost),
            doubled: count(Kind::Doubled),
            stuck: count(Kind::Stuck),
            mismatched: count(Kind::Mismatched),
        }
    }

    /// Whether nothing was found.
    pub(crate) const fn clean(self) -> bool {
        self.lost == 0 && self.doubled == 0 && self.stuck == 0 && self.mismatched == 0
    }
}

/// Whether a kasse status is one nothing more happens to by itself.
pub(crate) fn is_final(status: &str) -> bool {
    matches!(status, "captured" | "refunded" | "declined" | "expired" | "cancelled" | "failed")
}

/// The status kasse should show for what the platform holds (as kasse derives it).
fn expected_status(payment: &PlatformPayment) -> &'static str {
    let t = payment.totals;
    match payment.state.as_str() {
        "CREATED" => "awaitingCustomer",
        "ABORTED" => "declined",
        "EXPIRED" => "expired",
        "TERMINATED" => "cancelled",
        _ if t.captured > 0 && t.refunded >= t.captured => "refunded",
        _ if t.captured > 0 => "captured",
        _ if t.cancelled > 0 => "cancelled",
        _ => "authorized",
    }
}

/// Every problem found, sorted by kind then reference, each (kind, reference, detail) once.
/// `msns` are the sales units of the run's stores: the platform's other payments are not ours.
pub(crate) fn check(
    intents: &[Intent],
    kasse: &[KasseSale],
    platform: &[PlatformPayment],
    msns: &[String],
) -> Vec<Finding> {
    let mut findings = BTreeSet::new();
    let mut found = |kind: Kind, reference: &str, detail: String| {
        findings.insert(Finding { kind, reference: reference.to_owned(), detail });
    };
    let platform: Vec<&PlatformPayment> = platform.iter().filter(|p| msns.contains(&p.msn)).collect();
    let kasse_by_reference: HashMap<&str, &KasseSale> =
        kasse.iter().map(|k| (k.reference.as_str(), k)).collect();
    let platform_by_reference: HashMap<&str, &PlatformPayment> =
        platform.iter().map(|p| (p.reference.as_str(), *p)).collect();

    for intent in intents {
        let name =
            intent.reference.clone().unwrap_or_else(|| format!("start #{} ({})", intent.number, intent.key));
        if let Some(reference) = &intent.reference {
            match kasse_by_reference.get(reference.as_str()) {
                None => found(
                    Kind::Lost,
                    reference,
                    format!(
                        "till {} was shown it ({}) but kasse has no record of it",
                        intent.till,
                        intent.shown.join(" → ")
                    ),
                ),
                Some(sale) => {
                    if let Some(shown) = intent.last_final()
                        && shown != sale.status
                    {
                        found(
                            Kind::Mismatched,
                            reference,
                            format!(
                                "till {} was shown it {shown}, kasse now says {}",
                                intent.till, sale.status
                            ),
                        );
                    }
                    let cancelled = intent.actions.iter().any(|a| a.is_cancel());
                    if sale.status == "cancelled" && !cancelled {
                        found(
                            Kind::Mismatched,
                            reference,
                            format!(
                                "kasse says cancelled, but till {} never cancelled it (it did {:?})",
                                intent.till, intent.actions
                            ),
                        );
                    }
                }
            }
        }
        let twins: Vec<&str> = kasse
            .iter()
            .filter(|k| k.till == intent.till && k.amount == intent.amount)
            .map(|k| k.reference.as_str())
            .collect();
        if twins.len() > 1 {
            found(
                Kind::Doubled,
                &name,
                format!(
                    "one start (key {}) made {} sales in kasse: {}",
                    intent.key,
                    twins.len(),
                    twins.join(", ")
                ),
            );
        }
        let payments: Vec<&str> = platform
            .iter()
            .filter(|p| p.msn == intent.msn && p.amount == intent.amount)
            .map(|p| p.reference.as_str())
            .collect();
        if payments.len() > 1 {
            found(
                Kind::Doubled,
                &name,
                format!(
                    "one start (key {}) made {} payments at the platform: {}",
                    intent.key,
                    payments.len(),
                    payments.join(", ")
                ),
            );
        }
    }

    for sale in kasse {
        let reference = sale.reference.as_str();
        if !intents.iter().any(|i| i.till == sale.till && i.amount == sale.amount) {
            found(Kind::Mismatched, reference, format!("till {} has a sale no cashier started", sale.till));
        }
        if !is_final(&sale.status) {
            found(Kind::Stuck, reference, format!("kasse still says {} at the end", sale.status));
            continue;
        }
        match platform_by_reference.get(reference) {
            None if matches!(sale.status.as_str(), "cancelled" | "failed") && sale.totals.is_zero() => {}
            None => found(
                Kind::Mismatched,
                reference,
                format!("kasse says {} ({}), but the platform has no such payment", sale.status, sale.totals),
            ),
            Some(payment) => {
                if sale.amount != payment.amount {
                    found(
                        Kind::Mismatched,
                        reference,
                        format!("kasse's amount is {}, the platform's {}", sale.amount, payment.amount),
                    );
                }
                if sale.totals != payment.totals {
                    found(
                        Kind::Mismatched,
                        reference,
                        format!("kasse has {}; the platform has {}", sale.totals, payment.totals),
                    );
                }
                let expected = expected_status(payment);
                if sale.status != expected {
                    found(
                        Kind::Mismatched,
                        reference,
                        format!(
                            "kasse says {}, the platform's {} with {} means {expected}",
                            sale.status, payment.state, payment.totals
                        ),
                    );
                }
            }
        }
    }

    for payment in &platform {
        let reference = payment.reference.as_str();
        let t = payment.totals;
        if t.captured > payment.amount || t.captured > t.authorized {
            found(
                Kind::Doubled,
                reference,
                format!("the platform captured {} of a payment of {} ({t})", t.captured, payment.amount),
            );
        }
        let Some(sale) = kasse_by_reference.get(reference) else {
            found(
                Kind::Lost,
                reference,
                format!("the platform has it ({}, {t}) but kasse has no record of it", payment.state),
            );
            continue;
        };
        if payment.state == "CREATED" {
            found(
                Kind::Stuck,
                reference,
                format!("still open at the platform (CREATED); kasse says {}", sale.status),
            );
        }
        if payment.state == "AUTHORIZED" && t.left() > 0 {
            if is_final(&sale.status) && sale.status != "cancelled" {
                found(
                    Kind::Lost,
                    reference,
                    format!(
                        "the platform holds the customer's approval of {} that kasse never captured or released \
                         (kasse says {})",
                        t.left(),
                        sale.status
                    ),
                );
            } else {
                found(
                    Kind::Stuck,
                    reference,
                    format!("{} left reserved at the platform ({t}); kasse says {}", t.left(), sale.status),
                );
            }
        }
    }
    findings.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSN: &str = "123456";

    fn msns() -> Vec<String> {
        vec![MSN.to_owned()]
    }

    fn totals(authorized: i64, captured: i64, cancelled: i64) -> Totals {
        Totals { authorized, captured, cancelled, refunded: 0 }
    }

    fn intent(number: usize, amount: i64, reference: &str, shown: &[&str], actions: &[Action]) -> Intent {
        Intent {
            number,
            till: "chaos-1".to_owned(),
            msn: MSN.to_owned(),
            amount,
            flow: "qr",
            key: format!("key-{number}"),
            reference: Some(reference.to_owned()),
            shown: shown.iter().map(|s| (*s).to_owned()).collect(),
            actions: actions.to_vec(),
            creating: std::time::Duration::ZERO,
        }
    }

    fn sale(reference: &str, amount: i64, status: &str, totals: Totals) -> KasseSale {
        KasseSale {
            reference: reference.to_owned(),
            till: "chaos-1".to_owned(),
            amount,
            status: status.to_owned(),
            totals,
        }
    }

    fn payment(reference: &str, amount: i64, state: &str, totals: Totals) -> PlatformPayment {
        PlatformPayment {
            msn: MSN.to_owned(),
            reference: reference.to_owned(),
            amount,
            state: state.to_owned(),
            totals,
        }
    }

    /// A captured sale, a declined one, a cancelled one, and one cancelled before its create
    /// landed whose late payment a customer approved and kasse released.
    fn a_clean_run() -> (Vec<Intent>, Vec<KasseSale>, Vec<PlatformPayment>) {
        let intents = vec![
            intent(0, 1_001, "r0", &["awaitingCustomer", "captured"], &[Action::Approved]),
            intent(1, 1_102, "r1", &["awaitingCustomer", "declined"], &[Action::Declined]),
            intent(2, 1_203, "r2", &["awaitingCustomer", "cancelled"], &[Action::Cancelled]),
            intent(
                3,
                1_304,
                "r3",
                &["creating", "cancelled"],
                &[Action::CancelledWhileCreating, Action::ApprovedLate],
            ),
        ];
        let kasse = vec![
            sale("r0", 1_001, "captured", totals(1_001, 1_001, 0)),
            sale("r1", 1_102, "declined", totals(0, 0, 0)),
            sale("r2", 1_203, "cancelled", totals(0, 0, 0)),
            sale("r3", 1_304, "cancelled", totals(1_304, 0, 1_304)),
        ];
        let platform = vec![
            payment("r0", 1_001, "AUTHORIZED", totals(1_001, 1_001, 0)),
            payment("r1", 1_102, "ABORTED", totals(0, 0, 0)),
            payment("r2", 1_203, "TERMINATED", totals(0, 0, 0)),
            payment("r3", 1_304, "AUTHORIZED", totals(1_304, 0, 1_304)),
            // Another sales unit's payment is not ours to judge.
            PlatformPayment { msn: "999999".to_owned(), ..payment("x", 5, "CREATED", totals(0, 0, 0)) },
        ];
        (intents, kasse, platform)
    }

    fn kinds(findings: &[Finding]) -> Vec<(Kind, &str)> {
        findings.iter().map(|f| (f.kind, f.reference.as_str())).collect()
    }

    #[test]
    fn a_run_where_everything_adds_up_has_no_findings() {
        let (intents, kasse, platform) = a_clean_run();
        assert_eq!(check(&intents, &kasse, &platform, &msns()), []);
    }

    #[test]
    fn a_cancel_whose_create_never_reached_the_platform_is_fine() {
        let intents =
            vec![intent(0, 2_000, "r0", &["creating", "cancelled"], &[Action::CancelledWhileCreating])];
        let kasse = vec![sale("r0", 2_000, "cancelled", Totals::default())];
        assert_eq!(check(&intents, &kasse, &[], &msns()), []);
    }

    #[test]
    fn a_sale_the_till_was_shown_that_kasse_forgot_is_lost() {
        let (intents, mut kasse, mut platform) = a_clean_run();
        kasse.retain(|k| k.reference != "r0");
        platform.retain(|p| p.reference != "r0");
        let findings = check(&intents, &kasse, &platform, &msns());
        assert_eq!(kinds(&findings), [(Kind::Lost, "r0")]);
        assert!(findings[0].detail.contains("awaitingCustomer → captured"), "{findings:?}");
    }

    #[test]
    fn an_approval_at_the_platform_that_kasse_does_not_know_is_lost() {
        let (intents, kasse, mut platform) = a_clean_run();
        platform.push(payment("ghost", 9_999, "AUTHORIZED", totals(9_999, 0, 0)));
        let findings = check(&intents, &kasse, &platform, &msns());
        assert_eq!(kinds(&findings), [(Kind::Lost, "ghost")]);
    }

    #[test]
    fn an_approval_kasse_calls_final_but_never_captured_is_lost() {
        let (intents, mut kasse, mut platform) = a_clean_run();
        kasse[1] = sale("r1", 1_102, "declined", totals(0, 0, 0));
        platform[1] = payment("r1", 1_102, "AUTHORIZED", totals(1_102, 0, 0));
        let findings = check(&intents, &kasse, &platform, &msns());
        let found = kinds(&findings).into_iter().filter(|(kind, _)| *kind == Kind::Lost).collect::<Vec<_>>();
        assert_eq!(found, [(Kind::Lost, "r1")]);
    }

    #[test]
    fn two_sales_or_two_payments_for_one_start_are_doubled() {
        let (intents, mut kasse, mut platform) = a_clean_run();
        kasse.push(sale("r0-again", 1_001, "captured", totals(1_001, 1_001, 0)));
        platform.push(payment("r0-again", 1_001, "AUTHORIZED", totals(1_001, 1_001, 0)));
        let findings = check(&intents, &kasse, &platform, &msns());
        assert_eq!(kinds(&findings), [(Kind::Doubled, "r0"), (Kind::Doubled, "r0")]);
        assert_eq!(Figures::of(&findings), Figures { doubled: 1, ..Figures::default() });
    }

    #[test]
    fn a_payment_captured_beyond_its_amount_is_doubled() {
        let (intents, kasse, mut platform) = a_clean_run();
        platform[0].totals.captured = 2_002;
        platform[0].totals.authorized = 2_002;
        let findings = check(&intents, &kasse, &platform, &msns());
        assert!(kinds(&findings).contains(&(Kind::Doubled, "r0")), "{findings:#?}");
    }

    #[test]
    fn an_approved_sale_left_uncaptured_is_stuck() {
        let (mut intents, mut kasse, mut platform) = a_clean_run();
        intents[0].shown = vec!["awaitingCustomer".to_owned(), "authorized".to_owned()];
        kasse[0] = sale("r0", 1_001, "authorized", totals(1_001, 0, 0));
        platform[0] = payment("r0", 1_001, "AUTHORIZED", totals(1_001, 0, 0));
        let findings = check(&intents, &kasse, &platform, &msns());
        assert_eq!(kinds(&findings), [(Kind::Stuck, "r0"), (Kind::Stuck, "r0")]);
        assert_eq!(Figures::of(&findings), Figures { stuck: 1, ..Figures::default() });
    }

    #[test]
    fn a_reservation_left_behind_for_a_cancelled_sale_is_stuck() {
        let (intents, mut kasse, mut platform) = a_clean_run();
        kasse[3] = sale("r3", 1_304, "cancelled", totals(1_304, 0, 0));
        platform[3] = payment("r3", 1_304, "AUTHORIZED", totals(1_304, 0, 0));
        let findings = check(&intents, &kasse, &platform, &msns());
        // kasse's status agrees with its totals' reading at the platform only once released.
        assert!(kinds(&findings).contains(&(Kind::Stuck, "r3")), "{findings:#?}");
    }

    #[test]
    fn a_request_still_open_at_the_platform_is_stuck() {
        let (intents, mut kasse, mut platform) = a_clean_run();
        kasse[2] = sale("r2", 1_203, "cancelled", totals(0, 0, 0));
        platform[2] = payment("r2", 1_203, "CREATED", totals(0, 0, 0));
        let findings = check(&intents, &kasse, &platform, &msns());
        let found = kinds(&findings);
        assert!(found.contains(&(Kind::Stuck, "r2")), "{found:?}");
    }

    #[test]
    fn totals_or_a_status_that_differ_from_the_platform_are_mismatched() {
        let (intents, mut kasse, platform) = a_clean_run();
        kasse[0].totals.captured = 500;
        let findings = check(&intents, &kasse, &platform, &msns());
        assert_eq!(kinds(&findings), [(Kind::Mismatched, "r0")]);
        assert!(findings[0].detail.contains("captured 500"), "{findings:?}");
    }

    #[test]
    fn a_final_status_the_till_was_shown_must_not_change_afterwards() {
        let (intents, mut kasse, mut platform) = a_clean_run();
        kasse[0] = sale("r0", 1_001, "cancelled", totals(1_001, 0, 1_001));
        platform[0] = payment("r0", 1_001, "AUTHORIZED", totals(1_001, 0, 1_001));
        let findings = check(&intents, &kasse, &platform, &msns());
        let details: Vec<&str> = findings.iter().map(|f| f.detail.as_str()).collect();
        assert_eq!(kinds(&findings), [(Kind::Mismatched, "r0"), (Kind::Mismatched, "r0")], "{details:?}");
        assert!(details.iter().any(|d| d.contains("was shown it captured")), "{details:?}");
        assert!(details.iter().any(|d| d.contains("never cancelled")), "{details:?}");
    }

    #[test]
    fn a_sale_nobody_started_is_mismatched() {
        let (intents, mut kasse, platform) = a_clean_run();
        kasse.push(sale("stray", 7_777, "cancelled", Totals::default()));
        assert_eq!(kinds(&check(&intents, &kasse, &platform, &msns())), [(Kind::Mismatched, "stray")]);
    }

    #[test]
    fn a_start_nobody_answered_may_have_made_one_sale() {
        let mut unanswered = intent(0, 3_000, "unused", &[], &[Action::ClosedUp]);
        unanswered.reference = None;
        let kasse = vec![sale("r0", 3_000, "cancelled", Totals::default())];
        assert_eq!(check(&[unanswered], &kasse, &[], &msns()), []);
    }

    #[test]
    fn the_figures_count_each_sale_once_per_kind() {
        let finding =
            |kind, reference: &str| Finding { kind, reference: reference.to_owned(), detail: String::new() };
        let findings = [
            finding(Kind::Lost, "a"),
            finding(Kind::Lost, "b"),
            finding(Kind::Stuck, "a"),
            finding(Kind::Mismatched, "c"),
            finding(Kind::Mismatched, "c"),
        ];
        let figures = Figures::of(&findings);
        assert_eq!(figures, Figures { lost: 2, doubled: 0, stuck: 1, mismatched: 1 });
        assert!(!figures.clean());
        assert!(Figures::default().clean());
    }
}

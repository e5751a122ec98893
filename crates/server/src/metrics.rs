//! `/metrics`: counters in the Prometheus text format, for whoever runs kasse to watch payments,
//! platform writes and webhooks. Counters are kept in memory (they restart at zero with the
//! process, as Prometheus expects); gauges that the database knows are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// A counter family: one value per label set.
#[derive(Debug, Default)]
struct Family {
    values: Mutex<BTreeMap<String, u64>>,
}

impl Family {
    fn add(&self, labels: &str) {
        *self.values.lock().unwrap_or_else(PoisonError::into_inner).entry(labels.to_owned()).or_default() +=
            1;
    }
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Sales recorded, by flow.
    sales_started: Family,
    /// Platform writes sent, by kind and outcome (confirmed, unknown, refused).
    platform_writes: Family,
    /// Webhook deliveries, by outcome (accepted, refused).
    webhooks: Family,
    /// Live event streams open now.
    streams: AtomicU64,
    /// Stored rows that could not be read (and so were not acted on).
    unreadable_rows: AtomicU64,
    /// When the reconciler's last round ended (Unix ms; 0 before the first).
    reconciler_round_at: AtomicI64,
    /// Whether every part of that round worked.
    reconciler_round_ok: AtomicBool,
}

impl Metrics {
    /// A sale was recorded.
    pub fn sale_started(&self, flow: &str) {
        self.sales_started.add(&format!("flow=\"{flow}\""));
    }

    /// A platform write got an answer (or none).
    pub fn platform_write(&self, kind: &str, outcome: &str) {
        self.platform_writes.add(&format!("kind=\"{kind}\",outcome=\"{outcome}\""));
    }

    /// A webhook delivery was accepted or refused.
    pub fn webhook(&self, outcome: &str) {
        self.webhooks.add(&format!("outcome=\"{outcome}\""));
    }

    /// A stored row could not be read.
    pub fn unreadable_row(&self) {
        self.unreadable_rows.fetch_add(1, Ordering::Relaxed);
    }

    /// The reconciler ended a round at `at_ms`; `ok` unless a part of it failed.
    pub fn reconciler_round(&self, at_ms: i64, ok: bool) {
        self.reconciler_round_ok.store(ok, Ordering::Relaxed);
        self.reconciler_round_at.store(at_ms, Ordering::Release);
    }

    /// The reconciler's last round: when it ended and whether it all worked.
    pub fn last_reconciler_round(&self) -> Option<kasse_api::ReconcilerRound> {
        let at_ms = self.reconciler_round_at.load(Ordering::Acquire);
        (at_ms > 0).then(|| kasse_api::ReconcilerRound {
            at_ms,
            ok: self.reconciler_round_ok.load(Ordering::Relaxed),
        })
    }

    /// A live stream opened; the guard closes it.
    pub fn stream_opened(self: &Arc<Self>) -> StreamGuard {
        self.streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard(Arc::clone(self))
    }

    /// The text exposition, with `gauges` (name, help, value) read from elsewhere.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        for (name, help, family) in [
            ("kasse_sales_started_total", "Sales recorded, by flow.", &self.sales_started),
            (
                "kasse_platform_writes_total",
                "Platform writes sent, by kind and outcome.",
                &self.platform_writes,
            ),
            ("kasse_webhooks_total", "Webhook deliveries, by outcome.", &self.webhooks),
        ] {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, value) in family.values.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
        let streams = self.streams.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP kasse_live_streams Live event streams open.\n# TYPE kasse_live_streams gauge"
        );
        let _ = writeln!(out, "kasse_live_streams {streams}");
        let unreadable = self.unreadable_rows.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP kasse_unreadable_rows_total Stored rows that could not be read, so were not acted on.\n\
             # TYPE kasse_unreadable_rows_total counter\nkasse_unreadable_rows_total {unreadable}"
        );
        let round_at = self.reconciler_round_at.load(Ordering::Acquire);
        let _ = writeln!(
            out,
            "# HELP kasse_reconciler_last_round_seconds When the reconciler last ended a round (Unix time; 0 before the first).\n\
             # TYPE kasse_reconciler_last_round_seconds gauge\nkasse_reconciler_last_round_seconds {}",
            round_at / 1000
        );
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

/// Counts a live stream as open until dropped.
#[derive(Debug)]
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_the_prometheus_text_format() {
        let metrics = Arc::new(Metrics::default());
        metrics.sale_started("qr");
        metrics.sale_started("qr");
        metrics.platform_write("create", "confirmed");
        metrics.webhook("refused");
        let open = metrics.stream_opened();
        let text = metrics.render(&[("kasse_operations_pending", "Writes recorded, not confirmed.", 3)]);
        assert!(text.contains(
            "# TYPE kasse_sales_started_total counter\nkasse_sales_started_total{flow=\"qr\"} 2\n"
        ));
        assert!(text.contains("kasse_platform_writes_total{kind=\"create\",outcome=\"confirmed\"} 1"));
        assert!(text.contains("kasse_webhooks_total{outcome=\"refused\"} 1"));
        assert!(text.contains("kasse_live_streams 1"));
        assert!(text.contains("# TYPE kasse_operations_pending gauge\nkasse_operations_pending 3"));
        assert!(text.contains("kasse_reconciler_last_round_seconds 0\n"));
        assert_eq!(metrics.last_reconciler_round(), None);
        metrics.reconciler_round(1_700_000_000_500, false);
        assert!(metrics.render(&[]).contains("kasse_reconciler_last_round_seconds 1700000000\n"));
        assert_eq!(
            metrics.last_reconciler_round(),
            Some(kasse_api::ReconcilerRound { at_ms: 1_700_000_000_500, ok: false })
        );
        drop(open);
        assert!(metrics.render(&[]).contains("kasse_live_streams 0"));
    }
}

//! Prometheus text exposition (format 0.0.4) of what the service does: from the association
//! registry (associations now and since start, the store latency histogram) and from the
//! control database (instances and bytes stored, store log rows by status, jobs by state,
//! finished jobs' durations, rejected discs by burner), so the durable counts survive a
//! restart. Served by the web layer at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dcmdisc_archive::CountBy;

use crate::activity::Activity;
use crate::control::ControlDb;
use crate::error::AppError;

/// Upper bounds (seconds) of the store latency histogram: one C-STORE from its first byte to
/// its answer, from a small CR image on loopback to a large multi-frame over a slow link.
pub const STORE_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Upper bounds (seconds) of the job duration histogram: a CD in minutes to a DVD stack.
pub const JOB_BUCKETS: [f64; 8] = [60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0];

/// Counters kept in memory since the service started (relaxed atomics: a scrape may see one
/// store counted in the sum and not yet in a bucket, which Prometheus tolerates).
#[derive(Debug, Default)]
pub struct StoreCounters {
    associations: AtomicU64,
    buckets: [AtomicU64; STORE_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl StoreCounters {
    pub(crate) fn association_opened(&self) {
        self.associations.fetch_add(1, Ordering::Relaxed);
    }

    /// One C-STORE's time from its first byte to its answer.
    pub fn store_took(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (b, le) in self.buckets.iter().zip(STORE_BUCKETS) {
            if s <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// A label value, escaped as the format says (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histogram(
    out: &mut String,
    name: &str,
    bounds: &[f64],
    cumulative: &[u64],
    count: u64,
    sum: f64,
) {
    for (le, n) in bounds.iter().zip(cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {sum}");
    let _ = writeln!(out, "{name}_count {count}");
}

/// The whole exposition.
pub fn render(db: &ControlDb, activity: &Activity) -> Result<String, AppError> {
    let c = db.control();
    let mut out = String::new();
    let m = activity.counters();

    head(
        &mut out,
        "dcmdisc_associations_open",
        "gauge",
        "DICOM associations open now.",
    );
    let _ = writeln!(out, "dcmdisc_associations_open {}", activity.list().len());
    head(
        &mut out,
        "dcmdisc_associations_total",
        "counter",
        "DICOM associations accepted since the service started.",
    );
    let _ = writeln!(
        out,
        "dcmdisc_associations_total {}",
        m.associations.load(Ordering::Relaxed)
    );

    let (instances, bytes) = c.stored_totals()?;
    head(
        &mut out,
        "dcmdisc_instances_stored",
        "gauge",
        "Instances in the archive.",
    );
    let _ = writeln!(out, "dcmdisc_instances_stored {instances}");
    head(
        &mut out,
        "dcmdisc_stored_bytes",
        "gauge",
        "Bytes of the instances in the archive.",
    );
    let _ = writeln!(out, "dcmdisc_stored_bytes {bytes}");

    head(
        &mut out,
        "dcmdisc_store_seconds",
        "histogram",
        "Time of one C-STORE from its first byte to its answer, since the service started.",
    );
    let cumulative: Vec<u64> = m
        .buckets
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    histogram(
        &mut out,
        "dcmdisc_store_seconds",
        &STORE_BUCKETS,
        &cumulative,
        m.count.load(Ordering::Relaxed),
        m.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
    );

    head(
        &mut out,
        "dcmdisc_store_log_total",
        "counter",
        "Store log rows by DIMSE status (0000 is success).",
    );
    for (status, n) in c.counts_by(CountBy::StoreStatus)? {
        let _ = writeln!(
            out,
            "dcmdisc_store_log_total{{status=\"{}\"}} {n}",
            label(&status)
        );
    }

    head(&mut out, "dcmdisc_jobs", "gauge", "Disc jobs by state.");
    for (state, n) in c.counts_by(CountBy::JobState)? {
        let _ = writeln!(out, "dcmdisc_jobs{{state=\"{}\"}} {n}", label(&state));
    }

    head(
        &mut out,
        "dcmdisc_job_seconds",
        "histogram",
        "Time from creation to end of the jobs that ended (done, failed, cancelled).",
    );
    let durations = c.finished_job_seconds()?;
    let cumulative: Vec<u64> = JOB_BUCKETS
        .iter()
        .map(|le| durations.iter().filter(|(_, s)| s <= le).count() as u64)
        .collect();
    let sum: f64 = durations.iter().map(|(_, s)| s).sum();
    histogram(
        &mut out,
        "dcmdisc_job_seconds",
        &JOB_BUCKETS,
        &cumulative,
        durations.len() as u64,
        sum,
    );

    head(
        &mut out,
        "dcmdisc_disc_rejects_total",
        "counter",
        "Discs a burner rejected, by burner.",
    );
    for (burner, n) in c.counts_by(CountBy::RejectsByBurner)? {
        let _ = writeln!(
            out,
            "dcmdisc_disc_rejects_total{{burner=\"{}\"}} {n}",
            label(&burner)
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_cumulative_buckets() {
        let m = StoreCounters::default();
        m.store_took(Duration::from_millis(3));
        m.store_took(Duration::from_millis(300));
        let b: Vec<u64> = m
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(b, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(m.count.load(Ordering::Relaxed), 2);
        assert_eq!(m.sum_micros.load(Ordering::Relaxed), 303_000);
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

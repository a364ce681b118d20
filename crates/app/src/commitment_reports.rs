//! Storage Commitment reports that wait for delivery. A report its association did not
//! deliver (the SCU released first, or refused it there) is kept in the control database
//! (`commitment_report`) before anything else is tried, then sent on a new association to
//! the calling AE's configured host and port by this module's thread; a failed attempt is
//! tried again after a wait that doubles from 1 s up to `[commitment]
//! retry_max_interval_secs`, for `[commitment] retry_for_secs`, then given up with an error
//! in the log and a `given_up` event. A report the peer acknowledged (status 0000) is
//! removed in the same step: it is delivered once. Being in the database, the reports
//! outlive a restart (a crash included): the next `serve` goes on with them.
//!
//! A crash after the peer's acknowledgement and before its removal is committed would send
//! that report again at the next start; PS3.4 J.3.3 lets an SCU receive a report twice
//! (it is matched by its Transaction UID), and the window is one SQLite commit.

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use dcmdisc_archive::{Archive, PendingReport, ReportRef};
use dcmdisc_dicom::datetime::now_millis;
use dcmdisc_net::commitment::Report;
use dcmdisc_net::{AssociationInfo, ServerConfig, SopRef};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::control::{ControlDb, Open};
use crate::error::AppError;
use crate::shutdown::Shutdown;

/// How many due reports one pass takes.
const BATCH: u32 = 32;
/// How often the thread looks at the shutdown token while it waits.
const POLL: Duration = Duration::from_millis(500);

pub(crate) struct Reports {
    db: ControlDb,
    archive: Arc<Archive>,
    server: ServerConfig,
    tls_client: Option<Arc<dcmdisc_net::tls::rustls::ClientConfig>>,
    retry_for_ms: i64,
    max_interval_ms: i64,
    /// Set when a report was added, so the thread tries it at once.
    wake: (Mutex<bool>, Condvar),
}

fn to_refs(r: &Report) -> Vec<ReportRef> {
    let committed = r.committed.iter().map(|s| ReportRef {
        sop_class_uid: s.sop_class_uid.clone(),
        sop_instance_uid: s.sop_instance_uid.clone(),
        failure_reason: None,
    });
    let failed = r.failed.iter().map(|(s, reason)| ReportRef {
        sop_class_uid: s.sop_class_uid.clone(),
        sop_instance_uid: s.sop_instance_uid.clone(),
        failure_reason: Some(*reason),
    });
    committed.chain(failed).collect()
}

fn to_report(p: &PendingReport) -> Report {
    let mut r = Report {
        transaction_uid: p.transaction_uid.clone(),
        committed: Vec::new(),
        failed: Vec::new(),
    };
    for x in &p.refs {
        let sop = SopRef {
            sop_class_uid: x.sop_class_uid.clone(),
            sop_instance_uid: x.sop_instance_uid.clone(),
        };
        match x.failure_reason {
            None => r.committed.push(sop),
            Some(reason) => r.failed.push((sop, reason)),
        }
    }
    r
}

/// The wait after `attempts` failed attempts: 1 s, 2 s, 4 s … up to `max_ms`.
fn backoff_ms(attempts: u32, max_ms: i64) -> i64 {
    1000i64
        .checked_shl(attempts.min(30))
        .unwrap_or(i64::MAX)
        .min(max_ms)
}

impl Reports {
    pub(crate) fn open(
        cfg: &Config,
        archive: Arc<Archive>,
        server: ServerConfig,
        tls_client: Option<Arc<dcmdisc_net::tls::rustls::ClientConfig>>,
    ) -> Result<Reports, AppError> {
        let c = &cfg.commitment;
        Ok(Reports {
            db: ControlDb::open(cfg, Open::CreateIfMissing)?,
            archive,
            server,
            tls_client,
            retry_for_ms: (c.retry_for_secs as i64).saturating_mul(1000),
            max_interval_ms: (c.retry_max_interval_secs as i64).saturating_mul(1000),
            wake: (Mutex::new(false), Condvar::new()),
        })
    }

    /// Keeps the reports an association did not deliver; answers those it could not keep
    /// (the network layer then tries them once itself).
    pub(crate) fn keep(&self, info: &AssociationInfo, reports: Vec<Report>) -> Vec<Report> {
        if reports.is_empty() {
            return reports;
        }
        let now = now_millis();
        let mut left = Vec::new();
        for r in reports {
            let pending = PendingReport {
                id: 0,
                transaction_uid: r.transaction_uid.clone(),
                calling_ae: info.calling_ae.clone(),
                called_ae: info.called_ae.clone(),
                peer: info.peer.to_string(),
                refs: to_refs(&r),
                next_ms: now,
                deadline_ms: now.saturating_add(self.retry_for_ms),
                attempts: 0,
                last_error: "not delivered on its association".into(),
            };
            match self.db.control().add_commitment_report(&pending, now) {
                Ok(id) => info!(assoc = info.id, report = id, transaction_uid = %r.transaction_uid,
                    "storage commitment report kept for delivery on a new association"),
                Err(e) => {
                    error!(assoc = info.id, transaction_uid = %r.transaction_uid, error = %e,
                        "storage commitment report could not be kept; one attempt only");
                    left.push(r);
                }
            }
        }
        let (lock, cv) = &self.wake;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_one();
        left
    }

    /// Delivers the kept reports until `stop` is triggered.
    pub(crate) fn run(&self, stop: &Shutdown) {
        while !stop.is_triggered() {
            let now = now_millis();
            match self.db.control().due_commitment_reports(now, BATCH) {
                Ok(due) => {
                    for p in &due {
                        if stop.is_triggered() {
                            return;
                        }
                        self.attempt(p);
                    }
                    if due.len() == BATCH as usize {
                        continue;
                    }
                }
                Err(e) => error!(error = %e, "storage commitment reports: reading the queue"),
            }
            let next = self.db.control().next_commitment_report().ok().flatten();
            let wait = next.map_or(POLL, |at| {
                Duration::from_millis((at - now_millis()).clamp(0, POLL.as_millis() as i64) as u64)
            });
            let (lock, cv) = &self.wake;
            let woken = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (mut woken, _) = cv
                .wait_timeout_while(woken, wait, |w| !*w)
                .unwrap_or_else(|p| p.into_inner());
            *woken = false;
        }
    }

    fn attempt(&self, p: &PendingReport) {
        let report = to_report(p);
        let outcome = self.send(p, &report);
        let control = self.db.control();
        let saved = match outcome {
            Ok(dest) => {
                info!(report = p.id, transaction_uid = %p.transaction_uid, %dest,
                    attempts = p.attempts + 1, "storage commitment reported on a new association");
                control
                    .commitment_delivered(
                        p.id,
                        &format!(
                            "transaction {} to {} at {dest}",
                            p.transaction_uid, p.calling_ae
                        ),
                    )
                    .map(|_| ())
            }
            Err(why) => {
                let now = now_millis();
                if now >= p.deadline_ms {
                    error!(report = p.id, transaction_uid = %p.transaction_uid,
                        calling_ae = %p.calling_ae, attempts = p.attempts + 1,
                        "storage commitment report given up (its [commitment] retry_for_secs \
                         is over): {why}");
                    control
                        .commitment_given_up(
                            p.id,
                            &format!(
                                "transaction {} to {} after {} attempts: {why}",
                                p.transaction_uid,
                                p.calling_ae,
                                p.attempts + 1
                            ),
                        )
                        .map(|_| ())
                } else {
                    let next = now
                        .saturating_add(backoff_ms(p.attempts, self.max_interval_ms))
                        .min(p.deadline_ms);
                    warn!(report = p.id, transaction_uid = %p.transaction_uid,
                        calling_ae = %p.calling_ae, attempts = p.attempts + 1,
                        retry_in_ms = next - now, "storage commitment report not delivered: {why}");
                    control.commitment_retry(p.id, next, &why)
                }
            }
        };
        if let Err(e) = saved {
            error!(report = p.id, error = %e, "storage commitment reports: recording an attempt");
        }
    }

    /// One attempt: the address and TLS of the calling AE as configured now.
    fn send(&self, p: &PendingReport, report: &Report) -> Result<SocketAddr, String> {
        let peer: SocketAddr = p
            .peer
            .parse()
            .map_err(|e| format!("stored peer address {:?}: {e}", p.peer))?;
        let info = AssociationInfo {
            id: 0,
            calling_ae: p.calling_ae.clone(),
            called_ae: p.called_ae.clone(),
            peer,
        };
        let dest = crate::commitment::destination(&self.archive, &info)?;
        let tls = crate::commitment::tls_target(&self.archive, &info, self.tls_client.as_ref())?;
        let titles = dcmdisc_net::scu::Titles {
            ours: &p.called_ae,
            theirs: &p.calling_ae,
        };
        match dcmdisc_net::scu::send_report(&self.server, dest, &titles, report, tls.as_ref()) {
            Ok(0) => Ok(dest),
            Ok(code) => Err(format!("{dest} refused it with status {code:04X}")),
            Err(e) => Err(format!("{dest}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waits_double_up_to_the_limit() {
        let waits: Vec<i64> = (0..8).map(|n| backoff_ms(n, 30_000)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(backoff_ms(u32::MAX, 60_000), 60_000);
    }

    #[test]
    fn a_report_survives_its_round_trip_through_the_database_form() {
        let sop = |i: &str| SopRef {
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: i.into(),
        };
        let r = Report {
            transaction_uid: "1.2.3".into(),
            committed: vec![sop("1.1"), sop("1.2")],
            failed: vec![(sop("1.3"), 0x0112)],
        };
        let p = PendingReport {
            id: 1,
            transaction_uid: r.transaction_uid.clone(),
            calling_ae: "A".into(),
            called_ae: "B".into(),
            peer: "127.0.0.1:1".into(),
            refs: to_refs(&r),
            next_ms: 0,
            deadline_ms: 0,
            attempts: 0,
            last_error: String::new(),
        };
        assert_eq!(to_report(&p), r);
    }
}

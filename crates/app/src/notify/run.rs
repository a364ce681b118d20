//! The notifier inside `serve`: one thread per target, each with its own database
//! connection and cursor, so a target that is down delays only itself. And `notify test`.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::notice::{build, take, Batch, Facts, JobFacts, Notice, Taken};
use super::send::Sender;
use crate::config::notify::NotifyConfig;
use crate::config::Config;
use crate::control::{ControlDb, Open};
use crate::shutdown::Shutdown;

/// How often an idle target reads the event log.
const POLL: Duration = Duration::from_millis(500);
/// Events read at a time.
const READ: u32 = 1000;
/// Retries wait 1 s, 2 s, 4 s ... up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Jobs and patients from the control database.
struct DbFacts<'a> {
    cfg: &'a Config,
    db: &'a ControlDb,
}

impl Facts for DbFacts<'_> {
    fn job(&self, id: i64) -> Option<JobFacts> {
        let j = crate::jobs::show(self.cfg, self.db, id).ok()?;
        let patient = self
            .db
            .patients()
            .ok()
            .and_then(|ps| ps.into_iter().find(|p| p.id == j.collection));
        Some(JobFacts {
            next_action: j.next_action,
            burner: j.burner,
            patient_name: patient
                .as_ref()
                .map(|p| p.patient_name.clone())
                .unwrap_or_default(),
            patient_id: patient.map(|p| p.patient_id).unwrap_or_default(),
        })
    }
}

/// Sleeps `d`, cut short by `stop`; `false` when stopped.
fn pause(d: Duration, stop: &Shutdown) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.is_triggered() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    !stop.is_triggered()
}

/// Starts one thread per `[[notify]]` target; each runs until `stop`.
pub fn spawn(cfg: &Config, stop: &Shutdown) -> Vec<JoinHandle<()>> {
    cfg.notify
        .iter()
        .filter_map(|t| {
            let (cfg, t2, stop) = (cfg.clone(), t.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("notify-{}", t.name))
                .spawn(move || target_loop(&cfg, &t2, &stop))
                .map_err(|e| warn!(target = %t.name, error = %e, "notifier not started"))
                .ok()
        })
        .collect()
}

fn target_loop(cfg: &Config, t: &NotifyConfig, stop: &Shutdown) {
    let name = t.name.as_str();
    let db = match ControlDb::open(cfg, Open::CreateIfMissing) {
        Ok(db) => db,
        Err(e) => {
            warn!(target = name, error = %crate::error::chain(&e), "notifier not started");
            return;
        }
    };
    // A target new to this database starts at the newest event: it is told what happens
    // from now on, not the history.
    let mut cursor = match db.control().notify_cursor(name) {
        Ok(Some(c)) => c,
        Ok(None) => {
            let latest = db.control().latest_event().unwrap_or(0);
            if let Err(e) = db.control().set_notify_cursor(name, latest) {
                warn!(target = name, error = %e, "notifier not started");
                return;
            }
            latest
        }
        Err(e) => {
            warn!(target = name, error = %e, "notifier not started");
            return;
        }
    };
    let sender = match Sender::new(t) {
        Ok(s) => s,
        Err(e) => {
            warn!(target = name, "notifier not started: {e}");
            let _ = db.control().set_notify_failure(name, &e);
            return;
        }
    };
    info!(target = name, after_event = cursor, "notifier started");
    let facts = DbFacts { cfg, db: &db };
    let window = Duration::from_secs(t.coalesce_secs);
    let mut backoff = Duration::from_secs(1);
    // The first refused store of an open group, and when this run first saw it.
    let mut open: Option<(i64, Instant)> = None;
    while !stop.is_triggered() {
        let read = match db.control().events_after(cursor, READ) {
            Ok(r) => r,
            Err(e) => {
                warn!(target = name, error = %e, "notifier cannot read the event log");
                if !pause(backoff, stop) {
                    return;
                }
                continue;
            }
        };
        let batch: Batch = match take(&read, &t.events) {
            Taken::Nothing { through } => {
                if let Some(through) = through {
                    if db.control().set_notify_cursor(name, through).is_ok() {
                        cursor = through;
                    }
                }
                if read.len() < READ as usize && !pause(POLL, stop) {
                    return;
                }
                continue;
            }
            Taken::One(b) => b,
            Taken::StoreOpen(b) => {
                let first = b.events.first().map(|e| e.id).unwrap_or_default();
                let since = match open {
                    Some((id, at)) if id == first => at,
                    _ => {
                        let now = Instant::now();
                        open = Some((first, now));
                        now
                    }
                };
                if since.elapsed() < window {
                    if !pause(POLL, stop) {
                        return;
                    }
                    continue;
                }
                b
            }
        };
        let Some(notice) = build(&batch, &facts, t.include_patient) else {
            cursor = batch.through;
            continue;
        };
        match sender.send(&notice) {
            Ok(answer) => {
                info!(target = name, id = %notice.id, kind = %notice.kind, count = notice.count,
                    "notice sent: {answer}");
                match db.control().set_notify_cursor(name, batch.through) {
                    Ok(()) => cursor = batch.through,
                    Err(e) => warn!(target = name, error = %e, "notice cursor not saved"),
                }
                open = None;
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                warn!(target = name, id = %notice.id, retry_in_secs = backoff.as_secs(),
                    "notice not delivered: {e}");
                let _ = db.control().set_notify_failure(name, &e);
                if !pause(backoff, stop) {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// What `notify test` did for one target.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub name: String,
    pub kind: String,
    /// The other side's answer, or why it failed.
    pub result: Result<String, String>,
}

/// Sends a test notice to every target, one after the other.
pub fn send_test(cfg: &Config) -> Vec<TestOutcome> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let time = dcmdisc_archive::db::now_rfc3339();
    cfg.notify
        .iter()
        .map(|t| {
            let n = Notice {
                id: format!("dcmdisc-test-{ms}"),
                event_id: 0,
                last_event_id: 0,
                kind: "test".into(),
                time: time.clone(),
                summary: format!("Test notice from dcmdisc to target {}.", t.name),
                action: "nothing: this notice only checks that notices arrive".into(),
                count: 1,
                job: None,
                burner: None,
                patient: None,
            };
            let result = Sender::new(t).and_then(|s| s.send(&n));
            TestOutcome {
                name: t.name.clone(),
                kind: format!("{:?}", t.kind).to_lowercase(),
                result,
            }
        })
        .collect()
}

/// A target's state for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStatus {
    pub name: String,
    pub failing: bool,
    pub last_error: String,
    pub updated: String,
}

/// The configured targets whose last attempt failed (the dashboard's alerts).
pub fn status(cfg: &Config, db: &ControlDb) -> Vec<TargetStatus> {
    let rows = db.control().notify_targets().unwrap_or_default();
    rows.into_iter()
        .filter(|r| cfg.notify.iter().any(|t| t.name == r.name))
        .map(|r| TargetStatus {
            name: r.name,
            failing: r.failing,
            last_error: r.last_error,
            updated: r.updated,
        })
        .collect()
}

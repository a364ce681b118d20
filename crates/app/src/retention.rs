//! Retention of the temporary store (issue 10, item 6): which collections a pass removes and
//! why every other one is kept, the pass itself (`dcmdisc retention [--dry-run]`, and the
//! sweeper inside `serve`), pinning.
//!
//! The safety rule is the archive's guard (crates/archive/src/retention.rs), checked again in
//! the transaction that marks a removal: never a pinned collection, never one with a job that
//! is not final, never one without a `done` job whose composing started after its last
//! arrival (so every instance is on a verified disc). This file adds the policy on top:
//! `[retention] keep_forever` (the default: nothing is removed), `keep_hours` after the
//! covering job's last verified disc, and the high-water mark of the file system holding
//! `data_dir`, from which the oldest done collections go first. Collections never burned are
//! kept, and at the high-water mark the report carries an alert (the sweeper logs it at warn).

use std::path::Path;
use std::time::Duration;

use dcmdisc_archive::retention::{guard, rfc3339_millis};
use dcmdisc_archive::{CollectionFacts, Removal};
use serde::Serialize;
use tracing::{info, warn};

use crate::config::retention::RetentionSection;
use crate::config::Config;
use crate::control::{ControlDb, Open};
use crate::error::AppError;
use crate::jobs::JobState;
use crate::shutdown::Shutdown;

/// The file system holding the data folder: bytes in all and in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    pub total: u64,
    pub used: u64,
}

impl DiskUsage {
    /// Measured with statvfs; `used` counts what unprivileged writers cannot have (as df).
    pub fn of(path: &Path) -> std::io::Result<DiskUsage> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c` is a NUL-terminated path and `st` a buffer of the size statvfs writes.
        let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: statvfs returned 0, so it filled the struct.
        let st = unsafe { st.assume_init() };
        // The field types differ between platforms (u32 on some 32-bit ones).
        #[allow(clippy::unnecessary_cast)]
        let (frsize, blocks, free, avail) = (
            st.f_frsize as u64,
            st.f_blocks as u64,
            st.f_bfree as u64,
            st.f_bavail as u64,
        );
        let used = blocks.saturating_sub(free) * frsize;
        let avail = avail * frsize;
        Ok(DiskUsage {
            total: used + avail,
            used,
        })
    }

    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.used as f64 / self.total as f64
        }
    }
}

/// What a pass does with one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Remove,
    Keep,
}

/// One collection's decision, with the reason in words.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decision {
    pub collection: i64,
    pub patient_name: String,
    pub patient_id: String,
    pub instances: u64,
    pub bytes: u64,
    pub pinned: bool,
    pub action: Action,
    pub reason: String,
    /// The done job whose discs hold the whole collection, and when its last one was verified.
    pub done_job: Option<i64>,
    pub done_at: Option<String>,
    /// No job of it is done: the operator is alerted at the high-water mark.
    pub never_burned: bool,
    /// After a pass that was not a dry run: `removed`, or why the removal did not happen.
    pub outcome: Option<String>,
}

/// One pass: the decisions, the disk, and the alert.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub time: String,
    pub dry_run: bool,
    pub keep_forever: bool,
    pub keep_hours: u64,
    pub high_water_percent: u64,
    pub disk: Option<DiskUsage>,
    pub disk_percent: Option<f64>,
    /// The disk is at or above the high-water mark (before this pass's removals).
    pub above_high_water: bool,
    /// For the operator, when the high-water mark is reached and removals cannot bring the
    /// disk below it (collections never burned, pinned or not yet on a verified disc).
    pub alert: Option<String>,
    /// Removals a crash had interrupted, finished by this pass.
    pub interrupted_finished: usize,
    pub decisions: Vec<Decision>,
}

fn finals() -> Vec<&'static str> {
    JobState::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .map(JobState::name)
        .collect()
}

/// The decisions for `facts` at `now_ms` (ms since 1970), with the disk as measured: the
/// whole policy, as a function of given numbers.
pub fn plan(
    cfg: &RetentionSection,
    facts: &[CollectionFacts],
    now_ms: i64,
    disk: Option<DiskUsage>,
) -> (Vec<Decision>, bool, Option<String>) {
    let keep_ms = cfg.keep_hours.saturating_mul(3_600_000) as i64;
    // Collections the guard lets go and the policy still keeps (their keep time runs): the
    // high-water mark may take them, oldest done first.
    let mut waiting = Vec::new();
    let mut out: Vec<Decision> = facts
        .iter()
        .map(|f| {
            let (done_job, done_at) = match &f.covering_job {
                Some((id, at)) => (Some(*id), Some(at.clone())),
                None => (None, None),
            };
            let mut d = Decision {
                collection: f.collection,
                patient_name: f.patient_name.clone(),
                patient_id: f.patient_id.clone(),
                instances: f.instances,
                bytes: f.bytes,
                pinned: f.pinned,
                action: Action::Keep,
                reason: String::new(),
                done_job,
                done_at,
                never_burned: f.last_done_job.is_none() && f.unfinished_job.is_none(),
                outcome: None,
            };
            if let Some(why) = guard(f) {
                d.reason = why;
                return d;
            }
            let (job, at) = (
                d.done_job.unwrap_or(0),
                d.done_at.clone().unwrap_or_default(),
            );
            if cfg.keep_forever {
                d.reason = format!(
                    "on verified discs (job {job}, {at}); kept forever ([retention] keep_forever)"
                );
                return d;
            }
            let until = rfc3339_millis(&at).map(|t| t.saturating_add(keep_ms));
            match until {
                Some(u) if now_ms >= u => {
                    d.action = Action::Remove;
                    d.reason = format!("kept {} h after job {job} was done ({at})", cfg.keep_hours);
                }
                _ => {
                    waiting.push(d.collection);
                    d.reason = format!(
                        "kept until {} h after job {job} was done ({at})",
                        cfg.keep_hours
                    );
                }
            }
            d
        })
        .collect();
    let Some(disk) = disk else {
        return (out, false, None);
    };
    let hw = cfg.high_water_percent as f64;
    let above = disk.percent() >= hw;
    if !above {
        return (out, false, None);
    }
    // Above the mark: the oldest done collections first, until the disk would be below it.
    let limit = (disk.total as f64 * hw / 100.0) as u64;
    let mut used = disk.used.saturating_sub(
        out.iter()
            .filter(|d| d.action == Action::Remove)
            .map(|d| d.bytes)
            .sum(),
    );
    if !cfg.keep_forever {
        let mut candidates: Vec<(i64, usize)> = out
            .iter()
            .enumerate()
            .filter(|(_, d)| waiting.contains(&d.collection))
            .map(|(i, d)| {
                let at = d.done_at.as_deref().and_then(rfc3339_millis).unwrap_or(0);
                (at, i)
            })
            .collect();
        candidates.sort();
        for (_, i) in candidates {
            if used < limit {
                break;
            }
            let d = &mut out[i];
            d.action = Action::Remove;
            d.reason = format!(
                "disk {:.0}% full, at or above the high-water mark ({}%): the oldest done \
                 collections go first (job {} done {})",
                disk.percent(),
                cfg.high_water_percent,
                d.done_job.unwrap_or(0),
                d.done_at.as_deref().unwrap_or("")
            );
            used = used.saturating_sub(d.bytes);
        }
    }
    let alert = (used >= limit).then(|| {
        let never: Vec<String> = out
            .iter()
            .filter(|d| d.never_burned)
            .map(|d| d.collection.to_string())
            .collect();
        let kept = out.iter().filter(|d| d.action == Action::Keep).count();
        format!(
            "disk {:.0}% full, at or above the high-water mark ({}%), and retention cannot \
             bring it below: {kept} collection(s) kept{}{}",
            disk.percent(),
            cfg.high_water_percent,
            if never.is_empty() {
                String::new()
            } else {
                format!(", never burned: {}", never.join(", "))
            },
            if cfg.keep_forever {
                " ([retention] keep_forever = true removes nothing)"
            } else {
                ""
            }
        )
    });
    (out, above, alert)
}

/// One pass: finishes interrupted removals, decides, and (unless `dry_run`) removes.
pub fn pass(cfg: &Config, db: &ControlDb, dry_run: bool) -> Result<Report, AppError> {
    let control = db.control();
    let interrupted_finished = if dry_run {
        0
    } else {
        control.finish_removals()?
    };
    let finals = finals();
    let facts = control.retention_facts(None, &finals)?;
    let now = dcmdisc_archive::db::now_rfc3339();
    let now_ms = rfc3339_millis(&now).unwrap_or(0);
    let disk = match DiskUsage::of(&cfg.archive.data_dir) {
        Ok(d) => Some(d),
        Err(e) => {
            warn!(error = %e, data_dir = %cfg.archive.data_dir.display(),
                "cannot measure the disk use; the high-water mark is not checked");
            None
        }
    };
    let r = &cfg.retention;
    let (mut decisions, above, alert) = plan(r, &facts, now_ms, disk);
    if !dry_run {
        let jobs = control.jobs()?;
        for d in decisions.iter_mut().filter(|d| d.action == Action::Remove) {
            let dirs: Vec<String> = jobs
                .iter()
                .filter(|j| j.collection == d.collection)
                .map(|j| crate::jobs::job_dir_rel(j.id))
                .collect();
            let got =
                control.remove_collection(d.collection, &finals, &dirs, &d.reason, &mut |_| {
                    std::ops::ControlFlow::Continue(())
                });
            d.outcome = Some(match got {
                Ok(Removal::Removed { .. }) => "removed".into(),
                Ok(Removal::Refused(why)) => format!("kept after all: {why}"),
                Ok(Removal::Stopped(_)) => "stopped".into(),
                Err(e) => {
                    warn!(collection = d.collection, error = %e, "retention could not remove");
                    format!("failed: {e}")
                }
            });
        }
    }
    Ok(Report {
        time: now,
        dry_run,
        keep_forever: r.keep_forever,
        keep_hours: r.keep_hours,
        high_water_percent: r.high_water_percent,
        disk,
        disk_percent: disk.map(|d| (d.percent() * 10.0).round() / 10.0),
        above_high_water: above,
        alert,
        interrupted_finished,
        decisions,
    })
}

/// Pins (or unpins) a collection: a pinned one is kept whatever the rules say.
pub fn pin(db: &ControlDb, collection: i64, pinned: bool) -> Result<(), AppError> {
    if db.control().set_pinned(collection, pinned)? {
        Ok(())
    } else {
        Err(AppError::NoSuchCollection(collection))
    }
}

/// Writes a `disk` event when the disk crossed the high-water mark (`high_water`) or went
/// below it again (`normal`), judged against the newest `disk` event, so a restart does not
/// announce the same crossing twice. The notifier tells of `high_water`.
fn disk_event(db: &ControlDb, report: &Report) {
    let Some(percent) = report.disk_percent else {
        return;
    };
    let state = if report.above_high_water {
        "high_water"
    } else {
        "normal"
    };
    let last = db
        .control()
        .latest_event_of_kind(dcmdisc_archive::events::DISK);
    let was = match &last {
        Ok(Some(e)) => e.state.as_str(),
        Ok(None) => "normal",
        Err(e) => {
            warn!(error = %e, "cannot read the disk events");
            return;
        }
    };
    if was == state {
        return;
    }
    let reason = match &report.alert {
        Some(a) => a.clone(),
        None => format!(
            "disk {percent:.0}% full, high-water mark {}%",
            report.high_water_percent
        ),
    };
    if let Err(e) = db.control().append_event(
        dcmdisc_archive::events::DISK,
        None,
        None,
        state,
        Some(&reason),
    ) {
        warn!(error = %e, "the disk event was not written");
    }
}

/// The sweeper inside `serve`: a pass every `[retention] interval_secs` until `shutdown`.
pub fn sweep(cfg: &Config, shutdown: &Shutdown) {
    let db = match ControlDb::open(cfg, Open::CreateIfMissing) {
        Ok(db) => db,
        Err(e) => {
            warn!(error = %crate::error::chain(&e), "retention sweeper not started");
            return;
        }
    };
    let interval = Duration::from_secs(cfg.retention.interval_secs);
    while !shutdown.is_triggered() {
        match pass(cfg, &db, false) {
            Ok(report) => {
                let removed = report
                    .decisions
                    .iter()
                    .filter(|d| d.outcome.as_deref() == Some("removed"))
                    .count();
                if removed > 0 {
                    info!(removed, "retention pass");
                }
                if let Some(alert) = &report.alert {
                    warn!("retention: {alert}");
                }
                disk_event(&db, &report);
            }
            Err(e) => warn!(error = %crate::error::chain(&e), "retention pass failed"),
        }
        let until = std::time::Instant::now() + interval;
        while std::time::Instant::now() < until && !shutdown.is_triggered() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests;

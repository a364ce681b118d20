//! Disc jobs: one patient collection's volumes × copies, queued in the control database and
//! made by the worker (`worker.rs`): composing, imaging and validating (the export operation
//! into the job's own folder), then for each volume and copy burning and verifying with a
//! burner, then `done`. Every state is committed before it is acted on; after a crash a job
//! restarts from the start of the phase it was in (`worker.rs` says what that keeps).
//!
//! This file: the states, priorities, and the operator's operations (create, list, show,
//! cancel, retry, the burners' listing) over the control database.

mod burner_ops;
mod copy;
pub mod eta;
pub mod trigger;
mod worker;

use std::path::{Path, PathBuf};

use serde::Serialize;

use dcmdisc_archive::{DiscRow, JobRow, NewJob};
use dcmdisc_dicom::datetime::{now_millis, rfc3339_from_millis};

use crate::config::jobs::BurnerKind;
use crate::config::{Config, Profile};
use crate::control::ControlDb;
use crate::error::AppError;

pub use burner_ops::{pause_burner, resume_burner};
pub use copy::{copy, JobCopy};
pub use worker::Worker;

/// A job's states. `failed` carries a reason and the next action; `done`, `failed` and
/// `cancelled` are final (a failed one can be retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Made by a rule: waits for its quiet period (or its association's release).
    Waiting,
    Queued,
    Composing,
    Imaging,
    Validating,
    Burning,
    Verifying,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 10] = [
        JobState::Waiting,
        JobState::Queued,
        JobState::Composing,
        JobState::Imaging,
        JobState::Validating,
        JobState::Burning,
        JobState::Verifying,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobState::Waiting => "waiting",
            JobState::Queued => "queued",
            JobState::Composing => "composing",
            JobState::Imaging => "imaging",
            JobState::Validating => "validating",
            JobState::Burning => "burning",
            JobState::Verifying => "verifying",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.name() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }

    /// The names of the states that are not final (waiting included).
    pub fn active_names() -> Vec<&'static str> {
        JobState::ALL
            .into_iter()
            .filter(|s| !s.is_final())
            .map(JobState::name)
            .collect()
    }

    /// The names of the states a worker takes a job in: not final, not waiting.
    pub fn runnable_names() -> Vec<&'static str> {
        JobState::ALL
            .into_iter()
            .filter(|s| !s.is_final() && *s != JobState::Waiting)
            .map(JobState::name)
            .collect()
    }
}

/// The order the worker takes queued jobs in (then oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub fn name(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Priority, String> {
        match s {
            "high" => Ok(Priority::High),
            "normal" => Ok(Priority::Normal),
            "low" => Ok(Priority::Low),
            _ => Err(format!("{s:?}: one of high, normal, low")),
        }
    }
}

/// What `dcmdisc job create` asks for.
#[derive(Debug, Clone, Default)]
pub struct JobRequest {
    pub collection: i64,
    pub copies: u32,
    pub profile: Option<Profile>,
    pub burner: Option<String>,
    pub priority: Priority,
    pub capacity_mb: Option<u64>,
}

/// One disc of a job, as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DiscView {
    pub burner: String,
    pub volume: u32,
    pub copy: u32,
    /// `burned`, `rejected`, or `burning` while it is in the burner.
    pub outcome: String,
    pub reason: String,
    pub sha256: String,
    /// Where the disc's bytes landed (folder and simulator burners).
    pub image: String,
    pub time: String,
}

/// A job as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: i64,
    pub collection: i64,
    pub state: String,
    pub priority: String,
    /// 0 to 1: composing to validating is the first half, the copies burned the second.
    pub progress: f64,
    pub stage: String,
    pub items: crate::Count,
    pub bytes: crate::Count,
    pub copies: u32,
    pub volumes: u32,
    /// Copies burned and verified (volume × copy).
    pub burned: u32,
    pub profile: Option<String>,
    pub burner: String,
    pub capacity_mb: Option<u64>,
    /// Why it failed, in plain words.
    pub error: Option<String>,
    /// What the operator can do about it.
    pub next_action: Option<String>,
    pub created: String,
    pub updated: String,
    /// Seconds until done, estimated (see `eta.rs`); `None` when unknown.
    pub eta_secs: Option<u64>,
    pub discs: Vec<DiscView>,
    /// Made by a rule: `quiet` or `release` (how it leaves `waiting`); `None`: manual.
    pub start: Option<String>,
    /// The rule that made it (1-based, in the config's order).
    pub rule: Option<u32>,
    /// Waiting: when it starts (RFC 3339 UTC); `None` while it waits for a release.
    pub starts_at: Option<String>,
    /// Waiting: seconds until it starts (0 when due).
    pub starts_in_secs: Option<f64>,
    /// A follow-up job holding the instances that arrived after this job's burning started.
    pub supplement_of: Option<i64>,
    /// How often late arrivals sent it back to composing.
    pub replans: u32,
}

impl JobView {
    /// What makes this job different, in plain words: a supplement, a countdown, a re-plan
    /// (empty for an ordinary manual job).
    pub fn note(&self) -> String {
        let mut parts = Vec::new();
        if let Some(of) = self.supplement_of {
            parts.push(format!("supplement of job {of}"));
        }
        if self.state == JobState::Waiting.name() {
            parts.push(match self.starts_in_secs {
                Some(s) => format!("starts in {}s", s.ceil()),
                None => "starts at the sender's release".to_string(),
            });
        }
        if let Some(r) = self.rule {
            parts.push(format!("rule {r}"));
        }
        if self.replans > 0 {
            parts.push(format!("re-planned {}x for late arrivals", self.replans));
        }
        parts.join(", ")
    }
}

/// A burner as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct BurnerView {
    pub name: String,
    pub kind: BurnerKind,
    /// `ready`, or `paused` (by `dcmdisc burner pause`, or after three rejects in a row):
    /// it takes no disc until `dcmdisc burner resume`.
    pub state: String,
    /// Why it is paused (empty when ready).
    pub reason: String,
    /// Rejects since its last burned disc (three pause it).
    pub rejects_in_a_row: u32,
    /// Drive: its device; command: its program.
    pub device: Option<String>,
    pub dir: PathBuf,
    /// Simulator: its stack, with what became of each disc taken.
    pub discs: Vec<SimDiscView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimDiscView {
    pub disc: String,
    /// `unused` for one not taken yet.
    pub outcome: String,
    pub label: String,
}

fn view(cfg: &Config, job: JobRow, discs: Vec<DiscRow>) -> JobView {
    let burned = discs.iter().filter(|d| d.outcome == "burned").count() as u32;
    let state = JobState::parse(&job.state);
    let waiting = state == Some(JobState::Waiting);
    let wanted = (job.volumes * job.copies).max(1) as f64;
    let phase = |done: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).min(1.0)
        }
    };
    let progress = match state {
        Some(JobState::Done) => 1.0,
        Some(JobState::Waiting) | Some(JobState::Queued) | None => 0.0,
        Some(JobState::Composing) | Some(JobState::Imaging) | Some(JobState::Validating) => {
            0.5 * phase(job.items_done, job.items_total)
        }
        _ if job.volumes == 0 => 0.0,
        _ => 0.5 + 0.5 * (burned as f64 / wanted).min(1.0),
    };
    JobView {
        id: job.id,
        collection: job.collection,
        state: job.state,
        priority: job.priority,
        progress,
        stage: job.stage,
        items: crate::Count::new(job.items_done, job.items_total),
        bytes: crate::Count::new(job.bytes_done, job.bytes_total),
        copies: job.copies,
        volumes: job.volumes,
        burned,
        profile: job.profile,
        burner: job.burner.unwrap_or_else(|| default_burner(cfg)),
        capacity_mb: job.capacity_mb,
        error: job.error,
        next_action: job.next_action,
        created: job.created,
        updated: job.updated,
        eta_secs: None,
        start: job.start_mode.clone(),
        rule: job.rule,
        starts_at: waiting
            .then_some(job.starts_at_ms)
            .flatten()
            .map(rfc3339_from_millis),
        starts_in_secs: waiting
            .then_some(job.starts_at_ms)
            .flatten()
            .map(|at| ((at - now_millis()).max(0) as f64 / 1000.0 * 10.0).round() / 10.0),
        supplement_of: job.supplement_of,
        replans: job.replans,
        discs: discs
            .into_iter()
            .map(|d| DiscView {
                burner: d.burner,
                volume: d.volume,
                copy: d.copy,
                outcome: d.outcome,
                reason: d.reason,
                sha256: d.sha256,
                image: d.image,
                time: d.time,
            })
            .collect(),
    }
}

fn default_burner(cfg: &Config) -> String {
    cfg.burners()
        .first()
        .map(|b| b.name.clone())
        .unwrap_or_default()
}

/// Queues a job; answers its id.
pub fn create(cfg: &Config, db: &ControlDb, req: &JobRequest) -> Result<i64, AppError> {
    if !(1..=99).contains(&req.copies) {
        return Err(AppError::Copies);
    }
    if req.capacity_mb == Some(0) {
        return Err(AppError::ZeroCapacity);
    }
    if let Some(b) = &req.burner {
        if !cfg.burners().iter().any(|c| &c.name == b) {
            return Err(AppError::NoSuchBurner(b.clone()));
        }
    }
    if !db.patients()?.iter().any(|p| p.id == req.collection) {
        return Err(AppError::NoSuchCollection(req.collection));
    }
    Ok(db.control().create_job(&NewJob {
        collection: req.collection,
        priority: req.priority.name().to_string(),
        copies: req.copies,
        profile: req.profile.map(|p| p.name().to_string()),
        burner: req.burner.clone(),
        capacity_mb: req.capacity_mb,
    })?)
}

pub fn show(cfg: &Config, db: &ControlDb, id: i64) -> Result<JobView, AppError> {
    let job = db.control().job(id)?.ok_or(AppError::NoSuchJob(id))?;
    let discs = db.control().discs(id)?;
    let eta = job_eta(cfg, db, &job, &discs, &mut None)?;
    let mut v = view(cfg, job, discs);
    v.eta_secs = eta;
    Ok(v)
}

pub fn list(cfg: &Config, db: &ControlDb) -> Result<Vec<JobView>, AppError> {
    let mut out = Vec::new();
    let mut sizes = None;
    let jobs = db.control().jobs()?;
    // After the jobs: a job created in between has no discs yet, which is what it has.
    let mut discs_of = db.control().discs_by_job()?;
    for job in jobs {
        let discs = discs_of.remove(&job.id).unwrap_or_default();
        let eta = job_eta(cfg, db, &job, &discs, &mut sizes)?;
        let mut v = view(cfg, job, discs);
        v.eta_secs = eta;
        out.push(v);
    }
    Ok(out)
}

/// The job's ETA now; `sizes` caches the collections' sizes (read once, when a composing job
/// needs them).
fn job_eta(
    cfg: &Config,
    db: &ControlDb,
    job: &JobRow,
    discs: &[DiscRow],
    sizes: &mut Option<Vec<(i64, u64)>>,
) -> Result<Option<u64>, AppError> {
    let composing = matches!(
        JobState::parse(&job.state),
        Some(JobState::Composing | JobState::Imaging | JobState::Validating)
    );
    let bytes = if composing {
        if sizes.is_none() {
            *sizes = Some(db.patients()?.iter().map(|p| (p.id, p.bytes)).collect());
        }
        sizes
            .as_ref()
            .and_then(|s| s.iter().find(|(id, _)| *id == job.collection))
            .map_or(0, |(_, b)| *b)
    } else {
        0
    };
    let now = dcmdisc_archive::retention::rfc3339_millis(&dcmdisc_archive::db::now_rfc3339())
        .unwrap_or(0);
    Ok(eta::eta_secs(&eta::input(cfg, job, discs, bytes, now)))
}

/// The jobs a worker still has work in (not done, failed or cancelled), in the order it
/// takes them.
pub fn active(cfg: &Config, db: &ControlDb) -> Result<Vec<JobView>, AppError> {
    let mut out = Vec::new();
    for job in db.control().jobs_in(&JobState::active_names())? {
        let discs = db.control().discs(job.id)?;
        out.push(view(cfg, job, discs));
    }
    Ok(out)
}

/// Cancels a job that is not final; the worker stops it before its next step.
pub fn cancel(db: &ControlDb, id: i64) -> Result<(), AppError> {
    let job = db.control().job(id)?.ok_or(AppError::NoSuchJob(id))?;
    let active = JobState::active_names();
    if !db
        .control()
        .set_job_state(id, &active, "cancelled", None, None)?
    {
        return Err(AppError::JobState {
            id,
            state: job.state,
            action: "only a job that is not done, failed or cancelled can be cancelled",
        });
    }
    Ok(())
}

/// Changes the priority of a job that is not final (the worker takes high before normal
/// before low, then the oldest).
pub fn set_priority(db: &ControlDb, id: i64, priority: Priority) -> Result<(), AppError> {
    let job = db.control().job(id)?.ok_or(AppError::NoSuchJob(id))?;
    let active = JobState::active_names();
    if !db
        .control()
        .set_job_priority(id, &active, priority.name())?
    {
        return Err(AppError::JobState {
            id,
            state: job.state,
            action: "only a job that is not done, failed or cancelled can change its priority",
        });
    }
    Ok(())
}

/// Queues a failed job again. It restarts from the start of the phase it failed in: copies
/// already burned are kept.
pub fn retry(db: &ControlDb, id: i64) -> Result<(), AppError> {
    let job = db.control().job(id)?.ok_or(AppError::NoSuchJob(id))?;
    // Its collection removed by retention since, the id may now be another patient's.
    if let Some(when) = db.control().removed_since(job.collection, &job.created)? {
        return Err(AppError::CollectionRemoved {
            job: id,
            collection: job.collection,
            when,
            detail: String::new(),
        });
    }
    if !db
        .control()
        .set_job_state(id, &["failed"], "queued", None, None)?
    {
        return Err(AppError::JobState {
            id,
            state: job.state,
            action: "only a failed job can be retried",
        });
    }
    Ok(())
}

/// The configured burners and their state.
pub fn burners(cfg: &Config, db: &ControlDb) -> Result<Vec<BurnerView>, AppError> {
    let mut out = Vec::new();
    for b in cfg.burners() {
        let outcomes = db.control().burner_outcomes(&b.name)?;
        let st = db.control().burner_state(&b.name)?;
        let dir = b.dir(&cfg.archive.data_dir);
        let discs = b
            .discs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let label = std::fs::read_to_string(dir.join(format!("disc{:04}.label", i + 1)))
                    .map(|s| s.trim_end().to_string())
                    .unwrap_or_default();
                SimDiscView {
                    disc: serde_plain(d),
                    outcome: outcomes
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| "unused".to_string()),
                    label,
                }
            })
            .collect();
        out.push(BurnerView {
            name: b.name.clone(),
            kind: b.kind,
            state: if st.paused { "paused" } else { "ready" }.to_string(),
            reason: st.reason,
            rejects_in_a_row: st.rejects_in_a_row,
            device: match b.kind {
                BurnerKind::Drive => b.device.clone(),
                BurnerKind::Command => b.argv.first().cloned(),
                _ => None,
            },
            dir,
            discs,
        });
    }
    Ok(out)
}

fn serde_plain(d: &crate::config::jobs::SimDisc) -> String {
    use crate::config::jobs::SimDisc;
    match d {
        SimDisc::Blank => "blank",
        SimDisc::Written => "written",
        SimDisc::Faulty => "faulty",
        SimDisc::BadVerify => "bad-verify",
    }
    .to_string()
}

/// The job's own folder: its images and their manifest.
pub(crate) fn job_dir(data_dir: &Path, id: i64) -> PathBuf {
    data_dir.join(job_dir_rel(id))
}

/// The job's folder relative to the data folder (retention removes it with the collection).
pub(crate) fn job_dir_rel(id: i64) -> String {
    format!("jobs/job{id}")
}

#[cfg(test)]
mod tests;

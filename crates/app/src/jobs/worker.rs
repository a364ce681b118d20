//! The job worker: takes the next job (priority high, normal, low, then the oldest), runs it
//! to a final state, and again.
//!
//! Restart safety. Each state is committed before the work it names starts. At start, a disc
//! left `burning` by a crash is recorded as rejected, reason "interrupted" (its bytes are
//! suspect), and a job in `composing`, `imaging` or `validating` is composed again from an
//! empty job folder; one in `burning` or `verifying` keeps its validated images (their
//! SHA-256 in the job folder's `volumes.tsv`, written before the state became `burning`) and
//! burns only the (volume, copy) pairs that have no `burned` disc yet: nothing is done twice.
//!
//! A paused burner (the operator's `burner pause`, or three rejects in a row) takes no disc:
//! the job that reaches it waits in `burning` with a note in its next action, and is not
//! taken again until the burner is resumed (a job without a burner of its own goes to the
//! first configured burner that is not paused).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dcmdisc_archive::JobRow;
use tracing::{error, info, warn};

use super::{job_dir, JobState};
use crate::burners::{self, BurnError, Burner, DiscId};
use crate::config::jobs::BurnerConfig;
use crate::config::{Config, FilesetIdPattern, Profile};
use crate::control::{ControlDb, Open};
use crate::error::AppError;
use crate::export::{export_instances, ExportOptions};
use crate::progress::{Progress, Stage};
use crate::shutdown::Shutdown;

/// Rejects in a row that pause a burner and hold its job.
pub const MAX_REJECTS_IN_A_ROW: u32 = 3;

/// One validated image of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Volume {
    pub(super) number: u32,
    pub(super) image: PathBuf,
    pub(super) sha256: String,
}

pub struct Worker {
    cfg: Config,
    db: ControlDb,
    burners: HashMap<String, Box<dyn Burner>>,
    /// Tests: called as composing enters each state, and with `Burning` just before the move
    /// to burning (a late arrival can be staged there).
    #[cfg(test)]
    pub(crate) on_compose_state: Option<Box<dyn Fn(i64, JobState) + Send>>,
}

fn state_of(job: &JobRow) -> JobState {
    JobState::parse(&job.state).unwrap_or(JobState::Failed)
}

/// How one composing attempt ended.
enum Composed {
    Done(Result<Vec<Volume>, Halt>),
    /// A late arrival re-planned the job: compose again from the start.
    Replanned,
}

/// How a phase ended, when not by completing.
enum Halt {
    /// Shutdown: the state stays as it is, the next start resumes it.
    Stopped,
    /// Its burner is paused: the state stays as it is until the burner is resumed.
    Held,
    /// Cancelled by the operator, or failed with its reason recorded.
    Ended,
}

impl Worker {
    /// Opens the control database (creating it when missing) and records what a crash left
    /// (interrupted discs).
    pub fn open(cfg: &Config) -> Result<Worker, AppError> {
        let db = ControlDb::open(cfg, Open::CreateIfMissing)?;
        // The burners mark those discs first (labels read REJECT, partial copies go), then
        // the records: a crash in between marks them again at the next start.
        for (d, position) in db.control().burning_discs()? {
            if let Some(bcfg) = cfg.burners().into_iter().find(|b| b.name == d.burner) {
                let disc = DiscId {
                    job: d.job,
                    volume: d.volume,
                    copy: d.copy,
                };
                burners::open(&bcfg, &cfg.archive.data_dir, position).interrupted(&disc, position);
            }
        }
        let n = db.control().reject_interrupted("interrupted")?;
        if n > 0 {
            warn!(
                discs = n,
                "discs being burned when dcmdisc stopped are rejected (interrupted)"
            );
        }
        Ok(Worker {
            cfg: cfg.clone(),
            db,
            burners: HashMap::new(),
            #[cfg(test)]
            on_compose_state: None,
        })
    }

    /// Runs jobs until `shutdown`; an idle worker looks again every poll interval.
    pub fn run(mut self, shutdown: &Shutdown) {
        let poll = Duration::from_millis(self.cfg.jobs.poll_interval_ms);
        while !shutdown.is_triggered() {
            match self.run_next(shutdown) {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => error!(error = %crate::error::chain(&e), "job worker"),
            }
            // A commit by another connection (the CLI's `job create`, a store) ends the wait
            // early, so a job queued from outside starts within 20 ms, not a poll interval.
            let seen = self.db.control().data_version().ok();
            let until = Instant::now() + poll;
            while Instant::now() < until && !shutdown.is_triggered() {
                std::thread::sleep(Duration::from_millis(20).min(poll));
                if seen.is_some() && self.db.control().data_version().ok() != seen {
                    break;
                }
            }
        }
    }

    /// Runs the next job (one still active: queued, or interrupted by a stop) until it is
    /// final or `shutdown` stops it; answers its id, `None` when there is none.
    pub fn run_next(&mut self, shutdown: &Shutdown) -> Result<Option<i64>, AppError> {
        // Waiting jobs whose quiet period has passed (trigger.rs) are queued first.
        let due = self
            .db
            .control()
            .queue_due(dcmdisc_dicom::datetime::now_millis())?;
        if due > 0 {
            info!(jobs = due, "waiting jobs are due: queued");
        }
        let runnable = JobState::runnable_names();
        let jobs = self.db.control().jobs_in(&runnable)?;
        let Some(job) = jobs.into_iter().find(|j| !self.held(j)) else {
            return Ok(None);
        };
        let id = job.id;
        info!(job = id, state = %job.state, "job");
        self.run_job(job, shutdown)?;
        Ok(Some(id))
    }

    fn set(&self, id: i64, from: &[JobState], to: JobState) -> Result<bool, AppError> {
        let from: Vec<&str> = from.iter().map(|s| s.name()).collect();
        Ok(self
            .db
            .control()
            .set_job_state(id, &from, to.name(), None, None)?)
    }

    fn fail(&self, id: i64, reason: &str, next: &str) -> Result<(), AppError> {
        warn!(job = id, "job failed: {reason}");
        let active = JobState::active_names();
        self.db
            .control()
            .set_job_state(id, &active, "failed", Some(reason), Some(next))?;
        Ok(())
    }

    /// Cancelled, or sent back to composing by a late arrival since plan `replans`.
    fn interrupted(&self, id: i64, replans: u32) -> bool {
        matches!(self.db.control().job(id),
            Ok(Some(j)) if j.state == "cancelled" || j.replans != replans)
    }

    /// Was the job re-planned (by a late arrival) since plan `replans`?
    fn replanned(&self, id: i64, replans: u32) -> Result<bool, AppError> {
        Ok(matches!(self.db.control().job(id)?,
            Some(j) if j.state == "composing" && j.replans != replans))
    }

    /// Composing, imaging and validating, again from the start each time a late arrival
    /// re-plans the job meanwhile (each re-plan is a new instance, so this ends).
    fn compose(
        &self,
        job: &JobRow,
        dir: &Path,
        shutdown: &Shutdown,
    ) -> Result<Result<Vec<Volume>, Halt>, AppError> {
        loop {
            match self.compose_once(job, dir, shutdown)? {
                Composed::Replanned => {
                    info!(job = job.id, "late arrival: composing again from the start");
                }
                Composed::Done(r) => return Ok(r),
            }
        }
    }

    fn run_job(&mut self, job: JobRow, shutdown: &Shutdown) -> Result<(), AppError> {
        let id = job.id;
        let dir = job_dir(&self.cfg.archive.data_dir, id);
        let volumes = match state_of(&job) {
            JobState::Queued | JobState::Composing | JobState::Imaging | JobState::Validating => {
                match self.compose(&job, &dir, shutdown)? {
                    Ok(v) => v,
                    Err(_) => return Ok(()),
                }
            }
            JobState::Burning | JobState::Verifying => match checked_manifest(&dir) {
                Ok(v) => v,
                Err(e) => {
                    // The images are gone or not what was validated (a power loss took
                    // their last writes): compose them again (nothing burned is lost).
                    warn!(
                        job = id,
                        "the job's images cannot be read ({e}); composing again"
                    );
                    self.set(id, &[state_of(&job)], JobState::Composing)?;
                    match self.compose(&job, &dir, shutdown)? {
                        Ok(v) => v,
                        Err(_) => return Ok(()),
                    }
                }
            },
            _ => return Ok(()),
        };
        if let Err(Halt::Stopped | Halt::Held | Halt::Ended) =
            self.burn_all(&job, &volumes, shutdown)?
        {
            return Ok(());
        }
        if self.set(
            id,
            &[JobState::Burning, JobState::Verifying],
            JobState::Done,
        )? {
            info!(job = id, "job done");
        }
        Ok(())
    }

    /// Composing, imaging and validating: the export operation into the job's folder, of
    /// the instance set recorded as the phase starts.
    fn compose_once(
        &self,
        job: &JobRow,
        dir: &Path,
        shutdown: &Shutdown,
    ) -> Result<Composed, AppError> {
        let id = job.id;
        let from = ["queued", "composing", "imaging", "validating"];
        let Some((replans, uids)) = self.db.control().begin_compose(id, &from)? else {
            return Ok(Composed::Done(Err(Halt::Ended)));
        };
        if uids.is_empty() {
            let (reason, next) = match job.supplement_of {
                Some(of) => (
                    format!("nothing to add: every instance is on the discs of job {of}"),
                    "nothing to do".to_string(),
                ),
                None => (
                    "its collection has no instances".to_string(),
                    "send the instances, then create the job again".to_string(),
                ),
            };
            warn!(job = id, "{reason}");
            self.db.control().set_job_state(
                id,
                &["composing"],
                "cancelled",
                Some(&reason),
                Some(&next),
            )?;
            return Ok(Composed::Done(Err(Halt::Ended)));
        }
        let only: std::collections::HashSet<String> = uids.into_iter().collect();
        // The start of the phase: nothing of an earlier attempt is kept.
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|source| AppError::JobFiles {
                id,
                what: format!("removing {}", dir.display()),
                source,
            })?;
        }
        let images = dir.join("images");
        let profile = match job.profile.as_deref().map(str::parse::<Profile>) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                self.fail(
                    id,
                    &format!("its profile is unknown: {e}"),
                    "create it again",
                )?;
                return Ok(Composed::Done(Err(Halt::Ended)));
            }
            None => None,
        };
        let opts = ExportOptions {
            out_dir: images.clone(),
            profile,
            capacity_mb: job.capacity_mb,
            tree: false,
            leave_out_unreadable: false,
            job: Some(job.id),
        };
        let token = shutdown.child();
        let mut state = JobState::Composing;
        let mut last = Instant::now();
        let mut progress = |p: &Progress| {
            let next = match p.stage {
                Stage::Writing => JobState::Imaging,
                Stage::Validating | Stage::Done => JobState::Validating,
                _ if state == JobState::Composing => JobState::Composing,
                _ => state,
            };
            let changed = next != state;
            if changed {
                match self.set(id, &[state], next) {
                    Ok(true) => {
                        state = next;
                        #[cfg(test)]
                        if let Some(f) = &self.on_compose_state {
                            f(id, next);
                        }
                    }
                    // Cancelled meanwhile (or the database failed): stop the export.
                    _ => token.trigger(),
                }
            }
            if changed || last.elapsed() > Duration::from_millis(250) {
                last = Instant::now();
                let bytes = p.bytes.map(|b| (b.done, b.total)).unwrap_or((0, 0));
                let _ = self.db.control().set_job_progress(
                    id,
                    p.stage.name(),
                    (p.items.done, p.items.total),
                    bytes,
                );
                if self.interrupted(id, replans) {
                    token.trigger();
                }
            }
            test_stage_delay(self.cfg.jobs.test_stage_delay_ms, &token);
        };
        // A media creation request that asked for a File-set ID: its volumes carry it.
        let requested = self
            .db
            .control()
            .mcm_request_of_job(id)?
            .and_then(|r| r.fileset_id.parse::<FilesetIdPattern>().ok());
        let with_id;
        let cfg = match requested {
            Some(p) => {
                let mut c = self.cfg.clone();
                c.media.fileset_id_pattern = p;
                with_id = c;
                &with_id
            }
            None => &self.cfg,
        };
        let result = export_instances(
            cfg,
            &self.db,
            job.collection,
            Some(&only),
            &opts,
            &token,
            &mut progress,
        );
        match result {
            Ok(exported) => {
                let volumes: Vec<Volume> = exported
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| {
                        Some(Volume {
                            number: i as u32 + 1,
                            image: e.volume.iso.clone()?,
                            sha256: e.volume.sha256.clone()?,
                        })
                    })
                    .collect();
                if volumes.len() != exported.len() || volumes.is_empty() {
                    self.fail(
                        id,
                        "the export made no disc image to burn",
                        "choose an image profile (not USB) and create the job again",
                    )?;
                    return Ok(Composed::Done(Err(Halt::Ended)));
                }
                if self.cfg.archive.durable {
                    // The images on disk before `burning` says they are there.
                    sync_images(&volumes).map_err(|source| AppError::JobFiles {
                        id,
                        what: "syncing the images".into(),
                        source,
                    })?;
                }
                write_manifest(dir, &volumes).map_err(|source| AppError::JobFiles {
                    id,
                    what: "writing volumes.tsv".into(),
                    source,
                })?;
                self.db
                    .control()
                    .set_job_volumes(id, volumes.len() as u32)?;
                #[cfg(test)]
                if let Some(f) = &self.on_compose_state {
                    f(id, JobState::Burning);
                }
                // Only while no late arrival has re-planned it (one statement, so the
                // trigger's re-plan is either before, and seen here, or after, and makes a
                // supplement).
                let burning = self.db.control().set_job_state_at_plan(
                    id,
                    &[state.name()],
                    "burning",
                    replans,
                )?;
                if !burning {
                    if self.replanned(id, replans)? {
                        return Ok(Composed::Replanned);
                    }
                    return Ok(Composed::Done(Err(Halt::Ended)));
                }
                Ok(Composed::Done(Ok(volumes)))
            }
            Err(AppError::Cancelled) if shutdown.is_triggered() => {
                Ok(Composed::Done(Err(Halt::Stopped)))
            }
            Err(AppError::Cancelled) if self.replanned(id, replans)? => Ok(Composed::Replanned),
            Err(AppError::Cancelled) => Ok(Composed::Done(Err(Halt::Ended))),
            Err(e) => {
                self.fail(
                    id,
                    &format!("composing the discs failed: {}", crate::error::chain(&e)),
                    &format!("check the collection's instances, then `dcmdisc job retry {id}`"),
                )?;
                Ok(Composed::Done(Err(Halt::Ended)))
            }
        }
    }

    fn paused(&self, burner: &str) -> bool {
        matches!(self.db.control().burner_state(burner), Ok(s) if s.paused)
    }

    /// A job waiting at a paused burner: not taken until it is resumed.
    fn held(&self, job: &JobRow) -> bool {
        matches!(state_of(job), JobState::Burning | JobState::Verifying)
            && self
                .burner_config(job)
                .is_some_and(|b| self.paused(&b.name))
    }

    /// The job's own burner, else the first configured one that is not paused (else the
    /// first: the job then waits for it).
    fn burner_config(&self, job: &JobRow) -> Option<BurnerConfig> {
        let all = self.cfg.burners();
        match &job.burner {
            Some(name) => all.into_iter().find(|b| &b.name == name),
            None => {
                let free = all.iter().position(|b| !self.paused(&b.name)).unwrap_or(0);
                all.into_iter().nth(free)
            }
        }
    }

    /// Holds the job at its paused burner, saying why and what to do.
    fn hold(&self, id: i64, name: &str) -> Result<Result<(), Halt>, AppError> {
        let reason = self.db.control().burner_state(name)?.reason;
        let note = format!(
            "waiting: burner {name} is paused ({reason}); `dcmdisc burner resume {name}` \
             lets the job go on"
        );
        info!(job = id, burner = name, "job held: the burner is paused");
        self.db.control().set_job_state(
            id,
            &["burning", "verifying"],
            "burning",
            None,
            Some(&note),
        )?;
        Ok(Err(Halt::Held))
    }

    /// Burning and verifying: every (volume, copy) without a burned disc.
    fn burn_all(
        &mut self,
        job: &JobRow,
        volumes: &[Volume],
        shutdown: &Shutdown,
    ) -> Result<Result<(), Halt>, AppError> {
        let id = job.id;
        let Some(bcfg) = self.burner_config(job) else {
            self.fail(
                id,
                &format!(
                    "its burner {:?} is not configured",
                    job.burner.as_deref().unwrap_or("")
                ),
                "configure the burner, then retry the job",
            )?;
            return Ok(Err(Halt::Ended));
        };
        let name = bcfg.name.clone();
        if !self.burners.contains_key(&name) {
            let taken = self.db.control().burner_outcomes(&name)?.len();
            let b = burners::open(&bcfg, &self.cfg.archive.data_dir, taken);
            self.burners.insert(name.clone(), b);
        }
        let wanted = u64::from(job.copies) * volumes.len() as u64;
        for v in volumes {
            for copy in 1..=job.copies {
                let done = self
                    .db
                    .control()
                    .discs(id)?
                    .iter()
                    .any(|d| d.outcome == "burned" && d.volume == v.number && d.copy == copy);
                if done {
                    continue;
                }
                let disc = DiscId {
                    job: id,
                    volume: v.number,
                    copy,
                };
                if let Err(h) = self.burn_one(&name, v, disc, wanted, shutdown)? {
                    return Ok(Err(h));
                }
            }
        }
        Ok(Ok(()))
    }

    /// One copy of one volume: discs taken until one is burned and verified (`wanted`: the
    /// job's discs in all, for its progress counters).
    fn burn_one(
        &mut self,
        name: &str,
        v: &Volume,
        disc_id: DiscId,
        wanted: u64,
        shutdown: &Shutdown,
    ) -> Result<Result<(), Halt>, AppError> {
        let (id, copy) = (disc_id.job, disc_id.copy);
        let both = [JobState::Burning, JobState::Verifying];
        loop {
            if shutdown.is_triggered() {
                return Ok(Err(Halt::Stopped));
            }
            if self.paused(name) {
                return self.hold(id, name);
            }
            if !self.set(id, &both, JobState::Burning)? {
                return Ok(Err(Halt::Ended));
            }
            let control = self.db.control();
            let burned = control
                .discs(id)?
                .iter()
                .filter(|d| d.outcome == "burned")
                .count() as u64;
            let len = fs::metadata(&v.image).map(|m| m.len()).unwrap_or(0);
            let mut last: Option<Instant> = None;
            // The burner's fraction as the job's byte counters, at most once a second.
            let mut progress = |f: f64| {
                if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                    return;
                }
                last = Some(Instant::now());
                let done = (f.clamp(0.0, 1.0) * len as f64) as u64;
                let _ = control.set_job_progress(id, "burning", (burned, wanted), (done, len));
            };
            let Some(burner) = self.burners.get_mut(name) else {
                return Ok(Err(Halt::Ended));
            };
            match burner.ready() {
                Err(BurnError::NoDisc(why)) => {
                    // For the notifier: the burner is out of discs (the job's failure below
                    // is its own event).
                    if let Err(e) = control.append_event(
                        dcmdisc_archive::events::BURNER,
                        Some(id),
                        Some(name),
                        "out_of_discs",
                        Some(&why),
                    ) {
                        warn!(burner = name, error = %e, "out-of-discs event not written");
                    }
                    self.fail(
                        id,
                        &format!("burner {name} has no disc to take: {why}"),
                        &format!("load discs into {name}, then `dcmdisc job retry {id}`"),
                    )?;
                    return Ok(Err(Halt::Ended));
                }
                // The burner cannot even look (a drive's xorriso missing): no disc was taken.
                Err(BurnError::Failed(why)) => {
                    self.fail(
                        id,
                        &format!("burner {name} failed: {why}"),
                        &format!("check burner {name}, then `dcmdisc job retry {id}`"),
                    )?;
                    return Ok(Err(Halt::Ended));
                }
                _ => {}
            }
            let disc = control.begin_disc(id, v.number, copy, name)?;
            let result = match burner.burn(&v.image, &disc_id, shutdown, &mut progress) {
                Ok(written) => {
                    let image = written.image.to_string_lossy().into_owned();
                    if !control.set_job_state(id, &["burning"], "verifying", None, None)? {
                        control.finish_disc(disc, "rejected", "cancelled", "", &image)?;
                        return Ok(Err(Halt::Ended));
                    }
                    burner
                        .verify(&written, &v.sha256)
                        .map(|()| image.clone())
                        .map_err(|e| (e, image))
                }
                Err(e) => Err((e, String::new())),
            };
            match result {
                Ok(image) => {
                    control.finish_disc(disc, "burned", "", &v.sha256, &image)?;
                    control.clear_burner_rejects(name)?;
                    info!(
                        job = id,
                        volume = v.number,
                        copy,
                        burner = name,
                        "disc burned"
                    );
                    return Ok(Ok(()));
                }
                Err((BurnError::Stopped, image)) => {
                    let position = control.burner_outcomes(name)?.len().saturating_sub(1);
                    burner.interrupted(&disc_id, position);
                    control.finish_disc(disc, "rejected", "interrupted", "", &image)?;
                    return Ok(Err(Halt::Stopped));
                }
                Err((BurnError::Rejected(why), image)) => {
                    control.finish_disc(disc, "rejected", &why, "", &image)?;
                    warn!(
                        job = id,
                        volume = v.number,
                        copy,
                        burner = name,
                        "REJECT: {why}"
                    );
                    if control.count_burner_reject(name)? >= MAX_REJECTS_IN_A_ROW {
                        // Paused instead of eating the stack; the operator's resume clears
                        // the count.
                        warn!(
                            burner = name,
                            "burner paused after {MAX_REJECTS_IN_A_ROW} rejects in a row"
                        );
                        control.pause_burner(
                            name,
                            &format!(
                                "rejected {MAX_REJECTS_IN_A_ROW} discs in a row (last: {why}); \
                                 check its discs"
                            ),
                        )?;
                        return self.hold(id, name);
                    }
                }
                Err((e @ (BurnError::Failed(_) | BurnError::NoDisc(_)), image)) => {
                    control.finish_disc(disc, "rejected", &e.to_string(), "", &image)?;
                    self.fail(
                        id,
                        &format!("burner {name} failed: {e}"),
                        &format!("check burner {name}, then `dcmdisc job retry {id}`"),
                    )?;
                    return Ok(Err(Halt::Ended));
                }
            }
        }
    }
}

/// `[jobs] test_stage_delay_ms` (test only): a wait at a compose progress report, cut short
/// by a stop, so that crash tests can hit each compose state on any machine.
fn test_stage_delay(ms: u64, stop: &Shutdown) {
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until && !stop.is_triggered() {
        std::thread::sleep(Duration::from_millis(10));
    }
}

const MANIFEST: &str = "volumes.tsv";

/// `number \t sha256 \t image path`, one line per volume; written to a temporary name and
/// renamed, so a manifest that exists is complete.
pub(super) fn write_manifest(dir: &Path, volumes: &[Volume]) -> std::io::Result<()> {
    let mut text = String::new();
    for v in volumes {
        text.push_str(&format!(
            "{}\t{}\t{}\n",
            v.number,
            v.sha256,
            v.image.display()
        ));
    }
    let tmp = dir.join(format!(".{MANIFEST}.partial"));
    fs::create_dir_all(dir)?;
    {
        use std::io::Write;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(MANIFEST))?;
    fs::File::open(dir)?.sync_all()
}

/// Each image and the folder holding it synced (the manifest's own sync covers the job folder).
fn sync_images(volumes: &[Volume]) -> std::io::Result<()> {
    for v in volumes {
        fs::File::open(&v.image)?.sync_all()?;
        if let Some(parent) = v.image.parent() {
            fs::File::open(parent)?.sync_all()?;
        }
    }
    Ok(())
}

/// The manifest of a job resumed in `burning` or `verifying`, each image checked against the
/// SHA-256 it was validated with: burning an image a crash damaged would only reject disc
/// after disc at verify.
fn checked_manifest(dir: &Path) -> std::io::Result<Vec<Volume>> {
    let volumes = read_manifest(dir)?;
    for v in &volumes {
        let got = crate::burners::sha256_file(&v.image)?;
        if got != v.sha256 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} has SHA-256 {got}, validated as {}",
                    v.image.display(),
                    v.sha256
                ),
            ));
        }
    }
    Ok(volumes)
}

pub(super) fn read_manifest(dir: &Path) -> std::io::Result<Vec<Volume>> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad volumes.tsv line");
    let text = fs::read_to_string(dir.join(MANIFEST))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, '\t');
        let (Some(n), Some(sha), Some(path)) = (f.next(), f.next(), f.next()) else {
            return Err(bad());
        };
        let v = Volume {
            number: n.parse().map_err(|_| bad())?,
            sha256: sha.to_string(),
            image: PathBuf::from(path),
        };
        if !v.image.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} is missing", v.image.display()),
            ));
        }
        out.push(v);
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

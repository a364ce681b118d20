//! Automatic disc jobs (`[[rules]]`): the trigger makes a job `waiting` at a patient's first
//! instance a rule matches, pushes its start back with each further one, starts a
//! `start = "release"` job at the release of the association that sent it, and handles late
//! arrivals: a job not yet burning is re-planned, one whose burning started gets a
//! supplement job holding only the new instances.
//!
//! Off the store path. The store path ([`Hook::stored`], after the index commit) only
//! matches the rules (string compares) and, on a match, sends a message to the trigger
//! thread. The trigger does not trust its messages for the facts: it reads the store log
//! after its mark (the last row it acted on, in the control database), so nothing is lost
//! when it is behind, stopped or crashed: at the next start it catches up from the mark
//! before the service listens. Acting twice on an instance changes nothing (a start is
//! pushed back to the instance's own receipt time plus the quiet period, an instance a job
//! already holds is no late arrival), so a crash between acting and moving the mark is
//! harmless. The messages carry what the log cannot: which association sent an instance,
//! for `start = "release"`.
//!
//! The worker (`worker.rs`) queues a waiting job once its `starts_at_ms` has passed.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dcmdisc_archive::{JobRow, NewJob, NewRuleJob, StoredInstance};
use dcmdisc_dicom::datetime::{millis_from_rfc3339, now_millis};
use dcmdisc_net::{AssociationEnd, AssociationInfo};
use tracing::{error, info};

use super::JobState;
use crate::config::rules::{first_match, RuleConfig, StartMode};
use crate::config::Config;
use crate::control::{ControlDb, Open};
use crate::error::AppError;
use crate::shutdown::Shutdown;

/// Store log rows read at a time.
const BATCH: u32 = 500;

/// How often an idle trigger reads the store log anyway.
const IDLE_SCAN: Duration = Duration::from_secs(5);

enum Msg {
    Stored { assoc: u64, uid: String },
    Closed { assoc: u64, end: AssociationEnd },
}

/// The store path's side: cheap, never blocks, never fails the store.
#[derive(Clone)]
pub struct Hook {
    rules: Arc<Vec<RuleConfig>>,
    tx: Sender<Msg>,
}

impl Hook {
    /// An instance was stored and indexed (its index row committed).
    pub fn stored(&self, assoc: &AssociationInfo, sop_instance_uid: &str, modality: Option<&str>) {
        if first_match(&self.rules, &assoc.called_ae, &assoc.calling_ae, modality).is_some() {
            // A send fails only when the trigger has stopped: the next start catches up.
            let _ = self.tx.send(Msg::Stored {
                assoc: assoc.id,
                uid: sop_instance_uid.to_string(),
            });
        }
    }

    /// An association ended (A-RELEASE or abort).
    pub fn association_closed(&self, assoc: &AssociationInfo, end: AssociationEnd) {
        let _ = self.tx.send(Msg::Closed {
            assoc: assoc.id,
            end,
        });
    }
}

pub struct Trigger {
    rules: Arc<Vec<RuleConfig>>,
    quiet_ms: i64,
    db: ControlDb,
    rx: Receiver<Msg>,
    /// Instances announced by a message, by association, not yet mapped to a collection.
    sent: HashMap<u64, Vec<String>>,
    /// The collections each open association has stored instances of (that a rule took).
    open: HashMap<u64, HashSet<i64>>,
}

impl Trigger {
    /// Opens the trigger and catches up with what was stored while it was not running; then
    /// a job waiting for the release of an association of the last run (which can never
    /// come) starts after the quiet period instead. No rules: `None`, and the mark moves to
    /// the end of the store log (a rule added later acts on what is stored from then).
    pub fn open(cfg: &Config) -> Result<Option<(Trigger, Hook)>, AppError> {
        let db = ControlDb::open(cfg, Open::CreateIfMissing)?;
        if cfg.rules.is_empty() {
            let last = db.control().last_log_id()?;
            db.control().set_trigger_mark(last)?;
            return Ok(None);
        }
        let (tx, rx) = channel();
        let rules = Arc::new(cfg.rules.clone());
        let mut t = Trigger {
            rules: rules.clone(),
            quiet_ms: cfg.jobs.quiet_period_secs as i64 * 1000,
            db,
            rx,
            sent: HashMap::new(),
            open: HashMap::new(),
        };
        let n = t.scan(true)?;
        if n > 0 {
            info!(
                instances = n,
                "job rules: caught up with instances stored while stopped"
            );
        }
        t.db.control().release_fallback(now_millis() + t.quiet_ms)?;
        Ok(Some((t, Hook { rules, tx })))
    }

    /// Acts on stores and association ends until `shutdown`.
    pub fn run(mut self, shutdown: &Shutdown) {
        let mut idle = Instant::now();
        while !shutdown.is_triggered() {
            let mut msgs = Vec::new();
            match self.rx.recv_timeout(Duration::from_millis(200)) {
                Ok(m) => msgs.push(m),
                Err(RecvTimeoutError::Timeout) => {
                    // Idle: move the mark over what no rule took now and then, so a long run
                    // of such instances is not read again at the next message or start.
                    if idle.elapsed() > IDLE_SCAN {
                        idle = Instant::now();
                        if let Err(e) = self.scan(false) {
                            error!(error = %crate::error::chain(&e), "job rules");
                        }
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
            idle = Instant::now();
            // A burst of stores is acted on together (one scan, fewer commits).
            std::thread::sleep(Duration::from_millis(50));
            msgs.extend(self.rx.try_iter());
            if let Err(e) = self.step(msgs) {
                error!(error = %crate::error::chain(&e), "job rules");
            }
        }
    }

    /// Acts on `msgs` (in order) and on every store logged since the mark.
    fn step(&mut self, msgs: Vec<Msg>) -> Result<(), AppError> {
        let mut closed = Vec::new();
        for m in msgs {
            match m {
                Msg::Stored { assoc, uid } => self.sent.entry(assoc).or_default().push(uid),
                Msg::Closed { assoc, end } => closed.push((assoc, end)),
            }
        }
        // Every store announced so far is committed (the message is sent after the index
        // commit), so after this scan each has its job.
        self.scan(false)?;
        for (assoc, uids) in std::mem::take(&mut self.sent) {
            let cols = self.db.control().collections_of(&uids)?;
            self.open.entry(assoc).or_default().extend(cols);
        }
        for (assoc, end) in closed {
            self.closed(assoc, end)?;
        }
        Ok(())
    }

    /// Acts on the stores logged after the mark, then moves it; answers how many a rule
    /// took. `startup`: their associations are gone (a release job falls back to the quiet
    /// period).
    fn scan(&mut self, startup: bool) -> Result<usize, AppError> {
        let mut taken = 0;
        loop {
            let mark = self.db.control().trigger_mark()?;
            let rows = self.db.control().stored_after(mark, BATCH)?;
            let Some(last) = rows.last().map(|r| r.log_id) else {
                return Ok(taken);
            };
            // A burst of one patient's instances costs a few writes, not one per instance.
            let mut batch = Batch::default();
            let rules = self.rules.clone();
            for row in &rows {
                let called = row.called_ae.as_str();
                let hit = first_match(&rules, called, &row.calling_ae, row.modality.as_deref());
                if let Some((n, rule)) = hit {
                    self.apply(row, n, rule, startup, &mut batch)?;
                    taken += 1;
                }
            }
            for (job, at) in batch.push_back {
                // Not waiting any more (the worker queued it meanwhile): these instances
                // were committed before this scan, so its composing will hold them.
                self.db.control().push_back(job, at)?;
            }
            self.db.control().set_trigger_mark(last)?;
            if rows.len() < BATCH as usize {
                return Ok(taken);
            }
        }
    }

    /// One instance a rule took: the patient's job waits longer, is re-planned, or gets a
    /// supplement; or the patient gets a job.
    fn apply(
        &self,
        row: &StoredInstance,
        n: u32,
        rule: &RuleConfig,
        startup: bool,
        batch: &mut Batch,
    ) -> Result<(), AppError> {
        let c = self.db.control();
        let received = millis_from_rfc3339(&row.received).unwrap_or_else(now_millis);
        let at = received + self.quiet_ms;
        let uid = row.sop_instance_uid.as_str();
        // A few rounds at most: each retry follows a state change by the worker meanwhile.
        for _ in 0..4 {
            let Some(job) = c.current_job(row.collection)? else {
                let id = self.create(row, n, rule, None, at, startup)?;
                info!(
                    job = id,
                    rule = n,
                    collection = row.collection,
                    "job rule: waiting"
                );
                return Ok(());
            };
            match JobState::parse(&job.state) {
                Some(JobState::Waiting) => {
                    if is_release(&job) && !startup {
                        // Starts at the release; the countdown does not apply.
                        return Ok(());
                    }
                    let pushed = batch.push_back.entry(job.id).or_insert(at);
                    *pushed = (*pushed).max(at);
                    return Ok(());
                }
                Some(JobState::Queued) => return Ok(()),
                Some(JobState::Composing | JobState::Imaging | JobState::Validating) => {
                    // Once per scan is enough: every instance of this scan was committed
                    // before it, so the composing that follows the re-plan holds them all.
                    if batch.replanned.contains(&job.id) || c.holds(job.id, uid)? {
                        return Ok(());
                    }
                    if c.replan(job.id)? {
                        batch.replanned.insert(job.id);
                        info!(
                            job = job.id,
                            sop_instance_uid = uid,
                            "late arrival: the job is composed again"
                        );
                        return Ok(());
                    }
                }
                _ => {
                    // Burning started (or done): what it holds is on its discs; anything
                    // else goes on a supplement.
                    if c.holds(job.id, uid)? {
                        return Ok(());
                    }
                    let id = self.create(row, n, rule, Some(job.id), at, startup)?;
                    info!(
                        job = id,
                        supplement_of = job.id,
                        sop_instance_uid = uid,
                        "late arrival after burning started: supplement job"
                    );
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn create(
        &self,
        row: &StoredInstance,
        n: u32,
        rule: &RuleConfig,
        supplement_of: Option<i64>,
        at: i64,
        startup: bool,
    ) -> Result<i64, AppError> {
        let starts_at_ms = match rule.start {
            StartMode::Release if !startup => None,
            _ => Some(at),
        };
        Ok(self.db.control().create_rule_job(&NewRuleJob {
            job: NewJob {
                collection: row.collection,
                priority: rule.priority.name().to_string(),
                copies: rule.copies,
                profile: rule.profile.map(|p| p.name().to_string()),
                burner: rule.burner.clone(),
                capacity_mb: None,
            },
            start_mode: rule.start.name().to_string(),
            starts_at_ms,
            rule: n,
            supplement_of,
        })?)
    }

    /// An association ended: the release jobs of the collections it stored for start (at a
    /// release) or fall back to the quiet period (an abort), once no other open association
    /// is storing for them.
    fn closed(&mut self, assoc: u64, end: AssociationEnd) -> Result<(), AppError> {
        let Some(cols) = self.open.remove(&assoc) else {
            return Ok(());
        };
        let c = self.db.control();
        for col in cols {
            if self.open.values().any(|o| o.contains(&col)) {
                continue;
            }
            let Some(job) = c.current_job(col)? else {
                continue;
            };
            if job.state != JobState::Waiting.name() || !is_release(&job) {
                continue;
            }
            match end {
                AssociationEnd::Released => {
                    if c.set_job_state(job.id, &["waiting"], "queued", None, None)? {
                        info!(job = job.id, "association released: job queued");
                    }
                }
                AssociationEnd::Aborted => {
                    c.set_starts_at(job.id, Some(now_millis() + self.quiet_ms))?;
                    info!(
                        job = job.id,
                        "association aborted: the job starts after the quiet period"
                    );
                }
            }
        }
        Ok(())
    }
}

/// What one scan defers: the latest start of each waiting job, the jobs it re-planned.
#[derive(Default)]
struct Batch {
    push_back: HashMap<i64, i64>,
    replanned: HashSet<i64>,
}

fn is_release(job: &JobRow) -> bool {
    job.start_mode.as_deref() == Some(StartMode::Release.name())
}

#[cfg(test)]
#[path = "trigger_tests.rs"]
mod tests;

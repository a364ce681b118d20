//! Removing a patient collection from the temporary store (issue 10, item 6), so that a
//! crash or power loss at any point leaves either the whole collection or none of it.
//!
//! The facts retention decides on ([`facts`]) and the guard it removes under are here; the
//! policy (how long a collection is kept, the disk high-water mark) is the application
//! layer's. A removal goes in steps, each finished before the next starts:
//!
//! 1. **mark** — one synced transaction, under the guard (not pinned, not already being
//!    removed, no job of the collection in a state that is not final, and a `done` job whose
//!    composing started after the collection's last arrival): every instance row's (id, path)
//!    into `removal_file`, a `removed_collection` row with the job folders to go. From then
//!    on the listings hide the collection and an export finds nothing to read.
//! 2. **move** — each file is renamed out of `archive/` into `trash/c<ID>/` (one rename per
//!    file, so a file is either where its row says or in the trash), then the job folders
//!    into the same trash folder; every folder touched is synced.
//! 3. **forget** — one transaction: the instance rows whose (id, path) were marked, the
//!    patient row when no instance is left (one that arrived meanwhile keeps it), the marks.
//! 4. **purge** — the trash folder is deleted.
//!
//! Start-up recovery (recover.rs) finishes a marked removal *before* it looks at anything
//! else: it moves what is still in `archive/`, forgets, purges. Files only ever move from
//! `archive/` to the trash, never back, and rows are dropped only once their files are out of
//! `archive/`, so recovery (which re-indexes files of `archive/` it finds without a row) can
//! never resurrect part of a removed collection; and while rows point into the trash the
//! collection is marked, hidden, and finished by the next start or pass. A trash folder
//! without marks is what a crash in step 4 left: it is deleted.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use tracing::{info, warn};

use crate::db::now_rfc3339;
use crate::{lock, ArchiveError};
use dcmdisc_dicom::charset::decode_text;

/// Where removed files wait for their deletion, beside `archive/` (same file system, so a
/// move is a rename).
pub const TRASH_DIR: &str = "trash";

/// How much later than a collection's last arrival a job's composing must have started for
/// its discs to count as holding the whole collection. An instance's arrival time is taken
/// just before its index commit; the margin covers a commit that waited (for the database
/// lock, a slow disk) while a job started composing and listed the collection without it.
pub const ARRIVAL_MARGIN_MS: i64 = 2000;

/// What retention knows of one collection.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CollectionFacts {
    pub collection: i64,
    pub patient_name: String,
    pub patient_id: String,
    pub pinned: bool,
    /// A removal was marked and has not finished (a crash; the next pass finishes it).
    pub removing: bool,
    pub instances: u64,
    pub bytes: u64,
    /// The newest instance's arrival (RFC 3339).
    pub last_arrival: String,
    /// A job of the collection in a state that is not final: (id, state).
    pub unfinished_job: Option<(i64, String)>,
    /// The newest `done` job whose composing started after the last arrival (with the
    /// margin), and when its last disc was verified: (id, time).
    pub covering_job: Option<(i64, String)>,
    /// The newest `done` job of the collection, covering or not.
    pub last_done_job: Option<i64>,
}

/// A point of a removal, for the fault-injection hook of the tests: the hook is called after
/// each, and `Break` stops the removal there, as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Marked,
    /// After moving this many files into the trash.
    MovedFiles(usize),
    MovedJobFolders,
    Forgotten,
    Purged,
}

/// How a removal ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Removed {
        instances: u64,
        bytes: u64,
    },
    /// The guard refused it (the reason in words): nothing was touched.
    Refused(String),
    /// The hook stopped it after this step.
    Stopped(Step),
}

/// Milliseconds since 1970 of our RFC 3339 form (`YYYY-MM-DDTHH:MM:SS[.mmm]Z`).
pub fn rfc3339_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ms = if b.get(19) == Some(&b'.') {
        num(20..23)?
    } else {
        0
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms)
}

/// The facts of every collection (or one), in id order. `finals` are the job states that are
/// final (the application layer's words); `done` is among them.
pub fn facts(
    conn: &Connection,
    only: Option<i64>,
    finals: &[&str],
) -> Result<Vec<CollectionFacts>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT p.id, p.patient_name, p.charset, p.patient_id, p.pinned, COUNT(i.id),
                COALESCE(SUM(i.size), 0), MAX(i.received),
                EXISTS (SELECT 1 FROM removal_file r WHERE r.collection = p.id)
         FROM patient p JOIN instance i ON i.patient = p.id
         WHERE ?1 IS NULL OR p.id = ?1
         GROUP BY p.id ORDER BY p.id",
    )?;
    let mut out: Vec<CollectionFacts> = stmt
        .query_map(params![only], |r| {
            let raw: Vec<u8> = r.get(1)?;
            let charset: String = r.get(2)?;
            Ok(CollectionFacts {
                collection: r.get(0)?,
                patient_name: decode_text(&raw, &charset),
                patient_id: r.get(3)?,
                pinned: r.get(4)?,
                removing: r.get(8)?,
                instances: r.get::<_, i64>(5)? as u64,
                bytes: r.get::<_, i64>(6)? as u64,
                last_arrival: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                unfinished_job: None,
                covering_job: None,
                last_done_job: None,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut jobs = conn.prepare(
        "SELECT j.id, j.state, j.composing_started,
                COALESCE((SELECT MAX(d.time) FROM job_disc d
                          WHERE d.job = j.id AND d.outcome = 'burned'), j.updated)
         FROM job j WHERE j.collection = ?1 ORDER BY j.id",
    )?;
    for f in &mut out {
        let arrival = rfc3339_millis(&f.last_arrival);
        let rows = jobs.query_map(params![f.collection], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (id, state, composing, finished) = row?;
            if !finals.contains(&state.as_str()) {
                f.unfinished_job.get_or_insert((id, state.clone()));
            }
            if state != "done" {
                continue;
            }
            f.last_done_job = Some(id);
            let started = composing.as_deref().and_then(rfc3339_millis);
            if let (Some(a), Some(s)) = (arrival, started) {
                if s - a >= ARRIVAL_MARGIN_MS {
                    f.covering_job = Some((id, finished));
                }
            }
        }
    }
    Ok(out)
}

/// Why the guard keeps a collection, in words; `None`: it may be removed.
pub fn guard(f: &CollectionFacts) -> Option<String> {
    if f.pinned {
        return Some("pinned".into());
    }
    if f.removing {
        return Some("a removal of it is already under way".into());
    }
    if let Some((id, state)) = &f.unfinished_job {
        return Some(format!("job {id} is {state}"));
    }
    if f.covering_job.is_none() {
        return Some(match f.last_done_job {
            Some(id) => format!(
                "instances arrived after job {id} started composing: not all are on a verified disc"
            ),
            None => "never burned: no job of it is done".into(),
        });
    }
    None
}

/// A copy of job `from` made from its images holds what `from` composed: it gets its date,
/// its instance set and what it supplements (so a late arrival during the copy's burning is
/// judged against what the discs really hold, `triggers.rs`).
/// Runs inside the caller's transaction (`jobs::create_copy_job`).
pub(crate) fn inherit_composing(tx: &Connection, job: i64, from: i64) -> Result<(), ArchiveError> {
    tx.execute(
        "UPDATE job SET
            composing_started = (SELECT composing_started FROM job WHERE id = ?2),
            supplement_of = (SELECT supplement_of FROM job WHERE id = ?2)
         WHERE id = ?1",
        params![job, from],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO job_instance (job, sop_instance_uid)
         SELECT ?1, sop_instance_uid FROM job_instance WHERE job = ?2",
        params![job, from],
    )?;
    Ok(())
}

/// Pins or unpins a collection; answers whether it exists.
pub fn set_pinned(conn: &Connection, collection: i64, pinned: bool) -> Result<bool, ArchiveError> {
    Ok(conn.execute(
        "UPDATE patient SET pinned = ?2 WHERE id = ?1 AND EXISTS
            (SELECT 1 FROM instance WHERE patient = ?1)",
        params![collection, pinned],
    )? > 0)
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn trash_of(data_dir: &Path, collection: i64) -> PathBuf {
    data_dir.join(TRASH_DIR).join(format!("c{collection}"))
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir))
}

/// Removes `collection` if the guard allows it now. `job_dirs`: folders under `data_dir`
/// (relative) that go with it (the job folders); `reason` is recorded. The hook sees each
/// step and may stop the removal there (tests).
pub fn remove(
    conn: &mut Connection,
    data_dir: &Path,
    collection: i64,
    finals: &[&str],
    job_dirs: &[String],
    reason: &str,
    hook: &mut dyn FnMut(Step) -> ControlFlow<()>,
) -> Result<Removal, ArchiveError> {
    // 1. mark, under the guard, in one write transaction (nothing can change the facts
    // between the check and the mark).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(f) = facts(&tx, Some(collection), finals)?.into_iter().next() else {
        return Ok(Removal::Refused(format!(
            "collection {collection} does not exist"
        )));
    };
    if let Some(why) = guard(&f) {
        return Ok(Removal::Refused(why));
    }
    tx.execute(
        "INSERT INTO removal_file (instance, collection, path)
         SELECT id, patient, path FROM instance WHERE patient = ?1",
        params![collection],
    )?;
    tx.execute(
        "INSERT INTO removed_collection (collection, patient_name, patient_id, instances, bytes,
            reason, job_dirs, started) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            collection,
            f.patient_name,
            f.patient_id,
            f.instances as i64,
            f.bytes as i64,
            reason,
            job_dirs.join("\n"),
            now_rfc3339()
        ],
    )?;
    tx.commit()?;
    if hook(Step::Marked).is_break() {
        return Ok(Removal::Stopped(Step::Marked));
    }
    if let Some(step) = finish(conn, data_dir, collection, hook)? {
        return Ok(Removal::Stopped(step));
    }
    info!(
        collection,
        instances = f.instances,
        bytes = f.bytes,
        "collection removed from the temporary store: {reason}"
    );
    Ok(Removal::Removed {
        instances: f.instances,
        bytes: f.bytes,
    })
}

/// Renames `from` to `dir/name`; `false` when `from` is gone (moved before a crash, or by a
/// removal running beside this one). A trash folder deleted meanwhile (another process's
/// recovery) is made again.
fn move_into(from: &Path, dir: &Path, name: &std::ffi::OsStr) -> Result<bool, ArchiveError> {
    for _ in 0..2 {
        match fs::rename(from, dir.join(name)) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::symlink_metadata(from).is_err() {
                    return Ok(false);
                }
                fs::create_dir_all(dir).map_err(io_err(dir))?;
            }
            Err(e) => return Err(io_err(from)(e)),
        }
    }
    Err(ArchiveError::Io {
        path: dir.to_path_buf(),
        source: io::Error::new(io::ErrorKind::NotFound, "the trash folder keeps vanishing"),
    })
}

/// Steps 2 to 4 of a marked removal; `Some(step)` when the hook stopped it there.
fn finish(
    conn: &mut Connection,
    data_dir: &Path,
    collection: i64,
    hook: &mut dyn FnMut(Step) -> ControlFlow<()>,
) -> Result<Option<Step>, ArchiveError> {
    let trash = trash_of(data_dir, collection);
    fs::create_dir_all(&trash).map_err(io_err(&trash))?;
    sync_dir(&data_dir.join(TRASH_DIR))?;
    // 2. move: each file, then the job folders.
    let files: Vec<String> = conn
        .prepare("SELECT path FROM removal_file WHERE collection = ?1 ORDER BY instance")?
        .query_map(params![collection], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut touched = BTreeSet::new();
    for (k, rel) in files.iter().enumerate() {
        let from = data_dir.join(rel);
        // The names are ours (archive/xx/<uuid>.dcm), from the index.
        let Some(name) = from.file_name() else {
            continue;
        };
        if move_into(&from, &trash, name)? {
            if let Some(parent) = from.parent() {
                touched.insert(parent.to_path_buf());
            }
        }
        if hook(Step::MovedFiles(k + 1)).is_break() {
            return Ok(Some(Step::MovedFiles(k + 1)));
        }
    }
    // Synced whatever `[archive] durable` says: a move that a power loss undid would put a
    // file back in archive/ after its row is gone, and recovery would index it again.
    for dir in &touched {
        sync_dir(dir)?;
    }
    let dirs: Option<String> = conn
        .query_row(
            "SELECT job_dirs FROM removed_collection
             WHERE collection = ?1 AND finished IS NULL ORDER BY id DESC LIMIT 1",
            params![collection],
            |r| r.get(0),
        )
        .optional()?;
    let mut moved_dir = false;
    for (k, rel) in dirs.unwrap_or_default().lines().enumerate() {
        let from = data_dir.join(rel);
        moved_dir |= move_into(&from, &trash, std::ffi::OsStr::new(&format!("dir{k}")))?;
    }
    if moved_dir {
        sync_dir(&data_dir.join("jobs")).or_else(|e| match e {
            ArchiveError::Io { ref source, .. } if source.kind() == io::ErrorKind::NotFound => {
                Ok(())
            }
            e => Err(e),
        })?;
    }
    sync_dir(&trash)?;
    if hook(Step::MovedJobFolders).is_break() {
        return Ok(Some(Step::MovedJobFolders));
    }
    // 3. forget.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM instance WHERE EXISTS (SELECT 1 FROM removal_file r
            WHERE r.collection = ?1 AND r.instance = instance.id AND r.path = instance.path)",
        params![collection],
    )?;
    tx.execute(
        "DELETE FROM patient WHERE id = ?1
            AND NOT EXISTS (SELECT 1 FROM instance WHERE patient = ?1)",
        params![collection],
    )?;
    tx.execute(
        "DELETE FROM removal_file WHERE collection = ?1",
        params![collection],
    )?;
    tx.execute(
        "UPDATE removed_collection SET finished = ?2 WHERE collection = ?1 AND finished IS NULL",
        params![collection, now_rfc3339()],
    )?;
    tx.commit()?;
    if hook(Step::Forgotten).is_break() {
        return Ok(Some(Step::Forgotten));
    }
    // 4. purge.
    fs::remove_dir_all(&trash).map_err(io_err(&trash))?;
    if hook(Step::Purged).is_break() {
        return Ok(Some(Step::Purged));
    }
    Ok(None)
}

/// Finishes every removal a crash interrupted and deletes what is left in the trash; answers
/// how many removals were finished. Recovery runs it before anything else.
pub fn finish_pending(conn: &mut Connection, data_dir: &Path) -> Result<usize, ArchiveError> {
    let pending: Vec<i64> = conn
        .prepare("SELECT DISTINCT collection FROM removal_file ORDER BY collection")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for &c in &pending {
        warn!(
            collection = c,
            "finishing the removal of a collection that was interrupted"
        );
        finish(conn, data_dir, c, &mut |_| ControlFlow::Continue(()))?;
    }
    // Trash left by a crash after its removal was forgotten (or during one just finished).
    let root = data_dir.join(TRASH_DIR);
    if let Ok(entries) = fs::read_dir(&root) {
        for e in entries.flatten() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
    Ok(pending.len())
}

/// One removal of the history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RemovedRow {
    pub collection: i64,
    pub patient_name: String,
    pub patient_id: String,
    pub instances: u64,
    pub bytes: u64,
    pub reason: String,
    pub started: String,
    pub finished: Option<String>,
}

/// The removals, newest first, at most `limit`.
pub fn removed(conn: &Connection, limit: u32) -> Result<Vec<RemovedRow>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT collection, patient_name, patient_id, instances, bytes, reason, started, finished
         FROM removed_collection ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        Ok(RemovedRow {
            collection: r.get(0)?,
            patient_name: r.get(1)?,
            patient_id: r.get(2)?,
            instances: r.get::<_, i64>(3)? as u64,
            bytes: r.get::<_, i64>(4)? as u64,
            reason: r.get(5)?,
            started: r.get(6)?,
            finished: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When retention removed `collection` after `since` (RFC 3339), if it did: a job composed
/// before that removal cannot be composed again from the archive.
pub fn removed_since(
    conn: &Connection,
    collection: i64,
    since: &str,
) -> Result<Option<String>, ArchiveError> {
    let since = rfc3339_millis(since).unwrap_or(i64::MIN);
    let mut stmt = conn
        .prepare("SELECT started FROM removed_collection WHERE collection = ?1 ORDER BY id DESC")?;
    let rows = stmt.query_map(params![collection], |r| r.get::<_, String>(0))?;
    for r in rows {
        let t = r?;
        if rfc3339_millis(&t).is_some_and(|m| m >= since) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// Retention's calls on the admin connection (synced commits: the mark is on disk before a
/// file moves).
impl crate::Control {
    /// What retention knows of each collection (or one); `finals`: the final job states.
    pub fn retention_facts(
        &self,
        only: Option<i64>,
        finals: &[&str],
    ) -> Result<Vec<CollectionFacts>, ArchiveError> {
        facts(&lock(&self.conn), only, finals)
    }

    /// Removes a collection if retention's guard allows it (see retention.rs); the hook sees
    /// each step and may stop there (tests).
    pub fn remove_collection(
        &self,
        collection: i64,
        finals: &[&str],
        job_dirs: &[String],
        reason: &str,
        hook: &mut dyn FnMut(Step) -> std::ops::ControlFlow<()>,
    ) -> Result<Removal, ArchiveError> {
        remove(
            &mut lock(&self.conn),
            &self.data_dir,
            collection,
            finals,
            job_dirs,
            reason,
            hook,
        )
    }

    /// Finishes removals a crash interrupted; answers how many.
    pub fn finish_removals(&self) -> Result<usize, ArchiveError> {
        finish_pending(&mut lock(&self.conn), &self.data_dir)
    }

    pub fn set_pinned(&self, collection: i64, pinned: bool) -> Result<bool, ArchiveError> {
        set_pinned(&lock(&self.conn), collection, pinned)
    }

    /// Removals, newest first.
    pub fn removed_collections(&self, limit: u32) -> Result<Vec<RemovedRow>, ArchiveError> {
        removed(&lock(&self.conn), limit)
    }

    /// When retention removed `collection` after `since`, if it did.
    pub fn removed_since(
        &self,
        collection: i64,
        since: &str,
    ) -> Result<Option<String>, ArchiveError> {
        removed_since(&lock(&self.conn), collection, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_timestamps_parse_to_milliseconds() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(rfc3339_millis("1970-01-01T00:00:01.250Z"), Some(1250));
        assert_eq!(
            rfc3339_millis("2026-12-01T22:50:34.007Z"),
            Some(1_796_165_434_007)
        );
        assert_eq!(
            rfc3339_millis("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(rfc3339_millis("garbage"), None);
        assert_eq!(rfc3339_millis("2026-13-01T00:00:00.000Z"), None);
        let now = now_rfc3339();
        assert!(rfc3339_millis(&now).is_some(), "{now}");
    }
}

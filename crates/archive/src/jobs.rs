//! The disc job queue's rows in the control database (schema version 2). Every call is one
//! statement or one transaction, committed before it returns, so a state written here is on
//! disk before the caller acts on it (the `Control` connection syncs each commit).
//!
//! States, priorities and outcomes are plain words here; their meaning (which transitions
//! are allowed) is the application layer's. Each state change and disc appends its event
//! (`events.rs`) in the same transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::db::now_rfc3339;
use crate::events::{self, NewEvent};
use crate::job_moves::{insert_queued, move_job, Move, Reason};
use crate::ArchiveError;

/// What a new job asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub collection: i64,
    pub priority: String,
    pub copies: u32,
    pub profile: Option<String>,
    pub burner: Option<String>,
    pub capacity_mb: Option<u64>,
}

/// One job row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobRow {
    pub id: i64,
    pub collection: i64,
    pub state: String,
    pub priority: String,
    pub copies: u32,
    pub profile: Option<String>,
    pub burner: Option<String>,
    pub capacity_mb: Option<u64>,
    pub error: Option<String>,
    pub next_action: Option<String>,
    pub stage: String,
    pub items_done: u64,
    pub items_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub volumes: u32,
    pub created: String,
    pub updated: String,
    /// When it last started composing before its first disc was burned: its discs hold every
    /// instance indexed before then (retention's rule, see retention.rs).
    pub composing_started: Option<String>,
    /// When its current stage began (the rate of an ETA).
    pub stage_started: Option<String>,
    /// How a job made by a rule starts: `quiet` or `release`; `None` for a manual job.
    pub start_mode: Option<String>,
    /// When a waiting job is due (Unix milliseconds); `None` while it waits for a release.
    pub starts_at_ms: Option<i64>,
    /// The rule that made it (1-based, in the config's order).
    pub rule: Option<u32>,
    /// The job whose discs this one supplements (instances that arrived after it burned).
    pub supplement_of: Option<i64>,
    /// How often late arrivals sent it back to composing.
    pub replans: u32,
}

/// One disc a burner took for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscRow {
    pub id: i64,
    pub job: i64,
    pub volume: u32,
    pub copy: u32,
    pub burner: String,
    pub outcome: String,
    pub reason: String,
    pub sha256: String,
    pub image: String,
    pub time: String,
}

pub(crate) const JOB_COLUMNS: &str = "id, collection, state, priority, copies, profile, burner, \
    capacity_mb, error, next_action, stage, items_done, items_total, bytes_done, bytes_total, \
    volumes, created, updated, composing_started, stage_started, start_mode, starts_at_ms, \
    rule, supplement_of, replans";

pub(crate) fn job_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        collection: r.get(1)?,
        state: r.get(2)?,
        priority: r.get(3)?,
        copies: r.get(4)?,
        profile: r.get(5)?,
        burner: r.get(6)?,
        capacity_mb: r.get(7)?,
        error: r.get(8)?,
        next_action: r.get(9)?,
        stage: r.get(10)?,
        items_done: r.get(11)?,
        items_total: r.get(12)?,
        bytes_done: r.get(13)?,
        bytes_total: r.get(14)?,
        volumes: r.get(15)?,
        created: r.get(16)?,
        updated: r.get(17)?,
        composing_started: r.get(18)?,
        stage_started: r.get(19)?,
        start_mode: r.get(20)?,
        starts_at_ms: r.get(21)?,
        rule: r.get(22)?,
        supplement_of: r.get(23)?,
        replans: r.get(24)?,
    })
}

pub fn create_job(conn: &Connection, job: &NewJob) -> Result<i64, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let id = insert_queued(&tx, job)?;
    tx.commit()?;
    Ok(id)
}

/// A new job that burns done job `from`'s images again: created, given `volumes` volumes and
/// `from`'s composing facts, and moved to `burning` in one transaction, so the worker never
/// sees it `queued` (it would compose it anew: other bytes, another creation time).
/// `prepare(id)` runs inside the transaction (the caller writes the new job's manifest
/// there); its error rolls the job back. A crash after `prepare` leaves at most a job folder
/// without a job, which a later job of the same id clears when it composes.
pub fn create_copy_job<E: From<ArchiveError>>(
    conn: &Connection,
    job: &NewJob,
    from: i64,
    volumes: u32,
    prepare: impl FnOnce(i64) -> Result<(), E>,
) -> Result<i64, E> {
    let tx = crate::db::write_tx(conn).map_err(ArchiveError::from)?;
    let id = insert_queued(&tx, job)?;
    prepare(id)?;
    set_job_volumes(&tx, id, volumes)?;
    crate::retention::inherit_composing(&tx, id, from)?;
    // Just inserted `queued` in this transaction: the move cannot be refused.
    move_job(&tx, id, &["queued"], "burning", &Move::default())?;
    tx.commit().map_err(ArchiveError::from)?;
    Ok(id)
}

pub fn job(conn: &Connection, id: i64) -> Result<Option<JobRow>, ArchiveError> {
    Ok(conn
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM job WHERE id = ?1"),
            params![id],
            job_row,
        )
        .optional()?)
}

pub fn jobs(conn: &Connection) -> Result<Vec<JobRow>, ArchiveError> {
    let mut stmt = conn.prepare(&format!("SELECT {JOB_COLUMNS} FROM job ORDER BY id"))?;
    let rows = stmt.query_map([], job_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Jobs in any of `states`, in the order the worker takes them: priority high, normal, low,
/// then the oldest first.
pub fn jobs_in(conn: &Connection, states: &[&str]) -> Result<Vec<JobRow>, ArchiveError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {JOB_COLUMNS} FROM job ORDER BY
            CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END, id"
    ))?;
    let rows = stmt.query_map([], job_row)?;
    let all: Vec<JobRow> = rows.collect::<Result<_, _>>()?;
    Ok(all
        .into_iter()
        .filter(|j| states.contains(&j.state.as_str()))
        .collect())
}

/// Sets the state (and its reason and next action, cleared when `None`), only when the job
/// is in one of `from`; answers whether it was.
pub fn set_job_state(
    conn: &Connection,
    id: i64,
    from: &[&str],
    state: &str,
    error: Option<&str>,
    next_action: Option<&str>,
) -> Result<bool, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let moved = move_job(
        &tx,
        id,
        from,
        state,
        &Move {
            reason: Some(Reason { error, next_action }),
            date_content: true,
            ..Move::default()
        },
    )?;
    tx.commit()?;
    Ok(moved.is_some())
}

/// The current phase's counters.
pub fn set_job_progress(
    conn: &Connection,
    id: i64,
    stage: &str,
    items: (u64, u64),
    bytes: (u64, u64),
) -> Result<(), ArchiveError> {
    conn.prepare_cached(
        "UPDATE job SET stage_started = CASE WHEN stage = ?2 AND stage_started IS NOT NULL
                            THEN stage_started ELSE ?7 END,
                        stage = ?2, items_done = ?3, items_total = ?4, bytes_done = ?5,
                        bytes_total = ?6, updated = ?7 WHERE id = ?1",
    )?
    .execute(params![
        id,
        stage,
        items.0,
        items.1,
        bytes.0,
        bytes.1,
        now_rfc3339()
    ])?;
    Ok(())
}

pub fn set_job_volumes(conn: &Connection, id: i64, volumes: u32) -> Result<(), ArchiveError> {
    conn.execute(
        "UPDATE job SET volumes = ?2, updated = ?3 WHERE id = ?1",
        params![id, volumes, now_rfc3339()],
    )?;
    Ok(())
}

/// Sets a job's priority while it is in one of `states`; answers whether it was.
pub fn set_job_priority(
    conn: &Connection,
    id: i64,
    states: &[&str],
    priority: &str,
) -> Result<bool, ArchiveError> {
    let marks = vec!["?"; states.len()].join(", ");
    let sql =
        format!("UPDATE job SET priority = ?, updated = ? WHERE id = ? AND state IN ({marks})");
    let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(3 + states.len());
    let now = now_rfc3339();
    values.push(&priority);
    values.push(&now);
    values.push(&id);
    for s in states {
        values.push(s);
    }
    Ok(conn.execute(&sql, values.as_slice())? == 1)
}

/// Records that a burner took a disc for (volume, copy), before anything is written to it.
pub fn begin_disc(
    conn: &Connection,
    job: i64,
    volume: u32,
    copy: u32,
    burner: &str,
) -> Result<i64, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    tx.execute(
        "INSERT INTO job_disc (job, volume, copy, burner, outcome, time)
         VALUES (?1, ?2, ?3, ?4, 'burning', ?5)",
        params![job, volume, copy, burner, now_rfc3339()],
    )?;
    let disc = tx.last_insert_rowid();
    events::record(
        &tx,
        &NewEvent {
            kind: events::DISC,
            job: Some(job),
            disc: Some(disc),
            burner: Some(burner),
            state: "burning",
            ..NewEvent::default()
        },
    )?;
    tx.commit()?;
    Ok(disc)
}

/// Appends the event of a disc's outcome, its job and burner read from its row.
fn disc_event(
    conn: &Connection,
    disc: i64,
    outcome: &str,
    reason: &str,
) -> Result<(), ArchiveError> {
    let (job, burner): (i64, String) = conn.query_row(
        "SELECT job, burner FROM job_disc WHERE id = ?1",
        params![disc],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    events::record(
        conn,
        &NewEvent {
            kind: events::DISC,
            job: Some(job),
            disc: Some(disc),
            burner: Some(&burner),
            state: outcome,
            reason: (!reason.is_empty()).then_some(reason),
            ..NewEvent::default()
        },
    )
}

/// The outcome of a disc begun with [`begin_disc`].
pub fn finish_disc(
    conn: &Connection,
    disc: i64,
    outcome: &str,
    reason: &str,
    sha256: &str,
    image: &str,
) -> Result<(), ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let changed = tx.execute(
        "UPDATE job_disc SET outcome = ?2, reason = ?3, sha256 = ?4, image = ?5, time = ?6
         WHERE id = ?1",
        params![disc, outcome, reason, sha256, image, now_rfc3339()],
    )?;
    if changed > 0 {
        disc_event(&tx, disc, outcome, reason)?;
    }
    tx.commit()?;
    Ok(())
}

/// A job's discs in the order they were taken.
pub fn discs(conn: &Connection, job: i64) -> Result<Vec<DiscRow>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT id, job, volume, copy, burner, outcome, reason, sha256, image, time
         FROM job_disc WHERE job = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![job], disc_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every job's discs, each job's in the order they were taken: one query for a listing of
/// all jobs instead of one a job (10,000 jobs: bench/pages.py).
pub fn discs_by_job(
    conn: &Connection,
) -> Result<std::collections::HashMap<i64, Vec<DiscRow>>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT id, job, volume, copy, burner, outcome, reason, sha256, image, time
         FROM job_disc ORDER BY id",
    )?;
    let mut out: std::collections::HashMap<i64, Vec<DiscRow>> = Default::default();
    for row in stmt.query_map([], disc_row)? {
        let d = row?;
        out.entry(d.job).or_default().push(d);
    }
    Ok(out)
}

fn disc_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DiscRow> {
    Ok(DiscRow {
        id: r.get(0)?,
        job: r.get(1)?,
        volume: r.get(2)?,
        copy: r.get(3)?,
        burner: r.get(4)?,
        outcome: r.get(5)?,
        reason: r.get(6)?,
        sha256: r.get(7)?,
        image: r.get(8)?,
        time: r.get(9)?,
    })
}

/// Every disc still `burning` (a crash interrupted it), oldest first, with its position among
/// the discs its burner took (0-based: the simulator's place in its stack).
pub fn burning_discs(conn: &Connection) -> Result<Vec<(DiscRow, usize)>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT id, job, volume, copy, burner, outcome, reason, sha256, image, time,
                (SELECT COUNT(*) FROM job_disc o WHERE o.burner = d.burner AND o.id < d.id)
         FROM job_disc d WHERE outcome = 'burning' ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        let position: i64 = r.get(10)?;
        Ok((disc_row(r)?, usize::try_from(position).unwrap_or(0)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every disc still `burning` (a crash interrupted it) becomes rejected with `reason`;
/// answers how many.
pub fn reject_interrupted(conn: &Connection, reason: &str) -> Result<usize, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let ids: Vec<i64> = {
        let mut stmt =
            tx.prepare("SELECT id FROM job_disc WHERE outcome = 'burning' ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let n = tx.execute(
        "UPDATE job_disc SET outcome = 'rejected', reason = ?1, time = ?2
         WHERE outcome = 'burning'",
        params![reason, now_rfc3339()],
    )?;
    for disc in ids {
        disc_event(&tx, disc, "rejected", reason)?;
    }
    tx.commit()?;
    Ok(n)
}

/// The outcomes of every disc `burner` took, in order (its count is the simulator's position
/// in its stack; the last ones say whether it is paused).
pub fn burner_outcomes(conn: &Connection, burner: &str) -> Result<Vec<String>, ArchiveError> {
    let mut stmt = conn.prepare("SELECT outcome FROM job_disc WHERE burner = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![burner], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

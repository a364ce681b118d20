//! The one way a job's row changes state: inside the caller's transaction, the state is read,
//! the change refused unless the job is in one of the states it may come from, written with
//! the columns every change keeps right, and its event appended (`events.rs`) — so no state
//! change can forget its event or its guard. `jobs.rs`, `triggers.rs` and `mcm.rs` call it.

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::now_rfc3339;
use crate::events::{self, NewEvent};
use crate::jobs::NewJob;
use crate::ArchiveError;

/// What a state change writes besides the state and its time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Move<'a> {
    /// Only while the re-plan counter still is this (the worker's view of the plan).
    pub at_plan: Option<u32>,
    /// Raise the re-plan counter (a late arrival).
    pub replan: bool,
    /// Write the reason and the next action (`None` clears them); otherwise they stay.
    pub reason: Option<Reason<'a>>,
    /// Entering `composing` before any disc is burned dates what the discs will hold
    /// (retention's rule); once a disc is burned a later compose must not move that date
    /// past its content.
    pub date_content: bool,
}

/// A failed or stopped job's reason in plain words and the operator's next action.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Reason<'a> {
    pub error: Option<&'a str>,
    pub next_action: Option<&'a str>,
}

/// The job before a change that was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Moved {
    pub previous: String,
    pub replans: u32,
}

/// Moves job `id` from one of `from` to `to` within `tx`; answers what it was, or `None`
/// (nothing written) when it is not in `from`, its plan moved on, or it does not exist.
/// Staying in the same state (the worker re-asserts `burning` before each disc) writes the
/// row but appends no event.
pub(crate) fn move_job(
    tx: &Connection,
    id: i64,
    from: &[&str],
    to: &str,
    m: &Move<'_>,
) -> Result<Option<Moved>, ArchiveError> {
    let current: Option<(String, u32)> = tx
        .query_row(
            "SELECT state, replans FROM job WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((previous, replans)) = current else {
        return Ok(None);
    };
    if !from.contains(&previous.as_str()) || m.at_plan.is_some_and(|p| p != replans) {
        return Ok(None);
    }
    let reason = m.reason.unwrap_or_default();
    tx.execute(
        "UPDATE job SET state = ?2, updated = ?3, replans = replans + ?4,
            error = CASE WHEN ?5 THEN ?6 ELSE error END,
            next_action = CASE WHEN ?5 THEN ?7 ELSE next_action END,
            composing_started = CASE WHEN ?8 AND ?2 = 'composing' AND NOT EXISTS
                (SELECT 1 FROM job_disc WHERE job = ?1 AND outcome = 'burned')
                THEN ?3 ELSE composing_started END
         WHERE id = ?1",
        params![
            id,
            to,
            now_rfc3339(),
            u32::from(m.replan),
            m.reason.is_some(),
            reason.error,
            reason.next_action,
            m.date_content
        ],
    )?;
    state_event(tx, id, Some(&previous), to, reason.error)?;
    Ok(Some(Moved { previous, replans }))
}

/// Appends the event of job `id` entering `state` from `previous` (none for a new job);
/// nothing when it stays.
pub(crate) fn state_event(
    conn: &Connection,
    id: i64,
    previous: Option<&str>,
    state: &str,
    reason: Option<&str>,
) -> Result<(), ArchiveError> {
    if previous == Some(state) {
        return Ok(());
    }
    events::record(
        conn,
        &NewEvent {
            kind: events::JOB,
            job: Some(id),
            state,
            previous,
            reason,
            ..NewEvent::default()
        },
    )
}

/// Inserts a `queued` job with its event within `tx`; answers its id.
pub(crate) fn insert_queued(tx: &Connection, job: &NewJob) -> Result<i64, ArchiveError> {
    let now = now_rfc3339();
    tx.execute(
        "INSERT INTO job (collection, state, priority, copies, profile, burner, capacity_mb,
                          created, updated)
         VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            job.collection,
            job.priority,
            job.copies,
            job.profile,
            job.burner,
            job.capacity_mb,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    state_event(tx, id, None, "queued", None)?;
    Ok(id)
}

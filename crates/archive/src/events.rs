//! The event log (schema version 3): one row per job state change and per disc a burner took
//! or finished, appended by `jobs.rs` inside the transaction of the change it describes, so
//! the log and the state can never disagree, whichever process (the service's worker, a
//! `dcmdisc job cancel`) made the change. Readers tail it by id: ids only grow
//! (`AUTOINCREMENT`), so "everything after N" is exact, across restarts too.
//!
//! Not here: what an event means to an operator, or how it is delivered (the application and
//! web layers); progress counters, which change many times a second and are read as state.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db::now_rfc3339;
use crate::{lock, ArchiveError, Control};

/// The kinds of event rows.
pub const JOB: &str = "job";
pub const DISC: &str = "disc";

/// What a change appends.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewEvent<'a> {
    pub kind: &'a str,
    pub job: Option<i64>,
    pub disc: Option<i64>,
    pub burner: Option<&'a str>,
    /// A job's new state, or a disc's outcome.
    pub state: &'a str,
    /// A job's state before the change (`None` when it was created).
    pub previous: Option<&'a str>,
    /// A failed job's reason, a rejected disc's.
    pub reason: Option<&'a str>,
}

/// One event, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub time: String,
    pub kind: String,
    pub job: Option<i64>,
    pub disc: Option<i64>,
    pub burner: Option<String>,
    pub state: String,
    pub previous: Option<String>,
    pub reason: Option<String>,
    /// A disc event's volume and copy (from its `job_disc` row).
    pub volume: Option<u32>,
    pub copy: Option<u32>,
}

/// Appends one event; the caller's transaction commits it with the change.
pub(crate) fn record(conn: &Connection, e: &NewEvent<'_>) -> Result<(), ArchiveError> {
    conn.prepare_cached(
        "INSERT INTO event (time, kind, job, disc, burner, state, previous, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now_rfc3339(),
        e.kind,
        e.job,
        e.disc,
        e.burner,
        e.state,
        e.previous,
        e.reason
    ])?;
    Ok(())
}

/// The events after id `after`, oldest first, at most `limit`.
pub fn after(conn: &Connection, after: i64, limit: u32) -> Result<Vec<EventRow>, ArchiveError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.time, e.kind, e.job, e.disc, e.burner, e.state, e.previous, e.reason,
                d.volume, d.copy
         FROM event e LEFT JOIN job_disc d ON d.id = e.disc
         WHERE e.id > ?1 ORDER BY e.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(EventRow {
            id: r.get(0)?,
            time: r.get(1)?,
            kind: r.get(2)?,
            job: r.get(3)?,
            disc: r.get(4)?,
            burner: r.get(5)?,
            state: r.get(6)?,
            previous: r.get(7)?,
            reason: r.get(8)?,
            volume: r.get(9)?,
            copy: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest event's id (0 when there is none).
pub fn latest(conn: &Connection) -> Result<i64, ArchiveError> {
    Ok(conn
        .query_row("SELECT MAX(id) FROM event", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0))
}

impl Control {
    /// The events after id `after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRow>, ArchiveError> {
        self::after(&lock(&self.conn), after, limit)
    }

    /// The newest event's id (0 when there is none).
    pub fn latest_event(&self) -> Result<i64, ArchiveError> {
        latest(&lock(&self.conn))
    }
}

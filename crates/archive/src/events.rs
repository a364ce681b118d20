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
/// A burner's condition (notifications, issue 11): `paused` (with the pause, in its
/// transaction) or `out_of_discs` (the worker found none to take).
pub const BURNER: &str = "burner";
/// The disk holding the data folder: `high_water` when it reached `[retention]
/// high_water_percent`, `normal` when it went below again (written on the change only).
pub const DISK: &str = "disk";
/// Instances the service could not store (A7xx: no space, a storage error): `refused`.
pub const STORE: &str = "store";

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
    let rows = stmt.query_map(params![after, limit], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest `limit` events of job `job`, oldest first (its log, for the job's page).
pub fn of_job(conn: &Connection, job: i64, limit: u32) -> Result<Vec<EventRow>, ArchiveError> {
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM (
            SELECT e.id, e.time, e.kind, e.job, e.disc, e.burner, e.state, e.previous,
                   e.reason, d.volume, d.copy
            FROM event e LEFT JOIN job_disc d ON d.id = e.disc
            WHERE e.job = ?1 ORDER BY e.id DESC LIMIT ?2)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![job, limit], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
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

/// The newest event of `kind`, if any.
pub fn latest_of_kind(conn: &Connection, kind: &str) -> Result<Option<EventRow>, ArchiveError> {
    Ok(conn
        .prepare_cached(
            "SELECT e.id, e.time, e.kind, e.job, e.disc, e.burner, e.state, e.previous,
                    e.reason, d.volume, d.copy
             FROM event e LEFT JOIN job_disc d ON d.id = e.disc
             WHERE e.kind = ?1 ORDER BY e.id DESC LIMIT 1",
        )?
        .query_row(params![kind], read)
        .optional()?)
}

impl Control {
    /// Appends an event that no table change carries (a burner without discs, the disk at
    /// its high-water mark, a refused store), committed at once.
    pub fn append_event(
        &self,
        kind: &str,
        job: Option<i64>,
        burner: Option<&str>,
        state: &str,
        reason: Option<&str>,
    ) -> Result<(), ArchiveError> {
        record(
            &lock(&self.conn),
            &NewEvent {
                kind,
                job,
                burner,
                state,
                reason,
                ..Default::default()
            },
        )
    }

    /// The newest event of `kind`, if any.
    pub fn latest_event_of_kind(&self, kind: &str) -> Result<Option<EventRow>, ArchiveError> {
        latest_of_kind(&lock(&self.conn), kind)
    }

    /// The events after id `after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRow>, ArchiveError> {
        self::after(&lock(&self.conn), after, limit)
    }

    /// The newest `limit` events of job `job`, oldest first.
    pub fn events_of_job(&self, job: i64, limit: u32) -> Result<Vec<EventRow>, ArchiveError> {
        of_job(&lock(&self.conn), job, limit)
    }

    /// The newest event's id (0 when there is none).
    pub fn latest_event(&self) -> Result<i64, ArchiveError> {
        latest(&lock(&self.conn))
    }
}

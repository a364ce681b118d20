//! Storage Commitment reports waiting for delivery (schema version 9): a report its
//! association could not deliver, kept until a peer acknowledges it (then removed: delivered
//! once) or its retries run out. Each change appends a `commitment` event in its own
//! transaction, so the event stream shows what became of every report.
//!
//! When to try again, and what counts as delivered, is the application layer's.

use rusqlite::{params, Connection, OptionalExtension};

use crate::events::{self, NewEvent};
use crate::{lock, ArchiveError, Control};

/// The event kind of a report's changes; its states follow.
pub const EVENT: &str = "commitment";
pub const PENDING: &str = "pending";
pub const RETRY: &str = "retry";
pub const DELIVERED: &str = "delivered";
pub const GIVEN_UP: &str = "given_up";

/// One reference of a report: committed (`failure_reason` `None`) or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRef {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub failure_reason: Option<u16>,
}

/// A report waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReport {
    pub id: i64,
    pub transaction_uid: String,
    /// The AE that asked for it, and the one it asked (our title in the report's association).
    pub calling_ae: String,
    pub called_ae: String,
    /// The address the request came from (for a remote AE whose host is `any`).
    pub peer: String,
    pub refs: Vec<ReportRef>,
    pub next_ms: i64,
    pub deadline_ms: i64,
    pub attempts: u32,
    pub last_error: String,
}

fn event(conn: &Connection, state: &str, reason: &str) -> Result<(), ArchiveError> {
    events::record(
        conn,
        &NewEvent {
            kind: EVENT,
            state,
            reason: Some(reason),
            ..NewEvent::default()
        },
    )
}

/// Keeps a report (its `id` is ignored); answers its id.
pub fn add(conn: &Connection, r: &PendingReport, now_ms: i64) -> Result<i64, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    tx.execute(
        "INSERT INTO commitment_report (transaction_uid, calling_ae, called_ae, peer,
            created_ms, next_ms, deadline_ms, attempts, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.transaction_uid,
            r.calling_ae,
            r.called_ae,
            r.peer,
            now_ms,
            r.next_ms,
            r.deadline_ms,
            r.attempts,
            r.last_error
        ],
    )?;
    let id = tx.last_insert_rowid();
    {
        let mut stmt = tx.prepare(
            "INSERT INTO commitment_report_ref
                (report, position, sop_class_uid, sop_instance_uid, failure_reason)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (k, x) in r.refs.iter().enumerate() {
            stmt.execute(params![
                id,
                k as i64,
                x.sop_class_uid,
                x.sop_instance_uid,
                x.failure_reason
            ])?;
        }
    }
    event(
        &tx,
        PENDING,
        &format!(
            "transaction {} for {}: {}",
            r.transaction_uid, r.calling_ae, r.last_error
        ),
    )?;
    tx.commit()?;
    Ok(id)
}

/// The reports due at `now_ms`, oldest first, at most `limit`.
pub fn due(conn: &Connection, now_ms: i64, limit: u32) -> Result<Vec<PendingReport>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT id, transaction_uid, calling_ae, called_ae, peer, next_ms, deadline_ms,
                attempts, last_error
         FROM commitment_report WHERE next_ms <= ?1 ORDER BY next_ms, id LIMIT ?2",
    )?;
    let mut out: Vec<PendingReport> = stmt
        .query_map(params![now_ms, limit], |r| {
            Ok(PendingReport {
                id: r.get(0)?,
                transaction_uid: r.get(1)?,
                calling_ae: r.get(2)?,
                called_ae: r.get(3)?,
                peer: r.get(4)?,
                refs: Vec::new(),
                next_ms: r.get(5)?,
                deadline_ms: r.get(6)?,
                attempts: r.get(7)?,
                last_error: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut refs = conn.prepare(
        "SELECT sop_class_uid, sop_instance_uid, failure_reason FROM commitment_report_ref
         WHERE report = ?1 ORDER BY position",
    )?;
    for r in &mut out {
        r.refs = refs
            .query_map(params![r.id], |x| {
                Ok(ReportRef {
                    sop_class_uid: x.get(0)?,
                    sop_instance_uid: x.get(1)?,
                    failure_reason: x.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(out)
}

/// When the next report is due (`None`: none waits).
pub fn next_due(conn: &Connection) -> Result<Option<i64>, ArchiveError> {
    Ok(conn
        .query_row("SELECT MIN(next_ms) FROM commitment_report", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten())
}

fn remove(conn: &Connection, id: i64, state: &str, reason: &str) -> Result<bool, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    tx.execute(
        "DELETE FROM commitment_report_ref WHERE report = ?1",
        params![id],
    )?;
    let gone = tx.execute("DELETE FROM commitment_report WHERE id = ?1", params![id])? == 1;
    if gone {
        event(&tx, state, reason)?;
    }
    tx.commit()?;
    Ok(gone)
}

/// The peer acknowledged it: removed, so it is never sent again.
pub fn delivered(conn: &Connection, id: i64, reason: &str) -> Result<bool, ArchiveError> {
    remove(conn, id, DELIVERED, reason)
}

/// Its retries ran out: removed, visibly.
pub fn give_up(conn: &Connection, id: i64, reason: &str) -> Result<bool, ArchiveError> {
    remove(conn, id, GIVEN_UP, reason)
}

/// An attempt failed: the next one at `next_ms`.
pub fn retry(conn: &Connection, id: i64, next_ms: i64, error: &str) -> Result<(), ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let changed = tx.execute(
        "UPDATE commitment_report SET attempts = attempts + 1, next_ms = ?2, last_error = ?3
         WHERE id = ?1",
        params![id, next_ms, error],
    )? == 1;
    if changed {
        let uid: String = tx.query_row(
            "SELECT transaction_uid FROM commitment_report WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        event(&tx, RETRY, &format!("transaction {uid}: {error}"))?;
    }
    tx.commit()?;
    Ok(())
}

impl Control {
    pub fn add_commitment_report(
        &self,
        r: &PendingReport,
        now_ms: i64,
    ) -> Result<i64, ArchiveError> {
        add(&lock(&self.conn), r, now_ms)
    }

    pub fn due_commitment_reports(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<PendingReport>, ArchiveError> {
        due(&lock(&self.conn), now_ms, limit)
    }

    pub fn next_commitment_report(&self) -> Result<Option<i64>, ArchiveError> {
        next_due(&lock(&self.conn))
    }

    pub fn commitment_delivered(&self, id: i64, reason: &str) -> Result<bool, ArchiveError> {
        delivered(&lock(&self.conn), id, reason)
    }

    pub fn commitment_given_up(&self, id: i64, reason: &str) -> Result<bool, ArchiveError> {
        give_up(&lock(&self.conn), id, reason)
    }

    pub fn commitment_retry(&self, id: i64, next_ms: i64, error: &str) -> Result<(), ArchiveError> {
        retry(&lock(&self.conn), id, next_ms, error)
    }
}

//! The control database: remote AE configuration, the instance index with its patient
//! collections, and the extended store log. SQLite in the data directory, WAL mode.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::ArchiveError;

/// Open the control database, creating it or migrating it to the current schema
/// (see schema.rs).
pub fn open(path: &Path, durable: bool) -> Result<Connection, ArchiveError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL syncs the WAL at each commit: the admin commands (`Control`) use it, so a remote AE
    // added is on disk when the command returns. The service's connections use NORMAL: its
    // acknowledgements rest on the archive file's fsync, not on the index (see recover.rs).
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    crate::schema::migrate(&mut conn, path)?;
    Ok(conn)
}

/// Begins a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`).
///
/// Every transaction here reads and then writes. A deferred one reads from a WAL snapshot
/// and upgrades to the write lock at its first write; when another connection (the
/// service, the CLI, the web API) committed in between, SQLite answers SQLITE_BUSY at once
/// without calling the busy handler, so `busy_timeout` never waits and the caller sees
/// "database is locked" (seen in CI: `job cancel` while the worker moved the job). Taking
/// the lock first lets the busy timeout wait its turn instead.
pub fn write_tx(conn: &Connection) -> Result<Transaction<'_>, rusqlite::Error> {
    Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
}

pub use dcmdisc_dicom::datetime::{dicom_date_time, now_rfc3339};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RemoteAe {
    pub ae_title: String,
    pub host: String,
    pub port: Option<u16>,
    pub added: String,
    /// Associations we open to it use DICOM TLS.
    pub tls: bool,
}

pub fn add_remote(
    conn: &Connection,
    ae: &str,
    host: &str,
    port: Option<u16>,
) -> Result<(), ArchiveError> {
    conn.execute(
        "INSERT INTO remote_ae (ae_title, host, port, added) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(ae_title) DO UPDATE SET host = excluded.host, port = excluded.port",
        params![ae, host, port, now_rfc3339()],
    )?;
    Ok(())
}

/// Whether associations we open to `ae` use TLS; false when it has no row.
pub fn set_remote_tls(conn: &Connection, ae: &str, tls: bool) -> Result<bool, ArchiveError> {
    Ok(conn.execute(
        "UPDATE remote_ae SET tls = ?2 WHERE ae_title = ?1",
        params![ae, tls],
    )? > 0)
}

pub fn remove_remote(conn: &Connection, ae: &str) -> Result<bool, ArchiveError> {
    Ok(conn.execute("DELETE FROM remote_ae WHERE ae_title = ?1", params![ae])? > 0)
}

pub fn list_remotes(conn: &Connection) -> Result<Vec<RemoteAe>, ArchiveError> {
    let mut stmt =
        conn.prepare("SELECT ae_title, host, port, added, tls FROM remote_ae ORDER BY ae_title")?;
    let rows = stmt.query_map([], |r| {
        Ok(RemoteAe {
            ae_title: r.get(0)?,
            host: r.get(1)?,
            port: r.get(2)?,
            added: r.get(3)?,
            tls: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteMatch {
    Allowed,
    UnknownAe,
    WrongHost,
}

/// The configured host of a remote AE (an address, a host name or `any`), if it has a row.
/// Matching it against a peer is admission.rs's, outside any database lock.
pub fn remote_host(conn: &Connection, ae: &str) -> Result<Option<String>, ArchiveError> {
    Ok(conn
        .prepare_cached("SELECT host FROM remote_ae WHERE ae_title = ?1")?
        .query_row(params![ae], |r| r.get(0))
        .optional()?)
}

/// The configured host and port of a remote AE, and whether it takes TLS, if it has a row.
pub fn remote_address(
    conn: &Connection,
    ae: &str,
) -> Result<Option<(String, Option<u16>, bool)>, ArchiveError> {
    Ok(conn
        .prepare_cached("SELECT host, port, tls FROM remote_ae WHERE ae_title = ?1")?
        .query_row(params![ae], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// The SOP Class UID and collection of each indexed instance among `uids` (those not
/// indexed are absent).
pub fn indexed_classes(
    conn: &Connection,
    uids: &[&str],
) -> Result<std::collections::HashMap<String, (String, i64)>, ArchiveError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sop_class_uid, patient FROM instance WHERE sop_instance_uid = ?1",
    )?;
    let mut out = std::collections::HashMap::new();
    for uid in uids {
        if let Some(row) = stmt
            .query_row(params![uid], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))
            .optional()?
        {
            out.insert(uid.to_string(), row);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub time: String,
    pub status: String,
    pub calling_ae: String,
    pub peer: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub reason: String,
}

pub fn insert_log(conn: &Connection, e: &LogEntry, status: u16) -> Result<(), ArchiveError> {
    conn.prepare_cached(
        "INSERT INTO store_log
            (time, status, calling_ae, peer, sop_class_uid, sop_instance_uid, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.time,
        status,
        e.calling_ae,
        e.peer,
        e.sop_class_uid,
        e.sop_instance_uid,
        e.reason
    ])?;
    Ok(())
}

/// Which entries of the store log a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    /// 0000 only.
    Success,
    /// Everything but 0000.
    Failure,
    /// One status code.
    Code(u16),
}

/// A filtered listing of the store log: the newest `limit` entries that match every filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub status: Option<LogStatus>,
    pub calling_ae: Option<String>,
    /// RFC 3339 UTC (as the log writes it, `...Z`), or a prefix of one (`2026-12-01`):
    /// entries at or after it.
    pub since: Option<String>,
    pub limit: u32,
}

impl LogQuery {
    /// The newest `limit` entries, unfiltered.
    pub fn newest(limit: u32) -> LogQuery {
        LogQuery {
            status: None,
            calling_ae: None,
            since: None,
            limit,
        }
    }
}

/// The newest `limit` entries, oldest first.
pub fn read_log(conn: &Connection, limit: u32) -> Result<Vec<LogEntry>, ArchiveError> {
    query_log(conn, &LogQuery::newest(limit))
}

/// The newest `q.limit` entries matching `q`, oldest first. The times are written in one
/// fixed-width UTC form, so comparing them as text orders them.
pub fn query_log(conn: &Connection, q: &LogQuery) -> Result<Vec<LogEntry>, ArchiveError> {
    let (status_sql, code) = match q.status {
        None => ("1", None),
        Some(LogStatus::Success) => ("status = 0", None),
        Some(LogStatus::Failure) => ("status <> 0", None),
        Some(LogStatus::Code(c)) => ("status = ?2", Some(c)),
    };
    let sql = format!(
        "SELECT time, status, calling_ae, peer, sop_class_uid, sop_instance_uid, reason
         FROM (SELECT * FROM store_log
               WHERE {status_sql} AND (?3 IS NULL OR calling_ae = ?3)
                 AND (?4 IS NULL OR time >= ?4)
               ORDER BY id DESC LIMIT ?1)
         ORDER BY id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![q.limit, code, q.calling_ae, q.since], |r| {
        Ok(LogEntry {
            time: r.get(0)?,
            status: format!("{:04X}", r.get::<_, u32>(1)?),
            calling_ae: r.get(2)?,
            peer: r.get(3)?,
            sop_class_uid: r.get(4)?,
            sop_instance_uid: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

//! What arrived since a time (the dashboard's "today"): instances and bytes stored, and the
//! store log's failures. Reads only.

use rusqlite::params;
use serde::Serialize;

use crate::{lock, ArchiveError};

/// Counts since a time (RFC 3339 UTC, compared as text as every stored time is written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Received {
    pub instances: u64,
    pub bytes: u64,
    /// Store log entries with a status other than success (0).
    pub failures: u64,
}

impl crate::Control {
    /// What arrived at or after `since`. An instance received again (same SOP Instance UID)
    /// counts once, at its newest receipt: the index keeps one row an instance.
    pub fn received_since(&self, since: &str) -> Result<Received, ArchiveError> {
        let conn = lock(&self.conn);
        let (instances, bytes): (i64, i64) = conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM instance WHERE received >= ?1",
            params![since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let failures: i64 = conn.query_row(
            "SELECT COUNT(*) FROM store_log WHERE time >= ?1 AND status <> 0",
            params![since],
            |r| r.get(0),
        )?;
        Ok(Received {
            instances: instances.max(0) as u64,
            bytes: bytes.max(0) as u64,
            failures: failures.max(0) as u64,
        })
    }
}

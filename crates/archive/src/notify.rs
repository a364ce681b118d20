//! Notification targets' cursors (schema version 10, table `notify_target`): for each
//! configured webhook or mail target, the id of the last event it was sent, and whether its
//! last attempt failed (and why). The notifier advances a cursor only after the target took
//! the notice, so a restart resends at most the notice in flight (at least once), never
//! loses one. Every call is one committed statement.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::db::now_rfc3339;
use crate::{lock, ArchiveError, Control};

/// One target's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyTargetRow {
    pub name: String,
    pub last_event: i64,
    pub failing: bool,
    pub last_error: String,
    pub updated: String,
}

impl Control {
    /// `name`'s cursor, or `None` for a target never run.
    pub fn notify_cursor(&self, name: &str) -> Result<Option<i64>, ArchiveError> {
        Ok(lock(&self.conn)
            .query_row(
                "SELECT last_event FROM notify_target WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// `name` has been sent everything up to event `last_event`; its failure is cleared.
    pub fn set_notify_cursor(&self, name: &str, last_event: i64) -> Result<(), ArchiveError> {
        lock(&self.conn).execute(
            "INSERT INTO notify_target (name, last_event, failing, last_error, updated)
                 VALUES (?1, ?2, 0, '', ?3)
             ON CONFLICT (name) DO UPDATE SET last_event = ?2, failing = 0, last_error = '',
                 updated = ?3",
            params![name, last_event, now_rfc3339()],
        )?;
        Ok(())
    }

    /// `name`'s last attempt failed with `error` (its cursor stays where it was).
    pub fn set_notify_failure(&self, name: &str, error: &str) -> Result<(), ArchiveError> {
        lock(&self.conn).execute(
            "UPDATE notify_target SET failing = 1, last_error = ?2, updated = ?3
             WHERE name = ?1",
            params![name, error, now_rfc3339()],
        )?;
        Ok(())
    }

    /// Every target's row, by name.
    pub fn notify_targets(&self) -> Result<Vec<NotifyTargetRow>, ArchiveError> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare_cached(
            "SELECT name, last_event, failing, last_error, updated FROM notify_target
             ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(NotifyTargetRow {
                name: r.get(0)?,
                last_event: r.get(1)?,
                failing: r.get::<_, i64>(2)? != 0,
                last_error: r.get(3)?,
                updated: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

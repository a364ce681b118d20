//! A burner's pause in the control database (schema version 3, table `burner_state`): the
//! operator's `burner pause`, or the worker's after three rejects in a row, with its reason,
//! and the count of rejects in a row. Every call is one committed statement.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db::now_rfc3339;
use crate::{lock, ArchiveError, Control};

/// One burner's persisted state; a burner without a row is ready with no rejects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BurnerState {
    pub name: String,
    pub paused: bool,
    pub reason: String,
    pub rejects_in_a_row: u32,
    pub updated: String,
}

fn state(conn: &Connection, name: &str) -> Result<BurnerState, ArchiveError> {
    let row = conn
        .query_row(
            "SELECT paused, reason, rejects_in_a_row, updated FROM burner_state WHERE name = ?1",
            params![name],
            |r| {
                Ok(BurnerState {
                    name: name.to_string(),
                    paused: r.get::<_, i64>(0)? != 0,
                    reason: r.get(1)?,
                    rejects_in_a_row: r.get(2)?,
                    updated: r.get(3)?,
                })
            },
        )
        .optional()?;
    Ok(row.unwrap_or_else(|| BurnerState {
        name: name.to_string(),
        ..BurnerState::default()
    }))
}

fn set_paused(conn: &Connection, name: &str, reason: &str) -> Result<(), ArchiveError> {
    conn.execute(
        "INSERT INTO burner_state (name, paused, reason, updated) VALUES (?1, 1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET paused = 1, reason = ?2, updated = ?3",
        params![name, reason, now_rfc3339()],
    )?;
    Ok(())
}

fn resume(conn: &Connection, name: &str) -> Result<(), ArchiveError> {
    conn.execute(
        "INSERT INTO burner_state (name, paused, reason, rejects_in_a_row, updated)
             VALUES (?1, 0, '', 0, ?2)
         ON CONFLICT (name) DO UPDATE SET paused = 0, reason = '', rejects_in_a_row = 0,
             updated = ?2",
        params![name, now_rfc3339()],
    )?;
    Ok(())
}

fn count_reject(conn: &Connection, name: &str) -> Result<u32, ArchiveError> {
    Ok(conn.query_row(
        "INSERT INTO burner_state (name, rejects_in_a_row, updated) VALUES (?1, 1, ?2)
         ON CONFLICT (name) DO UPDATE SET rejects_in_a_row = rejects_in_a_row + 1, updated = ?2
         RETURNING rejects_in_a_row",
        params![name, now_rfc3339()],
        |r| r.get(0),
    )?)
}

fn clear_rejects(conn: &Connection, name: &str) -> Result<(), ArchiveError> {
    conn.execute(
        "UPDATE burner_state SET rejects_in_a_row = 0, updated = ?2
         WHERE name = ?1 AND rejects_in_a_row != 0",
        params![name, now_rfc3339()],
    )?;
    Ok(())
}

impl Control {
    /// `name`'s pause and rejects in a row.
    pub fn burner_state(&self, name: &str) -> Result<BurnerState, ArchiveError> {
        state(&lock(&self.conn), name)
    }

    /// Pauses `name` (again: the reason is replaced); its rejects count is kept.
    /// The pause is written with a `burner` event (state `paused`) in one transaction, so a
    /// notification follows every pause, whoever made it.
    pub fn pause_burner(&self, name: &str, reason: &str) -> Result<(), ArchiveError> {
        let conn = lock(&self.conn);
        let tx = crate::db::write_tx(&conn)?;
        set_paused(&tx, name, reason)?;
        crate::events::record(
            &tx,
            &crate::events::NewEvent {
                kind: crate::events::BURNER,
                burner: Some(name),
                state: "paused",
                reason: Some(reason),
                ..Default::default()
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Ends `name`'s pause and clears its rejects in a row.
    pub fn resume_burner(&self, name: &str) -> Result<(), ArchiveError> {
        resume(&lock(&self.conn), name)
    }

    /// One more reject in a row for `name`; answers the count.
    pub fn count_burner_reject(&self, name: &str) -> Result<u32, ArchiveError> {
        count_reject(&lock(&self.conn), name)
    }

    /// A disc burned: `name`'s rejects in a row start again from 0.
    pub fn clear_burner_rejects(&self, name: &str) -> Result<(), ArchiveError> {
        clear_rejects(&lock(&self.conn), name)
    }
}

//! The web login's tables (schema version 7): users with their role, password hash and API
//! token hash; server-side sessions; the audit log of state-changing actions.
//!
//! Only rows and SQL: hashing, roles, expiry rules and who may do what are the application
//! layer's. Secrets are never stored as given: a password as its Argon2id PHC string, an API
//! token and a session id as their SHA-256 (both are 256 random bits, so a fast hash suffices:
//! a copy of the database then yields no cookie or token anyone can send).

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::db::now_rfc3339;
use crate::{lock, ArchiveError, Control};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    /// Whether an API token was made.
    pub has_token: bool,
    pub created: String,
    pub updated: String,
}

/// A live session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub expires_ms: i64,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub time: String,
    /// The user name, or `cli` for the command line.
    pub actor: String,
    /// The method and path, or the command.
    pub action: String,
    /// Where from: the peer address, or `local`.
    pub peer: String,
    /// The HTTP status answered, or `ok`.
    pub outcome: String,
}

const USER_COLS: &str =
    "name, role, password_hash, token_hash IS NOT NULL, created, updated FROM web_user";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        name: r.get(0)?,
        role: r.get(1)?,
        password_hash: r.get(2)?,
        has_token: r.get(3)?,
        created: r.get(4)?,
        updated: r.get(5)?,
    })
}

impl Control {
    /// Adds a user; `false` when the name is taken (nothing changes).
    pub fn add_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
    ) -> Result<bool, ArchiveError> {
        let now = now_rfc3339();
        let n = lock(&self.conn).execute(
            "INSERT OR IGNORE INTO web_user (name, role, password_hash, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role, password_hash, now],
        )?;
        Ok(n == 1)
    }

    /// Removes a user and their sessions; `false` when there was none.
    pub fn remove_user(&self, name: &str) -> Result<bool, ArchiveError> {
        let conn = lock(&self.conn);
        let tx = crate::db::write_tx(&conn)?;
        tx.execute("DELETE FROM web_session WHERE user = ?1", [name])?;
        let n = tx.execute("DELETE FROM web_user WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Sets a user's password hash and ends their sessions; `false` when there is no user.
    pub fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, ArchiveError> {
        let conn = lock(&self.conn);
        let tx = crate::db::write_tx(&conn)?;
        let n = tx.execute(
            "UPDATE web_user SET password_hash = ?2, updated = ?3 WHERE name = ?1",
            params![name, password_hash, now_rfc3339()],
        )?;
        tx.execute("DELETE FROM web_session WHERE user = ?1", [name])?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Replaces a user's API token hash; `false` when there is no user.
    pub fn set_token(&self, name: &str, token_hash: &str) -> Result<bool, ArchiveError> {
        let n = lock(&self.conn).execute(
            "UPDATE web_user SET token_hash = ?2, updated = ?3 WHERE name = ?1",
            params![name, token_hash, now_rfc3339()],
        )?;
        Ok(n == 1)
    }

    pub fn users(&self) -> Result<Vec<UserRow>, ArchiveError> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare(&format!("SELECT {USER_COLS} ORDER BY name"))?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn user_count(&self) -> Result<u64, ArchiveError> {
        Ok(lock(&self.conn).query_row("SELECT COUNT(*) FROM web_user", [], |r| r.get(0))?)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>, ArchiveError> {
        Ok(lock(&self.conn)
            .query_row(
                &format!("SELECT {USER_COLS} WHERE name = ?1"),
                [name],
                user_row,
            )
            .optional()?)
    }

    /// The user whose API token hashes to `token_hash`.
    pub fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRow>, ArchiveError> {
        Ok(lock(&self.conn)
            .query_row(
                &format!("SELECT {USER_COLS} WHERE token_hash = ?1"),
                [token_hash],
                user_row,
            )
            .optional()?)
    }

    /// Stores a new session (and drops the expired ones, so the table does not grow).
    pub fn add_session(
        &self,
        id_hash: &str,
        user: &str,
        csrf: &str,
        now_ms: i64,
        expires_ms: i64,
        peer: &str,
    ) -> Result<(), ArchiveError> {
        let conn = lock(&self.conn);
        conn.execute("DELETE FROM web_session WHERE expires_ms <= ?1", [now_ms])?;
        conn.execute(
            "INSERT INTO web_session (id_hash, user, csrf, created_ms, expires_ms, peer)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id_hash, user, csrf, now_ms, expires_ms, peer],
        )?;
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, if it has not expired at `now_ms`.
    pub fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRow>, ArchiveError> {
        Ok(lock(&self.conn)
            .query_row(
                "SELECT s.user, u.role, s.csrf, s.expires_ms
                 FROM web_session s JOIN web_user u ON u.name = s.user
                 WHERE s.id_hash = ?1 AND s.expires_ms > ?2",
                params![id_hash, now_ms],
                |r| {
                    Ok(SessionRow {
                        user: r.get(0)?,
                        role: r.get(1)?,
                        csrf: r.get(2)?,
                        expires_ms: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn remove_session(&self, id_hash: &str) -> Result<(), ArchiveError> {
        lock(&self.conn).execute("DELETE FROM web_session WHERE id_hash = ?1", [id_hash])?;
        Ok(())
    }

    /// Appends an audit entry.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        peer: &str,
        outcome: &str,
    ) -> Result<(), ArchiveError> {
        lock(&self.conn).execute(
            "INSERT INTO audit (time, actor, action, peer, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now_rfc3339(), actor, action, peer, outcome],
        )?;
        Ok(())
    }

    /// The newest `limit` audit entries, oldest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditRow>, ArchiveError> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare(
            "SELECT id, time, actor, action, peer, outcome FROM
               (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(AuditRow {
                id: r.get(0)?,
                time: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                peer: r.get(4)?,
                outcome: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `(group, count)` pairs of a metrics query (`metrics.rs` of the app): the store log by
    /// status, jobs by state, rejected discs by burner.
    pub fn counts_by(&self, what: CountBy) -> Result<Vec<(String, u64)>, ArchiveError> {
        let sql = match what {
            CountBy::StoreStatus => {
                "SELECT printf('%04X', status), COUNT(*) FROM store_log GROUP BY status"
            }
            CountBy::JobState => "SELECT state, COUNT(*) FROM job GROUP BY state",
            CountBy::RejectsByBurner => {
                "SELECT burner, COUNT(*) FROM job_disc WHERE outcome = 'rejected' GROUP BY burner"
            }
        };
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The instances in the archive and their bytes.
    pub fn stored_totals(&self) -> Result<(u64, u64), ArchiveError> {
        Ok(lock(&self.conn).query_row(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM instance",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Seconds from creation to the last change of every job that ended (done, failed,
    /// cancelled), with its state.
    pub fn finished_job_seconds(&self) -> Result<Vec<(String, f64)>, ArchiveError> {
        let conn = lock(&self.conn);
        let mut stmt = conn.prepare_cached(
            "SELECT state, MAX(0.0, (julianday(updated) - julianday(created)) * 86400.0)
             FROM job WHERE state IN ('done', 'failed', 'cancelled')",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The groupings [`Control::counts_by`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    StoreStatus,
    JobState,
    RejectsByBurner,
}

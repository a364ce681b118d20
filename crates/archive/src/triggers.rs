//! The trigger's rows (schema version 5): jobs made by rules (`waiting` until their quiet
//! period has passed or their association was released), late arrivals (re-plan, the
//! instance set a job holds), and the mark of the last store the trigger acted on. Every
//! call is one statement or one transaction, committed before it returns; each job state
//! change it makes appends its event in the same transaction, as `jobs.rs` does.

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::now_rfc3339;
use crate::job_moves::{move_job, state_event, Move, Moved, Reason};
use crate::jobs::{job_row, JobRow, NewJob, JOB_COLUMNS};

use crate::{lock, ArchiveError, Control};

/// A job made by a rule: it starts `waiting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleJob {
    pub job: NewJob,
    pub start_mode: String,
    pub starts_at_ms: Option<i64>,
    pub rule: u32,
    pub supplement_of: Option<i64>,
}

/// A successful store the trigger has to look at: its store log row and index row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInstance {
    pub log_id: i64,
    pub collection: i64,
    pub sop_instance_uid: String,
    pub calling_ae: String,
    pub called_ae: String,
    pub modality: Option<String>,
    pub received: String,
}

pub fn create_rule_job(conn: &Connection, new: &NewRuleJob) -> Result<i64, ArchiveError> {
    let now = now_rfc3339();
    let job = &new.job;
    let tx = crate::db::write_tx(conn)?;
    tx.execute(
        "INSERT INTO job (collection, state, priority, copies, profile, burner, capacity_mb,
                          created, updated, start_mode, starts_at_ms, rule, supplement_of)
         VALUES (?1, 'waiting', ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11)",
        params![
            job.collection,
            job.priority,
            job.copies,
            job.profile,
            job.burner,
            job.capacity_mb,
            now,
            new.start_mode,
            new.starts_at_ms,
            new.rule,
            new.supplement_of
        ],
    )?;
    let id = tx.last_insert_rowid();
    state_event(&tx, id, None, "waiting", None)?;
    tx.commit()?;
    Ok(id)
}

/// The collection's newest job that is not cancelled or failed: the one a new instance of
/// the patient concerns. A job of chosen instances (a media creation request's) is not: it
/// never takes more.
pub fn current_job(conn: &Connection, collection: i64) -> Result<Option<JobRow>, ArchiveError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {JOB_COLUMNS} FROM job WHERE collection = ?1
                 AND state NOT IN ('cancelled', 'failed')
                 AND NOT EXISTS (SELECT 1 FROM chosen_instance c WHERE c.job = job.id)
                 ORDER BY id DESC LIMIT 1"
            ),
            params![collection],
            job_row,
        )
        .optional()?)
}

/// A waiting job's start moved to no earlier than `at_ms`; answers whether it was waiting.
pub fn push_back(conn: &Connection, id: i64, at_ms: i64) -> Result<bool, ArchiveError> {
    Ok(conn.execute(
        "UPDATE job SET starts_at_ms = MAX(COALESCE(starts_at_ms, ?2), ?2), updated = ?3
         WHERE id = ?1 AND state = 'waiting'",
        params![id, at_ms, now_rfc3339()],
    )? == 1)
}

/// A waiting job's start set to `at_ms` (`None`: until a release); answers whether it was
/// waiting.
pub fn set_starts_at(conn: &Connection, id: i64, at_ms: Option<i64>) -> Result<bool, ArchiveError> {
    Ok(conn.execute(
        "UPDATE job SET starts_at_ms = ?2, updated = ?3 WHERE id = ?1 AND state = 'waiting'",
        params![id, at_ms, now_rfc3339()],
    )? == 1)
}

/// Waiting jobs waiting for a release that can no longer come (their association ended with
/// the last run) start `at_ms` instead; answers how many.
pub fn release_fallback(conn: &Connection, at_ms: i64) -> Result<usize, ArchiveError> {
    Ok(conn.execute(
        "UPDATE job SET starts_at_ms = ?1, updated = ?2
         WHERE state = 'waiting' AND starts_at_ms IS NULL",
        params![at_ms, now_rfc3339()],
    )?)
}

/// Waiting jobs due at `now_ms` become queued; answers how many.
pub fn queue_due(conn: &Connection, now_ms: i64) -> Result<usize, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let due: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM job
             WHERE state = 'waiting' AND starts_at_ms IS NOT NULL AND starts_at_ms <= ?1
             ORDER BY id",
        )?
        .query_map(params![now_ms], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &due {
        move_job(&tx, *id, &["waiting"], "queued", &Move::default())?;
    }
    tx.commit()?;
    Ok(due.len())
}

/// Does `job`, or a job it supplements (transitively), hold the instance?
pub fn holds(conn: &Connection, job: i64, sop_instance_uid: &str) -> Result<bool, ArchiveError> {
    Ok(conn
        .prepare_cached(
            "WITH RECURSIVE chain(id) AS (
                SELECT ?1
                UNION SELECT j.supplement_of FROM job j JOIN chain c ON j.id = c.id
                      WHERE j.supplement_of IS NOT NULL)
             SELECT EXISTS (SELECT 1 FROM job_instance
                            WHERE job IN (SELECT id FROM chain) AND sop_instance_uid = ?2)",
        )?
        .query_row(params![job, sop_instance_uid], |r| r.get(0))?)
}

/// A late arrival: a job in composing, imaging or validating goes back to composing, its
/// re-plan counter raised (the worker sees it and starts the phase again); answers whether
/// it was in one of those states. One statement, so it cannot cross the worker's move to
/// burning ([`set_job_state_at_plan`]).
pub fn replan(conn: &Connection, id: i64) -> Result<bool, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let moved = move_job(
        &tx,
        id,
        &["composing", "imaging", "validating"],
        "composing",
        &Move {
            replan: true,
            ..Move::default()
        },
    )?;
    tx.commit()?;
    Ok(moved.is_some())
}

/// As [`set_job_state`], only while the re-plan counter is still `replans`.
pub fn set_job_state_at_plan(
    conn: &Connection,
    id: i64,
    from: &[&str],
    state: &str,
    replans: u32,
) -> Result<bool, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let moved = move_job(
        &tx,
        id,
        from,
        state,
        &Move {
            at_plan: Some(replans),
            reason: Some(Reason::default()),
            ..Move::default()
        },
    )?;
    tx.commit()?;
    Ok(moved.is_some())
}

/// The start of composing, in one transaction: the job (in one of `from`) becomes
/// `composing` and its instance set is recorded: every instance of its collection, less
/// those held by the jobs it supplements. Answers the re-plan counter and the set's SOP
/// Instance UIDs, or `None` when the job was not in `from`.
pub fn begin_compose(
    conn: &Connection,
    id: i64,
    from: &[&str],
) -> Result<Option<(u32, Vec<String>)>, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let collection: Option<i64> = tx
        .query_row(
            "SELECT collection FROM job WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(collection) = collection else {
        return Ok(None);
    };
    let moved = move_job(
        &tx,
        id,
        from,
        "composing",
        &Move {
            date_content: true,
            ..Move::default()
        },
    )?;
    let Some(Moved { replans, .. }) = moved else {
        return Ok(None);
    };
    tx.execute("DELETE FROM job_instance WHERE job = ?1", params![id])?;
    // A job made for chosen instances (a media creation request's) holds those still
    // indexed, and never the rest of the collection.
    tx.execute(
        "INSERT INTO job_instance (job, sop_instance_uid)
         SELECT ?1, i.sop_instance_uid FROM instance i
         JOIN chosen_instance c ON c.job = ?1 AND c.sop_instance_uid = i.sop_instance_uid
         WHERE i.patient = ?2",
        params![id, collection],
    )?;
    tx.execute(
        "WITH RECURSIVE chain(id) AS (
            SELECT supplement_of FROM job WHERE id = ?1 AND supplement_of IS NOT NULL
            UNION SELECT j.supplement_of FROM job j JOIN chain c ON j.id = c.id
                  WHERE j.supplement_of IS NOT NULL)
         INSERT INTO job_instance (job, sop_instance_uid)
         SELECT ?1, i.sop_instance_uid FROM instance i WHERE i.patient = ?2
           AND NOT EXISTS (SELECT 1 FROM chosen_instance WHERE job = ?1)
           AND i.sop_instance_uid NOT IN (SELECT ji.sop_instance_uid FROM job_instance ji
                                          WHERE ji.job IN (SELECT id FROM chain))",
        params![id, collection],
    )?;
    let uids = job_instances(&tx, id)?;
    tx.commit()?;
    Ok(Some((replans, uids)))
}

/// The SOP Instance UIDs a job holds, as recorded when it was composed.
pub fn job_instances(conn: &Connection, job: i64) -> Result<Vec<String>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT sop_instance_uid FROM job_instance WHERE job = ?1 ORDER BY sop_instance_uid",
    )?;
    let rows = stmt.query_map(params![job], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last store log row the trigger has acted on (0: none).
pub fn trigger_mark(conn: &Connection) -> Result<i64, ArchiveError> {
    Ok(conn
        .query_row(
            "SELECT store_log_id FROM trigger_mark WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

pub fn set_trigger_mark(conn: &Connection, log_id: i64) -> Result<(), ArchiveError> {
    conn.execute(
        "INSERT INTO trigger_mark (id, store_log_id) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET store_log_id = MAX(store_log_id, excluded.store_log_id)",
        params![log_id],
    )?;
    Ok(())
}

/// The successful stores logged after store log row `after` whose instance is still
/// indexed, in the order they were committed (the store log's row ids: SQLite has one
/// writer at a time, and a store's log row is written in its index transaction), at most
/// `limit`.
pub fn stored_after(
    conn: &Connection,
    after: i64,
    limit: u32,
) -> Result<Vec<StoredInstance>, ArchiveError> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.id, i.patient, i.sop_instance_uid, i.calling_ae, i.called_ae, i.modality,
                i.received
         FROM store_log l JOIN instance i ON i.sop_instance_uid = l.sop_instance_uid
         WHERE l.id > ?1 AND l.status = 0 ORDER BY l.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(StoredInstance {
            log_id: r.get(0)?,
            collection: r.get(1)?,
            sop_instance_uid: r.get(2)?,
            calling_ae: r.get(3)?,
            called_ae: r.get(4)?,
            modality: r.get(5)?,
            received: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest store log row (0: none), for a mark that skips to the end.
pub fn last_log_id(conn: &Connection) -> Result<i64, ArchiveError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM store_log", [], |r| {
            r.get(0)
        })?,
    )
}

/// The collections the instances belong to (each once; unknown UIDs are left out).
pub fn collections_of(conn: &Connection, uids: &[String]) -> Result<Vec<i64>, ArchiveError> {
    let mut stmt =
        conn.prepare_cached("SELECT patient FROM instance WHERE sop_instance_uid = ?1")?;
    let mut out = Vec::new();
    for u in uids {
        if let Some(c) = stmt
            .query_row(params![u], |r| r.get::<_, i64>(0))
            .optional()?
        {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

impl Control {
    pub fn collections_of(&self, uids: &[String]) -> Result<Vec<i64>, ArchiveError> {
        collections_of(&lock(&self.conn), uids)
    }

    pub fn create_rule_job(&self, job: &NewRuleJob) -> Result<i64, ArchiveError> {
        create_rule_job(&lock(&self.conn), job)
    }

    pub fn current_job(&self, collection: i64) -> Result<Option<JobRow>, ArchiveError> {
        current_job(&lock(&self.conn), collection)
    }

    pub fn push_back(&self, id: i64, at_ms: i64) -> Result<bool, ArchiveError> {
        push_back(&lock(&self.conn), id, at_ms)
    }

    pub fn set_starts_at(&self, id: i64, at_ms: Option<i64>) -> Result<bool, ArchiveError> {
        set_starts_at(&lock(&self.conn), id, at_ms)
    }

    pub fn release_fallback(&self, at_ms: i64) -> Result<usize, ArchiveError> {
        release_fallback(&lock(&self.conn), at_ms)
    }

    pub fn queue_due(&self, now_ms: i64) -> Result<usize, ArchiveError> {
        queue_due(&lock(&self.conn), now_ms)
    }

    pub fn holds(&self, job: i64, sop_instance_uid: &str) -> Result<bool, ArchiveError> {
        holds(&lock(&self.conn), job, sop_instance_uid)
    }

    pub fn replan(&self, id: i64) -> Result<bool, ArchiveError> {
        replan(&lock(&self.conn), id)
    }

    pub fn set_job_state_at_plan(
        &self,
        id: i64,
        from: &[&str],
        state: &str,
        replans: u32,
    ) -> Result<bool, ArchiveError> {
        set_job_state_at_plan(&lock(&self.conn), id, from, state, replans)
    }

    pub fn begin_compose(
        &self,
        id: i64,
        from: &[&str],
    ) -> Result<Option<(u32, Vec<String>)>, ArchiveError> {
        begin_compose(&lock(&self.conn), id, from)
    }

    pub fn job_instances(&self, job: i64) -> Result<Vec<String>, ArchiveError> {
        job_instances(&lock(&self.conn), job)
    }

    pub fn trigger_mark(&self) -> Result<i64, ArchiveError> {
        trigger_mark(&lock(&self.conn))
    }

    pub fn set_trigger_mark(&self, log_id: i64) -> Result<(), ArchiveError> {
        set_trigger_mark(&lock(&self.conn), log_id)
    }

    pub fn stored_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredInstance>, ArchiveError> {
        stored_after(&lock(&self.conn), after, limit)
    }

    pub fn last_log_id(&self) -> Result<i64, ArchiveError> {
        last_log_id(&lock(&self.conn))
    }
}

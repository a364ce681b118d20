//! Media Creation Management requests in the control database (schema version 9): what an
//! N-CREATE asked for, the instances it named and the disc jobs its Initiate made, so a
//! restart (a crash included) still answers N-GET on the request and can still initiate one
//! that was only created. Also the jobs with a chosen instance set (`chosen_instance`): a
//! job made for part of a patient collection holds exactly those instances.
//!
//! What the request's values mean (which are honoured, the states of Annex S) is the
//! application layer's; here they are stored and read back.

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::now_rfc3339;
use crate::job_moves::insert_queued;
use crate::jobs::NewJob;
use crate::{lock, ArchiveError, Control};

/// A request's life here: created by N-CREATE, then initiated (it has jobs) or cancelled.
pub const CREATED: &str = "created";
pub const INITIATED: &str = "initiated";
pub const CANCELLED: &str = "cancelled";

/// One instance a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInstance {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub collection: i64,
}

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McmRequest {
    pub instance_uid: String,
    pub calling_ae: String,
    pub copies: u32,
    pub priority: String,
    pub label_text: String,
    pub fileset_id: String,
    pub state: String,
    pub instances: Vec<RequestInstance>,
    /// The jobs its Initiate made, by id.
    pub jobs: Vec<i64>,
}

/// Stores a new request; `false` when one with its SOP Instance UID exists (nothing is
/// written then).
pub fn create_request(conn: &Connection, r: &McmRequest) -> Result<bool, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let added = tx.execute(
        "INSERT OR IGNORE INTO mcm_request
            (instance_uid, calling_ae, copies, priority, label_text, fileset_id, state, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'created', ?7)",
        params![
            r.instance_uid,
            r.calling_ae,
            r.copies,
            r.priority,
            r.label_text,
            r.fileset_id,
            now_rfc3339()
        ],
    )? == 1;
    if !added {
        return Ok(false);
    }
    {
        let mut stmt = tx.prepare(
            "INSERT OR IGNORE INTO mcm_request_instance
                (request, sop_instance_uid, sop_class_uid, collection) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for i in &r.instances {
            stmt.execute(params![
                r.instance_uid,
                i.sop_instance_uid,
                i.sop_class_uid,
                i.collection
            ])?;
        }
    }
    tx.commit()?;
    Ok(true)
}

pub fn request(conn: &Connection, instance_uid: &str) -> Result<Option<McmRequest>, ArchiveError> {
    let Some(mut r) = conn
        .query_row(
            "SELECT instance_uid, calling_ae, copies, priority, label_text, fileset_id, state
             FROM mcm_request WHERE instance_uid = ?1",
            params![instance_uid],
            |r| {
                Ok(McmRequest {
                    instance_uid: r.get(0)?,
                    calling_ae: r.get(1)?,
                    copies: r.get(2)?,
                    priority: r.get(3)?,
                    label_text: r.get(4)?,
                    fileset_id: r.get(5)?,
                    state: r.get(6)?,
                    instances: Vec::new(),
                    jobs: Vec::new(),
                })
            },
        )
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT sop_instance_uid, sop_class_uid, collection FROM mcm_request_instance
         WHERE request = ?1 ORDER BY collection, sop_instance_uid",
    )?;
    r.instances = stmt
        .query_map(params![instance_uid], |row| {
            Ok(RequestInstance {
                sop_instance_uid: row.get(0)?,
                sop_class_uid: row.get(1)?,
                collection: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt =
        conn.prepare("SELECT job FROM mcm_request_job WHERE request = ?1 ORDER BY job")?;
    r.jobs = stmt
        .query_map(params![instance_uid], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some(r))
}

/// Initiate: one queued job per entry of `jobs` (a collection's job and the instances it is
/// to hold), all in one transaction with the request's move to `initiated`. Answers the new
/// jobs' ids, or `None` when the request was not in `created` (nothing is written then).
pub fn initiate(
    conn: &Connection,
    instance_uid: &str,
    jobs: &[(NewJob, Vec<String>)],
) -> Result<Option<Vec<i64>>, ArchiveError> {
    let tx = crate::db::write_tx(conn)?;
    let moved = tx.execute(
        "UPDATE mcm_request SET state = 'initiated' WHERE instance_uid = ?1 AND state = 'created'",
        params![instance_uid],
    )? == 1;
    if !moved {
        return Ok(None);
    }
    let mut ids = Vec::with_capacity(jobs.len());
    for (job, uids) in jobs {
        let id = insert_queued(&tx, job)?;
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO chosen_instance (job, sop_instance_uid) VALUES (?1, ?2)",
        )?;
        for uid in uids {
            stmt.execute(params![id, uid])?;
        }
        tx.execute(
            "INSERT INTO mcm_request_job (request, job) VALUES (?1, ?2)",
            params![instance_uid, id],
        )?;
        ids.push(id);
    }
    tx.commit()?;
    Ok(Some(ids))
}

/// Cancel of a request not initiated; `false` when it was not in `created`.
pub fn cancel_request(conn: &Connection, instance_uid: &str) -> Result<bool, ArchiveError> {
    Ok(conn.execute(
        "UPDATE mcm_request SET state = 'cancelled' WHERE instance_uid = ?1 AND state = 'created'",
        params![instance_uid],
    )? == 1)
}

/// The request that made a job, with its label text and File-set ID (`None`: a job of
/// another origin).
pub fn request_of_job(conn: &Connection, job: i64) -> Result<Option<McmRequest>, ArchiveError> {
    let uid: Option<String> = conn
        .query_row(
            "SELECT request FROM mcm_request_job WHERE job = ?1",
            params![job],
            |r| r.get(0),
        )
        .optional()?;
    match uid {
        Some(u) => request(conn, &u),
        None => Ok(None),
    }
}

/// The instances a job was made for when it holds only some of its collection (`None`: all
/// of it).
pub fn chosen(conn: &Connection, job: i64) -> Result<Option<Vec<String>>, ArchiveError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sop_instance_uid FROM chosen_instance WHERE job = ?1 ORDER BY sop_instance_uid",
    )?;
    let uids: Vec<String> = stmt
        .query_map(params![job], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((!uids.is_empty()).then_some(uids))
}

impl Control {
    pub fn create_mcm_request(&self, r: &McmRequest) -> Result<bool, ArchiveError> {
        create_request(&lock(&self.conn), r)
    }

    pub fn mcm_request(&self, instance_uid: &str) -> Result<Option<McmRequest>, ArchiveError> {
        request(&lock(&self.conn), instance_uid)
    }

    pub fn initiate_mcm_request(
        &self,
        instance_uid: &str,
        jobs: &[(NewJob, Vec<String>)],
    ) -> Result<Option<Vec<i64>>, ArchiveError> {
        initiate(&lock(&self.conn), instance_uid, jobs)
    }

    pub fn cancel_mcm_request(&self, instance_uid: &str) -> Result<bool, ArchiveError> {
        cancel_request(&lock(&self.conn), instance_uid)
    }

    pub fn mcm_request_of_job(&self, job: i64) -> Result<Option<McmRequest>, ArchiveError> {
        request_of_job(&lock(&self.conn), job)
    }

    pub fn chosen_instances(&self, job: i64) -> Result<Option<Vec<String>>, ArchiveError> {
        chosen(&lock(&self.conn), job)
    }
}

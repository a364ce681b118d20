//! The control database's schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`; the newest version is their
//! count. A database made before the schema had a version (user_version 0) holds exactly
//! version 1: version 1 is written with `IF NOT EXISTS` throughout, so applying it to such a
//! database changes nothing, and applying it to an empty one creates it. A database newer than
//! this code is refused rather than used with a schema the code does not know.
//!
//! To change the schema, append a migration (never edit a released one) and update the code
//! that reads and writes the tables.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::ArchiveError;

/// Version 1: the schema as dcmdisc created it before it had versions.
const V1: &str = r#"
CREATE TABLE IF NOT EXISTS remote_ae (
    ae_title TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    port INTEGER,
    added TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS patient (
    id INTEGER PRIMARY KEY,
    patient_name BLOB NOT NULL,
    patient_id TEXT NOT NULL,
    patient_id_generated INTEGER NOT NULL,
    charset TEXT NOT NULL,
    UNIQUE (patient_name, patient_id)
);
CREATE TABLE IF NOT EXISTS instance (
    id INTEGER PRIMARY KEY,
    sop_instance_uid TEXT NOT NULL UNIQUE,
    sop_class_uid TEXT NOT NULL,
    transfer_syntax TEXT NOT NULL,
    patient INTEGER NOT NULL REFERENCES patient(id),
    patient_name BLOB NOT NULL,
    charset TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    patient_id_generated INTEGER NOT NULL,
    birth_date TEXT,
    sex TEXT,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    study_date TEXT,
    study_time TEXT,
    study_id TEXT,
    study_description BLOB,
    accession_number TEXT,
    modality TEXT,
    series_number TEXT,
    instance_number TEXT,
    size INTEGER NOT NULL,
    path TEXT NOT NULL,
    received TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    keys BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS instance_patient ON instance(patient);
CREATE TABLE IF NOT EXISTS store_log (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    status INTEGER NOT NULL,
    calling_ae TEXT NOT NULL,
    peer TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    reason TEXT NOT NULL
);
"#;

/// Version 2: the disc job queue (issue 10). `job` is one collection's discs to make, its
/// state committed before it is acted on; `job_disc` is every disc a burner took for it,
/// including the rejected ones (a row is written as `burning` before the burn starts, so a
/// crash leaves a trace that the next start turns into a reject "interrupted").
const V2: &str = r#"
CREATE TABLE job (
    id INTEGER PRIMARY KEY,
    collection INTEGER NOT NULL,
    state TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('high', 'normal', 'low')),
    copies INTEGER NOT NULL CHECK (copies >= 1),
    profile TEXT,
    burner TEXT,
    capacity_mb INTEGER,
    error TEXT,
    next_action TEXT,
    stage TEXT NOT NULL DEFAULT '',
    items_done INTEGER NOT NULL DEFAULT 0,
    items_total INTEGER NOT NULL DEFAULT 0,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER NOT NULL DEFAULT 0,
    volumes INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX job_state ON job(state);
CREATE TABLE job_disc (
    id INTEGER PRIMARY KEY,
    job INTEGER NOT NULL REFERENCES job(id),
    volume INTEGER NOT NULL,
    copy INTEGER NOT NULL,
    burner TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('burning', 'burned', 'rejected')),
    reason TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL DEFAULT '',
    time TEXT NOT NULL
);
CREATE INDEX job_disc_job ON job_disc(job);
"#;

/// Version 3: retention of the temporary store (issue 10, item 6; see retention.rs).
/// `patient.pinned` keeps a collection whatever the rules say; `job.composing_started` is
/// when the job last started composing before its first disc was burned (its discs hold
/// every instance that arrived before it), `job.stage_started` when its current stage began
/// (the ETA's rate); `removal_file` lists the files of a collection being removed (written
/// before the first file moves, cleared with the index rows), `removed_collection` every
/// removal, with the job folders that go with it.
const V3: &str = r#"
ALTER TABLE patient ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job ADD COLUMN composing_started TEXT;
ALTER TABLE job ADD COLUMN stage_started TEXT;
CREATE TABLE removal_file (
    instance INTEGER PRIMARY KEY,
    collection INTEGER NOT NULL,
    path TEXT NOT NULL
);
CREATE INDEX removal_file_collection ON removal_file(collection);
CREATE TABLE removed_collection (
    id INTEGER PRIMARY KEY,
    collection INTEGER NOT NULL,
    patient_name TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    instances INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    reason TEXT NOT NULL,
    job_dirs TEXT NOT NULL DEFAULT '',
    started TEXT NOT NULL,
    finished TEXT
);
"#;

/// Version 4: a burner's pause (issue 10): `paused` with the operator's or the worker's
/// reason, and the rejects in a row that pause it at three. A burner without a row is
/// ready with no rejects; resume clears both.
const V4: &str = r#"
CREATE TABLE burner_state (
    name TEXT PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    reason TEXT NOT NULL DEFAULT '',
    rejects_in_a_row INTEGER NOT NULL DEFAULT 0,
    updated TEXT NOT NULL
);
"#;

/// Version 5: automatic jobs by rules (issue 10, triggers). The called AE of each instance
/// (the rules match on it); on a job, how it starts (`start_mode` `quiet` or `release`,
/// NULL for a manual job), when a waiting job is due (`starts_at_ms`, Unix milliseconds),
/// the rule that made it, the job it supplements, and a re-plan counter the worker watches;
/// `job_instance`, the instances a job holds (recorded when it is composed); `trigger_mark`,
/// the last store log row the trigger has acted on (so a restart catches up from there).
const V5: &str = r#"
ALTER TABLE instance ADD COLUMN called_ae TEXT NOT NULL DEFAULT '';
ALTER TABLE job ADD COLUMN start_mode TEXT CHECK (start_mode IN ('quiet', 'release'));
ALTER TABLE job ADD COLUMN starts_at_ms INTEGER;
ALTER TABLE job ADD COLUMN rule INTEGER;
ALTER TABLE job ADD COLUMN supplement_of INTEGER REFERENCES job(id);
ALTER TABLE job ADD COLUMN replans INTEGER NOT NULL DEFAULT 0;
CREATE INDEX job_collection ON job(collection);
CREATE TABLE job_instance (
    job INTEGER NOT NULL REFERENCES job(id),
    sop_instance_uid TEXT NOT NULL,
    PRIMARY KEY (job, sop_instance_uid)
) WITHOUT ROWID;
CREATE TABLE trigger_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_log_id INTEGER NOT NULL
);
-- What was stored before rules existed is not acted on.
INSERT INTO trigger_mark (id, store_log_id) SELECT 1, COALESCE(MAX(id), 0) FROM store_log;
"#;

/// Version 6: the event log (`events.rs`), append-only: one row per job state change and per
/// disc a burner took or finished, written in the transaction of the change itself, so a
/// reader tailing it by id (the web API's event stream) sees every state in order, whichever
/// process made the change. `AUTOINCREMENT`: an id is never handed out twice, even after the
/// newest rows were removed, so a client resuming after id N never misses or repeats one.
/// Self-contained (no column of the other tables changes).
const V6: &str = r#"
CREATE TABLE event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    kind TEXT NOT NULL,
    job INTEGER,
    disc INTEGER,
    burner TEXT,
    state TEXT NOT NULL,
    previous TEXT,
    reason TEXT
);
"#;

/// Version 7: `remote_ae.tls` — the remote AE takes DICOM TLS (PS3.15 B.9), so an
/// association dcmdisc opens to it (a Storage Commitment report) runs over TLS.
/// Self-contained: one column with a default, nothing else changes.
const V7: &str = r#"
ALTER TABLE remote_ae ADD COLUMN tls INTEGER NOT NULL DEFAULT 0;
"#;

/// Version 8: the web login (issue 11, `users.rs`): `web_user` (role `operator` or `admin`,
/// the password's Argon2id PHC string, the SHA-256 of its API token), `web_session` (the
/// SHA-256 of each session id, its CSRF token, expiry in Unix milliseconds), `audit` (every
/// state-changing action: who, what, from where, the outcome). Self-contained.
const V8: &str = r#"
CREATE TABLE web_user (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('operator', 'admin')),
    password_hash TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE web_session (
    id_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    peer TEXT NOT NULL
);
CREATE INDEX web_session_user ON web_session(user);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    peer TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"#;

/// Version 9: Media Creation Management requests and Storage Commitment reports that wait for
/// delivery (issue 14), so a restart forgets neither. `mcm_request` (one N-CREATE: its
/// options and whether it was initiated or cancelled), `mcm_request_instance` (the instances
/// it names, each with its patient collection), `mcm_request_job` (the disc jobs its
/// Initiate made, one per collection); `chosen_instance`, the instances a job was asked for when
/// it holds only some of its collection (composing records exactly those); `commitment_report`
/// and `commitment_report_ref`, a report not yet acknowledged by its peer, the next attempt's
/// time and the deadline of its retries (Unix milliseconds). Self-contained: new tables only.
const V9: &str = r#"
CREATE TABLE mcm_request (
    instance_uid TEXT PRIMARY KEY,
    calling_ae TEXT NOT NULL,
    copies INTEGER NOT NULL,
    priority TEXT NOT NULL,
    label_text TEXT NOT NULL DEFAULT '',
    fileset_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('created', 'initiated', 'cancelled')),
    created TEXT NOT NULL
);
CREATE TABLE mcm_request_instance (
    request TEXT NOT NULL REFERENCES mcm_request(instance_uid),
    sop_instance_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    collection INTEGER NOT NULL,
    PRIMARY KEY (request, sop_instance_uid)
) WITHOUT ROWID;
CREATE TABLE mcm_request_job (
    request TEXT NOT NULL REFERENCES mcm_request(instance_uid),
    job INTEGER NOT NULL REFERENCES job(id),
    PRIMARY KEY (request, job)
) WITHOUT ROWID;
CREATE INDEX mcm_request_job_job ON mcm_request_job(job);
CREATE TABLE chosen_instance (
    job INTEGER NOT NULL REFERENCES job(id),
    sop_instance_uid TEXT NOT NULL,
    PRIMARY KEY (job, sop_instance_uid)
) WITHOUT ROWID;
CREATE TABLE commitment_report (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_uid TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    called_ae TEXT NOT NULL,
    peer TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE commitment_report_ref (
    report INTEGER NOT NULL REFERENCES commitment_report(id),
    position INTEGER NOT NULL,
    sop_class_uid TEXT NOT NULL,
    sop_instance_uid TEXT NOT NULL,
    failure_reason INTEGER,
    PRIMARY KEY (report, position)
) WITHOUT ROWID;
"#;

/// Version 10: notifications (issue 11, `notify.rs`): `notify_target`, one row per configured
/// webhook or mail target — the id of the last event it was sent (its cursor, so a restart
/// neither loses nor repeats a notice) and its last failure, for the dashboard.
/// Self-contained: a new table, nothing else changes.
const V10: &str = r#"
CREATE TABLE notify_target (
    name TEXT PRIMARY KEY,
    last_event INTEGER NOT NULL,
    failing INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL
);
"#;

/// In order; see the module comment.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn check(path: &Path, found: i64) -> Result<(), ArchiveError> {
    if (0..=SCHEMA_VERSION).contains(&found) {
        Ok(())
    } else {
        Err(ArchiveError::SchemaVersion {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        })
    }
}

/// Bring the database at `path` (open as `conn`) to `SCHEMA_VERSION`, or refuse it when it is
/// newer. Safe to run from several connections at once: the migrations and the version bump
/// are one write transaction, taken before the version is read again.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), ArchiveError> {
    let found = user_version(conn)?;
    check(path, found)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    check(path, found)?;
    for sql in MIGRATIONS.iter().skip(found as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_database_is_created_at_the_latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'
                 AND name IN ('remote_ae', 'patient', 'instance', 'store_log')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 4);
        // Idempotent: a second open finds it current.
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn newer_and_negative_versions_are_refused() {
        for v in [SCHEMA_VERSION + 1, 99, -1] {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.pragma_update(None, "user_version", v).unwrap();
            let e = migrate(&mut conn, Path::new("x/control.sqlite")).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(&format!("version {v}")), "{msg}");
            assert!(msg.contains(&format!("{SCHEMA_VERSION}")), "{msg}");
            assert!(msg.contains("x/control.sqlite"), "{msg}");
            // Untouched.
            assert_eq!(user_version(&conn).unwrap(), v);
            let tables: i64 = conn
                .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
                .unwrap();
            assert_eq!(tables, 0);
        }
    }
}

//! A control database made by dcmdisc before the schema had versions (user_version 0) is
//! recognised as version 1 and migrated in place: every row stays readable through the public
//! API. A database newer than the code is refused.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::path::Path;

use common::{config, Scratch};
use dcmdisc_archive::{Archive, Control, RemoteMatch, SCHEMA_VERSION};
use rusqlite::Connection;

/// The schema exactly as dcmdisc created it before versions (db.rs at commit 59794cc), kept
/// verbatim: it is the fixture, not the code under test.
const SCHEMA: &str = r#"
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

/// What the pre-version `db::open` did, then a few rows in every table.
fn make_v0_database(dir: &Path) {
    let conn = Connection::open(dir.join("control.sqlite")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    conn.execute_batch(
        r#"
        INSERT INTO remote_ae (ae_title, host, port, added) VALUES
            ('CT1', '10.1.2.3', 104, '2025-11-02T10:00:00.000Z'),
            ('ANYWHERE', 'any', NULL, '2025-11-02T10:01:00.000Z'),
            ('PACS', 'pacs.example.org', 11112, '2025-11-02T10:02:00.000Z');
        INSERT INTO patient (id, patient_name, patient_id, patient_id_generated, charset) VALUES
            (1, CAST('Doe^John' AS BLOB), 'PID-1', 0, ''),
            (2, X'4DFC6C6C65725E48616E73', 'STU-00112233445566FF', 1, 'ISO_IR 100');
        INSERT INTO instance (id, sop_instance_uid, sop_class_uid, transfer_syntax, patient,
            patient_name, charset, patient_id, patient_id_generated, birth_date, sex,
            study_instance_uid, series_instance_uid, study_date, study_time, study_id,
            study_description, accession_number, modality, series_number, instance_number,
            size, path, received, calling_ae, keys) VALUES
            (1, '1.2.3.1.1', '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', 1,
             CAST('Doe^John' AS BLOB), '', 'PID-1', 0, '19700101', 'M', '1.2.3.1', '1.2.3.1.7',
             '20251101', '120000', 'S1', CAST('Head' AS BLOB), 'ACC1', 'CT', '7', '2',
             1000, 'archive/0a/00000000000000000000000000000001.dcm',
             '2025-11-02T11:00:00.000Z', 'CT1', X''),
            (2, '1.2.3.1.2', '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', 1,
             CAST('Doe^John' AS BLOB), '', 'PID-1', 0, NULL, NULL, '1.2.3.1', '1.2.3.1.7',
             NULL, NULL, NULL, NULL, NULL, 'CT', NULL, '1',
             2000, 'archive/0b/00000000000000000000000000000002.dcm',
             '2025-11-02T11:00:01.000Z', 'CT1', X''),
            (3, '1.2.3.2.1', '1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.1.2', 2,
             X'4DFC6C6C65725E48616E73', 'ISO_IR 100', 'STU-00112233445566FF', 1, NULL, NULL,
             '1.2.3.2', '1.2.3.2.1', NULL, NULL, NULL, NULL, NULL, 'OT', NULL, NULL,
             300, 'archive/ff/00000000000000000000000000000003.dcm',
             '2025-11-02T11:00:02.000Z', 'ANYWHERE', X'');
        INSERT INTO store_log (id, time, status, calling_ae, peer, sop_class_uid,
            sop_instance_uid, reason) VALUES
            (1, '2025-11-02T11:00:00.000Z', 0, 'CT1', '10.1.2.3', '1.2.840.10008.5.1.4.1.1.2',
             '1.2.3.1.1', 'stored'),
            (2, '2025-11-02T11:00:05.000Z', 42752, 'CT1', '10.1.2.3',
             '1.2.840.10008.5.1.4.1.1.2', '1.2.3.1.9', 'writing the archive file: disk full'),
            (3, '2025-11-02T11:00:06.000Z', 49152, 'ANYWHERE', '192.0.2.7',
             '1.2.840.10008.5.1.4.1.1.7', '1.2.3.2.9', 'cannot parse dataset: truncated');
        "#,
    )
    .unwrap();
}

fn user_version(dir: &Path) -> i64 {
    let conn = Connection::open(dir.join("control.sqlite")).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn table_sql(dir: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(dir.join("control.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// Every row of the fixture, read through `Control`.
fn check_rows(control: &Control, root: &Path) {
    let remotes = control.remotes().unwrap();
    let got: Vec<_> = remotes
        .iter()
        .map(|r| {
            (
                r.ae_title.as_str(),
                r.host.as_str(),
                r.port,
                r.added.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ANYWHERE", "any", None, "2025-11-02T10:01:00.000Z"),
            ("CT1", "10.1.2.3", Some(104), "2025-11-02T10:00:00.000Z"),
            (
                "PACS",
                "pacs.example.org",
                Some(11112),
                "2025-11-02T10:02:00.000Z"
            ),
        ]
    );

    let cols = control.collections().unwrap();
    assert_eq!(cols.len(), 2);
    assert_eq!(
        (
            cols[0].id,
            cols[0].patient_name.as_str(),
            cols[0].patient_id.as_str()
        ),
        (1, "Doe^John", "PID-1")
    );
    assert!(!cols[0].patient_id_generated);
    assert_eq!(
        (cols[0].studies, cols[0].series, cols[0].instances),
        (1, 1, 2)
    );
    assert_eq!(cols[0].bytes, 3000);
    assert_eq!(cols[1].patient_name, "Müller^Hans");
    assert_eq!(cols[1].patient_id, "STU-00112233445566FF");
    assert!(cols[1].patient_id_generated);
    assert_eq!((cols[1].instances, cols[1].bytes), (1, 300));

    let rows = control.instances(None).unwrap();
    let uids: Vec<_> = rows.iter().map(|r| r.sop_instance_uid.as_str()).collect();
    // Study/series/instance order within each collection: Instance Number 1 before 2.
    assert_eq!(uids, ["1.2.3.1.2", "1.2.3.1.1", "1.2.3.2.1"]);
    let first = &rows[1];
    assert_eq!(first.collection, 1);
    assert_eq!(first.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    assert_eq!(first.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_eq!(first.size, 1000);
    assert_eq!(first.patient_name, "Doe^John");
    assert_eq!(first.patient_id, "PID-1");
    assert_eq!(first.study_instance_uid, "1.2.3.1");
    assert_eq!(first.series_instance_uid, "1.2.3.1.7");
    assert_eq!(first.modality.as_deref(), Some("CT"));
    assert_eq!(first.calling_ae, "CT1");
    assert_eq!(first.received, "2025-11-02T11:00:00.000Z");
    assert_eq!(
        Path::new(&first.path),
        root.join("archive/0a/00000000000000000000000000000001.dcm")
    );
    assert_eq!(rows[2].patient_name, "Müller^Hans");
    assert_eq!(control.instances(Some(2)).unwrap().len(), 1);

    let log = control.log(10).unwrap();
    let got: Vec<_> = log
        .iter()
        .map(|e| {
            (
                e.status.as_str(),
                e.sop_instance_uid.as_str(),
                e.reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("0000", "1.2.3.1.1", "stored"),
            ("A700", "1.2.3.1.9", "writing the archive file: disk full"),
            ("C000", "1.2.3.2.9", "cannot parse dataset: truncated"),
        ]
    );
    assert_eq!(log[2].peer, "192.0.2.7");
    assert_eq!(log[2].calling_ae, "ANYWHERE");
    assert_eq!(log[0].time, "2025-11-02T11:00:00.000Z");
}

#[test]
fn a_database_made_before_versions_is_migrated_and_keeps_every_row() {
    let scratch = Scratch::new("migrate-v0");
    let dir = scratch.path();
    make_v0_database(dir);
    assert_eq!(user_version(dir), 0);
    let before = table_sql(dir);

    let control = Control::open(dir).unwrap();
    assert_eq!(user_version(dir), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 10);
    // Recognised as version 1: no table or index of it changed; version 2 only added the
    // job tables, version 3 the removal tables and one column to `patient` (its version 1
    // columns come first, unchanged), version 4 the burner table, version 5 a column to
    // `instance` and the trigger's tables, version 6 the event log (and SQLite's sequence
    // table its AUTOINCREMENT keeps), version 7 a column to `remote_ae` (TLS), version 8 the
    // web login's tables, version 9 the media creation requests' and commitment reports'.
    let after: Vec<_> = table_sql(dir)
        .into_iter()
        .filter(|(n, _)| {
            !n.starts_with("job")
                && !n.starts_with("remov")
                && !matches!(
                    n.as_str(),
                    "burner_state" | "trigger_mark" | "instance" | "event" | "sqlite_sequence"
                )
                && !n.starts_with("web_")
                && n != "audit"
                && !n.starts_with("mcm_")
                && !n.starts_with("commitment_")
                && n != "chosen_instance"
                && n != "notify_target"
        })
        .map(|(n, sql)| {
            let sql = sql
                .replace(", pinned INTEGER NOT NULL DEFAULT 0", "")
                .replace(", tls INTEGER NOT NULL DEFAULT 0", "");
            (n, sql)
        })
        .collect();
    let kept: Vec<_> = before
        .iter()
        .filter(|(n, _)| n != "instance")
        .cloned()
        .collect();
    assert_eq!(after, kept);
    let removal_tables: Vec<String> = table_sql(dir)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("remov"))
        .collect();
    assert_eq!(
        removal_tables,
        [
            "removal_file",
            "removal_file_collection",
            "removed_collection"
        ]
    );
    let instance = |t: &[(String, String)]| {
        t.iter()
            .find(|(n, _)| n == "instance")
            .map(|(_, s)| s.clone())
            .unwrap()
    };
    // The old columns as they were, the called AE added.
    let (old, new) = (instance(&before), instance(&table_sql(dir)));
    let cols = old.trim_end().strip_suffix(')').unwrap().trim_end();
    assert!(new.starts_with(cols), "{new}");
    assert!(
        new.ends_with(", called_ae TEXT NOT NULL DEFAULT '')"),
        "{new}"
    );
    // What was stored before the rules existed is not acted on.
    let logged = control.log(100).unwrap().len() as i64;
    assert!(logged > 0);
    assert_eq!(control.trigger_mark().unwrap(), logged);
    let job_tables: Vec<String> = table_sql(dir)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("job"))
        .collect();
    assert_eq!(
        job_tables,
        [
            "job",
            "job_collection",
            "job_disc",
            "job_disc_job",
            "job_instance",
            "job_state"
        ]
    );
    // The new tables work on the migrated database.
    let id = control
        .create_job(&dcmdisc_archive::NewJob {
            collection: 1,
            priority: "normal".into(),
            copies: 2,
            profile: None,
            burner: None,
            capacity_mb: None,
        })
        .unwrap();
    assert_eq!(control.job(id).unwrap().unwrap().state, "queued");
    let root = std::fs::canonicalize(dir).unwrap();
    check_rows(&control, &root);
    // It still writes.
    control.add_remote("NEW", "127.0.0.1", None).unwrap();
    assert!(control.remove_remote("NEW").unwrap());
    drop(control);

    // The service opens it too. Recovery drops rows whose file is gone, so the three indexed
    // files are put in place first (their content is never read for indexed rows).
    for rel in [
        "archive/0a/00000000000000000000000000000001.dcm",
        "archive/0b/00000000000000000000000000000002.dcm",
        "archive/ff/00000000000000000000000000000003.dcm",
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"indexed").unwrap();
    }
    let archive = Archive::open(config(dir)).unwrap();
    let peer: IpAddr = "10.1.2.3".parse().unwrap();
    assert_eq!(
        archive.match_remote("CT1", peer).unwrap(),
        RemoteMatch::Allowed
    );
    assert_eq!(
        archive
            .match_remote("CT1", "10.1.2.4".parse().unwrap())
            .unwrap(),
        RemoteMatch::WrongHost
    );
    assert_eq!(
        archive.match_remote("ANYWHERE", peer).unwrap(),
        RemoteMatch::Allowed
    );
    assert_eq!(
        archive.match_remote("NOBODY", peer).unwrap(),
        RemoteMatch::UnknownAe
    );
    common::close(archive);
    check_rows(&Control::open(dir).unwrap(), &root);
    assert_eq!(user_version(dir), SCHEMA_VERSION);
}

#[test]
fn an_empty_folder_gets_the_latest_schema() {
    let scratch = Scratch::new("migrate-empty");
    let dir = scratch.path();
    let control = Control::open(dir).unwrap();
    assert_eq!(user_version(dir), SCHEMA_VERSION);
    assert!(control.remotes().unwrap().is_empty());
    assert!(control.collections().unwrap().is_empty());
    assert!(control.log(10).unwrap().is_empty());
    // The pre-version schema's tables, the job tables of version 2, the event log of 3.
    let names: Vec<String> = table_sql(dir).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "audit",
            "burner_state",
            "chosen_instance",
            "commitment_report",
            "commitment_report_ref",
            "event",
            "instance",
            "instance_patient",
            "job",
            "job_collection",
            "job_disc",
            "job_disc_job",
            "job_instance",
            "job_state",
            "mcm_request",
            "mcm_request_instance",
            "mcm_request_job",
            "mcm_request_job_job",
            "notify_target",
            "patient",
            "remote_ae",
            "removal_file",
            "removal_file_collection",
            "removed_collection",
            "sqlite_sequence",
            "store_log",
            "trigger_mark",
            "web_session",
            "web_session_user",
            "web_user"
        ]
    );
}

#[test]
fn a_database_newer_than_the_code_is_refused() {
    let scratch = Scratch::new("migrate-newer");
    let dir = scratch.path();
    make_v0_database(dir);
    let newer = SCHEMA_VERSION + 1;
    Connection::open(dir.join("control.sqlite"))
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let msg = match Control::open(dir) {
        Ok(_) => panic!("a version {newer} database was opened"),
        Err(e) => e.to_string(),
    };
    assert!(msg.contains(&format!("version {newer}")), "{msg}");
    assert!(
        msg.contains(&format!("versions up to {SCHEMA_VERSION}")),
        "{msg}"
    );
    assert!(msg.contains("control.sqlite"), "{msg}");
    assert!(Archive::open(config(dir)).is_err());
    // Left as it was.
    assert_eq!(user_version(dir), newer);
}

#[test]
fn a_version_1_database_gets_the_job_tables_and_keeps_its_rows() {
    let scratch = Scratch::new("migrate-v1");
    let dir = scratch.path();
    make_v0_database(dir);
    Connection::open(dir.join("control.sqlite"))
        .unwrap()
        .pragma_update(None, "user_version", 1)
        .unwrap();
    let control = Control::open(dir).unwrap();
    assert_eq!(user_version(dir), SCHEMA_VERSION);
    let root = std::fs::canonicalize(dir).unwrap();
    check_rows(&control, &root);
    assert!(control.jobs().unwrap().is_empty());
    let job = dcmdisc_archive::NewJob {
        collection: 2,
        priority: "low".into(),
        copies: 1,
        profile: Some("STD-GEN-CD".into()),
        burner: Some("folder".into()),
        capacity_mb: Some(10),
    };
    let low = control.create_job(&job).unwrap();
    let high = control
        .create_job(&dcmdisc_archive::NewJob {
            priority: "high".into(),
            ..job.clone()
        })
        .unwrap();
    let normal = control
        .create_job(&dcmdisc_archive::NewJob {
            priority: "normal".into(),
            ..job.clone()
        })
        .unwrap();
    let order: Vec<i64> = control
        .jobs_in(&["queued"])
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(order, [high, normal, low]);
    // A state moves only from the states named.
    assert!(!control
        .set_job_state(low, &["burning"], "done", None, None)
        .unwrap());
    assert!(control
        .set_job_state(low, &["queued"], "failed", Some("why"), Some("what next"))
        .unwrap());
    let row = control.job(low).unwrap().unwrap();
    assert_eq!(
        (
            row.state.as_str(),
            row.error.as_deref(),
            row.next_action.as_deref()
        ),
        ("failed", Some("why"), Some("what next"))
    );
    // A disc left burning is what a crash leaves; it becomes a reject.
    let disc = control.begin_disc(high, 1, 1, "folder").unwrap();
    assert_eq!(control.reject_interrupted("interrupted").unwrap(), 1);
    let d = &control.discs(high).unwrap()[0];
    assert_eq!(
        (d.id, d.outcome.as_str(), d.reason.as_str()),
        (disc, "rejected", "interrupted")
    );
    drop(control);
    // Reopened: all of it is on disk.
    let control = Control::open(dir).unwrap();
    assert_eq!(control.jobs().unwrap().len(), 3);
    assert_eq!(control.burner_outcomes("folder").unwrap(), ["rejected"]);
}

use super::*;
use crate::jobs::{self, JobRequest, Worker};
use crate::shutdown::Shutdown;
use crate::testutil::{two_collections, TempDir};

fn run_jobs(cfg: &Config) {
    let mut w = Worker::open(cfg).unwrap();
    for _ in 0..10 {
        if w.run_next(&Shutdown::new()).unwrap().is_none() {
            return;
        }
    }
}

fn done_job(cfg: &Config, db: &ControlDb) -> i64 {
    let id = jobs::create(
        cfg,
        db,
        &JobRequest {
            collection: 1,
            copies: 1,
            burner: Some("sim".into()),
            capacity_mb: Some(1),
            ..JobRequest::default()
        },
    )
    .unwrap();
    run_jobs(cfg);
    assert_eq!(jobs::show(cfg, db, id).unwrap().state, "done");
    id
}

fn burned_sha(cfg: &Config, db: &ControlDb, id: i64) -> Vec<(u32, String)> {
    let mut v: Vec<_> = jobs::show(cfg, db, id)
        .unwrap()
        .discs
        .into_iter()
        .filter(|d| d.outcome == "burned")
        .map(|d| (d.volume, d.sha256))
        .collect();
    v.sort();
    v
}

#[test]
fn a_copy_burns_the_done_jobs_checked_images_again() {
    let tmp = TempDir::new("copy-reuse");
    let (cfg, db) = two_collections(&tmp, 3);
    let first = done_job(&cfg, &db);
    let got = copy(&cfg, &db, first, 2).unwrap();
    assert!(got.reused_images);
    assert_eq!(got.from, first);
    // It holds what the done job's discs hold (a late arrival is judged against it).
    let held = db.control().job_instances(first).unwrap();
    assert_eq!(held.len(), 3);
    assert_eq!(db.control().job_instances(got.id).unwrap(), held);
    let job = jobs::show(&cfg, &db, got.id).unwrap();
    assert_eq!(job.state, "burning", "no composing");
    assert_eq!(job.copies, 2);
    run_jobs(&cfg);
    let job = jobs::show(&cfg, &db, got.id).unwrap();
    assert_eq!(job.state, "done", "{:?}", job.error);
    // Burning records its progress as the stage "burning"; a compose would have left one of
    // the export's stages.
    assert!(
        job.stage.is_empty() || job.stage == "burning",
        "it never composed: {}",
        job.stage
    );
    let old = burned_sha(&cfg, &db, first);
    let new = burned_sha(&cfg, &db, got.id);
    assert_eq!(new.len(), old.len() * 2);
    for (v, sha) in &new {
        assert!(old.contains(&(*v, sha.clone())), "volume {v}: {sha}");
    }
    // It covers the collection as the first one did (retention's rule).
    let facts = db
        .control()
        .retention_facts(Some(1), &["done", "failed", "cancelled"])
        .unwrap();
    assert_eq!(facts[0].covering_job.as_ref().map(|c| c.0), Some(got.id));
}

/// The copy is created, given its manifest and moved to `burning` in one step: when its
/// manifest cannot be written there is no job at all — never one left `queued` for the worker
/// to compose anew into other bytes (seen in CI: the worker took the copy between its
/// creation and its move, and its discs differed from the done job's).
#[test]
fn a_copy_whose_manifest_cannot_be_written_leaves_no_job() {
    let tmp = TempDir::new("copy-atomic");
    let (cfg, db) = two_collections(&tmp, 2);
    let first = done_job(&cfg, &db);
    // The next job's folder is taken by a file: its manifest cannot be written.
    let blocked = job_dir(&cfg.archive.data_dir, first + 1);
    std::fs::write(&blocked, b"not a folder").unwrap();
    let err = copy(&cfg, &db, first, 1).unwrap_err();
    assert!(err.to_string().contains("volumes.tsv"), "{err}");
    let ids: Vec<i64> = jobs::list(&cfg, &db)
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![first]);
    assert_eq!(std::fs::read(&blocked).unwrap(), b"not a folder");
    // Once the way is clear the copy burns the done job's images.
    std::fs::remove_file(&blocked).unwrap();
    let got = copy(&cfg, &db, first, 1).unwrap();
    assert!(got.reused_images);
    assert_eq!(jobs::show(&cfg, &db, got.id).unwrap().state, "burning");
}

#[test]
fn an_image_that_changed_is_not_reused_the_copy_composes_anew() {
    let tmp = TempDir::new("copy-changed");
    let (cfg, db) = two_collections(&tmp, 2);
    let first = done_job(&cfg, &db);
    let images = job_dir(&cfg.archive.data_dir, first).join("images");
    let iso = std::fs::read_dir(&images)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "iso"))
        .unwrap();
    let mut bytes = std::fs::read(&iso).unwrap();
    bytes[40_000] ^= 1;
    std::fs::write(&iso, bytes).unwrap();
    let got = copy(&cfg, &db, first, 1).unwrap();
    assert!(!got.reused_images);
    assert_eq!(jobs::show(&cfg, &db, got.id).unwrap().state, "queued");
    run_jobs(&cfg);
    let job = jobs::show(&cfg, &db, got.id).unwrap();
    assert_eq!(job.state, "done", "{:?}", job.error);
    // Composed from the archive: the same content as the first job's discs.
    assert_eq!(
        burned_sha(&cfg, &db, got.id).len(),
        burned_sha(&cfg, &db, first).len()
    );
}

#[test]
fn after_retention_removed_the_collection_a_copy_fails_with_the_reason() {
    let tmp = TempDir::new("copy-removed");
    let (cfg, db) = two_collections(&tmp, 1);
    let first = done_job(&cfg, &db);
    let report = crate::retention::pass(&cfg, &db, false).unwrap();
    assert!(report
        .decisions
        .iter()
        .any(|d| d.collection == 1 && d.outcome.as_deref() == Some("removed")));
    let e = copy(&cfg, &db, first, 1).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, AppError::CollectionRemoved { .. }), "{msg}");
    assert!(msg.contains("retention removed collection 1"), "{msg}");
    assert_eq!(db.control().jobs().unwrap().len(), 1, "no job was made");
}

#[test]
fn only_a_done_job_can_be_copied() {
    let tmp = TempDir::new("copy-state");
    let (cfg, db) = two_collections(&tmp, 1);
    let id = jobs::create(
        &cfg,
        &db,
        &JobRequest {
            collection: 2,
            copies: 1,
            ..JobRequest::default()
        },
    )
    .unwrap();
    assert!(matches!(
        copy(&cfg, &db, id, 1),
        Err(AppError::JobState { .. })
    ));
    assert!(matches!(
        copy(&cfg, &db, 99, 1),
        Err(AppError::NoSuchJob(99))
    ));
    assert!(matches!(copy(&cfg, &db, id, 0), Err(AppError::Copies)));
}

//! Retention's removal of a collection (retention.rs): the guard's rules, and a crash after
//! each step — the removal stopped there by the fault-injection hook, then the archive opened
//! again (start-up recovery) — leaves the whole collection gone, never a part of it indexed,
//! no row without its file, no file without its row, and the other collections untouched.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::ops::ControlFlow;
use std::path::Path;

use common::{archive_files, config, Scratch, Spec};
use dcmdisc_archive::{Archive, Control, Removal, RemovalStep};

const FINALS: &[&str] = &["done", "failed", "cancelled"];

/// Stores `n` instances of patient `id` (collection named `id`), arrived long ago.
fn store_patient(archive: &std::sync::Arc<Archive>, id: &str, n: u32) {
    for k in 1..=n {
        let mut s = Spec::new(
            &format!("1.2.826.0.1.3680043.10.1234.9.{}.{k}", id_num(id)),
            &format!("{id}^Patient"),
            id,
        );
        s.pixel_bytes = 5000;
        common::store(archive, &s).unwrap();
    }
}

fn id_num(id: &str) -> u32 {
    id.bytes().map(u32::from).sum()
}

fn collection_of(control: &Control, patient_id: &str) -> Option<i64> {
    control
        .collections()
        .unwrap()
        .into_iter()
        .find(|c| c.patient_id == patient_id)
        .map(|c| c.id)
}

/// A job of `collection` taken through composing to `state`.
fn job(control: &Control, collection: i64, state: &str) -> i64 {
    let id = control.create_job(&common::new_job(collection)).unwrap();
    assert!(control
        .set_job_state(id, &["queued"], "composing", None, None)
        .unwrap());
    assert!(control
        .set_job_state(id, &["composing"], state, None, None)
        .unwrap());
    id
}

/// Every instance arrived a year ago (so a job composed now covers them).
fn arrived_long_ago(dir: &Path) {
    common::sql(
        dir,
        "UPDATE instance SET received = '2025-01-01T00:00:00.000Z'",
    );
}

struct World {
    scratch: Scratch,
    a: i64,
    b: i64,
    a_files: Vec<std::path::PathBuf>,
}

/// Collections A (3 instances, a done job, a job folder) and B (2 instances, never burned).
fn world(name: &str) -> World {
    let scratch = Scratch::new(name);
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let before: Vec<_> = archive_files(dir);
    store_patient(&archive, "PA", 3);
    let a_files: Vec<_> = archive_files(dir)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    store_patient(&archive, "PB", 2);
    common::close(archive);
    arrived_long_ago(dir);
    let control = Control::open(dir).unwrap();
    let a = collection_of(&control, "PA").unwrap();
    let b = collection_of(&control, "PB").unwrap();
    let j = job(&control, a, "done");
    let jd = dir.join("jobs").join(format!("job{j}")).join("images");
    std::fs::create_dir_all(&jd).unwrap();
    std::fs::write(jd.join("VOL001.iso"), b"image").unwrap();
    assert_eq!(a_files.len(), 3);
    World {
        scratch,
        a,
        b,
        a_files,
    }
}

fn job_dirs(control: &Control, collection: i64) -> Vec<String> {
    control
        .jobs()
        .unwrap()
        .into_iter()
        .filter(|j| j.collection == collection)
        .map(|j| format!("jobs/job{}", j.id))
        .collect()
}

fn remove(control: &Control, c: i64, stop: Option<RemovalStep>) -> Removal {
    let dirs = job_dirs(control, c);
    control
        .remove_collection(c, FINALS, &dirs, "test", &mut |s| {
            if Some(s) == stop {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap()
}

/// Every row's file exists, every file of archive/ has its row.
fn consistent(dir: &Path) {
    let control = Control::open(dir).unwrap();
    let rows = control.instances(None).unwrap();
    for r in &rows {
        assert!(
            Path::new(&r.path).is_file(),
            "row without its file: {}",
            r.path
        );
    }
    let files = archive_files(dir);
    let root = std::fs::canonicalize(dir).unwrap();
    for f in &files {
        let abs = root.join(f.strip_prefix(dir).unwrap());
        assert!(
            rows.iter().any(|r| Path::new(&r.path) == abs),
            "file without its row: {}",
            f.display()
        );
    }
}

fn trash_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("trash"))
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

#[test]
fn a_covered_collection_is_removed_with_its_job_folders_and_nothing_else() {
    let w = world("retention-remove");
    let dir = w.scratch.path();
    let control = Control::open(dir).unwrap();
    let bytes = control.retention_facts(Some(w.a), FINALS).unwrap()[0].bytes;
    assert_eq!(
        remove(&control, w.a, None),
        Removal::Removed {
            instances: 3,
            bytes
        }
    );
    assert_eq!(collection_of(&control, "PA"), None);
    assert!(collection_of(&control, "PB").is_some());
    for f in &w.a_files {
        assert!(!f.exists(), "{} is still there", f.display());
    }
    assert!(!dir.join("jobs").join("job1").exists());
    assert!(trash_is_empty(dir));
    let removed = control.removed_collections(10).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].patient_id, "PA");
    assert!(removed[0].finished.is_some());
    // A job composed before the removal can tell.
    assert!(control
        .removed_since(w.a, "2025-06-01T00:00:00.000Z")
        .unwrap()
        .is_some());
    drop(control);
    // Recovery finds nothing to bring back.
    common::close(Archive::open(config(dir)).unwrap());
    let control = Control::open(dir).unwrap();
    assert_eq!(collection_of(&control, "PA"), None);
    assert_eq!(control.instances(None).unwrap().len(), 2);
    consistent(dir);
}

#[test]
fn the_guard_keeps_pinned_unfinished_unburned_and_later_arrivals() {
    let w = world("retention-guard");
    let dir = w.scratch.path();
    let control = Control::open(dir).unwrap();
    let refused = |c| match remove(&control, c, None) {
        Removal::Refused(why) => why,
        other => panic!("{other:?}"),
    };
    // Never burned.
    assert!(refused(w.b).contains("never burned"), "{}", refused(w.b));
    // A job not final, even beside a done one.
    let j = job(&control, w.a, "burning");
    assert_eq!(refused(w.a), format!("job {j} is burning"));
    assert!(control
        .set_job_state(j, &["burning"], "failed", Some("x"), None)
        .unwrap());
    // Pinned.
    assert!(control.set_pinned(w.a, true).unwrap());
    assert!(control.collections().unwrap().iter().any(|c| c.pinned));
    assert_eq!(refused(w.a), "pinned");
    assert!(control.set_pinned(w.a, false).unwrap());
    assert!(!control.set_pinned(999, true).unwrap());
    // An instance that arrived after the done job's composing started.
    drop(control);
    common::sql(
        dir,
        "UPDATE instance SET received = '2999-01-01T00:00:00.000Z'
         WHERE id = (SELECT MAX(id) FROM instance WHERE patient_id = 'PA')",
    );
    let control = Control::open(dir).unwrap();
    let why = match remove(&control, w.a, None) {
        Removal::Refused(why) => why,
        other => panic!("{other:?}"),
    };
    assert!(why.contains("arrived after job 1"), "{why}");
    // Within the arrival margin of the composing start: still not covered.
    drop(control);
    common::sql(
        dir,
        "UPDATE instance SET received = '2025-01-01T00:00:00.000Z';
         UPDATE job SET composing_started = '2025-01-01T00:00:01.999Z' WHERE id = 1;",
    );
    let control = Control::open(dir).unwrap();
    assert!(matches!(remove(&control, w.a, None), Removal::Refused(_)));
    drop(control);
    common::sql(
        dir,
        "UPDATE job SET composing_started = '2025-01-01T00:00:02.000Z' WHERE id = 1",
    );
    let control = Control::open(dir).unwrap();
    assert!(matches!(
        remove(&control, w.a, None),
        Removal::Removed { .. }
    ));
    // Nothing of the others moved.
    assert_eq!(control.instances(None).unwrap().len(), 2);
    consistent(dir);
}

#[test]
fn a_crash_after_any_step_leaves_the_whole_collection_gone_after_recovery() {
    let steps = [
        RemovalStep::Marked,
        RemovalStep::MovedFiles(1),
        RemovalStep::MovedFiles(2),
        RemovalStep::MovedFiles(3),
        RemovalStep::MovedJobFolders,
        RemovalStep::Forgotten,
        RemovalStep::Purged,
    ];
    for step in steps {
        let w = world(&format!("retention-crash-{step:?}"));
        let dir = w.scratch.path();
        let control = Control::open(dir).unwrap();
        assert_eq!(remove(&control, w.a, Some(step)), Removal::Stopped(step));
        // Already hidden: no listing or export sees a part of it.
        assert_eq!(collection_of(&control, "PA"), None, "{step:?}");
        assert!(control
            .instances(None)
            .unwrap()
            .iter()
            .all(|r| r.patient_id == "PB"));
        drop(control);
        // The restart.
        common::close(Archive::open(config(dir)).unwrap());
        let control = Control::open(dir).unwrap();
        assert_eq!(collection_of(&control, "PA"), None, "{step:?}");
        let rows = control.instances(None).unwrap();
        assert_eq!(rows.len(), 2, "{step:?}: {rows:?}");
        for f in &w.a_files {
            assert!(!f.exists(), "{step:?}: {} is still there", f.display());
        }
        assert!(!dir.join("jobs").join("job1").exists(), "{step:?}");
        assert!(trash_is_empty(dir), "{step:?}");
        assert!(control.removed_collections(10).unwrap()[0]
            .finished
            .is_some());
        // No trace left for the next start to act on.
        let n: i64 = rusqlite::Connection::open(dir.join("control.sqlite"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM removal_file", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{step:?}");
        consistent(dir);
        let _ = w.b;
    }
}

#[test]
fn a_crash_after_marking_is_finished_by_the_next_pass_too() {
    let w = world("retention-next-pass");
    let dir = w.scratch.path();
    let control = Control::open(dir).unwrap();
    assert_eq!(
        remove(&control, w.a, Some(RemovalStep::MovedFiles(2))),
        Removal::Stopped(RemovalStep::MovedFiles(2))
    );
    // Being removed: a second removal is refused, the pass finishes the first.
    assert!(matches!(remove(&control, w.a, None), Removal::Refused(_)));
    assert_eq!(control.finish_removals().unwrap(), 1);
    assert_eq!(control.finish_removals().unwrap(), 0);
    assert_eq!(control.instances(None).unwrap().len(), 2);
    assert!(trash_is_empty(dir));
    consistent(dir);
}

#[test]
fn an_instance_arriving_during_a_removal_stays_with_its_collection() {
    let w = world("retention-arrival");
    let dir = w.scratch.path();
    let control = Control::open(dir).unwrap();
    assert_eq!(
        remove(&control, w.a, Some(RemovalStep::MovedFiles(1))),
        Removal::Stopped(RemovalStep::MovedFiles(1))
    );
    drop(control);
    // A new instance of the same patient arrives (the service is running).
    let archive = Archive::open(config(dir)).unwrap();
    common::close(archive);
    // Recovery above finished the removal; now one arrives between a mark and its forget.
    let archive = Archive::open(config(dir)).unwrap();
    store_patient(&archive, "PC", 2);
    common::close(archive);
    arrived_long_ago(dir);
    let control = Control::open(dir).unwrap();
    let c = collection_of(&control, "PC").unwrap();
    job(&control, c, "done");
    let archive = Archive::open(config(dir)).unwrap();
    let mut late = Spec::new("1.2.826.0.1.3680043.10.1234.9.77.1", "PC^Patient", "PC");
    late.pixel_bytes = 10;
    let dirs = job_dirs(&control, c);
    let got = control
        .remove_collection(c, FINALS, &dirs, "test", &mut |s| {
            if s == RemovalStep::MovedFiles(1) {
                common::store(&archive, &late).unwrap();
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(
        matches!(got, Removal::Removed { instances: 2, .. }),
        "{got:?}"
    );
    common::close(archive);
    let rows: Vec<_> = control
        .instances(None)
        .unwrap()
        .into_iter()
        .filter(|r| r.patient_id == "PC")
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sop_instance_uid, late.sop_instance_uid);
    assert_eq!(collection_of(&control, "PC"), Some(c));
    consistent(dir);
}

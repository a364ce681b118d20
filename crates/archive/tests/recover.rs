//! Start-up recovery in process: the index is made to agree with the archive folder as a
//! power loss or crash would have left them. A complete (sealed) file the index lacks is
//! re-indexed; a file cut short or never completed is removed; a row whose file is gone is
//! dropped, with its collection when that was its last instance.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{archive_files, config, Scratch, Spec};
use dcmdisc_archive::{Archive, Control};

fn uids(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = Control::open(dir)
        .unwrap()
        .instances(None)
        .unwrap()
        .into_iter()
        .map(|r| r.sop_instance_uid)
        .collect();
    v.sort();
    v
}

fn sibling(p: &Path, stem: &str) -> PathBuf {
    p.with_file_name(format!("{stem}.dcm"))
}

#[test]
fn a_complete_file_missing_from_the_index_is_indexed_again() {
    let scratch = Scratch::new("recover-reindex");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let mut a = Spec::new("1.2.826.0.1.3680043.10.1234.2.1", "Lost^Row", "PID-A");
    a.pixel_bytes = 100_000;
    let b = Spec::new("1.2.826.0.1.3680043.10.1234.2.2", "Kept^Row", "PID-B");
    let stored_a = common::store(&archive, &a).unwrap();
    common::store(&archive, &b).unwrap();
    common::close(archive);

    // A power loss took the last index commit: the file is there, its row is not.
    common::sql(
        dir,
        "DELETE FROM instance WHERE sop_instance_uid = '1.2.826.0.1.3680043.10.1234.2.1';
         DELETE FROM patient WHERE patient_id = 'PID-A';",
    );
    assert_eq!(uids(dir), [b.sop_instance_uid.as_str()]);

    let archive = Archive::open(config(dir)).unwrap();
    assert_eq!(
        uids(dir),
        [a.sop_instance_uid.as_str(), b.sop_instance_uid.as_str()]
    );
    let control = Control::open(dir).unwrap();
    let row = control
        .instances(None)
        .unwrap()
        .into_iter()
        .find(|r| r.sop_instance_uid == a.sop_instance_uid)
        .unwrap();
    assert_eq!(
        std::fs::canonicalize(&row.path).unwrap(),
        std::fs::canonicalize(&stored_a.path).unwrap()
    );
    assert_eq!(row.patient_name, "Lost^Row");
    assert_eq!(row.size, stored_a.size);
    assert_eq!(row.calling_ae, "TESTSCU", "from the file's Source AE Title");
    let cols = control.collections().unwrap();
    assert_eq!(cols.len(), 2);
    let log = control.log(10).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.sop_instance_uid, a.sop_instance_uid);
    assert_eq!(last.reason, "re-indexed from the archive at start-up");
    common::close(archive);
}

#[test]
fn files_cut_short_or_never_completed_are_removed() {
    let scratch = Scratch::new("recover-partial");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let mut a = Spec::new("1.2.826.0.1.3680043.10.1234.2.3", "Part^Ial", "PID-C");
    a.pixel_bytes = 40_000;
    let stored = common::store(&archive, &a).unwrap();
    common::close(archive);

    // Copies of the complete file as a crash could have left it under other names (same
    // instance, never acknowledged): cut short; with a block that never reached the disk
    // (zeros); and with its head (File Meta and seal, written last) missing.
    let good = std::fs::read(&stored.path).unwrap();
    let truncated = sibling(&stored.path, "0000000000000000000000000000000a");
    std::fs::write(&truncated, &good[..good.len() - 100]).unwrap();
    let holed = sibling(&stored.path, "0000000000000000000000000000000b");
    let mut h = good.clone();
    let mid = h.len() / 2 / 4096 * 4096;
    h[mid..mid + 4096].fill(0);
    std::fs::write(&holed, &h).unwrap();
    let headless = sibling(&stored.path, "0000000000000000000000000000000c");
    let mut n = good.clone();
    n[..4096].fill(0);
    std::fs::write(&headless, &n).unwrap();
    // And the indexed instance itself lost its row, with its file cut short.
    common::sql(dir, "DELETE FROM instance; DELETE FROM patient;");
    std::fs::write(&stored.path, &good[..good.len() - 1]).unwrap();

    let archive = Archive::open(config(dir)).unwrap();
    for p in [&truncated, &holed, &headless, &stored.path] {
        assert!(!p.exists(), "{} was kept", p.display());
    }
    assert!(archive_files(dir).is_empty());
    assert!(uids(dir).is_empty());
    assert!(Control::open(dir)
        .unwrap()
        .collections()
        .unwrap()
        .is_empty());
    common::close(archive);
}

#[test]
fn a_row_whose_file_is_gone_is_dropped() {
    let scratch = Scratch::new("recover-gone");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let a = Spec::new("1.2.826.0.1.3680043.10.1234.2.4", "Gone^File", "PID-D");
    let b = Spec::new("1.2.826.0.1.3680043.10.1234.2.5", "Still^Here", "PID-E");
    let stored_a = common::store(&archive, &a).unwrap();
    let stored_b = common::store(&archive, &b).unwrap();
    common::close(archive);

    std::fs::remove_file(&stored_a.path).unwrap();
    let archive = Archive::open(config(dir)).unwrap();
    assert_eq!(uids(dir), [b.sop_instance_uid.as_str()]);
    let cols = Control::open(dir).unwrap().collections().unwrap();
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].patient_id, "PID-E");
    assert_eq!(archive_files(dir), std::slice::from_ref(&stored_b.path));
    common::close(archive);
}

#[test]
fn a_recovered_instance_is_replaced_like_any_other() {
    let scratch = Scratch::new("recover-then-replace");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let a = Spec::new("1.2.826.0.1.3680043.10.1234.2.6", "Re^Sent", "PID-F");
    let old = common::store(&archive, &a).unwrap();
    common::close(archive);
    common::sql(dir, "DELETE FROM instance; DELETE FROM patient;");

    let archive = Archive::open(config(dir)).unwrap();
    assert_eq!(uids(dir), [a.sop_instance_uid.as_str()]);
    let new = common::store(&archive, &a).unwrap();
    assert!(new.replaced);
    assert!(!old.path.exists());
    assert_eq!(archive_files(dir), std::slice::from_ref(&new.path));
    assert_eq!(uids(dir), [a.sop_instance_uid.as_str()]);
    common::close(archive);
}

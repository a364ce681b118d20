//! Storing instances in process: the file is the received dataset after our File Meta, the
//! index row and the store log entry are written with it; a re-sent SOP Instance UID replaces
//! the earlier copy (one row, old file removed); bad datasets leave nothing behind.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{archive_files, config, Scratch, Spec, CT_IMAGE, EXPLICIT_VR_LE};
use dcmdisc_archive::{Archive, Control, FailureKind};

#[test]
fn an_instance_is_stored_byte_for_byte_indexed_and_logged() {
    let scratch = Scratch::new("store");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let mut spec = Spec::new("1.2.826.0.1.3680043.10.1234.1.1", "Doe^John", "PID-1");
    // Large enough to go through the direct-write path in several pieces.
    spec.pixel_bytes = 3 * 1024 * 1024 + 777;
    let dataset = spec.dataset();
    let stored = common::store(&archive, &spec).unwrap();
    assert!(!stored.replaced);
    assert!(!stored.patient_id_generated);

    let bytes = std::fs::read(&stored.path).unwrap();
    assert_eq!(stored.size, bytes.len() as u64);
    assert!(bytes[..128].iter().all(|&b| b == 0), "preamble");
    assert_eq!(&bytes[128..132], b"DICM");
    assert!(
        bytes.ends_with(&dataset),
        "the dataset is stored as received"
    );
    assert_eq!(archive_files(dir), std::slice::from_ref(&stored.path));

    let control = Control::open(dir).unwrap();
    let rows = control.instances(None).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.sop_instance_uid, spec.sop_instance_uid);
    assert_eq!(r.sop_class_uid, CT_IMAGE);
    assert_eq!(r.transfer_syntax, EXPLICIT_VR_LE);
    assert_eq!(r.patient_name, "Doe^John");
    assert_eq!(r.patient_id, "PID-1");
    assert_eq!(r.study_instance_uid, spec.study_instance_uid);
    assert_eq!(r.series_instance_uid, spec.series_instance_uid);
    assert_eq!(r.modality.as_deref(), Some("CT"));
    assert_eq!(r.calling_ae, "TESTSCU");
    assert_eq!(r.size, stored.size);
    assert_eq!(
        std::fs::canonicalize(&r.path).unwrap(),
        std::fs::canonicalize(&stored.path).unwrap()
    );
    let cols = control.collections().unwrap();
    assert_eq!(cols.len(), 1);
    assert_eq!(
        (cols[0].patient_name.as_str(), cols[0].patient_id.as_str()),
        ("Doe^John", "PID-1")
    );
    assert_eq!(
        (cols[0].studies, cols[0].series, cols[0].instances),
        (1, 1, 1)
    );
    assert_eq!(cols[0].bytes, stored.size);

    let log = control.log(10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].status.as_str(), log[0].reason.as_str()),
        ("0000", "stored")
    );
    assert_eq!(log[0].sop_instance_uid, spec.sop_instance_uid);
    assert_eq!(log[0].peer, "127.0.0.1");
    common::close(archive);
}

#[test]
fn without_a_patient_id_one_is_generated() {
    let scratch = Scratch::new("store-genid");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let mut spec = Spec::new("1.2.826.0.1.3680043.10.1234.1.2", "No^Id", "");
    spec.patient_id = None;
    let stored = common::store(&archive, &spec).unwrap();
    assert!(stored.patient_id_generated);
    let cols = Control::open(dir).unwrap().collections().unwrap();
    assert_eq!(cols.len(), 1);
    assert!(cols[0].patient_id_generated);
    assert!(
        cols[0].patient_id.starts_with("STU-"),
        "{}",
        cols[0].patient_id
    );
    common::close(archive);
}

#[test]
fn a_resent_instance_replaces_the_earlier_copy() {
    let scratch = Scratch::new("store-replace");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let uid = "1.2.826.0.1.3680043.10.1234.1.3";
    let first = Spec::new(uid, "Before^Name", "PID-OLD");
    let old = common::store(&archive, &first).unwrap();
    // The same SOP Instance UID again, now filed under another patient.
    let mut second = Spec::new(uid, "After^Name", "PID-NEW");
    second.pixel_bytes = 5000;
    let new = common::store(&archive, &second).unwrap();
    assert!(new.replaced);
    assert_ne!(old.path, new.path);
    assert!(!old.path.exists(), "the replaced file is removed");
    assert!(std::fs::read(&new.path)
        .unwrap()
        .ends_with(&second.dataset()));
    assert_eq!(archive_files(dir), std::slice::from_ref(&new.path));

    let control = Control::open(dir).unwrap();
    let rows = control.instances(None).unwrap();
    assert_eq!(rows.len(), 1, "one row per SOP Instance UID");
    assert_eq!(rows[0].patient_name, "After^Name");
    assert_eq!(rows[0].size, new.size);
    // The old patient's collection went with its only instance.
    let cols = control.collections().unwrap();
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].patient_id, "PID-NEW");
    let log = control.log(10).unwrap();
    let reasons: Vec<_> = log.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["stored", "stored, replacing an earlier copy"]);
    common::close(archive);
}

#[test]
fn bad_datasets_get_their_status_and_leave_nothing_behind() {
    let scratch = Scratch::new("store-bad");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let spec = Spec::new("1.2.826.0.1.3680043.10.1234.1.4", "Bad^Data", "PID-4");

    // Not a dataset at all: C000.
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
    let f = common::store_bytes(&archive, &spec, &garbage).unwrap_err();
    assert_eq!(f.kind, FailureKind::CannotUnderstand, "{}", f.reason);

    // A dataset cut inside an element: C000.
    let mut cut = spec.dataset();
    cut.truncate(cut.len() - 3);
    let f = common::store_bytes(&archive, &spec, &cut).unwrap_err();
    assert_eq!(f.kind, FailureKind::CannotUnderstand, "{}", f.reason);

    // A dataset of another instance than the command announced: A900.
    let other = Spec::new("1.2.826.0.1.3680043.10.1234.1.5", "Bad^Data", "PID-4");
    let f = common::store_bytes(&archive, &spec, &other.dataset()).unwrap_err();
    assert_eq!(f.kind, FailureKind::Mismatch, "{}", f.reason);

    // A receive abandoned half-way (the association aborted): the writer is dropped.
    let mut w = archive.begin(spec.incoming()).unwrap();
    w.write(&spec.dataset()[..20]).unwrap();
    drop(w);

    assert!(archive_files(dir).is_empty());
    assert!(std::fs::read_dir(dir.join("tmp")).unwrap().next().is_none());
    let control = Control::open(dir).unwrap();
    assert!(control.instances(None).unwrap().is_empty());
    assert!(control.collections().unwrap().is_empty());
    common::close(archive);
}

#[test]
fn the_store_log_holds_successes_and_failures_in_order() {
    let scratch = Scratch::new("store-log");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let ok = Spec::new("1.2.826.0.1.3680043.10.1234.1.6", "Log^Ok", "PID-6");
    common::store(&archive, &ok).unwrap();
    // Failures are recorded by the network layer through `record`.
    for (i, (status, reason)) in [
        (0xA700u16, "writing the archive file: disk full"),
        (0xC000, "cannot parse dataset: truncated"),
        (
            0xA900,
            "dataset SOP Class/Instance differ from the command's",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let spec = Spec::new(
            &format!("1.2.826.0.1.3680043.10.1234.1.7.{i}"),
            "Log^Bad",
            "P",
        );
        let mut entry = spec.log_entry();
        entry.status = format!("{status:04X}");
        entry.reason = reason.into();
        archive.record(&entry, status);
    }
    let control = Control::open(dir).unwrap();
    let log = control.log(100).unwrap();
    let got: Vec<_> = log
        .iter()
        .map(|e| (e.status.as_str(), e.sop_instance_uid.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("0000", "1.2.826.0.1.3680043.10.1234.1.6"),
            ("A700", "1.2.826.0.1.3680043.10.1234.1.7.0"),
            ("C000", "1.2.826.0.1.3680043.10.1234.1.7.1"),
            ("A900", "1.2.826.0.1.3680043.10.1234.1.7.2"),
        ]
    );
    assert_eq!(log[1].reason, "writing the archive file: disk full");
    assert_eq!(log[1].calling_ae, "TESTSCU");
    // A limit keeps the newest entries, still oldest first.
    let last: Vec<_> = control
        .log(2)
        .unwrap()
        .into_iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(last, ["C000", "A900"]);
    common::close(archive);
}

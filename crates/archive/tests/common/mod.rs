//! Helpers shared by the archive's in-process tests: scratch folders, small synthetic
//! datasets (Explicit VR Little Endian) and an archive configuration.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dcmdisc_archive::{Archive, ArchiveConfig, Failure, Incoming, LogEntry, NewJob, Stored};
pub use dcmdisc_testkit::Scratch;

pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

pub fn config(dir: &Path) -> ArchiveConfig {
    ArchiveConfig {
        data_dir: dir.to_path_buf(),
        durable: false,
        implementation_class_uid: "1.2.826.0.1.3680043.10.1234.1".into(),
        implementation_version_name: "DCMDISC_TEST".into(),
        conversion: None,
    }
}

/// One Explicit VR Little Endian element with a short (16-bit) length.
fn short(out: &mut Vec<u8>, tag: u32, vr: &[u8; 2], value: &[u8]) {
    let pad = if vr == b"UI" { 0 } else { b' ' };
    let len = value.len() + value.len() % 2;
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(vr);
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(value);
    if value.len() % 2 == 1 {
        out.push(pad);
    }
}

/// What goes into a synthetic instance.
#[derive(Clone)]
pub struct Spec {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub patient_name: String,
    pub patient_id: Option<String>,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    /// Bytes of OB Pixel Data (0 = none), to make the file larger than one block.
    pub pixel_bytes: usize,
}

impl Spec {
    pub fn new(instance: &str, patient_name: &str, patient_id: &str) -> Spec {
        Spec {
            sop_class_uid: CT_IMAGE.into(),
            sop_instance_uid: instance.into(),
            patient_name: patient_name.into(),
            patient_id: Some(patient_id.into()),
            study_instance_uid: "1.2.826.0.1.3680043.10.1234.7.1".into(),
            series_instance_uid: "1.2.826.0.1.3680043.10.1234.7.1.1".into(),
            pixel_bytes: 0,
        }
    }

    /// The dataset, Explicit VR Little Endian, elements in ascending tag order.
    pub fn dataset(&self) -> Vec<u8> {
        let mut d = Vec::new();
        short(&mut d, 0x0008_0016, b"UI", self.sop_class_uid.as_bytes());
        short(&mut d, 0x0008_0018, b"UI", self.sop_instance_uid.as_bytes());
        short(&mut d, 0x0008_0060, b"CS", b"CT");
        short(&mut d, 0x0010_0010, b"PN", self.patient_name.as_bytes());
        if let Some(id) = &self.patient_id {
            short(&mut d, 0x0010_0020, b"LO", id.as_bytes());
        }
        short(
            &mut d,
            0x0020_000D,
            b"UI",
            self.study_instance_uid.as_bytes(),
        );
        short(
            &mut d,
            0x0020_000E,
            b"UI",
            self.series_instance_uid.as_bytes(),
        );
        short(&mut d, 0x0020_0013, b"IS", b"1");
        if self.pixel_bytes > 0 {
            let n = self.pixel_bytes + self.pixel_bytes % 2;
            d.extend_from_slice(&0x7FE0u16.to_le_bytes());
            d.extend_from_slice(&0x0010u16.to_le_bytes());
            d.extend_from_slice(b"OB\0\0");
            d.extend_from_slice(&(n as u32).to_le_bytes());
            d.extend((0..n).map(|i| (i * 7 % 251) as u8));
        }
        d
    }

    pub fn incoming(&self) -> Incoming {
        Incoming {
            sop_class_uid: self.sop_class_uid.clone(),
            sop_instance_uid: self.sop_instance_uid.clone(),
            transfer_syntax: EXPLICIT_VR_LE.into(),
            calling_ae: "TESTSCU".into(),
            called_ae: "DCMDISC".into(),
        }
    }

    pub fn log_entry(&self) -> LogEntry {
        LogEntry {
            time: "2026-01-01T00:00:00.000Z".into(),
            status: String::new(),
            calling_ae: "TESTSCU".into(),
            peer: "127.0.0.1".into(),
            sop_class_uid: self.sop_class_uid.clone(),
            sop_instance_uid: self.sop_instance_uid.clone(),
            reason: String::new(),
        }
    }
}

/// Receive `dataset` for the instance `spec` describes, in a few slices, as the network layer
/// would.
pub fn store_bytes(archive: &Arc<Archive>, spec: &Spec, dataset: &[u8]) -> Result<Stored, Failure> {
    let mut w = archive.begin(spec.incoming())?;
    for piece in dataset.chunks(1000) {
        w.write(piece)?;
    }
    w.finish(spec.log_entry())
}

pub fn store(archive: &Arc<Archive>, spec: &Spec) -> Result<Stored, Failure> {
    store_bytes(archive, spec, &spec.dataset())
}

/// The non-empty files under `archive/` (empty ones are unused spares).
pub fn archive_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir.join("archive")).unwrap().flatten() {
        for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
            if f.metadata().is_ok_and(|m| m.len() > 0) {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

/// Run SQL on the control database directly, as a power loss or an older dcmdisc would
/// have left it (the archive must be closed).
pub fn sql(dir: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(dir.join("control.sqlite")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn.execute_batch(statement).unwrap();
}

/// Drop the archive and wait until its background threads have let it go, so the next open
/// of the same folder is the only one.
pub fn close(archive: Arc<Archive>) {
    let weak = Arc::downgrade(&archive);
    drop(archive);
    for _ in 0..500 {
        if weak.strong_count() == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the archive was not released within 5 s");
}

/// A normal-priority job of one copy of `collection`, no profile, burner or capacity.
pub fn new_job(collection: i64) -> NewJob {
    NewJob {
        collection,
        priority: "normal".into(),
        copies: 1,
        profile: None,
        burner: None,
        capacity_mb: None,
    }
}

//! The DICOMDIR reader and volume validation on a File-set made by another implementation:
//! dcmtk's `dcmmkdir` writes the DICOMDIR, genisoimage the image. Our reader must find the
//! hierarchy dcmtk meant, and validation must pass a volume we did not write.
//!
//! A missing tool fails the test under CI (`CI=true`); elsewhere it prints
//! `SKIPPED: <tool> not installed` on stderr and passes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::*;

fn have(tool: &str, package: &str) -> bool {
    dcmdisc_testkit::have_tool(tool, "--version", package)
}
use dcmdisc_media::dicomdir_read::read_dicomdir;
use dcmdisc_media::validate::{validate_tree, validate_volume, ExpectedVolume};

const N: u32 = 4;

#[test]
fn reads_and_validates_a_dcmmkdir_file_set() {
    if !have("dcmmkdir", "dcmtk") {
        return;
    }
    let scratch = Scratch::new("dcmmkdir");
    let root = scratch.0.join("fs");
    std::fs::create_dir_all(root.join("DICOM")).unwrap();
    for i in 1..=N {
        ct_file(
            &root.join(format!("DICOM/I{i:07}")),
            PATIENT_ID,
            STUDY,
            i,
            None,
        );
    }
    let out = Command::new("dcmmkdir")
        .args(["-Pgp", "+I", "+id"])
        .arg(&root)
        .arg("+D")
        .arg(root.join("DICOMDIR"))
        .args(["+r", "DICOM"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dcmmkdir failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(root.join("DICOMDIR")).unwrap();
    let d = read_dicomdir(&bytes).unwrap();
    assert!(d.unreached.is_empty());
    let shape: Vec<(&str, usize)> = d.walk().map(|(r, l)| (r.record_type.as_str(), l)).collect();
    let mut want = vec![("PATIENT", 0), ("STUDY", 1), ("SERIES", 2)];
    want.extend((0..N).map(|_| ("IMAGE", 3)));
    assert_eq!(shape, want);
    let patient = d.walk().next().unwrap().0;
    assert_eq!(patient.text(0x0010_0020).as_deref(), Some(PATIENT_ID));
    let mut images: Vec<(Vec<String>, String)> = d
        .walk()
        .filter_map(|(r, _)| Some((r.file_id.clone()?, r.sop_instance_uid.clone()?)))
        .collect();
    images.sort();
    for (k, (file_id, uid)) in images.iter().enumerate() {
        let i = k as u32 + 1;
        assert_eq!(file_id, &["DICOM".to_string(), format!("I{i:07}")]);
        assert_eq!(uid, &instance_uid(STUDY, i));
    }
    for (r, _) in d.walk().filter(|(r, _)| r.file_id.is_some()) {
        assert_eq!(r.sop_class_uid.as_deref(), Some(CT_IMAGE));
        assert_eq!(r.transfer_syntax_uid.as_deref(), Some(EXPLICIT_VR_LE));
        assert_eq!(
            &bytes[r.offset as usize..r.offset as usize + 4],
            &[0xFE, 0xFF, 0x00, 0xE0]
        );
    }

    let expected = ExpectedVolume {
        instances: N as usize,
        sop_instance_uids: (1..=N).map(|i| instance_uid(STUDY, i)).collect(),
        patient_id: PATIENT_ID.to_string(),
        joliet: false,
        ..ExpectedVolume::default()
    };
    let r = validate_tree(&root, &expected).unwrap();
    assert!(r.is_valid(), "{:#?}", r.problems);
    assert_eq!(r.instance_records, N as usize);

    if !have("genisoimage", "genisoimage") {
        return;
    }
    let iso = scratch.0.join("fs.iso");
    let out = Command::new("genisoimage")
        .args(["-quiet", "-iso-level", "1", "-o"])
        .arg(&iso)
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = validate_volume(&iso, &expected).unwrap();
    assert!(r.is_valid(), "{:#?}", r.problems);
    assert_eq!(r.files, 1 + N as usize);
}

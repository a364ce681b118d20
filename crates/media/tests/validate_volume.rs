//! Volume validation on exported volumes, each broken in one of the ways validation must
//! catch: a file's SOP Instance UID changed in the image bytes, a file missing from the ISO
//! directory, a record whose File ID points nowhere, the DICOMDIR gone, a truncated image,
//! and a plan the volume does not match. Then the export itself: a volume that fails is
//! removed and the export fails naming the problem.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use dcmdisc_iso9660::read::IsoImage;
use dcmdisc_media::export::ExportError;
use dcmdisc_media::validate::{validate_image, validate_tree, validate_volume, ExpectedVolume};
use sha2::{Digest, Sha256};

const N: u32 = 5;
const SERIES_DIR: &str = "DICOM/P0000001/S0000001/R0000001";

fn expected() -> ExpectedVolume {
    ExpectedVolume {
        instances: N as usize,
        sop_instance_uids: (1..=N).map(|i| instance_uid(STUDY, i)).collect(),
        patient_id: PATIENT_ID.to_string(),
        joliet: true,
        ..ExpectedVolume::default()
    }
}

struct Exported {
    _scratch: Scratch,
    iso: std::path::PathBuf,
    tree: std::path::PathBuf,
    sha256: Option<String>,
}

fn exported() -> Exported {
    let scratch = Scratch::new("val");
    let files = ct_files(&scratch.0.join("src"), N);
    let out = scratch.0.join("out");
    let vols = export(&files, &out, true).unwrap();
    assert_eq!(vols.len(), 1);
    Exported {
        iso: vols[0].iso.clone().unwrap(),
        tree: vols[0].tree.clone().unwrap(),
        sha256: vols[0].sha256.clone(),
        _scratch: scratch,
    }
}

fn problems_of(image: &[u8]) -> Vec<String> {
    let r = validate_image(std::io::Cursor::new(image.to_vec()), &expected());
    r.problems
}

fn assert_has(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "no problem mentions {needle:?}: {problems:#?}"
    );
}

fn file_offset(image: &[u8], path: &str) -> (usize, usize) {
    let iso = IsoImage::open(std::io::Cursor::new(image.to_vec())).unwrap();
    let f = iso.file(path).unwrap();
    (f.offset() as usize, f.size as usize)
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

#[test]
fn an_exported_volume_is_valid_and_its_hash_is_the_images() {
    let e = exported();
    let r = validate_volume(&e.iso, &expected()).unwrap();
    assert!(r.is_valid(), "{:#?}", r.problems);
    assert_eq!(r.instance_records, N as usize);
    assert_eq!(r.patient_records, 1);
    // PATIENT, STUDY, SERIES and the images.
    assert_eq!(r.records, 3 + N as usize);
    // DICOMDIR, README.TXT, INDEX.HTM, AUTORUN.INF, VALIDATE.TXT, MANIFEST.TXT and the
    // instances.
    assert_eq!(r.files, 6 + N as usize);
    let bytes = std::fs::read(&e.iso).unwrap();
    assert_eq!(r.bytes, bytes.len() as u64);
    let want: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(r.sha256.as_deref(), Some(want.as_str()));
    // The export reported the same hash.
    assert_eq!(e.sha256.as_deref(), Some(want.as_str()));

    let t = validate_tree(&e.tree, &expected()).unwrap();
    assert!(t.is_valid(), "{:#?}", t.problems);
    assert_eq!(t.sha256, None);
    assert_eq!(t.instance_records, N as usize);

    // A byte of pixel data changed: the structure holds, the file's hash in MANIFEST.TXT
    // does not.
    let mut b = bytes.clone();
    let (at, size) = file_offset(&b, &format!("{SERIES_DIR}/I0000002"));
    b[at + size - 1] ^= 0xFF;
    let r = validate_image(std::io::Cursor::new(b), &expected());
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
    assert_has(
        &r.problems,
        &format!("{SERIES_DIR}/I0000002: its SHA-256 is "),
    );
    assert_ne!(r.sha256.as_deref(), Some(want.as_str()));

    // The same change in the tree is caught the same way.
    let f = e.tree.join(format!("{SERIES_DIR}/I0000002"));
    let mut data = std::fs::read(&f).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xFF;
    std::fs::write(&f, data).unwrap();
    let t = validate_tree(&e.tree, &expected()).unwrap();
    assert_eq!(t.problems.len(), 1, "{:#?}", t.problems);
    assert_has(
        &t.problems,
        &format!("{SERIES_DIR}/I0000002: its SHA-256 is "),
    );
}

#[test]
fn a_changed_sop_instance_uid_is_caught() {
    let e = exported();
    let mut b = std::fs::read(&e.iso).unwrap();
    let path = format!("{SERIES_DIR}/I0000002");
    let (at, _) = file_offset(&b, &path);
    // The UID in the File Meta (0002,0003), the first occurrence in the file.
    let uid = instance_uid(STUDY, 2);
    let u = at + find(&b[at..], uid.as_bytes());
    let last = u + uid.len() - 1;
    b[last] = b'7';
    let p = problems_of(&b);
    assert_has(
        &p,
        &format!("{path}: its File Meta says SOP Instance UID {STUDY}.7, the IMAGE record at byte"),
    );
    assert_has(&p, &format!("says {uid}"));
}

#[test]
fn a_file_missing_from_the_iso_directory_is_caught() {
    let e = exported();
    let mut b = std::fs::read(&e.iso).unwrap();
    let iso = IsoImage::open(std::io::Cursor::new(b.clone())).unwrap();
    let dir = iso.dirs().iter().find(|d| d.path == SERIES_DIR).unwrap();
    let start = dir.extent as usize * 2048;
    let at = start + find(&b[start..start + 2048], b"I0000003.;1") - 33;
    let len = b[at] as usize;
    // Take the record out: the records after it move up, the sector's tail is zero.
    let end = start + 2048;
    b.copy_within(at + len..end, at);
    b[end - len..end].fill(0);
    let p = problems_of(&b);
    assert_has(
        &p,
        &format!("references {SERIES_DIR}/I0000003, which is not on the volume"),
    );
    assert_has(
        &p,
        &format!("MANIFEST.TXT lists {SERIES_DIR}/I0000003, which is not on the volume"),
    );
    // The Joliet tree still names it: the two trees disagree.
    assert_has(
        &p,
        &format!("Joliet tree: \"{SERIES_DIR}/I0000003\" is only in the Joliet tree"),
    );
    assert_eq!(p.len(), 3, "{p:#?}");
}

#[test]
fn a_record_whose_file_id_points_nowhere_is_caught() {
    let e = exported();
    let mut b = std::fs::read(&e.iso).unwrap();
    let (at, size) = file_offset(&b, "DICOMDIR");
    let i = at + find(&b[at..at + size], b"I0000004");
    b[i..i + 8].copy_from_slice(b"I0000009");
    let p = problems_of(&b);
    assert_has(
        &p,
        &format!("references {SERIES_DIR}/I0000009, which is not on the volume"),
    );
    assert_has(
        &p,
        &format!("{SERIES_DIR}/I0000004 is on the volume but no directory record references it"),
    );
}

#[test]
fn no_dicomdir_or_no_readable_directory_is_caught() {
    let e = exported();
    let bytes = std::fs::read(&e.iso).unwrap();
    let mut b = bytes.clone();
    let iso = IsoImage::open(std::io::Cursor::new(b.clone())).unwrap();
    let root = iso.dirs()[0].extent as usize * 2048;
    let i = root + find(&b[root..root + 2048], b"DICOMDIR.;1");
    b[i + 7] = b'X';
    let p = problems_of(&b);
    assert_has(&p, "no DICOMDIR in the root directory of the volume");

    let p = problems_of(&bytes[..bytes.len() - 4096]);
    assert_has(&p, "the ISO 9660 directory cannot be read: image cut short");

    // The DICOMDIR's own offsets broken: its first root record offset off by two.
    let mut b = bytes.clone();
    let (at, size) = file_offset(&b, "DICOMDIR");
    let h = at + find(&b[at..at + size], &[0x04, 0, 0x00, 0x12, b'U', b'L']) + 8;
    let v = u32::from_le_bytes(b[h..h + 4].try_into().unwrap()) + 2;
    b[h..h + 4].copy_from_slice(&v.to_le_bytes());
    let p = problems_of(&b);
    assert_has(
        &p,
        "DICOMDIR: the DICOMDIR header: the first root record's offset",
    );
}

#[test]
fn a_volume_that_does_not_match_the_plan_is_caught() {
    let e = exported();
    let mut plan = expected();
    plan.instances = N as usize + 1;
    plan.sop_instance_uids.push("1.2.3.999".into());
    plan.patient_id = "OTHER".into();
    let p = validate_volume(&e.iso, &plan).unwrap().problems;
    assert_has(
        &p,
        "the DICOMDIR has 5 instance records, the export planned 6",
    );
    assert_has(&p, "planned instance 1.2.3.999 is not in the DICOMDIR");
    assert_has(&p, "Patient ID \"VAL001\", the export planned \"OTHER\"");

    let mut plan = expected();
    plan.sop_instance_uids.pop();
    let p = validate_volume(&e.iso, &plan).unwrap().problems;
    assert_has(
        &p,
        &format!(
            "holds instance {}, which the export did not plan",
            instance_uid(STUDY, N)
        ),
    );
    assert!(validate_volume(Path::new("/nonexistent/VOL001.iso"), &plan).is_err());
}

#[test]
fn a_tree_missing_a_file_is_caught() {
    let e = exported();
    std::fs::remove_file(e.tree.join(SERIES_DIR).join("I0000005")).unwrap();
    let p = validate_tree(&e.tree, &expected()).unwrap().problems;
    assert_has(
        &p,
        &format!("references {SERIES_DIR}/I0000005, which is not on the volume"),
    );
}

/// A source whose File Meta names another SOP Instance than its data set: the DICOMDIR
/// record (from the data set) and the file on the volume disagree; the checks before
/// imaging say so, the export fails naming it and writes no image.
#[test]
fn the_export_fails_and_removes_a_volume_that_fails() {
    let scratch = Scratch::new("fail");
    let src = scratch.0.join("src");
    let mut files = ct_files(&src, 3);
    let odd = src.join("ODD");
    ct_file(&odd, PATIENT_ID, STUDY, 4, Some("1.2.3.4.99"));
    files.push(odd);
    let out = scratch.0.join("out");
    let e = export(&files, &out, false).unwrap_err();
    let ExportError::Unsound { volume, problems } = &e else {
        panic!("{e}");
    };
    assert_eq!(*volume, 1);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("SOP Instance UID 1.2.3.4.99, the IMAGE record")),
        "{problems:#?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("volume 1 failed the checks before imaging and was not written"),
        "{text}"
    );
    assert!(!out.join("VOL001.iso").exists());
}

//! Helpers of the unit tests: a temporary folder removed on drop, and small Part 10 files.

/// A scratch folder removed on drop.
pub use dcmdisc_testkit::Scratch as TempDir;
use std::path::Path;

const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// One Explicit VR LE element: the workspace's encoder, with the tag as group and element.
fn element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) {
    dcmdisc_dicom::encode::explicit_element(out, (group as u32) << 16 | elem as u32, *vr, value);
}

/// A CT Image Storage instance in Explicit VR Little Endian, with `pixels` bytes of pixel
/// data, for patient (`name`, `id`).
pub fn ct_file(path: &Path, name: &str, id: &str, study: &str, n: u32, pixels: usize) {
    let instance = format!("{study}.{n}");
    let mut meta = Vec::new();
    element(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    element(&mut meta, 0x0002, 0x0002, b"UI", CT_IMAGE.as_bytes());
    element(&mut meta, 0x0002, 0x0003, b"UI", instance.as_bytes());
    element(&mut meta, 0x0002, 0x0010, b"UI", EXPLICIT_VR_LE.as_bytes());
    element(&mut meta, 0x0002, 0x0012, b"UI", b"2.25.1");
    let ds = ct_dataset(name, id, study, n, pixels);
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    element(
        &mut file,
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    file.extend_from_slice(&meta);
    file.extend_from_slice(&ds);
    std::fs::write(path, file).unwrap();
}

/// The dataset of [`ct_file`] (SOP Instance UID `{study}.{n}`), as a sender transmits it.
pub fn ct_dataset(name: &str, id: &str, study: &str, n: u32, pixels: usize) -> Vec<u8> {
    let instance = format!("{study}.{n}");
    let mut ds = Vec::new();
    element(&mut ds, 0x0008, 0x0016, b"UI", CT_IMAGE.as_bytes());
    element(&mut ds, 0x0008, 0x0018, b"UI", instance.as_bytes());
    element(&mut ds, 0x0008, 0x0020, b"DA", b"20260101");
    element(&mut ds, 0x0008, 0x0030, b"TM", b"120000");
    element(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    element(&mut ds, 0x0010, 0x0010, b"PN", name.as_bytes());
    element(&mut ds, 0x0010, 0x0020, b"LO", id.as_bytes());
    element(&mut ds, 0x0020, 0x000D, b"UI", study.as_bytes());
    element(
        &mut ds,
        0x0020,
        0x000E,
        b"UI",
        format!("{study}.0").as_bytes(),
    );
    element(&mut ds, 0x0020, 0x0010, b"SH", b"1");
    element(&mut ds, 0x0020, 0x0011, b"IS", b"1");
    element(&mut ds, 0x0020, 0x0013, b"IS", n.to_string().as_bytes());
    element(&mut ds, 0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0004, b"CS", b"MONOCHROME2");
    element(&mut ds, 0x0028, 0x0010, b"US", &1u16.to_le_bytes());
    element(
        &mut ds,
        0x0028,
        0x0011,
        b"US",
        &((pixels / 2) as u16).to_le_bytes(),
    );
    element(&mut ds, 0x0028, 0x0100, b"US", &16u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0101, b"US", &16u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0102, b"US", &15u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0103, b"US", &0u16.to_le_bytes());
    element(&mut ds, 0x7FE0, 0x0010, b"OW", &vec![7u8; pixels]);
    ds
}

/// A data folder with collections 1 (patient P1) and 2 (P2), `n` CT instances each, arrived
/// long ago (under `archive/00`, indexed), a simulator burner `sim` of 8 blank discs, and
/// retention removing done collections at once (a high-water mark it cannot reach).
pub fn two_collections(tmp: &TempDir, n: u32) -> (crate::Config, crate::ControlDb) {
    use crate::config::jobs::{BurnerConfig, BurnerKind, SimDisc};
    use crate::{Config, ControlDb, Open};
    let mut cfg = Config::default();
    cfg.archive.data_dir = tmp.path().join("data");
    cfg.archive.durable = false;
    cfg.burners = vec![BurnerConfig {
        name: "sim".into(),
        kind: BurnerKind::Simulator,
        dir: None,
        discs: vec![SimDisc::Blank; 8],
        speed_mb_s: 0,
        ..BurnerConfig::default()
    }];
    cfg.retention.keep_forever = false;
    cfg.retention.keep_hours = 0;
    // The test's disk is whatever it is: a mark it cannot reach.
    cfg.retention.high_water_percent = 100;
    cfg.validate().unwrap();
    let db = ControlDb::open(&cfg, Open::CreateIfMissing).unwrap();
    let src = cfg.archive.data_dir.join("archive").join("00");
    std::fs::create_dir_all(&src).unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    for p in 1..=2i64 {
        conn.execute(
            "INSERT INTO patient (id, patient_name, patient_id, patient_id_generated, charset)
             VALUES (?1, CAST(?2 AS BLOB), ?3, 0, '')",
            rusqlite::params![p, format!("DOE^{p}"), format!("P{p}")],
        )
        .unwrap();
        for k in 1..=n {
            let rel = format!("archive/00/p{p}-{k}.dcm");
            let path = cfg.archive.data_dir.join(&rel);
            let study = format!("2.25.7{p}");
            ct_file(
                &path,
                &format!("DOE^{p}"),
                &format!("P{p}"),
                &study,
                k,
                2000,
            );
            let size = std::fs::metadata(&path).unwrap().len();
            conn.execute(
                "INSERT INTO instance (sop_instance_uid, sop_class_uid, transfer_syntax, patient,
                    patient_name, charset, patient_id, patient_id_generated, study_instance_uid,
                    series_instance_uid, instance_number, size, path, received, calling_ae, keys)
                 VALUES (?1, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', ?2,
                    CAST(?3 AS BLOB), '', ?4, 0, ?5, ?6, ?7, ?8, ?9,
                    '2025-01-01T00:00:00.000Z', 'CT', X'')",
                rusqlite::params![
                    format!("{study}.{k}"),
                    p,
                    format!("DOE^{p}"),
                    format!("P{p}"),
                    study,
                    format!("{study}.0"),
                    k.to_string(),
                    size,
                    rel
                ],
            )
            .unwrap();
        }
    }
    (cfg, db)
}

/// A scripted stand-in for xorriso (`tests/fixtures/xorriso_standin.py`) holding `discs`:
/// writes its state folder and a wrapper program under `dir`, answers the wrapper's path.
pub fn xorriso_standin(dir: &Path, discs: &[&str]) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/xorriso_standin.py"
    );
    let state = dir.join("standin");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("discs"), discs.join("\n") + "\n").unwrap();
    let wrapper = dir.join("xorriso");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec python3 '{fixture}' '{}' \"$@\"\n",
            state.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// One Explicit VR Big Endian element (PS3.5 A.3): tag, length and numbers big endian.
fn element_be(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) {
    out.extend_from_slice(&group.to_be_bytes());
    out.extend_from_slice(&elem.to_be_bytes());
    out.extend_from_slice(vr);
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if vr == b"UI" { 0 } else { b' ' });
    }
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(&v);
}

/// The instance of [`ct_file`] in Explicit VR Big Endian: 16-bit pixels `0, 1, 2, ...`
/// (`pixels` bytes), written big endian.
pub fn ct_file_big_endian(path: &Path, name: &str, id: &str, study: &str, n: u32, pixels: usize) {
    let instance = format!("{study}.{n}");
    let mut meta = Vec::new();
    element(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    element(&mut meta, 0x0002, 0x0002, b"UI", CT_IMAGE.as_bytes());
    element(&mut meta, 0x0002, 0x0003, b"UI", instance.as_bytes());
    element(&mut meta, 0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.2");
    element(&mut meta, 0x0002, 0x0012, b"UI", b"2.25.1");
    let us = |v: u16| v.to_be_bytes();
    let mut ds = Vec::new();
    element_be(&mut ds, 0x0008, 0x0016, b"UI", CT_IMAGE.as_bytes());
    element_be(&mut ds, 0x0008, 0x0018, b"UI", instance.as_bytes());
    element_be(&mut ds, 0x0008, 0x0020, b"DA", b"20260101");
    element_be(&mut ds, 0x0008, 0x0030, b"TM", b"120000");
    element_be(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    element_be(&mut ds, 0x0010, 0x0010, b"PN", name.as_bytes());
    element_be(&mut ds, 0x0010, 0x0020, b"LO", id.as_bytes());
    element_be(&mut ds, 0x0020, 0x000D, b"UI", study.as_bytes());
    element_be(
        &mut ds,
        0x0020,
        0x000E,
        b"UI",
        format!("{study}.0").as_bytes(),
    );
    element_be(&mut ds, 0x0020, 0x0010, b"SH", b"1");
    element_be(&mut ds, 0x0020, 0x0011, b"IS", b"1");
    element_be(&mut ds, 0x0020, 0x0013, b"IS", n.to_string().as_bytes());
    element_be(&mut ds, 0x0028, 0x0002, b"US", &us(1));
    element_be(&mut ds, 0x0028, 0x0004, b"CS", b"MONOCHROME2");
    element_be(&mut ds, 0x0028, 0x0010, b"US", &us(1));
    element_be(&mut ds, 0x0028, 0x0011, b"US", &us((pixels / 2) as u16));
    element_be(&mut ds, 0x0028, 0x0100, b"US", &us(16));
    element_be(&mut ds, 0x0028, 0x0101, b"US", &us(16));
    element_be(&mut ds, 0x0028, 0x0102, b"US", &us(15));
    element_be(&mut ds, 0x0028, 0x0103, b"US", &us(0));
    let px: Vec<u8> = (0..pixels / 2)
        .flat_map(|i| (i as u16).to_be_bytes())
        .collect();
    element_be(&mut ds, 0x7FE0, 0x0010, b"OW", &px);
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    element(
        &mut file,
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    file.extend_from_slice(&meta);
    file.extend_from_slice(&ds);
    std::fs::write(path, file).unwrap();
}

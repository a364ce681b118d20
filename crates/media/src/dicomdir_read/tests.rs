//! The DICOMDIR reader on our own encoder's output, on a hand-made file with undefined
//! lengths and nested sequences (as other writers make them), and on broken files.

use super::*;
use crate::dicomdir::{encode, DicomdirMeta, El, FileRef, Record};
use dcmdisc_dicom::meta::FileMeta;

fn leaf(n: u32) -> Record {
    Record {
        record_type: "IMAGE".into(),
        file: Some(FileRef {
            file_id: vec!["DICOM".into(), "P0000001".into(), format!("I{n:07}")],
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: format!("1.2.3.{n}"),
            transfer_syntax_uid: EXPLICIT_VR_LE.into(),
        }),
        keys: vec![El::text(0x0020_0013, b"IS", &n.to_string())],
        children: vec![],
    }
}

fn group(kind: &str, keys: Vec<El>, children: Vec<Record>) -> Record {
    Record {
        record_type: kind.into(),
        file: None,
        keys,
        children,
    }
}

fn meta() -> DicomdirMeta<'static> {
    DicomdirMeta {
        fileset_id: "READ TEST",
        fileset_uid: "2.25.77",
        implementation_class_uid: "2.25.78",
        implementation_version_name: "T",
        source_ae_title: "",
        consistency_flag: 0,
    }
}

/// PATIENT → STUDY → (SERIES → 2 images, SERIES → 1 image), and a second PATIENT.
fn sample() -> Vec<u8> {
    let s1 = group("SERIES", vec![], vec![leaf(1), leaf(2)]);
    let s2 = group("SERIES", vec![], vec![leaf(3)]);
    let study = group("STUDY", vec![], vec![s1, s2]);
    let p1 = group(
        "PATIENT",
        vec![El::text(0x0010_0020, b"LO", "PID1")],
        vec![study],
    );
    let p2 = group(
        "PATIENT",
        vec![El::text(0x0010_0020, b"LO", "PID2")],
        vec![],
    );
    encode(&meta(), &[p1, p2]).unwrap()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Offset of the value of (0004,xxxx) `tag` in the record whose item starts at `item`.
fn value_in_record(b: &[u8], item: usize, tag: u32) -> usize {
    let want = [
        (tag >> 16) as u8,
        (tag >> 24) as u8,
        tag as u8,
        (tag >> 8) as u8,
    ];
    item + 8 + b[item + 8..].windows(4).position(|w| w == want).unwrap() + 8
}

#[test]
fn reads_our_dicomdir() {
    let b = sample();
    let d = read_dicomdir(&b).unwrap();
    assert_eq!(d.fileset_id, "READ TEST");
    assert_eq!(d.consistency_flag, Some(0));
    assert_eq!(d.meta.sop_instance_uid(), "2.25.77");
    assert_eq!(d.records.len(), 8);
    assert!(d.unreached.is_empty());
    let shape: Vec<(String, usize)> = d.walk().map(|(r, l)| (r.record_type.clone(), l)).collect();
    let want = [
        ("PATIENT", 0),
        ("STUDY", 1),
        ("SERIES", 2),
        ("IMAGE", 3),
        ("IMAGE", 3),
        ("SERIES", 2),
        ("IMAGE", 3),
        ("PATIENT", 0),
    ];
    assert_eq!(
        shape,
        want.iter()
            .map(|(t, l)| (t.to_string(), *l))
            .collect::<Vec<_>>()
    );
    let images: Vec<&DirectoryRecord> = d
        .walk()
        .map(|(r, _)| r)
        .filter(|r| r.file_id.is_some())
        .collect();
    assert_eq!(images.len(), 3);
    for (k, r) in images.iter().enumerate() {
        let n = k + 1;
        assert_eq!(
            r.file_id.as_ref().unwrap(),
            &vec!["DICOM".to_string(), "P0000001".into(), format!("I{n:07}")]
        );
        assert_eq!(
            r.sop_instance_uid.as_deref(),
            Some(format!("1.2.3.{n}").as_str())
        );
        assert_eq!(
            r.sop_class_uid.as_deref(),
            Some("1.2.840.10008.5.1.4.1.1.2")
        );
        assert_eq!(r.transfer_syntax_uid.as_deref(), Some(EXPLICIT_VR_LE));
        assert_eq!(r.text(0x0020_0013).as_deref(), Some(n.to_string().as_str()));
        assert_eq!(r.in_use, 0xFFFF);
        assert_eq!(
            &b[r.offset as usize..r.offset as usize + 4],
            &[0xFE, 0xFF, 0x00, 0xE0]
        );
    }
    let pids: Vec<String> = d
        .walk()
        .filter(|(r, _)| r.record_type == "PATIENT")
        .map(|(r, _)| r.text(0x0010_0020).unwrap())
        .collect();
    assert_eq!(pids, ["PID1", "PID2"]);
}

#[test]
fn an_offset_off_an_item_start_is_refused() {
    let b = sample();
    let d = read_dicomdir(&b).unwrap();
    let series = d
        .walk()
        .find(|(r, _)| r.record_type == "SERIES")
        .unwrap()
        .0
        .clone();
    // The first series' next-record offset, two bytes past the second series' item.
    let mut bad = b.clone();
    let at = value_in_record(&bad, series.offset as usize, tags::NEXT);
    let next = u32_at(&bad, at);
    bad[at..at + 4].copy_from_slice(&(next + 2).to_le_bytes());
    let e = read_dicomdir(&bad).unwrap_err();
    assert!(
        matches!(&e, DicomdirReadError::BadOffset { field, value, .. }
            if field.contains("(0004,1400)") && *value == next + 2),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("SERIES record at byte {}", series.offset)),
        "{e}"
    );
    // The header's first root offset pointing into the File Meta.
    let mut bad = b.clone();
    let at = b
        .windows(4)
        .position(|w| w == [0x04, 0, 0x00, 0x12])
        .unwrap()
        + 8;
    bad[at..at + 4].copy_from_slice(&200u32.to_le_bytes());
    let e = read_dicomdir(&bad).unwrap_err();
    assert!(e.to_string().contains("the DICOMDIR header"), "{e}");
    // The last root offset naming the first patient, not the last.
    let mut bad = b.clone();
    let at = b
        .windows(4)
        .position(|w| w == [0x04, 0, 0x02, 0x12])
        .unwrap()
        + 8;
    let first = u32_at(&b, at - 12);
    bad[at..at + 4].copy_from_slice(&first.to_le_bytes());
    let e = read_dicomdir(&bad).unwrap_err();
    assert!(e.to_string().contains("(0004,1202)"), "{e}");
}

#[test]
fn a_loop_is_refused() {
    let b = sample();
    let d = read_dicomdir(&b).unwrap();
    let image = d
        .walk()
        .find(|(r, _)| r.record_type == "IMAGE")
        .unwrap()
        .0
        .clone();
    let study = d
        .walk()
        .find(|(r, _)| r.record_type == "STUDY")
        .unwrap()
        .0
        .clone();
    // The image's lower-level offset points back at the study.
    let mut bad = b.clone();
    let at = value_in_record(&bad, image.offset as usize, tags::LOWER);
    bad[at..at + 4].copy_from_slice(&study.offset.to_le_bytes());
    let e = read_dicomdir(&bad).unwrap_err();
    assert!(
        matches!(e, DicomdirReadError::Loop(o) if o == study.offset),
        "{e}"
    );
}

#[test]
fn an_unreached_record_is_reported() {
    let b = sample();
    let d = read_dicomdir(&b).unwrap();
    let (i1, i2) = {
        let mut it = d.walk().filter(|(r, _)| r.record_type == "IMAGE");
        (it.next().unwrap().0.clone(), it.next().unwrap().0.clone())
    };
    let mut bad = b.clone();
    let at = value_in_record(&bad, i1.offset as usize, tags::NEXT);
    bad[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
    let d = read_dicomdir(&bad).unwrap();
    assert_eq!(d.unreached.len(), 1);
    assert_eq!(d.records[d.unreached[0]].offset, i2.offset);
}

#[test]
fn not_a_dicomdir() {
    let mut other = FileMeta {
        media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
        media_storage_sop_instance_uid: "1.2.3",
        transfer_syntax_uid: EXPLICIT_VR_LE,
        implementation_class_uid: "2.25.1",
        implementation_version_name: "T",
        source_ae_title: "",
        private: None,
    }
    .encode()
    .0;
    let e = read_dicomdir(&other).unwrap_err();
    assert!(matches!(e, DicomdirReadError::NotADicomdir(_)), "{e}");
    other.truncate(100);
    assert!(matches!(
        read_dicomdir(&other).unwrap_err(),
        DicomdirReadError::Meta(_)
    ));
    // A DICOMDIR meta without the record sequence.
    let b = sample();
    let at = b
        .windows(4)
        .position(|w| w == [0x04, 0, 0x20, 0x12])
        .unwrap();
    let e = read_dicomdir(&b[..at]).unwrap_err();
    assert!(matches!(e, DicomdirReadError::NoRecordSequence), "{e}");
}

#[test]
fn every_truncation_and_random_damage_is_an_answer() {
    let b = sample();
    let meta_end = parse_meta(&b).unwrap().dataset_offset as usize;
    for cut in 0..b.len() {
        assert!(
            read_dicomdir(&b[..cut]).is_err(),
            "cut at {cut} of {}",
            b.len()
        );
    }
    let mut x = 0x1234_5678u32;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for _ in 0..5000 {
        let mut m = b.clone();
        for _ in 0..1 + rnd() % 3 {
            let at = meta_end + rnd() as usize % (b.len() - meta_end);
            m[at] = rnd() as u8;
        }
        let _ = read_dicomdir(&m);
    }
}

/// Explicit VR LE element bytes.
fn el(out: &mut Vec<u8>, tag: u32, vr: &[u8; 2], value: &[u8]) {
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(vr);
    if has_long_length(*vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
}

const UNDEFINED: [u8; 4] = [0xFF; 4];

/// A DICOMDIR as some other writers make it: the record sequence and every item of
/// undefined length, a record holding a nested sequence of undefined length, odd tags in
/// the header (a File-set Descriptor File ID).
#[test]
fn undefined_lengths_and_nested_sequences() {
    let mut b = FileMeta {
        media_storage_sop_class_uid: MEDIA_STORAGE_DIRECTORY,
        media_storage_sop_instance_uid: "2.25.5",
        transfer_syntax_uid: EXPLICIT_VR_LE,
        implementation_class_uid: "2.25.6",
        implementation_version_name: "OTHER",
        source_ae_title: "",
        private: None,
    }
    .encode()
    .0;
    el(&mut b, tags::FILE_SET_ID, b"CS", b"OTHER ");
    el(&mut b, 0x0004_1141, b"CS", b"README");
    let first_at = b.len() + 8;
    el(&mut b, tags::FIRST_ROOT, b"UL", &[0; 4]);
    let last_at = b.len() + 8;
    el(&mut b, tags::LAST_ROOT, b"UL", &[0; 4]);
    el(&mut b, tags::CONSISTENCY_FLAG, b"US", &[0, 0]);
    b.extend_from_slice(&[0x04, 0, 0x20, 0x12, b'S', b'Q', 0, 0]);
    b.extend_from_slice(&UNDEFINED);
    // (item offset, offset of its next value, offset of its lower value)
    let mut items = Vec::new();
    let kinds = ["PATIENT", "STUDY", "SERIES", "SR DOCUMENT"];
    for kind in kinds {
        let item = b.len();
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        b.extend_from_slice(&UNDEFINED);
        let next = b.len() + 8;
        el(&mut b, tags::NEXT, b"UL", &[0; 4]);
        el(&mut b, tags::IN_USE, b"US", &[0xFF, 0xFF]);
        let lower = b.len() + 8;
        el(&mut b, tags::LOWER, b"UL", &[0; 4]);
        el(&mut b, tags::RECORD_TYPE, b"CS", kind.as_bytes());
        if kind == "SR DOCUMENT" {
            el(&mut b, tags::FILE_ID, b"CS", b"DICOM\\SR000001");
            el(
                &mut b,
                tags::REFERENCED_SOP_CLASS,
                b"UI",
                b"1.2.840.10008.5.1.4.1.1.88.11\0",
            );
            el(&mut b, tags::REFERENCED_SOP_INSTANCE, b"UI", b"1.2.9\0");
            el(
                &mut b,
                tags::REFERENCED_TRANSFER_SYNTAX,
                b"UI",
                EXPLICIT_VR_LE.as_bytes(),
            );
            // Concept Name Code Sequence, undefined length, one undefined-length item.
            b.extend_from_slice(&[0x40, 0x00, 0x43, 0xA0, b'S', b'Q', 0, 0]);
            b.extend_from_slice(&UNDEFINED);
            b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            b.extend_from_slice(&UNDEFINED);
            el(&mut b, 0x0008_0100, b"SH", b"11528-7 ");
            b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
            b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
            el(&mut b, 0x0040_A491, b"CS", b"COMPLETE");
        }
        b.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        items.push((item, next, lower));
    }
    b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let put = |b: &mut Vec<u8>, at: usize, v: usize| {
        b[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes())
    };
    put(&mut b, first_at, items[0].0);
    put(&mut b, last_at, items[0].0);
    for k in 0..3 {
        put(&mut b, items[k].2, items[k + 1].0);
    }
    let d = read_dicomdir(&b).unwrap();
    assert_eq!(d.fileset_id, "OTHER");
    let shape: Vec<(&str, usize)> = d.walk().map(|(r, l)| (r.record_type.as_str(), l)).collect();
    assert_eq!(
        shape,
        [
            ("PATIENT", 0),
            ("STUDY", 1),
            ("SERIES", 2),
            ("SR DOCUMENT", 3)
        ]
    );
    let sr = d.walk().last().unwrap().0;
    assert_eq!(sr.file_id.as_ref().unwrap(), &["DICOM", "SR000001"]);
    assert_eq!(sr.sop_instance_uid.as_deref(), Some("1.2.9"));
    // The element after the nested sequence is still the record's.
    assert_eq!(sr.text(0x0040_A491).as_deref(), Some("COMPLETE"));
    // Without its sequence delimiter the file is cut short.
    assert!(read_dicomdir(&b[..b.len() - 8]).is_err());
}

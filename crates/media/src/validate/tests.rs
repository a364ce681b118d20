//! The parts of validation that the volume tests (crates/media/tests/validate_volume.rs)
//! cannot reach directly.

use super::*;
use dcmdisc_dicom::meta::FileMeta;

fn meta_bytes() -> Vec<u8> {
    let mut b = FileMeta {
        media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
        media_storage_sop_instance_uid: "1.2.3.4",
        transfer_syntax_uid: "1.2.840.10008.1.2.1",
        implementation_class_uid: "2.25.1",
        implementation_version_name: "T",
        source_ae_title: "",
        private: None,
    }
    .encode()
    .0;
    // The first dataset element: (0008,0016) UI.
    b.extend_from_slice(&[0x08, 0, 0x16, 0, b'U', b'I', 2, 0, b'1', 0]);
    b
}

#[test]
fn a_head_that_ends_inside_the_meta_asks_for_more() {
    let b = meta_bytes();
    let whole = b.len() as u64;
    let id = meta_of(&b, whole).unwrap().unwrap();
    assert_eq!(id.sop_instance_uid, "1.2.3.4");
    // Every cut inside the meta group, or before the next element's header, of a longer
    // file asks for more bytes.
    let meta_end = parse_meta(&b).unwrap().dataset_offset as usize;
    for cut in 132..meta_end + 8 {
        assert!(meta_of(&b[..cut], whole).is_none(), "cut at {cut}");
    }
    assert!(meta_of(&b[..meta_end + 8], whole).is_some());
    assert!(matches!(meta_of(b"not dicom", 9), Some(Err(_))));
}

#[test]
fn long_lists_are_cut() {
    let uids: Vec<String> = (0..25).map(|i| format!("1.2.{i}")).collect();
    let refs: Vec<&str> = uids.iter().map(String::as_str).collect();
    let mut p = Vec::new();
    name_some(&mut p, refs.iter(), "instance {} missing");
    assert_eq!(p.len(), LISTED + 1);
    assert_eq!(p[0], "instance 1.2.0 missing");
    assert!(p[LISTED].contains("15 more"), "{}", p[LISTED]);
}

#[test]
fn file_id_components() {
    assert!(valid_component("I0000001"));
    assert!(valid_component("DICOM"));
    for bad in ["", "..", "a", "TOOLONG12", "A/B", "A.B"] {
        assert!(!valid_component(bad), "{bad}");
    }
}

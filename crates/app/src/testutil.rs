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

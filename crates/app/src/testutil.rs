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

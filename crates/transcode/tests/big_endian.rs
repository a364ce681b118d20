//! Explicit VR Big Endian and Deflated Explicit VR LE sources: the same data set is built
//! twice by the little builder below, once in each byte order; converting the Big Endian one
//! (or the deflated Little Endian one) must give exactly the Little Endian bytes. What cannot
//! be converted exactly is refused. (Against dcmtk and pydicom: tests/interop/
//! test_source_syntaxes.py.)

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;

use dcmdisc_transcode::{can_convert, convert_file, Identity, Target, TranscodeError};

const BE_TS: &str = "1.2.840.10008.1.2.2";
const DEFLATED_TS: &str = "1.2.840.10008.1.2.1.99";
const UNDEF: u32 = 0xFFFF_FFFF;

fn ident() -> Identity {
    Identity {
        implementation_class_uid: "2.25.1".into(),
        implementation_version_name: "TEST".into(),
    }
}

/// Builds one data set in either byte order.
#[derive(Clone, Copy)]
struct B {
    be: bool,
}

impl B {
    fn u16(self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u32(self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn tag(self, g: u16, e: u16) -> Vec<u8> {
        [self.u16(g), self.u16(e)].concat()
    }
    /// An element whose value is given as units of `unit` bytes in little-endian order.
    fn el(self, g: u16, e: u16, vr: &[u8; 2], le_value: &[u8], unit: usize) -> Vec<u8> {
        let mut value = le_value.to_vec();
        if self.be && unit > 1 {
            value.chunks_exact_mut(unit).for_each(|c| c.reverse());
        }
        let mut v = self.tag(g, e);
        v.extend_from_slice(vr);
        if matches!(
            vr,
            b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"SQ" | b"UN" | b"UT"
        ) {
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&self.u32(value.len() as u32));
        } else {
            v.extend_from_slice(&self.u16(value.len() as u16));
        }
        v.extend(value);
        v
    }
    fn seq(self, g: u16, e: u16, items: &[Vec<u8>], undefined: bool) -> Vec<u8> {
        let body: Vec<u8> = items.concat();
        let mut v = self.tag(g, e);
        v.extend_from_slice(b"SQ\0\0");
        if undefined {
            v.extend_from_slice(&self.u32(UNDEF));
            v.extend(body);
            v.extend(self.tag(0xFFFE, 0xE0DD));
            v.extend_from_slice(&[0; 4]);
        } else {
            v.extend_from_slice(&self.u32(body.len() as u32));
            v.extend(body);
        }
        v
    }
    fn item(self, content: &[u8], undefined: bool) -> Vec<u8> {
        let mut v = self.tag(0xFFFE, 0xE000);
        if undefined {
            v.extend_from_slice(&self.u32(UNDEF));
            v.extend_from_slice(content);
            v.extend(self.tag(0xFFFE, 0xE00D));
            v.extend_from_slice(&[0; 4]);
        } else {
            v.extend_from_slice(&self.u32(content.len() as u32));
            v.extend_from_slice(content);
        }
        v
    }

    /// Everything a swap can get wrong, and Pixel Data of `bits` bits in `pixel_vr`.
    fn dataset(self, bits: u16, pixel_vr: &[u8; 2]) -> Vec<u8> {
        let le16 = |v: &[u16]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let le32 = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let deeper = [
            self.el(0x0008, 0x0100, b"SH", b"X1", 1),
            self.el(0x0020, 0x9157, b"UL", &le32(&[42]), 4),
        ]
        .concat();
        let inner = [
            self.el(0x0018, 0x9087, b"FD", &9.5f64.to_le_bytes(), 8),
            self.el(0x0028, 0x0010, b"US", &le16(&[7]), 2),
            self.seq(0x0040, 0x0260, &[self.item(&deeper, true)], true),
        ]
        .concat();
        let item = [
            self.el(0x0008, 0x1150, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0", 1),
            self.seq(
                0x0008,
                0x2112,
                &[self.item(&inner, false), self.item(&[], true)],
                false,
            ),
            self.el(0x0028, 0x2000, b"OB", &[1, 2, 3, 4], 1),
        ]
        .concat();
        let pixels: Vec<u8> = (0..6u32)
            .flat_map(|i| {
                let v = i.wrapping_mul(0x0102_0305);
                v.to_le_bytes()[..usize::from(bits / 8)].to_vec()
            })
            .collect();
        let pixel_unit = if bits == 8 && pixel_vr == b"OB" {
            1
        } else {
            usize::from(bits / 8).max(2)
        };
        [
            self.el(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0", 1),
            self.el(0x0008, 0x0018, b"UI", b"1.2.3.4\0", 1),
            self.seq(0x0008, 0x1140, &[self.item(&item, true)], true),
            self.el(0x0010, 0x0010, b"PN", b"Big^Endian", 1),
            self.el(0x0018, 0x1063, b"DS", b"33.3", 1),
            self.el(0x0018, 0x6020, b"SL", &(-100_000i32).to_le_bytes(), 4),
            self.el(0x0018, 0x9219, b"SS", &(-2i16).to_le_bytes(), 2),
            self.el(0x0018, 0x9241, b"FL", &0.25f32.to_le_bytes(), 4),
            self.el(
                0x0020,
                0x9165,
                b"AT",
                &le16(&[0x0010, 0x0010, 0x7FE0, 0x0010]),
                2,
            ),
            self.el(0x0028, 0x0010, b"US", &le16(&[2]), 2),
            self.el(0x0028, 0x0011, b"US", &le16(&[3]), 2),
            self.el(0x0028, 0x0100, b"US", &le16(&[bits]), 2),
            self.el(0x0028, 0x1201, b"OW", &le16(&[1, 2, 0x0304]), 2),
            self.el(0x0066, 0x0016, b"OF", &1.5f32.to_le_bytes(), 4),
            self.el(0x0066, 0x0040, b"OL", &le32(&[7, 70_000]), 4),
            self.el(0x0072, 0x0068, b"OD", &3.125f64.to_le_bytes(), 8),
            self.el(0x7FE0, 0x0010, pixel_vr, &pixels, pixel_unit),
        ]
        .concat()
    }
}

fn meta_el(g: u16, e: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    B { be: false }.el(g, e, vr, value, 1)
}

fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut ts_v = ts.as_bytes().to_vec();
    if ts_v.len() % 2 == 1 {
        ts_v.push(0);
    }
    let mut meta = meta_el(2, 1, b"OB", &[0, 1]);
    meta.extend(meta_el(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0"));
    meta.extend(meta_el(2, 3, b"UI", b"1.2.3.4\0"));
    meta.extend(meta_el(2, 0x10, b"UI", &ts_v));
    meta.extend(meta_el(2, 0x12, b"UI", b"1.2.3.99"));
    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    f.extend(meta_el(2, 0, b"UL", &(meta.len() as u32).to_le_bytes()));
    f.extend(meta);
    f.extend_from_slice(dataset);
    f
}

/// The data set bytes of a Part 10 file (after its File Meta).
fn dataset_of(file: &[u8]) -> &[u8] {
    let group = u32::from_le_bytes([file[140], file[141], file[142], file[143]]) as usize;
    &file[144 + group..]
}

fn convert(dir: &Path, name: &str, bytes: &[u8]) -> Result<Vec<u8>, TranscodeError> {
    let input = dir.join(name);
    std::fs::write(&input, bytes).unwrap();
    let output = dir.join(format!("{name}.out"));
    convert_file(&input, &output, Target::ExplicitLe, &ident())?;
    Ok(std::fs::read(&output).unwrap())
}

fn tmp() -> tempdir::Dir {
    tempdir::Dir::new()
}

/// A scratch folder removed when dropped (no tempfile crate in this one).
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "dcmdisc-be-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn both_syntaxes_are_convertible() {
    assert!(can_convert(BE_TS, Target::ExplicitLe));
    assert!(can_convert(DEFLATED_TS, Target::ExplicitLe));
    assert!(can_convert(BE_TS, Target::ImplicitLe));
}

#[test]
fn big_endian_becomes_the_little_endian_bytes() {
    let d = tmp();
    for (bits, vr) in [
        (16u16, b"OW"),
        (8, b"OW"),
        (8, b"OB"),
        (32, b"OW"),
        (16, b"OB"),
    ] {
        let le = B { be: false }.dataset(bits, vr);
        let be = B { be: true }.dataset(bits, vr);
        assert_ne!(le, be);
        let out = convert(&d.0, "be.dcm", &part10(BE_TS, &be)).unwrap();
        assert_eq!(
            dataset_of(&out),
            &le[..],
            "{bits} bits {}",
            String::from_utf8_lossy(vr)
        );
    }
}

#[test]
fn deflated_becomes_the_inflated_bytes() {
    let d = tmp();
    let le = B { be: false }.dataset(16, b"OW");
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&le).unwrap();
    let deflated = z.finish().unwrap();
    let out = convert(&d.0, "dfl.dcm", &part10(DEFLATED_TS, &deflated)).unwrap();
    assert_eq!(dataset_of(&out), &le[..]);
    // The scratch file is gone.
    let left: Vec<_> = std::fs::read_dir(&d.0)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".inflated"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn broken_deflate_stream_is_malformed() {
    let d = tmp();
    let err = convert(&d.0, "bad.dcm", &part10(DEFLATED_TS, &[0xFF; 64])).unwrap_err();
    assert!(matches!(err, TranscodeError::Malformed { .. }), "{err:?}");
    assert!(!d.0.join("bad.dcm.out").exists());
}

#[test]
fn big_endian_un_and_unknown_pixel_order_are_refused() {
    let d = tmp();
    let b = B { be: true };
    let mut ds = B { be: true }.dataset(16, b"OW");
    ds.splice(0..0, b.el(0x0009, 0x1010, b"UN", &[0, 1, 2, 3], 1));
    ds.splice(0..0, b.el(0x0009, 0x0010, b"LO", b"ACME", 1));
    let err = convert(&d.0, "un.dcm", &part10(BE_TS, &ds)).unwrap_err();
    assert!(
        matches!(&err, TranscodeError::Inexact(m) if m.contains("(0009,1010) UN")),
        "{err:?}"
    );
    // Bits Allocated 12 in OW: no known byte order.
    let ds = b.dataset(16, b"OW");
    let pos = ds
        .windows(8)
        .position(|w| w == [0x00, 0x28, 0x01, 0x00, b'U', b'S', 0, 2])
        .unwrap();
    let mut ds12 = ds.clone();
    ds12[pos + 8..pos + 10].copy_from_slice(&12u16.to_be_bytes());
    let err = convert(&d.0, "ba12.dcm", &part10(BE_TS, &ds12)).unwrap_err();
    assert!(matches!(err, TranscodeError::Inexact(_)), "{err:?}");
}

#[test]
fn big_endian_value_not_a_whole_number_of_units_is_malformed() {
    let d = tmp();
    let b = B { be: true };
    let ds = [
        b.el(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0", 1),
        b.el(0x0018, 0x9087, b"FD", &[0; 6], 1),
    ]
    .concat();
    let err = convert(&d.0, "odd.dcm", &part10(BE_TS, &ds)).unwrap_err();
    assert!(matches!(err, TranscodeError::Malformed { .. }), "{err:?}");
}

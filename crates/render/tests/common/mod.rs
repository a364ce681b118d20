//! Small synthetic instances for the golden tests: Part 10 bytes built element by element.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use dcmdisc_dicom::encode::explicit_element;
use dcmdisc_dicom::meta::FileMeta;
use dcmdisc_dicom::uid::EXPLICIT_VR_LE;

/// An Explicit VR Little Endian data set being built (elements sorted by tag on output).
#[derive(Clone, Default)]
pub struct Ds {
    elements: BTreeMap<u32, ([u8; 2], Vec<u8>)>,
    pub ts: Option<&'static str>,
    /// Raw bytes written in place of Pixel Data (encapsulated).
    pub encapsulated: Option<Vec<u8>>,
}

pub fn us(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn ss(v: &[i16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl Ds {
    /// A MONOCHROME2 image of `cols` × `rows` with the given bits.
    pub fn mono(rows: u16, cols: u16, ba: u16, bs: u16, signed: bool) -> Ds {
        let mut d = Ds::default();
        d.set(0x0008_0016, b"CS", b"1.2.840.10008.5.1.4.1.1.7")
            .set(0x0008_0018, b"UI", b"1.2.3.4")
            .set(0x0028_0002, b"US", &us(&[1]))
            .set(0x0028_0004, b"CS", b"MONOCHROME2")
            .set(0x0028_0010, b"US", &us(&[rows]))
            .set(0x0028_0011, b"US", &us(&[cols]))
            .set(0x0028_0100, b"US", &us(&[ba]))
            .set(0x0028_0101, b"US", &us(&[bs]))
            .set(0x0028_0102, b"US", &us(&[bs - 1]))
            .set(0x0028_0103, b"US", &us(&[u16::from(signed)]));
        d
    }

    /// An 8-bit colour image.
    pub fn color(rows: u16, cols: u16, pi: &str, planar: u16) -> Ds {
        let mut d = Ds::mono(rows, cols, 8, 8, false);
        d.set(0x0028_0002, b"US", &us(&[3]))
            .set(0x0028_0004, b"CS", pi.as_bytes())
            .set(0x0028_0006, b"US", &us(&[planar]));
        d
    }

    pub fn set(&mut self, tag: u32, vr: &[u8; 2], value: &[u8]) -> &mut Ds {
        self.elements.insert(tag, (*vr, value.to_vec()));
        self
    }

    pub fn text(&mut self, tag: u32, vr: &[u8; 2], value: &str) -> &mut Ds {
        self.set(tag, vr, value.as_bytes())
    }

    pub fn pixels16(&mut self, v: &[u16]) -> &mut Ds {
        self.set(0x7FE0_0010, b"OW", &us(v))
    }

    pub fn pixels8(&mut self, v: &[u8]) -> &mut Ds {
        self.set(0x7FE0_0010, b"OB", v)
    }

    /// A sequence of defined length from the items' element bytes.
    pub fn seq(&mut self, tag: u32, items: &[Vec<u8>]) -> &mut Ds {
        let mut v = Vec::new();
        for it in items {
            v.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            v.extend_from_slice(&(it.len() as u32).to_le_bytes());
            v.extend_from_slice(it);
        }
        self.set(tag, b"SQ", &v)
    }

    /// The same data set in Implicit VR Little Endian (no VRs; sequences keep their defined
    /// length, their items' elements are re-encoded too).
    pub fn bytes_implicit(&self) -> Vec<u8> {
        let mut out = meta(dcmdisc_dicom::uid::IMPLICIT_VR_LE);
        for (tag, (vr, value)) in &self.elements {
            let value = if vr == b"SQ" {
                implicit_items(value)
            } else {
                let mut v = value.clone();
                if v.len() % 2 == 1 {
                    v.push(dcmdisc_dicom::vr::pad_byte(*vr));
                }
                v
            };
            out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
            out.extend_from_slice(&(*tag as u16).to_le_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(&value);
        }
        out
    }

    pub fn bytes(&self) -> Vec<u8> {
        let ts = self.ts.unwrap_or(EXPLICIT_VR_LE);
        let mut out = FileMeta {
            media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.7",
            media_storage_sop_instance_uid: "1.2.3.4",
            transfer_syntax_uid: ts,
            implementation_class_uid: "2.25.1",
            implementation_version_name: "TEST",
            source_ae_title: "",
            private: None,
        }
        .encode()
        .0;
        for (tag, (vr, value)) in &self.elements {
            if *tag == 0x7FE0_0010 && self.encapsulated.is_some() {
                continue;
            }
            explicit_element(&mut out, *tag, *vr, value);
        }
        if let Some(enc) = &self.encapsulated {
            out.extend_from_slice(&[
                0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            out.extend_from_slice(enc);
        }
        out
    }
}

/// Element bytes (Explicit VR LE) for building items.
pub fn el(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    explicit_element(&mut v, tag, *vr, value);
    v
}

fn meta(ts: &str) -> Vec<u8> {
    FileMeta {
        media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.7",
        media_storage_sop_instance_uid: "1.2.3.4",
        transfer_syntax_uid: ts,
        implementation_class_uid: "2.25.1",
        implementation_version_name: "TEST",
        source_ae_title: "",
        private: None,
    }
    .encode()
    .0
}

/// Defined-length items of Explicit VR elements (as `Ds::seq` builds them) re-encoded in
/// Implicit VR (short-length elements only, as the tests use).
fn implicit_items(explicit: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut p = 0;
    while p + 8 <= explicit.len() {
        let len = u32::from_le_bytes(explicit[p + 4..p + 8].try_into().unwrap()) as usize;
        let body = &explicit[p + 8..p + 8 + len];
        let mut item = Vec::new();
        let mut q = 0;
        while q < body.len() {
            let vr = [body[q + 4], body[q + 5]];
            let (l, head) = if dcmdisc_dicom::vr::has_long_length(vr) {
                (
                    u32::from_le_bytes(body[q + 8..q + 12].try_into().unwrap()) as usize,
                    12,
                )
            } else {
                (u16::from_le_bytes([body[q + 6], body[q + 7]]) as usize, 8)
            };
            item.extend_from_slice(&body[q..q + 4]);
            item.extend_from_slice(&(l as u32).to_le_bytes());
            item.extend_from_slice(&body[q + head..q + head + l]);
            q += head + l;
        }
        out.extend_from_slice(&explicit[p..p + 4]);
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(&item);
        p += 8 + len;
    }
    out
}

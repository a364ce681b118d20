//! The small top-level values of a data set that the index and the DICOMDIR need, kept by one
//! header walk ([`scan`]), and their serialized form in the index.

use std::io::{BufRead, Cursor, Seek};

use crate::tag;
use crate::walk::{self, Header, Take, Visitor, WalkError};

/// Values longer than this are not kept (pixel data, LUTs, waveforms...).
const MAX_KEPT_VALUE: u32 = 1024;
/// Top-level sequences kept (as their item bytes) because DICOMDIR records copy them (the
/// Content Sequence for the HAS CONCEPT MOD items of SR and KOS records).
const KEPT_SEQUENCES: [u32; 6] = [
    tag::REFERENCED_IMAGE_SEQUENCE,
    tag::REFERENCED_SERIES_SEQUENCE,
    tag::REFERENCED_IMAGE_EVIDENCE_SEQUENCE,
    tag::CONCEPT_NAME_CODE_SEQUENCE,
    tag::BLENDING_SEQUENCE,
    tag::CONTENT_SEQUENCE,
];
/// A longer sequence is not kept: the index row and the record stay small (a large SR's
/// Content Sequence then gives its record no HAS CONCEPT MOD items).
const MAX_KEPT_SEQUENCE: u64 = 64 * 1024;
/// The UIDs the archive checks are kept whatever their length (up to what a 16-bit length
/// field holds), so that an over-long one is seen and refused rather than taken as absent.
const IDENTITY_UIDS: [u32; 4] = [
    tag::SOP_CLASS_UID,
    tag::SOP_INSTANCE_UID,
    tag::STUDY_INSTANCE_UID,
    tag::SERIES_INSTANCE_UID,
];
const MAX_KEPT_UID: u32 = 0xFFFE;

/// One kept top-level element: tag, VR (`None` in Implicit VR) and raw value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub tag: u32,
    pub vr: Option<[u8; 2]>,
    pub value: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
pub struct Keys {
    pub elements: Vec<Element>,
}

/// Walk the data set at `start..end` of `r` (Explicit or Implicit VR Little Endian), checking
/// its structure, and keep its small top-level values and the sequences DICOMDIR records copy.
pub fn scan<R: BufRead + Seek>(
    r: R,
    start: u64,
    end: u64,
    explicit: bool,
) -> Result<Keys, WalkError> {
    let mut keys = Keys::default();
    walk::walk(r, start, end, explicit, &mut keys)?;
    Ok(keys)
}

impl Visitor for Keys {
    fn element(&mut self, h: &Header, depth: usize) -> Take {
        if depth > 0 {
            Take::Skip
        } else if h.is_sequence() && KEPT_SEQUENCES.contains(&h.tag) {
            Take::Span(MAX_KEPT_SEQUENCE)
        } else if (h.len <= MAX_KEPT_VALUE && h.tag >> 16 != 0x7FE0)
            || (IDENTITY_UIDS.contains(&h.tag) && h.len <= MAX_KEPT_UID)
        {
            Take::Value
        } else {
            Take::Skip
        }
    }

    fn value(&mut self, h: &Header, _depth: usize, value: Vec<u8>) {
        self.elements.push(Element {
            tag: h.tag,
            vr: h.vr,
            value,
        });
    }

    fn span(&mut self, h: &Header, _depth: usize, items: Vec<u8>) {
        self.elements.push(Element {
            tag: h.tag,
            vr: Some(*b"SQ"),
            value: items,
        });
    }
}

/// Text padding (trailing spaces and NULs) removed.
fn trim_end(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|b| *b != b' ' && *b != 0)
        .map_or(0, |p| p + 1);
    &v[..end]
}

impl Keys {
    pub fn raw(&self, tag: u32) -> Option<&[u8]> {
        self.elements
            .iter()
            .find(|e| e.tag == tag)
            .map(|e| e.value.as_slice())
    }

    /// A text value with its padding (leading spaces, trailing spaces and NULs) removed;
    /// `None` when absent or empty.
    pub fn text(&self, tag: u32) -> Option<&[u8]> {
        let v = trim_end(self.raw(tag)?);
        let start = v.iter().position(|b| *b != b' ').unwrap_or(v.len());
        (start < v.len()).then(|| &v[start..])
    }

    pub fn string(&self, tag: u32) -> Option<String> {
        self.text(tag)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Serialize the kept elements for the index (tag, VR or "  ", length, value; all LE).
    pub fn to_blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.elements {
            out.extend_from_slice(&e.tag.to_le_bytes());
            out.extend_from_slice(&e.vr.unwrap_or(*b"  "));
            out.extend_from_slice(&(e.value.len() as u32).to_le_bytes());
            out.extend_from_slice(&e.value);
        }
        out
    }

    pub fn from_blob(blob: &[u8]) -> Option<Keys> {
        let mut elements = Vec::new();
        let mut pos = 0;
        while pos < blob.len() {
            let h = blob.get(pos..pos + 10)?;
            let tag = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            let vr = [h[4], h[5]];
            let len = u32::from_le_bytes([h[6], h[7], h[8], h[9]]) as usize;
            let value = blob.get(pos + 10..pos + 10 + len)?.to_vec();
            elements.push(Element {
                tag,
                vr: (vr != *b"  ").then_some(vr),
                value,
            });
            pos += 10 + len;
        }
        Some(Keys { elements })
    }
}

/// Values of `tag` (trailing padding removed) in the items of a kept Explicit VR sequence
/// value, one level deep. A value that does not walk to its end yields what was found.
pub fn item_values(items: &[u8], tag: u32) -> Vec<Vec<u8>> {
    struct Find {
        tag: u32,
        found: Vec<Vec<u8>>,
    }
    impl Visitor for Find {
        fn element(&mut self, h: &Header, depth: usize) -> Take {
            if depth == 1 && h.tag == self.tag {
                Take::Value
            } else {
                Take::Skip
            }
        }
        fn value(&mut self, _: &Header, _: usize, value: Vec<u8>) {
            self.found.push(trim_end(&value).to_vec());
        }
    }
    let mut find = Find {
        tag,
        found: Vec::new(),
    };
    let _ = walk::walk_items(Cursor::new(items), 0, items.len() as u64, true, &mut find);
    find.found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::explicit_element;

    fn run(bytes: &[u8], explicit: bool) -> Result<Keys, WalkError> {
        scan(Cursor::new(bytes), 0, bytes.len() as u64, explicit)
    }

    #[test]
    fn explicit_with_sequence_and_fragments() {
        let mut d = Vec::new();
        explicit_element(&mut d, 0x0008_0018, *b"UI", b"1.2.3\0");
        // undefined-length SQ with an undefined-length item holding one element
        d.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        explicit_element(&mut d, 0x0008_1150, *b"UI", b"1.2\0");
        d.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        explicit_element(&mut d, 0x0010_0010, *b"PN", b"Doe^John");
        // encapsulated pixel data: empty offset table + one fragment
        d.extend_from_slice(&[
            0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 1, 2, 3, 4]);
        d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let k = run(&d, true).unwrap();
        assert_eq!(k.string(0x0008_0018).unwrap(), "1.2.3");
        assert_eq!(k.string(0x0010_0010).unwrap(), "Doe^John");
        // nested elements are not top-level keys, but a DICOMDIR sequence is kept whole,
        // without its delimitation item
        assert!(k.raw(0x0008_1150).is_none());
        let seq = k.raw(0x0008_1115).unwrap();
        assert_eq!(&seq[..4], &[0xFE, 0xFF, 0x00, 0xE0]);
        assert_eq!(
            &seq[seq.len() - 8..seq.len() - 4],
            &[0xFE, 0xFF, 0x0D, 0xE0]
        );
        assert_eq!(item_values(seq, 0x0008_1150), vec![b"1.2".to_vec()]);
        let back = Keys::from_blob(&k.to_blob()).unwrap();
        assert_eq!(back.elements, k.elements);
    }

    #[test]
    fn values_in_items() {
        // one defined-length item holding a DT and a nested undefined-length sequence
        let mut item = Vec::new();
        explicit_element(
            &mut item,
            tag::VERIFICATION_DATE_TIME,
            *b"DT",
            b"20260101120000",
        );
        item.extend_from_slice(&[
            0x40, 0x00, 0x88, 0xA0, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        item.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
        seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
        seq.extend_from_slice(&item);
        seq.extend_from_slice(&seq.clone());
        assert_eq!(
            item_values(&seq, tag::VERIFICATION_DATE_TIME),
            vec![b"20260101120000".to_vec(), b"20260101120000".to_vec()]
        );
        // a broken second item: the first one's value is still found
        let mut broken = seq[..seq.len() / 2].to_vec();
        broken.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0, 0, 0]);
        assert_eq!(item_values(&broken, tag::VERIFICATION_DATE_TIME).len(), 1);
    }

    #[test]
    fn garbage_is_rejected() {
        let garbage: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert!(run(&garbage, true).is_err());
        assert!(run(&garbage, false).is_err());
        // truncated value
        let mut d = Vec::new();
        explicit_element(&mut d, 0x0010_0010, *b"PN", b"Doe^John");
        d.truncate(d.len() - 2);
        assert!(run(&d, true).is_err());
        // an item whose element overruns it
        let mut d = Vec::new();
        d.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0]);
        explicit_element(&mut d, 0x0008_1150, *b"UI", b"1.2\0");
        d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        assert!(run(&d, true).is_err());
    }

    #[test]
    fn implicit_undefined_length_sequence() {
        let mut d = Vec::new();
        d.extend_from_slice(&[0x08, 0x00, 0x18, 0x00, 4, 0, 0, 0, b'1', b'.', b'2', 0]);
        d.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 12, 0, 0, 0]);
        d.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, 4, 0, 0, 0, b'1', b'.', b'3', 0]);
        d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let k = run(&d, false).unwrap();
        assert_eq!(k.string(0x0008_0018).unwrap(), "1.2");
    }

    /// The shape that was once stored: a top-level defined-length sequence (kept as a value
    /// when small, skipped when large) whose defined-length item holds an undefined-length
    /// sequence without its delimiter. `scan` refuses both; with the delimiter both pass and
    /// the small one is kept.
    #[test]
    fn a_sequence_left_open_inside_a_defined_item_is_refused() {
        for (pad, delimited) in [(0usize, false), (2000, false), (0, true), (2000, true)] {
            let mut inner = vec![
                0x08, 0x00, 0x10, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ];
            inner.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
            explicit_element(&mut inner, 0x0008_1150, *b"UI", b"1.2\0");
            inner.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
            if delimited {
                inner.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
            }
            explicit_element(&mut inner, 0x0040_1400, *b"LT", &vec![b'x'; pad]);
            let mut item = vec![0xFE, 0xFF, 0x00, 0xE0];
            item.extend_from_slice(&(inner.len() as u32).to_le_bytes());
            item.extend_from_slice(&inner);
            let mut d = Vec::new();
            explicit_element(&mut d, 0x0008_0018, *b"UI", b"1.2.3\0");
            explicit_element(&mut d, 0x0040_0275, *b"SQ", &item);
            explicit_element(&mut d, 0x0010_0010, *b"PN", b"Doe^John");
            let r = run(&d, true);
            assert_eq!(r.is_ok(), delimited, "pad {pad}, delimited {delimited}");
            if let Ok(k) = r {
                assert_eq!(k.raw(0x0040_0275).is_some(), pad == 0);
                assert_eq!(k.string(0x0010_0010).unwrap(), "Doe^John");
            }
        }
    }
}

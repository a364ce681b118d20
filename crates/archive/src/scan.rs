//! A bounded-memory walk over a received dataset, as bytes, that checks its structure from the
//! first element to the last and keeps the small top-level values the index needs.
//!
//! Why our own and not dicom-object: we must store the dataset exactly as received, so we
//! never need a decoded object, and opening one would read every value (a 1 GB pixel element
//! included) into memory. The walk reads element headers and seeks over values, so it costs a
//! few kilobytes whatever the instance size, and it tells a dataset we cannot parse (C000)
//! from one we can.

use std::io::{self, BufRead, Seek};

/// Values longer than this are not kept (pixel data, LUTs, waveforms...).
const MAX_KEPT_VALUE: u32 = 1024;
/// Top-level sequences kept (as their item bytes) because DICOMDIR records copy them: Referenced
/// Image, Referenced Series, Referenced Image Evidence, Concept Name Code, Blending.
const KEPT_SEQUENCES: [u32; 5] = [
    0x0008_1140,
    0x0008_1115,
    0x0008_9092,
    0x0040_A043,
    0x0070_0402,
];
const MAX_KEPT_SEQUENCE: u64 = 64 * 1024;
/// Deeper nesting than this is an attack, not a real dataset.
const MAX_DEPTH: usize = 64;
const UNDEFINED: u32 = 0xFFFF_FFFF;

pub const TAG_ITEM: u32 = 0xFFFE_E000;
pub const TAG_ITEM_DELIMITATION: u32 = 0xFFFE_E00D;
pub const TAG_SEQUENCE_DELIMITATION: u32 = 0xFFFE_E0DD;
pub const TAG_PIXEL_DATA: u32 = 0x7FE0_0010;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("I/O error while reading the dataset: {0}")]
    Io(#[from] io::Error),
    #[error("element ({group:04X},{element:04X}) at byte {offset}: {reason}")]
    Malformed {
        offset: u64,
        group: u16,
        element: u16,
        reason: String,
    },
    #[error("dataset truncated at byte {0}")]
    Truncated(u64),
    #[error("dataset nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

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

impl Keys {
    pub fn raw(&self, tag: u32) -> Option<&[u8]> {
        self.elements
            .iter()
            .find(|e| e.tag == tag)
            .map(|e| e.value.as_slice())
    }

    /// A text value with its padding (trailing spaces and NULs) removed; `None` when absent
    /// or empty.
    pub fn text(&self, tag: u32) -> Option<&[u8]> {
        let v = self.raw(tag)?;
        let end = v
            .iter()
            .rposition(|b| *b != b' ' && *b != 0)
            .map_or(0, |p| p + 1);
        let start = v[..end].iter().position(|b| *b != b' ').unwrap_or(end);
        (start < end).then(|| &v[start..end])
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

struct Walker<R> {
    r: R,
    pos: u64,
    end: u64,
}

/// VRs whose explicit encoding has a 4-byte length after two reserved bytes (PS3.5 7.1.2).
pub fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

/// Walk the dataset that occupies bytes `start..end` of `r`, in Explicit (`explicit`) or
/// Implicit VR Little Endian, and return its top-level small elements.
pub fn scan<R: BufRead + Seek>(
    mut r: R,
    start: u64,
    end: u64,
    explicit: bool,
) -> Result<Keys, ScanError> {
    r.seek(io::SeekFrom::Start(start))?;
    let mut w = Walker { r, pos: start, end };
    let mut keys = Keys::default();
    w.dataset(explicit, None, 0, Some(&mut keys))?;
    Ok(keys)
}

impl<R: BufRead + Seek> Walker<R> {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ScanError> {
        if self.pos + buf.len() as u64 > self.end {
            return Err(ScanError::Truncated(self.pos));
        }
        self.r.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, ScanError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn skip(&mut self, n: u64, tag: u32) -> Result<(), ScanError> {
        if self.pos + n > self.end {
            return Err(self.malformed(
                tag,
                format!("value length {n} runs past the end of the dataset"),
            ));
        }
        self.r.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }

    fn malformed(&self, tag: u32, reason: String) -> ScanError {
        ScanError::Malformed {
            offset: self.pos,
            group: (tag >> 16) as u16,
            element: tag as u16,
            reason,
        }
    }

    fn tag(&mut self) -> Result<u32, ScanError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)
            | u16::from_le_bytes([b[2], b[3]]) as u32)
    }

    /// Elements until `limit` (a defined-length item or the end of the dataset) or until an
    /// item delimiter when `limit` is `None` inside an undefined-length item.
    fn dataset(
        &mut self,
        explicit: bool,
        limit: Option<u64>,
        depth: usize,
        mut keys: Option<&mut Keys>,
    ) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError::TooDeep);
        }
        let in_item = depth > 0;
        loop {
            let stop = limit.unwrap_or(self.end);
            if self.pos == stop && (limit.is_some() || !in_item) {
                return Ok(());
            }
            if self.pos > stop {
                return Err(self.malformed(0, "element overruns its item".into()));
            }
            let tag = self.tag()?;
            if tag == TAG_ITEM_DELIMITATION {
                let _ = self.u32()?;
                if in_item && limit.is_none() {
                    return Ok(());
                }
                return Err(self.malformed(tag, "item delimiter outside an item".into()));
            }
            if tag >> 16 == 0xFFFE {
                return Err(self.malformed(tag, "item tag where an element was expected".into()));
            }
            let (vr, len) = if explicit {
                let mut vr = [0u8; 2];
                self.read_exact(&mut vr)?;
                if !vr.iter().all(u8::is_ascii_uppercase) {
                    return Err(
                        self.malformed(tag, format!("invalid VR {:02X}{:02X}", vr[0], vr[1]))
                    );
                }
                if long_vr(vr) {
                    let mut reserved = [0u8; 2];
                    self.read_exact(&mut reserved)?;
                    (Some(vr), self.u32()?)
                } else {
                    let mut l = [0u8; 2];
                    self.read_exact(&mut l)?;
                    (Some(vr), u16::from_le_bytes(l) as u32)
                }
            } else {
                (None, self.u32()?)
            };
            let keep_sequence = keys.is_some()
                && explicit
                && vr.is_some_and(|v| &v == b"SQ")
                && KEPT_SEQUENCES.contains(&tag);
            let value_start = self.pos;
            if len == UNDEFINED {
                match vr {
                    _ if tag == TAG_PIXEL_DATA => self.fragments()?,
                    Some(v) if &v == b"SQ" => self.sequence(explicit, depth)?,
                    // CP-246: an undefined-length UN is a sequence encoded in Implicit VR.
                    Some(v) if &v == b"UN" => self.sequence(false, depth)?,
                    None => self.sequence(false, depth)?,
                    Some(v) => {
                        return Err(self.malformed(
                            tag,
                            format!("undefined length on VR {}", String::from_utf8_lossy(&v)),
                        ))
                    }
                }
                if keep_sequence {
                    // Without the sequence delimitation item: stored as a defined-length value.
                    self.keep_span(tag, value_start, self.pos - 8, keys.as_deref_mut())?;
                }
                continue;
            }
            if keep_sequence {
                self.sequence_defined(explicit, depth, len, tag)?;
                self.keep_span(tag, value_start, self.pos, keys.as_deref_mut())?;
                continue;
            }
            match keys.as_deref_mut() {
                Some(k) if len <= MAX_KEPT_VALUE && tag >> 16 != 0x7FE0 => {
                    let mut value = vec![0u8; len as usize];
                    self.read_exact(&mut value).map_err(|_| {
                        self.malformed(
                            tag,
                            format!("value length {len} runs past the end of the dataset"),
                        )
                    })?;
                    k.elements.push(Element { tag, vr, value });
                }
                _ => self.skip(len as u64, tag)?,
            }
        }
    }

    /// Re-read a span already walked and keep it as an SQ value.
    fn keep_span(
        &mut self,
        tag: u32,
        start: u64,
        end: u64,
        keys: Option<&mut Keys>,
    ) -> Result<(), ScanError> {
        let Some(k) = keys else { return Ok(()) };
        if end - start > MAX_KEPT_SEQUENCE {
            return Ok(());
        }
        let resume = self.pos;
        self.r.seek(io::SeekFrom::Start(start))?;
        let mut value = vec![0u8; (end - start) as usize];
        self.r.read_exact(&mut value)?;
        self.r.seek(io::SeekFrom::Start(resume))?;
        k.elements.push(Element {
            tag,
            vr: Some(*b"SQ"),
            value,
        });
        Ok(())
    }

    /// A defined-length sequence: its items, up to the declared end.
    fn sequence_defined(
        &mut self,
        explicit: bool,
        depth: usize,
        len: u32,
        tag: u32,
    ) -> Result<(), ScanError> {
        let end = self.pos + len as u64;
        if end > self.end {
            return Err(self.malformed(
                tag,
                format!("value length {len} runs past the end of the dataset"),
            ));
        }
        while self.pos < end {
            let t = self.tag()?;
            let l = self.u32()?;
            match t {
                TAG_ITEM if l == UNDEFINED => self.dataset(explicit, None, depth + 1, None)?,
                TAG_ITEM => {
                    let limit = self.pos + l as u64;
                    if limit > end {
                        return Err(
                            self.malformed(t, format!("item length {l} runs past its sequence"))
                        );
                    }
                    self.dataset(explicit, Some(limit), depth + 1, None)?
                }
                _ => return Err(self.malformed(t, "expected an item in a sequence".into())),
            }
        }
        if self.pos != end {
            return Err(self.malformed(tag, "items overrun the sequence length".into()));
        }
        Ok(())
    }

    fn sequence(&mut self, explicit: bool, depth: usize) -> Result<(), ScanError> {
        loop {
            let tag = self.tag()?;
            let len = self.u32()?;
            match tag {
                TAG_SEQUENCE_DELIMITATION => return Ok(()),
                TAG_ITEM if len == UNDEFINED => self.dataset(explicit, None, depth + 1, None)?,
                TAG_ITEM => {
                    let limit = self.pos + len as u64;
                    if limit > self.end {
                        return Err(
                            self.malformed(tag, format!("item length {len} runs past the end"))
                        );
                    }
                    self.dataset(explicit, Some(limit), depth + 1, None)?
                }
                _ => return Err(self.malformed(tag, "expected an item in a sequence".into())),
            }
        }
    }

    /// Encapsulated pixel data: items of defined length up to the sequence delimiter.
    fn fragments(&mut self) -> Result<(), ScanError> {
        loop {
            let tag = self.tag()?;
            let len = self.u32()?;
            match tag {
                TAG_SEQUENCE_DELIMITATION => return Ok(()),
                TAG_ITEM if len != UNDEFINED => self.skip(len as u64, tag)?,
                _ => return Err(self.malformed(tag, "bad pixel data fragment".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn explicit_el(out: &mut Vec<u8>, g: u16, e: u16, vr: &[u8; 2], v: &[u8]) {
        out.extend_from_slice(&g.to_le_bytes());
        out.extend_from_slice(&e.to_le_bytes());
        out.extend_from_slice(vr);
        if long_vr(*vr) {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(v);
    }

    fn run(bytes: &[u8], explicit: bool) -> Result<Keys, ScanError> {
        scan(Cursor::new(bytes), 0, bytes.len() as u64, explicit)
    }

    #[test]
    fn explicit_with_sequence_and_fragments() {
        let mut d = Vec::new();
        explicit_el(&mut d, 0x0008, 0x0018, b"UI", b"1.2.3\0");
        // undefined-length SQ with an undefined-length item holding one element
        d.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        explicit_el(&mut d, 0x0008, 0x1150, b"UI", b"1.2\0");
        d.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        explicit_el(&mut d, 0x0010, 0x0010, b"PN", b"Doe^John");
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
        let back = Keys::from_blob(&k.to_blob()).unwrap();
        assert_eq!(back.elements, k.elements);
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
        explicit_el(&mut d, 0x0010, 0x0010, b"PN", b"Doe^John");
        d.truncate(d.len() - 2);
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
}

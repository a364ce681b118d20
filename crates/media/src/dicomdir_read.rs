//! Reading a DICOMDIR back (PS3.10 8, PS3.3 F.3): its File Meta (`dcmdisc_dicom::meta`),
//! the File-set header elements and every directory record of the Directory Record
//! Sequence (0004,1220), then the hierarchy those records' offsets describe, each offset
//! checked to be the first byte of a record.
//!
//! Why a small walker of our own rather than the shared header walk: the hierarchy is made
//! of byte offsets, so the reader must know where each item starts, which the walk's
//! visitor is not told. The DICOMDIR is in memory (a few megabytes at most), so this walker
//! works on a byte slice, every read bounds-checked.

use std::collections::{HashMap, HashSet};

use dcmdisc_dicom::meta::{parse_meta, FileMetaInfo, MetaError};
use dcmdisc_dicom::tag::{ITEM, ITEM_DELIMITATION_ITEM, SEQUENCE_DELIMITATION_ITEM};
use dcmdisc_dicom::uid::{self, EXPLICIT_VR_LE, MEDIA_STORAGE_DIRECTORY};
use dcmdisc_dicom::vr::{has_long_length, looks_like_vr, UNDEFINED_LENGTH};

/// Basic Directory elements (PS3.3 F.5): the writer's names.
pub use crate::dicomdir::tags;

/// Nesting inside a record (sequences in SR or presentation records) deeper than this is a
/// broken file; the hierarchy itself (PATIENT, STUDY, SERIES, IMAGE...) is much shallower.
const MAX_NESTING: usize = 16;
const MAX_LEVELS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DicomdirReadError {
    #[error("File Meta Information: {0}")]
    Meta(#[from] MetaError),
    #[error("not a DICOMDIR: {0}")]
    NotADicomdir(String),
    #[error("element ({group:04X},{element:04X}) at byte {offset}: {reason}")]
    Malformed {
        offset: usize,
        group: u16,
        element: u16,
        reason: String,
    },
    #[error("no Directory Record Sequence (0004,1220)")]
    NoRecordSequence,
    #[error("{from}: {field} is {value}, which is not the first byte of a directory record")]
    BadOffset {
        from: String,
        field: &'static str,
        value: u32,
    },
    #[error("the record at byte {0} is reached twice through the offsets: a loop")]
    Loop(u32),
    #[error("the records nest deeper than {MAX_LEVELS} levels")]
    TooDeep,
}

/// One element of a record, as read: defined-length, non-sequence values only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordElement {
    pub tag: u32,
    pub vr: [u8; 2],
    pub value: Vec<u8>,
}

/// One directory record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRecord {
    /// Byte offset of its item from the first byte of the file (what offsets point at).
    pub offset: u32,
    pub record_type: String,
    /// Record In-use Flag (0004,1410): 0000H is an inactive record.
    pub in_use: u16,
    pub next_offset: u32,
    pub lower_offset: u32,
    /// Referenced File ID (0004,1500), its components.
    pub file_id: Option<Vec<String>>,
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub transfer_syntax_uid: Option<String>,
    /// Every element of the record (sequences left out), in file order.
    pub elements: Vec<RecordElement>,
}

impl DirectoryRecord {
    /// A text value of the record, without padding.
    pub fn text(&self, tag: u32) -> Option<String> {
        self.elements
            .iter()
            .find(|e| e.tag == tag)
            .map(|e| uid::trim(&e.value))
    }

    /// How the record is named in a problem: its type and where it is.
    pub fn describe(&self) -> String {
        format!("{} record at byte {}", self.record_type, self.offset)
    }
}

/// A DICOMDIR as read.
#[derive(Debug, Clone)]
pub struct Dicomdir {
    pub meta: FileMetaInfo,
    pub fileset_id: String,
    pub consistency_flag: Option<u16>,
    /// Every record of the sequence, in file order.
    pub records: Vec<DirectoryRecord>,
    /// The hierarchy the offsets describe, depth first: (index into `records`, level), the
    /// root records at level 0.
    pub hierarchy: Vec<(usize, usize)>,
    /// Records no offset reaches, by index.
    pub unreached: Vec<usize>,
}

impl Dicomdir {
    /// The records of the hierarchy, depth first, with their level.
    pub fn walk(&self) -> impl Iterator<Item = (&DirectoryRecord, usize)> {
        self.hierarchy.iter().map(|&(i, l)| (&self.records[i], l))
    }
}

/// Reads a whole DICOMDIR file held in memory.
pub fn read_dicomdir(bytes: &[u8]) -> Result<Dicomdir, DicomdirReadError> {
    let meta = parse_meta(bytes)?;
    let class = meta.sop_class_uid();
    if class != MEDIA_STORAGE_DIRECTORY {
        return Err(DicomdirReadError::NotADicomdir(format!(
            "Media Storage SOP Class is {class:?}, {MEDIA_STORAGE_DIRECTORY} expected"
        )));
    }
    let ts = meta.transfer_syntax_uid();
    if ts != EXPLICIT_VR_LE {
        return Err(DicomdirReadError::NotADicomdir(format!(
            "transfer syntax {ts:?}; PS3.10 8.6 asks for Explicit VR Little Endian"
        )));
    }
    let mut c = Cursor {
        b: bytes,
        pos: usize::try_from(meta.dataset_offset).unwrap_or(usize::MAX),
    };
    let mut fileset_id = String::new();
    let (mut first_root, mut last_root, mut consistency_flag) = (0u32, 0u32, None);
    let mut records = None;
    while c.pos < bytes.len() {
        let h = c.header()?;
        match h.tag {
            tags::RECORD_SEQUENCE => {
                if h.vr != *b"SQ" {
                    return Err(c.malformed(&h, "the Directory Record Sequence is not SQ"));
                }
                records = Some(c.records(&h)?);
            }
            _ => {
                let value = c.value(&h, 0)?;
                match (h.tag, value) {
                    (tags::FILE_SET_ID, Some(v)) => fileset_id = uid::trim(v),
                    (tags::FIRST_ROOT, Some(v)) => first_root = c.ul(&h, v)?,
                    (tags::LAST_ROOT, Some(v)) => last_root = c.ul(&h, v)?,
                    (tags::CONSISTENCY_FLAG, Some(v)) => consistency_flag = Some(c.us(&h, v)?),
                    _ => {}
                }
            }
        }
    }
    let records = records.ok_or(DicomdirReadError::NoRecordSequence)?;
    let (hierarchy, unreached) = resolve(&records, first_root, last_root)?;
    Ok(Dicomdir {
        meta,
        fileset_id,
        consistency_flag,
        records,
        hierarchy,
        unreached,
    })
}

/// The hierarchy (record index, level) depth first, and the records not reached.
type Resolved = (Vec<(usize, usize)>, Vec<usize>);

/// Follows the offsets from the first root record: each must be the start of a record, no
/// record reached twice.
fn resolve(
    records: &[DirectoryRecord],
    first_root: u32,
    last_root: u32,
) -> Result<Resolved, DicomdirReadError> {
    let at: HashMap<u32, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.offset, i))
        .collect();
    let lookup = |from: &dyn Fn() -> String, field, value: u32| match value {
        0 => Ok(None),
        v => at
            .get(&v)
            .copied()
            .map(Some)
            .ok_or_else(|| DicomdirReadError::BadOffset {
                from: from(),
                field,
                value: v,
            }),
    };
    let header = || "the DICOMDIR header".to_string();
    let first = lookup(
        &header,
        "the first root record's offset (0004,1200)",
        first_root,
    )?;
    let last = lookup(
        &header,
        "the last root record's offset (0004,1202)",
        last_root,
    )?;
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // (first record of a sibling chain, level)
    let mut stack: Vec<(Option<usize>, usize)> = vec![(first, 0)];
    let mut last_of_roots = None;
    while let Some((cur, level)) = stack.pop() {
        let Some(i) = cur else { continue };
        if level >= MAX_LEVELS {
            return Err(DicomdirReadError::TooDeep);
        }
        let r = &records[i];
        if !seen.insert(i) {
            return Err(DicomdirReadError::Loop(r.offset));
        }
        order.push((i, level));
        if level == 0 {
            last_of_roots = Some(i);
        }
        let from = || r.describe();
        let next = lookup(&from, "the next record's offset (0004,1400)", r.next_offset)?;
        let lower = lookup(&from, "the lower-level offset (0004,1420)", r.lower_offset)?;
        // Depth first: the lower level before the next sibling.
        stack.push((next, level));
        stack.push((lower, level + 1));
    }
    if last != last_of_roots {
        return Err(DicomdirReadError::BadOffset {
            from: header(),
            field: "the last root record's offset (0004,1202)",
            value: last_root,
        });
    }
    let unreached = (0..records.len()).filter(|i| !seen.contains(i)).collect();
    Ok((order, unreached))
}

/// What [`Cursor::items`] calls for each item: (cursor, item start, item end if defined).
type ItemFn<'f, 'a> =
    dyn FnMut(&mut Cursor<'a>, usize, Option<usize>) -> Result<(), DicomdirReadError> + 'f;

struct Header {
    at: usize,
    tag: u32,
    vr: [u8; 2],
    len: u32,
}

/// Explicit VR Little Endian over a byte slice.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DicomdirReadError> {
        let b: &'a [u8] = self.b;
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| b.get(self.pos..end))
            .ok_or_else(|| DicomdirReadError::Malformed {
                offset: self.pos,
                group: 0,
                element: 0,
                reason: format!("{what} runs past the end of the file"),
            })?;
        self.pos += n;
        Ok(s)
    }

    fn u32_le(&mut self, what: &str) -> Result<u32, DicomdirReadError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn tag(&mut self) -> Result<u32, DicomdirReadError> {
        let s = self.take(4, "a tag")?;
        Ok(u32::from(u16::from_le_bytes([s[0], s[1]])) << 16
            | u32::from(u16::from_le_bytes([s[2], s[3]])))
    }

    fn malformed(&self, h: &Header, reason: &str) -> DicomdirReadError {
        DicomdirReadError::Malformed {
            offset: h.at,
            group: (h.tag >> 16) as u16,
            element: h.tag as u16,
            reason: reason.to_string(),
        }
    }

    fn peek_tag(&self) -> Option<u32> {
        let s = self.b.get(self.pos..self.pos.checked_add(4)?)?;
        Some(
            u32::from(u16::from_le_bytes([s[0], s[1]])) << 16
                | u32::from(u16::from_le_bytes([s[2], s[3]])),
        )
    }

    /// An element header (not an item or delimiter).
    fn header(&mut self) -> Result<Header, DicomdirReadError> {
        let at = self.pos;
        let tag = self.tag()?;
        let mut h = Header {
            at,
            tag,
            vr: [0; 2],
            len: 0,
        };
        if tag >> 16 == 0xFFFE {
            return Err(self.malformed(&h, "an item or delimiter where an element belongs"));
        }
        let vr = self.take(2, "a VR")?;
        h.vr = [vr[0], vr[1]];
        if !looks_like_vr(h.vr) {
            return Err(self.malformed(&h, "no valid VR"));
        }
        h.len = if has_long_length(h.vr) {
            self.take(2, "a reserved field")?;
            self.u32_le("a value length")?
        } else {
            let l = self.take(2, "a value length")?;
            u32::from(u16::from_le_bytes([l[0], l[1]]))
        };
        Ok(h)
    }

    /// The value of a defined-length element (`None` for a sequence, walked over).
    fn value(&mut self, h: &Header, depth: usize) -> Result<Option<&'a [u8]>, DicomdirReadError> {
        if h.vr == *b"SQ" {
            self.skip_sequence(h, depth + 1)?;
            return Ok(None);
        }
        if h.len == UNDEFINED_LENGTH {
            return Err(self.malformed(h, "undefined length on a value that is not a sequence"));
        }
        self.take(h.len as usize, "the value").map(Some)
    }

    fn ul(&self, h: &Header, v: &[u8]) -> Result<u32, DicomdirReadError> {
        match v {
            [a, b, c, d] => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
            _ => Err(self.malformed(h, "an offset (UL) that is not 4 bytes")),
        }
    }

    fn us(&self, h: &Header, v: &[u8]) -> Result<u16, DicomdirReadError> {
        match v {
            [a, b] => Ok(u16::from_le_bytes([*a, *b])),
            _ => Err(self.malformed(h, "a US value that is not 2 bytes")),
        }
    }

    /// Walks the items of a sequence: `each(self, item_start, item_end)` is called with the
    /// cursor at the item's first element; it must leave the cursor at `item_end` (defined
    /// length) or after the item delimiter (`None`).
    fn items(
        &mut self,
        h: &Header,
        depth: usize,
        each: &mut ItemFn<'_, 'a>,
    ) -> Result<(), DicomdirReadError> {
        if depth > MAX_NESTING {
            return Err(self.malformed(h, "sequences nested too deep"));
        }
        let end = if h.len == UNDEFINED_LENGTH {
            None
        } else {
            let end = self.pos.saturating_add(h.len as usize);
            if end > self.b.len() {
                return Err(self.malformed(h, "the sequence runs past the end of the file"));
            }
            Some(end)
        };
        loop {
            if Some(self.pos) == end {
                return Ok(());
            }
            let at = self.pos;
            let tag = self.tag()?;
            let len = self.u32_le("an item length")?;
            let item = Header {
                at,
                tag,
                vr: *b"  ",
                len,
            };
            match tag {
                SEQUENCE_DELIMITATION_ITEM if end.is_none() => return Ok(()),
                ITEM => {
                    let item_end = if len == UNDEFINED_LENGTH {
                        None
                    } else {
                        let e = self.pos.saturating_add(len as usize);
                        if e > end.unwrap_or(self.b.len()) {
                            return Err(self.malformed(&item, "the item runs past its sequence"));
                        }
                        Some(e)
                    };
                    each(self, at, item_end)?;
                }
                _ => return Err(self.malformed(&item, "expected an item of the sequence")),
            }
            if end.is_some_and(|e| self.pos > e) {
                return Err(self.malformed(h, "the items overrun the sequence"));
            }
        }
    }

    /// The elements of one item up to `end`, or up to its item delimiter; `each` gets those
    /// with a value.
    fn elements(
        &mut self,
        end: Option<usize>,
        depth: usize,
        each: &mut dyn FnMut(&Header, &'a [u8]),
    ) -> Result<(), DicomdirReadError> {
        loop {
            if Some(self.pos) == end {
                return Ok(());
            }
            if end.is_some_and(|e| self.pos > e) {
                return Err(DicomdirReadError::Malformed {
                    offset: self.pos,
                    group: 0,
                    element: 0,
                    reason: "an element overruns its item".into(),
                });
            }
            if end.is_none() && self.peek_tag() == Some(ITEM_DELIMITATION_ITEM) {
                let at = self.pos;
                self.tag()?;
                let len = self.u32_le("an item delimiter length")?;
                if len != 0 {
                    return Err(DicomdirReadError::Malformed {
                        offset: at,
                        group: 0xFFFE,
                        element: 0xE00D,
                        reason: format!("item delimiter of length {len}"),
                    });
                }
                return Ok(());
            }
            let h = self.header()?;
            if let Some(v) = self.value(&h, depth)? {
                each(&h, v);
            }
        }
    }

    fn skip_sequence(&mut self, h: &Header, depth: usize) -> Result<(), DicomdirReadError> {
        self.items(h, depth, &mut |c, _, end| {
            c.elements(end, depth, &mut |_, _| {})
        })
    }

    /// The Directory Record Sequence: one record per item.
    fn records(&mut self, h: &Header) -> Result<Vec<DirectoryRecord>, DicomdirReadError> {
        let mut out = Vec::new();
        self.items(h, 1, &mut |c, at, end| {
            let mut elements = Vec::new();
            c.elements(end, 1, &mut |h, v| {
                elements.push(RecordElement {
                    tag: h.tag,
                    vr: h.vr,
                    value: v.to_vec(),
                })
            })?;
            let offset = u32::try_from(at).map_err(|_| DicomdirReadError::Malformed {
                offset: at,
                group: 0xFFFE,
                element: 0xE000,
                reason: "a record beyond 4 GiB".into(),
            })?;
            out.push(record(offset, elements)?);
            Ok(())
        })?;
        Ok(out)
    }
}

fn record(offset: u32, elements: Vec<RecordElement>) -> Result<DirectoryRecord, DicomdirReadError> {
    let find = |tag| elements.iter().find(|e| e.tag == tag);
    let bad = |tag: u32, reason: &str| DicomdirReadError::Malformed {
        offset: offset as usize,
        group: (tag >> 16) as u16,
        element: tag as u16,
        reason: format!("in the record at byte {offset}: {reason}"),
    };
    let ul = |tag| -> Result<u32, DicomdirReadError> {
        match find(tag).map(|e| e.value.as_slice()) {
            Some([a, b, c, d]) => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
            Some(_) => Err(bad(tag, "not a 4-byte UL")),
            None => Err(bad(tag, "missing (Type 1)")),
        }
    };
    let next_offset = ul(tags::NEXT)?;
    let lower_offset = ul(tags::LOWER)?;
    let in_use = match find(tags::IN_USE).map(|e| e.value.as_slice()) {
        Some([a, b]) => u16::from_le_bytes([*a, *b]),
        Some(_) => return Err(bad(tags::IN_USE, "not a 2-byte US")),
        None => return Err(bad(tags::IN_USE, "missing (Type 1)")),
    };
    let text = |tag| find(tag).map(|e| uid::trim(&e.value));
    let record_type = text(tags::RECORD_TYPE).ok_or_else(|| bad(tags::RECORD_TYPE, "missing"))?;
    let file_id =
        text(tags::FILE_ID).map(|s| s.split('\\').map(|c| c.trim().to_string()).collect());
    Ok(DirectoryRecord {
        offset,
        record_type,
        in_use,
        next_offset,
        lower_offset,
        file_id,
        sop_class_uid: text(tags::REFERENCED_SOP_CLASS),
        sop_instance_uid: text(tags::REFERENCED_SOP_INSTANCE),
        transfer_syntax_uid: text(tags::REFERENCED_TRANSFER_SYNTAX),
        elements,
    })
}

#[cfg(test)]
mod tests;

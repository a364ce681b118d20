//! The small data sets of the DIMSE-N services (PS3.4 Annexes J and S): read with the base
//! crate's header walk and item splitter, written here. They travel in the presentation
//! context's transfer syntax, Explicit or Implicit VR Little Endian (the only two our service
//! contexts accept).
//!
//! Reading keeps only the top-level values and sequences a service asks for, after the walk
//! has checked the whole structure: a data set that dcmtk or pydicom would refuse is refused
//! here too, never trusted in part.

use std::collections::HashMap;
use std::io::Cursor;

use dcmdisc_dicom::items::split_items_in;
use dcmdisc_dicom::uid;
use dcmdisc_dicom::vr::{has_long_length, pad_byte};
use dcmdisc_dicom::walk::{self, Header, Take, Visitor, WalkError};

/// A value or sequence larger than this is not kept (none of ours comes near it).
const MAX_KEPT: u64 = 16 * 1024 * 1024;
/// What [`read_all`] keeps of each top-level value at most.
const MAX_ALL_VALUE: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("the data set does not parse: {0}")]
    Walk(#[from] WalkError),
    #[error("the items of ({0:04X},{1:04X}) do not split")]
    Items(u16, u16),
}

/// What a service reads of a data set: its top-level tags (in order), the values it asked
/// for and the items of the sequences it asked for.
#[derive(Debug, Default)]
pub struct Read {
    pub tags: Vec<u32>,
    values: HashMap<u32, Vec<u8>>,
    sequences: HashMap<u32, Vec<Item>>,
}

/// One item of a kept sequence: its top-level elements' values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Item {
    pub values: Vec<(u32, Vec<u8>)>,
}

impl Item {
    pub fn value(&self, tag: u32) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_slice())
    }

    /// A UI value as text, padding removed; `None` when absent.
    pub fn uid(&self, tag: u32) -> Option<String> {
        self.value(tag).map(uid::trim)
    }
}

impl Read {
    pub fn value(&self, tag: u32) -> Option<&[u8]> {
        self.values.get(&tag).map(Vec::as_slice)
    }

    pub fn uid(&self, tag: u32) -> Option<String> {
        self.value(tag).map(uid::trim)
    }

    /// A US value (the first one of a multi-valued element).
    pub fn u16(&self, tag: u32) -> Option<u16> {
        match self.value(tag)? {
            [a, b, ..] => Some(u16::from_le_bytes([*a, *b])),
            _ => None,
        }
    }

    /// The items of a sequence asked for; `None` when it is absent.
    pub fn items(&self, tag: u32) -> Option<&[Item]> {
        self.sequences.get(&tag).map(Vec::as_slice)
    }

    pub fn has(&self, tag: u32) -> bool {
        self.tags.contains(&tag)
    }
}

struct Collect<'a> {
    /// `None`: every top-level value up to [`MAX_ALL_VALUE`] bytes.
    values: Option<&'a [u32]>,
    sequences: &'a [u32],
    explicit: bool,
    read: Read,
    /// Kept spans and whether each is Explicit VR (an undefined-length UN holds Implicit).
    spans: Vec<(u32, bool, Vec<u8>)>,
}

impl Visitor for Collect<'_> {
    fn element(&mut self, header: &Header, depth: usize) -> Take {
        if depth > 0 {
            return Take::Skip;
        }
        self.read.tags.push(header.tag);
        if self.sequences.contains(&header.tag) {
            Take::Span(MAX_KEPT)
        } else if header.is_sequence() {
            Take::Skip
        } else if match self.values {
            Some(v) => v.contains(&header.tag) && u64::from(header.len) <= MAX_KEPT,
            None => u64::from(header.len) <= MAX_ALL_VALUE,
        } {
            Take::Value
        } else {
            Take::Skip
        }
    }

    fn value(&mut self, header: &Header, depth: usize, value: Vec<u8>) {
        if depth == 0 {
            self.read.values.insert(header.tag, value);
        }
    }

    fn span(&mut self, header: &Header, depth: usize, items: Vec<u8>) {
        if depth == 0 {
            let explicit = self.explicit && header.vr != Some(*b"UN");
            self.spans.push((header.tag, explicit, items));
        }
    }
}

/// Walk `bytes` (a whole data set) and keep the top-level `values` and the items of the
/// top-level `sequences`.
pub fn read(
    bytes: &[u8],
    explicit: bool,
    values: &[u32],
    sequences: &[u32],
) -> Result<Read, DatasetError> {
    collect(bytes, explicit, Some(values), sequences)
}

/// As [`read`], keeping every top-level value (up to 64 KiB each): for a service that must
/// answer each attribute it was sent.
pub fn read_all(bytes: &[u8], explicit: bool, sequences: &[u32]) -> Result<Read, DatasetError> {
    collect(bytes, explicit, None, sequences)
}

fn collect(
    bytes: &[u8],
    explicit: bool,
    values: Option<&[u32]>,
    sequences: &[u32],
) -> Result<Read, DatasetError> {
    let mut c = Collect {
        values,
        sequences,
        explicit,
        read: Read::default(),
        spans: Vec::new(),
    };
    walk::walk(Cursor::new(bytes), 0, bytes.len() as u64, explicit, &mut c)?;
    let mut read = c.read;
    for (tag, explicit, bytes) in c.spans {
        let items = split_items_in(&bytes, explicit)
            .ok_or(DatasetError::Items((tag >> 16) as u16, tag as u16))?;
        let items = items
            .into_iter()
            .map(|i| Item {
                values: i.elements.iter().map(|(t, v)| (*t, v.to_vec())).collect(),
            })
            .collect();
        read.sequences.insert(tag, items);
    }
    Ok(read)
}

/// A data set being written, elements in the order given (callers give them ascending).
#[derive(Debug, Clone)]
pub struct Writer {
    explicit: bool,
    out: Vec<u8>,
}

impl Writer {
    pub fn new(explicit: bool) -> Self {
        Writer {
            explicit,
            out: Vec::new(),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn head(&mut self, tag: u32, vr: [u8; 2], len: u32) {
        self.out
            .extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
        self.out.extend_from_slice(&(tag as u16).to_le_bytes());
        if !self.explicit {
            self.out.extend_from_slice(&len.to_le_bytes());
        } else if has_long_length(vr) {
            self.out.extend_from_slice(&vr);
            self.out.extend_from_slice(&[0, 0]);
            self.out.extend_from_slice(&len.to_le_bytes());
        } else {
            self.out.extend_from_slice(&vr);
            // Short-length values here are UIDs, codes and short texts.
            self.out.extend_from_slice(&(len as u16).to_le_bytes());
        }
    }

    /// One element, its value padded to even length with the VR's pad byte. Callers give
    /// short-length VRs short values (checked UIDs, codes); a longer one is cut to what the
    /// length field holds rather than written with a wrong length.
    pub fn element(&mut self, tag: u32, vr: [u8; 2], value: &[u8]) -> &mut Self {
        let value = if self.explicit && !has_long_length(vr) {
            &value[..value.len().min(0xFFFE)]
        } else {
            value
        };
        let odd = value.len() % 2;
        self.head(tag, vr, (value.len() + odd) as u32);
        self.out.extend_from_slice(value);
        if odd == 1 {
            self.out.push(pad_byte(vr));
        }
        self
    }

    pub fn uid(&mut self, tag: u32, value: &str) -> &mut Self {
        self.element(tag, *b"UI", value.as_bytes())
    }

    pub fn us(&mut self, tag: u32, value: u16) -> &mut Self {
        self.element(tag, *b"US", &value.to_le_bytes())
    }

    /// A sequence of defined length; each item is a data set written in the same encoding.
    pub fn sequence(&mut self, tag: u32, items: Vec<Writer>) -> &mut Self {
        let body: usize = items.iter().map(|i| 8 + i.out.len()).sum();
        self.head(tag, *b"SQ", body as u32);
        for item in items {
            self.out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            self.out
                .extend_from_slice(&(item.out.len() as u32).to_le_bytes());
            self.out.extend_from_slice(&item.out);
        }
        self
    }

    /// A new, empty item in this data set's encoding.
    pub fn item(&self) -> Writer {
        Writer::new(self.explicit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcmdisc_dicom::tag;

    fn request(explicit: bool) -> Vec<u8> {
        let mut w = Writer::new(explicit);
        let mut a = w.item();
        a.uid(tag::REFERENCED_SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.2")
            .uid(tag::REFERENCED_SOP_INSTANCE_UID, "1.2.3");
        let mut b = w.item();
        b.uid(tag::REFERENCED_SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.4")
            .uid(tag::REFERENCED_SOP_INSTANCE_UID, "1.2.3.4");
        w.uid(tag::TRANSACTION_UID, "2.25.7")
            .sequence(tag::REFERENCED_SOP_SEQUENCE, vec![a, b]);
        w.into_bytes()
    }

    #[test]
    fn both_encodings_read_back() {
        for explicit in [true, false] {
            let r = read(
                &request(explicit),
                explicit,
                &[tag::TRANSACTION_UID],
                &[tag::REFERENCED_SOP_SEQUENCE],
            )
            .unwrap();
            assert_eq!(r.uid(tag::TRANSACTION_UID).as_deref(), Some("2.25.7"));
            let items = r.items(tag::REFERENCED_SOP_SEQUENCE).unwrap();
            assert_eq!(items.len(), 2);
            assert_eq!(
                items[1].uid(tag::REFERENCED_SOP_INSTANCE_UID).as_deref(),
                Some("1.2.3.4")
            );
            assert_eq!(
                r.tags,
                vec![tag::TRANSACTION_UID, tag::REFERENCED_SOP_SEQUENCE]
            );
        }
    }

    #[test]
    fn a_cut_data_set_is_refused() {
        let bytes = request(true);
        // Cut anywhere after the Transaction UID (8 + 6 bytes), inside the sequence.
        for cut in 15..bytes.len() {
            let r = read(
                &bytes[..cut],
                true,
                &[tag::TRANSACTION_UID],
                &[tag::REFERENCED_SOP_SEQUENCE],
            );
            assert!(r.is_err(), "cut at {cut}");
        }
    }
}

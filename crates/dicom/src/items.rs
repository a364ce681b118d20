//! The items of a kept sequence value (Explicit VR Little Endian item bytes, as
//! [`crate::keys`] keeps them), split so that a DICOMDIR record can keep some items whole and
//! check the elements each one holds; [`split_items_in`] also splits Implicit VR items (the
//! sequences of a DIMSE data set, which may come in either). The bytes were already walked
//! by the header walk, so a value that does not split cleanly is answered with `None`, never
//! trusted in part.

/// One item: its bytes (item tag to its end, delimiter included) and its top-level elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    pub bytes: &'a [u8],
    /// (tag, value bytes); an undefined-length sequence's value is its item bytes.
    pub elements: Vec<(u32, &'a [u8])>,
}

impl Item<'_> {
    pub fn value(&self, tag: u32) -> Option<&[u8]> {
        self.elements.iter().find(|e| e.0 == tag).map(|e| e.1)
    }
}

use crate::tag::{ITEM, ITEM_DELIMITATION_ITEM as ITEM_END, SEQUENCE_DELIMITATION_ITEM as SEQ_END};
use crate::vr::UNDEFINED_LENGTH as UNDEFINED;
/// The header walk refuses deeper nesting; this only bounds the recursion here.
const MAX_DEPTH: usize = 64;

fn u16_at(b: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(p..p + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], p: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?))
}
fn tag_at(b: &[u8], p: usize) -> Option<u32> {
    Some((u32::from(u16_at(b, p)?) << 16) | u32::from(u16_at(b, p + 2)?))
}

/// The end of the 8-byte delimitation item at `p`, if all of it is there.
fn delimiter_end(b: &[u8], p: usize) -> Option<usize> {
    p.checked_add(8).filter(|e| *e <= b.len())
}

/// Split `seq` (the items of one sequence in Explicit VR Little Endian, without its
/// delimitation item).
pub fn split_items(seq: &[u8]) -> Option<Vec<Item<'_>>> {
    split_items_in(seq, true)
}

/// Split `seq` (the items of one sequence, without its delimitation item), encoded in
/// Explicit (`explicit`) or Implicit VR Little Endian. In Implicit VR a nested sequence of
/// defined length is an element value like any other (its bytes, not split).
pub fn split_items_in(seq: &[u8], explicit: bool) -> Option<Vec<Item<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < seq.len() {
        let (item, end) = item_at(seq, pos, 0, explicit)?;
        out.push(item);
        pos = end;
    }
    Some(out)
}

/// The item starting at `pos`, and where it ends.
fn item_at(b: &[u8], pos: usize, depth: usize, explicit: bool) -> Option<(Item<'_>, usize)> {
    if depth > MAX_DEPTH || tag_at(b, pos)? != ITEM {
        return None;
    }
    let len = u32_at(b, pos + 4)?;
    let body = pos + 8;
    let mut elements = Vec::new();
    let mut p = body;
    let end = if len == UNDEFINED {
        loop {
            if tag_at(b, p)? == ITEM_END {
                break delimiter_end(b, p)?;
            }
            p = element_at(b, p, depth, explicit, &mut elements)?;
        }
    } else {
        let end = body.checked_add(len as usize).filter(|e| *e <= b.len())?;
        while p < end {
            p = element_at(b, p, depth, explicit, &mut elements)?;
        }
        (p == end).then_some(end)?
    };
    Some((
        Item {
            bytes: &b[pos..end],
            elements,
        },
        end,
    ))
}

/// One element at `p`, pushed to `elements`; returns where it ends.
fn element_at<'a>(
    b: &'a [u8],
    p: usize,
    depth: usize,
    explicit: bool,
    elements: &mut Vec<(u32, &'a [u8])>,
) -> Option<usize> {
    let tag = tag_at(b, p)?;
    // Implicit VR: an undefined length can only be a sequence (of Implicit VR items).
    let (vr, len, start) = if !explicit {
        (*b"SQ", u32_at(b, p + 4)?, p + 8)
    } else {
        let vr: [u8; 2] = b.get(p + 4..p + 6)?.try_into().ok()?;
        if crate::vr::has_long_length(vr) {
            (vr, u32_at(b, p + 8)?, p + 12)
        } else {
            (vr, u32::from(u16_at(b, p + 6)?), p + 8)
        }
    };
    if len != UNDEFINED {
        let end = start.checked_add(len as usize).filter(|e| *e <= b.len())?;
        elements.push((tag, &b[start..end]));
        return Some(end);
    }
    if &vr != b"SQ" {
        return None; // encapsulated data has no place in a kept sequence
    }
    let mut q = start;
    loop {
        if tag_at(b, q)? == SEQ_END {
            elements.push((tag, &b[start..q]));
            return delimiter_end(b, q);
        }
        q = item_at(b, q, depth + 1, explicit)?.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::explicit_element;

    #[test]
    fn defined_and_undefined_items() {
        let mut a = Vec::new();
        explicit_element(&mut a, 0x0040_A010, *b"CS", b"CONTAINS");
        let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
        seq.extend_from_slice(&(a.len() as u32).to_le_bytes());
        seq.extend_from_slice(&a);
        let second = seq.len();
        seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        explicit_element(&mut seq, 0x0040_A010, *b"CS", b"HAS CONCEPT MOD");
        // a nested undefined-length sequence with one empty item
        seq.extend_from_slice(&[
            0x40, 0x00, 0x43, 0xA0, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        seq.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        seq.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        let items = split_items(&seq).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].value(0x0040_A010), Some(&b"CONTAINS"[..]));
        assert_eq!(items[1].value(0x0040_A010), Some(&b"HAS CONCEPT MOD "[..]));
        assert_eq!(items[1].value(0x0040_A043).map(<[u8]>::len), Some(8));
        assert_eq!(items[1].bytes, &seq[second..]);
        // Truncated anywhere: no items, never a panic.
        for cut in 0..seq.len() {
            let _ = split_items_in(&seq[..cut], false);
        }
        for cut in 0..seq.len() {
            if cut != second {
                assert!(
                    split_items(&seq[..cut]).is_none() || cut == 0,
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn implicit_items() {
        // (0008,1150) UI "1.2" and (0008,1155) UI "1.2.3\0" in one defined-length item, then
        // an undefined-length item holding an undefined-length sequence with one empty item.
        let mut a = Vec::new();
        for (tag, v) in [(0x0008_1150u32, &b"1.2\0"[..]), (0x0008_1155, b"1.2.3\0")] {
            a.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
            a.extend_from_slice(&(tag as u16).to_le_bytes());
            a.extend_from_slice(&(v.len() as u32).to_le_bytes());
            a.extend_from_slice(v);
        }
        let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
        seq.extend_from_slice(&(a.len() as u32).to_le_bytes());
        seq.extend_from_slice(&a);
        seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        seq.extend_from_slice(&[0x08, 0x00, 0x99, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        seq.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        seq.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        let items = split_items_in(&seq, false).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].value(0x0008_1150), Some(&b"1.2\0"[..]));
        assert_eq!(items[0].value(0x0008_1155), Some(&b"1.2.3\0"[..]));
        assert_eq!(items[1].value(0x0008_1199).map(<[u8]>::len), Some(8));
        // Read as Explicit VR, the same bytes do not split.
        assert!(split_items(&seq).is_none());
    }
}

//! The items of a sequence value, split into their top-level elements, in Explicit or
//! Implicit VR Little Endian. `dicom::items` does this for the Explicit VR item bytes the
//! index keeps; the pixel module's sequences (Modality LUT, VOI LUT, functional groups) also
//! come from Implicit VR files, so this splitter reads both. The bytes were walked (and
//! their structure checked) by the header walk already: anything that does not split cleanly
//! is `None`, never trusted in part.

use dcmdisc_dicom::tag::{ITEM, ITEM_DELIMITATION_ITEM, SEQUENCE_DELIMITATION_ITEM};
use dcmdisc_dicom::vr::{has_long_length, UNDEFINED_LENGTH};

/// One element of an item: tag, VR (`None` in Implicit VR) and value (for an
/// undefined-length sequence: its item bytes, without the delimiter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elem<'a> {
    pub tag: u32,
    pub vr: Option<[u8; 2]>,
    pub value: &'a [u8],
}

pub type Item<'a> = Vec<Elem<'a>>;

const MAX_DEPTH: usize = 64;

fn u16_at(b: &[u8], p: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(p..p.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(b: &[u8], p: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(p..p.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn tag_at(b: &[u8], p: usize) -> Option<u32> {
    Some((u32::from(u16_at(b, p)?) << 16) | u32::from(u16_at(b, p.checked_add(2)?)?))
}

/// The items of `seq` (a sequence value without its delimitation item).
pub fn split(seq: &[u8], explicit: bool) -> Option<Vec<Item<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < seq.len() {
        let (item, end) = item_at(seq, pos, explicit, 0)?;
        out.push(item);
        pos = end;
    }
    Some(out)
}

fn item_at(b: &[u8], pos: usize, explicit: bool, depth: usize) -> Option<(Item<'_>, usize)> {
    if depth > MAX_DEPTH || tag_at(b, pos)? != ITEM {
        return None;
    }
    let len = u32_at(b, pos + 4)?;
    let mut p = pos + 8;
    let mut elems = Vec::new();
    if len == UNDEFINED_LENGTH {
        loop {
            if tag_at(b, p)? == ITEM_DELIMITATION_ITEM {
                return Some((elems, p.checked_add(8).filter(|e| *e <= b.len())?));
            }
            let (e, next) = element_at(b, p, explicit, depth)?;
            elems.push(e);
            p = next;
        }
    }
    let end = p.checked_add(len as usize).filter(|e| *e <= b.len())?;
    let body = &b[..end];
    while p < end {
        let (e, next) = element_at(body, p, explicit, depth)?;
        elems.push(e);
        p = next;
    }
    Some((elems, end))
}

fn element_at(b: &[u8], p: usize, explicit: bool, depth: usize) -> Option<(Elem<'_>, usize)> {
    let tag = tag_at(b, p)?;
    let (vr, len, start) = if explicit {
        let vr: [u8; 2] = b.get(p + 4..p + 6)?.try_into().ok()?;
        if has_long_length(vr) {
            (Some(vr), u32_at(b, p + 8)?, p + 12)
        } else {
            (Some(vr), u32::from(u16_at(b, p + 6)?), p + 8)
        }
    } else {
        (None, u32_at(b, p + 4)?, p + 8)
    };
    if len != UNDEFINED_LENGTH {
        let end = start.checked_add(len as usize).filter(|e| *e <= b.len())?;
        return Some((
            Elem {
                tag,
                vr,
                value: &b[start..end],
            },
            end,
        ));
    }
    // An undefined length: a sequence (in an Implicit VR item, or a CP-246 UN, its items are
    // Implicit VR); encapsulated data has no place inside an item.
    let inner_explicit = explicit && vr == Some(*b"SQ");
    if explicit && !matches!(vr, Some(v) if &v == b"SQ" || &v == b"UN") {
        return None;
    }
    let mut q = start;
    loop {
        if tag_at(b, q)? == SEQUENCE_DELIMITATION_ITEM {
            let elem = Elem {
                tag,
                vr,
                value: &b[start..q],
            };
            return Some((elem, q.checked_add(8).filter(|e| *e <= b.len())?));
        }
        q = item_at(b, q, inner_explicit, depth + 1)?.1;
    }
}

/// The value of `tag` in `item`.
#[cfg(test)]
pub fn find<'a>(item: &[Elem<'a>], tag: u32) -> Option<Elem<'a>> {
    item.iter().find(|e| e.tag == tag).copied()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn explicit_and_implicit_items_split() {
        // Explicit: one defined-length item with US (0028,3002) and an undefined one.
        let mut e = Vec::new();
        let el = [0x28, 0, 0x02, 0x30, b'U', b'S', 2, 0, 7, 0];
        e.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, el.len() as u8, 0, 0, 0]);
        e.extend_from_slice(&el);
        e.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        e.extend_from_slice(&el);
        e.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        let items = split(&e, true).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(find(&items[1], 0x0028_3002).unwrap().value, &[7, 0]);
        // Implicit: the same element without its VR.
        let el = [0x28, 0, 0x02, 0x30, 2, 0, 0, 0, 9, 0];
        let mut i = vec![0xFE, 0xFF, 0x00, 0xE0, el.len() as u8, 0, 0, 0];
        i.extend_from_slice(&el);
        let items = split(&i, false).unwrap();
        assert_eq!(find(&items[0], 0x0028_3002).unwrap().value, &[9, 0]);
        for cut in 1..e.len() {
            let _ = split(&e[..cut], true);
        }
        assert!(split(&e[..e.len() - 3], true).is_none());
    }
}

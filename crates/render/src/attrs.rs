//! The top-level values rendering needs, kept by one header walk (`dicom::walk`), and how
//! their bytes read as numbers and text.
//!
//! Kept: the Image Pixel, Modality LUT, VOI LUT and palette attributes (group 0028 and its
//! sequences), the functional groups of enhanced objects, Presentation LUT Shape, the overlay
//! groups 60xx, Pixel Data, Specific Character Set (for the explanations), and the place of
//! the pixels (`place.rs`: Slice Location, Image Position (Patient), Modality).

use std::collections::BTreeMap;

use dcmdisc_dicom::tag::{PIXEL_DATA, SPECIFIC_CHARACTER_SET};
use dcmdisc_dicom::vr::UNDEFINED_LENGTH;
use dcmdisc_dicom::walk::{Header, Take, Visitor};

use crate::items::Elem;

pub const SHARED_FUNCTIONAL_GROUPS: u32 = 0x5200_9229;
pub const PER_FRAME_FUNCTIONAL_GROUPS: u32 = 0x5200_9230;
pub const PRESENTATION_LUT_SHAPE: u32 = 0x2050_0020;
pub const FLOAT_PIXEL_DATA: u32 = 0x7FE0_0008;
pub const DOUBLE_FLOAT_PIXEL_DATA: u32 = 0x7FE0_0009;
pub const MODALITY_LUT_SEQUENCE: u32 = 0x0028_3000;
pub const VOI_LUT_SEQUENCE: u32 = 0x0028_3010;

/// One kept value.
#[derive(Debug, Clone)]
pub struct Value {
    pub vr: Option<[u8; 2]>,
    pub bytes: Vec<u8>,
}

/// What the walk kept, by tag.
#[derive(Debug, Default)]
pub struct Kept {
    pub values: BTreeMap<u32, Value>,
    /// Pixel Data of undefined length (compressed, encapsulated).
    pub encapsulated: bool,
    pub float_pixels: bool,
}

fn is_sequence_tag(tag: u32) -> bool {
    matches!(
        tag,
        MODALITY_LUT_SEQUENCE
            | VOI_LUT_SEQUENCE
            | SHARED_FUNCTIONAL_GROUPS
            | PER_FRAME_FUNCTIONAL_GROUPS
    )
}

fn wanted(tag: u32) -> bool {
    let group = tag >> 16;
    group == 0x0028
        || ((0x6000..=0x601E).contains(&group) && group & 1 == 0)
        || matches!(
            tag,
            PIXEL_DATA
                | SPECIFIC_CHARACTER_SET
                | PRESENTATION_LUT_SHAPE
                | crate::place::SLICE_LOCATION
                | crate::place::IMAGE_POSITION_PATIENT
                | crate::place::IMAGE_ORIENTATION_PATIENT
                | crate::place::MODALITY
                | SHARED_FUNCTIONAL_GROUPS
                | PER_FRAME_FUNCTIONAL_GROUPS
        )
}

impl Visitor for Kept {
    fn element(&mut self, h: &Header, depth: usize) -> Take {
        if depth > 0 {
            return Take::Skip;
        }
        if h.tag == FLOAT_PIXEL_DATA || h.tag == DOUBLE_FLOAT_PIXEL_DATA {
            self.float_pixels = true;
        }
        if h.tag == PIXEL_DATA && h.len == UNDEFINED_LENGTH {
            self.encapsulated = true;
            return Take::Skip;
        }
        if !wanted(h.tag) {
            Take::Skip
        } else if is_sequence_tag(h.tag) || h.is_sequence() {
            Take::Span(u64::MAX)
        } else {
            Take::Value
        }
    }

    fn value(&mut self, h: &Header, _depth: usize, bytes: Vec<u8>) {
        self.values.insert(h.tag, Value { vr: h.vr, bytes });
    }

    fn span(&mut self, h: &Header, _depth: usize, bytes: Vec<u8>) {
        self.values.insert(h.tag, Value { vr: h.vr, bytes });
    }
}

/// Read access to values wherever they come from: the top level or an item.
pub trait Source {
    fn get(&self, tag: u32) -> Option<(Option<[u8; 2]>, &[u8])>;
}

impl Source for Kept {
    fn get(&self, tag: u32) -> Option<(Option<[u8; 2]>, &[u8])> {
        self.values.get(&tag).map(|v| (v.vr, v.bytes.as_slice()))
    }
}

impl Source for [Elem<'_>] {
    fn get(&self, tag: u32) -> Option<(Option<[u8; 2]>, &[u8])> {
        self.iter().find(|e| e.tag == tag).map(|e| (e.vr, e.value))
    }
}

/// Are the items of a sequence value with this VR in Explicit VR? Only an SQ of an Explicit
/// VR data set: Implicit VR has no VR, and an undefined-length UN holds Implicit VR items
/// (CP-246).
pub fn items_explicit(vr: Option<[u8; 2]>, explicit: bool) -> bool {
    explicit && vr == Some(*b"SQ")
}

/// Text with its padding removed (leading and trailing spaces, trailing NULs).
pub fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes)
        .unwrap_or("")
        .trim_end_matches(['\0', ' '])
        .trim_start_matches(' ')
}

/// The values of a multi-valued text element (`\` separated), each trimmed.
pub fn texts(bytes: &[u8]) -> Vec<&str> {
    let t = text(bytes);
    if t.is_empty() {
        return Vec::new();
    }
    t.split('\\').map(|s| s.trim_matches([' ', '\0'])).collect()
}

/// Decimal / integer strings (DS, IS), one number per value; an unparsable value is `None`.
pub fn numbers(bytes: &[u8]) -> Vec<Option<f64>> {
    texts(bytes)
        .into_iter()
        .map(|s| s.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect()
}

/// 16-bit binary values (US, SS, OW) as unsigned words.
pub fn words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

pub fn first_us<S: Source + ?Sized>(s: &S, tag: u32) -> Option<u16> {
    s.get(tag).and_then(|(_, b)| words(b).first().copied())
}

pub fn first_number<S: Source + ?Sized>(s: &S, tag: u32) -> Option<f64> {
    s.get(tag)
        .and_then(|(_, b)| numbers(b).first().copied().flatten())
}

pub fn cs<S: Source + ?Sized>(s: &S, tag: u32) -> Option<String> {
    s.get(tag)
        .map(|(_, b)| text(b).to_string())
        .filter(|t| !t.is_empty())
}

/// A US-or-SS value (Pixel Padding Value, a LUT Descriptor's first mapped value): signed when
/// the file says SS, and also when the context is signed (`signed_context`: signed pixels, or
/// modality values that can be negative) whatever the VR, since many writers send US there
/// for every value (a CT's VOI LUT starting at 0xFC00 means −1024, not 64512); Implicit VR has
/// no VR to say it at all.
pub fn us_or_ss(vr: Option<[u8; 2]>, word: u16, signed_context: bool) -> i32 {
    if signed_context || vr == Some(*b"SS") {
        i32::from(word as i16)
    } else {
        i32::from(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text() {
        assert_eq!(numbers(b"40\\400 "), vec![Some(40.0), Some(400.0)]);
        assert_eq!(numbers(b" -1024.5"), vec![Some(-1024.5)]);
        assert_eq!(numbers(b"x\\2"), vec![None, Some(2.0)]);
        assert_eq!(numbers(b"NaN"), vec![None]);
        assert!(numbers(b"  ").is_empty());
        assert_eq!(texts(b"MONOCHROME2 "), vec!["MONOCHROME2"]);
        assert_eq!(us_or_ss(None, 0xFC00, true), -1024);
        assert_eq!(us_or_ss(Some(*b"US"), 0xFC00, false), 64512);
        assert_eq!(us_or_ss(Some(*b"US"), 0xFC00, true), -1024);
        assert_eq!(us_or_ss(Some(*b"SS"), 0xFC00, false), -1024);
    }
}

//! Element headers of the two little-endian encodings, and value padding.

use dcmdisc_dicom::tag;
use dicom_core::VR;

use crate::error::Result;
use crate::io::Output;

/// Encoding of a data set: the VR is written (Explicit) or left to the dictionary (Implicit).
/// Both are little endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enc {
    Implicit,
    Explicit,
}

pub(crate) use dcmdisc_dicom::vr::{MAX_SHORT_LEN, UNDEFINED_LENGTH as UNDEFINED};
pub(crate) const ITEM: (u16, u16) = tag::split(tag::ITEM);
pub(crate) const ITEM_DELIM: (u16, u16) = tag::split(tag::ITEM_DELIMITATION_ITEM);
pub(crate) const SEQ_DELIM: (u16, u16) = tag::split(tag::SEQUENCE_DELIMITATION_ITEM);
pub(crate) const PIXEL_DATA: (u16, u16) = tag::split(tag::PIXEL_DATA);

/// `dcmdisc_dicom::vr::has_long_length` for dicom-core's VR type.
pub(crate) fn has_long_length(vr: VR) -> bool {
    dcmdisc_dicom::vr::has_long_length(vr.to_bytes())
}

/// `dcmdisc_dicom::vr::pad_byte` for dicom-core's VR type.
pub(crate) fn pad_byte(vr: VR) -> u8 {
    dcmdisc_dicom::vr::pad_byte(vr.to_bytes())
}

pub(crate) fn write_tag(out: &mut Output, tag: (u16, u16), len: u32) -> Result<()> {
    let mut b = [0u8; 8];
    b[0..2].copy_from_slice(&tag.0.to_le_bytes());
    b[2..4].copy_from_slice(&tag.1.to_le_bytes());
    b[4..8].copy_from_slice(&len.to_le_bytes());
    out.write(&b)
}

/// Writes an element header. `len` must fit the VR's length field (callers switch to UN
/// before calling when it does not).
pub(crate) fn write_header(
    out: &mut Output,
    enc: Enc,
    tag: (u16, u16),
    vr: VR,
    len: u32,
) -> Result<()> {
    match enc {
        Enc::Implicit => write_tag(out, tag, len),
        Enc::Explicit => {
            let mut b = [0u8; 12];
            b[0..2].copy_from_slice(&tag.0.to_le_bytes());
            b[2..4].copy_from_slice(&tag.1.to_le_bytes());
            b[4..6].copy_from_slice(&vr.to_bytes());
            if has_long_length(vr) {
                b[8..12].copy_from_slice(&len.to_le_bytes());
                out.write(&b)
            } else {
                // Only reached with len <= MAX_SHORT_LEN (or UNDEFINED, which never gets here).
                b[6..8].copy_from_slice(&(len.min(0xFFFF) as u16).to_le_bytes());
                out.write(&b[..8])
            }
        }
    }
}

/// Writes a whole element whose value is in memory, padding it to even length.
pub(crate) fn write_element(
    out: &mut Output,
    enc: Enc,
    tag: (u16, u16),
    vr: VR,
    value: &[u8],
) -> Result<()> {
    let odd = value.len() % 2;
    let len = (value.len() + odd) as u32;
    write_header(out, enc, tag, vr, len)?;
    out.write(value)?;
    if odd == 1 {
        out.write(&[pad_byte(vr)])?;
    }
    Ok(())
}

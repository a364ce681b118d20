//! Element headers of the two little-endian encodings, and value padding.

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

pub(crate) const UNDEFINED: u32 = 0xFFFF_FFFF;
pub(crate) const ITEM: (u16, u16) = (0xFFFE, 0xE000);
pub(crate) const ITEM_DELIM: (u16, u16) = (0xFFFE, 0xE00D);
pub(crate) const SEQ_DELIM: (u16, u16) = (0xFFFE, 0xE0DD);
pub(crate) const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

/// Largest value length a VR with a 16-bit length field can carry (even, so 0xFFFE).
pub(crate) const MAX_SHORT_LEN: u32 = 0xFFFE;

/// VRs whose Explicit VR header is `tag VR 00 00 len32` (PS3.5 Table 7.1-1); the others
/// have `tag VR len16`.
pub(crate) fn has_long_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB
            | VR::OD
            | VR::OF
            | VR::OL
            | VR::OV
            | VR::OW
            | VR::SQ
            | VR::SV
            | VR::UC
            | VR::UN
            | VR::UR
            | VR::UT
            | VR::UV
    )
}

/// The byte that pads an odd-length value to even length (PS3.5 6.2): NUL for UI and
/// binary VRs, SPACE for the character string VRs.
pub(crate) fn pad_byte(vr: VR) -> u8 {
    match vr {
        VR::AE
        | VR::AS
        | VR::CS
        | VR::DA
        | VR::DS
        | VR::DT
        | VR::IS
        | VR::LO
        | VR::LT
        | VR::PN
        | VR::SH
        | VR::ST
        | VR::TM
        | VR::UC
        | VR::UR
        | VR::UT => b' ',
        _ => 0,
    }
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

//! The VR of an element read from an Implicit VR data set.
//!
//! Implicit VR carries no VR, so Explicit VR output needs one from somewhere:
//!
//! - standard elements: the VR of the standard data dictionary (dicom-dictionary-std, which
//!   includes retired elements and the repeating groups 50xx/60xx);
//! - private creators (gggg,0010-00FF), odd gggg: LO (PS3.5 7.8.1);
//! - other private elements, and unknown standard ones: UN. We keep no private dictionary:
//!   UN is the one VR that cannot be wrong, and a reader with a private dictionary still
//!   finds the bytes unchanged;
//! - the dictionary's ambiguous VRs, decided as dcmtk and pydicom decide them:
//!   `US or SS` (xs) from Pixel Representation (0028,0103) of the nearest enclosing data set
//!   that has one (0 or absent: US, otherwise SS); `OB or OW` (Pixel Data, Overlay Data,
//!   Waveform Data, ...): OW, since PS3.5 A.1 says Implicit VR pixel data *is* OW; LUT Data
//!   `US or OW`: US only when the LUT Descriptor (0028,3002) of the same data set says one
//!   entry, else OW;
//! - whatever the dictionary says, a value longer than 65534 bytes with a VR that has a
//!   16-bit length field becomes UN (PS3.5 6.2.2 note).
//!
//! Elements of undefined length are sequences, whatever their tag: in Implicit VR nothing
//! else may have undefined length (PS3.5 7.1.3; encapsulated Pixel Data needs Explicit VR).
//! The caller writes those as SQ, never as UN: see `dataset.rs`.

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use crate::encode::{has_long_length, MAX_SHORT_LEN, UNDEFINED};

/// What the enclosing data sets tell about ambiguous VRs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct VrContext {
    /// Pixel Representation of the nearest data set (this one or an ancestor) that has one.
    pub pixel_representation: Option<u16>,
    /// First value of LUT Descriptor (0028,3002) in this data set.
    pub lut_entries: Option<u16>,
    /// Bits Allocated (0028,0100) of this data set: how a Big Endian source's Pixel Data is
    /// swapped (`swap.rs`).
    pub bits_allocated: Option<u16>,
}

pub(crate) fn implicit_vr(tag: (u16, u16), len: u32, ctx: &VrContext) -> VR {
    let vr = dictionary_vr(tag, ctx);
    if len != UNDEFINED && len > MAX_SHORT_LEN && !has_long_length(vr) {
        return VR::UN;
    }
    vr
}

fn dictionary_vr(tag: (u16, u16), ctx: &VrContext) -> VR {
    let (group, elem) = tag;
    if group % 2 == 1 {
        // Private group (and the illegal groups 0001, 0003, 0005, 0007, FFFF).
        return if (0x0010..=0x00FF).contains(&elem) && group > 0x0008 {
            VR::LO
        } else {
            VR::UN
        };
    }
    let Some(entry) = StandardDataDictionary.by_tag(Tag(group, elem)) else {
        return VR::UN;
    };
    match entry.vr {
        VirtualVr::Exact(vr) => vr,
        VirtualVr::Xs => match ctx.pixel_representation {
            Some(pr) if pr != 0 => VR::SS,
            _ => VR::US,
        },
        VirtualVr::Ox | VirtualVr::Px => VR::OW,
        VirtualVr::Lt => {
            if ctx.lut_entries == Some(1) {
                VR::US
            } else {
                VR::OW
            }
        }
        // VirtualVr is non-exhaustive: a kind added later is unknown to us.
        _ => VR::UN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_private_retired_and_ambiguous() {
        let c = VrContext::default();
        assert_eq!(implicit_vr((0x0010, 0x0010), 10, &c), VR::PN);
        assert_eq!(implicit_vr((0x0029, 0x0010), 10, &c), VR::LO); // private creator
        assert_eq!(implicit_vr((0x0029, 0x1010), 10, &c), VR::UN); // private element
        assert_eq!(implicit_vr((0x0008, 0x0040), 2, &c), VR::US); // retired Data Set Type
        assert_eq!(implicit_vr((0x0028, 0x0106), 2, &c), VR::US);
        let signed = VrContext {
            pixel_representation: Some(1),
            ..VrContext::default()
        };
        assert_eq!(implicit_vr((0x0028, 0x0106), 2, &signed), VR::SS);
        assert_eq!(implicit_vr((0x7FE0, 0x0010), 8, &c), VR::OW);
        assert_eq!(implicit_vr((0x6000, 0x3000), 8, &c), VR::OW); // overlay data, repeating group
        assert_eq!(implicit_vr((0x6002, 0x0010), 2, &c), VR::US); // overlay rows, repeating group
        assert_eq!(implicit_vr((0x0028, 0x3006), 512, &c), VR::OW);
        let one = VrContext {
            lut_entries: Some(1),
            ..VrContext::default()
        };
        assert_eq!(implicit_vr((0x0028, 0x3006), 2, &one), VR::US);
        assert_eq!(implicit_vr((0x0009, 0x0000), 4, &c), VR::UN);
        // an unknown standard tag
        assert_eq!(implicit_vr((0x0008, 0x9999), 4, &c), VR::UN);
        // a DS value of 70000 bytes does not fit a 16-bit length: UN
        assert_eq!(implicit_vr((0x0018, 0x0050), 70_000, &c), VR::UN);
        assert_eq!(implicit_vr((0x0018, 0x0050), 16, &c), VR::DS);
    }
}

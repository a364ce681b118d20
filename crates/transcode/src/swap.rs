//! Explicit VR Big Endian sources (PS3.5 A.3, retired but still found in old archives):
//! which values change byte order, and by how many bytes at a time.
//!
//! The File Meta is Little Endian whatever the syntax (PS3.10 7.1), and so is the header of
//! every element the re-encoder writes; in a Big Endian data set the tag, the length and
//! every binary value are big endian. A value's byte order follows from its VR alone:
//!
//! - 2-byte units: US, SS, OW, and AT (a pair of 16-bit group/element numbers, each swapped
//!   on its own, which is what a 2-byte swap does);
//! - 4-byte units: UL, SL, FL, OF, OL;
//! - 8-byte units: FD, OD, OV, SV, UV;
//! - none: OB and every character string VR (their bytes are the same in both orders).
//!
//! Pixel Data (7FE0,0010) is swapped by Bits Allocated, its pixel cells: 16 → 2 bytes, 32 →
//! 4, 64 → 8, whether the sender wrote OW or (against PS3.5 8.1.1) OB; with 1 or 8 bits, OB is
//! bytes (no swap) and OW 16-bit words (swapped by 2, as dcmtk writes `dcmconv +tb` of 8-bit
//! images and pydicom reads them). This is how pydicom reads Big Endian pixel data; dcmtk
//! swaps OW by 16-bit words whatever Bits Allocated says, so its `dcmconv +te` of a 32-bit
//! Big Endian image differs from ours and pydicom's (tests/interop/test_big_endian.py). Bits
//! Allocated absent or another value is refused: a guess would silently turn the image into
//! noise.
//!
//! UN cannot be converted: its bytes are whatever the writer had, and nothing says which
//! of them are numbers. The converter refuses it ([`TranscodeError::Inexact`]) rather than
//! copy a value that would then be read with the wrong byte order.

use dicom_core::VR;

use crate::encode::PIXEL_DATA;
use crate::error::{Result, TranscodeError};

/// The number of bytes swapped as one unit in the value of `tag` with `vr` (1: none).
/// `bits_allocated` is that of the data set holding the element.
pub(crate) fn unit(tag: (u16, u16), vr: VR, bits_allocated: Option<u16>, at: u64) -> Result<usize> {
    let name = || {
        format!(
            "({:04X},{:04X}) {} at byte {at}",
            tag.0,
            tag.1,
            vr.to_string()
        )
    };
    if tag == PIXEL_DATA {
        return match (vr, bits_allocated) {
            (VR::OB, Some(1 | 8)) => Ok(1),
            (VR::OW, Some(1 | 8)) | (VR::OB | VR::OW, Some(16)) => Ok(2),
            (VR::OB | VR::OW, Some(32)) => Ok(4),
            (VR::OB | VR::OW, Some(64)) => Ok(8),
            (_, ba) => Err(TranscodeError::Inexact(format!(
                "{} in a Big Endian data set with Bits Allocated {}: its byte order is not known",
                name(),
                ba.map_or("absent".to_string(), |b| b.to_string())
            ))),
        };
    }
    Ok(match vr {
        VR::US | VR::SS | VR::OW | VR::AT => 2,
        VR::UL | VR::SL | VR::FL | VR::OF | VR::OL => 4,
        VR::FD | VR::OD | VR::OV | VR::SV | VR::UV => 8,
        VR::UN => {
            return Err(TranscodeError::Inexact(format!(
                "{} in a Big Endian data set: the byte order of an unknown VR's value is not known",
                name()
            )))
        }
        _ => 1,
    })
}

/// Reverses each `unit`-byte group of `buf` in place. A length that is not a whole number of
/// units is malformed; the caller checks that first.
pub(crate) fn swap(buf: &mut [u8], unit: usize) {
    if unit > 1 {
        for c in buf.chunks_exact_mut(unit) {
            c.reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_by_vr_and_bits_allocated() {
        let t = (0x0028, 0x0010);
        assert_eq!(unit(t, VR::US, None, 0).unwrap(), 2);
        assert_eq!(unit(t, VR::AT, None, 0).unwrap(), 2);
        assert_eq!(unit(t, VR::FL, None, 0).unwrap(), 4);
        assert_eq!(unit(t, VR::OL, None, 0).unwrap(), 4);
        assert_eq!(unit(t, VR::FD, None, 0).unwrap(), 8);
        assert_eq!(unit(t, VR::UV, None, 0).unwrap(), 8);
        assert_eq!(unit(t, VR::OB, None, 0).unwrap(), 1);
        assert_eq!(unit(t, VR::PN, None, 0).unwrap(), 1);
        assert!(matches!(
            unit(t, VR::UN, None, 0),
            Err(TranscodeError::Inexact(_))
        ));
        assert_eq!(unit(PIXEL_DATA, VR::OW, Some(16), 0).unwrap(), 2);
        assert_eq!(unit(PIXEL_DATA, VR::OW, Some(8), 0).unwrap(), 2);
        assert_eq!(unit(PIXEL_DATA, VR::OW, Some(32), 0).unwrap(), 4);
        assert_eq!(unit(PIXEL_DATA, VR::OB, Some(8), 0).unwrap(), 1);
        assert_eq!(unit(PIXEL_DATA, VR::OB, Some(16), 0).unwrap(), 2);
        assert_eq!(unit(PIXEL_DATA, VR::OB, Some(32), 0).unwrap(), 4);
        assert!(unit(PIXEL_DATA, VR::OW, None, 0).is_err());
        assert!(unit(PIXEL_DATA, VR::OW, Some(12), 0).is_err());
    }

    #[test]
    fn swaps_whole_units() {
        let mut b = [1, 2, 3, 4, 5, 6, 7, 8];
        swap(&mut b, 4);
        assert_eq!(b, [4, 3, 2, 1, 8, 7, 6, 5]);
        swap(&mut b, 1);
        assert_eq!(b, [4, 3, 2, 1, 8, 7, 6, 5]);
    }
}

//! Stored pixel values out of native (little endian) Pixel Data: Bits Stored masking and
//! sign extension by Pixel Representation (PS3.3 C.7.6.3.1, PS3.5 8.1.1).

use crate::parse::Geometry;

/// Reads the stored values of one sample: the `bits_stored` bits ending at `high_bit`, sign
/// extended when Pixel Representation is 1. Whatever else the word holds (retired overlay
/// planes in the unused high bits, noise) is dropped here and never reaches the display.
#[derive(Debug, Clone, Copy)]
pub struct Sampler {
    bytes: usize,
    shift: u32,
    mask: u32,
    sign: u32,
    signed: bool,
}

impl Sampler {
    pub fn new(g: &Geometry) -> Sampler {
        let shift = u32::from(g.high_bit + 1 - g.bits_stored);
        let bs = u32::from(g.bits_stored);
        Sampler {
            bytes: usize::from(g.bits_allocated / 8),
            shift,
            mask: if bs == 32 { u32::MAX } else { (1u32 << bs) - 1 },
            sign: 1u32 << (bs - 1),
            signed: g.signed,
        }
    }

    /// The raw word (all Bits Allocated) of sample `i` of `data`.
    #[inline]
    pub fn word(&self, data: &[u8], i: usize) -> u32 {
        match self.bytes {
            1 => u32::from(data[i]),
            2 => u32::from(u16::from_le_bytes([data[2 * i], data[2 * i + 1]])),
            _ => u32::from_le_bytes([
                data[4 * i],
                data[4 * i + 1],
                data[4 * i + 2],
                data[4 * i + 3],
            ]),
        }
    }

    /// The stored value in a raw word.
    #[inline]
    pub fn value(&self, word: u32) -> i64 {
        let v = (word >> self.shift) & self.mask;
        if self.signed && v & self.sign != 0 {
            i64::from(v) - (i64::from(self.mask) + 1)
        } else {
            i64::from(v)
        }
    }

    /// Calls `f` with the stored value of each of samples `0..n` of `data`, in order (one
    /// pass over the bytes, no buffer of values).
    #[inline]
    pub fn each(&self, data: &[u8], n: usize, mut f: impl FnMut(i64)) {
        match self.bytes {
            1 => data[..n].iter().for_each(|&b| f(self.value(u32::from(b)))),
            2 => data[..2 * n]
                .chunks_exact(2)
                .for_each(|c| f(self.value(u32::from(u16::from_le_bytes([c[0], c[1]]))))),
            _ => data[..4 * n]
                .chunks_exact(4)
                .for_each(|c| f(self.value(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Photometric;

    fn g(ba: u16, bs: u16, hb: u16, signed: bool) -> Geometry {
        Geometry {
            rows: 1,
            cols: 1,
            samples: 1,
            bits_allocated: ba,
            bits_stored: bs,
            high_bit: hb,
            signed,
            planar: false,
            photometric: Photometric::Monochrome2,
            frames: 1,
        }
    }

    #[test]
    fn masking_and_sign_extension() {
        // 12 of 16 bits, an overlay bit at 15: masked off.
        let s = Sampler::new(&g(16, 12, 11, false));
        assert_eq!(s.value(0x8FFF), 4095);
        let s = Sampler::new(&g(16, 12, 11, true));
        assert_eq!(s.value(0x8800), -2048);
        assert_eq!(s.value(0xF7FF), 2047);
        // High Bit not at Bits Stored − 1: the value sits in bits 4..=15.
        let s = Sampler::new(&g(16, 12, 15, false));
        assert_eq!(s.value(0xFFF0), 4095);
        let s = Sampler::new(&g(32, 32, 31, true));
        assert_eq!(s.value(u32::MAX), -1);
    }
}

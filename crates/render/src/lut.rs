//! Lookup tables: Modality LUT (PS3.3 C.11.1), VOI LUT (C.11.2) and Palette Color LUTs
//! (C.7.6.3.1.5–6), which share one shape: a descriptor (entries, first value mapped, bits
//! per entry) and the data.

use crate::attrs::{us_or_ss, words, Source};
use crate::error::{unsupported, Result};

pub const LUT_DESCRIPTOR: u32 = 0x0028_3002;
pub const LUT_EXPLANATION: u32 = 0x0028_3003;
pub const LUT_DATA: u32 = 0x0028_3006;

#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    /// The stored (or input) value mapped to the first entry.
    pub first: i32,
    /// Bits per entry (the output range is 0 ..= 2^bits − 1).
    pub bits: u8,
    pub entries: Vec<u16>,
}

impl Lut {
    /// From a descriptor (its value bytes and VR) and data. `signed_context`: the first
    /// mapped value is read as SS (see `attrs::us_or_ss`).
    /// `palette`: 8-bit entries are packed two per word (C.7.6.3.1.5); in the other LUTs each
    /// entry takes a word, and both layouts are accepted from either when the length says so.
    pub fn parse(
        descriptor: (Option<[u8; 2]>, &[u8]),
        data: &[u8],
        signed_context: bool,
        what: &str,
    ) -> Result<Lut> {
        let d = words(descriptor.1);
        if d.len() < 3 {
            return Err(unsupported(format!(
                "{what} descriptor has {} values",
                d.len()
            )));
        }
        // C.11.1.1.1: 0 entries means 2^16.
        let n = if d[0] == 0 { 65536 } else { usize::from(d[0]) };
        let first = us_or_ss(descriptor.0, d[1], signed_context);
        let mut bits = d[2];
        let entries: Vec<u16> = if data.len() == n * 2 {
            let mut w = words(data);
            // Old writers put 8-bit entries in the high byte of each word.
            if bits == 8 && w.iter().any(|&v| v > 255) {
                w.iter_mut().for_each(|v| *v >>= 8);
            }
            w
        } else if data.len() == n || (data.len() == n + 1 && n % 2 == 1) {
            // 8-bit entries, one per byte (odd counts padded to even length).
            bits = bits.min(8);
            data[..n].iter().map(|&b| u16::from(b)).collect()
        } else {
            return Err(unsupported(format!(
                "{what}: {n} entries in the descriptor, {} bytes of data",
                data.len()
            )));
        };
        if !(1..=16).contains(&bits) {
            return Err(unsupported(format!("{what}: {bits} bits per entry")));
        }
        Ok(Lut {
            first,
            bits: bits as u8,
            entries,
        })
    }

    /// A palette from its descriptor and Segmented Palette Color LUT Data (C.7.9.2).
    pub fn segmented(
        descriptor: (Option<[u8; 2]>, &[u8]),
        segments: &[u8],
        signed_context: bool,
        what: &str,
    ) -> Result<Lut> {
        let d = words(descriptor.1);
        if d.len() < 3 || !(1..=16).contains(&d[2]) {
            return Err(unsupported(format!("{what} descriptor {d:?}")));
        }
        let n = if d[0] == 0 { 65536 } else { usize::from(d[0]) };
        let entries = crate::segmented::expand(&words(segments), n)
            .ok_or_else(|| unsupported(format!("segmented {what} palette does not parse")))?;
        Ok(Lut {
            first: us_or_ss(descriptor.0, d[1], signed_context),
            bits: d[2] as u8,
            entries,
        })
    }

    /// The LUT of an item (or the top level) holding descriptor and data.
    pub fn from_source<S: Source + ?Sized>(
        s: &S,
        descriptor_tag: u32,
        data_tag: u32,
        signed_context: bool,
        what: &str,
    ) -> Result<Option<Lut>> {
        let (Some(desc), Some((_, data))) = (s.get(descriptor_tag), s.get(data_tag)) else {
            return Ok(None);
        };
        Lut::parse(desc, data, signed_context, what).map(Some)
    }

    /// The entry for input `x`: inputs below the first map to the first entry, above the
    /// last to the last (C.11.1.1.1, C.11.2.1.1, C.7.6.3.1.5).
    pub fn lookup(&self, x: i64) -> u16 {
        let i = (x - i64::from(self.first)).clamp(0, self.entries.len() as i64 - 1);
        self.entries[i as usize]
    }

    /// The largest output value the entries can hold.
    pub fn max_out(&self) -> u32 {
        (1u32 << self.bits) - 1
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn descriptor_rules() {
        // 0 entries = 65536; SS first value in Explicit VR; clamping at both ends.
        let data = vec![0u8; 65536 * 2];
        let l = Lut::parse((Some(*b"US"), &[0, 0, 0, 0, 16, 0]), &data, false, "t").unwrap();
        assert_eq!(l.entries.len(), 65536);
        let d = [3, 0, 0x00, 0xFC, 16, 0];
        let l = Lut::parse((Some(*b"SS"), &d), &[10, 0, 20, 0, 30, 0], false, "t").unwrap();
        assert_eq!(l.first, -1024);
        assert_eq!(
            [l.lookup(-5000), l.lookup(-1023), l.lookup(9)],
            [10, 20, 30]
        );
        // Implicit VR (or a signed context): the caller decides; packed 8-bit palette entries.
        let l = Lut::parse((None, &[3, 0, 0, 0, 8, 0]), &[1, 2, 3, 0], true, "p").unwrap();
        assert_eq!((l.entries.clone(), l.bits), (vec![1, 2, 3], 8));
        assert!(Lut::parse((None, &[4, 0, 0, 0, 8, 0]), &[1, 2, 3], false, "p").is_err());
    }
}

//! Encoding one Explicit VR Little Endian element into memory (File Meta, DICOMDIR records).

use crate::vr::{has_long_length, pad_byte};

/// Bytes `explicit_element` writes for a value of `value_len` bytes.
pub fn explicit_element_len(vr: [u8; 2], value_len: usize) -> usize {
    let head = if has_long_length(vr) { 12 } else { 8 };
    head + value_len + value_len % 2
}

/// Appends tag, VR, length and the value padded to even length with the VR's pad byte.
/// The caller keeps a short-length VR's value under 64 KiB.
pub fn explicit_element(out: &mut Vec<u8>, tag: u32, vr: [u8; 2], value: &[u8]) {
    let len = value.len() + value.len() % 2;
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(&vr);
    if has_long_length(vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    if value.len() % 2 == 1 {
        out.push(pad_byte(vr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long() {
        let mut v = Vec::new();
        explicit_element(&mut v, 0x0010_0010, *b"PN", b"Doe");
        assert_eq!(v, b"\x10\x00\x10\x00PN\x04\x00Doe ");
        assert_eq!(explicit_element_len(*b"PN", 3), v.len());
        let mut v = Vec::new();
        explicit_element(&mut v, 0x0002_0001, *b"OB", &[0, 1]);
        assert_eq!(v, b"\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01");
        assert_eq!(explicit_element_len(*b"OB", 2), v.len());
    }
}

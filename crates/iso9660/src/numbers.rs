//! Numbers as ECMA-119 records most of them: both byte orders side by side, so readers of
//! either endianness take the half they like.

/// ECMA-119 7.2.3: both-byte orders, little-endian first.
pub fn both_endian_u16(v: u16) -> [u8; 4] {
    let le = v.to_le_bytes();
    let be = v.to_be_bytes();
    [le[0], le[1], be[0], be[1]]
}

/// ECMA-119 7.3.3: both-byte orders, little-endian first.
pub fn both_endian_u32(v: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&v.to_le_bytes());
    out[4..].copy_from_slice(&v.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_endian_encodings() {
        assert_eq!(both_endian_u16(0x1234), [0x34, 0x12, 0x12, 0x34]);
        assert_eq!(both_endian_u16(2048), [0x00, 0x08, 0x08, 0x00]);
        assert_eq!(
            both_endian_u32(0x0102_0304),
            [0x04, 0x03, 0x02, 0x01, 0x01, 0x02, 0x03, 0x04]
        );
        assert_eq!(both_endian_u32(0), [0; 8]);
        assert_eq!(
            both_endian_u32(u32::MAX),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }
}

//! Value Representation facts the encoders and walkers need (PS3.5 6.2, 7.1.2).

/// The length of an element whose length is not given (sequences, items, encapsulated
/// pixel data).
pub const UNDEFINED_LENGTH: u32 = 0xFFFF_FFFF;

/// Largest value length a VR with a 16-bit length field can carry (even, so 0xFFFE).
pub const MAX_SHORT_LEN: u32 = 0xFFFE;

/// VRs whose Explicit VR header is `tag VR 00 00 len32` (PS3.5 Table 7.1-1); the others have
/// `tag VR len16`.
pub fn has_long_length(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"SV"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"UV"
    )
}

/// The byte that pads an odd-length value to even length (PS3.5 6.2): SPACE for the
/// character string VRs, NUL for UI and the binary VRs.
pub fn pad_byte(vr: [u8; 2]) -> u8 {
    match &vr {
        b"AE" | b"AS" | b"CS" | b"DA" | b"DS" | b"DT" | b"IS" | b"LO" | b"LT" | b"PN" | b"SH"
        | b"ST" | b"TM" | b"UC" | b"UR" | b"UT" => b' ',
        _ => 0,
    }
}

/// Explicit VR codes are two upper-case letters; anything else is not a VR.
pub fn looks_like_vr(vr: [u8; 2]) -> bool {
    vr.iter().all(u8::is_ascii_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_padding() {
        assert!(has_long_length(*b"SQ"));
        assert!(has_long_length(*b"UC"));
        assert!(!has_long_length(*b"UI"));
        assert!(!has_long_length(*b"LT"));
        assert_eq!(pad_byte(*b"PN"), b' ');
        assert_eq!(pad_byte(*b"UI"), 0);
        assert_eq!(pad_byte(*b"OB"), 0);
        assert!(!looks_like_vr([0x00, 0x10]));
    }
}

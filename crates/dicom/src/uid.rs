//! UIDs dcmdisc names in code, taken from the standard dictionary (dicom-dictionary-std) so
//! that no UID string is typed twice in the workspace, and the rules of a UID value.

use dicom_dictionary_std::uids;

/// Implicit VR Little Endian (1.2.840.10008.1.2), the default transfer syntax of DICOM.
pub const IMPLICIT_VR_LE: &str = uids::IMPLICIT_VR_LITTLE_ENDIAN;
/// Explicit VR Little Endian (1.2.840.10008.1.2.1): what File Meta and DICOMDIRs are written
/// in.
pub const EXPLICIT_VR_LE: &str = uids::EXPLICIT_VR_LITTLE_ENDIAN;
/// Deflated Explicit VR Little Endian.
pub const DEFLATED_EXPLICIT_VR_LE: &str = uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
/// Explicit VR Big Endian (retired, still sent by old equipment: we must name it to refuse it).
#[allow(deprecated)]
pub const EXPLICIT_VR_BE: &str = uids::EXPLICIT_VR_BIG_ENDIAN;
/// JPEG Baseline (Process 1), lossy.
pub const JPEG_BASELINE: &str = uids::JPEG_BASELINE8_BIT;
/// JPEG Extended (Process 2 & 4), lossy, 12-bit.
pub const JPEG_EXTENDED: &str = uids::JPEG_EXTENDED12_BIT;
/// JPEG Lossless, Non-Hierarchical (Process 14).
pub const JPEG_LOSSLESS: &str = uids::JPEG_LOSSLESS;
/// JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1).
pub const JPEG_LOSSLESS_SV1: &str = uids::JPEG_LOSSLESS_SV1;
/// RLE Lossless.
pub const RLE_LOSSLESS: &str = uids::RLE_LOSSLESS;

/// Verification SOP Class (C-ECHO).
pub const VERIFICATION: &str = uids::VERIFICATION;
/// Media Storage Directory Storage: the SOP Class of a DICOMDIR.
pub const MEDIA_STORAGE_DIRECTORY: &str = uids::MEDIA_STORAGE_DIRECTORY_STORAGE;
/// Storage Commitment Push Model SOP Class (PS3.4 J.3).
pub const STORAGE_COMMITMENT_PUSH_MODEL: &str = uids::STORAGE_COMMITMENT_PUSH_MODEL;
/// Its well-known SOP Instance: the Requested / Affected SOP Instance UID of its messages.
pub const STORAGE_COMMITMENT_PUSH_MODEL_INSTANCE: &str =
    uids::STORAGE_COMMITMENT_PUSH_MODEL_INSTANCE;
/// Media Creation Management SOP Class (PS3.4 S.3).
pub const MEDIA_CREATION_MANAGEMENT: &str = uids::MEDIA_CREATION_MANAGEMENT;
/// The DICOM Application Context Name (PS3.7 A.2.1).
pub const DICOM_APPLICATION_CONTEXT: &str = uids::DICOM_APPLICATION_CONTEXT;

/// A UI value as text: NUL and space padding removed from both ends.
pub fn trim(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_matches(|c: char| c == '\0' || c == ' ')
        .to_string()
}

/// PS3.5 9.1: 1-64 characters, components of digits separated by dots, no component empty
/// or with a leading zero (except the component `0` itself).
pub fn is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

/// Why a received UID value is refused (see [`check_received`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadUid {
    #[error("empty")]
    Empty,
    #[error("{0} bytes long, over 64")]
    TooLong(usize),
    #[error("byte {byte:#04x} at position {at} is neither a digit nor a dot")]
    BadByte { at: usize, byte: u8 },
    #[error("empty component at position {0}")]
    EmptyComponent(usize),
}

/// Check a UI value received from a peer, after its trailing padding (NULs, and the spaces
/// some senders use) is removed: 1-64 bytes, components of digits separated by single dots.
///
/// Laxer than [`is_valid`] on purpose: real modalities send components with a leading zero
/// (`1.2.040.0`), which readers accept, so refusing them would lose real studies. What is
/// refused breaks readers, file paths or the DICOMDIR: any other byte (`/`, control bytes,
/// 0xFF, leading spaces), an empty component (`..`, a leading or trailing dot), over 64 bytes.
pub fn check_received(value: &[u8]) -> Result<&str, BadUid> {
    let end = value
        .iter()
        .rposition(|b| *b != 0 && *b != b' ')
        .map_or(0, |p| p + 1);
    let v = &value[..end];
    if v.is_empty() {
        return Err(BadUid::Empty);
    }
    if v.len() > 64 {
        return Err(BadUid::TooLong(v.len()));
    }
    if let Some(at) = v.iter().position(|b| !b.is_ascii_digit() && *b != b'.') {
        return Err(BadUid::BadByte { at, byte: v[at] });
    }
    let mut at = 0;
    for c in v.split(|b| *b == b'.') {
        if c.is_empty() {
            return Err(BadUid::EmptyComponent(at));
        }
        at += c.len() + 1;
    }
    // Only ASCII digits and dots are left.
    std::str::from_utf8(v).map_err(|_| BadUid::Empty)
}

/// A received value as printable ASCII, its trailing padding removed, for log lines and the
/// store log: control bytes, bytes over 0x7E, backslashes and quotes escaped (`\x01`,
/// `\xff`), never written raw; cut after 96 characters (a UI value may be 64 KiB).
pub fn printable(value: &[u8]) -> String {
    const MAX: usize = 96;
    let end = value
        .iter()
        .rposition(|b| *b != 0 && *b != b' ')
        .map_or(0, |p| p + 1);
    let mut s = value[..end].escape_ascii().to_string();
    if s.len() > MAX {
        s.truncate(MAX);
        s.push_str(&format!("... ({end} bytes)"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_values() {
        assert_eq!(EXPLICIT_VR_LE, "1.2.840.10008.1.2.1");
        assert_eq!(JPEG_EXTENDED, "1.2.840.10008.1.2.4.51");
        assert_eq!(DICOM_APPLICATION_CONTEXT, "1.2.840.10008.3.1.1.1");
    }

    #[test]
    fn validity() {
        assert!(is_valid("1.2.840.10008.1.2"));
        assert!(is_valid("2.25.0"));
        assert!(!is_valid("1.02"));
        assert!(!is_valid("1..2"));
        assert!(!is_valid(""));
        assert!(!is_valid(&"1.".repeat(40)));
        assert_eq!(trim(b"1.2.3\0"), "1.2.3");
    }

    #[test]
    fn received_uids() {
        // What real senders send: padding of either kind, leading-zero components.
        assert_eq!(
            check_received(b"1.2.840.10008.1.2\0"),
            Ok("1.2.840.10008.1.2")
        );
        assert_eq!(check_received(b"1.2.3 "), Ok("1.2.3"));
        assert_eq!(check_received(b"1.2.3\0 \0"), Ok("1.2.3"));
        assert_eq!(check_received(b"1.2.040.0"), Ok("1.2.040.0"));
        assert_eq!(check_received(b"1.02.3"), Ok("1.02.3"));
        assert_eq!(check_received(b"0"), Ok("0"));
        let max = "1.".repeat(31) + "12";
        assert_eq!(max.len(), 64);
        assert_eq!(check_received(max.as_bytes()), Ok(max.as_str()));
        // What breaks readers.
        assert_eq!(check_received(b""), Err(BadUid::Empty));
        assert_eq!(check_received(b"\0\0"), Err(BadUid::Empty));
        assert_eq!(check_received(b"  "), Err(BadUid::Empty));
        let over = "1.".repeat(32) + "1";
        assert_eq!(check_received(over.as_bytes()), Err(BadUid::TooLong(65)));
        assert_eq!(
            check_received(b"1.2/3"),
            Err(BadUid::BadByte { at: 3, byte: b'/' })
        );
        assert_eq!(
            check_received(b"1.2.3\xff"),
            Err(BadUid::BadByte { at: 5, byte: 0xFF })
        );
        assert_eq!(
            check_received(b"1.2\x01.3"),
            Err(BadUid::BadByte { at: 3, byte: 1 })
        );
        assert_eq!(
            check_received(b"1.2.3\n"),
            Err(BadUid::BadByte { at: 5, byte: b'\n' })
        );
        // Only trailing padding goes: a NUL or space inside, or a leading space, is refused.
        assert!(check_received(b"1.2\0.3").is_err());
        assert!(check_received(b" 1.2.3").is_err());
        assert!(check_received(b"1.2 .3").is_err());
        assert_eq!(check_received(b"1..2"), Err(BadUid::EmptyComponent(2)));
        assert_eq!(check_received(b".1.2"), Err(BadUid::EmptyComponent(0)));
        assert_eq!(check_received(b"1.2."), Err(BadUid::EmptyComponent(4)));
        assert!(check_received(b"../../etc").is_err());
        assert!(check_received(b"1.2.3a").is_err());
        // The configuration's rule stays strict.
        assert!(!is_valid("1.2.040.0"));
        assert_eq!(printable(b"1.2\x01\xff/\0"), "1.2\\x01\\xff/");
        let long = printable(&[b'1'; 2000]);
        assert_eq!(long, format!("{}... (2000 bytes)", "1".repeat(96)));
    }
}

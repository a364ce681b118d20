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
}

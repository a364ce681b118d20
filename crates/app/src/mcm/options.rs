//! The attributes of a Media Creation Request (PS3.4 Table S.3-1): which are honoured, with
//! what values, and the standard refusal of the rest.
//!
//! What is honoured: Number of Copies (1-99), Request Priority (HIGH, MED, LOW), Allow Media
//! Splitting YES (a collection that does not fit is split), Allow Lossy Compression (we
//! never compress lossily, so either value is kept), Preserve Composite Instances YES, and
//! NO for Label Using Information Extracted From Instances, Include Non-DICOM Objects and
//! Include Display Application. Everything else of Table S.3-1 that we cannot do yet (label
//! text and style, barcode, media disposition, a requested File-set UID or application
//! profile) is refused with 0106 when it has a value, with its tag as Offending Element; an
//! attribute outside the table is 0105. A requested Storage Media File-set ID is honoured
//! when valid (every volume of the request's discs carries it), else 0106.

use dcmdisc_dicom::tag;
use dcmdisc_net::mcm::mcm_status;
use dcmdisc_net::{McmRefusal, MediaRequest};

use crate::jobs::Priority;

const NUMBER_OF_COPIES: u32 = 0x2000_0010;
const LABEL_USING_INFORMATION: u32 = 0x2200_0001;
const LABEL_TEXT: u32 = 0x2200_0002;
const LABEL_STYLE_SELECTION: u32 = 0x2200_0003;
const MEDIA_DISPOSITION: u32 = 0x2200_0004;
const BARCODE_VALUE: u32 = 0x2200_0005;
const BARCODE_SYMBOLOGY: u32 = 0x2200_0006;
const ALLOW_MEDIA_SPLITTING: u32 = 0x2200_0007;
const INCLUDE_NON_DICOM_OBJECTS: u32 = 0x2200_0008;
const INCLUDE_DISPLAY_APPLICATION: u32 = 0x2200_0009;
const PRESERVE_COMPOSITE_INSTANCES: u32 = 0x2200_000A;
const REQUESTED_MEDIA_APPLICATION_PROFILE: u32 = 0x2200_000C;
const ALLOW_LOSSY_COMPRESSION: u32 = 0x2200_000F;
const REQUEST_PRIORITY: u32 = 0x2200_0020;
const STORAGE_MEDIA_FILE_SET_ID: u32 = 0x0088_0130;
const STORAGE_MEDIA_FILE_SET_UID: u32 = 0x0088_0140;

/// The attributes refused when they carry a value: what we cannot do yet.
const NOT_YET: [u32; 7] = [
    LABEL_TEXT,
    LABEL_STYLE_SELECTION,
    MEDIA_DISPOSITION,
    BARCODE_VALUE,
    BARCODE_SYMBOLOGY,
    REQUESTED_MEDIA_APPLICATION_PROFILE,
    STORAGE_MEDIA_FILE_SET_UID,
];

/// A File-set ID a request may ask for (PS3.10 8.2, PS3.12 Annex F: CS, 1-16 characters of
/// A-Z, 0-9, underscore and space; the same rule as `[media] fileset_id_pattern`'s).
fn valid_fileset_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 16
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
}

pub(super) fn invalid(tag: u32, why: impl Into<String>) -> McmRefusal {
    McmRefusal::new(mcm_status::INVALID_ATTRIBUTE_VALUE, why).offending(&[tag])
}

/// What a request asks for, as the jobs it makes take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Options {
    pub copies: u32,
    pub priority: Priority,
    /// Label Text (2200,0002): the disc label's text ("": the label as usual).
    pub label_text: String,
    /// Storage Media File-set ID (0088,0130) asked for ("": the configured pattern's).
    pub fileset_id: String,
}

/// The request's options we honour, or the refusal of the first attribute we cannot.
pub(super) fn options(req: &MediaRequest) -> Result<Options, McmRefusal> {
    let mut copies = 1;
    let mut priority = Priority::Normal;
    let mut fileset_id = String::new();
    let mut unknown = Vec::new();
    for (t, v) in &req.attributes {
        let v = v.trim();
        match *t {
            tag::REFERENCED_SOP_SEQUENCE | tag::SPECIFIC_CHARACTER_SET => {}
            NUMBER_OF_COPIES => {
                copies = v
                    .parse::<u32>()
                    .ok()
                    .filter(|c| (1..=99).contains(c))
                    .ok_or_else(|| invalid(*t, "Number of Copies must be 1 to 99"))?;
            }
            REQUEST_PRIORITY => {
                priority = match v {
                    "HIGH" => Priority::High,
                    "MED" | "" => Priority::Normal,
                    "LOW" => Priority::Low,
                    _ => return Err(invalid(*t, "Request Priority must be HIGH, MED or LOW")),
                }
            }
            LABEL_USING_INFORMATION | INCLUDE_NON_DICOM_OBJECTS | INCLUDE_DISPLAY_APPLICATION
                if !matches!(v, "" | "NO") =>
            {
                return Err(invalid(
                    *t,
                    format!(
                        "({:04X},{:04X}) {v} is not supported: only NO",
                        t >> 16,
                        t & 0xFFFF
                    ),
                ))
            }
            ALLOW_MEDIA_SPLITTING | PRESERVE_COMPOSITE_INSTANCES if !matches!(v, "" | "YES") => {
                return Err(invalid(
                    *t,
                    format!(
                        "({:04X},{:04X}) {v} is not supported: only YES",
                        t >> 16,
                        t & 0xFFFF
                    ),
                ))
            }
            STORAGE_MEDIA_FILE_SET_ID if !v.is_empty() => {
                if !valid_fileset_id(v) {
                    return Err(invalid(
                        *t,
                        "Storage Media File-set ID must be 1-16 characters of A-Z, 0-9, _ and space",
                    ));
                }
                fileset_id = v.to_string();
            }
            STORAGE_MEDIA_FILE_SET_ID => {}
            ALLOW_LOSSY_COMPRESSION if !matches!(v, "" | "YES" | "NO") => {
                return Err(invalid(*t, "Allow Lossy Compression must be YES or NO"))
            }
            LABEL_USING_INFORMATION
            | INCLUDE_NON_DICOM_OBJECTS
            | INCLUDE_DISPLAY_APPLICATION
            | ALLOW_MEDIA_SPLITTING
            | PRESERVE_COMPOSITE_INSTANCES
            | ALLOW_LOSSY_COMPRESSION => {}
            t if NOT_YET.contains(&t) => {
                if !v.is_empty() {
                    return Err(invalid(
                        t,
                        format!("({:04X},{:04X}) is not supported yet", t >> 16, t & 0xFFFF),
                    ));
                }
            }
            t => unknown.push(t),
        }
    }
    if !unknown.is_empty() {
        return Err(McmRefusal::new(
            mcm_status::NO_SUCH_ATTRIBUTE,
            "attributes outside the Media Creation Request",
        )
        .offending(&unknown));
    }
    Ok(Options {
        copies,
        priority,
        label_text: String::new(),
        fileset_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(attributes: &[(u32, &str)]) -> MediaRequest {
        MediaRequest {
            refs: Vec::new(),
            attributes: attributes
                .iter()
                .map(|(t, v)| (*t, v.to_string()))
                .collect(),
        }
    }

    fn refusal(attributes: &[(u32, &str)]) -> (u16, Vec<u32>) {
        let r = options(&request(attributes)).unwrap_err();
        (r.status, r.offending)
    }

    #[test]
    fn what_is_honoured() {
        let o = options(&request(&[])).unwrap();
        assert_eq!((o.copies, o.priority), (1, Priority::Normal));
        let honoured = [
            (tag::REFERENCED_SOP_SEQUENCE, ""),
            (NUMBER_OF_COPIES, "3 "),
            (REQUEST_PRIORITY, "LOW"),
            (ALLOW_MEDIA_SPLITTING, "YES"),
            (ALLOW_LOSSY_COMPRESSION, "NO"),
            (INCLUDE_DISPLAY_APPLICATION, "NO"),
            (LABEL_TEXT, ""),
            (STORAGE_MEDIA_FILE_SET_ID, "PACS_1 A"),
        ];
        let o = options(&request(&honoured)).unwrap();
        assert_eq!((o.copies, o.priority), (3, Priority::Low));
        assert_eq!(o.fileset_id, "PACS_1 A");
    }

    #[test]
    fn what_is_refused_names_its_tag() {
        for (t, v) in [
            (NUMBER_OF_COPIES, "0"),
            (NUMBER_OF_COPIES, "100"),
            (NUMBER_OF_COPIES, "two"),
            (REQUEST_PRIORITY, "URGENT"),
            (ALLOW_MEDIA_SPLITTING, "NO"),
            (PRESERVE_COMPOSITE_INSTANCES, "NO"),
            (LABEL_USING_INFORMATION, "YES"),
            (LABEL_TEXT, "DR WHO"),
            (STORAGE_MEDIA_FILE_SET_ID, "my-disc"),
            (STORAGE_MEDIA_FILE_SET_ID, "A{n}"),
            (STORAGE_MEDIA_FILE_SET_ID, "SEVENTEEN_CHARS_X"),
        ] {
            assert_eq!(refusal(&[(t, v)]), (0x0106, vec![t]), "{t:08X} {v}");
        }
        // Attributes outside the request: all of them named, 0105.
        assert_eq!(
            refusal(&[(0x0010_0010, "X"), (0x0010_0020, "Y")]),
            (0x0105, vec![0x0010_0010, 0x0010_0020])
        );
    }
}

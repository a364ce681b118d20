//! The items a sequence key of a directory record may hold (PS3.3 F.5): an item copied from
//! the instance that lacks what the record's macro requires is dropped, and the export says
//! so; the Content Sequence of SR and KOS records keeps only the root's HAS CONCEPT MOD items.

use dcmdisc_dicom::items::{split_items, Item};
use dcmdisc_dicom::tag;

pub(crate) use dcmdisc_dicom::tag::CONTENT_SEQUENCE;
use dcmdisc_dicom::tag::{
    CODE_MEANING, CODE_VALUE, CODING_SCHEME_DESIGNATOR, LONG_CODE_VALUE, REFERENCED_SOP_CLASS_UID,
    REFERENCED_SOP_INSTANCE_UID, RELATIONSHIP_TYPE, URN_CODE_VALUE, VALUE_TYPE,
};

/// What each item of the sequence `seq` must hold: every group needs one of its tags with a
/// value (Type 1 in the record's macro).
fn required(seq: u32) -> &'static [&'static [u32]] {
    match seq {
        tag::REFERENCED_IMAGE_SEQUENCE => {
            &[&[REFERENCED_SOP_CLASS_UID], &[REFERENCED_SOP_INSTANCE_UID]]
        }
        tag::CONCEPT_NAME_CODE_SEQUENCE => &[
            &[CODE_VALUE, LONG_CODE_VALUE, URN_CODE_VALUE],
            &[CODING_SCHEME_DESIGNATOR],
            &[CODE_MEANING],
        ],
        tag::REFERENCED_SERIES_SEQUENCE => &[
            &[tag::SERIES_INSTANCE_UID],
            &[tag::REFERENCED_IMAGE_SEQUENCE],
        ],
        tag::REFERENCED_IMAGE_EVIDENCE_SEQUENCE | tag::BLENDING_SEQUENCE => &[
            &[tag::STUDY_INSTANCE_UID],
            &[tag::REFERENCED_SERIES_SEQUENCE],
        ],
        CONTENT_SEQUENCE => &[
            &[RELATIONSHIP_TYPE],
            &[VALUE_TYPE],
            &[tag::CONCEPT_NAME_CODE_SEQUENCE],
        ],
        _ => &[],
    }
}

fn has_value(item: &Item<'_>, tag: u32) -> bool {
    item.value(tag)
        .is_some_and(|v| v.iter().any(|b| *b != b' ' && *b != 0))
}

/// The items of `value` (sequence `seq`, copied from an instance) that the record keeps, as
/// item bytes; `None` when none is left. What was dropped for a defect goes to `warnings`.
pub(crate) fn kept_items(
    record_type: &str,
    seq: u32,
    value: &[u8],
    warnings: &mut Vec<String>,
) -> Option<Vec<u8>> {
    let name = |t: u32| format!("({:04X},{:04X})", t >> 16, t & 0xFFFF);
    let Some(items) = split_items(value) else {
        warnings.push(format!(
            "{record_type} record: sequence {} does not parse, left out",
            name(seq)
        ));
        return None;
    };
    let mut out = Vec::new();
    for (n, item) in items.iter().enumerate() {
        if seq == CONTENT_SEQUENCE
            && item.value(RELATIONSHIP_TYPE).map(|v| v.trim_ascii_end()) != Some(b"HAS CONCEPT MOD")
        {
            continue; // F.5.25/F.5.26: only the root's HAS CONCEPT MOD items, not a defect
        }
        let missing: Vec<String> = required(seq)
            .iter()
            .filter(|any| !any.iter().any(|t| has_value(item, *t)))
            .map(|any| name(any[0]))
            .collect();
        if missing.is_empty() {
            out.extend_from_slice(item.bytes);
        } else {
            warnings.push(format!(
                "{record_type} record: item {} of {} lacks {}, left out of the DICOMDIR",
                n + 1,
                name(seq),
                missing.join(", ")
            ));
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcmdisc_dicom::encode::explicit_element;

    fn item(elements: &[(u32, [u8; 2], &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, vr, v) in elements {
            explicit_element(&mut body, *t, *vr, v);
        }
        let mut out = vec![0xFE, 0xFF, 0x00, 0xE0];
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn content_sequence_keeps_only_has_concept_mod() {
        let name = item(&[
            (CODE_VALUE, *b"SH", b"121049"),
            (CODING_SCHEME_DESIGNATOR, *b"SH", b"DCM"),
            (CODE_MEANING, *b"LO", b"Language"),
        ]);
        let contains = item(&[
            (RELATIONSHIP_TYPE, *b"CS", b"CONTAINS"),
            (VALUE_TYPE, *b"CS", b"TEXT"),
            (tag::CONCEPT_NAME_CODE_SEQUENCE, *b"SQ", &name),
        ]);
        let modifier = item(&[
            (RELATIONSHIP_TYPE, *b"CS", b"HAS CONCEPT MOD"),
            (VALUE_TYPE, *b"CS", b"CODE"),
            (tag::CONCEPT_NAME_CODE_SEQUENCE, *b"SQ", &name),
        ]);
        let broken = item(&[(RELATIONSHIP_TYPE, *b"CS", b"HAS CONCEPT MOD")]);
        let seq = [contains.clone(), modifier.clone(), broken].concat();
        let mut warnings = Vec::new();
        let kept = kept_items("SR DOCUMENT", CONTENT_SEQUENCE, &seq, &mut warnings);
        assert_eq!(kept, Some(modifier));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("item 3 of (0040,A730) lacks (0040,A040)"));
        // Only CONTAINS items: no key (1C), and nothing to warn about.
        let mut warnings = Vec::new();
        assert_eq!(
            kept_items("KEY OBJECT DOC", CONTENT_SEQUENCE, &contains, &mut warnings),
            None
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn item_without_its_macro_is_left_out_and_said() {
        let good = item(&[
            (
                REFERENCED_SOP_CLASS_UID,
                *b"UI",
                b"1.2.840.10008.5.1.4.1.1.2\0",
            ),
            (REFERENCED_SOP_INSTANCE_UID, *b"UI", b"1.2.3\0"),
        ]);
        let bad = item(&[(REFERENCED_SOP_INSTANCE_UID, *b"UI", b"1.2.4\0")]);
        let mut warnings = Vec::new();
        let seq = [bad.clone(), good.clone()].concat();
        let kept = kept_items("IMAGE", tag::REFERENCED_IMAGE_SEQUENCE, &seq, &mut warnings);
        assert_eq!(kept, Some(good));
        assert_eq!(
            warnings,
            vec!["IMAGE record: item 1 of (0008,1140) lacks (0008,1150), left out of the DICOMDIR"]
        );
        let mut warnings = Vec::new();
        assert_eq!(
            kept_items(
                "IMAGE",
                tag::REFERENCED_IMAGE_SEQUENCE,
                &bad[..bad.len() - 1],
                &mut warnings
            ),
            None
        );
        assert!(warnings[0].contains("does not parse"));
    }
}

//! The keys of each directory record, taken from the instance under it (PS3.3 F.5, the
//! profile's additions) and generated where a Type 1 key is missing (statement Table 19).

use dcmdisc_dicom::datetime::normalize_legacy;
use dcmdisc_dicom::keys::item_values;
use dcmdisc_dicom::tag;

use crate::dicomdir::{El, Record};
use crate::record_items::kept_items;
use crate::records::{KeyType, RecordTable};
use crate::source::SourceFile;

/// The value generated for a missing Type 1 key (statement Table 19, then by VR).
fn generated(tag: u32, vr: [u8; 2], today: &(String, String), instance_no: usize) -> Vec<u8> {
    match tag {
        tag::STUDY_ID => b"UNKNOWN".to_vec(),
        tag::SERIES_NUMBER => b"1".to_vec(),
        tag::INSTANCE_NUMBER => instance_no.to_string().into_bytes(),
        tag::MODALITY => b"OT".to_vec(),
        _ => match &vr {
            b"DA" => today.0.clone().into_bytes(),
            b"TM" => today.1.clone().into_bytes(),
            b"IS" => b"1".to_vec(),
            // Binary VRs: the value, not its text.
            b"US" => 1u16.to_le_bytes().to_vec(),
            b"UL" => 1u32.to_le_bytes().to_vec(),
            _ => b"UNKNOWN".to_vec(),
        },
    }
}

/// Verifying Observer Sequence and Completion Flag of SR documents.
use tag::{VERIFICATION_FLAG, VERIFYING_OBSERVER_SEQUENCE};

fn needs_charset(els: &[El]) -> bool {
    els.iter()
        .filter(|e| !matches!(&e.vr, b"SQ" | b"UI" | b"US" | b"UL" | b"OB"))
        .any(|e| e.value.iter().any(|&b| b >= 0x80 || b == 0x1B))
}

/// The keys of one record of type `record_type`, taken from `src`, and what was left out of
/// them (a copied sequence item that lacks what the record's macro requires).
pub(crate) fn record_keys(
    table: &RecordTable,
    record_type: &str,
    src: &SourceFile,
    profile: &str,
    today: &(String, String),
    instance_no: usize,
    patient_id: &str,
) -> (Vec<El>, Vec<String>) {
    let mut warnings = Vec::new();
    let Some(specs) = table.keys.get(record_type) else {
        return (Vec::new(), warnings);
    };
    let mut els = Vec::new();
    for spec in specs.iter().filter(|s| s.applies_to(profile)) {
        if spec.tag == tag::SPECIFIC_CHARACTER_SET {
            continue;
        }
        let value: Option<Vec<u8>> = if spec.tag == tag::PATIENT_ID {
            Some(patient_id.as_bytes().to_vec())
        } else if spec.tag == tag::VERIFICATION_DATE_TIME {
            // F.5.25: the most recent Verification DateTime among the Verifying Observers,
            // required when the document is VERIFIED.
            let verified = src.keys.text(VERIFICATION_FLAG) == Some(&b"VERIFIED"[..]);
            src.keys
                .raw(VERIFYING_OBSERVER_SEQUENCE)
                .filter(|_| verified)
                .and_then(|seq| {
                    item_values(seq, tag::VERIFICATION_DATE_TIME)
                        .into_iter()
                        .max()
                })
        } else if spec.vr == *b"SQ" {
            src.keys
                .raw(spec.tag)
                .filter(|v| !v.is_empty())
                .and_then(|v| kept_items(record_type, spec.tag, v, &mut warnings))
        } else if matches!(&spec.vr, b"US" | b"UL") {
            src.keys
                .raw(spec.tag)
                .filter(|v| !v.is_empty())
                .map(<[u8]>::to_vec)
        } else {
            src.keys.text(spec.tag).map(<[u8]>::to_vec)
        };
        let value = match (value, spec.key_type) {
            (Some(v), _) => v,
            (None, KeyType::One) if spec.vr == *b"SQ" => continue,
            (None, KeyType::One) => generated(spec.tag, spec.vr, today, instance_no),
            (None, KeyType::Two) => Vec::new(),
            (None, KeyType::OneC) => continue,
        };
        // Binary VRs read from Implicit VR files keep their little-endian bytes.
        els.push(El::new(
            spec.tag,
            &spec.vr,
            normalize_legacy(spec.vr, value),
        ));
    }
    if needs_charset(&els) {
        if let Some(cs) = src.keys.text(tag::SPECIFIC_CHARACTER_SET) {
            els.push(El::new(tag::SPECIFIC_CHARACTER_SET, b"CS", cs.to_vec()));
        }
    }
    els.sort_by_key(|e| e.tag);
    (els, warnings)
}

/// A PATIENT, STUDY or SERIES record, its keys taken from the first instance under it.
pub(crate) fn group_record(
    table: &RecordTable,
    record_type: &str,
    src: &SourceFile,
    profile: &str,
    today: &(String, String),
    patient_id: &str,
) -> Record {
    Record {
        record_type: record_type.into(),
        file: None,
        // PATIENT, STUDY and SERIES records have no sequence keys, so nothing to warn about.
        keys: record_keys(table, record_type, src, profile, today, 0, patient_id).0,
        children: Vec::new(),
    }
}

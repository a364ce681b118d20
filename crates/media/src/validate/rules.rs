//! The record rules a DICOMDIR read back must keep (issue 12 item 7): each record type one
//! PS3.3 Annex F defines for what it indexes and none the DRG patient-CD catalogue forbids
//! (3.1), each at its level, and the Type 1 keys of `data/dicomdir-records.tsv` for the
//! profile present and not empty. Sequences are walked over by our reader, not kept, so Type
//! 1 keys that are sequences are not checked here (the report says so).

use std::collections::BTreeMap;

use crate::dicomdir_read::Dicomdir;
use crate::records::{KeyType, RecordTable};

/// DRG "Anforderungskatalog" 3.1: record types a patient disc must not hold.
const FORBIDDEN: [&str; 8] = [
    "VISIT",
    "RESULTS",
    "INTERPRETATION",
    "STUDY COMPONENT",
    "STORED PRINT",
    "TOPIC",
    "MRDR",
    "PRIVATE",
];

/// Checks every in-use record; returns the count of records by type and of Type 1 keys
/// found.
pub(super) fn check_records(
    dir: &Dicomdir,
    table: &RecordTable,
    profile: &str,
    problems: &mut Vec<String>,
) -> (BTreeMap<String, usize>, usize) {
    let mut types = BTreeMap::new();
    let mut keys = 0;
    for (r, level) in dir.walk().filter(|(r, _)| r.in_use != 0) {
        *types.entry(r.record_type.clone()).or_insert(0) += 1;
        let rt = r.record_type.as_str();
        let want = match rt {
            "PATIENT" => 0,
            "STUDY" => 1,
            "SERIES" => 2,
            _ => 3,
        };
        if FORBIDDEN.contains(&rt) {
            problems.push(format!(
                "the {} has a record type a patient disc must not hold (DRG 3.1)",
                r.describe()
            ));
            continue;
        }
        let Some(specs) = table.keys.get(rt) else {
            problems.push(format!(
                "the {} has a record type PS3.3 Annex F does not define for any storage class",
                r.describe()
            ));
            continue;
        };
        if level != want {
            problems.push(format!(
                "the {} is at level {level} of the hierarchy; a {rt} record belongs at level {want}",
                r.describe()
            ));
        }
        if want == 3 && r.file_id.is_none() {
            problems.push(format!(
                "the {} references no file (Referenced File ID (0004,1500))",
                r.describe()
            ));
        }
        for spec in specs
            .iter()
            .filter(|s| s.key_type == KeyType::One && s.vr != *b"SQ" && s.applies_to(profile))
        {
            let value = r.elements.iter().find(|e| e.tag == spec.tag);
            // Text values may be all padding; a binary one (Rows, ...) only has a length.
            let binary = matches!(
                &spec.vr,
                b"US" | b"UL" | b"SS" | b"SL" | b"FL" | b"FD" | b"AT" | b"OB" | b"OW" | b"UN"
            );
            let empty = value.is_none_or(|e| {
                e.value.is_empty() || (!binary && e.value.iter().all(|b| *b == b' ' || *b == 0))
            });
            if empty {
                problems.push(format!(
                    "the {} lacks its Type 1 key {} ({:04X},{:04X}){}",
                    r.describe(),
                    spec.keyword,
                    spec.tag >> 16,
                    spec.tag & 0xFFFF,
                    if value.is_some() { ": it is empty" } else { "" }
                ));
            } else {
                keys += 1;
            }
        }
    }
    (types, keys)
}

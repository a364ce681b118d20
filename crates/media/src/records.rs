//! SOP class → directory record type, and the keys of each record type, from
//! `data/dicomdir-records.tsv` (PS3.3 Annex F, PS3.11 Annexes D and H). One table, read by
//! the code and by the tests.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/dicomdir-records.tsv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    One,
    OneC,
    Two,
}

#[derive(Debug, Clone)]
pub struct KeySpec {
    pub tag: u32,
    pub vr: [u8; 2],
    pub key_type: KeyType,
    /// `None` = every profile; otherwise the profiles whose additional-key tables list it.
    pub profiles: Option<Vec<String>>,
    pub keyword: String,
}

impl KeySpec {
    pub fn applies_to(&self, profile: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|p| p.iter().any(|x| x == profile))
    }
}

#[derive(Debug, Default)]
pub struct RecordTable {
    pub record_type_of_class: HashMap<String, String>,
    pub keys: HashMap<String, Vec<KeySpec>>,
}

fn parse_tag(s: &str) -> Option<u32> {
    let s = s.trim_start_matches('(').trim_end_matches(')');
    let (g, e) = s.split_once(',')?;
    Some((u32::from_str_radix(g, 16).ok()? << 16) | u32::from_str_radix(e, 16).ok()?)
}

fn parse(text: &str) -> Result<RecordTable, String> {
    let mut t = RecordTable::default();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let bad = |why: &str| format!("dicomdir-records.tsv line {}: {why}", n + 1);
        match cols.first().copied() {
            Some("class") if cols.len() >= 3 => {
                t.record_type_of_class
                    .insert(cols[1].to_string(), cols[2].to_string());
            }
            Some("key") if cols.len() >= 7 => {
                let tag = parse_tag(cols[2]).ok_or_else(|| bad("bad tag"))?;
                let vr: [u8; 2] = cols[3].as_bytes().try_into().map_err(|_| bad("bad VR"))?;
                let key_type = match cols[4] {
                    "1" => KeyType::One,
                    "1C" => KeyType::OneC,
                    "2" => KeyType::Two,
                    _ => return Err(bad("bad key type")),
                };
                let profiles =
                    (cols[5] != "all").then(|| cols[5].split(',').map(str::to_string).collect());
                t.keys
                    .entry(cols[1].to_string())
                    .or_default()
                    .push(KeySpec {
                        tag,
                        vr,
                        key_type,
                        profiles,
                        keyword: cols[6].to_string(),
                    });
            }
            _ => return Err(bad("unknown row")),
        }
    }
    Ok(t)
}

/// The compiled-in table could not be read: a build defect (the tests read the same table),
/// reported rather than hidden behind an empty table that would leave every instance out.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the built-in DICOMDIR record table is broken: {0}")]
pub struct TableError(String);

pub fn table() -> Result<&'static RecordTable, TableError> {
    static T: OnceLock<Result<RecordTable, String>> = OnceLock::new();
    T.get_or_init(|| parse(TABLE))
        .as_ref()
        .map_err(|e| TableError(e.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_storage_class_has_a_record_type_with_keys() {
        let t = parse(TABLE).unwrap();
        let contexts = include_str!("../../net/data/presentation-contexts.tsv");
        let mut n = 0;
        for line in contexts.lines().filter(|l| !l.starts_with('#')) {
            let uid = line.split('\t').next().unwrap();
            if uid == dcmdisc_dicom::uid::VERIFICATION {
                continue;
            }
            let rt = t
                .record_type_of_class
                .get(uid)
                .unwrap_or_else(|| panic!("{uid} unmapped"));
            assert!(t.keys.contains_key(rt), "{rt} has no keys");
            n += 1;
        }
        assert_eq!(n, 68);
        for level in ["PATIENT", "STUDY", "SERIES"] {
            assert!(t.keys.contains_key(level));
        }
        assert_eq!(
            t.record_type_of_class["1.2.840.10008.5.1.4.1.1.481.2"],
            "RT DOSE"
        );
        assert_eq!(
            t.record_type_of_class["1.2.840.10008.5.1.4.1.1.88.59"],
            "KEY OBJECT DOC"
        );
        // The retired standalone classes: no current record type of their own, and PRIVATE is
        // forbidden on a patient disc (DRG 3.1), so IMAGE (docs/dicomdir-records.md).
        for uid in ["8", "9", "10", "11"] {
            let uid = format!("1.2.840.10008.5.1.4.1.1.{uid}");
            assert_eq!(t.record_type_of_class[&uid], "IMAGE", "{uid}");
        }
        for retired in ["OVERLAY", "CURVE", "MODALITY LUT", "VOI LUT", "PRIVATE"] {
            assert!(!t.keys.contains_key(retired), "{retired}");
        }
    }
}

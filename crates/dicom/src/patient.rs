//! The Patient ID of an instance that has none (statement Table 19).

use crate::tag;
use crate::Keys;

/// From the Accession Number, else from the Study Instance UID, so each such study becomes its
/// own collection: `ACC-<accession>` or `STU-<16 hex digits>`. Stable across versions and
/// platforms: it keys collections in the index and names the patient on discs.
pub fn generated_patient_id(keys: &Keys) -> String {
    if let Some(acc) = keys.string(tag::ACCESSION_NUMBER) {
        return format!("ACC-{acc}");
    }
    let study = keys.string(tag::STUDY_INSTANCE_UID).unwrap_or_default();
    // FNV-1a: stable across versions and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in study.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("STU-{h:016X}")
}

/// The instance's Patient ID, or the generated one; `true` when generated.
pub fn patient_id(keys: &Keys) -> (String, bool) {
    match keys.string(tag::PATIENT_ID) {
        Some(id) => (id, false),
        None => (generated_patient_id(keys), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Element;

    fn keys(els: &[(u32, &[u8])]) -> Keys {
        Keys {
            elements: els
                .iter()
                .map(|(tag, v)| Element {
                    tag: *tag,
                    vr: None,
                    value: v.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn generated_ids() {
        assert_eq!(
            patient_id(&keys(&[(tag::PATIENT_ID, b"P1 ")])),
            ("P1".into(), false)
        );
        assert_eq!(
            patient_id(&keys(&[(tag::ACCESSION_NUMBER, b"A7")])),
            ("ACC-A7".into(), true)
        );
        // the value the index has used since the first version: must never change
        assert_eq!(
            generated_patient_id(&keys(&[(tag::STUDY_INSTANCE_UID, b"1.2.3\0")])),
            generated_patient_id(&keys(&[(tag::STUDY_INSTANCE_UID, b"1.2.3")]))
        );
        assert_eq!(generated_patient_id(&keys(&[])), "STU-CBF29CE484222325");
    }
}

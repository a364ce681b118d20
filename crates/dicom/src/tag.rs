//! Tags as `u32` (`group << 16 | element`), the form the header walk compares, named after
//! the standard dictionary's `Tag` constants so that none is spelled twice.

use dicom_core::Tag;
use dicom_dictionary_std::tags as std_tags;

/// `Tag(group, element)` as `group << 16 | element`.
pub const fn from_tag(t: Tag) -> u32 {
    ((t.0 as u32) << 16) | t.1 as u32
}

/// `(group, element)` of a `u32` tag.
pub const fn split(tag: u32) -> (u16, u16) {
    ((tag >> 16) as u16, tag as u16)
}

macro_rules! tags {
    ($($name:ident),* $(,)?) => {
        $(pub const $name: u32 = from_tag(std_tags::$name);)*
    };
}

tags!(
    SPECIFIC_CHARACTER_SET,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    STUDY_DATE,
    STUDY_TIME,
    ACCESSION_NUMBER,
    MODALITY,
    STUDY_DESCRIPTION,
    REFERENCED_SERIES_SEQUENCE,
    REFERENCED_IMAGE_SEQUENCE,
    REFERENCED_IMAGE_EVIDENCE_SEQUENCE,
    PATIENT_NAME,
    PATIENT_ID,
    PATIENT_BIRTH_DATE,
    PATIENT_SEX,
    STUDY_INSTANCE_UID,
    SERIES_INSTANCE_UID,
    STUDY_ID,
    SERIES_NUMBER,
    INSTANCE_NUMBER,
    VERIFICATION_DATE_TIME,
    CONCEPT_NAME_CODE_SEQUENCE,
    BLENDING_SEQUENCE,
    PIXEL_DATA,
);

/// Item (FFFE,E000), Item Delimitation Item (FFFE,E00D), Sequence Delimitation Item
/// (FFFE,E0DD): PS3.5 7.5, not data elements, so not in the dictionary.
pub const ITEM: u32 = 0xFFFE_E000;
pub const ITEM_DELIMITATION_ITEM: u32 = 0xFFFE_E00D;
pub const SEQUENCE_DELIMITATION_ITEM: u32 = 0xFFFE_E0DD;

#[cfg(test)]
mod tests {
    #[test]
    fn values() {
        assert_eq!(super::PATIENT_NAME, 0x0010_0010);
        assert_eq!(super::ITEM, 0xFFFE_E000);
        assert_eq!(super::ITEM_DELIMITATION_ITEM, 0xFFFE_E00D);
        assert_eq!(super::SEQUENCE_DELIMITATION_ITEM, 0xFFFE_E0DD);
        assert_eq!(super::REFERENCED_IMAGE_EVIDENCE_SEQUENCE, 0x0008_9092);
        assert_eq!(super::BLENDING_SEQUENCE, 0x0070_0402);
        assert_eq!(super::split(0x7FE0_0010), (0x7FE0, 0x0010));
    }
}

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
    // What a volume's INDEX.HTM shows of a series besides its record keys.
    SERIES_DESCRIPTION,
    // The Basic Directory (PS3.3 F.3): what the DICOMDIR writer and reader share.
    FILE_SET_ID,
    OFFSET_OF_THE_FIRST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY,
    OFFSET_OF_THE_LAST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY,
    FILE_SET_CONSISTENCY_FLAG,
    DIRECTORY_RECORD_SEQUENCE,
    OFFSET_OF_THE_NEXT_DIRECTORY_RECORD,
    RECORD_IN_USE_FLAG,
    OFFSET_OF_REFERENCED_LOWER_LEVEL_DIRECTORY_ENTITY,
    DIRECTORY_RECORD_TYPE,
    REFERENCED_FILE_ID,
    REFERENCED_SOP_CLASS_UID_IN_FILE,
    REFERENCED_SOP_INSTANCE_UID_IN_FILE,
    REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE,
    // Structured reporting and codes, which SR / KOS records copy and check.
    CONTENT_SEQUENCE,
    RELATIONSHIP_TYPE,
    VALUE_TYPE,
    VERIFYING_OBSERVER_SEQUENCE,
    VERIFICATION_FLAG,
    CODE_VALUE,
    CODING_SCHEME_DESIGNATOR,
    CODE_MEANING,
    LONG_CODE_VALUE,
    URN_CODE_VALUE,
    REFERENCED_SOP_CLASS_UID,
    REFERENCED_SOP_INSTANCE_UID,
    // Storage Commitment (PS3.4 J.3) and Media Creation Management (PS3.4 S.3).
    TRANSACTION_UID,
    FAILURE_REASON,
    FAILED_SOP_SEQUENCE,
    REFERENCED_SOP_SEQUENCE,
);

// What a disc's web content reads of an instance (issue 12 item 3): SR content items,
// Encapsulated Documents, waveforms.
tags!(
    TEXT_VALUE,
    DATE_TIME,
    DATE,
    TIME,
    PERSON_NAME,
    UID,
    MEASURED_VALUE_SEQUENCE,
    NUMERIC_VALUE,
    MEASUREMENT_UNITS_CODE_SEQUENCE,
    CONCEPT_CODE_SEQUENCE,
    COMPLETION_FLAG,
    ENCAPSULATED_DOCUMENT,
    MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
    DOCUMENT_TITLE,
    WAVEFORM_SEQUENCE,
    NUMBER_OF_WAVEFORM_CHANNELS,
    NUMBER_OF_WAVEFORM_SAMPLES,
    SAMPLING_FREQUENCY,
    MULTIPLEX_GROUP_LABEL,
    CHANNEL_DEFINITION_SEQUENCE,
    CHANNEL_LABEL,
    CHANNEL_SOURCE_SEQUENCE,
    CHANNEL_SENSITIVITY,
    CHANNEL_SENSITIVITY_UNITS_SEQUENCE,
    CHANNEL_SENSITIVITY_CORRECTION_FACTOR,
    CHANNEL_BASELINE,
    WAVEFORM_BITS_ALLOCATED,
    WAVEFORM_SAMPLE_INTERPRETATION,
    WAVEFORM_DATA,
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

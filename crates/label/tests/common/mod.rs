// Shared by the label tests: data, fonts and the names of PS3.5's character-set examples.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::OnceLock;

use dcmdisc_label::{Content, FontSource, Fonts, LabelData, Study};

/// The system's fonts, loaded once for all tests of a binary.
pub fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts::load(&FontSource::default()).unwrap())
}

pub fn data(name: &str) -> LabelData {
    LabelData {
        patient_name: name.to_string(),
        script: None,
        birth_date: "19700102".into(),
        studies: vec![
            Study {
                date: "20261130".into(),
                modalities: vec!["CT".into(), "SR".into()],
                description: "CT THORAX".into(),
            },
            Study {
                date: "20261102".into(),
                modalities: vec!["MR".into()],
                description: String::new(),
            },
        ],
        institution: "St. Example Hospital, Radiology".into(),
        created: "20261201".into(),
        content: Content::DicomPlusWeb,
        disc: 1,
        discs: 2,
        fileset_id: "DCMDISC".into(),
        job: Some(42),
    }
}

/// (label, raw Patient's Name bytes, Specific Character Set, the words the label must show),
/// the CJK ones from PS3.5 Annexes H, I and J.
pub fn names() -> Vec<(&'static str, Vec<u8>, &'static str, Vec<&'static str>)> {
    vec![
        (
            "ir87",
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B".to_vec(),
            "\\ISO 2022 IR 87",
            vec!["Yamada", "山田", "太郎", "やまだ", "たろう"],
        ),
        (
            "ir149",
            b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf".to_vec(),
            "\\ISO 2022 IR 149",
            vec!["Hong", "洪", "吉洞", "홍", "길동"],
        ),
        ("gb18030", b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=".to_vec(), "GB18030", vec!["Wang", "王", "小东"]),
        ("cyrillic", "Иванов^Иван".as_bytes().to_vec(), "ISO_IR 192", vec!["Иванов", "Иван"]),
        ("greek", "Παπαδόπουλος^Γιώργος".as_bytes().to_vec(), "ISO_IR 192", vec!["Παπαδόπουλος", "Γιώργος"]),
    ]
}

//! The facts printed on a label, as plain values the caller fills in (no DICOM here: the
//! patient's name arrives decoded from its Specific Character Set).

use crate::LabelError;

/// One disc's label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelData {
    /// Patient's Name as decoded text, PN form: component groups split by `=`
    /// (alphabetic, ideographic, phonetic), components by `^`.
    pub patient_name: String,
    /// Which script the name was written in, from its character set (chooses the CJK face,
    /// since one Han character is drawn differently in Japan, Korea and China). `None`: guessed
    /// from the characters (kana → Japanese, Hangul → Korean, other Han → Chinese).
    pub script: Option<NameScript>,
    /// Patient's Birth Date, DICOM DA (`YYYYMMDD`), may be empty.
    pub birth_date: String,
    pub studies: Vec<Study>,
    pub institution: String,
    /// The day the disc was made (DA, `YYYYMMDD`); also the PDF's creation date, so the same
    /// data gives the same bytes.
    pub created: String,
    pub content: Content,
    /// This disc's number, from 1, and how many discs the set has.
    pub disc: u32,
    pub discs: u32,
    pub fileset_id: String,
    pub job: Option<u64>,
}

impl LabelData {
    /// The name's script: as the caller said, else as its characters suggest.
    pub fn name_script(&self) -> Option<NameScript> {
        self.script
            .or_else(|| NameScript::guess(&self.patient_name))
    }
}

/// One study on the disc.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Study {
    /// Study Date (DA), may be empty.
    pub date: String,
    /// Modalities in Study, as the caller wants them listed.
    pub modalities: Vec<String>,
    pub description: String,
}

/// What the disc holds besides the DICOM File-set (IHE PDI's two content types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Content {
    #[default]
    DicomOnly,
    DicomPlusWeb,
}

impl Content {
    pub fn text(self) -> &'static str {
        match self {
            Content::DicomOnly => "DICOM ONLY",
            Content::DicomPlusWeb => "DICOM PLUS WEB",
        }
    }
}

/// The script of a CJK name, as its character set tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameScript {
    /// ISO 2022 IR 13/87/159.
    Japanese,
    /// ISO 2022 IR 149.
    Korean,
    /// GB18030, GBK, ISO 2022 IR 58.
    Chinese,
}

impl NameScript {
    /// The script a name's characters suggest, when its character set did not say.
    pub fn guess(name: &str) -> Option<NameScript> {
        let any = |f: fn(char) -> bool| name.chars().any(f);
        if any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{31f0}'..='\u{31ff}')) {
            Some(NameScript::Japanese)
        } else if any(
            |c| matches!(c, '\u{1100}'..='\u{11ff}' | '\u{3130}'..='\u{318f}' | '\u{ac00}'..='\u{d7af}'),
        ) {
            Some(NameScript::Korean)
        } else if any(
            |c| matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{20000}'..='\u{3134f}'),
        ) {
            Some(NameScript::Chinese)
        } else {
            None
        }
    }
}

/// A DA value as `YYYY-MM-DD`; anything that is not eight digits is shown as it is.
pub fn show_date(da: &str) -> String {
    let da = da.trim();
    match parse_date(da) {
        Some((y, m, d)) => format!("{y:04}-{m:02}-{d:02}"),
        None => da.to_string(),
    }
}

/// Year, month, day of a DA value (`YYYYMMDD`, a plausible calendar date).
pub fn parse_date(da: &str) -> Option<(u16, u8, u8)> {
    let b = da.trim().as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| da.trim()[r].parse::<u16>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m as u8, d as u8))
}

pub(crate) fn creation_date(data: &LabelData) -> Result<(u16, u8, u8), LabelError> {
    parse_date(&data.created).ok_or_else(|| LabelError::BadDate {
        field: "creation date",
        value: data.created.clone(),
    })
}

/// The name's component groups, each shown as people write it: alphabetic
/// `FAMILY, Given Middle Prefix Suffix`, ideographic and phonetic `FAMILY Given` (no comma);
/// empty groups left out.
pub fn name_lines(pn: &str) -> Vec<String> {
    pn.split('=')
        .enumerate()
        .filter_map(|(i, group)| {
            let parts: Vec<&str> = group.split('^').map(str::trim).collect();
            let family = parts.first().copied().unwrap_or("");
            let rest: Vec<&str> = parts
                .iter()
                .skip(1)
                .copied()
                .filter(|p| !p.is_empty())
                .collect();
            let line = match (family.is_empty(), rest.is_empty()) {
                (true, true) => return None,
                (false, true) => family.to_string(),
                (true, false) => rest.join(" "),
                (false, false) if i == 0 => format!("{family}, {}", rest.join(" ")),
                (false, false) => format!("{family} {}", rest.join(" ")),
            };
            Some(line)
        })
        .collect()
}

/// Text as it may go into XML: control characters (left over from a broken ISO 2022 escape,
/// or NUL padding) are not allowed in XML 1.0 even as references, so they are dropped;
/// runs of white space become one space.
pub(crate) fn clean(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !matches!(c, '\u{fffe}' | '\u{ffff}'))
        .collect();
    kept.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_written() {
        assert_eq!(
            name_lines("Yamada^Tarou=山田^太郎=やまだ^たろう"),
            ["Yamada, Tarou", "山田 太郎", "やまだ たろう"]
        );
        assert_eq!(
            name_lines("Wang^XiaoDong=王^小東="),
            ["Wang, XiaoDong", "王 小東"]
        );
        assert_eq!(name_lines("=洪^吉洞=홍^길동"), ["洪 吉洞", "홍 길동"]);
        assert_eq!(name_lines("DOE^^^Dr"), ["DOE, Dr"]);
        assert_eq!(name_lines(""), Vec::<String>::new());
    }

    #[test]
    fn scripts_guessed_from_characters() {
        assert_eq!(
            NameScript::guess("山田^太郎=やまだ"),
            Some(NameScript::Japanese)
        );
        assert_eq!(
            NameScript::guess("洪^吉洞=홍^길동"),
            Some(NameScript::Korean)
        );
        assert_eq!(NameScript::guess("王^小东"), Some(NameScript::Chinese));
        assert_eq!(NameScript::guess("Иванов^Иван"), None);
    }

    #[test]
    fn dates_and_control_characters() {
        assert_eq!(show_date("19700102"), "1970-01-02");
        assert_eq!(show_date("1970"), "1970");
        assert_eq!(parse_date("19701302"), None);
        assert_eq!(clean("A\u{1b}$B\0 \n B"), "A$B B");
    }
}

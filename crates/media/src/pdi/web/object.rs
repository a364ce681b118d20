//! The non-image objects the web content shows: a Structured Report's content tree as
//! text (decoded in the instance's Specific Character Set) and an Encapsulated PDF's
//! document. Read with the header walk of `dcmdisc-dicom` (bounded: only the elements named
//! here are read into memory; Pixel Data and everything else are skipped).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use dcmdisc_dicom::charset::decode_text;
use dcmdisc_dicom::items::split_items_in;
use dcmdisc_dicom::meta::parse_meta;
use dcmdisc_dicom::tag;
use dcmdisc_dicom::uid::IMPLICIT_VR_LE;
use dcmdisc_dicom::walk::{walk, Header, Take, Visitor};

/// Encapsulated PDF Storage (PS3.4 B.5).
pub(crate) const ENCAPSULATED_PDF: &str = "1.2.840.10008.5.1.4.1.1.104.1";
/// The SOP classes of Structured Reports and Key Object Selection share this root (PS3.4 B.5).
const SR_ROOT: &str = "1.2.840.10008.5.1.4.1.1.88.";
/// Waveform storage classes (ECG and others) share this root.
const WAVEFORM_ROOT: &str = "1.2.840.10008.5.1.4.1.1.9.";

/// The largest Content Sequence or document read into memory; larger ones are "not shown".
const MAX_READ: u64 = 64 * 1024 * 1024;
/// SR content trees deeper than this are cut (the header walk allows 64 levels).
const MAX_DEPTH: usize = 32;

/// What kind of web rendering an instance gets, from its SOP class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Image,
    Sr,
    Pdf,
    Waveform,
}

pub(crate) fn kind(sop_class: &str) -> Kind {
    if sop_class == ENCAPSULATED_PDF {
        Kind::Pdf
    } else if sop_class.starts_with(SR_ROOT) {
        Kind::Sr
    } else if sop_class.starts_with(WAVEFORM_ROOT) {
        Kind::Waveform
    } else {
        Kind::Image
    }
}

/// Keeps the named top-level elements (values, and sequences as their item bytes).
struct Grab<'a> {
    values: &'a [u32],
    spans: &'a [u32],
    out: BTreeMap<u32, Vec<u8>>,
}

impl Visitor for Grab<'_> {
    fn element(&mut self, h: &Header, depth: usize) -> Take {
        if depth != 0 {
            Take::Skip
        } else if self.spans.contains(&h.tag) {
            Take::Span(MAX_READ)
        } else if self.values.contains(&h.tag) && u64::from(h.len) <= MAX_READ {
            Take::Value
        } else {
            Take::Skip
        }
    }
    fn value(&mut self, h: &Header, _depth: usize, value: Vec<u8>) {
        self.out.insert(h.tag, value);
    }
    fn span(&mut self, h: &Header, _depth: usize, items: Vec<u8>) {
        self.out.insert(h.tag, items);
    }
}

/// The named top-level elements of the Part 10 file at `path`, and whether its data set is
/// Explicit VR.
pub(crate) fn read_top(
    path: &Path,
    values: &[u32],
    spans: &[u32],
) -> Result<(BTreeMap<u32, Vec<u8>>, bool), String> {
    let mut f = File::open(path).map_err(|e| e.to_string())?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut head = Vec::with_capacity(64 * 1024);
    (&mut f)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    let meta = parse_meta(&head).map_err(|e| e.to_string())?;
    let explicit = meta.identity().transfer_syntax_uid != IMPLICIT_VR_LE;
    let mut grab = Grab {
        values,
        spans,
        out: BTreeMap::new(),
    };
    walk(
        BufReader::with_capacity(64 * 1024, f),
        meta.dataset_offset,
        size,
        explicit,
        &mut grab,
    )
    .map_err(|e| e.to_string())?;
    Ok((grab.out, explicit))
}

/// The document of an Encapsulated PDF instance, without the pad byte an odd-length
/// document was given (PS3.3 C.24.2.1: the value is padded to even length).
pub(crate) fn pdf(path: &Path) -> Result<Vec<u8>, String> {
    let (mut top, _) = read_top(
        path,
        &[
            tag::ENCAPSULATED_DOCUMENT,
            tag::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        ],
        &[],
    )?;
    let mime = top
        .get(&tag::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT)
        .map(|v| {
            String::from_utf8_lossy(v)
                .trim()
                .trim_end_matches('\0')
                .to_string()
        })
        .unwrap_or_default();
    if !mime.is_empty() && !mime.eq_ignore_ascii_case("application/pdf") {
        return Err(format!("the encapsulated document is {mime}, not PDF"));
    }
    let mut doc = top
        .remove(&tag::ENCAPSULATED_DOCUMENT)
        .ok_or("no Encapsulated Document (0042,0011)")?;
    if !doc.starts_with(b"%PDF") {
        return Err("the encapsulated document does not start with %PDF".into());
    }
    if doc.len() % 2 == 0 && doc.last() == Some(&0) {
        doc.pop();
    }
    Ok(doc)
}

/// One content item of an SR tree, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SrNode {
    /// Relationship Type (empty at the root), Value Type, the concept's Code Meaning.
    pub relationship: String,
    pub value_type: String,
    pub concept: String,
    /// The value as text (TEXT, NUM with units, CODE meaning, DATE...), empty for CONTAINER.
    pub value: String,
    pub children: Vec<SrNode>,
}

/// The content tree of the SR instance at `path`, values decoded in its character set.
pub(crate) fn sr_tree(path: &Path) -> Result<SrNode, String> {
    let (top, explicit) = read_top(
        path,
        &[
            tag::SPECIFIC_CHARACTER_SET,
            tag::VALUE_TYPE,
            tag::COMPLETION_FLAG,
            tag::VERIFICATION_FLAG,
        ],
        &[tag::CONCEPT_NAME_CODE_SEQUENCE, tag::CONTENT_SEQUENCE],
    )?;
    let charset = top
        .get(&tag::SPECIFIC_CHARACTER_SET)
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .unwrap_or_default();
    let cx = Cx { charset, explicit };
    let text = |t: u32| top.get(&t).map(|v| cx.text(v)).unwrap_or_default();
    let mut root = SrNode {
        relationship: String::new(),
        value_type: text(tag::VALUE_TYPE),
        concept: top
            .get(&tag::CONCEPT_NAME_CODE_SEQUENCE)
            .map(|v| cx.code_meaning(v))
            .unwrap_or_default(),
        value: [
            ("completion", text(tag::COMPLETION_FLAG)),
            ("verification", text(tag::VERIFICATION_FLAG)),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", "),
        children: Vec::new(),
    };
    if let Some(seq) = top.get(&tag::CONTENT_SEQUENCE) {
        root.children = cx.items(seq, 1)?;
    }
    Ok(root)
}

struct Cx {
    charset: String,
    explicit: bool,
}

impl Cx {
    fn text(&self, raw: &[u8]) -> String {
        decode_text(raw, &self.charset)
            .trim_end_matches(['\0', ' '])
            .trim()
            .to_string()
    }

    /// The Code Meaning of the first item of a code sequence.
    fn code_meaning(&self, seq: &[u8]) -> String {
        split_items_in(seq, self.explicit)
            .and_then(|items| {
                items
                    .first()
                    .and_then(|i| i.value(tag::CODE_MEANING).map(|v| self.text(v)))
            })
            .unwrap_or_default()
    }

    fn items(&self, seq: &[u8], depth: usize) -> Result<Vec<SrNode>, String> {
        if depth > MAX_DEPTH {
            return Ok(vec![SrNode {
                relationship: String::new(),
                value_type: String::new(),
                concept: format!("(content deeper than {MAX_DEPTH} levels not shown)"),
                value: String::new(),
                children: Vec::new(),
            }]);
        }
        let items = split_items_in(seq, self.explicit)
            .ok_or("a Content Sequence does not split into items")?;
        let mut out = Vec::with_capacity(items.len());
        for it in &items {
            let text = |t: u32| it.value(t).map(|v| self.text(v)).unwrap_or_default();
            let value_type = text(tag::VALUE_TYPE);
            let value = match value_type.as_str() {
                "TEXT" => text(tag::TEXT_VALUE),
                "NUM" => it
                    .value(tag::MEASURED_VALUE_SEQUENCE)
                    .and_then(|s| split_items_in(s, self.explicit))
                    .and_then(|m| {
                        let m = m.first()?;
                        let n = m.value(tag::NUMERIC_VALUE).map(|v| self.text(v))?;
                        let unit = m
                            .value(tag::MEASUREMENT_UNITS_CODE_SEQUENCE)
                            .and_then(|u| split_items_in(u, self.explicit))
                            .and_then(|u| {
                                let u = u.first()?;
                                u.value(tag::CODE_VALUE)
                                    .or(u.value(tag::CODE_MEANING))
                                    .map(|v| self.text(v))
                            })
                            .unwrap_or_default();
                        Some(format!("{n} {unit}").trim().to_string())
                    })
                    .unwrap_or_default(),
                "CODE" => it
                    .value(tag::CONCEPT_CODE_SEQUENCE)
                    .map(|s| self.code_meaning(s))
                    .unwrap_or_default(),
                "DATETIME" => text(tag::DATE_TIME),
                "DATE" => text(tag::DATE),
                "TIME" => text(tag::TIME),
                "PNAME" => super::super::text::person_name(&text(tag::PERSON_NAME)),
                "UIDREF" => text(tag::UID),
                "IMAGE" | "COMPOSITE" | "WAVEFORM" => "(a reference to another object)".into(),
                _ => String::new(),
            };
            let children = match it.value(tag::CONTENT_SEQUENCE) {
                Some(seq) => self.items(seq, depth + 1)?,
                None => Vec::new(),
            };
            out.push(SrNode {
                relationship: text(tag::RELATIONSHIP_TYPE),
                value_type,
                concept: it
                    .value(tag::CONCEPT_NAME_CODE_SEQUENCE)
                    .map(|s| self.code_meaning(s))
                    .unwrap_or_default(),
                value,
                children,
            });
        }
        Ok(out)
    }
}

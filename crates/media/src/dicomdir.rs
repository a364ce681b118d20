//! The DICOMDIR file (PS3.3 Annex F, PS3.10 section 8): a Basic Directory in Explicit VR
//! Little Endian whose directory records point at each other by byte offset.
//!
//! Records are laid out depth-first (a PATIENT, its first STUDY, that study's first SERIES,
//! its instances, the next SERIES, ...), which is the order readers walk and the order the
//! instance files are written on the volume.

use dcmdisc_dicom::encode::{explicit_element, explicit_element_len};
use dcmdisc_dicom::meta::FileMeta;
use dcmdisc_dicom::uid::EXPLICIT_VR_LE;

pub use dcmdisc_dicom::uid::MEDIA_STORAGE_DIRECTORY;

/// Basic Directory elements (PS3.3 F.5), short names for the dictionary's.
pub mod tags {
    pub use dcmdisc_dicom::tag::{
        DIRECTORY_RECORD_SEQUENCE as RECORD_SEQUENCE, DIRECTORY_RECORD_TYPE as RECORD_TYPE,
        FILE_SET_CONSISTENCY_FLAG as CONSISTENCY_FLAG, FILE_SET_ID,
        OFFSET_OF_REFERENCED_LOWER_LEVEL_DIRECTORY_ENTITY as LOWER,
        OFFSET_OF_THE_FIRST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY as FIRST_ROOT,
        OFFSET_OF_THE_LAST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY as LAST_ROOT,
        OFFSET_OF_THE_NEXT_DIRECTORY_RECORD as NEXT, RECORD_IN_USE_FLAG as IN_USE,
        REFERENCED_FILE_ID as FILE_ID, REFERENCED_SOP_CLASS_UID_IN_FILE as REFERENCED_SOP_CLASS,
        REFERENCED_SOP_INSTANCE_UID_IN_FILE as REFERENCED_SOP_INSTANCE,
        REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE as REFERENCED_TRANSFER_SYNTAX,
    };
}

/// One element of a record, already encoded as value bytes (caller pads nothing: we do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct El {
    pub tag: u32,
    pub vr: [u8; 2],
    pub value: Vec<u8>,
}

impl El {
    pub fn new(tag: u32, vr: &[u8; 2], value: impl Into<Vec<u8>>) -> El {
        El {
            tag,
            vr: *vr,
            value: value.into(),
        }
    }

    pub fn text(tag: u32, vr: &[u8; 2], s: &str) -> El {
        El::new(tag, vr, s.as_bytes())
    }

    fn encoded_len(&self) -> usize {
        explicit_element_len(self.vr, self.value.len())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        explicit_element(out, self.tag, self.vr, &self.value);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DicomdirError {
    #[error("directory record key ({0:04X},{1:04X}) value too long for its VR ({2} bytes)")]
    ValueTooLong(u16, u16, usize),
    #[error("File-set ID {0:?} is not 1-16 characters of A-Z, 0-9, _ and space")]
    BadFileSetId(String),
    #[error("DICOMDIR larger than 4 GiB")]
    TooLarge,
}

/// A directory record and the records of its lower-level entity.
#[derive(Debug, Clone)]
pub struct Record {
    /// "PATIENT", "STUDY", "SERIES", "IMAGE", ...
    pub record_type: String,
    /// For leaf records: File ID components, SOP Class, SOP Instance and Transfer Syntax UIDs.
    pub file: Option<FileRef>,
    /// Record keys in ascending tag order (Specific Character Set first when present).
    pub keys: Vec<El>,
    pub children: Vec<Record>,
}

#[derive(Debug, Clone)]
pub struct FileRef {
    pub file_id: Vec<String>,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax_uid: String,
}

pub struct DicomdirMeta<'a> {
    pub fileset_id: &'a str,
    /// Media Storage SOP Instance UID of the DICOMDIR: the File-set's UID.
    pub fileset_uid: &'a str,
    pub implementation_class_uid: &'a str,
    pub implementation_version_name: &'a str,
    pub source_ae_title: &'a str,
    /// File-set Consistency Flag (0004,1212): 0000H = no known inconsistencies.
    pub consistency_flag: u16,
}

/// Offsets inside an encoded record body where the two offset values live: the record
/// starts with (0004,1400) UL, (0004,1410) US, (0004,1420) UL, so their positions are fixed.
const NEXT_OFFSET_AT: usize = 8;
const LOWER_OFFSET_AT: usize = 12 + 10 + 8;

struct Flat {
    body: Vec<u8>,
    next: Option<usize>,
    lower: Option<usize>,
}

fn flatten(records: &[Record], out: &mut Vec<Flat>) -> Result<Option<usize>, DicomdirError> {
    let mut first = None;
    let mut prev: Option<usize> = None;
    for r in records {
        let idx = out.len();
        out.push(Flat {
            body: encode_record(r)?,
            next: None,
            lower: None,
        });
        if let Some(p) = prev {
            out[p].next = Some(idx);
        }
        first.get_or_insert(idx);
        prev = Some(idx);
        let lower = flatten(&r.children, out)?;
        out[idx].lower = lower;
    }
    Ok(first)
}

fn encode_record(r: &Record) -> Result<Vec<u8>, DicomdirError> {
    let mut els = vec![
        El::new(tags::NEXT, b"UL", 0u32.to_le_bytes()),
        El::new(tags::IN_USE, b"US", 0xFFFFu16.to_le_bytes()),
        El::new(tags::LOWER, b"UL", 0u32.to_le_bytes()),
        El::text(tags::RECORD_TYPE, b"CS", &r.record_type),
    ];
    if let Some(f) = &r.file {
        els.push(El::text(tags::FILE_ID, b"CS", &f.file_id.join("\\")));
        els.push(El::text(
            tags::REFERENCED_SOP_CLASS,
            b"UI",
            &f.sop_class_uid,
        ));
        els.push(El::text(
            tags::REFERENCED_SOP_INSTANCE,
            b"UI",
            &f.sop_instance_uid,
        ));
        els.push(El::text(
            tags::REFERENCED_TRANSFER_SYNTAX,
            b"UI",
            &f.transfer_syntax_uid,
        ));
    }
    els.extend(r.keys.iter().cloned());
    els.sort_by_key(|e| e.tag);
    let mut body = Vec::with_capacity(els.iter().map(El::encoded_len).sum());
    for e in &els {
        if !dcmdisc_dicom::vr::has_long_length(e.vr) && e.value.len() > 0xFFFE {
            return Err(DicomdirError::ValueTooLong(
                (e.tag >> 16) as u16,
                e.tag as u16,
                e.value.len(),
            ));
        }
        e.encode(&mut body);
    }
    Ok(body)
}

/// Encoded size of one record's item body (without the 8-byte item header): lets the
/// planner account for the DICOMDIR before it is written.
pub fn encoded_record_len(r: &Record) -> Result<usize, DicomdirError> {
    Ok(encode_record(r)?.len())
}

fn valid_fileset_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 16
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
}

/// Encode the whole DICOMDIR file: preamble, File Meta Information, Basic Directory.
pub fn encode(meta: &DicomdirMeta<'_>, roots: &[Record]) -> Result<Vec<u8>, DicomdirError> {
    if !valid_fileset_id(meta.fileset_id) {
        return Err(DicomdirError::BadFileSetId(meta.fileset_id.to_string()));
    }
    let mut out = file_meta(meta);
    let mut flat = Vec::new();
    let first_root = flatten(roots, &mut flat)?;
    let last_root = {
        let mut i = first_root;
        while let Some(n) = i.and_then(|i| flat[i].next) {
            i = Some(n);
        }
        i
    };
    let seq_len: usize = flat.iter().map(|f| 8 + f.body.len()).sum();
    let head = [
        El::text(tags::FILE_SET_ID, b"CS", meta.fileset_id),
        El::new(tags::FIRST_ROOT, b"UL", 0u32.to_le_bytes()),
        El::new(tags::LAST_ROOT, b"UL", 0u32.to_le_bytes()),
        El::new(
            tags::CONSISTENCY_FLAG,
            b"US",
            meta.consistency_flag.to_le_bytes(),
        ),
    ];
    let head_len: usize = head.iter().map(El::encoded_len).sum::<usize>() + 12;
    // Offsets count from the first byte of the file (the preamble), PS3.3 F.3.2.1.
    let mut offsets = Vec::with_capacity(flat.len());
    let mut pos = out.len() + head_len;
    for f in &flat {
        offsets.push(pos);
        pos += 8 + f.body.len();
    }
    if pos > u32::MAX as usize {
        return Err(DicomdirError::TooLarge);
    }
    let at = |i: Option<usize>| i.map_or(0u32, |i| offsets[i] as u32);
    let mut head = head;
    head[1].value = at(first_root).to_le_bytes().to_vec();
    head[2].value = at(last_root).to_le_bytes().to_vec();
    for e in &head {
        e.encode(&mut out);
    }
    out.extend_from_slice(&[0x04, 0x00, 0x20, 0x12, b'S', b'Q', 0, 0]);
    out.extend_from_slice(&(seq_len as u32).to_le_bytes());
    for f in &mut flat {
        f.body[NEXT_OFFSET_AT..NEXT_OFFSET_AT + 4].copy_from_slice(&at(f.next).to_le_bytes());
        f.body[LOWER_OFFSET_AT..LOWER_OFFSET_AT + 4].copy_from_slice(&at(f.lower).to_le_bytes());
        out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        out.extend_from_slice(&(f.body.len() as u32).to_le_bytes());
        out.extend_from_slice(&f.body);
    }
    Ok(out)
}

fn file_meta(meta: &DicomdirMeta<'_>) -> Vec<u8> {
    FileMeta {
        media_storage_sop_class_uid: MEDIA_STORAGE_DIRECTORY,
        media_storage_sop_instance_uid: meta.fileset_uid,
        transfer_syntax_uid: EXPLICIT_VR_LE,
        implementation_class_uid: meta.implementation_class_uid,
        implementation_version_name: meta.implementation_version_name,
        source_ae_title: meta.source_ae_title,
        private: None,
    }
    .encode()
    .0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u32) -> Record {
        Record {
            record_type: "IMAGE".into(),
            file: Some(FileRef {
                file_id: vec!["DICOM".into(), format!("I{n:07}")],
                sop_class_uid: "1.2.840.10008.5.1.4.1.1.7".into(),
                sop_instance_uid: format!("1.2.3.{n}"),
                transfer_syntax_uid: EXPLICIT_VR_LE.into(),
            }),
            keys: vec![El::text(0x0020_0013, b"IS", &n.to_string())],
            children: vec![],
        }
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn offsets_point_at_items() {
        let series = Record {
            record_type: "SERIES".into(),
            file: None,
            keys: vec![],
            children: vec![leaf(1), leaf(2)],
        };
        let patient = Record {
            record_type: "PATIENT".into(),
            file: None,
            keys: vec![],
            children: vec![series],
        };
        let meta = DicomdirMeta {
            fileset_id: "DCMDISC 1",
            fileset_uid: "2.25.1",
            implementation_class_uid: "2.25.2",
            implementation_version_name: "X",
            source_ae_title: "",
            consistency_flag: 0,
        };
        let b = encode(&meta, &[patient]).unwrap();
        // find the first root offset: search for tag (0004,1200)
        let p = b.windows(4).position(|w| w == [0x04, 0, 0, 0x12]).unwrap();
        let first = u32_at(&b, p + 8) as usize;
        assert_eq!(&b[first..first + 4], &[0xFE, 0xFF, 0x00, 0xE0]);
        // patient's lower-level offset → series item; series' lower → first image
        let series_at = u32_at(&b, first + 8 + LOWER_OFFSET_AT) as usize;
        assert_eq!(&b[series_at..series_at + 4], &[0xFE, 0xFF, 0x00, 0xE0]);
        let img1 = u32_at(&b, series_at + 8 + LOWER_OFFSET_AT) as usize;
        let img2 = u32_at(&b, img1 + 8 + NEXT_OFFSET_AT) as usize;
        assert_eq!(u32_at(&b, img2 + 8 + NEXT_OFFSET_AT), 0);
        assert!(b[img2..].windows(7).any(|w| w == b"1.2.3.2"));
        assert!(encode(
            &DicomdirMeta {
                fileset_id: "bad-id",
                ..meta
            },
            &[]
        )
        .is_err());
    }
}

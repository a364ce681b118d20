//! Reading the instances a volume is made of: each file once (File Meta and a header walk
//! that keeps the keys the DICOMDIR needs), from a list of paths or a folder.
//!
//! The header walk reads Little Endian data sets. An Explicit VR Big Endian or Deflated
//! source is converted to Explicit VR LE by the [`Converter`] into a scratch file first, its
//! keys read from that, and the scratch removed: the export converts it again into its
//! staging folder (`export.rs`), like every source the profile does not allow. Converting
//! twice costs time on rare files, and keeps one path for all conversions.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use dcmdisc_dicom::charset::decode_text;
use dcmdisc_dicom::meta::parse_meta;
use dcmdisc_dicom::patient::generated_patient_id;
use dcmdisc_dicom::uid::{
    DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE, MEDIA_STORAGE_DIRECTORY,
};
use dcmdisc_dicom::{keys, tag, InstanceId, Keys};

use crate::export::{io_err, Converter, ExportError};
use crate::left_out::{Excluded, ExcludedKind};
use crate::records;

/// One source instance, read and checked.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub size: u64,
    /// SOP Class, SOP Instance and Transfer Syntax UIDs from the File Meta.
    pub meta: InstanceId,
    pub keys: Keys,
}

/// The header walk cannot read these: they are read through a conversion.
fn needs_conversion_to_read(ts: &str) -> bool {
    ts == EXPLICIT_VR_BE || ts == DEFLATED_EXPLICIT_VR_LE
}

impl SourceFile {
    /// Reads a source; one in a syntax the header walk cannot read is read through `conv`
    /// (module doc). Its `path`, `size` and `meta` stay the source's.
    pub fn read_via(path: &Path, conv: &dyn Converter) -> Result<SourceFile, ExportError> {
        let original = match peek_meta(path)? {
            Some(m)
                if needs_conversion_to_read(&m.transfer_syntax_uid)
                    && conv.can_convert(&m.transfer_syntax_uid) =>
            {
                m
            }
            _ => return SourceFile::read(path),
        };
        let scratch = Scratch::new();
        conv.to_explicit_le(path, &scratch.0)
            .map_err(|source| ExportError::Conversion {
                path: path.to_path_buf(),
                source,
            })?;
        let converted = SourceFile::read(&scratch.0).map_err(|e| ExportError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("converted to Explicit VR LE, then: {}", reason_of(&e)),
        })?;
        let size = fs::metadata(path).map_err(io_err(path))?.len();
        Ok(SourceFile {
            path: path.to_path_buf(),
            size,
            meta: original,
            keys: converted.keys,
        })
    }

    pub fn read(path: &Path) -> Result<SourceFile, ExportError> {
        let mut f = File::open(path).map_err(io_err(path))?;
        let size = f.metadata().map_err(io_err(path))?.len();
        let mut head = Vec::with_capacity(64 * 1024);
        (&mut f)
            .take(64 * 1024)
            .read_to_end(&mut head)
            .map_err(io_err(path))?;
        let file_meta = parse_meta(&head).map_err(|_| ExportError::NotPart10 {
            path: path.to_path_buf(),
        })?;
        let dataset_offset = file_meta.dataset_offset;
        let meta = file_meta.identity();
        let explicit = meta.transfer_syntax_uid != IMPLICIT_VR_LE;
        if needs_conversion_to_read(&meta.transfer_syntax_uid) {
            return Err(ExportError::Unreadable {
                path: path.to_path_buf(),
                reason: format!(
                    "transfer syntax {} cannot be read without a converter",
                    meta.transfer_syntax_uid
                ),
            });
        }
        let keys = keys::scan(
            BufReader::with_capacity(64 * 1024, f),
            dataset_offset,
            size,
            explicit,
        )
        .map_err(|e| ExportError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            size,
            meta,
            keys,
        })
    }

    pub(crate) fn sop_class(&self) -> String {
        self.keys
            .string(tag::SOP_CLASS_UID)
            .unwrap_or_else(|| self.meta.sop_class_uid.clone())
    }

    pub(crate) fn sop_instance(&self) -> String {
        self.keys
            .string(tag::SOP_INSTANCE_UID)
            .unwrap_or_else(|| self.meta.sop_instance_uid.clone())
    }

    pub fn patient_id(&self) -> String {
        self.keys
            .string(tag::PATIENT_ID)
            .unwrap_or_else(|| generated_patient_id(&self.keys))
    }

    pub fn patient_name_raw(&self) -> Vec<u8> {
        self.keys
            .text(tag::PATIENT_NAME)
            .unwrap_or_default()
            .to_vec()
    }
}

/// Files of one patient found in a folder.
#[derive(Debug, Clone)]
pub struct PatientFiles {
    pub patient_name: String,
    pub patient_id: String,
    /// Already read and checked, so the export does not read them again.
    pub files: Vec<SourceFile>,
}

/// The File Meta's identity of a Part 10 file, `None` when the file has no `DICM` prefix
/// (not DICOM); a prefix followed by a File Meta that does not parse is `NotPart10`.
fn peek_meta(path: &Path) -> Result<Option<InstanceId>, ExportError> {
    let mut head = Vec::with_capacity(64 * 1024);
    File::open(path)
        .map_err(io_err(path))?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(io_err(path))?;
    if head.get(128..132) != Some(&b"DICM"[..]) {
        return Ok(None);
    }
    parse_meta(&head)
        .map(|m| Some(m.identity()))
        .map_err(|_| ExportError::NotPart10 {
            path: path.to_path_buf(),
        })
}

/// A scratch file name in the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        Scratch(std::env::temp_dir().join(format!(
            ".dcmdisc-read-{}-{}.dcm",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// What went wrong, without the path (the [`Excluded`] carries it).
fn reason_of(e: &ExportError) -> String {
    match e {
        ExportError::Io { source, .. } => source.to_string(),
        ExportError::NotPart10 { .. } => "the File Meta Information does not parse".into(),
        ExportError::Unreadable { reason, .. } => reason.clone(),
        ExportError::Conversion { source, .. } => {
            format!("conversion to Explicit VR LE failed: {source}")
        }
        other => other.to_string(),
    }
}

/// Walks `src` recursively and groups its DICOM Part 10 files per (Patient's Name, Patient
/// ID), reading Big Endian and Deflated ones through `conv`. Returns the groups and every
/// file that is not exported as an instance, with its kind and reason (`left_out.rs`).
pub fn scan_folder(
    src: &Path,
    conv: &dyn Converter,
) -> Result<(Vec<PatientFiles>, Vec<Excluded>), ExportError> {
    let mut files = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries.into_iter().rev() {
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let table = records::table()?;
    let mut groups: BTreeMap<(Vec<u8>, String), PatientFiles> = BTreeMap::new();
    let mut excluded = Vec::new();
    for p in files {
        let exclude = |kind, reason: String, patient, sop: Option<String>| Excluded {
            path: p.clone(),
            kind,
            reason,
            patient,
            sop_instance_uid: sop,
        };
        let meta = match peek_meta(&p) {
            Ok(None) => {
                excluded.push(exclude(
                    ExcludedKind::NotDicom,
                    "not a DICOM Part 10 file (no DICM prefix)".into(),
                    None,
                    None,
                ));
                continue;
            }
            Ok(Some(m)) => m,
            Err(e) => {
                excluded.push(exclude(ExcludedKind::Unreadable, reason_of(&e), None, None));
                continue;
            }
        };
        let sop = Some(meta.sop_instance_uid.clone()).filter(|u| !u.is_empty());
        if meta.sop_class_uid == MEDIA_STORAGE_DIRECTORY {
            excluded.push(exclude(
                ExcludedKind::Dicomdir,
                "a DICOMDIR of another File-set: we write our own".into(),
                None,
                None,
            ));
            continue;
        }
        match SourceFile::read_via(&p, conv) {
            Ok(s) if !table.record_type_of_class.contains_key(&s.sop_class()) => {
                let class = s.sop_class();
                let patient = Some((s.patient_name_raw(), s.patient_id()));
                excluded.push(exclude(
                    ExcludedKind::Unreadable,
                    format!("SOP class {class} has no directory record type"),
                    patient,
                    Some(s.sop_instance()),
                ));
            }
            Ok(s) => {
                let key = (s.patient_name_raw(), s.patient_id());
                let charset = s
                    .keys
                    .string(tag::SPECIFIC_CHARACTER_SET)
                    .unwrap_or_default();
                groups
                    .entry(key.clone())
                    .or_insert_with(|| PatientFiles {
                        patient_name: decode_text(&key.0, &charset),
                        patient_id: key.1.clone(),
                        files: Vec::new(),
                    })
                    .files
                    .push(s);
            }
            Err(e) => excluded.push(exclude(ExcludedKind::Unreadable, reason_of(&e), None, sop)),
        }
    }
    Ok((groups.into_values().collect(), excluded))
}

/// Read and check the given Part 10 files (e.g. an archive collection); only the syntaxes the
/// header walk reads (an archive holds nothing else).
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, ExportError> {
    paths.iter().map(|p| SourceFile::read(p)).collect()
}

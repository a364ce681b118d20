//! Reading the instances a volume is made of: each file once (File Meta and a header walk
//! that keeps the keys the DICOMDIR needs), from a list of paths or a folder.

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

use crate::export::{io_err, ExportError};
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

impl SourceFile {
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
        if meta.transfer_syntax_uid == EXPLICIT_VR_BE
            || meta.transfer_syntax_uid == DEFLATED_EXPLICIT_VR_LE
        {
            return Err(ExportError::Unreadable {
                path: path.to_path_buf(),
                reason: format!(
                    "transfer syntax {} is not supported",
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

/// Walk `src` recursively; group DICOM Part 10 files per (Patient's Name, Patient ID).
/// Returns the groups and the skipped files with the reason.
/// A file left out of a folder export, with the reason.
pub type Skipped = (PathBuf, String);

pub fn scan_folder(src: &Path) -> Result<(Vec<PatientFiles>, Vec<Skipped>), ExportError> {
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
    let mut skipped = Vec::new();
    for p in files {
        match SourceFile::read(&p) {
            Ok(s) if s.meta.sop_class_uid == MEDIA_STORAGE_DIRECTORY => {
                skipped.push((p, "a DICOMDIR (we write our own)".into()))
            }
            Ok(s) if !table.record_type_of_class.contains_key(&s.sop_class()) => {
                let class = s.sop_class();
                skipped.push((p, format!("SOP class {class} has no directory record type")))
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
            Err(e) => skipped.push((p, e.to_string())),
        }
    }
    Ok((groups.into_values().collect(), skipped))
}

/// Read and check the given Part 10 files (e.g. an archive collection).
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, ExportError> {
    paths.iter().map(|p| SourceFile::read(p)).collect()
}

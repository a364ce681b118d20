//! The Media AE engine: from the files of one patient, build one or more volumes, each a
//! complete File-set (DICOMDIR + instances + README) written as an ISO 9660 image and/or a
//! folder tree. The same engine serves archive collections and plain folders.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dcmdisc_archive::index::{generated_patient_id, tags};
use dcmdisc_archive::meta::{parse_meta, MetaInfo};
use dcmdisc_archive::scan::{self, Keys};

use crate::dicomdir::{self, DicomdirMeta, El, FileRef, Record};
use crate::iso9660::{self, FileSource, IsoBuilder, IsoDateTime};
use crate::plan::{self, PlanItem};
use crate::records::{self, KeyType};

pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
const DICOMDIR_CLASS: &str = "1.2.840.10008.1.3.10";
const SECTOR: u64 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    GenCd,
    GenDvdJpeg,
    GenBd,
    GenUsbJpeg,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s.to_ascii_uppercase().as_str() {
            "STD-GEN-CD" => Some(Profile::GenCd),
            "STD-GEN-DVD-JPEG" => Some(Profile::GenDvdJpeg),
            "STD-GEN-BD" | "STD-GEN-BD-JPEG" => Some(Profile::GenBd),
            "STD-GEN-USB-JPEG" => Some(Profile::GenUsbJpeg),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::GenCd => "STD-GEN-CD",
            Profile::GenDvdJpeg => "STD-GEN-DVD-JPEG",
            Profile::GenBd => "STD-GEN-BD-JPEG",
            Profile::GenUsbJpeg => "STD-GEN-USB-JPEG",
        }
    }

    /// Default capacity in bytes: 80-minute CD-R (360,000 sectors), single-layer DVD,
    /// single-layer BD; USB has no volume limit of its own.
    pub fn capacity(self) -> u64 {
        match self {
            Profile::GenCd => 360_000 * SECTOR,
            Profile::GenDvdJpeg => 2_295_104 * SECTOR,
            Profile::GenBd => 12_219_392 * SECTOR,
            Profile::GenUsbJpeg => u64::MAX / 4,
        }
    }

    pub fn makes_iso(self) -> bool {
        self != Profile::GenUsbJpeg
    }

    /// Transfer syntaxes the profile allows on the medium (PS3.11 D and H).
    pub fn allows(self, ts: &str) -> bool {
        match self {
            Profile::GenCd => ts == EXPLICIT_VR_LE,
            _ => matches!(
                ts,
                EXPLICIT_VR_LE
                    | "1.2.840.10008.1.2.4.50"
                    | "1.2.840.10008.1.2.4.51"
                    | "1.2.840.10008.1.2.4.57"
                    | "1.2.840.10008.1.2.4.70"
            ),
        }
    }
}

/// Converts an instance to Explicit VR Little Endian. Provided by the binary (the transcoder
/// lives in its own crate), so media does not depend on pixel codecs.
pub trait Converter {
    fn can_convert(&self, from_ts: &str) -> bool;
    fn to_explicit_le(&self, input: &Path, output: &Path) -> Result<(), String>;
}

/// For callers without a transcoder: nothing can be converted.
pub struct NoConverter;

impl Converter for NoConverter {
    fn can_convert(&self, _: &str) -> bool {
        false
    }
    fn to_explicit_le(&self, _: &Path, _: &Path) -> Result<(), String> {
        Err("no transcoder available".into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a DICOM Part 10 file")]
    NotPart10 { path: PathBuf },
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{profile} needs Explicit VR Little Endian and these instances cannot be converted:\n{}", list.join("\n"))]
    NeedsTranscoder {
        profile: &'static str,
        list: Vec<String>,
    },
    #[error("converting {path}: {reason}")]
    Conversion { path: PathBuf, reason: String },
    #[error("{0}")]
    Plan(#[from] plan::PlanError),
    #[error("ISO 9660: {0}")]
    Iso(#[from] iso9660::IsoError),
    #[error("DICOMDIR: {0}")]
    Dicomdir(#[from] dicomdir::DicomdirError),
    #[error("volume {volume} would hold {size} bytes, over the capacity of {capacity}")]
    OverCapacity {
        volume: usize,
        size: u64,
        capacity: u64,
    },
    #[error("nothing to export")]
    Empty,
    /// The progress callback answered `Break`.
    #[error("cancelled")]
    Cancelled,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub out_dir: PathBuf,
    pub profile: Profile,
    /// Overrides the profile's capacity (bytes).
    pub capacity: Option<u64>,
    /// Also write each volume's tree as `OUT/VOLnnn/`.
    pub tree: bool,
    /// `{n}` = volume number, `{m}` = volume count; at most 16 characters once expanded.
    pub fileset_id_pattern: String,
    pub consistency_flag: u16,
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
    /// The clock of the whole export (recording dates, generated Study Date/Time).
    pub now: SystemTime,
}

#[derive(Debug, Clone)]
pub struct VolumeSummary {
    pub number: usize,
    pub count: usize,
    pub fileset_id: String,
    pub iso: Option<PathBuf>,
    pub tree: Option<PathBuf>,
    pub bytes: u64,
    pub instances: usize,
}

/// One source instance, read and checked.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub size: u64,
    pub meta: MetaInfo,
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
        let meta = parse_meta(&head).ok_or_else(|| ExportError::NotPart10 {
            path: path.to_path_buf(),
        })?;
        let explicit = meta.transfer_syntax_uid != IMPLICIT_VR_LE;
        if meta.transfer_syntax_uid == "1.2.840.10008.1.2.2"
            || meta.transfer_syntax_uid == "1.2.840.10008.1.2.1.99"
        {
            return Err(ExportError::Unreadable {
                path: path.to_path_buf(),
                reason: format!(
                    "transfer syntax {} is not supported",
                    meta.transfer_syntax_uid
                ),
            });
        }
        let keys = scan::scan(
            BufReader::with_capacity(64 * 1024, f),
            meta.dataset_offset,
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

    fn sop_class(&self) -> String {
        self.keys
            .string(tags::SOP_CLASS_UID)
            .unwrap_or_else(|| self.meta.sop_class_uid.clone())
    }

    fn sop_instance(&self) -> String {
        self.keys
            .string(tags::SOP_INSTANCE_UID)
            .unwrap_or_else(|| self.meta.sop_instance_uid.clone())
    }

    pub fn patient_id(&self) -> String {
        self.keys
            .string(tags::PATIENT_ID)
            .unwrap_or_else(|| generated_patient_id(&self.keys))
    }

    pub fn patient_name_raw(&self) -> Vec<u8> {
        self.keys
            .text(tags::PATIENT_NAME)
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
    let mut groups: BTreeMap<(Vec<u8>, String), PatientFiles> = BTreeMap::new();
    let mut skipped = Vec::new();
    for p in files {
        match SourceFile::read(&p) {
            Ok(s) if s.meta.sop_class_uid == DICOMDIR_CLASS => {
                skipped.push((p, "a DICOMDIR (we write our own)".into()))
            }
            Ok(s)
                if !records::table()
                    .record_type_of_class
                    .contains_key(&s.sop_class()) =>
            {
                let class = s.sop_class();
                skipped.push((p, format!("SOP class {class} has no directory record type")))
            }
            Ok(s) => {
                let key = (s.patient_name_raw(), s.patient_id());
                let charset = s
                    .keys
                    .string(tags::SPECIFIC_CHARACTER_SET)
                    .unwrap_or_default();
                groups
                    .entry(key.clone())
                    .or_insert_with(|| PatientFiles {
                        patient_name: dcmdisc_archive::index::decode_text(&key.0, &charset),
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

fn numeric(v: Option<String>) -> i64 {
    v.and_then(|s| s.trim().parse::<f64>().ok())
        .map_or(i64::MAX, |f| f as i64)
}

fn date_time(now: SystemTime) -> (String, String) {
    dcmdisc_archive::db::dicom_date_time(now)
}

/// The value generated for a missing Type 1 key (statement Table 19, then by VR).
fn generated(tag: u32, vr: [u8; 2], today: &(String, String), instance_no: usize) -> Vec<u8> {
    match tag {
        tags::STUDY_ID => b"UNKNOWN".to_vec(),
        tags::SERIES_NUMBER => b"1".to_vec(),
        tags::INSTANCE_NUMBER => instance_no.to_string().into_bytes(),
        tags::MODALITY => b"OT".to_vec(),
        _ => match &vr {
            b"DA" => today.0.clone().into_bytes(),
            b"TM" => today.1.clone().into_bytes(),
            b"IS" | b"US" | b"UL" => b"1".to_vec(),
            _ => b"UNKNOWN".to_vec(),
        },
    }
}

const VERIFICATION_DATE_TIME: u32 = 0x0040_A030;

/// Values of `tag` in the items (Explicit VR LE) of a sequence value, one level deep.
fn item_values(seq: &[u8], tag: u32) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some((item_tag, len)) = header(seq, pos) {
        pos += 8;
        if item_tag != 0xFFFE_E000 {
            break;
        }
        let end = if len == u32::MAX {
            seq.len()
        } else {
            (pos + len as usize).min(seq.len())
        };
        pos = scan_item(seq, pos, end, tag, &mut found);
    }
    found
}

fn header(b: &[u8], pos: usize) -> Option<(u32, u32)> {
    let h = b.get(pos..pos + 8)?;
    let tag = (u32::from(u16::from_le_bytes([h[0], h[1]])) << 16)
        | u32::from(u16::from_le_bytes([h[2], h[3]]));
    Some((tag, u32::from_le_bytes([h[4], h[5], h[6], h[7]])))
}

/// Walk one item's elements from `pos` to `end` (or its delimiter); returns where it ended.
fn scan_item(b: &[u8], mut pos: usize, end: usize, want: u32, found: &mut Vec<Vec<u8>>) -> usize {
    while pos + 8 <= end {
        let Some((tag, _)) = header(b, pos) else {
            break;
        };
        if tag == 0xFFFE_E00D {
            return pos + 8;
        }
        let vr = [b[pos + 4], b[pos + 5]];
        let long = scan::long_vr(vr);
        let (len, head) = if long {
            match b.get(pos + 8..pos + 12) {
                Some(l) => (u32::from_le_bytes([l[0], l[1], l[2], l[3]]), 12),
                None => break,
            }
        } else {
            (u32::from(u16::from_le_bytes([b[pos + 6], b[pos + 7]])), 8)
        };
        pos += head;
        if len == u32::MAX {
            // Nested undefined-length sequence: skip its items up to the delimiter.
            while let Some((t, l)) = header(b, pos) {
                pos += 8;
                if t == 0xFFFE_E0DD {
                    break;
                }
                pos = if l == u32::MAX {
                    scan_item(b, pos, b.len(), u32::MAX, &mut Vec::new())
                } else {
                    pos + l as usize
                };
            }
            continue;
        }
        let value_end = (pos + len as usize).min(b.len());
        if tag == want {
            let v = &b[pos..value_end];
            let trimmed = v
                .iter()
                .rposition(|&c| c != b' ' && c != 0)
                .map_or(&v[..0], |p| &v[..=p]);
            found.push(trimmed.to_vec());
        }
        pos = value_end;
    }
    pos.min(end)
}

/// ACR-NEMA era dates (`1994.11.05`) and times (`11:20:00`) are retired forms that DICOMDIR
/// readers and validators reject; the digits are the same value in the current form.
fn legacy_date_time(vr: [u8; 2], value: Vec<u8>) -> Vec<u8> {
    let (sep, shape): (u8, &[usize]) = match &vr {
        b"DA" => (b'.', &[4, 2, 2]),
        b"TM" => (b':', &[2, 2, 2]),
        _ => return value,
    };
    if !value.contains(&sep) {
        return value;
    }
    let (main, frac) = match value.iter().position(|&b| b == b'.' && vr == *b"TM") {
        Some(p) => (&value[..p], &value[p..]),
        None => (&value[..], &[][..]),
    };
    let parts: Vec<&[u8]> = main.split(|&b| b == sep).collect();
    let fits = parts.len() <= shape.len()
        && parts
            .iter()
            .zip(shape)
            .all(|(p, &n)| p.len() == n && p.iter().all(u8::is_ascii_digit));
    if !fits {
        return value;
    }
    let mut out: Vec<u8> = parts.concat();
    out.extend_from_slice(frac);
    out
}

fn needs_charset(els: &[El]) -> bool {
    els.iter()
        .filter(|e| !matches!(&e.vr, b"SQ" | b"UI" | b"US" | b"UL" | b"OB"))
        .any(|e| e.value.iter().any(|&b| b >= 0x80 || b == 0x1B))
}

/// The keys of one record of type `record_type`, taken from `src`.
fn record_keys(
    record_type: &str,
    src: &SourceFile,
    profile: &str,
    today: &(String, String),
    instance_no: usize,
    patient_id: &str,
) -> Vec<El> {
    let Some(specs) = records::table().keys.get(record_type) else {
        return Vec::new();
    };
    let mut els = Vec::new();
    for spec in specs.iter().filter(|s| s.applies_to(profile)) {
        if spec.tag == tags::SPECIFIC_CHARACTER_SET {
            continue;
        }
        let value: Option<Vec<u8>> = if spec.tag == tags::PATIENT_ID {
            Some(patient_id.as_bytes().to_vec())
        } else if spec.tag == VERIFICATION_DATE_TIME {
            // F.5.25: the most recent Verification DateTime among the Verifying Observers,
            // required when the document is VERIFIED.
            let verified = src.keys.text(0x0040_A493) == Some(&b"VERIFIED"[..]);
            src.keys
                .raw(0x0040_A073)
                .filter(|_| verified)
                .and_then(|seq| item_values(seq, VERIFICATION_DATE_TIME).into_iter().max())
        } else if spec.vr == *b"SQ" || matches!(&spec.vr, b"US" | b"UL") {
            src.keys
                .raw(spec.tag)
                .filter(|v| !v.is_empty())
                .map(<[u8]>::to_vec)
        } else {
            src.keys.text(spec.tag).map(<[u8]>::to_vec)
        };
        let value = match (value, spec.key_type) {
            (Some(v), _) => v,
            (None, KeyType::One) if spec.vr == *b"SQ" => continue,
            (None, KeyType::One) => generated(spec.tag, spec.vr, today, instance_no),
            (None, KeyType::Two) => Vec::new(),
            (None, KeyType::OneC) => continue,
        };
        // Binary VRs read from Implicit VR files keep their little-endian bytes.
        els.push(El::new(
            spec.tag,
            &spec.vr,
            legacy_date_time(spec.vr, value),
        ));
    }
    if needs_charset(&els) {
        if let Some(cs) = src.keys.text(tags::SPECIFIC_CHARACTER_SET) {
            els.push(El::new(tags::SPECIFIC_CHARACTER_SET, b"CS", cs.to_vec()));
        }
    }
    els.sort_by_key(|e| e.tag);
    els
}

/// A PATIENT, STUDY or SERIES record, its keys taken from the first instance under it.
fn group_record(
    record_type: &str,
    src: &SourceFile,
    profile: &str,
    today: &(String, String),
    patient_id: &str,
) -> Record {
    Record {
        record_type: record_type.into(),
        file: None,
        keys: record_keys(record_type, src, profile, today, 0, patient_id),
        children: Vec::new(),
    }
}

/// One instance placed in the hierarchy, with its leaf record (File ID filled per volume).
struct Placed {
    src: SourceFile,
    study: String,
    series: String,
    leaf: Record,
}

fn fileset_id(pattern: &str, n: usize, m: usize) -> String {
    pattern
        .replace("{n}", &n.to_string())
        .replace("{m}", &m.to_string())
}

/// Read and check the given Part 10 files (e.g. an archive collection).
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, ExportError> {
    paths.iter().map(|p| SourceFile::read(p)).collect()
}

/// Build the volumes for the files of one patient into `opts.out_dir`. `progress` gets
/// (stage, done, total); answering `Break` stops the export with [`ExportError::Cancelled`]
/// before the next step (volumes already written stay, whole).
pub fn export_patient(
    files: Vec<SourceFile>,
    opts: &ExportOptions,
    conv: &dyn Converter,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
) -> Result<Vec<VolumeSummary>, ExportError> {
    if files.is_empty() {
        return Err(ExportError::Empty);
    }
    fs::create_dir_all(&opts.out_dir).map_err(io_err(&opts.out_dir))?;
    let staging = opts.out_dir.join(".dcmdisc-staging");
    let result = export_inner(files, opts, conv, progress, &staging);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn export_inner(
    files: Vec<SourceFile>,
    opts: &ExportOptions,
    conv: &dyn Converter,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
    staging: &Path,
) -> Result<Vec<VolumeSummary>, ExportError> {
    let profile = opts.profile;
    let today = date_time(opts.now);
    let mut sources = Vec::with_capacity(files.len());
    let mut unconvertible = Vec::new();
    let mut seen = HashSet::new();
    for s in files {
        if !seen.insert(s.sop_instance()) {
            continue;
        }
        let ts = &s.meta.transfer_syntax_uid;
        if !profile.allows(ts) && !conv.can_convert(ts) {
            unconvertible.push(format!(
                "  {} ({}, transfer syntax {ts})",
                s.sop_instance(),
                s.path.display()
            ));
        }
        sources.push(s);
    }
    if !unconvertible.is_empty() {
        return Err(ExportError::NeedsTranscoder {
            profile: profile.name(),
            list: unconvertible,
        });
    }
    // Convert what the profile does not allow, one instance at a time, into staging.
    let needing: Vec<usize> = (0..sources.len())
        .filter(|&i| !profile.allows(&sources[i].meta.transfer_syntax_uid))
        .collect();
    if !needing.is_empty() {
        fs::create_dir_all(staging).map_err(io_err(staging))?;
    }
    for (k, &i) in needing.iter().enumerate() {
        if progress("converting", k as u64, needing.len() as u64).is_break() {
            return Err(ExportError::Cancelled);
        }
        let out = staging.join(format!("{k:08}.dcm"));
        conv.to_explicit_le(&sources[i].path, &out)
            .map_err(|reason| ExportError::Conversion {
                path: sources[i].path.clone(),
                reason,
            })?;
        sources[i] = SourceFile::read(&out)?;
    }

    // DICOMDIR order: studies by date/time/UID, series by number/UID, instances by number/UID.
    let mut placed: Vec<Placed> = Vec::with_capacity(sources.len());
    let patient_id = sources[0].patient_id();
    for s in sources {
        let class = s.sop_class();
        let Some(rt) = records::table().record_type_of_class.get(&class) else {
            return Err(ExportError::Unreadable {
                path: s.path.clone(),
                reason: format!("SOP class {class} has no directory record type"),
            });
        };
        let study = s.keys.string(tags::STUDY_INSTANCE_UID).unwrap_or_default();
        let series = s.keys.string(tags::SERIES_INSTANCE_UID).unwrap_or_default();
        let leaf = Record {
            record_type: rt.clone(),
            file: Some(FileRef {
                // Placeholder of the final length: File IDs are fixed-width.
                file_id: vec![
                    "DICOM".into(),
                    "P0000001".into(),
                    "S0000001".into(),
                    "R0000001".into(),
                    "I0000001".into(),
                ],
                sop_class_uid: class,
                sop_instance_uid: s.sop_instance(),
                transfer_syntax_uid: s.meta.transfer_syntax_uid.clone(),
            }),
            keys: Vec::new(),
            children: Vec::new(),
        };
        placed.push(Placed {
            src: s,
            study,
            series,
            leaf,
        });
    }
    let study_rank: BTreeMap<String, (String, String)> = placed
        .iter()
        .map(|p| {
            let k = &p.src.keys;
            (
                p.study.clone(),
                (
                    k.string(tags::STUDY_DATE).unwrap_or_default(),
                    k.string(tags::STUDY_TIME).unwrap_or_default(),
                ),
            )
        })
        .collect();
    placed.sort_by(|a, b| {
        let sa = (&study_rank[&a.study], &a.study);
        let sb = (&study_rank[&b.study], &b.study);
        sa.cmp(&sb)
            .then_with(|| {
                numeric(a.src.keys.string(tags::SERIES_NUMBER))
                    .cmp(&numeric(b.src.keys.string(tags::SERIES_NUMBER)))
            })
            .then_with(|| a.series.cmp(&b.series))
            .then_with(|| {
                numeric(a.src.keys.string(tags::INSTANCE_NUMBER))
                    .cmp(&numeric(b.src.keys.string(tags::INSTANCE_NUMBER)))
            })
            .then_with(|| {
                a.leaf
                    .file
                    .as_ref()
                    .map(|f| &f.sop_instance_uid)
                    .cmp(&b.leaf.file.as_ref().map(|f| &f.sop_instance_uid))
            })
    });
    let key_profile = profile.name();
    let mut instance_in_series = 0usize;
    for i in 0..placed.len() {
        if i == 0 || placed[i - 1].series != placed[i].series {
            instance_in_series = 0;
        }
        instance_in_series += 1;
        let p = &mut placed[i];
        p.leaf.keys = record_keys(
            &p.leaf.record_type.clone(),
            &p.src,
            key_profile,
            &today,
            instance_in_series,
            &patient_id,
        );
    }

    // Plan volumes. Costs are conservative: data in whole sectors, one directory record and
    // the DICOMDIR leaf record per instance; a study or series costs its record plus folders.
    let items: Vec<PlanItem> = placed
        .iter()
        .map(|p| {
            let leaf_len = dicomdir::encoded_record_len(&p.leaf)? as u64;
            Ok(PlanItem {
                study: p.study.clone(),
                series: p.series.clone(),
                cost: plan::item_cost(p.src.size, leaf_len + 8),
            })
        })
        .collect::<Result<_, ExportError>>()?;
    let capacity = opts.capacity.unwrap_or_else(|| profile.capacity());
    let per_volume = 64 * SECTOR;
    let per_group = 4 * SECTOR;
    let volumes = plan::plan(&items, capacity, per_volume, per_group)?;
    let count = volumes.len();
    let mut summaries = Vec::with_capacity(count);
    for (v, members) in volumes.iter().enumerate() {
        let number = v + 1;
        let summary = write_volume(
            &placed,
            members,
            number,
            count,
            opts,
            &today,
            &patient_id,
            progress,
        )?;
        if summary.bytes > capacity {
            return Err(ExportError::OverCapacity {
                volume: number,
                size: summary.bytes,
                capacity,
            });
        }
        summaries.push(summary);
    }
    let _ = progress("done", count as u64, count as u64);
    Ok(summaries)
}

#[allow(clippy::too_many_arguments)]
fn write_volume(
    placed: &[Placed],
    members: &[usize],
    number: usize,
    count: usize,
    opts: &ExportOptions,
    today: &(String, String),
    patient_id: &str,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
) -> Result<VolumeSummary, ExportError> {
    if progress("dicomdir", (number - 1) as u64, count as u64).is_break() {
        return Err(ExportError::Cancelled);
    }
    let profile = opts.profile.name();
    let fsid = fileset_id(&opts.fileset_id_pattern, number, count);
    // Group members into the hierarchy, keeping their (sorted) order.
    let first = &placed[members[0]];
    let mut patient = group_record("PATIENT", &first.src, profile, today, patient_id);
    let mut order: Vec<(PathBuf, String, u64)> = Vec::with_capacity(members.len());
    let (mut s_no, mut r_no, mut i_no) = (0usize, 0usize, 0usize);
    for (k, &m) in members.iter().enumerate() {
        let p = &placed[m];
        let new_study = k == 0 || placed[members[k - 1]].study != p.study;
        let new_series = new_study || placed[members[k - 1]].series != p.series;
        if new_study {
            s_no += 1;
            r_no = 0;
            patient
                .children
                .push(group_record("STUDY", &p.src, profile, today, patient_id));
        }
        let study = patient.children.last_mut().expect("pushed above");
        if new_series {
            r_no += 1;
            i_no = 0;
            study
                .children
                .push(group_record("SERIES", &p.src, profile, today, patient_id));
        }
        i_no += 1;
        let mut leaf = p.leaf.clone();
        let file_id = vec![
            "DICOM".to_string(),
            "P0000001".to_string(),
            format!("S{s_no:07}"),
            format!("R{r_no:07}"),
            format!("I{i_no:07}"),
        ];
        order.push((p.src.path.clone(), file_id.join("/"), p.src.size));
        if let Some(f) = leaf.file.as_mut() {
            f.file_id = file_id;
        }
        study
            .children
            .last_mut()
            .expect("pushed above")
            .children
            .push(leaf);
    }
    let uid = format!("2.25.{}", uuid_int());
    let dicomdir = dicomdir::encode(
        &DicomdirMeta {
            fileset_id: &fsid,
            fileset_uid: &uid,
            implementation_class_uid: &opts.implementation_class_uid,
            implementation_version_name: &opts.implementation_version_name,
            source_ae_title: "",
            consistency_flag: opts.consistency_flag,
        },
        &[patient],
    )?;
    let readme = format!(
        "DICOM File-set {fsid}\r\nVolume {number} of {count}\r\nPatient ID: {patient_id}\r\nInstances: {}\r\nProfile: {profile}\r\nOpen DICOMDIR with any DICOM viewer.\r\nWritten by dcmdisc {}.\r\n",
        members.len(),
        env!("CARGO_PKG_VERSION")
    );
    if progress("writing", (number - 1) as u64, count as u64).is_break() {
        return Err(ExportError::Cancelled);
    }
    let vol_name = format!("VOL{number:03}");
    let mut summary = VolumeSummary {
        number,
        count,
        fileset_id: fsid.clone(),
        iso: None,
        tree: None,
        bytes: 0,
        instances: members.len(),
    };
    if opts.tree || !opts.profile.makes_iso() {
        let root = opts.out_dir.join(&vol_name);
        if root.exists() {
            fs::remove_dir_all(&root).map_err(io_err(&root))?;
        }
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        let write = |rel: &str, data: &[u8]| {
            let p = root.join(rel);
            fs::write(&p, data).map_err(io_err(&p))
        };
        write("DICOMDIR", &dicomdir)?;
        write("README.TXT", readme.as_bytes())?;
        let mut bytes = (dicomdir.len() + readme.len()) as u64;
        for (src, rel, size) in &order {
            let dst = root.join(rel);
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            fs::copy(src, &dst).map_err(io_err(&dst))?;
            bytes += size;
        }
        summary.tree = Some(root);
        summary.bytes = bytes;
    }
    if opts.profile.makes_iso() {
        let volume_id = iso9660::volume_id_from_fileset_id(&fsid)?;
        let ts = IsoDateTime::from_system_time(opts.now)?;
        let mut iso = IsoBuilder::new(&volume_id, ts)?;
        iso.add_file("DICOMDIR", FileSource::bytes(dicomdir))?;
        iso.add_file("README.TXT", FileSource::bytes(readme.into_bytes()))?;
        for (src, rel, size) in &order {
            iso.add_file(rel, FileSource::path_with_size(src.clone(), *size))?;
        }
        let path = opts.out_dir.join(format!("{vol_name}.iso"));
        iso.write_to_path(&path)?;
        summary.bytes = fs::metadata(&path).map_err(io_err(&path))?.len();
        summary.iso = Some(path);
    }
    Ok(summary)
}

fn uuid_int() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_profiles() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        let (d, tm) = date_time(t);
        assert_eq!(d.len(), 8);
        assert_eq!(tm.len(), 6);
        assert!(Profile::GenCd.allows(EXPLICIT_VR_LE));
        assert!(!Profile::GenCd.allows(IMPLICIT_VR_LE));
        assert!(Profile::GenDvdJpeg.allows("1.2.840.10008.1.2.4.50"));
        assert_eq!(Profile::parse("std-gen-cd"), Some(Profile::GenCd));
        assert_eq!(fileset_id("DCMDISC_{n}OF{m}", 2, 3), "DCMDISC_2OF3");
        assert_eq!(
            legacy_date_time(*b"DA", b"1994.11.05".to_vec()),
            b"19941105"
        );
        assert_eq!(legacy_date_time(*b"TM", b"11:20:00".to_vec()), b"112000");
        assert_eq!(legacy_date_time(*b"TM", b"112000.5".to_vec()), b"112000.5");
        assert_eq!(legacy_date_time(*b"DA", b"20260101".to_vec()), b"20260101");
        // one defined-length item holding a DT and a nested undefined-length sequence
        let mut item = Vec::new();
        item.extend_from_slice(&[0x40, 0x00, 0x30, 0xA0, b'D', b'T', 14, 0]);
        item.extend_from_slice(b"20260101120000");
        item.extend_from_slice(&[
            0x40, 0x00, 0x88, 0xA0, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        item.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
        seq.extend_from_slice(&(item.len() as u32).to_le_bytes());
        seq.extend_from_slice(&item);
        assert_eq!(
            item_values(&seq, VERIFICATION_DATE_TIME),
            vec![b"20260101120000".to_vec()]
        );
    }
}

//! Validation of a written volume before it may be burned (issue 10, item 2): the image is
//! read back by our own reader (`dcmdisc_iso9660::read`, which shares no code with the
//! writer) and the DICOMDIR in it by [`crate::dicomdir_read`], and what they find is held
//! against what the export planned.
//!
//! Checked: the ISO 9660 directory is readable; a DICOMDIR is at the root and parses, its
//! offsets pointing at records; every record's Referenced File ID names a file of the image
//! whose File Meta (read from the image) has the SOP Class, SOP Instance and Transfer Syntax
//! UIDs the record says; every file under `DICOM/` is referenced once; the instance records
//! are the planned instances, as many as planned; exactly one PATIENT record, with the planned
//! Patient ID; the record rules of `validate/rules.rs` (record types, levels, Type 1 keys);
//! the volume's other planned files are there, and when it holds a MANIFEST.TXT, every file
//! is listed in it with its SHA-256. The image's SHA-256, and each file's when there is a
//! manifest, are computed in the same single pass over its bytes.
//!
//! [`validate_planned`] makes the same checks on the files that are about to go into a
//! volume (the DICOMDIR in memory, the instances where they are), before imaging, so its
//! report can go on the volume; it returns each file's SHA-256 for the MANIFEST.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Seek};
use std::path::Path;

use dcmdisc_dicom::meta::{parse_meta, MetaError};
use dcmdisc_dicom::tag;
use dcmdisc_dicom::InstanceId;
use dcmdisc_iso9660::read::IsoImage;

use crate::dicomdir_read::{read_dicomdir, Dicomdir, DirectoryRecord};
use crate::pdi::MANIFEST;
use crate::records;

mod files;
mod rules;

use files::{check_manifest, file_hashes, hash_file, image_hash, Chunk};
pub use files::{validate_planned, Planned};
use rules::check_records;

/// What the export planned for one volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedVolume {
    /// Instance records the DICOMDIR must hold.
    pub instances: usize,
    /// Their SOP Instance UIDs.
    pub sop_instance_uids: Vec<String>,
    /// The one patient of the volume.
    pub patient_id: String,
    /// The profile whose additional Type 1 keys apply (`""`: only the keys every profile
    /// requires).
    pub profile: String,
    /// The files besides the DICOMDIR and the instances the volume must hold, by path.
    pub files: Vec<String>,
    /// The image has a Joliet tree (`[media] joliet`), which must name exactly the files and
    /// directories of the primary tree at the same extents. Trees have none.
    pub joliet: bool,
}

/// What validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// Bytes read: the image, or the tree's files.
    pub bytes: u64,
    /// SHA-256 of the image, lower-case hex (ISO images only).
    pub sha256: Option<String>,
    /// Files found on the volume.
    pub files: usize,
    /// Directory records in the DICOMDIR's hierarchy.
    pub records: usize,
    /// Records that reference a file.
    pub instance_records: usize,
    pub patient_records: usize,
    /// In-use records by record type.
    pub record_types: BTreeMap<String, usize>,
    /// Type 1 keys found present and not empty.
    pub type1_keys: usize,
    /// Each problem in plain words, naming the file or the record.
    pub problems: Vec<String>,
}

impl ValidationReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why validation could not start (the image or tree is not there at all); anything wrong
/// inside it is a problem of the report.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {path}: {source}")]
pub struct OpenError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Enough for any File Meta we write (about 250 bytes); a longer one is read again whole.
const META_PREFIX: usize = 4096;
const MAX_META: usize = 1 << 20;

/// The identity in each file's File Meta, or why there is none, by path on the volume.
type Found = BTreeMap<String, Result<InstanceId, String>>;

/// Validates the ISO 9660 image at `path`.
pub fn validate_volume(
    path: &Path,
    expected: &ExpectedVolume,
) -> Result<ValidationReport, OpenError> {
    let file = fs::File::open(path).map_err(|source| OpenError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(validate_image(file, expected))
}

/// Validates an image from any reader.
pub fn validate_image<R: Read + Seek>(r: R, expected: &ExpectedVolume) -> ValidationReport {
    let mut report = ValidationReport::default();
    let mut iso = match IsoImage::open(r) {
        Ok(iso) => iso,
        Err(e) => {
            report
                .problems
                .push(format!("the ISO 9660 directory cannot be read: {e}"));
            return report;
        }
    };
    report.files = iso.files().len();
    match (iso.joliet().is_some(), expected.joliet) {
        (true, _) => report.problems.extend(
            iso.joliet_differences()
                .into_iter()
                .map(|d| format!("Joliet tree: {d}")),
        ),
        (false, true) => report
            .problems
            .push("the image has no Joliet tree, one was asked for".into()),
        (false, false) => {}
    }
    if iso.joliet().is_some() && !expected.joliet {
        report
            .problems
            .push("the image has a Joliet tree, none was asked for".into());
    }
    let dicomdir = match iso.file("DICOMDIR") {
        None => None,
        Some(_) => match iso.read_file("DICOMDIR") {
            Ok(b) => Some(b),
            Err(e) => {
                report
                    .problems
                    .push(format!("DICOMDIR cannot be read: {e}"));
                None
            }
        },
    };
    let manifest = read_small(&mut iso, MANIFEST, &mut report);
    // One pass over the image: the hash, the first bytes of every file on the way, and, to
    // hold them against the manifest, each file's hash; the two hashes on threads of their
    // own, this one only reads.
    let whole = image_hash();
    let per_file = manifest.as_ref().map(|_| file_hashes(iso.files()));
    let mut found = Found::new();
    let mut again = Vec::new();
    let pass = iso.read_through(
        META_PREFIX,
        &mut |chunk| {
            let chunk: Chunk = chunk.into();
            whole.feed(&chunk);
            if let Some(h) = &per_file {
                h.feed(&chunk);
            }
        },
        &mut |f, head| match meta_of(head, u64::from(f.size)) {
            Some(meta) => {
                found.insert(f.path.clone(), meta);
            }
            None => again.push(f.path.clone()),
        },
    );
    match pass {
        Ok(n) => {
            report.bytes = n;
            match whole.finish() {
                Some(h) => report.sha256 = Some(h),
                None => report
                    .problems
                    .push("the image's SHA-256 could not be computed".into()),
            }
        }
        Err(e) => report
            .problems
            .push(format!("reading the image failed: {e}")),
    }
    for path in again {
        let meta = match iso.read_file_prefix(&path, MAX_META) {
            Ok(head) => meta_of(&head, head.len() as u64)
                .unwrap_or_else(|| Err("File Meta Information longer than 1 MiB".into())),
            Err(e) => Err(e.to_string()),
        };
        found.insert(path, meta);
    }
    check(dicomdir.as_deref(), &found, expected, &mut report);
    if let (Some(m), Some(h)) = (manifest, per_file) {
        match h.finish() {
            Some(hashes) => check_manifest(&m, &hashes, &mut report.problems),
            None => report.problems.push(format!(
                "the files' hashes for {MANIFEST} could not be computed"
            )),
        }
    }
    report
}

/// A small file of the image read whole, `None` when absent or unreadable (said).
fn read_small<R: Read + Seek>(
    iso: &mut IsoImage<R>,
    path: &str,
    report: &mut ValidationReport,
) -> Option<Vec<u8>> {
    iso.file(path)?;
    match iso.read_file(path) {
        Ok(b) => Some(b),
        Err(e) => {
            report.problems.push(format!("{path} cannot be read: {e}"));
            None
        }
    }
}

/// Validates a volume written as a file tree (USB profile, `--tree`): the same checks on
/// the tree's DICOMDIR and files; no hash of the whole, but each file's against the tree's
/// MANIFEST.TXT when it has one (every file read once more for it).
pub fn validate_tree(
    root: &Path,
    expected: &ExpectedVolume,
) -> Result<ValidationReport, OpenError> {
    let open_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| OpenError { path, source }
    };
    fs::metadata(root).map_err(open_err(root))?;
    let mut report = ValidationReport::default();
    let mut found = Found::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    let mut bytes = 0u64;
    while let Some((dir, rel)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                report
                    .problems
                    .push(format!("{}: cannot list: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    report
                        .problems
                        .push(format!("{}: cannot list: {e}", dir.display()));
                    continue;
                }
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let p = entry.path();
            if p.is_dir() {
                stack.push((p, rel));
                continue;
            }
            let meta = match read_meta(&p) {
                Ok((meta, size)) => {
                    bytes += size;
                    meta
                }
                Err(e) => Err(e.to_string()),
            };
            found.insert(rel, meta);
        }
    }
    report.files = found.len();
    report.bytes = bytes;
    let dicomdir = if found.contains_key("DICOMDIR") {
        match fs::read(root.join("DICOMDIR")) {
            Ok(b) => Some(b),
            Err(e) => {
                report
                    .problems
                    .push(format!("DICOMDIR cannot be read: {e}"));
                None
            }
        }
    } else {
        None
    };
    check(dicomdir.as_deref(), &found, expected, &mut report);
    if let Ok(m) = fs::read(root.join(MANIFEST)) {
        let mut hashes = BTreeMap::new();
        for rel in found.keys() {
            match hash_file(&root.join(rel)) {
                Ok(h) => {
                    hashes.insert(rel.clone(), h);
                }
                Err(e) => report.problems.push(format!("{rel}: cannot be read: {e}")),
            }
        }
        check_manifest(&m, &hashes, &mut report.problems);
    }
    Ok(report)
}

/// The identity in the File Meta of the file at `p`, and its size.
fn read_meta(p: &Path) -> std::io::Result<(Result<InstanceId, String>, u64)> {
    let mut f = fs::File::open(p)?;
    let size = f.metadata()?.len();
    let mut head = Vec::with_capacity(META_PREFIX);
    for limit in [META_PREFIX, MAX_META] {
        let have = head.len() as u64;
        f.by_ref()
            .take(limit as u64 - have)
            .read_to_end(&mut head)?;
        if let Some(meta) = meta_of(&head, size) {
            return Ok((meta, size));
        }
    }
    Ok((
        Err("File Meta Information longer than 1 MiB".to_string()),
        size,
    ))
}

/// The identity in a File Meta read from the first bytes of a file of `size` bytes; `None`
/// when those bytes end inside the File Meta of a longer file (read more and ask again).
fn meta_of(head: &[u8], size: u64) -> Option<Result<InstanceId, String>> {
    let whole = head.len() as u64 >= size;
    match parse_meta(head) {
        // parse_meta stops at the end of what it is given: unless the next element's header
        // is in `head`, the group may go on.
        Ok(m) if !whole && m.dataset_offset as usize + 8 > head.len() => None,
        Ok(m) => Some(Ok(m.identity())),
        Err(MetaError::Truncated(_)) if !whole => None,
        Err(e) => Some(Err(e.to_string())),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A PS3.10 File ID component: 1 to 8 of A-Z, 0-9 and `_` (PS3.12 for the general-purpose
/// profiles). Also what makes joining components into a path safe.
fn valid_component(c: &str) -> bool {
    (1..=8).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// At most this many planned or unexpected UIDs are named; the rest are counted.
const LISTED: usize = 10;

fn check(
    dicomdir: Option<&[u8]>,
    found: &Found,
    expected: &ExpectedVolume,
    report: &mut ValidationReport,
) {
    let p = &mut report.problems;
    let Some(bytes) = dicomdir else {
        p.push("no DICOMDIR in the root directory of the volume".to_string());
        return;
    };
    let dir: Dicomdir = match read_dicomdir(bytes) {
        Ok(d) => d,
        Err(e) => {
            p.push(format!("DICOMDIR: {e}"));
            return;
        }
    };
    match records::table() {
        Ok(t) => {
            let (types, keys) = check_records(&dir, t, &expected.profile, p);
            report.record_types = types;
            report.type1_keys = keys;
        }
        Err(e) => p.push(e.to_string()),
    }
    for f in &expected.files {
        if !found.contains_key(f) {
            p.push(format!("{f} is not on the volume"));
        }
    }
    for &i in &dir.unreached {
        let r = &dir.records[i];
        if r.in_use != 0 {
            p.push(format!(
                "DICOMDIR: the {} is not reached from the root records",
                r.describe()
            ));
        }
    }
    let mut referenced: BTreeMap<String, &DirectoryRecord> = BTreeMap::new();
    let mut uids: BTreeSet<&str> = BTreeSet::new();
    for (r, _level) in dir.walk().filter(|(r, _)| r.in_use != 0) {
        report.records += 1;
        if r.record_type == "PATIENT" {
            report.patient_records += 1;
            let id = r.text(tag::PATIENT_ID).unwrap_or_default();
            if id != expected.patient_id {
                p.push(format!(
                    "the {} has Patient ID {id:?}, the export planned {:?}",
                    r.describe(),
                    expected.patient_id
                ));
            }
        }
        let Some(components) = &r.file_id else {
            continue;
        };
        report.instance_records += 1;
        let path = components.join("/");
        if components.len() > 8 || !components.iter().all(|c| valid_component(c)) {
            p.push(format!(
                "the {} has Referenced File ID {:?}, not 1 to 8 components of 1 to 8 \
                 characters A-Z, 0-9, _",
                r.describe(),
                components.join("\\")
            ));
            continue;
        }
        if let Some(first) = referenced.insert(path.clone(), r) {
            p.push(format!(
                "{path} is referenced by the {} and again by the {}",
                first.describe(),
                r.describe()
            ));
        }
        if let Some(u) = &r.sop_instance_uid {
            if !uids.insert(u) {
                p.push(format!(
                    "SOP Instance UID {u} is in more than one record (again in the {})",
                    r.describe()
                ));
            }
        }
        let Some(file) = found.get(&path) else {
            p.push(format!(
                "the {} references {path}, which is not on the volume",
                r.describe()
            ));
            continue;
        };
        let id = match file {
            Ok(id) => id,
            Err(e) => {
                p.push(format!(
                    "{path} (referenced by the {}): its File Meta Information cannot be read: {e}",
                    r.describe()
                ));
                continue;
            }
        };
        for (what, tag, in_record, in_file) in [
            (
                "SOP Class UID",
                "(0004,1510)",
                &r.sop_class_uid,
                &id.sop_class_uid,
            ),
            (
                "SOP Instance UID",
                "(0004,1511)",
                &r.sop_instance_uid,
                &id.sop_instance_uid,
            ),
            (
                "Transfer Syntax UID",
                "(0004,1512)",
                &r.transfer_syntax_uid,
                &id.transfer_syntax_uid,
            ),
        ] {
            match in_record {
                None => p.push(format!(
                    "the {} references {path} without a Referenced {what} in File {tag}",
                    r.describe()
                )),
                Some(v) if v != in_file => p.push(format!(
                    "{path}: its File Meta says {what} {in_file}, the {} says {v}",
                    r.describe()
                )),
                Some(_) => {}
            }
        }
    }
    for path in found.keys().filter(|k| k.starts_with("DICOM/")) {
        if !referenced.contains_key(path) {
            p.push(format!(
                "{path} is on the volume but no directory record references it"
            ));
        }
    }
    if report.instance_records != expected.instances {
        p.push(format!(
            "the DICOMDIR has {} instance records, the export planned {}",
            report.instance_records, expected.instances
        ));
    }
    let planned: BTreeSet<&str> = expected
        .sop_instance_uids
        .iter()
        .map(String::as_str)
        .collect();
    name_some(
        p,
        planned.difference(&uids),
        "planned instance {} is not in the DICOMDIR",
    );
    name_some(
        p,
        uids.difference(&planned),
        "the DICOMDIR holds instance {}, which the export did not plan for this volume",
    );
    if report.patient_records != 1 {
        p.push(format!(
            "the DICOMDIR has {} PATIENT records; a volume holds exactly one patient",
            report.patient_records
        ));
    }
}

fn name_some<'a>(p: &mut Vec<String>, uids: impl Iterator<Item = &'a &'a str>, what: &str) {
    let all: Vec<&&str> = uids.collect();
    for u in all.iter().take(LISTED) {
        p.push(what.replace("{}", u));
    }
    if all.len() > LISTED {
        p.push(format!(
            "... and {} more like the last: {}",
            all.len() - LISTED,
            what.replace("{}", "…")
        ));
    }
}

#[cfg(test)]
mod tests;

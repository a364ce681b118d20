//! One volume: its directory records in hierarchy order, File IDs, DICOMDIR, README and the
//! ISO 9660 image and/or file tree.

use std::fs;
use std::ops::ControlFlow;
use std::path::PathBuf;

use dcmdisc_iso9660::{volume_id_from_fileset_id, FileSource, IsoBuilder, IsoDateTime};

use crate::dicomdir::{self, DicomdirMeta, Record};
use crate::export::{io_err, ExportError, ExportOptions, VolumeSummary};
use crate::plan::open_group;
use crate::record_keys::group_record;
use crate::records::RecordTable;
use crate::source::SourceFile;
use crate::validate::{validate_tree, validate_volume, ExpectedVolume, ValidationReport};

/// One instance placed in the hierarchy, with its leaf record (File ID filled per volume).
pub(crate) struct Placed {
    pub src: SourceFile,
    pub study: String,
    pub series: String,
    pub leaf: Record,
}

/// The File-set ID of volume `n` of `m` under `pattern` (`{n}`, `{m}`), as written into its
/// DICOMDIR; public so that what reports a volume names it the same way.
pub fn fileset_id(pattern: &str, n: usize, m: usize) -> String {
    pattern
        .replace("{n}", &n.to_string())
        .replace("{m}", &m.to_string())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn write_volume(
    table: &RecordTable,
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
    let mut patient = group_record(table, "PATIENT", &first.src, profile, today, patient_id);
    let mut order: Vec<(PathBuf, String, u64)> = Vec::with_capacity(members.len());
    let (mut s_no, mut r_no, mut i_no) = (0usize, 0usize, 0usize);
    for (k, &m) in members.iter().enumerate() {
        let p = &placed[m];
        let new_study = k == 0 || placed[members[k - 1]].study != p.study;
        let new_series = new_study || placed[members[k - 1]].series != p.series;
        if new_study {
            s_no += 1;
            r_no = 0;
        }
        let study = open_group(&mut patient.children, new_study, || {
            group_record(table, "STUDY", &p.src, profile, today, patient_id)
        });
        if new_series {
            r_no += 1;
            i_no = 0;
        }
        let series = open_group(&mut study.children, new_series, || {
            group_record(table, "SERIES", &p.src, profile, today, patient_id)
        });
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
        series.children.push(leaf);
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
        "DICOM File-set {fsid}\r\n\
         Volume {number} of {count}\r\n\
         Patient ID: {patient_id}\r\n\
         Instances: {}\r\n\
         Profile: {profile}\r\n\
         Open DICOMDIR with any DICOM viewer.\r\n\
         Written by dcmdisc {}.\r\n",
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
        sha256: None,
        warnings: Vec::new(),
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
        let volume_id = volume_id_from_fileset_id(&fsid)?;
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
    let expected = ExpectedVolume {
        instances: members.len(),
        sop_instance_uids: members
            .iter()
            .filter_map(|&m| placed[m].leaf.file.as_ref())
            .map(|f| f.sop_instance_uid.clone())
            .collect(),
        patient_id: patient_id.to_string(),
    };
    summary.sha256 = validate(&summary, &expected, progress)?;
    Ok(summary)
}

/// Reads the written volume back (`validate.rs`): a volume that fails, or whose validation
/// is cancelled, is removed, so that only validated volumes are ever left. Returns the
/// image's SHA-256.
fn validate(
    summary: &VolumeSummary,
    expected: &ExpectedVolume,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
) -> Result<Option<String>, ExportError> {
    let remove = || {
        if let Some(p) = &summary.iso {
            let _ = fs::remove_file(p);
        }
        if let Some(p) = &summary.tree {
            let _ = fs::remove_dir_all(p);
        }
    };
    let (number, count) = (summary.number, summary.count);
    if progress("validating", (number - 1) as u64, count as u64).is_break() {
        remove();
        return Err(ExportError::Cancelled);
    }
    let check = |path: &PathBuf, report: Result<ValidationReport, _>| match report {
        Ok(r) if r.is_valid() => Ok(r),
        Ok(r) => Err(ExportError::Invalid {
            volume: number,
            path: path.clone(),
            problems: r.problems,
        }),
        Err(source) => Err(ExportError::Validation {
            volume: number,
            source,
        }),
    };
    let mut sha256 = None;
    let mut run = || -> Result<(), ExportError> {
        if let Some(root) = &summary.tree {
            check(root, validate_tree(root, expected))?;
        }
        if let Some(path) = &summary.iso {
            sha256 = check(path, validate_volume(path, expected))?.sha256;
        }
        Ok(())
    };
    if let Err(e) = run() {
        remove();
        return Err(e);
    }
    Ok(sha256)
}

fn uuid_int() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fileset_ids() {
        assert_eq!(super::fileset_id("DCMDISC_{n}OF{m}", 2, 3), "DCMDISC_2OF3");
    }
}

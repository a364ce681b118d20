//! One volume: its directory records in hierarchy order, File IDs, DICOMDIR, its own files
//! (`pdi`: README, INDEX, AUTORUN, the validation report, the MANIFEST) and the ISO 9660
//! image and/or file tree.

use std::fs;
use std::ops::ControlFlow;
use std::path::PathBuf;

use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime};

use sha2::{Digest, Sha256};

use crate::dicomdir::{self, DicomdirMeta, Record};
use crate::export::{io_err, ExportError, ExportOptions, VolumeSummary};
use crate::pdi::budget::{self, Reserve};
use crate::pdi::web::{self, WebFile, WebPlan};
use crate::pdi::{self, manifest, Disc, ExtraFile};
use crate::plan::open_group;
use crate::profile::SECTOR;
use crate::record_keys::group_record;
use crate::records::RecordTable;
use crate::source::SourceFile;
use crate::validate::{
    validate_planned, validate_tree, validate_volume, ExpectedVolume, Planned, ValidationReport,
};

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

/// What a volume's writer needs besides its members: the export's settings, its clock as
/// DICOM DA/TM, the patient and the reserve the planner kept for the volume's own files.
pub(crate) struct VolumeContext<'a> {
    pub table: &'a RecordTable,
    pub opts: &'a ExportOptions,
    pub today: &'a (String, String),
    pub patient_id: &'a str,
    pub reserve: &'a Reserve,
    /// The web content's prepared instances, when `[media] web_content` is on.
    pub web: Option<&'a WebPlan<'a>>,
}

pub(crate) fn write_volume(
    cx: &VolumeContext<'_>,
    placed: &[Placed],
    members: &[usize],
    number: usize,
    count: usize,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
) -> Result<VolumeSummary, ExportError> {
    let (table, opts, today, patient_id) = (cx.table, cx.opts, cx.today, cx.patient_id);
    if progress("dicomdir", (number - 1) as u64, count as u64).is_break() {
        return Err(ExportError::Cancelled);
    }
    let profile = opts.profile.name();
    let fsid = fileset_id(&opts.fileset_id_pattern, number, count);
    let mut disc = Disc {
        number,
        count,
        fileset_id: fsid.clone(),
        profile,
        created: today.clone(),
        application: format!("dcmdisc {}", env!("CARGO_PKG_VERSION")),
        options: opts.pdi.clone(),
        patients: Vec::new(),
    };
    // Group members into the hierarchy, keeping their (sorted) order.
    let first = &placed[members[0]];
    let mut patient = group_record(table, "PATIENT", &first.src, profile, today, patient_id);
    let mut order: Vec<(PathBuf, String, u64)> = Vec::with_capacity(members.len());
    let (mut s_no, mut r_no, mut i_no) = (0usize, 0usize, 0usize);
    // The members by study and series, as the web content lays them out.
    let mut groups: Vec<Vec<Vec<usize>>> = Vec::new();
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
        disc.add(&p.src, new_study, new_series, &file_id[..4].join("/"));
        open_group(
            open_group(&mut groups, new_study, Vec::new),
            new_series,
            Vec::new,
        )
        .push(m);
        order.push((p.src.path.clone(), file_id.join("/"), p.src.size));
        if let Some(f) = leaf.file.as_mut() {
            f.file_id = file_id;
        }
        series.children.push(leaf);
    }
    let sop_instance_uids: Vec<String> = members
        .iter()
        .filter_map(|&m| placed[m].leaf.file.as_ref())
        .map(|f| f.sop_instance_uid.clone())
        .collect();
    let uid = fileset_uid(opts, &fsid, patient_id, &sop_instance_uids);
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
    if progress("writing", (number - 1) as u64, count as u64).is_break() {
        return Err(ExportError::Cancelled);
    }
    let vol_name = format!("VOL{number:03}");
    let mut expected = ExpectedVolume {
        instances: members.len(),
        sop_instance_uids,
        patient_id: patient_id.to_string(),
        profile: profile.to_string(),
        files: Vec::new(),
        joliet: opts.joliet,
    };
    // The viewer folder (`pdi/viewers.rs`), copied opaque beside the instances.
    let viewer_files: Vec<(PathBuf, String, u64)> = opts
        .pdi
        .viewers
        .iter()
        .flat_map(|v| &v.files)
        .map(|f| (f.source.clone(), f.name.clone(), f.size))
        .collect();
    let web_files = match cx.web {
        Some(plan) => web_content(&disc, &groups, placed, members, plan)?,
        None => Vec::new(),
    };
    let extras = own_files(
        &disc,
        &dicomdir,
        &order,
        &viewer_files,
        &web_files,
        &mut expected,
        cx.reserve,
    )?;
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
        web_content: cx.web.is_some(),
        left_out: opts.left_out.clone(),
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
        let mut bytes = dicomdir.len() as u64;
        for f in &extras {
            write(f.name, &f.bytes)?;
            bytes += f.bytes.len() as u64;
        }
        for f in &web_files {
            let p = root.join(&f.path);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            write(&f.path, &f.bytes)?;
            bytes += f.bytes.len() as u64;
        }
        for (src, rel, size) in order.iter().chain(&viewer_files) {
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
        let volume_id = fileset_id(&opts.volume_id_pattern, number, count);
        let ts = IsoDateTime::from_system_time(opts.now)?;
        let mut iso = IsoBuilder::new(&volume_id, ts)?;
        iso.set_joliet(opts.joliet);
        iso.add_file("DICOMDIR", FileSource::bytes(dicomdir))?;
        for f in extras {
            iso.add_file(f.name, FileSource::bytes(f.bytes))?;
        }
        for f in web_files {
            iso.add_file(&f.path, FileSource::bytes(f.bytes))?;
        }
        for (src, rel, size) in order.iter().chain(&viewer_files) {
            iso.add_file(rel, FileSource::path_with_size(src.clone(), *size))?;
        }
        let path = opts.out_dir.join(format!("{vol_name}.iso"));
        iso.write_to_path(&path)?;
        summary.bytes = fs::metadata(&path).map_err(io_err(&path))?.len();
        summary.iso = Some(path);
    }
    // The image is made durable while it is read back: its writeback (disk) overlaps the
    // read-back's hashing (CPU), and the export reports no image that a power loss could
    // still tear (a job commits `burning` after this, and keeps its images over a restart).
    let sync = summary.iso.clone().map(|p| {
        let handle = std::thread::spawn({
            let p = p.clone();
            move || fs::File::open(&p).and_then(|f| f.sync_all())
        });
        (p, handle)
    });
    let validated = validate(&summary, &expected, progress);
    if let Some((p, handle)) = sync {
        let synced = handle
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the fsync thread panicked")));
        // A volume that failed validation is already removed: its error is the answer.
        if let (Err(e), Ok(_)) = (synced, &validated) {
            let _ = fs::remove_file(&p);
            return Err(io_err(&p)(e));
        }
    }
    summary.sha256 = validated?;
    Ok(summary)
}

/// The volume's web content (`pdi/web`), checked against what the planner kept for it.
fn web_content(
    disc: &Disc,
    groups: &[Vec<Vec<usize>>],
    placed: &[Placed],
    members: &[usize],
    plan: &WebPlan<'_>,
) -> Result<Vec<WebFile>, ExportError> {
    let paths: Vec<&std::path::Path> = placed.iter().map(|p| p.src.path.as_path()).collect();
    let files = web::volume_files(disc, groups, &plan.prepared, &paths, plan.renderer);
    let used = web::budget::used(&files);
    let instances: u64 = members
        .iter()
        .map(|&m| web::budget::instance_cost(&plan.prepared[m]))
        .sum();
    let allowed = web::budget::allowed(&plan.reserve, disc.studies() + disc.series(), instances);
    if used > allowed {
        return Err(ExportError::WebOverReserve {
            volume: disc.number,
            used,
            allowed,
        });
    }
    Ok(files)
}

/// The volume's own files (`pdi`): README, INDEX and AUTORUN from `disc`; then every file
/// of the volume is checked and hashed as it will go onto it (`validate_planned`), the
/// report of those checks added, and the MANIFEST of all their hashes last. Fails, before
/// anything is written, when the checks find a problem or the files outgrow the reserve the
/// planner kept for them. `expected.files` ends up naming them all, for the read-back.
fn own_files(
    disc: &Disc,
    dicomdir: &[u8],
    order: &[(PathBuf, String, u64)],
    viewer_files: &[(PathBuf, String, u64)],
    web_files: &[WebFile],
    expected: &mut ExpectedVolume,
    reserve: &Reserve,
) -> Result<Vec<ExtraFile>, ExportError> {
    let mut extras = pdi::front_files(disc);
    let web_names = || web_files.iter().map(|f| f.path.clone());
    expected.files = extras.iter().map(|f| f.name.to_string()).collect();
    expected.files.extend(web_names());
    let mut planned = vec![("DICOMDIR".to_string(), Planned::Bytes(dicomdir))];
    planned.extend(
        extras
            .iter()
            .map(|f| (f.name.to_string(), Planned::Bytes(&f.bytes))),
    );
    planned.extend(
        web_files
            .iter()
            .map(|f| (f.path.clone(), Planned::Bytes(&f.bytes))),
    );
    planned.extend(
        order
            .iter()
            .chain(viewer_files)
            .map(|(src, rel, _)| (rel.clone(), Planned::Path(src))),
    );
    let (report, mut hashes) =
        validate_planned(&planned, expected).map_err(|source| ExportError::Validation {
            volume: disc.number,
            source,
        })?;
    if !report.is_valid() {
        return Err(ExportError::Unsound {
            volume: disc.number,
            problems: report.problems,
        });
    }
    let report = pdi::report_file(disc, &report);
    hashes.insert(report.name.to_string(), sha256_hex(&report.bytes));
    extras.push(report);
    extras.push(manifest::render(&hashes));
    expected.files = extras.iter().map(|f| f.name.to_string()).collect();
    expected
        .files
        .extend(viewer_files.iter().map(|(_, rel, _)| rel.clone()));
    expected.files.extend(web_names());
    let used: u64 = extras
        .iter()
        .map(|f| (f.bytes.len() as u64).div_ceil(SECTOR) * SECTOR + 48)
        .sum();
    // The web files' MANIFEST lines are in the web content's reserve (`web/budget.rs`).
    let allowed = budget::bound(reserve, disc.studies(), disc.series(), disc.instances())
        + web_files
            .iter()
            .map(|f| manifest::line_len(&f.path))
            .sum::<u64>();
    if used > allowed {
        return Err(ExportError::OwnFilesOverReserve {
            volume: disc.number,
            used,
            allowed,
        });
    }
    Ok(extras)
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The File-set UID (the DICOMDIR's SOP Instance UID): a UUID-derived UID (PS3.5 B.2) made
/// from the export's clock and what the volume holds, so the same input and clock give the
/// same DICOMDIR — and the same MANIFEST — while two exports at different moments or of
/// different content differ. The hash is cut to a version 8 (custom) UUID.
fn fileset_uid(opts: &ExportOptions, fsid: &str, patient_id: &str, uids: &[String]) -> String {
    let nanos = opts
        .now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(b"dcmdisc File-set UID\0");
    h.update(nanos.to_le_bytes());
    for part in [fsid, patient_id, &opts.implementation_class_uid] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for u in uids {
        h.update(u.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let id = uuid::Builder::from_custom_bytes(bytes).into_uuid();
    format!("2.25.{}", id.as_u128())
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

#[cfg(test)]
mod tests {
    #[test]
    fn fileset_ids() {
        assert_eq!(super::fileset_id("DCMDISC_{n}OF{m}", 2, 3), "DCMDISC_2OF3");
    }
}

//! The export engine: the volumes of one patient from checked source instances. Read
//! (`source.rs`) → convert what the profile does not allow (via a [`Converter`]) → order
//! (studies by date/time/UID, series by number/UID, instances by number/UID) → record keys
//! (`record_keys.rs`) → plan volumes (`plan.rs`) → write each (`volume.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dcmdisc_dicom::datetime::dicom_date_time;
use dcmdisc_dicom::tag;

use crate::dicomdir::{self, FileRef, Record};
use crate::pdi::budget;
use crate::pdi::web::{self, WebPlan};
use crate::plan::{self, PlanItem};
use crate::record_keys::record_keys;
use crate::records;
use crate::volume::{write_volume, Placed, VolumeContext};

pub use crate::pdi::web::{
    ImageFacts, NoRenderer, PresetFacts, Rendered, Rendering, ViewWindow, WebRenderer,
};
pub use crate::pdi::PdiOptions;

pub use crate::left_out::{Excluded, ExcludedKind, LeftOut};
pub use crate::profile::{Profile, CD_650_MB_SECTORS, CD_700_MB_SECTORS, SECTOR};
pub use crate::source::{read_sources, scan_folder, PatientFiles, SourceFile};

/// Why a conversion failed, with its source (a full disk stays an `io::Error` underneath).
pub type ConvertError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Converts an instance to Explicit VR Little Endian. Provided by the binary (the transcoder
/// lives in its own crate), so media does not depend on pixel codecs.
pub trait Converter {
    fn can_convert(&self, from_ts: &str) -> bool;
    fn to_explicit_le(&self, input: &Path, output: &Path) -> Result<(), ConvertError>;
}

/// For callers without a transcoder: nothing can be converted.
pub struct NoConverter;

impl Converter for NoConverter {
    fn can_convert(&self, _: &str) -> bool {
        false
    }
    fn to_explicit_le(&self, _: &Path, _: &Path) -> Result<(), ConvertError> {
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
    #[error(
        "{profile} needs Explicit VR Little Endian and these instances cannot be converted:\n{}",
        list.join("\n")
    )]
    NeedsTranscoder {
        profile: &'static str,
        list: Vec<String>,
    },
    #[error("converting {path}: {source}")]
    Conversion {
        path: PathBuf,
        #[source]
        source: ConvertError,
    },
    #[error("{0}")]
    Plan(#[from] plan::PlanError),
    #[error("ISO 9660: {0}")]
    Iso(#[from] dcmdisc_iso9660::IsoError),
    #[error("DICOMDIR: {0}")]
    Dicomdir(#[from] dicomdir::DicomdirError),
    #[error("volume {volume} would hold {size} bytes, over the capacity of {capacity}")]
    OverCapacity {
        volume: usize,
        size: u64,
        capacity: u64,
    },
    /// The volume was written, read back and found wrong (`validate.rs`); it was removed.
    #[error(
        "volume {volume} failed validation and was removed ({}):\n  {}",
        path.display(),
        problems.join("\n  ")
    )]
    Invalid {
        volume: usize,
        path: PathBuf,
        problems: Vec<String>,
    },
    /// The files of a volume failed the checks made before imaging
    /// (`validate::validate_planned`); nothing of the volume was written.
    #[error(
        "volume {volume} failed the checks before imaging and was not written:\n  {}",
        problems.join("\n  ")
    )]
    Unsound {
        volume: usize,
        problems: Vec<String>,
    },
    /// The volume's own files came out larger than the planner's reserve for them: a defect
    /// of the size bounds (`pdi/budget.rs`), caught before the volume is written.
    #[error(
        "volume {volume}: its README, INDEX, report and MANIFEST take {used} bytes, more than \
         the {allowed} the planner kept for them"
    )]
    OwnFilesOverReserve {
        volume: usize,
        used: u64,
        allowed: u64,
    },
    /// The volume's web content came out larger than the planner's reserve for it: a defect
    /// of its size bounds (`pdi/web/budget.rs`), caught before the volume is written.
    #[error(
        "volume {volume}: its web content takes {used} bytes, more than the {allowed} the \
         planner kept for it"
    )]
    WebOverReserve {
        volume: usize,
        used: u64,
        allowed: u64,
    },
    /// Validation could not open what was just written.
    #[error("validating volume {volume}: {source}")]
    Validation {
        volume: usize,
        #[source]
        source: crate::validate::OpenError,
    },
    /// `[media] viewer_folder` leaves too little of a volume for the largest instance.
    #[error(
        "the viewer folder {} takes {viewer} bytes of every volume of {capacity}: the largest \
         instance ({largest} bytes) no longer fits; use a smaller viewer or a larger medium",
        folder.display()
    )]
    ViewerTooLarge {
        folder: PathBuf,
        viewer: u64,
        largest: u64,
        capacity: u64,
    },
    #[error(transparent)]
    Records(#[from] records::TableError),
    #[error("nothing to export")]
    Empty,
    /// The progress callback answered `Break`.
    #[error("cancelled")]
    Cancelled,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
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
    /// What the volume's own files (README.TXT, INDEX.HTM...) say and hold.
    pub pdi: PdiOptions,
    /// The ISO 9660 Volume Identifier (the name Windows and macOS show for the drive): `{n}`
    /// = volume number, `{m}` = volume count, expanded here; the caller has expanded its
    /// own placeholders (date, job) and checked that the result is 1-32 d-characters.
    pub volume_id_pattern: String,
    /// Also record a Joliet tree with the same names (`[media] joliet`, default on).
    pub joliet: bool,
    /// The operator asked to leave out instances that cannot go on the disc (a syntax
    /// nothing converts, a refused conversion, a SOP class without a record type) instead
    /// of failing the export; each is then listed in `left_out`.
    pub leave_out_unreadable: bool,
    /// What was left out of this patient's volumes (the folder scan's, then the export's
    /// own): every volume's README lists it (`left_out.rs`).
    pub left_out: Vec<LeftOut>,
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
    /// SHA-256 of the ISO image (lower-case hex), computed while validating it; `None` for a
    /// tree-only volume.
    pub sha256: Option<String>,
    /// What the export repaired or left out of this patient's DICOMDIR records (a copied
    /// sequence item that lacks what the record's macro requires), one line each, source
    /// file first; carried by the first volume of the patient.
    pub warnings: Vec<String>,
    /// The volume holds the IHE_PDI web content (its label says "DICOM PLUS WEB").
    pub web_content: bool,
    /// What the README of this volume lists as left out (the same on every volume of the
    /// patient).
    pub left_out: Vec<LeftOut>,
}

/// ENOSPC or EDQUOT anywhere in the error's source chain.
fn disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // 28 = ENOSPC, 122 = EDQUOT on Linux.
            if io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(28) | Some(122))
            {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn numeric(v: Option<String>) -> i64 {
    v.and_then(|s| s.trim().parse::<f64>().ok())
        .map_or(i64::MAX, |f| f as i64)
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
    export_patient_with(files, opts, conv, &NoRenderer, progress)
}

/// [`export_patient`], with `renderer` making the images of the web content (when
/// `opts.pdi.web_content`); without one every image's page says it was not rendered.
pub fn export_patient_with(
    files: Vec<SourceFile>,
    opts: &ExportOptions,
    conv: &dyn Converter,
    renderer: &dyn WebRenderer,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
) -> Result<Vec<VolumeSummary>, ExportError> {
    if files.is_empty() {
        return Err(ExportError::Empty);
    }
    fs::create_dir_all(&opts.out_dir).map_err(io_err(&opts.out_dir))?;
    let staging = opts.out_dir.join(".dcmdisc-staging");
    let result = export_inner(files, opts, conv, renderer, progress, &staging);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn export_inner(
    files: Vec<SourceFile>,
    opts: &ExportOptions,
    conv: &dyn Converter,
    renderer: &dyn WebRenderer,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
    staging: &Path,
) -> Result<Vec<VolumeSummary>, ExportError> {
    let table = records::table()?;
    let profile = opts.profile;
    let today = dicom_date_time(opts.now);
    let mut left_out = opts.left_out.clone();
    let mut warnings = Vec::new();
    let mut leave_out = |s: &SourceFile, reason: String| {
        warnings.push(format!("left out {}: {reason}", s.path.display()));
        left_out.push(LeftOut {
            sop_instance_uid: Some(s.sop_instance()),
            reason,
        });
    };
    let mut sources = Vec::with_capacity(files.len());
    let mut unconvertible = Vec::new();
    let mut seen = HashSet::new();
    for s in files {
        if !seen.insert(s.sop_instance()) {
            continue;
        }
        let ts = &s.meta.transfer_syntax_uid;
        if !profile.allows(ts) && !conv.can_convert(ts) {
            if opts.leave_out_unreadable {
                leave_out(
                    &s,
                    format!("transfer syntax {ts} cannot be converted to Explicit VR LE"),
                );
                continue;
            }
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
    let mut refused = HashSet::new();
    // Converted files are read from staging; warnings name the source the operator gave.
    let mut origin: HashMap<PathBuf, PathBuf> = HashMap::new();
    for (k, &i) in needing.iter().enumerate() {
        if progress("converting", k as u64, needing.len() as u64).is_break() {
            return Err(ExportError::Cancelled);
        }
        let out = staging.join(format!("{k:08}.dcm"));
        match conv.to_explicit_le(&sources[i].path, &out) {
            Ok(()) => {
                origin.insert(out.clone(), sources[i].path.clone());
                sources[i] = SourceFile::read(&out)?;
            }
            // A full disk is not the instance's fault: never a reason to leave it out.
            Err(source) if opts.leave_out_unreadable && !disk_full(&*source) => {
                leave_out(
                    &sources[i],
                    format!("conversion to Explicit VR LE failed: {source}"),
                );
                refused.insert(i);
            }
            Err(source) => {
                return Err(ExportError::Conversion {
                    path: sources[i].path.clone(),
                    source,
                })
            }
        }
    }
    let mut sources: Vec<SourceFile> = sources
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !refused.contains(i))
        .map(|(_, s)| s)
        .collect();
    if opts.leave_out_unreadable {
        sources.retain(|s| {
            let class = s.sop_class();
            let known = table.record_type_of_class.contains_key(&class);
            if !known {
                leave_out(s, format!("SOP class {class} has no directory record type"));
            }
            known
        });
    }
    if sources.is_empty() {
        return Err(ExportError::Empty);
    }
    // README.TXT and INDEX.HTM list them, one line each (`pdi`).
    let mut pdi = opts.pdi.clone();
    pdi.left_out.extend(left_out.iter().map(LeftOut::line));
    let with_left_out = ExportOptions {
        left_out,
        pdi,
        ..opts.clone()
    };
    let opts = &with_left_out;

    // DICOMDIR order: studies by date/time/UID, series by number/UID, instances by number/UID.
    let mut placed: Vec<Placed> = Vec::with_capacity(sources.len());
    let patient_id = sources[0].patient_id();
    for s in sources {
        let class = s.sop_class();
        let Some(rt) = table.record_type_of_class.get(&class) else {
            return Err(ExportError::Unreadable {
                path: s.path.clone(),
                reason: format!("SOP class {class} has no directory record type"),
            });
        };
        let study = s.keys.string(tag::STUDY_INSTANCE_UID).unwrap_or_default();
        let series = s.keys.string(tag::SERIES_INSTANCE_UID).unwrap_or_default();
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
                    k.string(tag::STUDY_DATE).unwrap_or_default(),
                    k.string(tag::STUDY_TIME).unwrap_or_default(),
                ),
            )
        })
        .collect();
    placed.sort_by(|a, b| {
        let sa = (&study_rank[&a.study], &a.study);
        let sb = (&study_rank[&b.study], &b.study);
        sa.cmp(&sb)
            .then_with(|| {
                numeric(a.src.keys.string(tag::SERIES_NUMBER))
                    .cmp(&numeric(b.src.keys.string(tag::SERIES_NUMBER)))
            })
            .then_with(|| a.series.cmp(&b.series))
            .then_with(|| {
                numeric(a.src.keys.string(tag::INSTANCE_NUMBER))
                    .cmp(&numeric(b.src.keys.string(tag::INSTANCE_NUMBER)))
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
        let (keys, found) = record_keys(
            table,
            &p.leaf.record_type.clone(),
            &p.src,
            key_profile,
            &today,
            instance_in_series,
            &patient_id,
        );
        p.leaf.keys = keys;
        warnings.extend(found.into_iter().map(|w| {
            let path = origin.get(&p.src.path).unwrap_or(&p.src.path);
            format!("{}: {w}", path.display())
        }));
    }

    // Plan volumes. Costs are conservative: data in whole sectors, one directory record and
    // the DICOMDIR leaf record per instance; a study or series costs its record plus folders.
    // The volume's own files (`pdi`) are sized first: a fixed part per volume, INDEX.HTM's
    // block per study or series and a MANIFEST.TXT line per instance.
    let reserve = budget::reserve(&opts.pdi, profile.name());
    // The web content is rendered before planning and its real bytes planned with
    // (`pdi/web/mod.rs` says why).
    let mut web_plan = match opts.pdi.web_content {
        true => {
            let sources: Vec<&SourceFile> = placed.iter().map(|p| &p.src).collect();
            let prepared =
                web::prepare(&sources, renderer, progress).ok_or(ExportError::Cancelled)?;
            Some(WebPlan {
                prepared,
                renderer,
                reserve: web::budget::reserve(&opts.pdi, profile.name()),
            })
        }
        false => None,
    };
    let items = plan_items(&placed, web_plan.as_ref(), &reserve)?;
    let capacity = opts.capacity.unwrap_or_else(|| profile.capacity());
    let web_reserve = web_plan.as_ref().map(|w| w.reserve).unwrap_or_default();
    let per_volume = 64 * SECTOR + reserve.per_volume + web_reserve.per_volume;
    let per_group = 4 * SECTOR + reserve.per_group + web_reserve.per_group;
    if let Some(v) = &opts.pdi.viewers {
        // Said as the viewer's fault only when the instances would fit without it.
        let largest = items.iter().map(|i| i.cost).max().unwrap_or(0);
        let viewer = v.bytes_on_volume();
        let need = per_volume + 2 * per_group + largest;
        if need > capacity && need.saturating_sub(viewer) <= capacity {
            return Err(ExportError::ViewerTooLarge {
                folder: v.root.clone(),
                viewer,
                largest,
                capacity,
            });
        }
    }
    let mut volumes = plan::plan(&items, capacity, per_volume, per_group);
    // The other window presets' renderings go before a volume is split (issue 12 item 9):
    // when the export would take more volumes with them (or not fit), they are left out of
    // every volume and the viewer offers those presets in its exact mode only.
    if let Some(w) = web_plan.as_mut() {
        let split = volumes.as_ref().map_or(true, |v| v.len() > 1);
        if split && w.prepared.iter().any(|p| p.has_extra_presets()) {
            let kept: Vec<_> = w.prepared.iter_mut().map(|p| p.take_extra()).collect();
            let lean = plan::plan(
                &plan_items(&placed, Some(w), &reserve)?,
                capacity,
                per_volume,
                per_group,
            );
            let better = match (&volumes, &lean) {
                (Err(_), Ok(_)) => true,
                (Ok(a), Ok(b)) => b.len() < a.len(),
                _ => false,
            };
            if better {
                volumes = lean;
            } else {
                for (p, extra) in w.prepared.iter_mut().zip(kept) {
                    p.put_extra(extra);
                }
            }
        }
    }
    let volumes = volumes?;
    let count = volumes.len();
    let mut summaries = Vec::with_capacity(count);
    let cx = VolumeContext {
        table,
        opts,
        today: &today,
        patient_id: &patient_id,
        reserve: &reserve,
        web: web_plan.as_ref(),
    };
    for (v, members) in volumes.iter().enumerate() {
        let number = v + 1;
        let summary = write_volume(&cx, &placed, members, number, count, progress)?;
        if summary.bytes > capacity {
            return Err(ExportError::OverCapacity {
                volume: number,
                size: summary.bytes,
                capacity,
            });
        }
        summaries.push(summary);
    }
    if let Some(first) = summaries.first_mut() {
        first.warnings = warnings;
    }
    let _ = progress("done", count as u64, count as u64);
    Ok(summaries)
}

/// What the planner places: each instance with its cost on a volume (its data in whole
/// sectors, its directory and DICOMDIR records, its MANIFEST line and its web content).
fn plan_items(
    placed: &[Placed],
    web: Option<&WebPlan<'_>>,
    reserve: &budget::Reserve,
) -> Result<Vec<PlanItem>, ExportError> {
    placed
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let leaf_len = dicomdir::encoded_record_len(&p.leaf)? as u64;
            let web = web.map_or(0, |w| web::budget::instance_cost(&w.prepared[i]));
            Ok(PlanItem {
                study: p.study.clone(),
                series: p.series.clone(),
                cost: plan::item_cost(p.src.size, leaf_len + 8) + reserve.per_instance + web,
            })
        })
        .collect()
}

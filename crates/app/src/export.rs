//! The export operations: a patient collection of the archive, or every patient found in a
//! folder, to disc volumes (DICOMDIR + instances + ISO 9660 image and/or tree) through the
//! media engine, with typed progress and cancellation.
//!
//! Cancelling (the [`Shutdown`] token) is checked between files while reading, between
//! patients, and at every progress report of the media engine (before each conversion, each
//! volume's DICOMDIR, writing and validation). A cancelled export returns
//! [`AppError::Cancelled`]. The export is written into a staging folder beside the output
//! folder and moved into place only when complete (`output.rs`): a cancelled or failed export
//! leaves the output folder as it was, and an output folder that is not empty is refused.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use dcmdisc_media::export::{self as media, ExportError, LeftOut, PatientFiles, SourceFile};
use dcmdisc_media::read_ahead;

pub use dcmdisc_media::export::{Excluded, ExcludedKind, VolumeSummary};

use crate::config::{CdCapacity, Config, Profile};
use crate::control::ControlDb;
use crate::convert::MediaConverter;
use crate::error::AppError;
use crate::output::Output;
use crate::progress::{Count, Progress, Stage};
use crate::shutdown::Shutdown;

/// `[media] cd_capacity_mb = 650` plans STD-GEN-CD volumes for a 74-minute CD-R of this many
/// sectors (the media engine's own default is the 80-minute disc).
pub use dcmdisc_media::export::{CD_650_MB_SECTORS, SECTOR};

/// What to export to where; the rest (File-set ID pattern, identity...) comes from the
/// configuration.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// VOL001.iso, VOL002.iso... go here; for a folder holding several patients, into one
    /// subfolder per patient (PAT001, PAT002...).
    pub out_dir: PathBuf,
    /// `None`: `[media] profile`.
    pub profile: Option<Profile>,
    /// Volume capacity in MiB, overriding the profile's (and the CD size rule).
    pub capacity_mb: Option<u64>,
    /// Also write each volume's file tree as `OUT/VOLnnn/`.
    pub tree: bool,
    /// Leave out instances that cannot go on the disc (listed in each volume's README)
    /// instead of failing the export.
    pub leave_out_unreadable: bool,
    /// The disc job's number (`{job}` of the Volume Identifier), `None` for `dcmdisc export`.
    pub job: Option<i64>,
}

/// One volume written, and whose.
#[derive(Debug, Clone)]
pub struct ExportedVolume {
    /// The patient, as `NAME [ID]`.
    pub label: String,
    pub volume: VolumeSummary,
}

/// The patients found in a folder, read and checked, and the files not exported as
/// instances: not DICOM, foreign DICOMDIRs, and instances that cannot go on the disc.
#[derive(Debug, Clone)]
pub struct FolderScan {
    pub src: PathBuf,
    pub patients: Vec<PatientFiles>,
    pub excluded: Vec<Excluded>,
}

impl FolderScan {
    /// The instances that cannot go on the disc.
    pub fn unreadable(&self) -> impl Iterator<Item = &Excluded> {
        self.excluded
            .iter()
            .filter(|e| e.kind == ExcludedKind::Unreadable)
    }
}

/// Walks `src` recursively and groups its Part 10 files per patient (no service needed);
/// Big Endian and Deflated files are read through the transcoder.
pub fn scan_folder(cfg: &Config, src: &Path) -> Result<FolderScan, AppError> {
    if !src.is_dir() {
        return Err(AppError::NotAFolder(src.to_path_buf()));
    }
    let converter = MediaConverter(cfg.identity());
    let (patients, excluded) =
        media::scan_folder(src, &converter).map_err(|source| AppError::Scan {
            path: src.to_path_buf(),
            source,
        })?;
    Ok(FolderScan {
        src: src.to_path_buf(),
        patients,
        excluded,
    })
}

/// Exports every patient of a scanned folder. An instance that cannot go on the disc fails
/// the export before anything is written, naming each, unless `opts.leave_out_unreadable`:
/// then each is listed on the volumes of its patient (of every patient when its patient is
/// not known).
pub fn export_folder(
    cfg: &Config,
    scan: FolderScan,
    opts: &ExportOptions,
    shutdown: &Shutdown,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<ExportedVolume>, AppError> {
    let unreadable: Vec<Excluded> = scan.unreadable().cloned().collect();
    if !unreadable.is_empty() && !opts.leave_out_unreadable {
        return Err(AppError::CannotGoOnDisc {
            src: scan.src.clone(),
            list: unreadable
                .iter()
                .map(|e| format!("{}: {}", e.path.display(), e.reason))
                .collect(),
        });
    }
    if scan.patients.is_empty() {
        return Err(AppError::NoInstances(scan.src));
    }
    let left_out_of = |g: &PatientFiles, first: &SourceFile| -> Vec<LeftOut> {
        let key = (first.patient_name_raw(), g.patient_id.clone());
        unreadable
            .iter()
            .filter(|e| e.patient.as_ref().is_none_or(|p| *p == key))
            .map(LeftOut::from)
            .collect()
    };
    let several = scan.patients.len() > 1;
    let jobs = scan
        .patients
        .into_iter()
        .enumerate()
        .map(|(i, g)| Job {
            label: format!("{} [{}]", g.patient_name, g.patient_id),
            left_out: g
                .files
                .first()
                .map(|f| left_out_of(&g, f))
                .unwrap_or_default(),
            files: g.files,
            // Folder names are ours (PAT001...), never taken from the data.
            out_dir: if several {
                opts.out_dir.join(format!("PAT{:03}", i + 1))
            } else {
                opts.out_dir.clone()
            },
        })
        .collect();
    run(cfg, jobs, opts, shutdown, progress)
}

/// Exports one patient collection of the archive (the `id` of the patients listing).
pub fn export_collection(
    cfg: &Config,
    db: &ControlDb,
    id: i64,
    opts: &ExportOptions,
    shutdown: &Shutdown,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<ExportedVolume>, AppError> {
    export_instances(cfg, db, id, None, opts, shutdown, progress)
}

/// As [`export_collection`], of only the collection's instances whose SOP Instance UID is in
/// `only` (`None`: all): the set a disc job recorded when it was composed, so a supplement
/// job's discs hold exactly the instances that arrived after its first job was burned.
pub fn export_instances(
    cfg: &Config,
    db: &ControlDb,
    id: i64,
    only: Option<&std::collections::HashSet<String>>,
    opts: &ExportOptions,
    shutdown: &Shutdown,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<ExportedVolume>, AppError> {
    let mut rows = db.instances(Some(id))?;
    if let Some(only) = only {
        rows.retain(|r| only.contains(&r.sop_instance_uid));
    }
    let Some(first) = rows.first() else {
        return Err(AppError::NoSuchCollection(id));
    };
    let label = format!("{} [{}]", first.patient_name, first.patient_id);
    let total = Count::new(rows.len() as u64, rows.iter().map(|r| r.size).sum());
    let mut files = Vec::with_capacity(rows.len());
    let mut bytes = 0;
    // The archive's files are usually not in the page cache (it writes with O_DIRECT): the
    // whole of the next files is asked of the disk while their headers are read here, so
    // the pass that hashes them before imaging finds them in memory.
    let paths: Vec<Option<&Path>> = rows.iter().map(|r| Some(Path::new(&r.path))).collect();
    let pos = read_ahead::Position::default();
    std::thread::scope(|s| {
        s.spawn(|| read_ahead::run(&paths, &pos));
        let read = (|| {
            for (k, r) in rows.iter().enumerate() {
                pos.next.store(k, Ordering::Relaxed);
                if shutdown.is_triggered() {
                    return Err(AppError::Cancelled);
                }
                progress(&Progress {
                    patient: Count::new(1, 1),
                    label: label.clone(),
                    stage: Stage::Reading,
                    items: Count::new(k as u64, total.done),
                    bytes: Some(Count::new(bytes, total.total)),
                });
                let file = SourceFile::read(Path::new(&r.path))
                    .map_err(|source| AppError::ReadCollection { id, source })?;
                bytes += file.size;
                files.push(file);
            }
            Ok(())
        })();
        pos.finish();
        read
    })?;
    let job = Job {
        label,
        files,
        out_dir: opts.out_dir.clone(),
        left_out: Vec::new(),
    };
    run(cfg, vec![job], opts, shutdown, progress)
}

struct Job {
    label: String,
    files: Vec<SourceFile>,
    out_dir: PathBuf,
    /// Left out by the folder scan, for this patient's READMEs.
    left_out: Vec<LeftOut>,
}

/// The volume capacity in bytes, `None` for the profile's own.
pub(crate) fn capacity(
    cfg: &Config,
    profile: Profile,
    mb: Option<u64>,
) -> Result<Option<u64>, AppError> {
    match (mb, profile) {
        (Some(0), _) => Err(AppError::ZeroCapacity),
        (Some(mb), _) => Ok(Some(mb.saturating_mul(1024 * 1024))),
        (None, Profile::StdGenCd) if cfg.media.cd_capacity_mb == CdCapacity::Mb650 => {
            Ok(Some(CD_650_MB_SECTORS * SECTOR))
        }
        (None, _) => Ok(None),
    }
}

fn run(
    cfg: &Config,
    jobs: Vec<Job>,
    opts: &ExportOptions,
    shutdown: &Shutdown,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<ExportedVolume>, AppError> {
    let profile = opts.profile.unwrap_or(cfg.media.profile);
    let sp = &cfg.storage_provider;
    let now = clock()?;
    let volume_id_pattern = match opts.job {
        Some(id) => cfg.media.volume_id.expand(now, Some(id)),
        None => cfg.media.volume_id.expand(now, None),
    }
    .ok_or(AppError::VolumeIdJob(opts.job.unwrap_or_default()))?;
    let base = media::ExportOptions {
        out_dir: opts.out_dir.clone(),
        profile: profile.media(),
        capacity: capacity(cfg, profile, opts.capacity_mb)?,
        tree: opts.tree,
        fileset_id_pattern: cfg.media.fileset_id_pattern.to_string(),
        consistency_flag: cfg.media.fileset_consistency_flag,
        implementation_class_uid: sp.implementation_class_uid.to_string(),
        implementation_version_name: sp.implementation_version_name.to_string(),
        now,
        pdi: media::PdiOptions {
            institution: cfg.media.institution.to_string(),
            contact: cfg.media.contact.to_string(),
            web_content: cfg.media.web_content,
            left_out: Vec::new(),
            viewers: cfg.viewers()?,
        },
        volume_id_pattern,
        joliet: cfg.media.joliet,
        leave_out_unreadable: opts.leave_out_unreadable,
        left_out: Vec::new(),
    };
    let converter = MediaConverter(cfg.identity());
    // Each volume's label (VOLnnn.svg/.pdf beside its image): the fonts are read once.
    let fonts = match cfg.label.enabled {
        true => Some(crate::label::Fonts::load(&cfg.label.font_source())?),
        false => None,
    };
    let output = Output::prepare(&opts.out_dir)?;
    let patients = jobs.len() as u64;
    let mut all = Vec::new();
    for (i, job) in jobs.into_iter().enumerate() {
        if shutdown.is_triggered() {
            return Err(AppError::Cancelled);
        }
        // The job's folder (the target or a PATnnn in it), inside the staging folder.
        let rel = job
            .out_dir
            .strip_prefix(&opts.out_dir)
            .unwrap_or(Path::new(""));
        let media_opts = media::ExportOptions {
            out_dir: output.staging().join(rel),
            left_out: job.left_out,
            ..base.clone()
        };
        let label = job.label;
        let facts = crate::label::facts(&job.files);
        let mut report = |stage: &str, done: u64, total: u64| {
            progress(&Progress {
                patient: Count::new(i as u64 + 1, patients),
                label: label.clone(),
                stage: Stage::from_media(stage),
                items: Count::new(done, total),
                bytes: None,
            });
            if shutdown.is_triggered() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let volumes = media::export_patient_with(
            job.files,
            &media_opts,
            &converter,
            &crate::web_render::DiscRenderer,
            &mut report,
        )
        .map_err(|source| match source {
            ExportError::Cancelled => AppError::Cancelled,
            source => AppError::Export {
                label: label.clone(),
                source,
            },
        })?;
        if let Some(fonts) = &fonts {
            // Into the staging folder: a label that cannot be made fails the export whole.
            let job = opts.job.and_then(|j| u64::try_from(j).ok());
            // What the volumes hold, not what was asked: "DICOM PLUS WEB" only with IHE_PDI.
            let content = match volumes.iter().all(|v| v.web_content) {
                true => crate::label::Content::DicomPlusWeb,
                false => crate::label::Content::DicomOnly,
            };
            crate::label::write_volume_labels(
                &cfg.label, fonts, &facts, &volumes, now, content, job,
            )?;
        }
        all.extend(volumes.into_iter().map(|mut volume| {
            volume.iso = volume.iso.map(|p| output.final_path(&p));
            volume.tree = volume.tree.map(|p| output.final_path(&p));
            ExportedVolume {
                label: label.clone(),
                volume,
            }
        }));
    }
    output.commit()?;
    Ok(all)
}

#[cfg(test)]
mod tests;

/// The export's clock: now, or the Unix seconds in `DCMDISC_TEST_CLOCK`. Every date on a
/// volume (recording dates, the File-set UID, ISO 9660 dates, the label) comes from this one
/// value, so with it fixed the same input gives byte-identical volumes (issue 12 item 10);
/// the interop tests set it to compare two exports byte for byte. Not for production: a
/// disc's dates would lie.
fn clock() -> Result<SystemTime, AppError> {
    match std::env::var("DCMDISC_TEST_CLOCK") {
        Err(_) => Ok(SystemTime::now()),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(|s| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s))
            .map_err(|_| AppError::TestClock(v)),
    }
}

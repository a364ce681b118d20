//! How many bytes the volume's own files may take, known before any instance is placed
//! (issue 12 item 9): every value they show is cut to a fixed number of characters, so a
//! file's size is bounded by rendering it from a worst-case volume — every text value at its
//! longest in the character that escapes longest, every count at its largest. The bound is
//! a fixed part per volume, a part per study and per series on the volume (INDEX.HTM's
//! blocks) and a part per instance (its MANIFEST.TXT line), plus one sector of rounding and
//! a directory record per file.

use crate::profile::SECTOR;
use crate::validate::ValidationReport;

use super::catalog::{Disc, PatientEntry, SeriesEntry, StudyEntry};
use super::{front_files, index, manifest, report_file, PdiOptions};

/// An ISO 9660 directory record of an 8.3 name (at most 48 bytes).
const DIR_RECORD: u64 = 48;
/// Longest File ID path of an instance (`DICOM/P0000001/S0000001/R0000001/I0000001`).
pub const INSTANCE_PATH: &str = "DICOM/P0000001/S0000001/R0000001/I0000001";

/// The volume's own files, sized before instances are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    /// README, INDEX (without its studies), AUTORUN, the report and the MANIFEST (without
    /// the instances' lines), each rounded up to a sector and with its directory record.
    pub per_volume: u64,
    /// INDEX.HTM's block of one study, or row of one series, whichever is larger.
    pub per_group: u64,
    /// One instance's MANIFEST.TXT line.
    pub per_instance: u64,
}

/// A text value longer than any cut, in the character that escapes longest.
fn worst_text() -> String {
    "\"".repeat(1000)
}

pub(crate) fn worst_disc(options: &PdiOptions, profile: &'static str) -> Disc {
    let w = worst_text();
    Disc {
        number: usize::MAX,
        count: usize::MAX,
        fileset_id: w.clone(),
        profile,
        // The export's clock: always 8 and 6 digits.
        created: ("99991231".to_string(), "235959".to_string()),
        application: w.clone(),
        options: PdiOptions {
            institution: w.clone(),
            contact: w.clone(),
            web_content: options.web_content,
            // The left-out lines are known before planning and the same on every volume:
            // they are sized as they are.
            left_out: options.left_out.clone(),
            viewers: options.viewers.clone(),
        },
        patients: vec![PatientEntry {
            name: w.clone(),
            id: w.clone(),
            birth_date: w.clone(),
            sex: w,
            studies: Vec::new(),
        }],
    }
}

pub(crate) fn worst_study() -> StudyEntry {
    let w = worst_text();
    StudyEntry {
        date: w.clone(),
        time: w.clone(),
        description: w.clone(),
        accession: w.clone(),
        study_id: w,
        series: Vec::new(),
    }
}

pub(crate) fn worst_series() -> SeriesEntry {
    let w = worst_text();
    SeriesEntry {
        number: w.clone(),
        modality: w.clone(),
        description: w.clone(),
        instances: usize::MAX,
        folder: w,
    }
}

fn worst_report() -> ValidationReport {
    let mut r = ValidationReport {
        records: usize::MAX,
        instance_records: usize::MAX,
        patient_records: usize::MAX,
        type1_keys: usize::MAX,
        ..ValidationReport::default()
    };
    // Every record type the table knows, each with the largest count.
    if let Ok(t) = crate::records::table() {
        for k in t.keys.keys() {
            r.record_types.insert(k.clone(), usize::MAX);
        }
    }
    r
}

fn on_volume(bytes: u64) -> u64 {
    bytes + SECTOR + DIR_RECORD
}

/// The reserve of a volume written with `options` for `profile`.
pub fn reserve(options: &PdiOptions, profile: &'static str) -> Reserve {
    let disc = worst_disc(options, profile);
    let mut per_volume = 0;
    let mut manifest_lines = manifest::line_len("DICOMDIR");
    for f in front_files(&disc) {
        per_volume += on_volume(f.bytes.len() as u64);
        manifest_lines += manifest::line_len(f.name);
    }
    let report = report_file(&disc, &worst_report());
    per_volume += on_volume(report.bytes.len() as u64);
    manifest_lines += manifest::line_len(report.name);
    per_volume += on_volume(manifest_lines);
    // The viewer folder, its MANIFEST lines included.
    per_volume += options
        .viewers
        .as_ref()
        .map_or(0, super::ViewerFolder::bytes_on_volume);
    let study = index::study(usize::MAX, &worst_study(), usize::MAX, usize::MAX).len()
        + index::STUDY_END.len();
    let series = index::series(&worst_series()).len();
    Reserve {
        per_volume,
        per_group: study.max(series) as u64,
        per_instance: manifest::line_len(INSTANCE_PATH),
    }
}

/// What the volume's own files may take on a volume of `studies` studies, `series` series
/// and `instances` instances: what [`reserve`] promised the planner for it.
pub fn bound(r: &Reserve, studies: usize, series: usize, instances: usize) -> u64 {
    r.per_volume + (studies + series) as u64 * r.per_group + instances as u64 * r.per_instance
}

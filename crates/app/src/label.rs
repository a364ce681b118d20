//! Each volume's disc label: the facts of the patient's files (name decoded in its character
//! set, birth date, studies, institution) handed to `dcmdisc-label`, written as `VOLnnn.svg`
//! and `VOLnnn.pdf` beside `VOLnnn.iso` (or the `VOLnnn/` tree).
//!
//! The export calls it for each patient (`export.rs`): the facts before the media engine takes
//! the files, the labels into the staging folder before the output is committed, so a label
//! that cannot be made fails the export and leaves nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dcmdisc_dicom::charset::decode_text;
use dcmdisc_dicom::tag;
pub use dcmdisc_label::{Content, Face, Fonts, LabelData, NameScript, Study};
use dcmdisc_media::export::{SourceFile, VolumeSummary};

use crate::config::label::LabelSection;
use crate::AppError;

/// Institution Name (0008,0080).
const INSTITUTION_NAME: u32 = 0x0008_0080;

/// The script a Specific Character Set names for CJK text (`None`: not a CJK set, or
/// UTF-8, where the characters tell).
pub fn script_of(charset: &str) -> Option<NameScript> {
    let terms: Vec<&str> = charset.split('\\').map(str::trim).collect();
    let has = |names: &[&str]| terms.iter().any(|t| names.contains(t));
    if has(&[
        "ISO 2022 IR 87",
        "ISO 2022 IR 159",
        "ISO 2022 IR 13",
        "ISO_IR 13",
    ]) {
        Some(NameScript::Japanese)
    } else if has(&["ISO 2022 IR 149"]) {
        Some(NameScript::Korean)
    } else if has(&["GB18030", "GBK", "ISO 2022 IR 58"]) {
        Some(NameScript::Chinese)
    } else {
        None
    }
}

/// What a label says of a patient's files: the first file's patient, every study (by Study
/// Instance UID, newest first) with its date and modalities. Disc numbers, File-set ID,
/// creation date and job are the volume's, filled in by [`write_volume_labels`].
pub fn facts(files: &[SourceFile]) -> LabelData {
    let mut data = LabelData::default();
    let text = |f: &SourceFile, t: u32| -> String {
        let charset = f
            .keys
            .string(tag::SPECIFIC_CHARACTER_SET)
            .unwrap_or_default();
        f.keys
            .text(t)
            .map(|raw| decode_text(raw, &charset))
            .unwrap_or_default()
    };
    if let Some(first) = files.first() {
        let charset = first
            .keys
            .string(tag::SPECIFIC_CHARACTER_SET)
            .unwrap_or_default();
        data.patient_name = text(first, tag::PATIENT_NAME);
        data.script = script_of(&charset);
        data.birth_date = first
            .keys
            .string(tag::PATIENT_BIRTH_DATE)
            .unwrap_or_default();
    }
    data.institution = files
        .iter()
        .map(|f| text(f, INSTITUTION_NAME))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let mut studies: BTreeMap<String, Study> = BTreeMap::new();
    for f in files {
        let uid = f.keys.string(tag::STUDY_INSTANCE_UID).unwrap_or_default();
        let study = studies.entry(uid).or_default();
        if study.date.is_empty() {
            study.date = f.keys.string(tag::STUDY_DATE).unwrap_or_default();
        }
        if study.description.is_empty() {
            study.description = text(f, tag::STUDY_DESCRIPTION);
        }
        if let Some(m) = f.keys.string(tag::MODALITY) {
            if !study.modalities.contains(&m) {
                study.modalities.push(m);
            }
        }
    }
    let mut studies: Vec<Study> = studies.into_values().collect();
    studies.iter_mut().for_each(|s| s.modalities.sort());
    studies.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then_with(|| a.description.cmp(&b.description))
    });
    data.studies = studies;
    data
}

/// Writes each volume's label beside its image (or tree): `VOLnnn.svg` and `VOLnnn.pdf`.
/// `created` is the export's time (the label's date, so the PDF carries no other clock);
/// returns the files written. Nothing when labels are off.
pub fn write_volume_labels(
    section: &LabelSection,
    fonts: &Fonts,
    facts: &LabelData,
    volumes: &[VolumeSummary],
    created: SystemTime,
    content: Content,
    job: Option<u64>,
) -> Result<Vec<PathBuf>, AppError> {
    if !section.enabled {
        return Ok(Vec::new());
    }
    let template = section.template()?;
    let (date, _) = dcmdisc_dicom::datetime::dicom_date_time(created);
    let mut written = Vec::new();
    for v in volumes {
        let Some(at) = v.iso.as_deref().or(v.tree.as_deref()) else {
            continue;
        };
        let dir = at.parent().unwrap_or(Path::new("."));
        let stem = at
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("VOL{:03}", v.number));
        let data = LabelData {
            created: date.clone(),
            content,
            disc: v.number as u32,
            discs: v.count as u32,
            fileset_id: v.fileset_id.clone(),
            job,
            ..facts.clone()
        };
        let label = dcmdisc_label::render(&data, &template, fonts)?;
        let (svg, pdf) = dcmdisc_label::write(&label, dir, &stem)?;
        written.push(svg);
        written.push(pdf);
    }
    Ok(written)
}

/// One label from given facts (`dcmdisc label`, for checking a layout or fonts by hand):
/// `<dir>/<stem>.svg` and `.pdf`, with the config's `[label]` template and fonts (`face`
/// overrides the template's face).
pub fn write_one(
    section: &LabelSection,
    data: &LabelData,
    face: Option<Face>,
    dir: &Path,
    stem: &str,
) -> Result<(PathBuf, PathBuf), AppError> {
    let fonts = Fonts::load(&section.font_source())?;
    let mut template = section.template()?;
    if let Some(face) = face {
        template.face = face;
        template.custom = None;
    }
    let label = dcmdisc_label::render(data, &template, &fonts)?;
    std::fs::create_dir_all(dir).map_err(|source| dcmdisc_label::LabelError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(dcmdisc_label::write(&label, dir, stem)?)
}

/// Today as a DA value (the default creation date of a hand-made label).
pub fn today() -> String {
    dcmdisc_dicom::datetime::dicom_date_time(SystemTime::now()).0
}

#[cfg(test)]
mod tests;

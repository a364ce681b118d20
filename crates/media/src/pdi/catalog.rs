//! What the volume's own files say about it: the disc (number, File-set ID, who made it
//! when) and the patients, studies and series on *this* volume with their counts, values
//! decoded from each instance's Specific Character Set. The writers (`readme.rs`,
//! `index.rs`, ...) render this and nothing else, so the same volume and clock give the same
//! bytes.

use dcmdisc_dicom::tag;

use crate::source::SourceFile;

use super::text::person_name;
use super::PdiOptions;

/// One volume as its README.TXT, INDEX.HTM and validation report describe it.
#[derive(Debug, Clone)]
pub struct Disc {
    pub number: usize,
    pub count: usize,
    pub fileset_id: String,
    pub profile: &'static str,
    /// The export's clock, UTC: `("YYYYMMDD", "HHMMSS")`.
    pub created: (String, String),
    /// Creating application and version, e.g. `dcmdisc 0.1.0`.
    pub application: String,
    pub options: PdiOptions,
    /// Patients on this volume (one, as the volume holds one patient; a list so the pages
    /// need not change if that rule does).
    pub patients: Vec<PatientEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct PatientEntry {
    /// Decoded for display (`person_name`).
    pub name: String,
    pub id: String,
    pub birth_date: String,
    pub sex: String,
    pub studies: Vec<StudyEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct StudyEntry {
    pub date: String,
    pub time: String,
    pub description: String,
    pub accession: String,
    pub study_id: String,
    pub series: Vec<SeriesEntry>,
}

#[derive(Debug, Clone, Default)]
pub struct SeriesEntry {
    pub number: String,
    pub modality: String,
    pub description: String,
    /// Instances of the series on this volume.
    pub instances: usize,
    /// Its folder on the volume, e.g. `DICOM/P0000001/S0000001/R0000001`.
    pub folder: String,
}

impl Disc {
    pub fn studies(&self) -> usize {
        self.patients.iter().map(|p| p.studies.len()).sum()
    }

    pub fn series(&self) -> usize {
        self.patients
            .iter()
            .flat_map(|p| &p.studies)
            .map(|s| s.series.len())
            .sum()
    }

    pub fn instances(&self) -> usize {
        self.patients
            .iter()
            .flat_map(|p| &p.studies)
            .flat_map(|s| &s.series)
            .map(|s| s.instances)
            .sum()
    }

    /// Adds one instance, in volume order: `new_study` / `new_series` open the next study or
    /// series; `folder` is the series' folder on the volume.
    pub fn add(&mut self, src: &SourceFile, new_study: bool, new_series: bool, folder: &str) {
        let text = |t| super::text::decoded_key(src, t);
        if self.patients.is_empty() {
            self.patients.push(PatientEntry {
                name: person_name(&text(tag::PATIENT_NAME)),
                id: text(tag::PATIENT_ID),
                birth_date: text(tag::PATIENT_BIRTH_DATE),
                sex: text(tag::PATIENT_SEX),
                studies: Vec::new(),
            });
        }
        let Some(patient) = self.patients.last_mut() else {
            return;
        };
        if new_study || patient.studies.is_empty() {
            patient.studies.push(StudyEntry {
                date: text(tag::STUDY_DATE),
                time: text(tag::STUDY_TIME),
                description: text(tag::STUDY_DESCRIPTION),
                accession: text(tag::ACCESSION_NUMBER),
                study_id: text(tag::STUDY_ID),
                series: Vec::new(),
            });
        }
        let Some(study) = patient.studies.last_mut() else {
            return;
        };
        if new_series || study.series.is_empty() {
            study.series.push(SeriesEntry {
                number: text(tag::SERIES_NUMBER),
                modality: text(tag::MODALITY),
                description: text(tag::SERIES_DESCRIPTION),
                instances: 0,
                folder: folder.to_string(),
            });
        }
        if let Some(series) = study.series.last_mut() {
            series.instances += 1;
        }
    }
}

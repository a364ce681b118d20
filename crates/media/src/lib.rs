//! The Media AE: from the instances of one patient, disc volumes that every DICOM reader
//! opens — File IDs, the DICOMDIR, volume planning across discs, and the ISO 9660 image.
//!
//! For: [`export`] (the engine used by `dcmdisc export`), [`dicomdir`] (Basic Directory
//! encoding with exact offsets), [`records`] (SOP class → record type and record keys, from
//! `data/dicomdir-records.tsv`), [`plan`] (volume spanning) and [`iso9660`] (our Level 1
//! writer).
//!
//! Not for: receiving instances or deciding what a collection is (the archive does that), pixel
//! transcoding (plugged in through [`export::Converter`]), burning discs, or general-purpose ISO
//! authoring (no Joliet, Rock Ridge, El Torito, or names beyond ISO 9660 Level 1).

pub mod dicomdir;
pub mod export;
pub mod plan;
pub mod records;

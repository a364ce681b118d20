//! The Media AE: from the instances of one patient, disc volumes that every DICOM reader
//! opens — File IDs, the DICOMDIR, volume planning across discs, and the ISO 9660 image.
//!
//! For: [`export`] (the engine used by `dcmdisc export`), [`dicomdir`] (Basic Directory
//! encoding with exact offsets), [`records`] (SOP class → record type and record keys, from
//! `data/dicomdir-records.tsv`), [`plan`] (volume spanning), [`dicomdir_read`] (a DICOMDIR
//! read back, its offsets checked) and [`validate`] (a written volume read back and held
//! against the plan, with the image's SHA-256), [`pdi`] (the volume's own files: README.TXT,
//! INDEX.HTM, AUTORUN.INF, the validation report and MANIFEST.TXT, sized before planning);
//! [`read_ahead`] (the next source files asked of the disk ahead of their reader); the image
//! itself is written and read by the `dcmdisc-iso9660` crate.
//!
//! Media knows nothing of the archive: the application layer hands it file paths.
//!
//! Not for: receiving instances or deciding what a collection is (the archive does that), pixel
//! transcoding (plugged in through [`export::Converter`]) or burning discs.

pub mod dicomdir;
pub mod dicomdir_read;
pub mod export;
mod left_out;
pub mod pdi;
pub mod plan;
mod profile;
pub mod read_ahead;
mod record_items;
mod record_keys;
pub mod records;
mod source;
pub mod validate;
mod volume;

pub use volume::fileset_id;

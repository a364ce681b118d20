//! Media AE building blocks: turning a prepared DICOM File-set into disc volumes.
//!
//! For: writing ISO 9660 images of a File-set tree ([`iso9660`]), and — as they land — the
//! DICOMDIR and the volume planner that splits a collection across discs.
//!
//! Not for: reading or parsing DICOM instances, talking to the network or the archive,
//! burning discs, or general-purpose ISO authoring (no Joliet, Rock Ridge, El Torito, or
//! names beyond ISO 9660 Level 1). Callers hand this crate ISO-ready names and sources.

pub mod iso9660;

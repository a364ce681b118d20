//! Media AE: DICOMDIR, volume planning and the ISO 9660 writer (not yet built).

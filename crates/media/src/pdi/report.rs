//! VALIDATE.TXT: what our own reader checked of the volume's content before the image was
//! written (issue 12 item 7), in plain words, with what it did *not* check. ASCII, CRLF, no
//! patient data (a valid volume has no problem lines; an invalid one is never written).

use std::fmt::Write;

use crate::validate::ValidationReport;

use super::catalog::Disc;
use super::text::{ascii, date};
use super::{MANIFEST, REPORT};

/// `HHMMSS` as `HH:MM:SS`.
pub(crate) fn clock(tm: &str) -> String {
    match (tm.get(..2), tm.get(2..4), tm.get(4..6)) {
        (Some(h), Some(m), Some(s)) => format!("{h}:{m}:{s}"),
        _ => ascii(tm, 8),
    }
}

pub(crate) fn render(disc: &Disc, r: &ValidationReport) -> String {
    let mut t = String::new();
    let mut line = |s: &str| {
        let _ = write!(t, "{s}\r\n");
    };
    line(&format!("{REPORT}: CHECKS OF THIS DISC'S CONTENT"));
    line("===========================================");
    line("");
    line(&format!(
        "Made by {} on {} {} UTC, disc {} of {},",
        ascii(&disc.application, 40),
        date(&disc.created.0),
        clock(&disc.created.1),
        disc.number,
        disc.count,
    ));
    line(&format!("File-set ID {}.", ascii(&disc.fileset_id, 16)));
    line("Read by dcmdisc's own DICOMDIR reader, not by the code that wrote the DICOMDIR,");
    line("from the files exactly as they went into the disc image.");
    line("");
    if r.is_valid() {
        line("RESULT: PASSED, no problem found.");
    } else {
        line(&format!("RESULT: FAILED, {} problems:", r.problems.len()));
        for p in &r.problems {
            line(&format!("  - {}", ascii(p, 300)));
        }
    }
    line("");
    line("CHECKED");
    line("- DICOMDIR: parses as a Basic Directory in Explicit VR Little Endian; every offset");
    line("  lands on a record; every record is reached from the root.");
    let types: Vec<String> = r
        .record_types
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    line(&format!("- Records: {} in all.", r.records));
    for chunk in types.chunks(4) {
        line(&format!("    {}", ascii(&chunk.join(", "), 74)));
    }
    line("- Record types: each one PS3.3 Annex F defines, none the DRG patient-CD");
    line("  catalogue forbids, each at its level (PATIENT, STUDY, SERIES, instance).");
    line(&format!(
        "- Type 1 keys: {} present, none empty (PS3.3 Annex F, profile {});",
        r.type1_keys,
        ascii(disc.profile, 20)
    ));
    line("  keys that are sequences are not read by this reader and were not checked.");
    line(&format!(
        "- Files: {} instance records; each Referenced File ID names a file on the disc",
        r.instance_records
    ));
    line("  whose File Meta has the record's SOP Class, SOP Instance and Transfer Syntax");
    line("  UIDs; every file under DICOM/ is referenced exactly once.");
    line(&format!(
        "- Plan: the instances are those planned for this disc; {} PATIENT record.",
        r.patient_records
    ));
    line("");
    line("NOT CHECKED HERE");
    line("- The instances' own content against their IODs (dciodvfy does that).");
    line(&format!(
        "- {MANIFEST}, written after this report, and the disc image itself: after the"
    ));
    line("  image was written it was read back by dcmdisc's ISO 9660 reader and these checks");
    line(&format!(
        "  were repeated, with every hash of {MANIFEST}; a disc that failed was removed."
    ));
    t
}

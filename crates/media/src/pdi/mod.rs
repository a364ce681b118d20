//! The files of a volume besides its DICOM instances and DICOMDIR (the IHE PDI frame):
//! `README.TXT`, `INDEX.HTM`, `AUTORUN.INF`, the validation report `VALIDATE.TXT` and the
//! `MANIFEST.TXT` of SHA-256 hashes. Each is generated from the volume's own content (a
//! [`Disc`]), has an 8.3 upper-case name at the root, is not DICOM and is not in the
//! DICOMDIR. [`budget`] bounds their size before instances are placed, so the planner keeps
//! every volume within its capacity.
//!
//! Order matters: README, INDEX and AUTORUN first; the report once the DICOMDIR and every
//! file have been read back (`validate::validate_planned`); the MANIFEST last, over all
//! the others.

pub mod budget;
mod catalog;
mod index;
pub(crate) mod manifest;
mod readme;
mod report;
pub(crate) mod text;
pub mod viewers;
pub mod web;

pub use catalog::{Disc, PatientEntry, SeriesEntry, StudyEntry};
pub use viewers::{ViewerError, ViewerFile, ViewerFolder};

use crate::validate::ValidationReport;

pub const README: &str = "README.TXT";
pub const INDEX: &str = "INDEX.HTM";
pub const AUTORUN: &str = "AUTORUN.INF";
pub const REPORT: &str = "VALIDATE.TXT";
pub const MANIFEST: &str = "MANIFEST.TXT";

/// What the configuration says about the volume's own files (`[media]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdiOptions {
    /// The institution that made the disc (README.TXT, INDEX.HTM); empty: not configured.
    pub institution: String,
    /// Whom to ask about the disc; empty: not configured.
    pub contact: String,
    /// `[media] web_content`: IHE_PDI web content (pages and renderings, `web`) on the
    /// volume; INDEX.HTM and README.TXT are written either way (PDI requires them).
    pub web_content: bool,
    /// What the export left off this patient's discs, one line each (the instance and why).
    /// README.TXT and INDEX.HTM list it; filled by whoever decides what is left out.
    pub left_out: Vec<String>,
    /// `[media] viewer_folder`: a third-party viewer copied opaque to `VIEWERS/` on every
    /// volume (`viewers.rs`), as read at the start of the export.
    pub viewers: Option<ViewerFolder>,
}

/// One generated file: its path on the volume and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

/// One entry of "what is on this disc", shared by README.TXT and INDEX.HTM so they agree.
pub(crate) struct Entry {
    /// As recorded on the volume (upper case); a folder ends with `/`.
    pub name: &'static str,
    pub what: &'static str,
}

/// Everything at the root of a volume, in the order the README and the index list it:
/// with the IHE_PDI web content when `options.web_content` says the volume holds it, and
/// VIEWERS/ when a viewer folder is configured.
pub(crate) fn entries(options: &PdiOptions) -> Vec<Entry> {
    let mut all = vec![
        Entry {
            name: INDEX,
            what: "this disc's index: open it in a web browser",
        },
        Entry {
            name: README,
            what: "how the disc is organised (no patient data)",
        },
        Entry {
            name: "DICOMDIR",
            what: "the DICOM directory: open it with any DICOM viewer",
        },
        Entry {
            name: "DICOM/",
            what: "the DICOM files (folder and file names carry no meaning)",
        },
        Entry {
            name: REPORT,
            what: "the checks made on this disc's content before it was written",
        },
        Entry {
            name: MANIFEST,
            what: "SHA-256 of every other file (sha256sum -c MANIFEST.TXT)",
        },
        Entry {
            name: AUTORUN,
            what: "asks Windows to open INDEX.HTM; starts no program",
        },
    ];
    if options.web_content {
        all.insert(
            1,
            Entry {
                name: web::ENTRY,
                what: "the images and reports as web pages, for any browser",
            },
        );
        all.insert(
            2,
            Entry {
                name: "VIEWER/HELP.HTM",
                what: "how to use the image viewer of those pages",
            },
        );
    }
    if options.viewers.is_some() {
        all.push(Entry {
            name: "VIEWERS/",
            what: "a DICOM viewer program, copied as its maker supplied it",
        });
    }
    all
}

/// "DICOM PLUS WEB" when the volume holds web content, else "DICOM ONLY" (IHE PDI's label
/// wording; README.TXT, INDEX.HTM and the label say the same).
pub fn content_kind(web: bool) -> &'static str {
    if web {
        "DICOM PLUS WEB"
    } else {
        "DICOM ONLY"
    }
}

/// README.TXT, INDEX.HTM and AUTORUN.INF of a volume.
pub fn front_files(disc: &Disc) -> Vec<ExtraFile> {
    vec![
        ExtraFile {
            name: README,
            bytes: readme::render(disc).into_bytes(),
        },
        ExtraFile {
            name: INDEX,
            bytes: index::render(disc).into_bytes(),
        },
        ExtraFile {
            name: AUTORUN,
            bytes: autorun(disc).into_bytes(),
        },
    ]
}

/// VALIDATE.TXT: what the checks before imaging found.
pub fn report_file(disc: &Disc, report: &ValidationReport) -> ExtraFile {
    ExtraFile {
        name: REPORT,
        bytes: report::render(disc, report).into_bytes(),
    }
}

/// AUTORUN.INF: only opens INDEX.HTM with the reader's own browser (`shellexecute`, no
/// program of ours); the label is the File-set ID, which holds no patient data. Windows no
/// longer runs it from a CD by default, so nothing relies on it.
fn autorun(disc: &Disc) -> String {
    format!(
        "[autorun]\r\nshellexecute={INDEX}\r\nlabel={}\r\n",
        text::ascii(&disc.fileset_id, 32)
    )
}

#[cfg(test)]
mod tests;

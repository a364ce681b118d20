//! The disc's viewer (issue 12 item 4, docs/viewer.md): `VIEWER/VIEWER.TXT`, one classic
//! script that turns a series page into a stack viewer over its JPEGs and, on request, over
//! the disc's DICOM files (exact mode), and `VIEWER/HELP.HTM`. The same bytes on every
//! volume: they are sources of this crate (`viewer/`), not generated.

use super::volume::WebFile;

pub(crate) const FOLDER: &str = "VIEWER";
/// The script (stored as text, `mod.rs` says why).
const SCRIPT: &str = include_str!("viewer/viewer.js");
const HELP: &str = include_str!("viewer/help.htm");

/// The viewer's files, as they go on every volume with web content.
pub(crate) fn files() -> [WebFile; 2] {
    [
        WebFile {
            path: format!("{FOLDER}/VIEWER.TXT"),
            bytes: SCRIPT.as_bytes().to_vec(),
        },
        WebFile {
            path: format!("{FOLDER}/HELP.HTM"),
            bytes: HELP.as_bytes().to_vec(),
        },
    ]
}

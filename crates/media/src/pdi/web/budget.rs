//! What the web content may take on a volume, known before instances are placed (issue 12
//! item 9): each instance's own files, page block and SERIES.TXT line exactly (it was
//! rendered first, `mod.rs`), the viewer's files exactly (the same on every volume), the
//! pages of the index, of a study and of a series and the thumbnails bounded from
//! worst-case values as `pdi/budget.rs` bounds the root files. Every file is counted
//! in whole sectors with its directory records (primary and Joliet) and its MANIFEST.TXT
//! line; every folder with its extents.

use super::super::budget::{worst_disc, worst_series, worst_study};
use super::super::manifest;
use super::super::PdiOptions;
use super::pages;
use super::volume::WebFile;
use super::{Content, Prepared, FOLDER, THUMB_MAX_BYTES};
use crate::profile::SECTOR;

/// A file's directory records: primary (8.3 name, at most 48 bytes) and Joliet (at most 62).
const FILE_RECORDS: u64 = 48 + 62;
/// A folder: its records in its parent, `.` and `..` in both trees, its extents' rounding in
/// both trees and its path table entries.
const FOLDER_COST: u64 = 3 * SECTOR + 256;
/// The longest path of a web file (`IHE_PDI/ST000001/SE000001/F0000001.JPG`).
const LONGEST_PATH: &str = "IHE_PDI/ST000001/SE000001/F0000001.JPG";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebReserve {
    pub per_volume: u64,
    /// A study's or a series' part (pages, thumbnail, folder), whichever is larger.
    pub per_group: u64,
}

/// A file of `len` bytes on the volume, with its records and MANIFEST line.
fn file(len: u64) -> u64 {
    len.div_ceil(SECTOR) * SECTOR + FILE_RECORDS + manifest::line_len(LONGEST_PATH)
}

/// A page made of `len` bytes of parts, rounded to sectors.
fn page(len: usize) -> u64 {
    file(len as u64) + SECTOR
}

pub fn reserve(options: &PdiOptions, profile: &'static str) -> WebReserve {
    if !options.web_content {
        return WebReserve::default();
    }
    let disc = worst_disc(options, profile);
    let patient = &disc.patients[0];
    let (study, series) = (worst_study(), worst_series());
    let per_volume = page(pages::web_head(&disc).len() + pages::LIST_END.len() + pages::TAIL.len())
        + FOLDER_COST
        + super::viewer::files()
            .iter()
            .map(|f| file(f.bytes.len() as u64))
            .sum::<u64>()
        + FOLDER_COST;
    let study_part = page(
        pages::study_head(patient, usize::MAX, &study).len()
            + pages::TABLE_END.len()
            + pages::TAIL.len(),
    ) + FOLDER_COST
        + pages::web_study_row(usize::MAX, &study, usize::MAX).len() as u64;
    let series_part = page(
        pages::series_head(patient, &study, usize::MAX, &series).len()
            + pages::SERIES_SCRIPTS.len()
            + pages::TAIL.len(),
    ) + page(pages::SERIES_DATA_HEAD.len())
        + file(THUMB_MAX_BYTES)
        + FOLDER_COST
        + pages::study_series_row(usize::MAX, &series, true).len() as u64;
    WebReserve {
        per_volume,
        per_group: study_part.max(series_part),
    }
}

/// The bytes an instance adds to its volume's web content: its files, its block on the
/// series page and its line in SERIES.TXT (exact: names are fixed-width).
pub(crate) fn instance_cost(p: &Prepared) -> u64 {
    let block = (pages::instance_block(p, 1, 1).len() + pages::series_entry(p).len()) as u64;
    let files: u64 = match &p.content {
        Content::Frames(r) => r
            .frames
            .iter()
            .chain(r.extra.iter().flatten())
            .map(|f| file(f.jpeg.len() as u64))
            .sum(),
        Content::Sr { page, .. } => file(page.len() as u64),
        Content::Pdf { document, .. } => file(document.len() as u64),
        Content::Svg { svg, .. } => file(svg.len() as u64),
        Content::NotShown(_) => 0,
    };
    block + files
}

/// What a volume's web content takes, as the reserve counts it: every file, every folder.
pub(crate) fn used(files: &[WebFile]) -> u64 {
    let mut folders = std::collections::BTreeSet::new();
    let mut total = 0;
    for f in files {
        total += (f.bytes.len() as u64).div_ceil(SECTOR) * SECTOR
            + FILE_RECORDS
            + manifest::line_len(&f.path);
        let mut p = f.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            folders.insert(parent);
            p = parent;
        }
    }
    debug_assert!(folders
        .iter()
        .all(|d| d.starts_with(FOLDER) || *d == super::viewer::FOLDER));
    total + folders.len() as u64 * FOLDER_COST
}

/// The most the planner allowed a volume's web content of `groups` studies and series and
/// these instances.
pub(crate) fn allowed(r: &WebReserve, groups: usize, instances: u64) -> u64 {
    r.per_volume + groups as u64 * r.per_group + instances
}

#[cfg(test)]
/// Names used above, kept fixed-width (checked by a test).
pub(crate) fn names_are_fixed_width() -> bool {
    use super::pages::{frame_name, object_name};
    frame_name(1).len() == frame_name(9_999_999).len()
        && object_name(1, "HTM").len() == object_name(9_999_999, "PDF").len()
        && frame_name(1).len() + "IHE_PDI/ST000001/SE000001/".len() == LONGEST_PATH.len()
}

//! The web content files of one volume, from the prepared instances on it (`mod.rs`) and
//! the volume's catalogue (the same `Disc` its INDEX.HTM is made from).

use std::path::Path;

use super::super::catalog::{Disc, PatientEntry, StudyEntry};
use super::pages::{self, frame_name, object_name, preset_frame_name, series_dir, study_dir};
use super::{Content, Prepared, WebRenderer, ENTRY, FOLDER, THUMB_MAX_BYTES};

/// One file of the web content: its path on the volume and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The volume's studies as the catalogue has them, each with its patient.
fn studies(disc: &Disc) -> Vec<(&PatientEntry, &StudyEntry)> {
    disc.patients
        .iter()
        .flat_map(|p| p.studies.iter().map(move |s| (p, s)))
        .collect()
}

/// The web content of a volume. `groups` holds, per study and series of `disc` in order,
/// the indices (into `prepared` and `paths`) of the instances on the volume.
pub(crate) fn volume_files(
    disc: &Disc,
    groups: &[Vec<Vec<usize>>],
    prepared: &[Prepared],
    paths: &[&Path],
    renderer: &dyn WebRenderer,
) -> Vec<WebFile> {
    let mut out = Vec::new();
    let mut index = pages::web_head(disc);
    for (st_no, ((patient, study), series_groups)) in
        studies(disc).into_iter().zip(groups).enumerate()
    {
        let st_no = st_no + 1;
        index.push_str(&pages::web_study_row(st_no, study, study.series.len()));
        let st_dir = format!("{FOLDER}/{}", study_dir(st_no));
        let mut study_page = pages::study_head(patient, st_no, study);
        for (se_no, (series, members)) in study.series.iter().zip(series_groups).enumerate() {
            let se_no = se_no + 1;
            let dir = format!("{st_dir}/{}", series_dir(se_no));
            let mut page = pages::series_head(patient, study, st_no, series);
            let mut data = pages::SERIES_DATA_HEAD.to_string();
            let mut frame = 1;
            for (k, &m) in members.iter().enumerate() {
                let p = &prepared[m];
                page.push_str(&pages::instance_block(p, frame, k + 1));
                data.push_str(&pages::series_entry(p));
                match &p.content {
                    Content::Frames(r) => {
                        for (i, f) in r.frames.iter().enumerate() {
                            out.push(WebFile {
                                path: format!("{dir}/{}", frame_name(frame + i)),
                                bytes: f.jpeg.clone(),
                            });
                        }
                        for (e, set) in r.extra.iter().enumerate() {
                            for (i, f) in set.iter().enumerate() {
                                out.push(WebFile {
                                    path: format!("{dir}/{}", preset_frame_name(e, frame + i)),
                                    bytes: f.jpeg.clone(),
                                });
                            }
                        }
                        frame += r.frames.len();
                    }
                    Content::Sr { page, .. } => out.push(WebFile {
                        path: format!("{dir}/{}", object_name(k + 1, "HTM")),
                        bytes: page.clone().into_bytes(),
                    }),
                    Content::Pdf { document, .. } => out.push(WebFile {
                        path: format!("{dir}/{}", object_name(k + 1, "PDF")),
                        bytes: document.clone(),
                    }),
                    Content::Svg { svg, .. } => out.push(WebFile {
                        path: format!("{dir}/{}", object_name(k + 1, "SVG")),
                        bytes: svg.clone().into_bytes(),
                    }),
                    Content::NotShown(_) => {}
                }
            }
            page.push_str(pages::SERIES_SCRIPTS);
            page.push_str(pages::TAIL);
            out.push(WebFile {
                path: format!("{dir}/INDEX.HTM"),
                bytes: page.into_bytes(),
            });
            out.push(WebFile {
                path: format!("{dir}/{}", pages::SERIES_DATA),
                bytes: data.into_bytes(),
            });
            let thumb = thumbnail(members, prepared, paths, renderer);
            study_page.push_str(&pages::study_series_row(se_no, series, thumb.is_some()));
            if let Some(bytes) = thumb {
                out.push(WebFile {
                    path: format!("{dir}/THUMB.JPG"),
                    bytes,
                });
            }
        }
        study_page.push_str(pages::TABLE_END);
        study_page.push_str(pages::TAIL);
        out.push(WebFile {
            path: format!("{st_dir}/INDEX.HTM"),
            bytes: study_page.into_bytes(),
        });
    }
    index.push_str(pages::LIST_END);
    index.push_str(pages::TAIL);
    out.push(WebFile {
        path: ENTRY.to_string(),
        bytes: index.into_bytes(),
    });
    out.extend(super::viewer::files());
    out
}

/// The series' thumbnail: its middle rendered image on this volume, if it fits the bound
/// the planner kept for it.
fn thumbnail(
    members: &[usize],
    prepared: &[Prepared],
    paths: &[&Path],
    renderer: &dyn WebRenderer,
) -> Option<Vec<u8>> {
    let images: Vec<usize> = members
        .iter()
        .copied()
        .filter(|&m| matches!(prepared[m].content, Content::Frames(_)))
        .collect();
    let &m = images.get(images.len() / 2)?;
    renderer
        .thumbnail(paths[m])
        .ok()
        .filter(|t| t.len() as u64 <= THUMB_MAX_BYTES)
}

//! The IHE_PDI web content of a volume (issue 12 items 3 and 4): XHTML pages and JPEG
//! renderings derived from the instances on *that* volume, for any browser, from the disc,
//! with no CSS and no network reference; the series pages work with no script and upgrade
//! into the stack viewer (`VIEWER/`, `viewer.rs`, docs/viewer.md) when scripts run.
//!
//! ```text
//! IHE_PDI/INDEX.HTM                    the studies of the volume (linked from the root INDEX.HTM)
//! IHE_PDI/ST000001/INDEX.HTM           a study: its series, a thumbnail each
//! IHE_PDI/ST000001/SE000001/INDEX.HTM  a series: its instances, every frame in order
//! IHE_PDI/ST000001/SE000001/SERIES.TXT the series' data for the viewer (a classic script)
//! IHE_PDI/ST000001/SE000001/THUMB.JPG  the series' thumbnail (its middle image on this volume)
//! IHE_PDI/ST000001/SE000001/F0000001.JPG  one JPEG per frame at the default window
//! IHE_PDI/ST000001/SE000001/A0000001.JPG  … at the 2nd preset (B…, C…: 3rd, 4th), room allowing
//! IHE_PDI/ST000001/SE000001/I0000001.HTM  an SR's content tree as XHTML
//! IHE_PDI/ST000001/SE000001/I0000001.PDF  an Encapsulated PDF's document
//! IHE_PDI/ST000001/SE000001/I0000001.SVG  a waveform (ECG) as on paper
//! VIEWER/VIEWER.TXT                    the viewer, and VIEWER/HELP.HTM its help
//! ```
//!
//! Scripts are stored as `.TXT`: Windows runs a `.JS` file that is double-clicked (Windows
//! Script Host), and nothing but `VIEWERS/` may hold a program (issue 12 item 6); browsers
//! run a classic script whatever its name (checked in both from `file://`).
//!
//! Every name is 8.3 upper case and every link is written exactly as the name is recorded.
//! Numbers are fixed-width, so a page's size does not depend on where an instance lands.
//!
//! Capacity (issue 12 item 9): rendering is deterministic, so every instance is rendered
//! *before* planning ([`prepare`], on every core) and the planner is given the real bytes of
//! its JPEGs, SR page or PDF and of its block on the series page. The study, series and
//! index pages and the thumbnails are bounded from worst-case values (`budget.rs`), as the
//! root files are. Rendering first costs memory (the JPEGs are kept in memory for the whole
//! export: about 5 % of the DICOM bytes for CT, measured in docs/performance.md) but no
//! second rendering and no guess: a bound on JPEG size would have to be the raw frame size,
//! ten times too pessimistic, and would split discs that fit.
//!
//! Pixels are rendered by a [`WebRenderer`] the binary provides (crates/render), as
//! conversions are by a `Converter`: media knows no pixel codec.

pub(crate) mod budget;
mod ecg;
mod object;
mod pages;
mod viewer;
mod volume;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use crate::source::SourceFile;

pub(crate) use volume::{volume_files, WebFile};

/// The folder of the web content, and its entry page.
pub const FOLDER: &str = "IHE_PDI";
pub const ENTRY: &str = "IHE_PDI/INDEX.HTM";
/// The largest thumbnail kept (bytes); a larger one is left out of its page.
pub const THUMB_MAX_BYTES: u64 = 48 * 1024;
/// Thumbnails fit in this many pixels square.
pub const THUMB_PIXELS: usize = 128;

/// One frame rendered at one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub jpeg: Vec<u8>,
    pub width: usize,
    pub height: usize,
}

/// The most window presets rendered besides the default one (their JPEGs are named
/// `A…`, `B…`, `C…`: docs/viewer.md). A preset beyond them is still offered by the
/// viewer's exact mode.
pub const EXTRA_PRESETS: usize = 3;
/// The most presets an instance's viewer data lists.
pub const LISTED_PRESETS: usize = 8;

/// A window of a preset, for the viewer's exact mode (PS3.3 C.11.2.1.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewWindow {
    pub center: f64,
    pub width: f64,
    /// VOI LUT Function: LINEAR, LINEAR_EXACT or SIGMOID.
    pub function: &'static str,
}

/// One of an instance's window presets, as the viewer offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetFacts {
    pub label: String,
    /// `None` for a VOI LUT (exact mode then reads the LUT from the file).
    pub window: Option<ViewWindow>,
}

/// What the viewer needs of an image instance besides its JPEGs (SERIES.TXT).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFacts {
    pub rows: usize,
    pub columns: usize,
    /// Pixel Spacing (row, column) in mm.
    pub spacing: Option<(f64, f64)>,
    /// Each frame's place along its stack in mm.
    pub positions: Vec<Option<f64>>,
    /// Image Orientation (Patient): the row and column direction cosines.
    pub orientation: Option<[f64; 6]>,
    pub presets: Vec<PresetFacts>,
    pub modality: String,
}

/// Every frame of an image instance at its default window, and at its other presets.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendering {
    pub frames: Vec<Rendered>,
    /// Per extra preset (the instance's 2nd, 3rd… up to [`EXTRA_PRESETS`]), every frame.
    pub extra: Vec<Vec<Rendered>>,
    pub facts: ImageFacts,
}

/// Renders images for the web content; provided by the binary (crates/render).
pub trait WebRenderer: Sync {
    /// Every frame of the instance at `path`, in frame order, as baseline JPEG at the
    /// instance's default window, and at up to [`EXTRA_PRESETS`] of its other presets. The
    /// same file gives the same bytes.
    fn render(&self, path: &Path) -> Result<Rendering, String>;
    /// Frame 1 fitted into [`THUMB_PIXELS`] square, as JPEG.
    fn thumbnail(&self, path: &Path) -> Result<Vec<u8>, String>;
}

/// For callers without a renderer: the pages are written, every image says "not rendered".
pub struct NoRenderer;

impl WebRenderer for NoRenderer {
    fn render(&self, _: &Path) -> Result<Rendering, String> {
        Err("no renderer available".into())
    }
    fn thumbnail(&self, _: &Path) -> Result<Vec<u8>, String> {
        Err("no renderer available".into())
    }
}

/// Everything the volume writer needs for the web content: each placed instance's prepared
/// content (by its index in the export's order), the renderer (for thumbnails) and the
/// reserve the planner kept.
pub(crate) struct WebPlan<'a> {
    pub prepared: Vec<Prepared>,
    pub renderer: &'a dyn WebRenderer,
    pub reserve: budget::WebReserve,
}

/// What the web content shows of one instance, made before planning.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    Frames(Box<Rendering>),
    /// The whole SR page (it names nothing that depends on the instance's place).
    Sr {
        title: String,
        page: String,
    },
    Pdf {
        title: String,
        document: Vec<u8>,
    },
    /// A waveform drawn as on ECG paper (`ecg.rs`), with a line saying what it shows.
    Svg {
        what: String,
        svg: String,
    },
    /// Why nothing is shown (the page says so; the disc is made all the same).
    NotShown(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub content: Content,
    /// Instance Number as recorded (may be empty).
    pub number: String,
    /// SOP Instance UID (the viewer's exact mode finds the instance's file by it).
    pub uid: String,
}

impl Prepared {
    fn not_shown(why: &str) -> Prepared {
        Prepared {
            content: Content::NotShown(why.into()),
            number: String::new(),
            uid: String::new(),
        }
    }

    /// Takes out the renderings of the other presets (the planner's first economy).
    pub(crate) fn take_extra(&mut self) -> Vec<Vec<Rendered>> {
        match &mut self.content {
            Content::Frames(r) => std::mem::take(&mut r.extra),
            _ => Vec::new(),
        }
    }

    /// Puts back what [`Prepared::take_extra`] took.
    pub(crate) fn put_extra(&mut self, extra: Vec<Vec<Rendered>>) {
        if let Content::Frames(r) = &mut self.content {
            r.extra = extra;
        }
    }

    pub(crate) fn has_extra_presets(&self) -> bool {
        matches!(&self.content, Content::Frames(r) if !r.extra.is_empty())
    }
}

/// The web content of one instance.
fn prepare_one(src: &SourceFile, renderer: &dyn WebRenderer) -> Prepared {
    let number = src
        .keys
        .string(dcmdisc_dicom::tag::INSTANCE_NUMBER)
        .unwrap_or_default();
    let content = match object::kind(&src.sop_class()) {
        object::Kind::Image => match renderer.render(&src.path) {
            Ok(r) if !r.frames.is_empty() => Content::Frames(Box::new(r)),
            Ok(_) => Content::NotShown("the instance has no frames".into()),
            Err(e) => Content::NotShown(format!("the image could not be rendered: {e}")),
        },
        object::Kind::Sr => match object::sr_tree(&src.path) {
            Ok(tree) => {
                let title = pages::or(&tree.concept, "Structured report");
                Content::Sr {
                    page: pages::sr_page(src, &tree),
                    title,
                }
            }
            Err(e) => Content::NotShown(format!("the report could not be read: {e}")),
        },
        object::Kind::Pdf => match object::pdf(&src.path) {
            Ok(document) => Content::Pdf {
                title: pages::document_title(src),
                document,
            },
            Err(e) => Content::NotShown(format!("the document could not be extracted: {e}")),
        },
        object::Kind::Waveform => match ecg::svg(&src.path) {
            Ok((svg, what)) => Content::Svg { what, svg },
            Err(e) => Content::NotShown(format!("a waveform that could not be drawn: {e}")),
        },
    };
    Prepared {
        content,
        number,
        uid: src.sop_instance(),
    }
}

/// The web content of every instance in `sources`, in their order, on every core. `progress`
/// gets ("rendering", done, total) from this thread; `Break` stops it (`None`).
pub(crate) fn prepare(
    sources: &[&SourceFile],
    renderer: &dyn WebRenderer,
    progress: &mut dyn FnMut(&str, u64, u64) -> ControlFlow<()>,
) -> Option<Vec<Prepared>> {
    let total = sources.len();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, total.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Prepared>>> = Mutex::new(vec![None; total]);
    let (tx, rx) = mpsc::channel::<()>();
    let cancelled = std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop, results) = (&next, &stop, &results);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || stop.load(Ordering::Relaxed) {
                    break;
                }
                // A defect in a decoder must not cost the patient the disc: the page says so.
                let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    prepare_one(sources[i], renderer)
                }))
                .unwrap_or_else(|_| Prepared::not_shown("rendering failed"));
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(p);
                }
                let _ = tx.send(());
            });
        }
        drop(tx);
        let mut done = 0u64;
        let mut cancelled = progress("rendering", 0, total as u64).is_break();
        while !cancelled && rx.recv().is_ok() {
            done += 1;
            cancelled = progress("rendering", done, total as u64).is_break();
        }
        stop.store(cancelled, Ordering::Relaxed);
        cancelled
    });
    if cancelled {
        return None;
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    Some(
        results
            .into_iter()
            .map(|p| {
                // A worker that panicked left its instance out: say so on the page.
                p.unwrap_or_else(|| Prepared::not_shown("rendering failed"))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;

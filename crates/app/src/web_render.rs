//! The images of a disc's web content (issue 12 item 3), made by crates/render for the media
//! engine's [`WebRenderer`]: one baseline JPEG per frame at the instance's default window
//! and at up to three of its other presets, what the viewer needs to know of the image
//! (size, spacing, positions, presets), and a series thumbnail. Large images (radiographs, whole slides) are fitted into
//! [`MAX_PIXELS`] on their long side: a browser shows them no better larger, and a disc
//! holds the full-quality DICOM beside them.

use std::path::Path;

use dcmdisc_media::export::{
    ImageFacts, PresetFacts, Rendered, Rendering, ViewWindow, WebRenderer,
};
use dcmdisc_media::pdi::web::{EXTRA_PRESETS, THUMB_PIXELS};
use dcmdisc_render::{jpeg, Instance, Voi, Window, DEFAULT_QUALITY};

/// The long side of a rendering at most (research note 5: CT/MR stay at full size).
pub const MAX_PIXELS: usize = 2048;

/// Renders with crates/render; stateless, so one serves every worker thread.
pub struct DiscRenderer;

/// Every frame of `inst` at `window`, fitted and as JPEG.
fn frames_at(inst: &Instance, window: &Window) -> Result<Vec<Rendered>, String> {
    (0..inst.frames())
        .map(|f| {
            let img = inst
                .render(f, window)
                .map_err(|e| e.to_string())?
                .fit(MAX_PIXELS);
            Ok(Rendered {
                jpeg: jpeg(&img, DEFAULT_QUALITY).map_err(|e| e.to_string())?,
                width: img.width,
                height: img.height,
            })
        })
        .collect()
}

/// What the viewer is told of `inst` (docs/viewer.md).
fn facts(inst: &Instance) -> ImageFacts {
    ImageFacts {
        rows: inst.rows(),
        columns: inst.columns(),
        spacing: inst.pixel_spacing(),
        positions: (0..inst.frames()).map(|f| inst.position(f)).collect(),
        orientation: inst.orientation(),
        presets: inst
            .presets()
            .iter()
            .map(|p| PresetFacts {
                label: p.label(),
                window: match &p.voi {
                    Voi::Window {
                        center,
                        width,
                        function,
                    } => Some(ViewWindow {
                        center: *center,
                        width: *width,
                        function: function.name(),
                    }),
                    Voi::Lut(_) => None,
                },
            })
            .collect(),
        modality: inst.modality_name().unwrap_or_default().to_string(),
    }
}

impl WebRenderer for DiscRenderer {
    fn render(&self, path: &Path) -> Result<Rendering, String> {
        let inst = Instance::open_path(path).map_err(|e| e.to_string())?;
        let frames = frames_at(&inst, &Window::Default)?;
        // The default window is the first preset; the next ones are the alternatives.
        let others = inst.presets().len().saturating_sub(1).min(EXTRA_PRESETS);
        let extra = (1..=others)
            .map(|n| frames_at(&inst, &Window::Preset(n)))
            .collect::<Result<_, _>>()?;
        Ok(Rendering {
            frames,
            extra,
            facts: facts(&inst),
        })
    }
    fn thumbnail(&self, path: &Path) -> Result<Vec<u8>, String> {
        Instance::open_path(path)
            .and_then(|inst| inst.thumbnail(0, THUMB_PIXELS, DEFAULT_QUALITY))
            .map_err(|e| e.to_string())
    }
}

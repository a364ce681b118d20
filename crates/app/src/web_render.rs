//! The images of a disc's web content (issue 12 item 3), made by crates/render for the media
//! engine's [`WebRenderer`]: one baseline JPEG per frame at the instance's default window,
//! and a series thumbnail. Large images (radiographs, whole slides) are fitted into
//! [`MAX_PIXELS`] on their long side: a browser shows them no better larger, and a disc
//! holds the full-quality DICOM beside them.

use std::path::Path;

use dcmdisc_media::export::{Rendered, WebRenderer};
use dcmdisc_media::pdi::web::THUMB_PIXELS;
use dcmdisc_render::{jpeg, Instance, Window, DEFAULT_QUALITY};

/// The long side of a rendering at most (research note 5: CT/MR stay at full size).
pub const MAX_PIXELS: usize = 2048;

/// Renders with crates/render; stateless, so one serves every worker thread.
pub struct DiscRenderer;

impl WebRenderer for DiscRenderer {
    fn frames(&self, path: &Path) -> Result<Vec<Rendered>, String> {
        let inst = Instance::open_path(path).map_err(|e| e.to_string())?;
        (0..inst.frames())
            .map(|f| {
                let img = inst
                    .render(f, &Window::Default)
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

    fn thumbnail(&self, path: &Path) -> Result<Vec<u8>, String> {
        Instance::open_path(path)
            .and_then(|inst| inst.thumbnail(0, THUMB_PIXELS, DEFAULT_QUALITY))
            .map_err(|e| e.to_string())
    }
}

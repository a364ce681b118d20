//! One DICOM instance turned into display-ready 8-bit frames and JPEG bytes, by the rules of
//! PS3.3 C.7.6.3 / C.11 and the grayscale pipeline of PS3.4 N.2: the base of a disc's web
//! content and of its viewer's exact mode.
//!
//! **For**: reading the pixel module of one Part 10 instance ([`Instance::open`], with the
//! header walk of `dcmdisc-dicom`; compressed syntaxes decoded by `dcmdisc-transcode`), its
//! frames, its window presets with their explanations ([`Instance::presets`]), a frame as an
//! 8-bit gray or RGB buffer at a chosen window ([`Instance::render`] → [`Image`]), its overlay
//! planes as separate 1-bit layers ([`Instance::overlays`]), the modality value of a pixel
//! ([`Instance::modality_value`]), thumbnails and JPEG bytes ([`jpeg`]). Deterministic: the same
//! instance and window give the same bytes on every machine.
//!
//! **Not for**: writing web pages, choosing which frames go on a disc, or planning volumes
//! (crates/media does that); presentation states are not applied yet, and ICC profiles are
//! embedded in the JPEG rather than applied (docs/rendering.md lists what is and is not).
//!
//! ```no_run
//! use dcmdisc_render::{jpeg, Instance, Window};
//!
//! let inst = Instance::open_path(std::path::Path::new("CT_small.dcm"))?;
//! for p in inst.presets() {
//!     println!("{}", p.label());
//! }
//! let frame = inst.render(0, &Window::Default)?;
//! let bytes = jpeg(&frame, 85)?;
//! # Ok::<(), dcmdisc_render::RenderError>(())
//! ```

mod attrs;
mod color;
mod error;
mod image;
mod instance;
mod items;
mod jpeg;
mod lut;
mod overlay;
mod parse;
mod pixels;
mod place;
mod render;
mod segmented;
mod voi;

pub use error::{RenderError, Result};
pub use image::{Format, Image};
pub use instance::Instance;
pub use jpeg::{jpeg, DEFAULT_QUALITY};
pub use lut::Lut;
pub use overlay::{OverlayLayer, OverlayPlane};
pub use parse::Photometric;
pub use voi::{Preset, Voi, VoiFunction, Window};

impl Instance {
    /// The overlay planes that have something on frame `frame`, each as a 1-bit layer of the
    /// frame's size.
    pub fn overlays(&self, frame: usize) -> Result<Vec<OverlayLayer>> {
        let data = self.frame_bytes(frame)?;
        Ok(self
            .overlays
            .iter()
            .filter_map(|p| p.layer(frame, &self.geometry, data))
            .collect())
    }
}

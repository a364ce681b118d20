//! JPEG baseline bytes of a rendered buffer, with the pure-Rust `jpeg-encoder` (no SIMD
//! feature, so the bytes are the same on every CPU: the disc's web content is deterministic).

use jpeg_encoder::{ColorType, Encoder};

use crate::error::{unsupported, Result};
use crate::image::{Format, Image};
use crate::instance::Instance;
use crate::voi::Window;

/// The quality the disc's web content uses unless told otherwise (about 12–25 KB for a
/// 512×512 CT slice: research note 7.3).
pub const DEFAULT_QUALITY: u8 = 85;

/// Encodes `image` as a baseline JFIF JPEG at `quality` (1–100), its ICC profile embedded when
/// it has one, with the standard Huffman
/// tables (JPEG Annex K, as libjpeg and dcmtk write by default). Optimised tables made a 512²
/// CT slice 2.4 % smaller but its encoding about 1.6 times slower (measured with jpeg-encoder
/// 0.7.1), and the web content of a 1000-slice disc is budgeted in seconds.
pub fn jpeg(image: &Image, quality: u8) -> Result<Vec<u8>> {
    let (Ok(w), Ok(h)) = (u16::try_from(image.width), u16::try_from(image.height)) else {
        return Err(unsupported(format!(
            "{}×{} is larger than JPEG allows",
            image.width, image.height
        )));
    };
    let mut out = Vec::with_capacity(image.data.len() / 8 + 1024);
    let mut enc = Encoder::new(&mut out, quality.clamp(1, 100));
    if let Some(icc) = &image.icc {
        // APP2 ICC_PROFILE markers, split as the ICC specification's JFIF embedding says.
        enc.add_icc_profile(icc)?;
    }
    let color = match image.format {
        Format::Gray8 => ColorType::Luma,
        Format::Rgb8 => ColorType::Rgb,
    };
    enc.encode(&image.data, w, h, color)?;
    Ok(out)
}

impl Instance {
    /// Frame `frame` at its default window, fitted into `max` × `max`, as JPEG bytes.
    pub fn thumbnail(&self, frame: usize, max: usize, quality: u8) -> Result<Vec<u8>> {
        jpeg(&self.render(frame, &Window::Default)?.fit(max), quality)
    }
}

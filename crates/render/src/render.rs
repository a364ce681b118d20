//! The grayscale pipeline (PS3.4 N.2.1: Modality LUT → VOI LUT → Presentation LUT) from stored
//! values to 8-bit display values, and the value of a pixel in modality units.

use crate::error::{RenderError, Result};
use crate::image::{Format, Image};
use crate::instance::Instance;
use crate::parse::Modality;
use crate::pixels::Sampler;
use crate::voi::{min_max_window, Voi, VoiFunction, Window};

/// Above this many possible stored values in a frame (only 32-bit data get there) the
/// pipeline runs per pixel instead of through a table of every value.
const MAX_TABLE: i64 = 1 << 20;

/// The VOI a rendering resolved to.
enum Resolved<'a> {
    Window(f64, f64, VoiFunction),
    Lut(&'a crate::lut::Lut),
}

/// Round half up into 0..=255 from a fraction of the output range.
#[inline]
fn to_byte(y: f64) -> u8 {
    (y.clamp(0.0, 1.0) * 255.0 + 0.5).floor() as u8
}

impl Instance {
    /// Renders frame `frame` (0-based) at `window` into an 8-bit buffer: gray for
    /// MONOCHROME1/2, RGB for colour (which has no VOI: the window is ignored).
    pub fn render(&self, frame: usize, window: &Window) -> Result<Image> {
        let data = self.frame_bytes(frame)?;
        if !self.geometry.photometric.is_gray() {
            return self.render_color(data);
        }
        let g = &self.geometry;
        let n = g.rows * g.cols;
        let s = Sampler::new(g);
        // One pass: the range of all stored values (the table's), and of those that are not
        // padding (the automatic window's).
        let pad = self.padding;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        let (mut plo, mut phi) = (i64::MAX, i64::MIN);
        s.each(data, n, |v| {
            lo = lo.min(v);
            hi = hi.max(v);
            if !pad.is_some_and(|(a, b)| v >= a && v <= b) {
                plo = plo.min(v);
                phi = phi.max(v);
            }
        });
        let modality = self.frame_modality(frame);
        let range = || self.modality_range(data, modality, (lo, hi), (plo, phi));
        let voi = self.resolve(frame, window, range)?;
        let invert = self.invert;
        let pipeline = |v: i64| -> u8 {
            let m = modality.apply(v);
            let b = match voi {
                Resolved::Window(c, w, f) => to_byte(f.apply(m, c, w)),
                Resolved::Lut(l) => {
                    let x = (m + 0.5).floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64;
                    to_byte(f64::from(l.lookup(x)) / f64::from(l.max_out()))
                }
            };
            if invert {
                255 - b
            } else {
                b
            }
        };
        let mut out = Vec::with_capacity(n);
        if hi - lo < MAX_TABLE {
            let table: Vec<u8> = (lo..=hi).map(pipeline).collect();
            s.each(data, n, |v| out.push(table[(v - lo) as usize]));
        } else {
            s.each(data, n, |v| out.push(pipeline(v)));
        }
        Ok(Image {
            width: g.cols,
            height: g.rows,
            format: Format::Gray8,
            data: out,
            icc: None,
        })
    }

    fn resolve<'a>(
        &'a self,
        frame: usize,
        window: &Window,
        range: impl FnOnce() -> (f64, f64),
    ) -> Result<Resolved<'a>> {
        let presets = self.frame_presets(frame);
        let from_preset = |i: usize| -> Result<Resolved<'a>> {
            let p = presets.get(i).ok_or_else(|| {
                RenderError::BadWindow(format!("preset {i} of {}", presets.len()))
            })?;
            Ok(match &p.voi {
                Voi::Window {
                    center,
                    width,
                    function,
                } => Resolved::Window(*center, *width, *function),
                Voi::Lut(l) => Resolved::Lut(l),
            })
        };
        match window {
            Window::Default if !presets.is_empty() => from_preset(0),
            Window::Preset(i) => from_preset(*i),
            Window::Linear {
                center,
                width,
                function,
            } => {
                if !function.width_ok(*width) || !center.is_finite() {
                    return Err(RenderError::BadWindow(format!(
                        "width {width} with {}",
                        function.name()
                    )));
                }
                Ok(Resolved::Window(*center, *width, *function))
            }
            Window::Default | Window::MinMax => {
                let (lo, hi) = range();
                let (c, w) = min_max_window(lo, hi);
                Ok(Resolved::Window(c, w, VoiFunction::Linear))
            }
        }
    }

    /// The smallest and largest modality value of the frame's pixels, Pixel Padding left out
    /// (PS3.3 C.7.5.1.1.2: padding is not image; −3024 HU outside a CT's field of view would
    /// otherwise take most of the range). A frame of nothing but padding uses every pixel.
    /// `all` and `image`: the stored-value ranges of every pixel and of the non-padding ones.
    fn modality_range(
        &self,
        data: &[u8],
        modality: &Modality,
        all: (i64, i64),
        image: (i64, i64),
    ) -> (f64, f64) {
        let only_padding = image.0 > image.1;
        let (lo, hi) = if only_padding { all } else { image };
        match modality {
            // Monotonic: the ends of the stored range give the ends of the modality range.
            Modality::Rescale { .. } => {
                let (a, b) = (modality.apply(lo), modality.apply(hi));
                (a.min(b), a.max(b))
            }
            // A LUT need not be monotonic: every pixel's entry.
            Modality::Lut(_) => {
                let g = &self.geometry;
                let pad = if only_padding { None } else { self.padding };
                let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
                Sampler::new(g).each(data, g.rows * g.cols, |v| {
                    if !pad.is_some_and(|(p, q)| v >= p && v <= q) {
                        let m = modality.apply(v);
                        a = a.min(m);
                        b = b.max(m);
                    }
                });
                if a > b {
                    (0.0, 0.0)
                } else {
                    (a, b)
                }
            }
        }
    }

    /// The stored value of pixel (`x`, `y`) of frame `frame`, after Bits Stored masking and
    /// sign extension. Gray images only.
    pub fn stored_value(&self, frame: usize, x: usize, y: usize) -> Result<i64> {
        let g = &self.geometry;
        if !g.photometric.is_gray() {
            return Err(RenderError::BadWindow(
                "a colour image has no modality values".into(),
            ));
        }
        if x >= g.cols || y >= g.rows {
            return Err(RenderError::BadWindow(format!(
                "pixel ({x}, {y}) outside {}×{}",
                g.cols, g.rows
            )));
        }
        let data = self.frame_bytes(frame)?;
        let s = Sampler::new(g);
        Ok(s.value(s.word(data, y * g.cols + x)))
    }

    /// The modality value (Hounsfield units for CT) of pixel (`x`, `y`) of frame `frame`:
    /// the stored value through Rescale Slope/Intercept or the Modality LUT. `None` for
    /// padding.
    pub fn modality_value(&self, frame: usize, x: usize, y: usize) -> Result<Option<f64>> {
        let v = self.stored_value(frame, x, y)?;
        if self.padding.is_some_and(|(a, b)| v >= a && v <= b) {
            return Ok(None);
        }
        Ok(Some(self.frame_modality(frame).apply(v)))
    }
}

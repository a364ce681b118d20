//! Colour images (PS3.3 C.7.6.3.1.2): RGB in either planar configuration, YBR_FULL and
//! uncompressed YBR_FULL_422 to RGB, and PALETTE COLOR through its three LUTs (C.7.6.3.1.5).

use crate::error::Result;
use crate::image::{Format, Image};
use crate::instance::Instance;
use crate::lut::Lut;
use crate::parse::Photometric;
use crate::pixels::Sampler;

/// `v` of `0..=max` scaled to 0..=255, rounded half up.
#[inline]
fn scale(v: i64, max: i64) -> u8 {
    if max == 255 {
        return v.clamp(0, 255) as u8;
    }
    ((v.clamp(0, max) * 255 + max / 2) / max) as u8
}

/// YCbCr (full range, 8-bit) to RGB by the equations of C.7.6.3.1.2 (ITU-R BT.601, no
/// headroom), rounded half up and clamped.
#[inline]
fn ybr_to_rgb(y: i64, cb: i64, cr: i64) -> [u8; 3] {
    let (y, cb, cr) = (y as f64, cb as f64 - 128.0, cr as f64 - 128.0);
    let c = |v: f64| (v + 0.5).floor().clamp(0.0, 255.0) as u8;
    [
        c(y + 1.402 * cr),
        c(y - 0.344136 * cb - 0.714136 * cr),
        c(y + 1.772 * cb),
    ]
}

fn palette_entry(l: &Lut, idx: i64) -> u8 {
    scale(i64::from(l.lookup(idx)), i64::from(l.max_out()))
}

impl Instance {
    pub(crate) fn render_color(&self, data: &[u8]) -> Result<Image> {
        let g = &self.geometry;
        let n = g.rows * g.cols;
        let s = Sampler::new(g);
        let max = (1i64 << g.bits_stored) - 1;
        // RGB of more bits is scaled to 8; YBR is 8-bit only (checked at open).
        let mut out = Vec::with_capacity(n * 3);
        // Sample `c` of pixel `i`: interleaved (R G B R G B) or planar (R… G… B…).
        let sample = |i: usize, c: usize| {
            let k = if g.planar { c * n + i } else { i * 3 + c };
            s.value(s.word(data, k))
        };
        match g.photometric {
            Photometric::Rgb => {
                for i in 0..n {
                    for c in 0..3 {
                        out.push(scale(sample(i, c), max));
                    }
                }
            }
            Photometric::YbrFull => {
                for i in 0..n {
                    let [y, cb, cr] = [sample(i, 0), sample(i, 1), sample(i, 2)];
                    out.extend_from_slice(&ybr_to_rgb(y, cb, cr));
                }
            }
            Photometric::YbrFull422 => {
                // Y1 Y2 Cb Cr for each two pixels of a row; columns are even (checked at open).
                for pair in data[..n * 2].chunks_exact(4) {
                    let (cb, cr) = (i64::from(pair[2]), i64::from(pair[3]));
                    out.extend_from_slice(&ybr_to_rgb(i64::from(pair[0]), cb, cr));
                    out.extend_from_slice(&ybr_to_rgb(i64::from(pair[1]), cb, cr));
                }
            }
            Photometric::PaletteColor => {
                let Some([r, gr, b]) = &self.palette else {
                    return Err(crate::error::unsupported("PALETTE COLOR without its LUTs"));
                };
                for i in 0..n {
                    let idx = s.value(s.word(data, i));
                    out.extend_from_slice(&[
                        palette_entry(r, idx),
                        palette_entry(gr, idx),
                        palette_entry(b, idx),
                    ]);
                }
            }
            Photometric::Monochrome1 | Photometric::Monochrome2 => {
                return Err(crate::error::unsupported("a gray image in the colour path"));
            }
        }
        Ok(Image {
            width: g.cols,
            height: g.rows,
            format: Format::Rgb8,
            data: out,
            icc: self.icc.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ybr_equations() {
        assert_eq!(ybr_to_rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(ybr_to_rgb(76, 85, 255), [254, 0, 0]);
        assert_eq!(scale(4095, 4095), 255);
        assert_eq!(scale(2048, 4095), 128);
    }
}

//! Overlay planes, groups 6000–601E (PS3.3 C.9.2): 1-bit layers kept apart from the image
//! so a viewer can show or hide them (never burned into the rendering).

use dcmdisc_dicom::charset::decode_text;

use crate::attrs::{self, first_number, first_us, words, Kept, Source};
use crate::parse::Geometry;
use crate::pixels::Sampler;

const ROWS: u16 = 0x0010;
const COLUMNS: u16 = 0x0011;
const NUMBER_OF_FRAMES: u16 = 0x0015;
const DESCRIPTION: u16 = 0x0022;
const TYPE: u16 = 0x0040;
const ORIGIN: u16 = 0x0050;
const IMAGE_FRAME_ORIGIN: u16 = 0x0051;
const BITS_ALLOCATED: u16 = 0x0100;
const BIT_POSITION: u16 = 0x0102;
const LABEL: u16 = 0x1500;
const DATA: u16 = 0x3000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bits {
    /// Overlay Data (60xx,3000): bit n of the plane is bit n % 8 of byte n / 8 (little endian
    /// words, least significant bit first); frames follow each other bit by bit.
    Data(Vec<u8>),
    /// Retired: the plane lives in bit `n` of each Pixel Data word (outside Bits Stored).
    Embedded(u16),
}

/// One overlay plane as the instance describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayPlane {
    /// 0x6000, 0x6002, ...
    pub group: u16,
    pub rows: usize,
    pub cols: usize,
    /// Row and column of the plane's first pixel in the image, 1-based (C.9.2.1.1).
    pub origin: (i64, i64),
    /// "G" (graphics) or "R" (region of interest).
    pub kind: String,
    pub label: String,
    pub description: String,
    frames: usize,
    first_frame: usize,
    /// Number of Frames in Overlay absent: one plane for every frame.
    all_frames: bool,
    bits: Bits,
}

/// One plane drawn on one frame: the frame's size, 1 where the overlay is set, else 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayLayer {
    pub group: u16,
    pub label: String,
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

pub fn planes(k: &Kept, g: &Geometry, charset: &str) -> Vec<OverlayPlane> {
    let mut out = Vec::new();
    for group in (0x6000u16..=0x601E).step_by(2) {
        let t = |e: u16| (u32::from(group) << 16) | u32::from(e);
        let (Some(rows), Some(cols)) = (first_us(k, t(ROWS)), first_us(k, t(COLUMNS))) else {
            continue;
        };
        let bits = match k.get(t(DATA)) {
            Some((_, d)) => Bits::Data(d.to_vec()),
            None => match (first_us(k, t(BITS_ALLOCATED)), first_us(k, t(BIT_POSITION))) {
                // Embedded planes must lie outside the stored bits, or they are pixel data.
                (Some(ba), Some(bp))
                    if ba == g.bits_allocated
                        && bp < g.bits_allocated
                        && (bp > g.high_bit || bp + g.bits_stored < g.high_bit + 1)
                        && g.photometric.is_gray()
                        && (usize::from(rows), usize::from(cols)) == (g.rows, g.cols) =>
                {
                    Bits::Embedded(bp)
                }
                _ => continue,
            },
        };
        let origin = k
            .get(t(ORIGIN))
            .map(|(vr, b)| {
                let w = words(b);
                let v = |i: usize| {
                    w.get(i)
                        .map_or(1, |&x| i64::from(attrs::us_or_ss(vr, x, true)))
                };
                (v(0), v(1))
            })
            .unwrap_or((1, 1));
        let frames_attr = first_number(k, t(NUMBER_OF_FRAMES));
        let text = |e| {
            k.get(t(e))
                .map(|(_, b)| decode_text(b, charset).trim().to_string())
                .unwrap_or_default()
        };
        out.push(OverlayPlane {
            group,
            rows: usize::from(rows),
            cols: usize::from(cols),
            origin,
            kind: text(TYPE),
            label: text(LABEL),
            description: text(DESCRIPTION),
            frames: frames_attr
                .filter(|n| *n >= 1.0 && *n <= 1e9)
                .map_or(1, |n| n as usize),
            first_frame: usize::from(first_us(k, t(IMAGE_FRAME_ORIGIN)).unwrap_or(1).max(1)),
            all_frames: frames_attr.is_none(),
            bits,
        });
    }
    out
}

impl OverlayPlane {
    /// The plane on frame `frame` (0-based) of an image of geometry `g` whose Pixel Data for
    /// that frame is `pixels`; `None` when the plane has nothing for that frame.
    pub fn layer(&self, frame: usize, g: &Geometry, pixels: &[u8]) -> Option<OverlayLayer> {
        let (w, h) = (g.cols, g.rows);
        let mut data = vec![0u8; w * h];
        match &self.bits {
            Bits::Embedded(bit) => {
                let s = Sampler::new(g);
                for (i, d) in data.iter_mut().enumerate() {
                    *d = ((s.word(pixels, i) >> bit) & 1) as u8;
                }
            }
            Bits::Data(bytes) => {
                let k = if self.all_frames {
                    0
                } else {
                    let k = (frame + 1).checked_sub(self.first_frame)?;
                    (k < self.frames).then_some(k)?
                };
                let plane = self.rows * self.cols;
                let base = k * plane;
                for r in 0..self.rows {
                    let y = self.origin.0 - 1 + r as i64;
                    if y < 0 || y >= h as i64 {
                        continue;
                    }
                    for c in 0..self.cols {
                        let x = self.origin.1 - 1 + c as i64;
                        if x < 0 || x >= w as i64 {
                            continue;
                        }
                        let n = base + r * self.cols + c;
                        let set = bytes.get(n / 8).is_some_and(|b| (b >> (n % 8)) & 1 == 1);
                        data[y as usize * w + x as usize] = u8::from(set);
                    }
                }
            }
        }
        Some(OverlayLayer {
            group: self.group,
            label: self.label.clone(),
            width: w,
            height: h,
            data,
        })
    }
}

//! The Image Pixel module (PS3.3 C.7.6.3), the Modality LUT and VOI LUT modules (C.11.1,
//! C.11.2) and their functional-group forms (C.7.6.16.2.9, .10) read from kept values.

use dcmdisc_dicom::charset::decode_text;

use crate::attrs::{self, cs, first_number, first_us, numbers, texts, us_or_ss, words, Source};
use crate::error::{unsupported, Result};
use crate::items;
use crate::lut::{Lut, LUT_DATA, LUT_DESCRIPTOR, LUT_EXPLANATION};
use crate::voi::{Preset, Voi, VoiFunction};

const SAMPLES_PER_PIXEL: u32 = 0x0028_0002;
const PHOTOMETRIC: u32 = 0x0028_0004;
const PLANAR_CONFIGURATION: u32 = 0x0028_0006;
const NUMBER_OF_FRAMES: u32 = 0x0028_0008;
const ROWS: u32 = 0x0028_0010;
const COLUMNS: u32 = 0x0028_0011;
const BITS_ALLOCATED: u32 = 0x0028_0100;
const BITS_STORED: u32 = 0x0028_0101;
const HIGH_BIT: u32 = 0x0028_0102;
const PIXEL_REPRESENTATION: u32 = 0x0028_0103;
const PIXEL_PADDING_VALUE: u32 = 0x0028_0120;
const PIXEL_PADDING_RANGE_LIMIT: u32 = 0x0028_0121;
const WINDOW_CENTER: u32 = 0x0028_1050;
const WINDOW_WIDTH: u32 = 0x0028_1051;
const RESCALE_INTERCEPT: u32 = 0x0028_1052;
const RESCALE_SLOPE: u32 = 0x0028_1053;
const WINDOW_EXPLANATION: u32 = 0x0028_1055;
const VOI_LUT_FUNCTION: u32 = 0x0028_1056;
const PIXEL_VALUE_TRANSFORMATION_SEQUENCE: u32 = 0x0028_9145;
const FRAME_VOI_LUT_SEQUENCE: u32 = 0x0028_9132;
pub const PALETTE_DESCRIPTORS: [u32; 3] = [0x0028_1101, 0x0028_1102, 0x0028_1103];
pub const PALETTE_DATA: [u32; 3] = [0x0028_1201, 0x0028_1202, 0x0028_1203];
pub const SEGMENTED_PALETTE_DATA: [u32; 3] = [0x0028_1221, 0x0028_1222, 0x0028_1223];

/// Photometric Interpretation (0028,0004), the ones we render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photometric {
    Monochrome1,
    Monochrome2,
    PaletteColor,
    Rgb,
    YbrFull,
    /// Uncompressed: Y1 Y2 Cb Cr for each two pixels of a row (C.7.6.3.1.2).
    YbrFull422,
}

impl Photometric {
    fn parse(s: &str) -> Option<Photometric> {
        Some(match s {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "PALETTE COLOR" => Photometric::PaletteColor,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            _ => return None,
        })
    }

    pub fn samples(self) -> usize {
        match self {
            Photometric::Monochrome1 | Photometric::Monochrome2 | Photometric::PaletteColor => 1,
            _ => 3,
        }
    }

    pub fn is_gray(self) -> bool {
        matches!(self, Photometric::Monochrome1 | Photometric::Monochrome2)
    }
}

/// How the stored pixel values are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub rows: usize,
    pub cols: usize,
    pub samples: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub high_bit: u16,
    pub signed: bool,
    /// Planar Configuration 1: all of one colour's samples, then the next (per frame).
    pub planar: bool,
    pub photometric: Photometric,
    pub frames: usize,
}

impl Geometry {
    /// Bytes of one frame of Pixel Data.
    pub fn frame_len(&self) -> Option<usize> {
        let per_pixel = match self.photometric {
            // Two samples per pixel on average: Y for each, Cb and Cr for each two.
            Photometric::YbrFull422 => 2,
            _ => self.samples,
        };
        self.rows
            .checked_mul(self.cols)?
            .checked_mul(per_pixel)?
            .checked_mul(usize::from(self.bits_allocated / 8))
    }
}

pub fn geometry(k: &attrs::Kept) -> Result<Geometry> {
    let need = |tag: u32, name: &str| {
        first_us(k, tag).ok_or_else(|| unsupported(format!("{name} missing")))
    };
    let rows = usize::from(need(ROWS, "Rows (0028,0010)")?);
    let cols = usize::from(need(COLUMNS, "Columns (0028,0011)")?);
    let samples = usize::from(first_us(k, SAMPLES_PER_PIXEL).unwrap_or(1));
    let bits_allocated = need(BITS_ALLOCATED, "Bits Allocated (0028,0100)")?;
    let bits_stored = first_us(k, BITS_STORED).unwrap_or(bits_allocated);
    let high_bit = first_us(k, HIGH_BIT).unwrap_or(bits_stored.saturating_sub(1));
    let signed = first_us(k, PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let pi = cs(k, PHOTOMETRIC).unwrap_or_default();
    let photometric = Photometric::parse(&pi)
        .ok_or_else(|| unsupported(format!("Photometric Interpretation {pi:?}")))?;
    let frames = match k.get(NUMBER_OF_FRAMES) {
        None => 1,
        Some((_, b)) => match numbers(b).first() {
            None => 1,
            Some(Some(n)) if *n >= 1.0 && n.fract() == 0.0 && *n <= 1e9 => *n as usize,
            Some(n) => return Err(unsupported(format!("Number of Frames {n:?}"))),
        },
    };
    if rows == 0 || cols == 0 {
        return Err(unsupported(format!("{rows} rows × {cols} columns")));
    }
    if !matches!(bits_allocated, 8 | 16 | 32) {
        return Err(unsupported(format!("Bits Allocated {bits_allocated}")));
    }
    if bits_stored == 0
        || bits_stored > bits_allocated
        || high_bit >= bits_allocated
        || high_bit + 1 < bits_stored
    {
        return Err(unsupported(format!(
            "Bits Stored {bits_stored}, High Bit {high_bit} with Bits Allocated {bits_allocated}"
        )));
    }
    if samples != photometric.samples() {
        return Err(unsupported(format!(
            "{samples} samples per pixel with {pi}"
        )));
    }
    if photometric == Photometric::PaletteColor && bits_allocated == 32 {
        return Err(unsupported(format!("{pi} with 32 bits allocated")));
    }
    if photometric == Photometric::YbrFull && bits_allocated != 8 {
        return Err(unsupported(format!(
            "YBR_FULL with {bits_allocated} bits allocated"
        )));
    }
    if photometric == Photometric::YbrFull422 && (bits_allocated != 8 || cols % 2 == 1) {
        return Err(unsupported(format!(
            "YBR_FULL_422 with {bits_allocated} bits allocated and {cols} columns"
        )));
    }
    let planar = samples > 1 && first_us(k, PLANAR_CONFIGURATION).unwrap_or(0) == 1;
    if planar && photometric == Photometric::YbrFull422 {
        return Err(unsupported("YBR_FULL_422 with Planar Configuration 1"));
    }
    Ok(Geometry {
        rows,
        cols,
        samples,
        bits_allocated,
        bits_stored,
        high_bit,
        signed,
        planar,
        photometric,
        frames,
    })
}

/// The Modality LUT stage (C.11.1): a rescale, or a LUT.
#[derive(Debug, Clone, PartialEq)]
pub enum Modality {
    Rescale { slope: f64, intercept: f64 },
    Lut(Lut),
}

impl Modality {
    pub const IDENTITY: Modality = Modality::Rescale {
        slope: 1.0,
        intercept: 0.0,
    };

    pub fn apply(&self, stored: i64) -> f64 {
        match self {
            Modality::Rescale { slope, intercept } => stored as f64 * slope + intercept,
            Modality::Lut(l) => f64::from(l.lookup(stored)),
        }
    }
}

/// The Modality LUT module of `s`: the Modality LUT Sequence's first item when present (it
/// and Rescale Slope/Intercept are mutually exclusive, C.11.1), else the rescale, else `None`.
pub fn modality<S: Source + ?Sized>(
    s: &S,
    explicit: bool,
    signed: bool,
) -> Result<Option<Modality>> {
    if let Some((vr, seq)) = s.get(crate::attrs::MODALITY_LUT_SEQUENCE) {
        let items = items::split(seq, attrs::items_explicit(vr, explicit))
            .ok_or_else(|| unsupported("Modality LUT Sequence does not split into items"))?;
        if let Some(item) = items.first() {
            // The descriptor's second value is US or SS as the stored pixel values are.
            if let Some(l) = Lut::from_source(
                item.as_slice(),
                LUT_DESCRIPTOR,
                LUT_DATA,
                signed,
                "Modality LUT",
            )? {
                return Ok(Some(Modality::Lut(l)));
            }
        }
    }
    let intercept = first_number(s, RESCALE_INTERCEPT);
    let slope = first_number(s, RESCALE_SLOPE);
    if intercept.is_none() && slope.is_none() {
        return Ok(None);
    }
    Ok(Some(Modality::Rescale {
        slope: slope.unwrap_or(1.0),
        intercept: intercept.unwrap_or(0.0),
    }))
}

/// The Window Center / Width pairs of `s` with their explanations, in the file's order
/// (C.11.2.1.2: alternatives; the first is the default). A pair whose width the function does
/// not allow is left out.
pub fn windows<S: Source + ?Sized>(s: &S, charset: &str) -> Vec<Preset> {
    let (Some((_, c)), Some((_, w))) = (s.get(WINDOW_CENTER), s.get(WINDOW_WIDTH)) else {
        return Vec::new();
    };
    let function = cs(s, VOI_LUT_FUNCTION)
        .and_then(|f| VoiFunction::parse(&f))
        .unwrap_or_default();
    let explanations: Vec<String> = s
        .get(WINDOW_EXPLANATION)
        .map(|(_, b)| {
            let t = decode_text(b, charset);
            t.split('\\').map(|p| p.trim().to_string()).collect()
        })
        .unwrap_or_default();
    numbers(c)
        .into_iter()
        .zip(numbers(w))
        .enumerate()
        .filter_map(|(i, (c, w))| {
            let (center, width) = (c?, w?);
            function.width_ok(width).then(|| Preset {
                voi: Voi::Window {
                    center,
                    width,
                    function,
                },
                explanation: explanations.get(i).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// The VOI LUT Sequence's items as presets. `signed`: read an Implicit VR descriptor's
/// first-mapped value as SS (the modality values can be negative).
pub fn voi_luts<S: Source + ?Sized>(
    s: &S,
    explicit: bool,
    signed: bool,
    charset: &str,
) -> Result<Vec<Preset>> {
    let Some((vr, seq)) = s.get(crate::attrs::VOI_LUT_SEQUENCE) else {
        return Ok(Vec::new());
    };
    let items = items::split(seq, attrs::items_explicit(vr, explicit))
        .ok_or_else(|| unsupported("VOI LUT Sequence does not split into items"))?;
    let mut out = Vec::new();
    for item in &items {
        if let Some(l) =
            Lut::from_source(item.as_slice(), LUT_DESCRIPTOR, LUT_DATA, signed, "VOI LUT")?
        {
            let explanation = Source::get(item.as_slice(), LUT_EXPLANATION)
                .map(|(_, b)| decode_text(b, charset).trim().to_string())
                .unwrap_or_default();
            out.push(Preset {
                voi: Voi::Lut(l),
                explanation,
            });
        }
    }
    Ok(out)
}

/// Pixel Padding Value (0028,0120) and Pixel Padding Range Limit (0028,0121), as the range
/// of stored values that are padding (C.7.5.1.1.2).
pub fn padding(k: &attrs::Kept, signed: bool) -> Option<(i64, i64)> {
    let value = |tag| {
        k.get(tag).and_then(|(vr, b)| {
            words(b)
                .first()
                .map(|&w| i64::from(us_or_ss(vr, w, signed)))
        })
    };
    let v = value(PIXEL_PADDING_VALUE)?;
    let r = value(PIXEL_PADDING_RANGE_LIMIT).unwrap_or(v);
    Some((v.min(r), v.max(r)))
}

/// What a functional group item (shared, or one frame's) says of the modality and VOI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameGroups {
    pub modality: Option<Modality>,
    pub windows: Option<Vec<Preset>>,
}

/// One functional groups item: its Pixel Value Transformation and Frame VOI LUT sequences.
pub fn frame_groups(item: &[items::Elem<'_>], explicit: bool, charset: &str) -> FrameGroups {
    let first_item = |tag| {
        Source::get(item, tag)
            .and_then(|(vr, b)| items::split(b, attrs::items_explicit(vr, explicit)))
            .and_then(|mut v| (!v.is_empty()).then(|| v.swap_remove(0)))
    };
    let modality = first_item(PIXEL_VALUE_TRANSFORMATION_SEQUENCE).and_then(|it| {
        let (i, sl) = (
            first_number(it.as_slice(), RESCALE_INTERCEPT),
            first_number(it.as_slice(), RESCALE_SLOPE),
        );
        (i.is_some() || sl.is_some()).then(|| Modality::Rescale {
            slope: sl.unwrap_or(1.0),
            intercept: i.unwrap_or(0.0),
        })
    });
    let windows = first_item(FRAME_VOI_LUT_SEQUENCE).map(|it| windows(it.as_slice(), charset));
    FrameGroups { modality, windows }
}

/// The Specific Character Set value as `dicom::charset` reads it.
pub fn charset(k: &attrs::Kept) -> String {
    k.get(dcmdisc_dicom::tag::SPECIFIC_CHARACTER_SET)
        .map(|(_, b)| texts(b).join("\\"))
        .unwrap_or_default()
}

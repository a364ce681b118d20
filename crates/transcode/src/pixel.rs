//! Encapsulated → native Pixel Data: which fragments make which frame, what the decoded
//! frames look like, which attributes change, and the frame-by-frame write.
//!
//! Attribute changes (everything else is kept, byte for byte):
//! - Photometric Interpretation: YBR_FULL / YBR_FULL_422 → RGB for lossy JPEG colour, the
//!   frames being converted (as `dcmdjpeg`); unchanged otherwise (RLE YBR_FULL stays YBR_FULL,
//!   as `dcmdrle`: RLE codes the samples as they are).
//! - Planar Configuration: 0 for every colour image (the decoders interleave samples per
//!   pixel; `dcmdjpeg` also writes 0). Added when a colour source lacks it (Type 1C).
//! - Lossy Image Compression (0028,2110): "01" for a lossy source (PS3.3 C.7.6.1.1.5: once
//!   lossy, always "01"). When we have to set it, and the source has neither Lossy Image
//!   Compression Ratio nor Method, we add them too (ratio = decoded / compressed size,
//!   method ISO_10918_1), since some IODs require them with "01". Present ones are kept.
//! - Extended Offset Table (7FE0,0001), its Lengths (7FE0,0002) and Encapsulated Pixel Data
//!   Value Total Length (7FE0,0003) are removed: they describe encapsulated data only.
//! - Bits Allocated / Stored, High Bit, Pixel Representation, Rows, Columns, Number of Frames
//!   and SOP Instance UID are unchanged (decompression needs no new UID, PS3.4 / PS3.3 C.12).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use dicom_core::VR;

use crate::dataset::{Edit, Encapsulated, Fragment};
use crate::encode::{write_header, Enc, PIXEL_DATA};
use crate::error::{Result, TranscodeError};
use crate::io::{Input, Output};
use crate::jpeg::{self, FrameSpec};
use crate::rle;

/// Largest decoded frame we allocate for. A frame buffer is sized from Rows x Columns x
/// Samples x Bits Allocated before any decoding, so without a cap a few hostile bytes could
/// ask for gigabytes; 1 GiB is far above any real frame (whole-slide images are tiled).
const MAX_FRAME: usize = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Rle,
    JpegLossless,
    JpegLossy,
}

#[derive(Debug)]
pub(crate) struct PixelPlan {
    pub codec: Codec,
    pub spec: FrameSpec,
    /// Fragment index range of each frame.
    pub frames: Vec<Range<usize>>,
    pub frame_len: usize,
    /// Value length of the native Pixel Data (odd total padded).
    pub value_len: u32,
    pub vr: VR,
}

fn us(values: &HashMap<(u16, u16), Vec<u8>>, tag: (u16, u16)) -> Option<u16> {
    values
        .get(&tag)
        .filter(|v| v.len() >= 2)
        .map(|v| u16::from_le_bytes([v[0], v[1]]))
}

fn text(values: &HashMap<(u16, u16), Vec<u8>>, tag: (u16, u16)) -> Option<String> {
    values.get(&tag).map(|v| {
        String::from_utf8_lossy(v)
            .trim_matches(|c: char| c == ' ' || c == '\0')
            .to_string()
    })
}

fn unsupported(msg: impl Into<String>) -> TranscodeError {
    TranscodeError::UnsupportedPixelData(msg.into())
}

/// Top-level element changes, by tag.
pub(crate) type Edits = BTreeMap<(u16, u16), Edit>;

/// Builds the pass-2 plan from what pass 1 saw. `lossy_ts`: the source transfer syntax is
/// lossy (so is the image).
pub(crate) fn plan(
    codec: Codec,
    values: &HashMap<(u16, u16), Vec<u8>>,
    enc: &Encapsulated,
    dst: Enc,
) -> Result<(PixelPlan, Edits)> {
    let need = |tag: (u16, u16), name: &str| {
        us(values, tag).ok_or_else(|| unsupported(format!("{name} {tag:04X?} missing")))
    };
    let rows = need((0x0028, 0x0010), "Rows")? as usize;
    let cols = need((0x0028, 0x0011), "Columns")? as usize;
    let samples = need((0x0028, 0x0002), "Samples per Pixel")? as usize;
    let bits_allocated = need((0x0028, 0x0100), "Bits Allocated")?;
    let frames = match text(values, (0x0028, 0x0008)) {
        None => 1,
        Some(s) if s.is_empty() => 1,
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| unsupported(format!("Number of Frames {s:?}")))?,
    };
    let pi = text(values, (0x0028, 0x0004)).unwrap_or_default();
    if rows == 0 || cols == 0 || frames == 0 {
        return Err(unsupported(format!(
            "{rows} rows, {cols} columns, {frames} frames"
        )));
    }
    let ok_bits = match codec {
        Codec::Rle => matches!(bits_allocated, 8 | 16 | 32),
        _ => matches!(bits_allocated, 8 | 16),
    };
    if !ok_bits {
        return Err(unsupported(format!(
            "Bits Allocated {bits_allocated} with {codec:?}"
        )));
    }
    if !matches!(samples, 1 | 3) {
        return Err(unsupported(format!("Samples per Pixel {samples}")));
    }
    let colour_ok = match samples {
        1 => matches!(pi.as_str(), "MONOCHROME1" | "MONOCHROME2" | "PALETTE COLOR"),
        _ => {
            matches!(pi.as_str(), "RGB" | "YBR_FULL")
                || (codec != Codec::Rle && pi == "YBR_FULL_422")
        }
    };
    if !colour_ok {
        return Err(unsupported(format!(
            "Photometric Interpretation {pi:?} with {samples} samples and {codec:?}"
        )));
    }
    if codec == Codec::JpegLossless && pi == "YBR_FULL_422" {
        return Err(unsupported("YBR_FULL_422 in JPEG Lossless"));
    }
    let ybr_to_rgb = codec == Codec::JpegLossy && samples == 3 && pi.starts_with("YBR_FULL");

    let frame_len = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(samples))
        .and_then(|n| n.checked_mul(bits_allocated as usize / 8))
        .ok_or_else(|| unsupported("frame size overflows"))?;
    if frame_len > MAX_FRAME {
        return Err(unsupported(format!(
            "{frame_len} bytes per decoded frame (at most {MAX_FRAME})"
        )));
    }
    let total = frame_len
        .checked_mul(frames)
        .ok_or_else(|| unsupported("pixel data size overflows"))?;
    let value_len = u32::try_from(total + total % 2)
        .ok()
        .filter(|&n| n != u32::MAX)
        .ok_or_else(|| {
            unsupported(format!(
                "{total} bytes of native pixel data do not fit one element"
            ))
        })?;

    let extended = values.get(&(0x7FE0, 0x0001)).map(|v| {
        v.chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect::<Vec<_>>()
    });
    let frame_ranges = map_frames(codec, enc, frames, extended.as_deref())?;

    let spec = FrameSpec {
        rows,
        cols,
        samples,
        bits_allocated,
        ybr_to_rgb,
    };
    let vr = if bits_allocated <= 8 { VR::OB } else { VR::OW };
    let _ = dst;

    let mut edits = BTreeMap::new();
    if ybr_to_rgb {
        edits.insert((0x0028, 0x0004), Edit::Replace(b"RGB ".to_vec()));
    }
    if samples > 1 {
        let e = if values.contains_key(&(0x0028, 0x0006)) {
            Edit::Replace(vec![0, 0])
        } else {
            Edit::Insert(VR::US, vec![0, 0])
        };
        edits.insert((0x0028, 0x0006), e);
    }
    if codec == Codec::JpegLossy {
        let lossy = text(values, (0x0028, 0x2110));
        if lossy.as_deref() != Some("01") {
            let e = if lossy.is_some() {
                Edit::Replace(b"01".to_vec())
            } else {
                Edit::Insert(VR::CS, b"01".to_vec())
            };
            edits.insert((0x0028, 0x2110), e);
            if !values.contains_key(&(0x0028, 0x2112)) && !values.contains_key(&(0x0028, 0x2114)) {
                let compressed: u64 = enc.fragments.iter().map(|f| f.len as u64).sum();
                let ratio = total as f64 / compressed.max(1) as f64;
                edits.insert((0x0028, 0x2112), Edit::Insert(VR::DS, ds_value(ratio)));
                edits.insert(
                    (0x0028, 0x2114),
                    Edit::Insert(VR::CS, b"ISO_10918_1".to_vec()),
                );
            }
        }
    }
    for t in [(0x7FE0, 0x0001), (0x7FE0, 0x0002), (0x7FE0, 0x0003)] {
        edits.insert(t, Edit::Drop);
    }
    Ok((
        PixelPlan {
            codec,
            spec,
            frames: frame_ranges,
            frame_len,
            value_len,
            vr,
        },
        edits,
    ))
}

/// A DS value (at most 16 characters) for a ratio.
fn ds_value(x: f64) -> Vec<u8> {
    let s = if x >= 1000.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    };
    s.into_bytes()
}

/// Which fragments make which frame (PS3.5 A.4): one frame → all fragments; as many
/// fragments as frames → one each; else the Basic Offset Table, else the Extended Offset
/// Table, else (JPEG only) a new frame at each fragment that starts with SOI.
fn map_frames(
    codec: Codec,
    enc: &Encapsulated,
    frames: usize,
    extended: Option<&[u64]>,
) -> Result<Vec<Range<usize>>> {
    let n = enc.fragments.len();
    if n == 0 {
        return Err(unsupported("encapsulated Pixel Data without fragments"));
    }
    if frames == 1 {
        if codec == Codec::Rle && n != 1 {
            return Err(unsupported(format!(
                "RLE frame in {n} fragments (PS3.5 A.4.2 allows one)"
            )));
        }
        return Ok(std::iter::once(0..n).collect());
    }
    if n == frames {
        return Ok((0..n).map(|i| i..i + 1).collect());
    }
    if codec == Codec::Rle {
        return Err(unsupported(format!(
            "RLE with {frames} frames in {n} fragments (one per frame required)"
        )));
    }
    let offsets: Option<Vec<u64>> = if enc.basic_offsets.len() == frames {
        Some(enc.basic_offsets.iter().map(|&o| o as u64).collect())
    } else {
        extended.filter(|e| e.len() == frames).map(|e| e.to_vec())
    };
    let starts: Vec<usize> = match offsets {
        Some(offs) => {
            let mut starts = Vec::with_capacity(frames);
            for (f, o) in offs.iter().enumerate() {
                let idx = enc
                    .fragments
                    .iter()
                    .position(|fr: &Fragment| fr.item_offset == *o)
                    .ok_or_else(|| {
                        unsupported(format!(
                            "offset table entry {f} ({o}) is not the start of a fragment"
                        ))
                    })?;
                starts.push(idx);
            }
            starts
        }
        None => enc
            .fragments
            .iter()
            .enumerate()
            .filter(|(_, f)| f.soi)
            .map(|(i, _)| i)
            .collect(),
    };
    if starts.len() != frames
        || starts.first() != Some(&0)
        || starts.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(unsupported(format!(
            "cannot tell which of the {n} fragments make the {frames} frames \
             (found {} frame starts)",
            starts.len()
        )));
    }
    let mut ranges = Vec::with_capacity(frames);
    for (i, &s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(n);
        ranges.push(s..e);
    }
    Ok(ranges)
}

/// Pass 2: writes the native Pixel Data element, one frame in memory at a time.
pub(crate) fn write_native(
    inp: &mut Input,
    out: &mut Output,
    dst: Enc,
    plan: &PixelPlan,
    fragments: &[Fragment],
) -> Result<()> {
    write_header(out, dst, PIXEL_DATA, plan.vr, plan.value_len)?;
    let mut compressed = Vec::new();
    let mut frame = vec![0u8; plan.frame_len];
    let spec = &plan.spec;
    for (f, range) in plan.frames.iter().enumerate() {
        compressed.clear();
        for fr in &fragments[range.clone()] {
            inp.seek(fr.pos)?;
            inp.read_append(fr.len as u64, &mut compressed)?;
        }
        let r = match plan.codec {
            Codec::Rle => rle::decode_frame(
                &compressed,
                spec.rows * spec.cols,
                spec.samples,
                spec.bits_allocated as usize / 8,
                &mut frame,
            ),
            Codec::JpegLossless => jpeg::decode_lossless(&compressed, spec, &mut frame),
            Codec::JpegLossy => jpeg::decode_lossy(&compressed, spec, &mut frame),
        };
        r.map_err(|reason| TranscodeError::Decode {
            frame: f as u32,
            reason,
        })?;
        out.write(&frame)?;
    }
    if (plan.frame_len * plan.frames.len()) % 2 == 1 {
        out.write(&[0])?;
    }
    Ok(())
}

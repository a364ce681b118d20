//! Entry points for the fuzz targets in `fuzz/`, not an API: the frame decoders on one
//! fragment's bytes, with the geometry the DICOM attributes would give.

use crate::jpeg::FrameSpec;

/// Decode one JPEG Lossless frame of `rows` x `cols` x `samples` samples of `bits_allocated`
/// (8 or 16) bits, as the converter does.
pub fn jpeg_lossless(
    data: &[u8],
    rows: usize,
    cols: usize,
    samples: usize,
    bits_allocated: u16,
) -> Result<Vec<u8>, String> {
    let bytes = usize::from(bits_allocated.div_ceil(8));
    let mut out = vec![0u8; rows * cols * samples * bytes];
    let spec = FrameSpec {
        rows,
        cols,
        samples,
        bits_allocated,
        ybr_to_rgb: false,
    };
    crate::jpeg::decode_lossless(data, &spec, &mut out)?;
    Ok(out)
}

/// Decode one RLE Lossless frame of `pixels` pixels of `samples` samples, `bytes_per_sample`
/// bytes each.
pub fn rle(
    data: &[u8],
    pixels: usize,
    samples: usize,
    bytes_per_sample: usize,
) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; pixels * samples * bytes_per_sample];
    crate::rle::decode_frame(data, pixels, samples, bytes_per_sample, &mut out)?;
    Ok(out)
}

/// (rows, columns, components) of the first JPEG frame header in `data`, if there is one.
pub fn sof_geometry(data: &[u8]) -> Option<(usize, usize, usize)> {
    let sof = crate::jpeg::read_sof(data).ok()?;
    Some((
        usize::from(sof.height),
        usize::from(sof.width),
        sof.components.len(),
    ))
}

//! RLE Lossless (PS3.5 Annex G) frame decoder.
//!
//! Our own, not dicom-pixeldata's: its RLE adapter (dicom-transfer-syntax-registry 0.10.1)
//! refuses Bits Allocated 32 (RT Dose, the `*_32bit` samples) and allocates per segment
//! through `io::Read`. The format is one header and PackBits segments, so the decoder is
//! short, and it writes the output directly in the layout we store: Planar Configuration 0
//! (samples interleaved per pixel), little-endian samples.

/// Decodes one frame (one fragment) into `out`, which must be exactly
/// `rows * cols * samples * bytes_per_sample` long.
pub(crate) fn decode_frame(
    data: &[u8],
    pixels: usize,
    samples: usize,
    bytes_per_sample: usize,
    out: &mut [u8],
) -> Result<(), String> {
    if data.len() < 64 {
        return Err(format!(
            "RLE header needs 64 bytes, fragment has {}",
            data.len()
        ));
    }
    let word = |i: usize| {
        u32::from_le_bytes([
            data[4 * i],
            data[4 * i + 1],
            data[4 * i + 2],
            data[4 * i + 3],
        ])
    };
    let nseg = word(0) as usize;
    let expected = samples * bytes_per_sample;
    if nseg != expected {
        return Err(format!(
            "RLE header has {nseg} segments, the attributes need {expected}"
        ));
    }
    if nseg > 15 {
        return Err(format!("RLE header has {nseg} segments (at most 15)"));
    }
    let stride = samples * bytes_per_sample;
    if pixels == 0 || out.len() != pixels * stride {
        return Err("output buffer size mismatch".into());
    }
    let mut plane = Vec::new();
    for seg in 0..nseg {
        let start = word(1 + seg) as usize;
        let end = if seg + 1 < nseg {
            word(2 + seg) as usize
        } else {
            data.len()
        };
        if start < 64 || start > end || end > data.len() {
            return Err(format!(
                "RLE segment {seg} has offsets {start}..{end} outside the fragment"
            ));
        }
        let src = &data[start..end];
        // Segment order: sample 0 MSB .. LSB, sample 1 MSB .. LSB, ... (G.2).
        let sample = seg / bytes_per_sample;
        let byte = bytes_per_sample - 1 - seg % bytes_per_sample;
        let offset = sample * bytes_per_sample + byte;
        if stride == 1 {
            unpack(src, out).map_err(|e| format!("segment {seg}: {e}"))?;
        } else {
            plane.resize(pixels, 0);
            unpack(src, &mut plane).map_err(|e| format!("segment {seg}: {e}"))?;
            for (dst, &v) in out[offset..].iter_mut().step_by(stride).zip(plane.iter()) {
                *dst = v;
            }
        }
    }
    Ok(())
}

/// PackBits: fills `dst` exactly; bytes left in `src` after that (encoders pad segments to
/// even length) are ignored. A segment that ends before `dst` is full is an error.
fn unpack(src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    let (mut i, mut o) = (0usize, 0usize);
    while o < dst.len() {
        let Some(&n) = src.get(i) else {
            return Err(format!("decodes to {o} bytes, {} expected", dst.len()));
        };
        i += 1;
        let n = n as i8;
        if n >= 0 {
            let k = n as usize + 1;
            let lit = src
                .get(i..i + k)
                .ok_or("literal run past the end of the segment")?;
            let room = (dst.len() - o).min(k);
            dst[o..o + room].copy_from_slice(&lit[..room]);
            o += room;
            i += k;
        } else if n != -128 {
            let k = 1 + (-(n as i16)) as usize;
            let &v = src
                .get(i)
                .ok_or("replicate run past the end of the segment")?;
            i += 1;
            let room = (dst.len() - o).min(k);
            dst[o..o + room].fill(v);
            o += room;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(offsets: &[u32]) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[0..4].copy_from_slice(&(offsets.len() as u32).to_le_bytes());
        for (i, o) in offsets.iter().enumerate() {
            h[4 + 4 * i..8 + 4 * i].copy_from_slice(&o.to_le_bytes());
        }
        h
    }

    #[test]
    fn packbits_runs() {
        let mut d = [0u8; 8];
        unpack(&[0x02, 1, 2, 3, 0xFD, 9, 0x80], &mut d[..7]).unwrap();
        assert_eq!(&d[..7], &[1, 2, 3, 9, 9, 9, 9]);
        assert!(unpack(&[0x01, 1], &mut d[..2]).is_err());
    }

    #[test]
    fn sixteen_bit_rgb_interleaves_little_endian() {
        // 2 pixels, 3 samples, 16 bit: segments R-MSB R-LSB G-MSB G-LSB B-MSB B-LSB
        let segs: [[u8; 2]; 6] = [
            [0x01, 0x02],
            [0x10, 0x20],
            [0x03, 0x04],
            [0x30, 0x40],
            [0x05, 0x06],
            [0x50, 0x60],
        ];
        let mut offs = Vec::new();
        let mut body = Vec::new();
        for s in &segs {
            offs.push(64 + body.len() as u32);
            body.extend_from_slice(&[0x01, s[0], s[1]]);
        }
        let mut data = header(&offs);
        data.extend_from_slice(&body);
        let mut out = [0u8; 12];
        decode_frame(&data, 2, 3, 2, &mut out).unwrap();
        assert_eq!(
            out,
            [0x10, 0x01, 0x30, 0x03, 0x50, 0x05, 0x20, 0x02, 0x40, 0x04, 0x60, 0x06]
        );
    }

    #[test]
    fn wrong_segment_count_is_an_error() {
        let mut data = header(&[64]);
        data.extend_from_slice(&[0x00, 7]);
        let mut out = [0u8; 2];
        assert!(decode_frame(&data, 1, 1, 2, &mut out).is_err());
    }
}

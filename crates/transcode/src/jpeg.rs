//! JPEG frame decoding: Lossless Process 14 (.4.57, .4.70), Baseline (.4.50) and Extended
//! (.4.51, 8 and 12 bit).
//!
//! Two decoders, chosen by measurement against dcmtk's `dcmdjpeg` (IJG 6b with the islow
//! IDCT and fancy upsampling, the reference most DICOM readers agree with):
//!
//! - **Lossless**: our own (`lossless.rs`, where the measurements that led to it are).
//! - **Lossy**: `libjpeg-turbo-rs`, a pure-Rust port of libjpeg-turbo (islow IDCT, libjpeg's
//!   upsampling and colour conversion), cross-checked byte for byte against C libjpeg-turbo in
//!   its CI. jpeg-decoder, and so dicom-pixeldata, cannot be used here: it refuses 12-bit
//!   DCT precision ("SamplePrecision(12)"), which the .4.51 samples need, and its own IDCT and
//!   upsampling differ from IJG by up to 3 levels on 4:2:2 colour frames (more than the ±1 we
//!   promise). libjpeg-turbo-rs decodes every baseline and extended sample of pydicom-data
//!   identically to `dcmdjpeg`. The C alternatives were worse fits: Debian's libjpeg-turbo 2.1
//!   has no 12-bit API, the turbojpeg-sys crate needs cmake and nasm at build time, and
//!   dcmtk's own 12-bit IJG ships no headers without libdcmtk-dev.
//!
//! Both run under `catch_unwind`: a decoder panic on hostile input is an error for this
//! file, not the end of the thread that serves an association.
//!
//! Colour, as `dcmdjpeg` does by default (`+cp`, "convert if the photometric interpretation
//! says YCbCr"): a YBR_FULL / YBR_FULL_422 lossy frame is converted to RGB (the caller then
//! writes RGB); an RGB frame is never converted, whatever its JFIF/Adobe markers suggest.
//! Lossless frames are never converted: their samples are stored as coded.

use std::panic::{catch_unwind, AssertUnwindSafe};

use libjpeg_turbo_rs::{ColorSpace, Decoder, PixelFormat};

/// What the DICOM attributes say a frame must decode to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameSpec {
    pub rows: usize,
    pub cols: usize,
    pub samples: usize,
    pub bits_allocated: u16,
    /// Lossy colour frame whose photometric interpretation is YBR_FULL(_422): output RGB.
    pub ybr_to_rgb: bool,
}

/// Start-of-frame header fields.
#[derive(Debug)]
pub(crate) struct Sof {
    pub marker: u8,
    pub precision: u8,
    pub height: u16,
    pub width: u16,
    /// (id, horizontal sampling, vertical sampling) per component.
    pub components: Vec<(u8, u8, u8)>,
}

/// Finds the SOF header by walking the marker segments from SOI.
pub(crate) fn read_sof(data: &[u8]) -> Result<Sof, String> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err("frame does not start with a JPEG SOI marker".into());
    }
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while i < data.len() && data[i] == 0xFF && data.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 4 > data.len() {
            return Err("no SOF marker before the end of the frame".into());
        }
        if data[i] != 0xFF {
            return Err(format!("expected a marker at byte {i} of the frame"));
        }
        let marker = data[i + 1];
        let seglen = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let seg = data
                .get(i + 4..i + 2 + seglen)
                .ok_or("SOF segment past the end of the frame")?;
            if seg.len() < 6 {
                return Err("SOF segment too short".into());
            }
            let n = seg[5] as usize;
            let comps = seg
                .get(6..6 + 3 * n)
                .ok_or("SOF segment too short for its components")?;
            let components = comps
                .chunks_exact(3)
                .map(|c| (c[0], c[1] >> 4, c[1] & 0x0F))
                .collect();
            return Ok(Sof {
                marker,
                precision: seg[0],
                height: u16::from_be_bytes([seg[1], seg[2]]),
                width: u16::from_be_bytes([seg[3], seg[4]]),
                components,
            });
        }
        if marker == 0xD9 || marker == 0xDA {
            return Err("no SOF marker before the scan".into());
        }
        if seglen < 2 {
            return Err(format!(
                "marker segment FF{marker:02X} with length {seglen}"
            ));
        }
        i += 2 + seglen;
    }
}

fn check_geometry(sof: &Sof, spec: &FrameSpec) -> Result<(), String> {
    if sof.width as usize != spec.cols || sof.height as usize != spec.rows {
        return Err(format!(
            "JPEG frame is {}x{}, the attributes say {}x{} (Columns x Rows)",
            sof.width, sof.height, spec.cols, spec.rows
        ));
    }
    if sof.components.len() != spec.samples {
        return Err(format!(
            "JPEG frame has {} components, Samples per Pixel is {}",
            sof.components.len(),
            spec.samples
        ));
    }
    Ok(())
}

/// Runs third-party decoding so that a panic on hostile input becomes an error, not the end
/// of the thread that serves an association.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("decoder panicked on this frame".into()))
}

/// Lossless Process 14: writes `rows*cols*samples` samples, little endian, into `out`.
pub(crate) fn decode_lossless(data: &[u8], spec: &FrameSpec, out: &mut [u8]) -> Result<(), String> {
    crate::lossless::decode(data, spec, out)
}

/// Baseline / Extended (8 or 12 bit): writes the frame into `out`, colour converted as the
/// module doc says.
pub(crate) fn decode_lossy(data: &[u8], spec: &FrameSpec, out: &mut [u8]) -> Result<(), String> {
    let sof = read_sof(data)?;
    if !matches!(sof.marker, 0xC0 | 0xC1) {
        return Err(format!(
            "expected a sequential Huffman DCT frame (SOF0/SOF1), found SOF marker FF{:02X}",
            sof.marker
        ));
    }
    check_geometry(&sof, spec)?;
    if !matches!(spec.samples, 1 | 3) {
        return Err(format!("{} samples per pixel", spec.samples));
    }
    match sof.precision {
        8 => guarded(|| decode_lossy_8(data, spec, out)),
        12 => {
            if spec.bits_allocated != 16 {
                return Err(format!(
                    "12-bit JPEG with Bits Allocated {}",
                    spec.bits_allocated
                ));
            }
            guarded(|| decode_lossy_12(data, spec, out))
        }
        p => Err(format!("DCT sample precision {p}")),
    }
}

fn decode_lossy_8(data: &[u8], spec: &FrameSpec, out: &mut [u8]) -> Result<(), String> {
    let mut dec = Decoder::new(data).map_err(|e| e.to_string())?;
    let mut convert_ourselves = false;
    if spec.samples == 1 {
        dec.set_output_format(PixelFormat::Grayscale);
    } else {
        dec.set_output_format(PixelFormat::Rgb);
        let coded_ycc = dec.jpeg_color_space() == ColorSpace::YCbCr;
        match (spec.ybr_to_rgb, coded_ycc) {
            // libjpeg's default path: YCbCr upsampled and converted to RGB.
            (true, true) => {}
            // Markers say RGB but DICOM says YCbCr: take the samples as coded and convert
            // with libjpeg's own tables, as dcmtk forcing jpeg_color_space = YCbCr does.
            (true, false) => convert_ourselves = true,
            // DICOM says RGB: no conversion whatever the markers say (dcmtk sets
            // jpeg_color_space = RGB). Asking for YCbCr output returns the coded samples.
            (false, true) => dec.set_output_colorspace(ColorSpace::YCbCr),
            (false, false) => {}
        }
    }
    let n = spec.rows * spec.cols * spec.samples;
    match spec.bits_allocated {
        8 => {
            dec.decode_image_into(out).map_err(|e| e.to_string())?;
            if convert_ourselves {
                ycc_to_rgb_8(out);
            }
        }
        16 => {
            let mut tmp = vec![0u8; n];
            dec.decode_image_into(&mut tmp).map_err(|e| e.to_string())?;
            if convert_ourselves {
                ycc_to_rgb_8(&mut tmp);
            }
            for (o, &v) in out.chunks_exact_mut(2).zip(&tmp) {
                o[0] = v;
                o[1] = 0;
            }
        }
        ba => return Err(format!("Bits Allocated {ba} for an 8-bit JPEG frame")),
    }
    Ok(())
}

fn decode_lossy_12(data: &[u8], spec: &FrameSpec, out: &mut [u8]) -> Result<(), String> {
    if spec.samples == 3 {
        // The 12-bit API always applies libjpeg's default colour handling; accept only the
        // cases where that is what DICOM asks for.
        let dec = Decoder::new(data).map_err(|e| e.to_string())?;
        let coded_ycc = dec.jpeg_color_space() == ColorSpace::YCbCr;
        if coded_ycc != spec.ybr_to_rgb {
            return Err(
                "12-bit colour JPEG whose markers disagree with the photometric interpretation"
                    .into(),
            );
        }
    }
    let img = libjpeg_turbo_rs::precision::decompress_12bit(data).map_err(|e| e.to_string())?;
    let n = spec.rows * spec.cols * spec.samples;
    if img.data.len() < n {
        return Err(format!(
            "decoder returned {} samples, {n} expected",
            img.data.len()
        ));
    }
    for (o, &v) in out.chunks_exact_mut(2).zip(&img.data[..n]) {
        o.copy_from_slice(&(v.clamp(0, 4095) as u16).to_le_bytes());
    }
    Ok(())
}

/// libjpeg's `ycc_rgb_convert` (jdcolor.c) for 8-bit samples, in place.
fn ycc_to_rgb_8(px: &mut [u8]) {
    const ONE_HALF: i32 = 1 << 15;
    let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
    let mut cr_r = [0i32; 256];
    let mut cb_b = [0i32; 256];
    let mut cr_g = [0i32; 256];
    let mut cb_g = [0i32; 256];
    for i in 0..256 {
        let x = i as i32 - 128;
        cr_r[i] = (fix(1.40200) * x + ONE_HALF) >> 16;
        cb_b[i] = (fix(1.77200) * x + ONE_HALF) >> 16;
        cr_g[i] = -fix(0.71414) * x;
        cb_g[i] = -fix(0.34414) * x + ONE_HALF;
    }
    for p in px.chunks_exact_mut(3) {
        let (y, cb, cr) = (p[0] as i32, p[1] as usize, p[2] as usize);
        p[0] = (y + cr_r[cr]).clamp(0, 255) as u8;
        p[1] = (y + ((cb_g[cb] + cr_g[cr]) >> 16)).clamp(0, 255) as u8;
        p[2] = (y + cb_b[cb]).clamp(0, 255) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sof_of_a_minimal_header() {
        // SOI, APP0 (len 4), SOF3 precision 16, 2x3, 1 component
        let d = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC3, 0x00, 0x0B, 16, 0x00, 0x03,
            0x00, 0x02, 1, 1, 0x11, 0,
        ];
        let s = read_sof(&d).unwrap();
        assert_eq!(
            (s.marker, s.precision, s.height, s.width, s.components.len()),
            (0xC3, 16, 3, 2, 1)
        );
        assert!(read_sof(&d[..6]).is_err());
        assert!(read_sof(&[0, 1, 2, 3]).is_err());
    }

    #[test]
    fn ycc_gray_stays_gray() {
        let mut p = [100u8, 128, 128, 0, 128, 128, 255, 128, 128];
        ycc_to_rgb_8(&mut p);
        assert_eq!(p, [100, 100, 100, 0, 0, 0, 255, 255, 255]);
    }
}

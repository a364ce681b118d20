//! Golden tests of the rendering pipeline: each rule of docs/rendering.md on a small
//! synthetic instance, against exact expected bytes of the pre-JPEG buffer. The expected
//! values were computed by hand from the PS3.3 formulas (round half up), not by this crate.

#![allow(clippy::unwrap_used)]

mod common;

use common::{el, ss, us, Ds};
use dcmdisc_render::{jpeg, Format, Instance, RenderError, Voi, VoiFunction, Window};

fn linear(center: f64, width: f64) -> Window {
    Window::Linear {
        center,
        width,
        function: VoiFunction::Linear,
    }
}

fn gray(d: &Ds, frame: usize, w: &Window) -> Vec<u8> {
    let img = Instance::open(d.bytes()).unwrap().render(frame, w).unwrap();
    assert_eq!(img.format, Format::Gray8);
    img.data
}

fn rgb(d: &Ds) -> Vec<u8> {
    let img = Instance::open(d.bytes())
        .unwrap()
        .render(0, &Window::Default)
        .unwrap();
    assert_eq!(img.format, Format::Rgb8);
    img.data
}

#[test]
fn bits_stored_masks_high_bit_overlays() {
    // 12 of 16 bits; bits 12–15 hold an old overlay plane and must not reach the display.
    let mut d = Ds::mono(1, 5, 16, 12, false);
    d.pixels16(&[0, 0x8000 | 4095, 0xF000 | 2048, 1000, 0x8000 | 100]);
    assert_eq!(gray(&d, 0, &linear(2048.0, 4096.0)), [0, 255, 128, 62, 6]);
}

#[test]
fn signed_values_are_sign_extended_from_bits_stored() {
    let mut d = Ds::mono(1, 4, 16, 12, true);
    // -2048 (0x800), 2047 with junk above bit 11, -1 (0xFFF) with junk, 0.
    d.pixels16(&[0x0800, 0xF7FF, 0xFFFF, 0x0000]);
    assert_eq!(gray(&d, 0, &linear(0.0, 4096.0)), [0, 255, 127, 128]);
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.stored_value(0, 2, 0).unwrap(), -1);
}

#[test]
fn rescale_slope_and_intercept() {
    let mut d = Ds::mono(1, 4, 16, 12, false);
    d.text(0x0028_1052, b"DS", "-1024")
        .text(0x0028_1053, b"DS", "2");
    d.pixels16(&[0, 512, 1024, 2047]);
    assert_eq!(gray(&d, 0, &linear(0.0, 2048.0)), [0, 128, 255, 255]);
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.modality_value(0, 1, 0).unwrap(), Some(0.0));
    assert_eq!(inst.modality_value(0, 3, 0).unwrap(), Some(3070.0));
}

#[test]
fn modality_lut_sequence_replaces_rescale() {
    let mut d = Ds::mono(1, 4, 16, 16, false);
    let item = [
        el(0x0028_3002, b"US", &us(&[4, 10, 16])),
        el(0x0028_3004, b"LO", b"HU"),
        el(0x0028_3006, b"US", &us(&[100, 200, 300, 400])),
    ]
    .concat();
    d.seq(0x0028_3000, &[item]);
    // Stored 0 is below the first mapped value (10): the first entry; 20 is past the last.
    d.pixels16(&[0, 10, 12, 20]);
    assert_eq!(gray(&d, 0, &linear(250.0, 301.0)), [0, 0, 170, 255]);
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.modality_value(0, 2, 0).unwrap(), Some(300.0));
}

#[test]
fn window_formula_is_c_minus_half_not_c_plus_minus_w_over_2() {
    let mut d = Ds::mono(1, 5, 16, 16, true);
    d.set(0x7FE0_0010, b"OW", &ss(&[-160, -159, 40, 238, 239]));
    // c ± w/2 would give 254 for 239; PS3.3 C.11.2.1.2.1 puts 239 at the top.
    assert_eq!(gray(&d, 0, &linear(40.0, 400.0)), [0, 1, 128, 254, 255]);
}

#[test]
fn linear_exact_and_sigmoid_from_the_file() {
    let mut d = Ds::mono(1, 5, 16, 16, true);
    d.set(0x7FE0_0010, b"OW", &ss(&[-160, -159, 40, 238, 240]));
    d.text(0x0028_1050, b"DS", "40")
        .text(0x0028_1051, b"DS", "400");
    d.text(0x0028_1056, b"CS", "LINEAR_EXACT");
    assert_eq!(gray(&d, 0, &Window::Default), [0, 1, 128, 254, 255]);
    d.text(0x0028_1056, b"CS", "SIGMOID");
    assert_eq!(gray(&d, 0, &Window::Default), [30, 31, 128, 224, 225]);
}

#[test]
fn every_window_pair_and_voi_lut_item_is_a_preset() {
    let mut d = Ds::mono(1, 3, 8, 8, false);
    d.text(0x0028_1050, b"DS", "100\\50")
        .text(0x0028_1051, b"DS", "201\\101");
    d.text(0x0028_1055, b"LO", "SOFT\\NARROW");
    let lut = |entries: &[u16], why: &str| {
        [
            el(0x0028_3002, b"US", &us(&[3, 99, 8])),
            el(0x0028_3003, b"LO", why.as_bytes()),
            el(0x0028_3006, b"US", &us(entries)),
        ]
        .concat()
    };
    d.seq(
        0x0028_3010,
        &[lut(&[0, 128, 255], "RAMP"), lut(&[255, 0, 255], "NOTCH")],
    );
    d.pixels8(&[0, 100, 200]);
    let inst = Instance::open(d.bytes()).unwrap();
    let labels: Vec<String> = inst.presets().iter().map(|p| p.label()).collect();
    assert_eq!(
        labels,
        [
            "SOFT (C 100 W 201)",
            "NARROW (C 50 W 101)",
            "RAMP (VOI LUT (3 entries))",
            "NOTCH (VOI LUT (3 entries))"
        ]
    );
    assert!(matches!(inst.presets()[2].voi, Voi::Lut(_)));
    // Default = the first pair: 0 → (−99.5/200 + 0.5)·255 = 0.64, 100 → 128.1, 200 → 255.
    assert_eq!(gray(&d, 0, &Window::Default), [1, 128, 255]);
    assert_eq!(gray(&d, 0, &Window::Preset(1)), [1, 255, 255]);
    // VOI LUT: 0 is below 99 → first entry; 100 → second; 200 → last; 8-bit entries.
    assert_eq!(gray(&d, 0, &Window::Preset(2)), [0, 128, 255]);
    assert_eq!(gray(&d, 0, &Window::Preset(3)), [255, 0, 255]);
    assert!(matches!(
        inst.render(0, &Window::Preset(4)),
        Err(RenderError::BadWindow(_))
    ));
}

#[test]
fn automatic_window_leaves_out_pixel_padding() {
    let mut d = Ds::mono(1, 4, 16, 16, true);
    d.text(0x0028_1052, b"DS", "-1024");
    d.set(0x7FE0_0010, b"OW", &ss(&[-2000, 0, 100, 200]));
    // Without Pixel Padding Value the padding takes most of the range.
    assert_eq!(gray(&d, 0, &Window::Default), [0, 232, 243, 255]);
    d.set(0x0028_0120, b"SS", &ss(&[-2000]));
    assert_eq!(gray(&d, 0, &Window::Default), [0, 0, 128, 255]);
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.modality_value(0, 0, 0).unwrap(), None);
    // A padding range: everything from -2000 up to 0 is padding.
    d.set(0x0028_0121, b"SS", &ss(&[0]));
    assert_eq!(gray(&d, 0, &Window::MinMax), [0, 0, 0, 255]);
}

#[test]
fn monochrome1_and_inverse_invert_exactly_once() {
    let mut d = Ds::mono(1, 3, 8, 8, false);
    d.pixels8(&[0, 100, 200]);
    let w = linear(100.0, 201.0);
    assert_eq!(gray(&d, 0, &w), [1, 128, 255]);
    d.text(0x0028_0004, b"CS", "MONOCHROME1");
    assert_eq!(gray(&d, 0, &w), [254, 127, 0]);
    d.text(0x2050_0020, b"CS", "INVERSE");
    assert_eq!(gray(&d, 0, &w), [254, 127, 0]);
    d.text(0x0028_0004, b"CS", "MONOCHROME2");
    assert_eq!(gray(&d, 0, &w), [254, 127, 0]);
    d.text(0x2050_0020, b"CS", "IDENTITY");
    assert_eq!(gray(&d, 0, &w), [1, 128, 255]);
}

#[test]
fn rgb_planar_0_and_1_give_the_same_pixels() {
    let mut px = Ds::color(1, 2, "RGB", 0);
    px.pixels8(&[10, 20, 30, 40, 50, 60]);
    let mut pl = Ds::color(1, 2, "RGB", 1);
    pl.pixels8(&[10, 40, 20, 50, 30, 60]);
    assert_eq!(rgb(&px), [10, 20, 30, 40, 50, 60]);
    assert_eq!(rgb(&pl), [10, 20, 30, 40, 50, 60]);
}

#[test]
fn ybr_full_and_ybr_full_422_to_rgb() {
    let mut d = Ds::color(1, 2, "YBR_FULL", 0);
    d.pixels8(&[76, 85, 255, 150, 44, 21]);
    assert_eq!(rgb(&d), [254, 0, 0, 0, 255, 1]);
    // 422: Y1 Y2 Cb Cr; both pixels share the chroma.
    let mut d = Ds::color(1, 4, "YBR_FULL_422", 0);
    d.pixels8(&[76, 200, 85, 255, 200, 29, 128, 128]);
    assert_eq!(
        rgb(&d),
        [254, 0, 0, 255, 124, 124, 200, 200, 200, 29, 29, 29]
    );
}

#[test]
fn palette_color_8_and_16_bit_entries() {
    let mut d = Ds::mono(1, 3, 8, 8, false);
    d.text(0x0028_0004, b"CS", "PALETTE COLOR");
    // 8-bit entries packed two per word; first mapped value 1.
    for (i, data) in [[1u8, 2, 3, 0], [4, 5, 6, 0], [7, 8, 9, 0]]
        .iter()
        .enumerate()
    {
        let i = i as u32;
        d.set(0x0028_1101 + i, b"US", &us(&[3, 1, 8]));
        d.set(0x0028_1201 + i, b"OW", data);
    }
    d.pixels8(&[0, 2, 9]);
    assert_eq!(rgb(&d), [1, 4, 7, 2, 5, 8, 3, 6, 9]);
    // 16 bits per entry, 65536 entries (first descriptor value 0), 16-bit indices.
    let mut d = Ds::mono(1, 2, 16, 16, false);
    d.text(0x0028_0004, b"CS", "PALETTE COLOR");
    let ramp: Vec<u16> = (0..=65535u16).collect();
    for i in 0..3u32 {
        d.set(0x0028_1101 + i, b"US", &us(&[0, 0, 16]));
        d.set(0x0028_1201 + i, b"OW", &us(&ramp));
    }
    d.pixels16(&[0x8080, 0xFFFF]);
    // Entries scaled by 255 / 65535: 0x8080 = 128 · 257 → 128.
    assert_eq!(rgb(&d), [128, 128, 128, 255, 255, 255]);
}

#[test]
fn multi_frame_in_order() {
    let mut d = Ds::mono(1, 2, 8, 8, false);
    d.text(0x0028_0008, b"IS", "3");
    d.pixels8(&[0, 10, 20, 30, 40, 50]);
    let w = linear(128.0, 256.0);
    assert_eq!(gray(&d, 0, &w), [0, 10]);
    assert_eq!(gray(&d, 2, &w), [40, 50]);
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.frames(), 3);
    assert!(matches!(
        inst.render(3, &w),
        Err(RenderError::NoSuchFrame {
            frame: 3,
            frames: 3
        })
    ));
}

#[test]
fn overlays_are_a_separate_layer() {
    let mut d = Ds::mono(2, 3, 8, 8, false);
    d.pixels8(&[1, 2, 3, 4, 5, 6]);
    // A 1×2 plane at row 2, column 2 (1-based): bits 1, 0 → pixel (1, 1) set.
    d.set(0x6000_0010, b"US", &us(&[1]))
        .set(0x6000_0011, b"US", &us(&[2]))
        .set(0x6000_0050, b"SS", &ss(&[2, 2]))
        .set(0x6000_0100, b"US", &us(&[1]))
        .set(0x6000_0102, b"US", &us(&[0]))
        .text(0x6000_0040, b"CS", "G")
        .set(0x6000_3000, b"OW", &[0b01, 0]);
    let inst = Instance::open(d.bytes()).unwrap();
    let layers = inst.overlays(0).unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].group, 0x6000);
    assert_eq!(layers[0].data, [0, 0, 0, 0, 1, 0]);
    // Not burned in.
    assert_eq!(gray(&d, 0, &linear(128.0, 256.0)), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn embedded_overlay_bits_become_a_layer_and_leave_the_image() {
    let mut d = Ds::mono(1, 2, 16, 12, false);
    d.pixels16(&[0x8000 | 100, 100]);
    d.set(0x6000_0010, b"US", &us(&[1]))
        .set(0x6000_0011, b"US", &us(&[2]))
        .set(0x6000_0100, b"US", &us(&[16]))
        .set(0x6000_0102, b"US", &us(&[15]));
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.overlays(0).unwrap()[0].data, [1, 0]);
    let img = inst.render(0, &linear(2048.0, 4096.0)).unwrap();
    assert_eq!(img.data[0], img.data[1]);
}

/// RLE Lossless (PS3.5 G): one segment, one literal run, in one fragment.
fn rle_fragment(pixels: &[u8]) -> Vec<u8> {
    let mut seg = vec![0u8; 64];
    seg[0] = 1;
    seg[4] = 64;
    seg.push((pixels.len() - 1) as u8);
    seg.extend_from_slice(pixels);
    if seg.len() % 2 == 1 {
        seg.push(0);
    }
    let mut enc = vec![0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0];
    enc.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
    enc.extend_from_slice(&(seg.len() as u32).to_le_bytes());
    enc.extend_from_slice(&seg);
    enc.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    enc
}

#[test]
fn compressed_pixels_go_through_the_transcoder() {
    let mut native = Ds::mono(2, 2, 8, 8, false);
    native.pixels8(&[0, 60, 120, 255]);
    let mut rle = native.clone();
    rle.ts = Some(dcmdisc_dicom::uid::RLE_LOSSLESS);
    rle.encapsulated = Some(rle_fragment(&[0, 60, 120, 255]));
    let a = gray(&native, 0, &Window::Default);
    let inst = Instance::open(rle.bytes()).unwrap();
    assert_eq!(inst.transfer_syntax(), dcmdisc_dicom::uid::RLE_LOSSLESS);
    assert_eq!(inst.render(0, &Window::Default).unwrap().data, a);
    assert_eq!(a, [0, 60, 120, 255]);
}

#[test]
fn a_syntax_without_a_decoder_is_a_typed_error() {
    let mut d = Ds::mono(2, 2, 8, 8, false);
    d.ts = Some("1.2.840.10008.1.2.4.90"); // JPEG 2000 Lossless
    d.encapsulated = Some(rle_fragment(&[0, 1, 2, 3]));
    match Instance::open(d.bytes()) {
        Err(RenderError::UnsupportedTransferSyntax(ts)) => assert_eq!(ts, "1.2.840.10008.1.2.4.90"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn broken_instances_are_errors_not_panics() {
    let mut d = Ds::mono(2, 2, 16, 12, false);
    d.pixels16(&[1, 2, 3]); // one pixel short
    assert!(matches!(
        Instance::open(d.bytes()),
        Err(RenderError::Unsupported(_))
    ));
    let mut d = Ds::mono(2, 2, 16, 12, false);
    d.set(0x0028_0101, b"US", &us(&[17]));
    d.pixels16(&[1, 2, 3, 4]);
    assert!(Instance::open(d.bytes()).is_err());
    let mut d = Ds::mono(2, 2, 8, 8, false);
    d.pixels8(&[1, 2, 3, 4]);
    let bytes = d.bytes();
    for cut in 0..bytes.len() {
        let _ = Instance::open(bytes[..cut].to_vec());
    }
}

#[test]
fn jpeg_is_deterministic_and_decodes() {
    let mut d = Ds::mono(16, 24, 16, 12, false);
    let px: Vec<u16> = (0..16 * 24).map(|i| (i * 11 % 4096) as u16).collect();
    d.pixels16(&px);
    let inst = Instance::open(d.bytes()).unwrap();
    let img = inst.render(0, &Window::Default).unwrap();
    let a = jpeg(&img, 85).unwrap();
    assert_eq!(a, jpeg(&img, 85).unwrap());
    let mut dec = jpeg_decoder::Decoder::new(a.as_slice());
    let out = dec.decode().unwrap();
    let info = dec.info().unwrap();
    assert_eq!((info.width, info.height, out.len()), (24, 16, 24 * 16));
    let t = inst.thumbnail(0, 8, 85).unwrap();
    let mut dec = jpeg_decoder::Decoder::new(t.as_slice());
    dec.decode().unwrap();
    let info = dec.info().unwrap();
    assert_eq!((info.width, info.height), (8, 6));
}

#[test]
fn enhanced_functional_groups_give_per_frame_rescale_and_window() {
    let mut d = Ds::mono(1, 2, 16, 16, false);
    d.text(0x0028_0008, b"IS", "2");
    let pvt = |intercept: &str| {
        let inner = [
            el(0x0028_1052, b"DS", intercept.as_bytes()),
            el(0x0028_1053, b"DS", b"1"),
        ]
        .concat();
        let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
        seq.extend_from_slice(&(inner.len() as u32).to_le_bytes());
        seq.extend_from_slice(&inner);
        el(0x0028_9145, b"SQ", &seq)
    };
    let voi = {
        let inner = [el(0x0028_1050, b"DS", b"0"), el(0x0028_1051, b"DS", b"201")].concat();
        let mut seq = vec![0xFE, 0xFF, 0x00, 0xE0];
        seq.extend_from_slice(&(inner.len() as u32).to_le_bytes());
        seq.extend_from_slice(&inner);
        el(0x0028_9132, b"SQ", &seq)
    };
    d.seq(0x5200_9229, &[voi]);
    d.seq(0x5200_9230, &[pvt("-100"), pvt("0")]);
    d.pixels16(&[0, 100, 0, 100]);
    let inst = Instance::open(d.bytes()).unwrap();
    assert_eq!(inst.presets().len(), 1);
    assert_eq!(inst.modality_value(0, 1, 0).unwrap(), Some(0.0));
    assert_eq!(inst.modality_value(1, 1, 0).unwrap(), Some(100.0));
    // Frame 0: -100 → (−99.5/200 + 0.5)·255 = 0.64, 0 → 128; frame 1: 0 → 128, 100 → 255.
    assert_eq!(gray(&d, 0, &Window::Default), [1, 128]);
    assert_eq!(gray(&d, 1, &Window::Default), [128, 255]);
}

#[test]
fn segmented_palette_expands_discrete_linear_and_indirect_segments() {
    let mut d = Ds::mono(1, 4, 8, 8, false);
    d.text(0x0028_0004, b"CS", "PALETTE COLOR");
    // 8 entries, 8 bits: discrete 0 10 | linear to 40 in 3 | indirect copy of segment 0.
    let seg = us(&[0, 2, 0, 10, 1, 3, 40, 2, 1, 0, 0]);
    for i in 0..3u32 {
        d.set(0x0028_1101 + i, b"US", &us(&[8, 0, 8]));
        d.set(0x0028_1221 + i, b"OW", &seg);
    }
    // Entries: 0 10 20 30 40 0 10 10 (padded with the last).
    d.pixels8(&[1, 2, 4, 6]);
    assert_eq!(rgb(&d), [10, 10, 10, 20, 20, 20, 40, 40, 40, 10, 10, 10]);
}

#[test]
fn implicit_vr_reads_us_or_ss_by_pixel_representation() {
    // Signed CT in Implicit VR: Pixel Padding Value and the VOI LUT's first mapped value are
    // SS (no VR in the file to say so), the LUT starting at -1024 HU.
    let mut d = Ds::mono(1, 4, 16, 16, true);
    d.text(0x0028_1052, b"DS", "-1024");
    d.set(0x0028_0120, b"SS", &ss(&[-2000]));
    let lut = [
        el(0x0028_3002, b"US", &[3, 0, 0x00, 0xFC, 8, 0]),
        el(0x0028_3006, b"US", &us(&[0, 100, 255])),
    ]
    .concat();
    d.seq(0x0028_3010, &[lut]);
    d.set(0x7FE0_0010, b"OW", &ss(&[-2000, 0, 1, 2]));
    let implicit = Instance::open(d.bytes_implicit()).unwrap();
    let explicit = Instance::open(d.bytes()).unwrap();
    // m = -3024, -1024, -1023, -1022 → first entry (below -1024), then 0, 100, 255.
    for inst in [&implicit, &explicit] {
        assert_eq!(
            inst.render(0, &Window::Preset(0)).unwrap().data,
            [0, 0, 100, 255]
        );
        assert_eq!(inst.modality_value(0, 0, 0).unwrap(), None);
        assert_eq!(inst.modality_value(0, 1, 0).unwrap(), Some(-1024.0));
    }
}

#[test]
fn icc_profile_of_a_colour_image_is_embedded_in_the_jpeg() {
    let mut d = Ds::color(1, 2, "RGB", 0);
    d.pixels8(&[10, 20, 30, 40, 50, 60]);
    let profile: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    d.set(0x0028_2000, b"OB", &profile);
    let inst = Instance::open(d.bytes()).unwrap();
    let img = inst.render(0, &Window::Default).unwrap();
    assert_eq!(img.icc.as_deref(), Some(profile.as_slice()));
    let j = jpeg(&img, 85).unwrap();
    let marker = j.windows(12).position(|w| w == b"ICC_PROFILE\0").unwrap();
    // Then the chunk number and count (1 of 1), then the profile.
    assert_eq!(&j[marker + 12..marker + 14], &[1, 1]);
    assert_eq!(
        &j[marker + 14..marker + 14 + profile.len()],
        profile.as_slice()
    );
}

//! The decoder against jpeg-decoder on generated streams.

use super::*;

/// A minimal lossless encoder for the tests: one Huffman table giving all 17 difference
/// categories a 5-bit code.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode(
    samples: &[u16],
    width: usize,
    height: usize,
    ncomp: usize,
    precision: u8,
    predictor: u8,
    pt: u8,
    restart_rows: usize,
    interleaved: bool,
) -> Vec<u8> {
    let mut o = vec![0xFF, 0xD8];
    // DHT: table 0, 17 codes of length 5, symbols 0..=16.
    let mut counts = [0u8; 16];
    counts[4] = 17;
    o.extend_from_slice(&[0xFF, 0xC4]);
    o.extend_from_slice(&((2 + 1 + 16 + 17) as u16).to_be_bytes());
    o.push(0x00);
    o.extend_from_slice(&counts);
    o.extend((0..=16u8).collect::<Vec<_>>());
    // SOF3
    o.extend_from_slice(&[0xFF, 0xC3]);
    o.extend_from_slice(&((8 + 3 * ncomp) as u16).to_be_bytes());
    o.push(precision);
    o.extend_from_slice(&(height as u16).to_be_bytes());
    o.extend_from_slice(&(width as u16).to_be_bytes());
    o.push(ncomp as u8);
    for c in 0..ncomp {
        o.extend_from_slice(&[c as u8 + 1, 0x11, 0]);
    }
    if restart_rows > 0 {
        o.extend_from_slice(&[0xFF, 0xDD, 0, 4]);
        o.extend_from_slice(&((restart_rows * width) as u16).to_be_bytes());
    }
    let groups: Vec<Vec<usize>> = if interleaved {
        vec![(0..ncomp).collect()]
    } else {
        (0..ncomp).map(|c| vec![c]).collect()
    };
    for g in groups {
        o.extend_from_slice(&[0xFF, 0xDA]);
        o.extend_from_slice(&((6 + 2 * g.len()) as u16).to_be_bytes());
        o.push(g.len() as u8);
        for &c in &g {
            o.extend_from_slice(&[c as u8 + 1, 0x00]);
        }
        o.extend_from_slice(&[predictor, 0, pt]);
        let mut w = BitWriter::default();
        let px = |x: usize, y: usize, c: usize| (samples[(y * width + x) * ncomp + c] >> pt) as i32;
        let mut restart_no = 0u8;
        for y in 0..height {
            let first = restart_rows == 0 && y == 0 || restart_rows > 0 && y % restart_rows == 0;
            if restart_rows > 0 && y > 0 && y % restart_rows == 0 {
                w.flush_into(&mut o);
                o.extend_from_slice(&[0xFF, 0xD0 + (restart_no & 7)]);
                restart_no += 1;
            }
            for x in 0..width {
                for &c in &g {
                    let pred = if first {
                        if x == 0 {
                            1 << (precision - pt - 1)
                        } else {
                            px(x - 1, y, c)
                        }
                    } else if x == 0 {
                        px(x, y - 1, c)
                    } else {
                        let (ra, rb, rc) = (px(x - 1, y, c), px(x, y - 1, c), px(x - 1, y - 1, c));
                        predict_with(u32::from(predictor), ra, rb, rc)
                    };
                    let mut d = (px(x, y, c) - pred) & 0xFFFF;
                    if d >= 0x8000 {
                        d -= 0x10000;
                    }
                    let (s, extra) = if d == 0 {
                        (0, 0)
                    } else if d == -32768 {
                        (16, 0)
                    } else {
                        let s = 32 - (d.unsigned_abs()).leading_zeros();
                        (
                            s,
                            if d < 0 {
                                (d - 1) as u32 & ((1 << s) - 1)
                            } else {
                                d as u32
                            },
                        )
                    };
                    w.put(s, 5);
                    if (1..16).contains(&s) {
                        w.put(extra, s);
                    }
                }
            }
        }
        w.flush_into(&mut o);
    }
    o.extend_from_slice(&[0xFF, 0xD9]);
    o
}

#[derive(Default)]
struct BitWriter {
    acc: u64,
    n: u32,
    bytes: Vec<u8>,
}

impl BitWriter {
    fn put(&mut self, v: u32, k: u32) {
        self.acc = (self.acc << k) | (v as u64 & ((1u64 << k) - 1));
        self.n += k;
        while self.n >= 8 {
            let b = (self.acc >> (self.n - 8)) as u8;
            self.bytes.push(b);
            if b == 0xFF {
                self.bytes.push(0);
            }
            self.n -= 8;
        }
    }
    fn flush_into(&mut self, o: &mut Vec<u8>) {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put((1 << pad) - 1, pad);
        }
        o.append(&mut self.bytes);
    }
}

fn sample_image(width: usize, height: usize, ncomp: usize, precision: u8, seed: u32) -> Vec<u16> {
    let max = (1u32 << precision) - 1;
    let mut s = seed;
    (0..width * height * ncomp)
        .map(|i| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let smooth = ((i / ncomp) % width) as u32 * 37 + ((i / ncomp) / width) as u32 * 11;
            ((smooth + (s >> 16) % 64) & max) as u16
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn check(
    width: usize,
    height: usize,
    ncomp: usize,
    precision: u8,
    predictor: u8,
    pt: u8,
    restart_rows: usize,
    interleaved: bool,
) {
    let mut img = sample_image(
        width,
        height,
        ncomp,
        precision,
        predictor as u32 * 7 + pt as u32,
    );
    // What survives the point transform.
    for v in &mut img {
        *v = (*v >> pt) << pt;
    }
    let jpeg = encode(
        &img,
        width,
        height,
        ncomp,
        precision,
        predictor,
        pt,
        restart_rows,
        interleaved,
    );
    let bytes = if precision > 8 { 2 } else { 1 };
    let spec = FrameSpec {
        rows: height,
        cols: width,
        samples: ncomp,
        bits_allocated: bytes as u16 * 8,
        ybr_to_rgb: false,
    };
    let mut out = vec![0u8; width * height * ncomp * bytes];
    decode(&jpeg, &spec, &mut out)
        .unwrap_or_else(|e| panic!("p{predictor} pt{pt} P{precision}: {e}"));
    let ours: Vec<u16> = if bytes == 2 {
        out.chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()
    } else {
        out.iter().map(|&b| b as u16).collect()
    };
    assert_eq!(
        ours, img,
        "p{predictor} pt{pt} P{precision} rst{restart_rows} nc{ncomp}"
    );
    // And the reference decoder agrees on the same stream. Not with a point transform or
    // restart intervals: there jpeg-decoder 0.3 predicts from the scaled-up samples and
    // does not reset the prediction at a restart, where T.81 H.1.2.1 and libjpeg (so
    // dcmdjpeg, checked by the interop tests with `dcmcjpeg +pt`) do otherwise.
    if interleaved && pt == 0 && restart_rows == 0 {
        let theirs = jpeg_decoder::Decoder::new(&jpeg[..]).decode().unwrap();
        // (jpeg-decoder returns 16-bit samples for every precision but 8.)
        let theirs: Vec<u16> = if precision != 8 {
            theirs
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                .collect()
        } else {
            theirs.iter().map(|&b| b as u16).collect()
        };
        assert_eq!(
            theirs, img,
            "jpeg-decoder disagrees: p{predictor} pt{pt} P{precision}"
        );
    }
}

#[test]
fn every_predictor_precision_and_point_transform() {
    for predictor in 1..=7 {
        for (precision, pt) in [(16, 0), (12, 0), (8, 0), (16, 2), (8, 1), (2, 0), (13, 3)] {
            check(37, 23, 1, precision, predictor, pt, 0, true);
        }
    }
}

#[test]
fn restart_intervals_and_colour() {
    check(16, 20, 1, 16, 1, 0, 3, true);
    check(16, 20, 3, 8, 6, 0, 0, true);
    check(16, 20, 3, 8, 7, 0, 4, true);
    check(16, 20, 3, 16, 4, 0, 0, false); // one scan per component
}

#[test]
fn broken_streams_are_errors_not_panics() {
    let img = sample_image(32, 32, 1, 12, 1);
    let jpeg = encode(&img, 32, 32, 1, 12, 1, 0, 0, true);
    let spec = FrameSpec {
        rows: 32,
        cols: 32,
        samples: 1,
        bits_allocated: 16,
        ybr_to_rgb: false,
    };
    let mut out = vec![0u8; 32 * 32 * 2];
    // Truncated entropy data.
    let mut short = jpeg[..jpeg.len() / 2].to_vec();
    short.extend_from_slice(&[0xFF, 0xD9]);
    assert!(decode(&short, &spec, &mut out).is_err());
    // Every single-byte corruption: never a panic.
    for i in 2..jpeg.len() {
        let mut bad = jpeg.clone();
        bad[i] ^= 0x5A;
        let _ = decode(&bad, &spec, &mut out);
    }
    // Wrong geometry.
    let spec2 = FrameSpec { rows: 31, ..spec };
    assert!(decode(&jpeg, &spec2, &mut vec![0u8; 31 * 32 * 2]).is_err());
}

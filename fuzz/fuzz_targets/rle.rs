//! The RLE Lossless frame decoder, on one fragment. The first four bytes give the geometry
//! the attributes would: samples per pixel (1 or 3), bytes per sample (1, 2 or 4), pixels
//! (16 bits, LE); the rest is the fragment.
#![no_main]

use dcmdisc_transcode::fuzzing::rle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, fragment)) = data.split_first_chunk::<4>() else {
        return;
    };
    let samples = if head[0] & 1 == 0 { 1 } else { 3 };
    let bytes = [1, 2, 4, 1][usize::from(head[1] & 3)];
    let pixels = usize::from(u16::from_le_bytes([head[2], head[3]]));
    let _ = rle(fragment, pixels, samples, bytes);
});

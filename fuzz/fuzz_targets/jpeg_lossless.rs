//! The JPEG Lossless (Process 14) frame decoder, on one frame. The geometry the DICOM
//! attributes would give is taken from the frame's own header (so that inputs get past the
//! geometry check), off by one row when bit 1 of the first byte is set; bit 0 chooses Bits
//! Allocated 16 over 8.
#![no_main]

use dcmdisc_transcode::fuzzing::{jpeg_lossless, sof_geometry};
use libfuzzer_sys::fuzz_target;

/// Larger frames only cost time (a 512x512 frame takes milliseconds under the sanitizer):
/// the decoder's bounds checks do not depend on the size.
const MAX_SAMPLES: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, frame)) = data.split_first() else {
        return;
    };
    let (rows, cols, samples) = sof_geometry(frame).unwrap_or((1, 1, 1));
    let rows = rows + usize::from(mode & 2 != 0);
    if rows * cols * samples > MAX_SAMPLES {
        return;
    }
    let bits = if mode & 1 == 1 { 16 } else { 8 };
    let _ = jpeg_lossless(frame, rows, cols, samples, bits);
});

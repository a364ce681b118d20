//! A whole Part 10 file through `render::Instance::open` (File Meta, the header walk with the
//! renderer's visitor, the pixel module and LUT parsing, decompression through the
//! transcoder) and then `render` of the first frames at every preset and the automatic
//! window, their overlay layers, the pixel value accessors and the JPEG encoder.
#![no_main]

use dcmdisc_render::{jpeg, Instance, Window};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(inst) = Instance::open(data.to_vec()) else {
        return;
    };
    for frame in 0..inst.frames().min(3) {
        let mut windows = vec![Window::Default, Window::MinMax];
        windows.extend((0..inst.frame_presets(frame).len().min(4)).map(Window::Preset));
        for w in &windows {
            if let Ok(img) = inst.render(frame, w) {
                assert_eq!(img.data.len(), img.width * img.height * img.format.channels());
                if frame == 0 && img.width * img.height <= 1 << 16 {
                    let _ = jpeg(&img, 85);
                    let _ = img.fit(16);
                }
            }
        }
        let _ = inst.overlays(frame);
        let _ = inst.modality_value(frame, 0, 0);
    }
});

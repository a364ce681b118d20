//! Inputs on which the `render` fuzz target once crashed (`scripts/fuzz.sh` copies them to
//! `tests/fuzz-regressions/render/`), replayed through the same calls as
//! `fuzz/fuzz_targets/render.rs`: each must now end in a result, not a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use dcmdisc_render::{jpeg, Instance, Window};

#[test]
fn render_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions/render");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // none yet: the folder appears with the first crash
    };
    for e in entries {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let Ok(inst) = Instance::open(data) else {
            continue;
        };
        for frame in 0..inst.frames().min(3) {
            let mut windows = vec![Window::Default, Window::MinMax];
            windows.extend((0..inst.frame_presets(frame).len().min(4)).map(Window::Preset));
            for w in &windows {
                if let Ok(img) = inst.render(frame, w) {
                    if frame == 0 && img.width * img.height <= 1 << 16 {
                        let _ = jpeg(&img, 85);
                        let _ = img.fit(16);
                    }
                }
            }
            let _ = inst.overlays(frame);
            let _ = inst.modality_value(frame, 0, 0);
        }
    }
}

//! Where dcmtk has no answer, pydicom is the peer: segmented palettes (dcmj2pnm refuses them),
//! compared exactly with pydicom's `apply_color_lut` scaled to 8 bits (rounded half up).
//! Skipped where python3/pydicom or the sample are missing, outside CI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use dcmdisc_render::{Instance, Window};
use dcmdisc_testkit::{skipped, under_ci};

const SCRIPT: &str = r#"
import sys
import numpy as np, pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut
p = get_testdata_file(sys.argv[1])
ds = pydicom.dcmread(p)
rgb = apply_color_lut(ds.pixel_array, ds).astype(float)
mx = 65535.0 if rgb.max() > 255 else 255.0
out = np.floor(rgb * 255.0 / mx + 0.5).astype(np.uint8)
sys.stdout.write(p + "\n")
sys.stdout.flush()
sys.stdout.buffer.write(out.tobytes())
"#;

#[test]
fn segmented_palette_matches_pydicom() {
    let out = Command::new("python3")
        .args(["-c", SCRIPT, "gdcm-US-ALOKA-16.dcm"])
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o.stdout,
        other => {
            assert!(
                !under_ci(),
                "pydicom with pydicom-data must run under CI: {other:?}"
            );
            skipped("python3 with pydicom and pydicom-data (gdcm-US-ALOKA-16.dcm)");
            return;
        }
    };
    let nl = out.iter().position(|&b| b == b'\n').unwrap();
    let path = String::from_utf8(out[..nl].to_vec()).unwrap();
    let theirs = &out[nl + 1..];
    let inst = Instance::open_path(std::path::Path::new(&path)).unwrap();
    let ours = inst.render(0, &Window::Default).unwrap();
    assert_eq!(ours.data.len(), theirs.len());
    assert!(
        ours.data == theirs,
        "segmented palette differs from pydicom"
    );
}

const MODALITY_SCRIPT: &str = r#"
import sys
import numpy as np, pydicom
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
p = get_testdata_file(sys.argv[1])
ds = pydicom.dcmread(p)
arr = ds.pixel_array
out = apply_modality_lut(arr, ds).astype("<f8")
if out.ndim == 3:
    out = out[0]
sys.stdout.write(p + "\n")
sys.stdout.flush()
sys.stdout.buffer.write(out.tobytes())
"#;

/// The modality value of every pixel (Hounsfield units for CT: what the viewer's exact mode
/// shows under the cursor) equals pydicom's `apply_modality_lut`: rescale (CT_small, signed),
/// the Modality LUT Sequence (mlut_18), MR without rescale.
#[test]
fn modality_values_match_pydicom() {
    for name in ["CT_small.dcm", "mlut_18.dcm", "MR_small.dcm"] {
        let out = Command::new("python3")
            .args(["-c", MODALITY_SCRIPT, name])
            .output();
        let out = match out {
            Ok(o) if o.status.success() => o.stdout,
            other => {
                assert!(
                    !under_ci(),
                    "pydicom with pydicom-data must run under CI: {other:?}"
                );
                skipped(&format!("python3 with pydicom ({name})"));
                return;
            }
        };
        let nl = out.iter().position(|&b| b == b'\n').unwrap();
        let path = String::from_utf8(out[..nl].to_vec()).unwrap();
        let theirs: Vec<f64> = out[nl + 1..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let inst = Instance::open_path(std::path::Path::new(&path)).unwrap();
        let (w, h) = (inst.columns(), inst.rows());
        assert_eq!(theirs.len(), w * h, "{name}");
        for y in 0..h {
            for x in 0..w {
                // No pixel of these files is padding (CT_small declares -2000, none has it).
                let ours = inst.modality_value(0, x, y).unwrap().unwrap();
                let t = theirs[y * w + x];
                assert!(
                    (ours - t).abs() < 1e-9,
                    "{name} ({x}, {y}): {ours} vs pydicom {t}"
                );
            }
        }
    }
}

//! Our pre-JPEG buffers against dcmtk's `dcmj2pnm` (8-bit PGM/PPM, `+op`) on the pydicom and
//! pydicom-data sample files, pixel by pixel. Skipped (with a `SKIPPED:` line) where dcmtk or
//! the samples are missing; under CI both must be there.
//!
//! Where dcmj2pnm computes the same thing, a pixel may differ by 1: dcmtk truncates the
//! window's output to an integer, we round half up (PS3.3 leaves the quantisation open).
//! Where it computes something else, the tolerance says so, with the reason at the case.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use dcmdisc_render::{Instance, VoiFunction, Window};
use dcmdisc_testkit::{have_tool, skipped, under_ci, Scratch};

/// A sample file's path, found by pydicom (its own test files and pydicom-data's).
fn sample(name: &str) -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom pydicom.data import get_testdata_file as g\nprint(g(sys.argv[1]) or '')",
            name,
        ])
        .output()
        .ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let found = (!p.is_empty()).then(|| PathBuf::from(p));
    assert!(
        found.is_some() || !under_ci(),
        "sample {name} not found: pip install pydicom pydicom-data"
    );
    found
}

/// A copy of sample `name` in `dir` with Presentation LUT Shape (2050,0020) INVERSE added
/// (written by pydicom), for the "inverted exactly once" cases.
fn with_inverse(dir: &Scratch, name: &str) -> Option<PathBuf> {
    let src = sample(name)?;
    let dst = dir.join(format!("{name}-inverse.dcm"));
    let st = Command::new("python3")
        .args([
            "-c",
            "import sys, pydicom\nd = pydicom.dcmread(sys.argv[1])\nd.PresentationLUTShape = 'INVERSE'\nd.save_as(sys.argv[2])",
        ])
        .arg(&src)
        .arg(&dst)
        .status()
        .ok()?;
    assert!(
        st.success() || !under_ci(),
        "pydicom could not write {}",
        dst.display()
    );
    st.success().then_some(dst)
}

/// (width, height, channels, pixels) of a binary PGM/PPM, comments allowed in the header.
fn read_pnm(b: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i] == b'#' {
            while b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !b[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&b[start..i]).to_string());
    }
    let channels = if fields[0] == "P6" { 3 } else { 1 };
    assert_eq!(fields[3], "255");
    (
        fields[1].parse().unwrap(),
        fields[2].parse().unwrap(),
        channels,
        b[i + 1..].to_vec(),
    )
}

fn dcmj2pnm(dir: &Scratch, file: &PathBuf, args: &[&str]) -> (usize, usize, usize, Vec<u8>) {
    let out = dir.join("out.pnm");
    let st = Command::new("dcmj2pnm")
        .arg("+op")
        .args(args)
        .arg(file)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "dcmj2pnm {args:?} {}: {}",
        file.display(),
        String::from_utf8_lossy(&st.stderr)
    );
    read_pnm(&std::fs::read(&out).unwrap())
}

struct Case {
    file: &'static str,
    /// Render a copy with Presentation LUT Shape INVERSE added.
    inverse: bool,
    frame: usize,
    ours: Window,
    theirs: &'static [&'static str],
    tolerance: u8,
}

const fn case(file: &'static str, ours: Window, theirs: &'static [&'static str]) -> Case {
    Case {
        file,
        inverse: false,
        frame: 0,
        ours,
        theirs,
        tolerance: 1,
    }
}

#[test]
fn renderings_match_dcmj2pnm() {
    if !have_tool("dcmj2pnm", "--version", "dcmtk") {
        return;
    }
    let lin = |center, width| Window::Linear {
        center,
        width,
        function: VoiFunction::Linear,
    };
    let mut cases = vec![
        // First window of the file.
        case("MR_small.dcm", Window::Default, &["+Wi", "1"]),
        case("MR_small_RLE.dcm", Window::Default, &["+Wi", "1"]),
        // MONOCHROME1 radiographs: inverted once.
        case("RG1_UNCI.dcm", Window::Default, &["+Wi", "1"]),
        case("6154", Window::Default, &["+Wi", "1"]),
        case("6154", Window::MinMax, &["+Wm"]),
        // Modality LUT Sequence, then min/max.
        case("mlut_18.dcm", Window::Default, &["+Wm"]),
        // VOI LUT Sequence (exact: no window arithmetic).
        case("vlut_04.dcm", Window::Preset(0), &["+Wl", "1"]),
        // Signed CT with rescale, windows of our own; min/max (no padding pixels in this
        // file: dcmtk's min/max never leaves padding out, ours does).
        case("CT_small.dcm", lin(40.0, 400.0), &["+Ww", "40", "400"]),
        case(
            "CT_small.dcm",
            lin(-600.0, 1500.0),
            &["+Ww", "-600", "1500"],
        ),
        case("CT_small.dcm", Window::Default, &["+Wm"]),
        // Compressed through the transcoder: JPEG lossless, JPEG extended (lossy: our decoder
        // and dcmtk's agree here to the rounding of the window).
        case("JPEG-LL.dcm", Window::MinMax, &["+Wm"]),
        case("JPEG-lossy.dcm", Window::MinMax, &["+Wm"]),
        // Enhanced CT: rescale from the shared Pixel Value Transformation (dcmtk reads it too)
        // and the window from the Frame VOI LUT Sequence (dcmtk does not: it is given 49/102).
        case(
            "eCT_Supplemental.dcm",
            Window::Default,
            &["+Ww", "49", "102"],
        ),
        Case {
            frame: 1,
            ..case(
                "eCT_Supplemental.dcm",
                Window::Default,
                &["+Ww", "49", "102", "+F", "2"],
            )
        },
        // Overlays are a layer of their own: dcmtk burns them in unless told not to.
        case(
            "MR-SIEMENS-DICOM-WithOverlays.dcm",
            Window::Default,
            &["+Wi", "1", "-O"],
        ),
        // Colour: no VOI.
        case("color-px.dcm", Window::Default, &[]),
        case("color-pl.dcm", Window::Default, &[]),
        case("SC_rgb_16bit.dcm", Window::Default, &[]),
        case("SC_rgb_rle.dcm", Window::Default, &[]),
        case("SC_rgb_rle_32bit.dcm", Window::Default, &[]),
        case("SC_rgb_jpeg_dcmtk.dcm", Window::Default, &[]),
        case("examples_palette.dcm", Window::Default, &[]),
        case("OBXXXX1A.dcm", Window::Default, &[]),
        case("SC_ybr_full_422_uncompressed.dcm", Window::Default, &[]),
        // dcmtk converts YBR_FULL with chroma centred at 127.5 (half of 255) where PS3.3
        // C.7.6.3.1.2 has 128, four-place coefficients, each term truncated: up to 2 apart.
        Case {
            tolerance: 2,
            ..case("SC_ybr_full_uncompressed.dcm", Window::Default, &[])
        },
    ];
    // Multi-frame, in order: dcmtk's frame numbers are 1-based.
    cases.push(Case {
        frame: 1,
        ..case("emri_small.dcm", Window::MinMax, &["+Wm", "+F", "2"])
    });
    cases.push(Case {
        frame: 9,
        ..case("emri_small.dcm", Window::MinMax, &["+Wm", "+F", "10"])
    });
    // Presentation LUT Shape INVERSE: with MONOCHROME1 (as DX/CR write it) the image is
    // inverted once, not twice; with MONOCHROME2 it inverts. dcmtk agrees.
    for file in ["6154", "RG1_UNCI.dcm", "MR_small.dcm"] {
        cases.push(Case {
            inverse: true,
            ..case(file, Window::Default, &["+Wi", "1"])
        });
    }
    let dir = Scratch::new("render-dcmj2pnm");
    let mut checked = 0;
    for c in &cases {
        let found = if c.inverse {
            with_inverse(&dir, c.file)
        } else {
            sample(c.file)
        };
        let Some(path) = found else {
            skipped(&format!("{} not found", c.file));
            continue;
        };
        let inst = Instance::open_path(&path).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        let ours = inst.render(c.frame, &c.ours).unwrap();
        let (w, h, ch, theirs) = dcmj2pnm(&dir, &path, c.theirs);
        assert_eq!(
            (ours.width, ours.height, ours.format.channels()),
            (w, h, ch),
            "{}",
            c.file
        );
        assert_eq!(ours.data.len(), theirs.len(), "{}", c.file);
        let worst = ours
            .data
            .iter()
            .zip(&theirs)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(
            worst <= c.tolerance,
            "{} {:?}: differs from dcmj2pnm {:?} by up to {worst}",
            c.file,
            c.ours,
            c.theirs
        );
        checked += 1;
    }
    assert!(checked > 0 || !under_ci());
}

/// Our overlay layer is where dcmtk draws the overlay: dcmj2pnm with the overlay (drawn in
/// "Replace" mode: the brightest value) differs from dcmj2pnm without it only where our layer
/// is set, and shows 255 wherever it is.
#[test]
fn overlay_layer_matches_dcmtk_drawing() {
    if !have_tool("dcmj2pnm", "--version", "dcmtk") {
        return;
    }
    let Some(path) = sample("MR-SIEMENS-DICOM-WithOverlays.dcm") else {
        return;
    };
    let dir = Scratch::new("render-overlay");
    let with = dcmj2pnm(&dir, &path, &["+Wi", "1"]).3;
    let without = dcmj2pnm(&dir, &path, &["+Wi", "1", "-O"]).3;
    let inst = Instance::open_path(&path).unwrap();
    let layers = inst.overlays(0).unwrap();
    assert!(!layers.is_empty());
    let mut set = vec![0u8; with.len()];
    for l in &layers {
        for (s, v) in set.iter_mut().zip(&l.data) {
            *s |= v;
        }
    }
    let mut on = 0;
    for i in 0..with.len() {
        if set[i] == 1 {
            assert_eq!(with[i], 255, "pixel {i}");
            on += 1;
        } else {
            assert_eq!(with[i], without[i], "pixel {i}");
        }
    }
    assert!(on > 0);
}

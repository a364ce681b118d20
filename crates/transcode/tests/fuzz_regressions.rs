//! Inputs on which a fuzz target once crashed (`scripts/fuzz.sh` copies them to
//! `tests/fuzz-regressions/<target>/`), replayed through the same entry points with the same
//! input layout as `fuzz/fuzz_targets/<target>.rs`: each must now end in a result, not a
//! panic.

// Test helpers outside #[test] functions: a failure here is a failed test too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dcmdisc_transcode::fuzzing::{jpeg_lossless, rle, sof_geometry};
use dcmdisc_transcode::{convert_file, Identity, Target};

/// The inputs of one target (none yet is fine: the folder appears with the first crash).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let data = std::fs::read(&p).expect("regression input");
            (p, data)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn jpeg_lossless_regressions() {
    for (path, data) in inputs("jpeg_lossless") {
        let Some((&mode, frame)) = data.split_first() else {
            continue;
        };
        let (rows, cols, samples) = sof_geometry(frame).unwrap_or((1, 1, 1));
        let rows = rows + usize::from(mode & 2 != 0);
        if rows * cols * samples > 1 << 20 {
            continue;
        }
        let bits = if mode & 1 == 1 { 16 } else { 8 };
        let r = jpeg_lossless(frame, rows, cols, samples, bits);
        eprintln!("{}: {:?}", path.display(), r.map(|v| v.len()));
    }
}

#[test]
fn rle_regressions() {
    for (path, data) in inputs("rle") {
        let Some((head, fragment)) = data.split_first_chunk::<4>() else {
            continue;
        };
        let samples = if head[0] & 1 == 0 { 1 } else { 3 };
        let bytes = [1, 2, 4, 1][usize::from(head[1] & 3)];
        let pixels = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let r = rle(fragment, pixels, samples, bytes);
        eprintln!("{}: {:?}", path.display(), r.map(|v| v.len()));
    }
}

#[test]
fn transcode_file_regressions() {
    let dir = std::env::temp_dir().join(format!("dcmdisc-fuzz-regressions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ident = Identity {
        implementation_class_uid: "1.2.3.4".into(),
        implementation_version_name: "FUZZ".into(),
    };
    for (path, data) in inputs("transcode_file") {
        let input = dir.join("in.dcm");
        std::fs::write(&input, &data).expect("write input");
        let r = convert_file(&input, &dir.join("out.dcm"), Target::ExplicitLe, &ident);
        eprintln!("{}: {:?}", path.display(), r.map(|r| r.bytes_written));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! The IHE_PDI web content as the export writes it (issue 12 items 3, 9, 10): on every
//! volume, only about that volume's instances, counted in its capacity, the same bytes for
//! the same input and clock. Images come from a stand-in renderer (deterministic bytes of a
//! chosen size): real renderings and browsers are checked in tests/interop/test_web_content.py.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{ct_files, options, Scratch};
use dcmdisc_media::export::{
    export_patient_with, NoConverter, Rendered, SourceFile, VolumeSummary, WebRenderer, SECTOR,
};

/// Renders every instance as one "JPEG" of `size` bytes derived from its file.
struct Stand {
    size: usize,
}

impl WebRenderer for Stand {
    fn frames(&self, path: &Path) -> Result<Vec<Rendered>, String> {
        let b = fs::read(path).map_err(|e| e.to_string())?;
        let seed = b
            .iter()
            .fold(0u8, |a, x| a.wrapping_mul(31).wrapping_add(*x));
        Ok(vec![Rendered {
            jpeg: (0..self.size).map(|i| seed.wrapping_add(i as u8)).collect(),
            width: 4,
            height: 4,
        }])
    }
    fn thumbnail(&self, _: &Path) -> Result<Vec<u8>, String> {
        Ok(vec![7; 300])
    }
}

fn export(
    files: &[PathBuf],
    out: &Path,
    capacity: Option<u64>,
    size: usize,
    web: bool,
) -> Vec<VolumeSummary> {
    let sources = files
        .iter()
        .map(|p| SourceFile::read(p).unwrap())
        .collect::<Vec<_>>();
    let mut opts = options(out, true);
    opts.capacity = capacity;
    opts.now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    opts.pdi.web_content = web;
    export_patient_with(
        sources,
        &opts,
        &NoConverter,
        &Stand { size },
        &mut |_, _, _| std::ops::ControlFlow::Continue(()),
    )
    .unwrap()
}

/// Every file under `root/IHE_PDI`, by path, with its bytes.
fn web_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join("IHE_PDI")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn spanned_volumes_hold_their_own_web_content_within_capacity() {
    let tmp = Scratch::new("web-span");
    let files = ct_files(&tmp.path().join("src"), 12);
    // Each instance's rendering is 40 sectors: a volume of 200 sectors holds only a few.
    let capacity = 400 * SECTOR;
    let vols = export(
        &files,
        &tmp.path().join("out"),
        Some(capacity),
        40 * SECTOR as usize,
        true,
    );
    assert!(vols.len() > 2, "{} volumes", vols.len());
    let mut frames = 0;
    for v in &vols {
        assert!(
            v.bytes <= capacity,
            "volume {} holds {} > {capacity}",
            v.number,
            v.bytes
        );
        assert!(v.web_content);
        let root = v.tree.as_ref().unwrap();
        let web = web_files(root);
        let jpegs = web.keys().filter(|k| k.contains("/F")).count();
        // One frame per instance on this volume, and none of another volume's.
        assert_eq!(jpegs, v.instances, "volume {}", v.number);
        frames += jpegs;
        let index = String::from_utf8(fs::read(root.join("INDEX.HTM")).unwrap()).unwrap();
        assert!(index.contains("href=\"IHE_PDI/INDEX.HTM\""), "{index}");
        assert!(index.contains("DICOM PLUS WEB"));
        let series = String::from_utf8(web["IHE_PDI/ST000001/SE000001/INDEX.HTM"].clone()).unwrap();
        assert_eq!(series.matches("<img ").count(), v.instances);
    }
    assert_eq!(frames, 12);
    // Without web content the same instances fit on fewer volumes: the renderings were
    // counted, not ignored.
    let plain = export(
        &files,
        &tmp.path().join("plain"),
        Some(capacity),
        40 * SECTOR as usize,
        false,
    );
    assert!(
        plain.len() < vols.len(),
        "{} vs {}",
        plain.len(),
        vols.len()
    );
    let root = plain[0].tree.as_ref().unwrap();
    assert!(!root.join("IHE_PDI").exists());
    assert!(!plain[0].web_content);
    let index = fs::read_to_string(root.join("INDEX.HTM")).unwrap();
    assert!(index.contains("DICOM ONLY") && !index.contains("IHE_PDI"));
}

#[test]
fn the_same_input_and_clock_give_the_same_web_content() {
    let tmp = Scratch::new("web-same");
    let files = ct_files(&tmp.path().join("src"), 5);
    let a = export(&files, &tmp.path().join("a"), None, 3000, true);
    let b = export(&files, &tmp.path().join("b"), None, 3000, true);
    let (wa, wb) = (
        web_files(a[0].tree.as_ref().unwrap()),
        web_files(b[0].tree.as_ref().unwrap()),
    );
    assert!(wa.len() >= 5 + 4, "{:?}", wa.keys().collect::<Vec<_>>());
    assert_eq!(wa, wb);
    assert_eq!(a[0].sha256, b[0].sha256);
}

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
    export_patient_with, ImageFacts, NoConverter, PresetFacts, Rendered, Rendering, SourceFile,
    VolumeSummary, WebRenderer, SECTOR,
};

/// Renders every instance as one "JPEG" of `size` bytes derived from its file, and as
/// many more for each of `extra` other presets.
struct Stand {
    size: usize,
    extra: usize,
}

impl WebRenderer for Stand {
    fn render(&self, path: &Path) -> Result<Rendering, String> {
        let b = fs::read(path).map_err(|e| e.to_string())?;
        let seed = b
            .iter()
            .fold(0u8, |a, x| a.wrapping_mul(31).wrapping_add(*x));
        let one = |k: u8| Rendered {
            jpeg: (0..self.size)
                .map(|i| seed.wrapping_add(i as u8).wrapping_add(k))
                .collect(),
            width: 4,
            height: 4,
        };
        let preset = |label: &str| PresetFacts {
            label: label.into(),
            window: None,
        };
        Ok(Rendering {
            frames: vec![one(0)],
            extra: (1..=self.extra).map(|k| vec![one(k as u8)]).collect(),
            facts: ImageFacts {
                rows: 4,
                columns: 4,
                presets: (0..=self.extra).map(|k| preset(&format!("W{k}"))).collect(),
                ..ImageFacts::default()
            },
        })
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
    export_presets(files, out, capacity, size, web, 0)
}

fn export_presets(
    files: &[PathBuf],
    out: &Path,
    capacity: Option<u64>,
    size: usize,
    web: bool,
    extra: usize,
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
        &Stand { size, extra },
        &mut |_, _, _| std::ops::ControlFlow::Continue(()),
    )
    .unwrap()
}

/// Every file under `root/IHE_PDI` and `root/VIEWER`, by path, with its bytes.
fn web_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join("IHE_PDI"), root.join("VIEWER")];
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

#[test]
fn other_presets_go_before_a_volume_is_split() {
    let tmp = Scratch::new("web-presets");
    let files = ct_files(&tmp.path().join("src"), 6);
    let size = 30 * SECTOR as usize;
    let a_files = |v: &[VolumeSummary]| -> usize {
        v.iter()
            .map(|v| {
                web_files(v.tree.as_ref().unwrap())
                    .keys()
                    .filter(|k| k.rsplit('/').next().is_some_and(|n| n.starts_with('A')))
                    .count()
            })
            .sum()
    };
    // Room for everything: each instance's second preset is on the disc and in its data.
    let roomy = export_presets(&files, &tmp.path().join("roomy"), None, size, true, 2);
    assert_eq!(roomy.len(), 1);
    assert_eq!(a_files(&roomy), 6);
    let root = roomy[0].tree.as_ref().unwrap();
    let data = fs::read_to_string(root.join("IHE_PDI/ST000001/SE000001/SERIES.TXT")).unwrap();
    assert_eq!(data.matches("DCMDISC_SERIES.push(").count(), 6, "{data}");
    assert!(
        data.contains("\"jpeg\":\"A\"") && data.contains("\"jpeg\":\"B\""),
        "{data}"
    );
    // The smallest capacity (in steps of 16 sectors) on which the instances with their
    // default renderings only make one volume; with the other presets they would not fit.
    let one = export(&files, &tmp.path().join("one"), None, size, true);
    let capacity = (0..400)
        .map(|k| one[0].bytes + k * 16 * SECTOR)
        .find(|&c| {
            let out = tmp.path().join(format!("probe{c}"));
            export(&files, &out, Some(c), size, true).len() == 1
        })
        .unwrap();
    assert!(roomy[0].bytes > capacity, "the presets would have fitted");
    let lean = export_presets(
        &files,
        &tmp.path().join("lean"),
        Some(capacity),
        size,
        true,
        2,
    );
    assert_eq!(lean.len(), 1, "split instead of leaving the presets out");
    assert_eq!(a_files(&lean), 0);
    let root = lean[0].tree.as_ref().unwrap();
    let data = fs::read_to_string(root.join("IHE_PDI/ST000001/SE000001/SERIES.TXT")).unwrap();
    assert!(
        data.contains("\"label\":\"W1\",\"lut\":true,\"jpeg\":null"),
        "{data}"
    );
    let page = fs::read_to_string(root.join("IHE_PDI/ST000001/SE000001/INDEX.HTM")).unwrap();
    assert!(!page.contains("Other windows"), "{page}");
    // The viewer is on the volume, and the series page names it and its data.
    assert!(root.join("VIEWER/VIEWER.TXT").is_file() && root.join("VIEWER/HELP.HTM").is_file());
    assert!(
        page.contains("src=\"SERIES.TXT\"") && page.contains("src=\"../../../VIEWER/VIEWER.TXT\"")
    );
}

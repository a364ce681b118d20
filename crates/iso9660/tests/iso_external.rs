//! Checks written images with tools that share no code with ours: isoinfo and isovfy
//! (genisoimage) and xorriso (libisofs). A missing tool fails its check under CI (`CI=true`);
//! elsewhere the check prints `SKIPPED: <tool> not installed` on stderr and passes.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime};
use dcmdisc_testkit::{noise, Scratch};

fn have(tool: &str, package: &str) -> bool {
    dcmdisc_testkit::have_tool(tool, "-version", package)
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{tool} {args:?} failed:\n{text}");
    text
}

const DEEP: &str = "L2/L3/L4/L5/L6/L7/L8/DEEPFILE";
const CROWD: usize = 130;

/// Writes the source tree under `src` and returns the files in the order they are added:
/// (ISO path, bytes, from memory?).
fn make_sources(src: &Path) -> Vec<(String, Vec<u8>, bool)> {
    let mut files = vec![
        ("DICOMDIR".to_string(), noise(4000, 1), true),
        (
            "DICOM/P0001/S0001/BIG".to_string(),
            noise(3_000_000, 2),
            false,
        ),
        ("DICOM/P0001/S0001/EXACT".to_string(), noise(2048, 3), false),
        ("DICOM/P0001/S0001/EMPTY".to_string(), Vec::new(), false),
        (DEEP.to_string(), noise(10, 4), false),
        (
            "README.TXT".to_string(),
            b"Disc made by dcmdisc\r\n".to_vec(),
            true,
        ),
        (
            "WEB/INDEX.HTM".to_string(),
            b"<html></html>".to_vec(),
            false,
        ),
    ];
    for i in 0..CROWD {
        files.push((
            format!("DICOM/P0001/S0002/I{i:07}"),
            noise(100 + i * 37, 10 + i as u32),
            false,
        ));
    }
    for (path, data, _) in &files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
    std::fs::create_dir_all(src.join("EMPTYDIR")).unwrap();
    files
}

fn build(src: &Path, files: &[(String, Vec<u8>, bool)]) -> IsoBuilder {
    let ts = IsoDateTime::new(2025, 1, 31, 23, 59, 58).unwrap();
    let mut b = IsoBuilder::new("FSET_EXT_TEST", ts).unwrap();
    b.set_publisher_id("DCMDISC TEST SUITE").unwrap();
    for (path, data, in_memory) in files {
        let source = if *in_memory {
            FileSource::bytes(data.clone())
        } else {
            FileSource::path(src.join(path)).unwrap()
        };
        b.add_file(path, source).unwrap();
    }
    b.add_dir("EMPTYDIR").unwrap();
    b
}

/// Every regular file under `root` by relative path.
fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                out.insert(
                    format!("{}/", p.strip_prefix(root).unwrap().display()),
                    Vec::new(),
                );
                go(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    go(root, root, &mut out);
    out
}

struct Built {
    _scratch: Scratch,
    src: PathBuf,
    image: PathBuf,
    files: Vec<(String, Vec<u8>, bool)>,
    sectors: u32,
}

fn built() -> Built {
    let scratch = Scratch::new("img");
    let src = scratch.0.join("src");
    let files = make_sources(&src);
    let b = build(&src, &files);
    let image = scratch.0.join("test.iso");
    let n = b.write_to_path(&image).unwrap();
    let sectors = b.layout().unwrap().total_sectors();
    assert_eq!(n, u64::from(sectors) * 2048);
    Built {
        src,
        image,
        files,
        sectors,
        _scratch: scratch,
    }
}

#[test]
fn isoinfo_reads_descriptor_and_names() {
    if !have("isoinfo", "genisoimage") {
        return;
    }
    let b = built();
    let img = b.image.to_str().unwrap();
    let d = run("isoinfo", &["-d", "-i", img]);
    assert!(d.contains("Volume id: FSET_EXT_TEST\n"), "{d}");
    assert!(d.contains("Application id: DCMDISC\n"), "{d}");
    assert!(d.contains("Publisher id: DCMDISC TEST SUITE\n"), "{d}");
    assert!(d.contains("Logical block size is: 2048\n"), "{d}");
    assert!(
        d.contains(&format!("Volume size is: {}\n", b.sectors)),
        "{d}"
    );
    assert!(d.contains("NO Joliet present") && d.contains("NO Rock Ridge present"));

    let l = run("isoinfo", &["-l", "-i", img]);
    let mut listed = 0;
    for line in l.lines() {
        if let Some(name) = line.split_whitespace().last() {
            if line.starts_with('-') {
                assert!(name.ends_with(";1"), "{line}");
                listed += 1;
            }
        }
    }
    assert_eq!(listed, b.files.len(), "{l}");
    for (path, data, _) in &b.files {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let id = if name.contains('.') {
            format!("{name};1")
        } else {
            format!("{name}.;1")
        };
        let header = format!(
            "Directory listing of /{dir}{}",
            if dir.is_empty() { "" } else { "/" }
        );
        let section = l
            .split("\n\n")
            .find(|s| s.trim_start().lines().next().map(str::trim_end) == Some(header.as_str()))
            .unwrap_or_else(|| {
                panic!("no listing of /{dir} in\n{l}");
            });
        let line = section
            .lines()
            .find(|ln| ln.ends_with(&format!(" {id} ")))
            .unwrap_or_else(|| panic!("{id} not in /{dir}:\n{section}"));
        assert!(line.contains(&format!(" {} ", data.len())), "{line}");
    }
    assert!(l.contains("Directory listing of /L2/L3/L4/L5/L6/L7/L8/"));
    assert!(l.contains("Directory listing of /EMPTYDIR/"));

    // The path table lists every directory: root, DICOM, P0001, S0001, S0002, EMPTYDIR, WEB,
    // and L2..L8.
    let p = run("isoinfo", &["-p", "-i", img]);
    let rows = p
        .lines()
        .filter(|ln| ln.trim_start().starts_with(|c: char| c.is_ascii_digit()));
    assert_eq!(rows.count(), 14, "{p}");
}

#[test]
fn isovfy_finds_no_errors() {
    if !have("isovfy", "genisoimage") {
        return;
    }
    let b = built();
    let out = run("isovfy", &[b.image.to_str().unwrap()]);
    assert!(out.contains("No errors found"), "{out}");
}

#[test]
fn xorriso_extracts_identical_tree_and_checks_media() {
    if !have("xorriso", "xorriso") {
        return;
    }
    let b = built();
    let img = b.image.to_str().unwrap();
    let out_dir = b.image.with_extension("out");
    let log = run(
        "xorriso",
        &[
            "-abort_on",
            "FAILURE",
            "-osirrox",
            "on",
            "-indev",
            img,
            "-extract",
            "/",
            out_dir.to_str().unwrap(),
        ],
    );
    for bad in ["SORRY", "FAILURE", "WARNING", "MISHAP", "FATAL"] {
        assert!(!log.contains(bad), "xorriso reported {bad}:\n{log}");
    }
    let got = read_tree(&out_dir);
    let want = read_tree(&b.src);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert!(got[k] == *v, "{k} differs after extraction");
    }

    let check = run("xorriso", &["-indev", img, "-check_media", "--"]);
    let region = format!("Media region :          0 , {:>10} , + good", b.sectors);
    assert!(check.contains(&region), "{check}");
    for bad in [
        "SORRY",
        "FAILURE",
        "MISHAP",
        "FATAL",
        "- bad",
        "- unreadable",
    ] {
        assert!(!check.contains(bad), "check_media reported {bad}:\n{check}");
    }
}

#[test]
fn builds_are_byte_identical() {
    let scratch = Scratch::new("det");
    let src = scratch.0.join("src");
    let files = make_sources(&src);
    let a = scratch.0.join("a.iso");
    build(&src, &files).write_to_path(&a).unwrap();
    // A second builder, written through the generic Write path this time.
    let mut plain = Vec::new();
    build(&src, &files).write(&mut plain).unwrap();
    assert!(std::fs::read(&a).unwrap() == plain, "images differ");
}

//! The Joliet tree (issue 12, item 6): the same names as the Level 1 tree, read by peers that
//! share no code with ours (isoinfo -J, isovfy, xorriso with Joliet, 7z where installed, the
//! kernel's iso9660 driver where the sandbox lets us mount) and by our own reader; and the
//! primary tree unchanged but for its extents.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use dcmdisc_iso9660::read::IsoImage;
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

/// (path, bytes): names that sort differently as whole strings and as ECMA name/extension
/// pairs (`A` and `A.0`), a deep path, a directory of many files, an empty file.
fn files() -> Vec<(String, Vec<u8>)> {
    let mut f = vec![
        ("DICOMDIR".to_string(), noise(4000, 1)),
        ("README.TXT".to_string(), b"hello\\r\\n".to_vec()),
        ("INDEX.HTM".to_string(), b"<html/>".to_vec()),
        ("A".to_string(), vec![1]),
        ("A.0".to_string(), Vec::new()),
        ("L2/L3/L4/L5/L6/L7/L8/DEEPFILE".to_string(), noise(10, 2)),
    ];
    for i in 0..120 {
        f.push((
            format!("DICOM/P0000001/S0000001/I{i:07}"),
            noise(100 + i * 53, 10 + i as u32),
        ));
    }
    f
}

const VOLUME_ID: &str = "261201J12345_1OF1";

fn image(joliet: bool) -> Vec<u8> {
    let ts = IsoDateTime::new(2026, 12, 1, 23, 15, 7).unwrap();
    let mut b = IsoBuilder::new(VOLUME_ID, ts).unwrap();
    b.set_joliet(joliet);
    for (path, data) in files() {
        b.add_file(&path, FileSource::bytes(data)).unwrap();
    }
    b.add_dir("EMPTY").unwrap();
    let mut out = Vec::new();
    let n = b.write(&mut out).unwrap();
    assert_eq!(n, b.layout().unwrap().image_size());
    out
}

fn write(scratch: &Scratch, name: &str, bytes: &[u8]) -> String {
    let p = scratch.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// The first occurrence of `needle` at or after byte `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> usize {
    from + hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

#[test]
fn our_reader_finds_the_same_tree_under_joliet() {
    let img = image(true);
    let iso = IsoImage::open(std::io::Cursor::new(&img)).unwrap();
    let j = iso.joliet().expect("a Joliet tree");
    assert_eq!(j.info.level, 3);
    // The descriptor field holds 16 UCS-2 characters.
    assert_eq!(j.info.volume_id, &VOLUME_ID[..16]);
    assert_eq!(iso.volume().volume_id, VOLUME_ID);
    assert_eq!(iso.joliet_differences(), Vec::<String>::new());
    assert_eq!(j.files.len(), files().len());
    assert!(j.files.iter().any(|f| f.path == "DICOMDIR"));
    assert!(j.dirs.iter().any(|d| d.path == "EMPTY"));
    // Each Joliet directory's `..` is its parent (the reader lets libisofs' self-pointing
    // ones through, so this is checked here, on the bytes).
    for d in &j.dirs {
        let parent_path = d.path.rsplit_once('/').map_or("", |(p, _)| p);
        let parent = j.dirs.iter().find(|x| x.path == parent_path).unwrap();
        let at = d.extent as usize * 2048;
        let dot_len = usize::from(img[at]);
        let dotdot = &img[at + dot_len..];
        let extent = u32::from_le_bytes([dotdot[2], dotdot[3], dotdot[4], dotdot[5]]);
        assert_eq!(dotdot[33], 1, "{}", d.path);
        let want = if d.path.is_empty() {
            d.extent
        } else {
            parent.extent
        };
        assert_eq!(extent, want, "'..' of Joliet {:?}", d.path);
    }
    // Without Joliet: none.
    let plain = IsoImage::open(std::io::Cursor::new(image(false))).unwrap();
    assert!(plain.joliet().is_none());
}

#[test]
fn the_primary_tree_is_unchanged_but_for_its_extents() {
    let (off, on) = (image(false), image(true));
    let a = IsoImage::open(std::io::Cursor::new(&off)).unwrap();
    let b = IsoImage::open(std::io::Cursor::new(&on)).unwrap();
    // The same files and directories, the same sizes, the same data.
    let names = |i: &IsoImage<_>| -> Vec<(String, u32)> {
        i.files().iter().map(|f| (f.path.clone(), f.size)).collect()
    };
    assert_eq!(names(&a), names(&b));
    let shift = b.files()[0].extent - a.files()[0].extent;
    for (x, y) in a.files().iter().zip(b.files()) {
        if x.size > 0 {
            assert_eq!(y.extent, x.extent + shift, "{}", x.path);
        }
    }
    let first = |i: &IsoImage<_>| i.files().iter().map(|f| f.extent).min().unwrap() as usize * 2048;
    assert!(off[first(&a)..] == on[first(&b)..], "file data differs");
    // The primary descriptor: equal but for the volume space size, the path table sectors and
    // the root's extent.
    let (pa, pb) = (&off[16 * 2048..17 * 2048], &on[16 * 2048..17 * 2048]);
    for (k, (x, y)) in pa.iter().zip(pb.iter()).enumerate() {
        let moved = (80..88).contains(&k) || (140..152).contains(&k) || (158..166).contains(&k);
        assert!(moved || x == y, "primary descriptor byte {k} differs");
    }
    // Every primary directory: the same records, extents aside.
    for (da, db) in a.dirs().iter().zip(b.dirs()) {
        assert_eq!((&da.path, da.size), (&db.path, db.size));
        let mut xa = off[da.extent as usize * 2048..][..da.size as usize].to_vec();
        let mut xb = on[db.extent as usize * 2048..][..db.size as usize].to_vec();
        for x in [&mut xa, &mut xb] {
            let mut pos = 0;
            while pos < x.len() {
                let len = usize::from(x[pos]);
                if len == 0 {
                    pos += 2048 - pos % 2048;
                    continue;
                }
                x[pos + 2..pos + 10].fill(0);
                pos += len;
            }
        }
        assert!(
            xa == xb,
            "directory {:?} differs beyond its extents",
            da.path
        );
    }
    // The descriptor set: primary, Joliet, terminator.
    assert_eq!(on[17 * 2048], 2);
    assert_eq!(&on[17 * 2048 + 88..17 * 2048 + 91], b"%/E");
    assert_eq!(on[18 * 2048], 255);
    assert_eq!(off[17 * 2048], 255);
}

#[test]
fn isoinfo_lists_the_joliet_tree_with_the_same_names() {
    if !have("isoinfo", "genisoimage") {
        return;
    }
    let s = Scratch::new("joliet-isoinfo");
    let img = write(&s, "j.iso", &image(true));
    let d = run("isoinfo", &["-d", "-i", &img]);
    assert!(d.contains("Joliet with UCS level 3 found"), "{d}");
    let l = run("isoinfo", &["-J", "-l", "-i", &img]);
    for (path, data) in files() {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let header = format!(
            "Directory listing of /{dir}{}",
            if dir.is_empty() { "" } else { "/" }
        );
        let section = l
            .split("\n\n")
            .find(|s| s.trim_start().lines().next().map(str::trim_end) == Some(header.as_str()))
            .unwrap_or_else(|| panic!("no listing of /{dir} in\n{l}"));
        let line = section
            .lines()
            .find(|ln| ln.trim_end().ends_with(&format!(" {name};1")))
            .unwrap_or_else(|| panic!("{name};1 not in /{dir}:\n{section}"));
        assert!(line.contains(&format!(" {} ", data.len())), "{line}");
    }
    assert!(l.contains("Directory listing of /EMPTY/"), "{l}");
    let v = run("isovfy", &[&img]);
    assert!(v.contains("No errors found"), "{v}");
}

#[test]
fn xorriso_reads_the_joliet_tree_and_not_the_primary_one() {
    // -read_fs norock: Joliet when there is one (no Rock Ridge here); ecma119: the primary.
    if !have("xorriso", "xorriso") {
        return;
    }
    let s = Scratch::new("joliet-xorriso");
    // In the primary tree only, rename DICOMDIR: xorriso showing DICOMDIR proves it read Joliet.
    let mut img = image(true);
    let at = find(&img, b"DICOMDIR.;1", 19 * 2048);
    img[at] = b'X';
    let path = write(&s, "j.iso", &img);
    let joliet = run(
        "xorriso",
        &["-read_fs", "norock", "-indev", &path, "-ls", "/"],
    );
    assert!(
        joliet.contains("'DICOMDIR'") && !joliet.contains("XICOMDIR"),
        "{joliet}"
    );
    for name in [
        "'README.TXT'",
        "'INDEX.HTM'",
        "'A'",
        "'A.0'",
        "'EMPTY'",
        "'L2'",
    ] {
        assert!(joliet.contains(name), "{name} missing:\n{joliet}");
    }
    let primary = run(
        "xorriso",
        &["-read_fs", "ecma119", "-indev", &path, "-ls", "/"],
    );
    assert!(primary.contains("'XICOMDIR'"), "{primary}");
    // Extracted through Joliet, every file equals its source.
    let out = s.join("x");
    let log = run(
        "xorriso",
        &[
            "-read_fs",
            "norock",
            "-abort_on",
            "FAILURE",
            "-osirrox",
            "on",
            "-indev",
            &path,
            "-extract",
            "/",
            out.to_str().unwrap(),
        ],
    );
    for bad in ["SORRY", "FAILURE", "WARNING", "MISHAP", "FATAL"] {
        assert!(!log.contains(bad), "xorriso reported {bad}:\n{log}");
    }
    for (p, data) in files() {
        assert!(std::fs::read(out.join(&p)).unwrap() == data, "{p}");
    }
}

#[test]
fn seven_zip_lists_the_joliet_names_where_installed() {
    let Some(tool) = ["7z", "7zz", "7za"].into_iter().find(|t| {
        Command::new(t)
            .arg("i")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        dcmdisc_testkit::skipped("7z not installed (optional)");
        return;
    };
    let s = Scratch::new("joliet-7z");
    let img = write(&s, "j.iso", &image(true));
    let l = run(tool, &["l", &img]);
    assert!(l.contains("DICOMDIR") && l.contains("README.TXT"), "{l}");
    assert!(!l.contains("DICOMDIR.") && !l.contains(";1"), "{l}");
}

#[test]
fn the_kernel_shows_the_names_upper_case_where_it_can_mount() {
    let s = Scratch::new("joliet-mount");
    let img = write(&s, "j.iso", &image(true));
    let mnt = s.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let m = Command::new("mount")
        .args(["-o", "loop,ro", &img, mnt.to_str().unwrap()])
        .output();
    match m {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            dcmdisc_testkit::skipped(&format!(
                "cannot mount an ISO 9660 image here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            return;
        }
        Err(e) => {
            dcmdisc_testkit::skipped(&format!("no mount: {e}"));
            return;
        }
    }
    let names: Vec<String> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let _ = Command::new("umount").arg(&mnt).output();
    assert!(names.contains(&"DICOMDIR".to_string()), "{names:?}");
    assert!(names.contains(&"README.TXT".to_string()), "{names:?}");
}

#[test]
fn our_reader_refuses_a_bad_joliet_tree_and_tells_a_different_one() {
    let img = image(true);
    // The Joliet root directory is after the primary directories; its DICOMDIR record:
    let at = find(&img, &ucs2("DICOMDIR;1"), 19 * 2048);
    let mut bad = img.clone();
    bad[at + 1] = b'*';
    let err = IsoImage::open(std::io::Cursor::new(bad)).err().unwrap();
    assert!(
        err.to_string().contains("Joliet names may not hold"),
        "{err}"
    );
    let mut other = img.clone();
    other[at + 15] = b'S'; // DICOMDIS
    let iso = IsoImage::open(std::io::Cursor::new(other)).unwrap();
    let diff = iso.joliet_differences();
    assert!(
        diff.iter()
            .any(|d| d.contains("\"DICOMDIR\" is not in the Joliet tree")),
        "{diff:?}"
    );
    assert!(diff
        .iter()
        .any(|d| d.contains("\"DICOMDIS\" is only in the Joliet tree")));
}

//! The reader (`dcmdisc_iso9660::read`) on images from three writers — ours, `xorriso -as
//! mkisofs` and `genisoimage -iso-level 1`, with and without Joliet and Rock Ridge — and on
//! images broken on purpose: each break is a typed error naming where, never a panic.
//!
//! A missing tool fails its test under CI (`CI=true`); elsewhere the test prints
//! `SKIPPED: <tool> not installed` on stderr and passes.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use dcmdisc_iso9660::read::{IsoImage, ReadError};
use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime};
use dcmdisc_testkit::{noise, Scratch};

fn have(tool: &str, package: &str) -> bool {
    dcmdisc_testkit::have_tool(tool, "-version", package)
}

/// The files of every test image: a depth-8 path, a directory of 130 files (several
/// sectors), an empty file, a file of exactly one sector, a 3 MB file, names with and
/// without extension. The deepest file lies under `deep` directories (7 reaches ECMA-119's
/// eight levels; genisoimage accepts 6 without Rock Ridge).
fn sample_files(deep: usize) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert("DICOMDIR".to_string(), noise(4000, 1));
    files.insert(
        "README.TXT".to_string(),
        b"made for the reader\r\n".to_vec(),
    );
    files.insert(
        "DICOM/P0000001/S0000001/BIG".to_string(),
        noise(3_000_000, 2),
    );
    files.insert("DICOM/P0000001/S0000001/EXACT".to_string(), noise(2048, 3));
    files.insert("DICOM/P0000001/S0000001/EMPTY".to_string(), Vec::new());
    let dirs: Vec<String> = (2..2 + deep).map(|l| format!("L{l}")).collect();
    files.insert(format!("{}/DEEPFILE", dirs.join("/")), noise(10, 4));
    for i in 0..130 {
        files.insert(
            format!("DICOM/P0000001/S0000002/I{i:07}"),
            noise(100 + i * 37, 10 + i as u32),
        );
    }
    files
}

fn write_tree(root: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, data) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
}

fn ours(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut b =
        IsoBuilder::new("READ_TEST", IsoDateTime::new(2025, 3, 1, 8, 0, 0).unwrap()).unwrap();
    for (path, data) in files {
        b.add_file(path, FileSource::bytes(data.clone())).unwrap();
    }
    let mut out = Vec::new();
    b.write(&mut out).unwrap();
    out
}

/// Every file listed with its size and read back equal, by path and by the one-pass reading.
fn check_contents<R: std::io::Read + std::io::Seek>(
    iso: &mut IsoImage<R>,
    want: &BTreeMap<String, Vec<u8>>,
    image: &[u8],
) {
    let listed: BTreeMap<String, u32> = iso
        .files()
        .iter()
        .map(|f| (f.path.clone(), f.size))
        .collect();
    let expected: BTreeMap<String, u32> = want
        .iter()
        .map(|(p, d)| (p.clone(), d.len() as u32))
        .collect();
    assert_eq!(listed, expected);
    for (path, data) in want {
        assert!(iso.read_file(path).unwrap() == *data, "{path} differs");
        let head = iso.read_file_prefix(path, 100).unwrap();
        assert_eq!(head, data[..data.len().min(100)], "{path}");
    }
    let mut all = Vec::new();
    let mut heads = BTreeMap::new();
    let n = iso
        .read_through(5000, &mut |c| all.extend_from_slice(c), &mut |f, head| {
            assert!(heads.insert(f.path.clone(), head.to_vec()).is_none());
        })
        .unwrap();
    assert_eq!(n, image.len() as u64);
    assert!(
        all == image,
        "read_through did not hand over the image as it is"
    );
    assert_eq!(heads.len(), want.len());
    for (path, data) in want {
        assert!(heads[path] == data[..data.len().min(5000)], "{path}");
    }
    assert!(matches!(
        iso.read_file("NOPE"),
        Err(ReadError::NotFound(p)) if p == "NOPE"
    ));
}

#[test]
fn reads_our_images() {
    let files = sample_files(7);
    let image = ours(&files);
    let mut iso = IsoImage::open(Cursor::new(image.clone())).unwrap();
    assert_eq!(iso.volume().volume_id, "READ_TEST");
    assert_eq!(u64::from(iso.volume().sectors) * 2048, image.len() as u64);
    // Root, DICOM, P0000001, S0000001, S0000002, L2..L8.
    assert_eq!(iso.dirs().len(), 12);
    assert_eq!(iso.dirs()[0].path, "");
    check_contents(&mut iso, &files, &image);

    let scratch = Scratch::new("path");
    let p = scratch.0.join("a.iso");
    std::fs::write(&p, &image).unwrap();
    let mut iso = IsoImage::open_path(&p).unwrap();
    check_contents(&mut iso, &files, &image);
    assert!(matches!(
        IsoImage::open_path(scratch.0.join("missing.iso")),
        Err(ReadError::Io { .. })
    ));
}

fn external(tool: &str, package: &str, args: &[&str]) {
    if !have(tool, package) {
        return;
    }
    let scratch = Scratch::new(tool);
    let src = scratch.0.join("src");
    let files = sample_files(if tool == "genisoimage" { 6 } else { 7 });
    write_tree(&src, &files);
    let out = scratch.0.join("x.iso");
    let mut cmd = Command::new(tool);
    cmd.args(args)
        .arg("-V")
        .arg("EXT_TOOL")
        .arg("-o")
        .arg(&out)
        .arg(&src);
    let r = cmd.output().unwrap();
    assert!(
        r.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    let image = std::fs::read(&out).unwrap();
    let mut iso = IsoImage::open_path(&out)
        .unwrap_or_else(|e| panic!("{tool} {args:?}: our reader refuses its image: {e}"));
    assert_eq!(iso.volume().volume_id, "EXT_TOOL");
    // With -J, the peer's Joliet tree is walked too and names the same files (the sample
    // names are upper-case 8.3, which both peers keep as they are in Joliet) at the same
    // extents.
    assert_eq!(
        iso.joliet().is_some(),
        args.contains(&"-J"),
        "{tool} {args:?}"
    );
    if let Some(j) = iso.joliet() {
        assert_eq!(j.info.volume_id, "EXT_TOOL");
        assert_eq!(j.files.len(), iso.files().len());
        assert_eq!(
            iso.joliet_differences(),
            Vec::<String>::new(),
            "{tool} {args:?}"
        );
    }
    check_contents(&mut iso, &files, &image);
}

#[test]
fn reads_genisoimage_level1() {
    external("genisoimage", "genisoimage", &["-quiet", "-iso-level", "1"]);
}

#[test]
fn reads_genisoimage_with_joliet() {
    // A supplementary volume descriptor (Joliet) sits before the terminator: its tree is read.
    external(
        "genisoimage",
        "genisoimage",
        &["-quiet", "-iso-level", "1", "-J"],
    );
}

/// genisoimage without Rock Ridge leaves out a directory deeper than it allows, but still
/// writes its record, pointing at an empty directory whose `..` is itself (isovfy: "Directory
/// has null extent"): our reader refuses that image, naming the directory.
#[test]
fn refuses_genisoimage_too_deep_directory() {
    if !have("genisoimage", "genisoimage") {
        return;
    }
    let scratch = Scratch::new("deep");
    let src = scratch.0.join("src");
    write_tree(&src, &sample_files(7));
    let out = scratch.0.join("x.iso");
    let r = Command::new("genisoimage")
        .args(["-iso-level", "1", "-o"])
        .arg(&out)
        .arg(&src)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{log}");
    if !log.contains("too deep") {
        // A genisoimage that writes the deep directory whole: nothing to refuse.
        return;
    }
    let e = IsoImage::open_path(&out).err().unwrap();
    assert!(e.to_string().contains("L2/L3/L4/L5/L6/L7/L8"), "{e}");
}

#[test]
fn reads_xorriso_level1() {
    external(
        "xorriso",
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-iso-level", "1"],
    );
}

#[test]
fn reads_xorriso_with_joliet_and_rock_ridge() {
    // Rock Ridge makes records longer (System Use fields after the name).
    external(
        "xorriso",
        "xorriso",
        &["-as", "mkisofs", "-quiet", "-iso-level", "1", "-J", "-R"],
    );
}

// ---- broken images ----

const PVD: usize = 16 * 2048;

fn open(image: &[u8]) -> Result<IsoImage<Cursor<Vec<u8>>>, ReadError> {
    IsoImage::open(Cursor::new(image.to_vec()))
}

/// Byte offset in the image of the record named `ident` in the directory at `dir_path`.
fn record_of(image: &[u8], dir_path: &str, ident: &[u8]) -> usize {
    let iso = open(image).unwrap();
    let d = iso.dirs().iter().find(|d| d.path == dir_path).unwrap();
    let start = d.extent as usize * 2048;
    let data = &image[start..start + d.size as usize];
    let mut pos = 0;
    while pos < data.len() {
        let len = data[pos] as usize;
        if len == 0 {
            pos = (pos / 2048 + 1) * 2048;
            continue;
        }
        let id = &data[pos + 33..pos + 33 + data[pos + 32] as usize];
        if id == ident {
            return start + pos;
        }
        pos += len;
    }
    panic!("no record {ident:?} in {dir_path:?}");
}

fn set_both32(image: &mut [u8], at: usize, v: u32) {
    image[at..at + 4].copy_from_slice(&v.to_le_bytes());
    image[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

fn small() -> (BTreeMap<String, Vec<u8>>, Vec<u8>) {
    let mut files = BTreeMap::new();
    files.insert("DICOMDIR".to_string(), noise(3000, 7));
    files.insert("DICOM/I0000001".to_string(), noise(5000, 8));
    files.insert("DICOM/I0000002".to_string(), noise(100, 9));
    let image = ours(&files);
    (files, image)
}

#[test]
fn truncated_images() {
    let (_, image) = small();
    for cut in [
        0,
        100,
        PVD + 10,
        17 * 2048,
        image.len() - 2048,
        image.len() - 1,
    ] {
        let e = open(&image[..cut])
            .err()
            .unwrap_or_else(|| panic!("cut at {cut} opened"));
        assert!(
            matches!(e, ReadError::Truncated { .. }),
            "cut at {cut}: {e}"
        );
        assert!(e.to_string().contains("image cut short"), "{e}");
    }
    let e = open(&image[..image.len() - 2048]).err().unwrap();
    assert!(e.to_string().contains("volume space"), "{e}");
}

#[test]
fn directory_extent_outside_the_image() {
    let (_, mut image) = small();
    let at = record_of(&image, "", b"DICOM");
    set_both32(&mut image, at + 2, 1_000_000);
    let e = open(&image).err().unwrap();
    match &e {
        ReadError::OutsideVolume { path, extent, .. } => {
            assert_eq!((path.as_str(), *extent), ("DICOM", 1_000_000));
        }
        e => panic!("{e}"),
    }
    assert!(
        e.to_string().contains("runs past the end of the volume"),
        "{e}"
    );
}

#[test]
fn file_extent_outside_the_image() {
    let (_, mut image) = small();
    let at = record_of(&image, "DICOM", b"I0000001.;1");
    let sectors = (image.len() / 2048) as u32;
    set_both32(&mut image, at + 2, sectors - 1); // 5000 bytes from the last sector
    let e = open(&image).err().unwrap();
    assert!(
        matches!(&e, ReadError::OutsideVolume { path, .. } if path == "DICOM/I0000001"),
        "{e}"
    );
}

#[test]
fn mismatched_both_endian_values() {
    let (_, image) = small();
    // A file's data length: little-endian 5000, big-endian 5001.
    let mut a = image.clone();
    let at = record_of(&a, "DICOM", b"I0000001.;1");
    a[at + 10 + 7] ^= 1;
    let e = open(&a).err().unwrap();
    match &e {
        ReadError::BothEndian {
            field,
            at: loc,
            le,
            be,
        } => {
            assert_eq!(*field, "data length");
            assert_eq!((*le, *be), (5000, 5001));
            assert_eq!(loc.sector as usize, at / 2048);
            assert_eq!(loc.offset, at % 2048);
        }
        e => panic!("{e}"),
    }
    assert!(e.to_string().contains("both-endian"), "{e}");
    // The volume space size in the primary descriptor.
    let mut b = image.clone();
    b[PVD + 84] ^= 0x40;
    let e = open(&b).err().unwrap();
    assert!(
        matches!(
            e,
            ReadError::BothEndian {
                field: "volume space size",
                ..
            }
        ),
        "{e}"
    );
    // The logical block size.
    let mut c = image.clone();
    c[PVD + 130] = 0x10;
    assert!(matches!(
        open(&c).err().unwrap(),
        ReadError::BothEndian {
            field: "logical block size",
            ..
        }
    ));
}

#[test]
fn a_directory_that_points_back_is_a_loop() {
    let (_, mut image) = small();
    let root = open(&image).unwrap().dirs()[0].clone();
    let at = record_of(&image, "", b"DICOM");
    set_both32(&mut image, at + 2, root.extent);
    set_both32(&mut image, at + 10, root.size);
    let e = open(&image).err().unwrap();
    assert!(matches!(e, ReadError::Loop { .. }), "{e}");
}

#[test]
fn broken_descriptors_and_records() {
    let (_, image) = small();
    // Not an ISO image at all.
    let mut a = image.clone();
    a[PVD + 1..PVD + 6].copy_from_slice(b"XXXXX");
    let e = open(&a).err().unwrap();
    assert!(
        matches!(e, ReadError::Descriptor { sector: 16, .. }) && e.to_string().contains("CD001"),
        "{e}"
    );
    // No terminator: the sector after the primary descriptor is something else.
    let mut b = image.clone();
    b[17 * 2048] = 1;
    b[17 * 2048 + 1..17 * 2048 + 6].copy_from_slice(b"CD001");
    assert!(matches!(
        open(&b).err().unwrap(),
        ReadError::Descriptor { .. }
    ));
    let mut c = image.clone();
    c[17 * 2048 + 1] = b'X';
    assert!(matches!(
        open(&c).err().unwrap(),
        ReadError::Descriptor { sector: 17, .. }
    ));
    // A lower-case name is not Level 1.
    let mut d = image.clone();
    let at = record_of(&d, "DICOM", b"I0000002.;1");
    d[at + 33] = b'i';
    let e = open(&d).err().unwrap();
    assert!(matches!(e, ReadError::BadName { .. }), "{e}");
    assert!(e.to_string().contains("i0000002"), "{e}");
    // A file placed over a directory.
    let mut f = image.clone();
    let dicom = open(&f).unwrap().dirs()[1].clone();
    let at = record_of(&f, "DICOM", b"I0000002.;1");
    set_both32(&mut f, at + 2, dicom.extent);
    let e = open(&f).err().unwrap();
    assert!(matches!(e, ReadError::Overlap { .. }), "{e}");
    // A record shorter than its fixed part.
    let mut g = image.clone();
    let at = record_of(&g, "", b"DICOM");
    g[at] = 20;
    let e = open(&g).err().unwrap();
    assert!(matches!(e, ReadError::Record { .. }), "{e}");
    assert!(e.to_string().contains("length 20"), "{e}");
    // '..' of a subdirectory pointing elsewhere than its parent.
    let mut h = image.clone();
    let at = record_of(&h, "DICOM", &[1]);
    set_both32(&mut h, at + 2, 5);
    let e = open(&h).err().unwrap();
    assert!(e.to_string().contains("'..' points at sector 5"), "{e}");
}

#[test]
fn a_record_crossing_a_sector_boundary() {
    let mut image = ours(&sample_files(7));
    let iso = open(&image).unwrap();
    let d = iso
        .dirs()
        .iter()
        .find(|d| d.path == "DICOM/P0000001/S0000002")
        .unwrap()
        .clone();
    assert!(
        d.size > 2048,
        "the test needs a directory of several sectors"
    );
    let start = d.extent as usize * 2048;
    let mut pos = start;
    let mut last = pos;
    while image[pos] != 0 && pos < start + 2048 {
        last = pos;
        pos += image[pos] as usize;
    }
    image[last] = (start + 2048 - last + 2) as u8;
    let e = open(&image).err().unwrap();
    assert!(e.to_string().contains("crosses the sector boundary"), "{e}");
    assert!(
        matches!(&e, ReadError::Record { at, dir, .. }
            if at.sector == u64::from(d.extent) && dir == "DICOM/P0000001/S0000002"),
        "{e}"
    );
}

/// Deterministic byte flips over the structures (descriptors and directories): whatever
/// comes out, it is an answer, not a panic.
#[test]
fn random_damage_never_panics() {
    let (files, image) = small();
    let iso = open(&image).unwrap();
    let first_file = iso.files().iter().map(|f| f.extent).min().unwrap() as usize;
    drop(iso);
    let span = first_file * 2048 - PVD;
    let mut x = 0x9E37_79B9u32;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let (mut opened, mut refused) = (0, 0);
    for _ in 0..3000 {
        let mut m = image.clone();
        for _ in 0..1 + rnd() % 4 {
            let at = PVD + rnd() as usize % span;
            m[at] = rnd() as u8;
        }
        match open(&m) {
            Ok(mut iso) => {
                opened += 1;
                for f in iso.files().to_vec() {
                    let _ = iso.read_file(&f.path);
                }
                let _ = iso.read_through(64, &mut |_| {}, &mut |_, _| {});
            }
            Err(e) => {
                refused += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(
        opened > 0 && refused > 0,
        "{opened} opened, {refused} refused"
    );
    assert_eq!(files.len(), 3);
}

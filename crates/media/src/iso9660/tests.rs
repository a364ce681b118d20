use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

fn ts() -> IsoDateTime {
    IsoDateTime::new(2024, 2, 29, 13, 5, 9).unwrap()
}

/// A scratch directory removed on drop (no tempfile dependency: the lock file is shared).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "dcmdisc-iso-unit-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// --- encodings -------------------------------------------------------------------------------

#[test]
fn both_endian_encodings() {
    assert_eq!(both_endian_u16(0x1234), [0x34, 0x12, 0x12, 0x34]);
    assert_eq!(both_endian_u16(2048), [0x00, 0x08, 0x08, 0x00]);
    assert_eq!(
        both_endian_u32(0x0102_0304),
        [0x04, 0x03, 0x02, 0x01, 0x01, 0x02, 0x03, 0x04]
    );
    assert_eq!(both_endian_u32(0), [0; 8]);
    assert_eq!(
        both_endian_u32(u32::MAX),
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
}

#[test]
fn date_formats() {
    let t = ts();
    assert_eq!(t.to_record_bytes(), [124, 2, 29, 13, 5, 9, 0]);
    assert_eq!(&t.to_descriptor_bytes(), b"2024022913050900\0");
    assert_eq!(t.to_string(), "2024-02-29T13:05:09Z");
    assert_eq!(&UNSPECIFIED_DESCRIPTOR_DATE[..16], b"0000000000000000");
    assert_eq!(UNSPECIFIED_DESCRIPTOR_DATE[16], 0);
}

#[test]
fn date_validation() {
    assert!(IsoDateTime::new(2023, 2, 29, 0, 0, 0).is_err());
    assert!(IsoDateTime::new(2000, 2, 29, 0, 0, 0).is_ok());
    assert!(IsoDateTime::new(1900, 2, 29, 0, 0, 0).is_err());
    assert!(IsoDateTime::new(1899, 12, 31, 0, 0, 0).is_err());
    assert!(IsoDateTime::new(2156, 1, 1, 0, 0, 0).is_err());
    assert!(IsoDateTime::new(2024, 4, 31, 0, 0, 0).is_err());
    assert!(IsoDateTime::new(2024, 13, 1, 0, 0, 0).is_err());
    assert!(IsoDateTime::new(2024, 1, 1, 24, 0, 0).is_err());
    assert!(IsoDateTime::new(2024, 1, 1, 23, 60, 0).is_err());
}

#[test]
fn unix_time_conversion() {
    let d = |y, mo, da, h, mi, s| IsoDateTime::new(y, mo, da, h, mi, s).unwrap();
    assert_eq!(
        IsoDateTime::from_unix_seconds(0).unwrap(),
        d(1970, 1, 1, 0, 0, 0)
    );
    assert_eq!(
        IsoDateTime::from_unix_seconds(951_782_400).unwrap(),
        d(2000, 2, 29, 0, 0, 0)
    );
    assert_eq!(
        IsoDateTime::from_unix_seconds(1_700_000_000).unwrap(),
        d(2023, 11, 14, 22, 13, 20)
    );
    assert_eq!(
        IsoDateTime::from_unix_seconds(-1).unwrap(),
        d(1969, 12, 31, 23, 59, 59)
    );
    assert_eq!(
        IsoDateTime::from_unix_seconds(-2_208_988_800).unwrap(),
        d(1900, 1, 1, 0, 0, 0)
    );
    assert!(IsoDateTime::from_unix_seconds(-2_208_988_801).is_err());
    // 2155-12-31T23:59:59Z is the last representable second.
    assert_eq!(
        IsoDateTime::from_unix_seconds(5_869_583_999).unwrap(),
        d(2155, 12, 31, 23, 59, 59)
    );
    assert!(IsoDateTime::from_unix_seconds(5_869_584_000).is_err());
    let st = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_900);
    assert_eq!(
        IsoDateTime::from_system_time(st).unwrap(),
        d(2023, 11, 14, 22, 13, 20)
    );
    let before = UNIX_EPOCH - std::time::Duration::from_millis(500);
    assert_eq!(
        IsoDateTime::from_system_time(before).unwrap(),
        d(1969, 12, 31, 23, 59, 59)
    );
}

// --- names and sorting -------------------------------------------------------------------------

/// The ECMA-119 9.3 rule spelled out: name and extension compared as space-padded fields.
fn ecma_order(a: &Key, b: &Key) -> std::cmp::Ordering {
    let pad = |s: &str, n: usize| format!("{s:<n$}");
    pad(&a.name, 8)
        .cmp(&pad(&b.name, 8))
        .then_with(|| pad(&a.ext, 3).cmp(&pad(&b.ext, 3)))
}

#[test]
fn key_order_matches_ecma_padded_comparison() {
    let names = [
        "A",
        "AB",
        "AB_",
        "A_",
        "A0",
        "Z",
        "_",
        "0",
        "9Z",
        "ABCDEFGH",
        "ABCDEFG",
        "A.B",
        "A.BC",
        "A.B_",
        "AB.A",
        "B.A",
        "_.Z",
        "README.TXT",
        "README",
        "INDEX.HTM",
        "DICOMDIR",
    ];
    let keys: Vec<Key> = names.iter().map(|n| file_key(n, n).unwrap()).collect();
    for a in &keys {
        for b in &keys {
            assert_eq!(a.cmp(b), ecma_order(a, b), "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn name_validation() {
    let mut t = IsoTree::new();
    for good in [
        "DICOMDIR",
        "README.TXT",
        "INDEX.HTM",
        "A.B",
        "_",
        "DICOM/P0001/S0001/I0001",
        "X12345_7/Y",
    ] {
        t.add_file(good, 1)
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "",
        "/ROOT",
        "DIR/",
        "A//B",
        "lower",
        "NINECHARS",
        "SP ACE",
        "A.TOOLONG",
        "A.B.C",
        "NAME.",
        ".EXT",
        "DIR.X/FILE",
        "A;1",
        "É",
        "A-B",
    ] {
        let err = t.add_file(bad, 1).unwrap_err();
        assert!(matches!(err, IsoError::BadName { .. }), "{bad}: {err}");
    }
    assert!(matches!(
        t.add_dir("lower").unwrap_err(),
        IsoError::BadName { .. }
    ));
    assert!(matches!(
        t.add_dir("DIR.EXT").unwrap_err(),
        IsoError::BadName { .. }
    ));
    let msg = t.add_file("dicom/X", 1).unwrap_err().to_string();
    assert!(msg.contains("lowercase"), "{msg}");
}

#[test]
fn depth_limit() {
    let mut t = IsoTree::new();
    t.add_file("A/B/C/D/E/F/G/H", 1).unwrap();
    let err = t.add_file("A/B/C/D/E/F/G/H/I", 1).unwrap_err();
    assert!(
        matches!(err, IsoError::TooDeep { components: 9, .. }),
        "{err}"
    );
    t.add_dir("A/B/C/D/E/F/X").unwrap();
    let err = t.add_dir("A/B/C/D/E/F/G/X").unwrap_err();
    assert!(matches!(err, IsoError::TooDeep { .. }), "{err}");
}

#[test]
fn conflicts_leave_tree_unchanged() {
    let mut t = IsoTree::new();
    t.add_file("DICOM/P1/F", 1).unwrap();
    let (dirs, files) = (t.dir_count(), t.file_count());
    for (path, is_dir) in [
        ("DICOM/P1/F", false),   // same file twice
        ("DICOM/P1", false),     // file over a directory
        ("DICOM/P1/F/X", false), // file below a file
        ("DICOM/P1/F/NEW/DEEP", false),
        ("DICOM/P1/F", true), // directory over a file
        ("DICOM/P1/F/SUB", true),
    ] {
        let err = if is_dir {
            t.add_dir(path).unwrap_err()
        } else {
            t.add_file(path, 1).unwrap_err()
        };
        assert!(matches!(err, IsoError::Conflict { .. }), "{path}: {err}");
        assert_eq!((t.dir_count(), t.file_count()), (dirs, files), "{path}");
    }
    // Directories are idempotent; a file with an extension is a different name.
    t.add_dir("DICOM/P1").unwrap();
    t.add_file("DICOM/P1/F.TXT", 1).unwrap();
    t.add_file("DICOM/P1.HTM", 1).unwrap();
    assert_eq!(t.dir_count(), dirs);
}

#[test]
fn file_size_limit() {
    let mut t = IsoTree::new();
    t.add_file("MAX", u64::from(u32::MAX)).unwrap();
    let err = t.add_file("OVER", u64::from(u32::MAX) + 1).unwrap_err();
    assert!(matches!(err, IsoError::FileTooLarge { .. }), "{err}");
}

#[test]
fn identifier_validation() {
    assert!(IsoBuilder::new("", ts()).is_err());
    assert!(IsoBuilder::new("A B", ts()).is_err());
    assert!(IsoBuilder::new("abc", ts()).is_err());
    assert!(IsoBuilder::new(&"X".repeat(33), ts()).is_err());
    assert!(IsoBuilder::new(&"X".repeat(32), ts()).is_ok());
    assert_eq!(
        volume_id_from_fileset_id("MY SET 01  ").unwrap(),
        "MY_SET_01"
    );
    assert!(volume_id_from_fileset_id("   ").is_err());
    assert!(volume_id_from_fileset_id("a").is_err());

    let mut b = IsoBuilder::new("V", ts()).unwrap();
    b.set_publisher_id("ST. ELSEWHERE (RADIOLOGY), DEPT 3")
        .unwrap();
    assert!(b.set_publisher_id("lowercase").is_err());
    assert!(b.set_publisher_id("_FILE").is_err());
    assert!(b.set_system_id(&"S".repeat(33)).is_err());
    assert!(b.set_volume_set_id("HAS SPACE").is_err());
    b.set_volume_set_id("SET_1").unwrap();
}

// --- layout ------------------------------------------------------------------------------------

#[test]
fn record_lengths_are_even() {
    assert_eq!(record_len(1), 34);
    assert_eq!(record_len(2), 36);
    assert_eq!(record_len(8), 42);
    assert_eq!(record_len("DICOMDIR.;1".len()), 44);
    assert_eq!(path_record_len(1), 10);
    assert_eq!(path_record_len(5), 14);
    assert_eq!(path_record_len(8), 16);
}

#[test]
fn records_do_not_cross_sectors() {
    assert_eq!(place_record(0, 34), 0);
    assert_eq!(place_record(2000, 48), 2000);
    assert_eq!(place_record(2001, 48), 2048);
    assert_eq!(place_record(2048 + 2001, 48), 4096);
}

#[test]
fn empty_tree_layout() {
    let l = IsoTree::new().layout().unwrap();
    // 16 system + PVD + terminator + L + M + root directory.
    assert_eq!(l.total_sectors(), 21);
    assert_eq!(l.path_table_size(), 10);
    assert_eq!(l.metadata_sectors(), 21);
}

#[test]
fn large_directory_spans_sectors() {
    let mut t = IsoTree::new();
    // "Fnnnnnnn.;1" records are 44 bytes: 46 fit a sector (2024 bytes), the first holding
    // `.` and `..` too.
    for i in 0..200 {
        t.add_file(&format!("D/F{i:07}"), 10).unwrap();
    }
    let l = t.layout().unwrap();
    let sub = 1; // directory index of D
    let per_first: usize = (2048 - 68) / 44;
    let expected = 1 + (200 - per_first).div_ceil(2048 / 44);
    assert_eq!(l.dir_sectors[sub] as usize, expected);
    assert_eq!(
        l.total_sectors(),
        20 + 1 + expected as u32 + 200,
        "one sector per 10-byte file"
    );
}

#[test]
fn files_laid_out_in_insertion_order() {
    let mut t = IsoTree::new();
    t.add_file("ZZZ", 5000).unwrap();
    t.add_file("AAA", 0).unwrap();
    t.add_file("MMM", 2048).unwrap();
    t.add_file("BBB", 1).unwrap();
    t.add_file("LAST_EMP", 0).unwrap();
    let l = t.layout().unwrap();
    let first = l.metadata_sectors();
    assert_eq!(l.file_sector(0), Some(first));
    assert_eq!(
        l.file_sector(1),
        Some(first + 3),
        "empty file points at the next data"
    );
    assert_eq!(l.file_sector(2), Some(first + 3));
    assert_eq!(l.file_sector(3), Some(first + 4));
    assert_eq!(l.total_sectors(), first + 5);
    assert_eq!(l.file_sector(4), Some(first + 4), "stays inside the volume");
    assert_eq!(
        image_size([("ZZZ", 5000), ("AAA", 0), ("MMM", 2048), ("BBB", 1)]).unwrap(),
        u64::from(first + 5) * 2048
    );
}

#[test]
fn path_table_order_is_level_parent_name() {
    let mut t = IsoTree::new();
    t.add_dir("B/Z").unwrap();
    t.add_dir("A/Y").unwrap();
    t.add_dir("B/A").unwrap();
    t.add_dir("A/X/DEEP").unwrap();
    let l = t.layout().unwrap();
    let names: Vec<&str> = l
        .dir_order
        .iter()
        .map(|&d| t.dirs[d].name.as_str())
        .collect();
    assert_eq!(names, ["", "A", "B", "X", "Y", "A", "Z", "DEEP"]);
}

// --- whole images ------------------------------------------------------------------------------

/// What the reader below found for one entry.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    extent: u32,
    len: u32,
    dir: bool,
}

/// A deliberately independent, strict reader of the structures this module writes.
fn parse_image(img: &[u8]) -> BTreeMap<String, Found> {
    assert_eq!(img.len() % 2048, 0);
    assert!(img[..16 * 2048].iter().all(|&b| b == 0), "system area");
    let pvd = &img[16 * 2048..17 * 2048];
    assert_eq!(&pvd[..7], b"\x01CD001\x01");
    let term = &img[17 * 2048..18 * 2048];
    assert_eq!(&term[..7], b"\xffCD001\x01");
    assert!(term[7..].iter().all(|&b| b == 0));
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let both32 = |b: &[u8]| {
        assert_eq!(le32(&b[..4]), be32(&b[4..8]), "both-endian mismatch");
        le32(b)
    };
    let both16 = |b: &[u8]| {
        let v = u16::from_le_bytes([b[0], b[1]]);
        assert_eq!(v, u16::from_be_bytes([b[2], b[3]]));
        v
    };
    assert_eq!(both32(&pvd[80..88]) as usize * 2048, img.len());
    assert_eq!(both16(&pvd[120..124]), 1);
    assert_eq!(both16(&pvd[124..128]), 1);
    assert_eq!(both16(&pvd[128..132]), 2048);
    let pt_size = both32(&pvd[132..140]) as usize;
    let l_loc = le32(&pvd[140..144]) as usize;
    let m_loc = be32(&pvd[148..152]) as usize;
    assert_eq!(le32(&pvd[144..148]), 0);
    assert_eq!(be32(&pvd[152..156]), 0);
    assert_eq!(pvd[881], 1);
    assert!(pvd[1395..].iter().all(|&b| b == 0));

    // Walk the hierarchy breadth first, as the path table must list it.
    let sector = |n: usize| &img[n * 2048..(n + 1) * 2048];
    let root = &pvd[156..190];
    assert_eq!(root[0], 34);
    assert_eq!(root[32..34], [1, 0]);
    let mut out = BTreeMap::new();
    // (path, extent, len, parent number)
    let mut queue = vec![(
        String::new(),
        both32(&root[2..10]),
        both32(&root[10..18]),
        1u16,
    )];
    let mut qi = 0;
    let mut expected_pt = Vec::new();
    while qi < queue.len() {
        let (path, extent, len, parent_no) = queue[qi].clone();
        let my_no = (qi + 1) as u16;
        expected_pt.push((
            path.rsplit('/').next().unwrap_or("").to_string(),
            extent,
            parent_no,
        ));
        qi += 1;
        assert_eq!(len % 2048, 0);
        let mut records = Vec::new();
        for s in 0..(len / 2048) as usize {
            let sec = sector(extent as usize + s);
            let mut off = 0;
            while off < 2048 && sec[off] != 0 {
                let rl = sec[off] as usize;
                assert!(off + rl <= 2048, "record crosses a sector in {path:?}");
                assert_eq!(rl % 2, 0);
                records.push(sec[off..off + rl].to_vec());
                off += rl;
            }
            assert!(sec[off..].iter().all(|&b| b == 0));
        }
        assert!(records.len() >= 2);
        assert_eq!(records[0][32..34], [1, 0], "'.' first");
        assert_eq!(both32(&records[0][2..10]), extent);
        assert_eq!(records[1][32..34], [1, 1], "'..' second");
        let mut prev: Option<(String, String)> = None;
        for r in &records[2..] {
            assert_eq!(r[18..25], ts().to_record_bytes());
            let id = String::from_utf8(r[33..33 + r[32] as usize].to_vec()).unwrap();
            let is_dir = r[25] & 2 != 0;
            let name = if is_dir {
                assert!(!id.contains('.'));
                id.clone()
            } else {
                let base = id.strip_suffix(";1").expect("version");
                assert!(base.contains('.'), "file id keeps its dot: {id}");
                base.trim_end_matches('.').to_string()
            };
            let (n, e) = if is_dir {
                (id.clone(), String::new())
            } else {
                let base = id.strip_suffix(";1").unwrap();
                let (n, e) = base.split_once('.').unwrap();
                (n.to_string(), e.to_string())
            };
            let k = (format!("{n:<8}"), format!("{e:<3}"));
            if let Some(p) = &prev {
                assert!(p < &k, "sorted: {p:?} before {k:?}");
            }
            prev = Some(k);
            let full = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            let f = Found {
                extent: both32(&r[2..10]),
                len: both32(&r[10..18]),
                dir: is_dir,
            };
            if is_dir {
                queue.push((full.clone(), f.extent, f.len, my_no));
            }
            out.insert(full, f);
        }
    }
    // Check both path tables against the walk.
    for (loc, little) in [(l_loc, true), (m_loc, false)] {
        let pt = &img[loc * 2048..loc * 2048 + pt_size];
        let mut off = 0;
        for (name, extent, parent) in &expected_pt {
            let n = pt[off] as usize;
            let (e, p) = if little {
                (
                    le32(&pt[off + 2..off + 6]),
                    u16::from_le_bytes([pt[off + 6], pt[off + 7]]),
                )
            } else {
                (
                    be32(&pt[off + 2..off + 6]),
                    u16::from_be_bytes([pt[off + 6], pt[off + 7]]),
                )
            };
            let id = &pt[off + 8..off + 8 + n];
            if name.is_empty() {
                assert_eq!(id, [0]);
            } else {
                assert_eq!(id, name.as_bytes());
            }
            assert_eq!((e, p), (*extent, *parent), "path table entry {name}");
            off += 8 + n + n % 2;
        }
        assert_eq!(off, pt_size);
    }
    out
}

fn sample_builder(dir: &Path) -> (IsoBuilder, Vec<(String, Vec<u8>)>) {
    let mut b = IsoBuilder::new("UNIT_TEST", ts()).unwrap();
    let mut expect = Vec::new();
    let mut add_disk = |b: &mut IsoBuilder, iso: &str, data: Vec<u8>| {
        let p = dir.join(iso.replace('/', "_"));
        std::fs::write(&p, &data).unwrap();
        b.add_file(iso, FileSource::path(&p).unwrap()).unwrap();
        expect.push((iso.to_string(), data));
    };
    add_disk(
        &mut b,
        "DICOM/P1/S1/BIG",
        (0..700_000u32).map(|i| (i * 7) as u8).collect(),
    );
    add_disk(&mut b, "DICOM/P1/S1/EXACT", vec![0xAB; 2048]);
    add_disk(&mut b, "DICOM/P1/S2/EMPTY", Vec::new());
    add_disk(&mut b, "README.TXT", b"hello\n".to_vec());
    b.add_file("DICOMDIR", FileSource::bytes(vec![1, 2, 3]))
        .unwrap();
    expect.push(("DICOMDIR".to_string(), vec![1, 2, 3]));
    b.add_dir("EMPTYDIR").unwrap();
    (b, expect)
}

#[test]
fn written_image_parses_and_holds_the_data() {
    let scratch = Scratch::new("parse");
    let (b, expect) = sample_builder(&scratch.0);
    let mut img = Vec::new();
    let n = b.write(&mut img).unwrap();
    assert_eq!(n, img.len() as u64);
    assert_eq!(n, b.layout().unwrap().image_size());
    let found = parse_image(&img);
    for (path, data) in &expect {
        let f = &found[path.as_str()];
        assert!(!f.dir);
        assert_eq!(f.len as usize, data.len(), "{path}");
        let start = f.extent as usize * 2048;
        assert_eq!(&img[start..start + data.len()], &data[..], "{path}");
    }
    assert!(found["EMPTYDIR"].dir);
    assert!(found["DICOM/P1/S2"].dir);
    let pvd = &img[16 * 2048..17 * 2048];
    assert_eq!(&pvd[40..72], format!("{:<32}", "UNIT_TEST").as_bytes());
    assert_eq!(&pvd[813..830], b"2024022913050900\0");
    assert_eq!(&pvd[847..864], b"0000000000000000\0");
    assert_eq!(&pvd[574..581], b"DCMDISC");

    // The file sink (copy_file_range path) gives the same bytes as a plain writer.
    let out = scratch.0.join("x.iso");
    let mut progress = Vec::new();
    let n2 = b
        .write_to_path_with_progress(&out, |done, total| progress.push((done, total)))
        .unwrap();
    assert_eq!(n2, n);
    assert_eq!(std::fs::read(&out).unwrap(), img);
    assert_eq!(progress.last(), Some(&(n, n)));
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn deterministic_output() {
    let scratch = Scratch::new("det");
    let (b1, _) = sample_builder(&scratch.0);
    let (b2, _) = sample_builder(&scratch.0);
    let (mut i1, mut i2) = (Vec::new(), Vec::new());
    b1.write(&mut i1).unwrap();
    b2.write(&mut i2).unwrap();
    assert_eq!(i1, i2);
}

#[test]
fn source_size_change_is_an_error() {
    let scratch = Scratch::new("change");
    let p = scratch.0.join("f");
    std::fs::write(&p, vec![0u8; 5000]).unwrap();
    for (declared, direct) in [(4000u64, false), (6000, false), (400_000, true)] {
        let mut b = IsoBuilder::new("V", ts()).unwrap();
        b.add_file("F", FileSource::path_with_size(&p, declared))
            .unwrap();
        let err = b.write(Vec::new()).unwrap_err();
        assert!(
            matches!(err, IsoError::SourceSizeChanged { .. }),
            "{declared}: {err}"
        );
        if direct {
            let out = scratch.0.join("bad.iso");
            let err = b.write_to_path(&out).unwrap_err();
            assert!(matches!(err, IsoError::SourceSizeChanged { .. }), "{err}");
            assert!(!out.exists(), "failed image removed");
        }
    }
    let mut b = IsoBuilder::new("V", ts()).unwrap();
    b.add_file(
        "F",
        FileSource::path_with_size(scratch.0.join("missing"), 1),
    )
    .unwrap();
    assert!(matches!(
        b.write(Vec::new()).unwrap_err(),
        IsoError::Source { .. }
    ));
    assert!(matches!(
        FileSource::path(scratch.0.join("missing")).unwrap_err(),
        IsoError::Source { .. }
    ));
}

#[test]
fn write_errors_are_reported() {
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disc full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut b = IsoBuilder::new("V", ts()).unwrap();
    b.add_file("F", FileSource::bytes(vec![7u8; 3 << 20]))
        .unwrap();
    let err = b.write(Full(1 << 20)).unwrap_err();
    assert!(matches!(err, IsoError::Write(_)), "{err}");
}

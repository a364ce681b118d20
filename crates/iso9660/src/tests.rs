//! Whole images: written through the public API, then read back by an independent, strict
//! parser of the structures; determinism, and failures of sources and of the destination.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use crate::{FileSource, IsoBuilder, IsoDateTime, IsoError};
use dcmdisc_testkit::Scratch;

/// The clock of every test image.
pub(crate) fn ts() -> IsoDateTime {
    IsoDateTime::new(2024, 2, 29, 13, 5, 9).unwrap()
}

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

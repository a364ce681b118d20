//! The volume's own files (README.TXT, INDEX.HTM, AUTORUN.INF, VALIDATE.TXT, MANIFEST.TXT)
//! on exported volumes: on every volume, counted by the planner at the capacity edge (also
//! when they force a split), identical for the same input and clock, names decoded from
//! their character set, and the record rules of the checks before imaging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::*;
use dcmdisc_media::dicomdir::{self, DicomdirMeta, El, Record};
use dcmdisc_media::export::{
    export_patient, ExportError, ExportOptions, NoConverter, SourceFile, VolumeSummary, SECTOR,
};
use dcmdisc_media::validate::{validate_planned, ExpectedVolume, Planned};
use sha2::{Digest, Sha256};

const OWN: [&str; 5] = [
    "README.TXT",
    "INDEX.HTM",
    "AUTORUN.INF",
    "VALIDATE.TXT",
    "MANIFEST.TXT",
];

fn run(files: &[PathBuf], opts: &ExportOptions) -> Result<Vec<VolumeSummary>, ExportError> {
    let sources = files
        .iter()
        .map(|p| SourceFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    if opts.out_dir.exists() {
        std::fs::remove_dir_all(&opts.out_dir).unwrap();
    }
    export_patient(sources, opts, &NoConverter, &mut |_, _, _| {
        std::ops::ControlFlow::Continue(())
    })
}

fn fixed_clock() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000)
}

fn opts_at(out: &Path, capacity: u64, left_out: usize) -> ExportOptions {
    let mut o = options(out, true);
    o.capacity = Some(capacity);
    o.now = fixed_clock();
    o.pdi.institution = "Example Hospital".into();
    // Long left-out lines, which README.TXT and INDEX.HTM list on every volume.
    o.pdi.left_out = (0..left_out)
        .map(|i| format!("1.2.3.{i} {}", "left out by the operator ".repeat(10)))
        .collect();
    o
}

fn read(tree: &Path, name: &str) -> String {
    String::from_utf8(std::fs::read(tree.join(name)).unwrap()).unwrap()
}

/// The smallest capacity (in sectors) at which the export makes one volume.
fn one_volume_capacity(files: &[PathBuf], out: &Path, left_out: usize) -> u64 {
    let (mut lo, mut hi) = (1u64, 8 * 1024);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let mut o = opts_at(out, mid * SECTOR, left_out);
        o.tree = false;
        match run(files, &o) {
            Ok(v) if v.len() == 1 => hi = mid,
            _ => lo = mid + 1,
        }
    }
    lo
}

fn check_volumes(vols: &[VolumeSummary], capacity: u64, instances: usize) {
    assert_eq!(vols.iter().map(|v| v.instances).sum::<usize>(), instances);
    for v in vols {
        assert!(v.bytes <= capacity, "{} > {capacity}", v.bytes);
        let tree = v.tree.as_ref().unwrap();
        for name in OWN {
            assert!(tree.join(name).is_file(), "{name} missing on {tree:?}");
        }
        let index = read(tree, "INDEX.HTM");
        assert!(
            index.contains(&format!("Disc {} of {}", v.number, v.count)),
            "{index}"
        );
        assert!(index.contains(&format!("{} instances on this disc", v.instances)));
    }
}

/// Instances of the edge test, and left-out lines: together some 150 KiB in README.TXT and
/// INDEX.HTM, more than any slack of the planner's other costs.
const N: u32 = 200;
const LEFT_OUT: usize = 300;

#[test]
fn own_files_are_counted_at_the_capacity_edge_and_force_a_split() {
    let scratch = Scratch::new("own-edge");
    let files = ct_files(&scratch.0.join("src"), N);
    let out = scratch.0.join("out");
    // Without a left-out list, the edge: one volume at `edge` sectors, two just under.
    let edge = one_volume_capacity(&files, &out, 0);
    let one = run(&files, &opts_at(&out, edge * SECTOR, 0)).unwrap();
    assert_eq!(one.len(), 1);
    check_volumes(&one, edge * SECTOR, N as usize);
    // (One series: split by instance, each part paying for its study and series again.)
    let two = run(&files, &opts_at(&out, (edge - 1) * SECTOR, 0)).unwrap();
    assert!(two.len() >= 2);
    check_volumes(&two, (edge - 1) * SECTOR, N as usize);

    // The same instances at the same capacity, with own files grown by a long left-out
    // list: they no longer fit on one volume, and every volume still fits its capacity.
    let split = run(&files, &opts_at(&out, edge * SECTOR, LEFT_OUT)).unwrap();
    assert!(split.len() >= 2, "{} volume(s)", split.len());
    check_volumes(&split, edge * SECTOR, N as usize);
    let readme = read(split[0].tree.as_ref().unwrap(), "README.TXT");
    assert!(readme.contains("1.2.3.299"), "{readme}");

    // And their own edge: one volume there, within it; two just under.
    let edge_long = one_volume_capacity(&files, &out, LEFT_OUT);
    assert!(edge_long > edge);
    let one = run(&files, &opts_at(&out, edge_long * SECTOR, LEFT_OUT)).unwrap();
    assert_eq!(one.len(), 1);
    check_volumes(&one, edge_long * SECTOR, N as usize);
    let two = run(&files, &opts_at(&out, (edge_long - 1) * SECTOR, LEFT_OUT)).unwrap();
    assert!(two.len() >= 2);
    check_volumes(&two, (edge_long - 1) * SECTOR, N as usize);
}

#[test]
fn the_same_input_and_clock_give_the_same_bytes() {
    let scratch = Scratch::new("own-same");
    let files = ct_files(&scratch.0.join("src"), 4);
    let a = run(&files, &opts_at(&scratch.0.join("a"), 700 << 20, 2)).unwrap();
    let b = run(&files, &opts_at(&scratch.0.join("b"), 700 << 20, 2)).unwrap();
    let image = |v: &VolumeSummary| std::fs::read(v.iso.as_ref().unwrap()).unwrap();
    assert_eq!(image(&a[0]), image(&b[0]));
    assert_eq!(a[0].sha256, b[0].sha256);
    // Another clock, another File-set UID and dates: another image.
    let mut o = opts_at(&scratch.0.join("c"), 700 << 20, 2);
    o.now += Duration::from_secs(1);
    let c = run(&files, &o).unwrap();
    assert_ne!(image(&a[0]), image(&c[0]));
}

#[test]
fn the_manifest_holds_every_other_file_and_the_report_passes() {
    let scratch = Scratch::new("own-manifest");
    let files = ct_files(&scratch.0.join("src"), 3);
    let vols = run(&files, &opts_at(&scratch.0.join("out"), 700 << 20, 0)).unwrap();
    let tree = vols[0].tree.as_ref().unwrap();
    let manifest = read(tree, "MANIFEST.TXT");
    let listed: BTreeMap<&str, &str> = manifest
        .split_terminator("\r\n")
        .map(|l| {
            let (h, p) = l.split_once("  ").unwrap();
            (p, h)
        })
        .collect();
    let mut on_disc = Vec::new();
    let mut stack = vec![tree.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                on_disc.push(p);
            }
        }
    }
    assert_eq!(listed.len() + 1, on_disc.len(), "{manifest}");
    for p in on_disc {
        let rel = p.strip_prefix(tree).unwrap().to_str().unwrap().to_string();
        if rel == "MANIFEST.TXT" {
            continue;
        }
        let want: String = Sha256::digest(std::fs::read(&p).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(listed.get(rel.as_str()), Some(&want.as_str()), "{rel}");
    }
    let report = read(tree, "VALIDATE.TXT");
    assert!(report.contains("RESULT: PASSED"), "{report}");
    assert!(
        report.contains("3 IMAGE, 1 PATIENT, 1 SERIES, 1 STUDY"),
        "{report}"
    );
    assert!(!report.contains(PATIENT_ID) && !read(tree, "README.TXT").contains(PATIENT_ID));
    let autorun = read(tree, "AUTORUN.INF");
    assert_eq!(
        autorun,
        "[autorun]\r\nshellexecute=INDEX.HTM\r\nlabel=VALIDATE_1\r\n"
    );
}

#[test]
fn names_are_decoded_from_their_character_set_in_the_index() {
    let scratch = Scratch::new("own-charset");
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "\\ISO 2022 IR 87",
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B",
            "Yamada Tarou = 山田 太郎",
        ),
        (
            "\\ISO 2022 IR 149",
            b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7",
            "Hong Gildong = 洪 吉洞",
        ),
        ("GB18030", b"\xcd\xf5^\xd0\xa1\xb6\xab", "王 小东"),
        ("ISO_IR 192", "Müller^Jürgen".as_bytes(), "Müller Jürgen"),
    ];
    for (k, (charset, name, shown)) in cases.iter().enumerate() {
        let src = scratch.0.join(format!("src{k}"));
        std::fs::create_dir_all(&src).unwrap();
        let p = src.join("CT1");
        ct_file_of(&p, PATIENT_ID, STUDY, 1, None, Some(charset), name);
        let vols = run(
            &[p],
            &opts_at(&scratch.0.join(format!("out{k}")), 700 << 20, 0),
        )
        .unwrap();
        let index = read(vols[0].tree.as_ref().unwrap(), "INDEX.HTM");
        assert!(index.contains(shown), "{charset}: {shown} not in\n{index}");
    }
}

fn keyed(record_type: &str, keys: Vec<El>, children: Vec<Record>) -> Record {
    Record {
        record_type: record_type.into(),
        file: None,
        keys,
        children,
    }
}

fn encode(roots: &[Record]) -> Vec<u8> {
    dicomdir::encode(
        &DicomdirMeta {
            fileset_id: "T",
            fileset_uid: "2.25.1",
            implementation_class_uid: "2.25.2",
            implementation_version_name: "T",
            source_ae_title: "",
            consistency_flag: 0,
        },
        roots,
    )
    .unwrap()
}

#[test]
fn the_checks_before_imaging_hold_records_to_their_rules() {
    let patient_id = El::text(0x0010_0020, b"LO", PATIENT_ID);
    // A PATIENT without its Type 1 Patient ID, a VISIT record (DRG forbids it) and a STUDY
    // at the root.
    let bad = encode(&[
        keyed("PATIENT", vec![El::text(0x0010_0010, b"PN", "A")], vec![]),
        keyed("VISIT", vec![], vec![]),
        keyed("STUDY", vec![patient_id.clone()], vec![]),
    ]);
    let expected = ExpectedVolume {
        patient_id: PATIENT_ID.into(),
        files: vec!["README.TXT".into()],
        ..ExpectedVolume::default()
    };
    let planned = vec![("DICOMDIR".to_string(), Planned::Bytes(&bad))];
    let (report, hashes) = validate_planned(&planned, &expected).unwrap();
    let has = |needle: &str| {
        assert!(
            report.problems.iter().any(|p| p.contains(needle)),
            "no {needle:?} in {:#?}",
            report.problems
        )
    };
    has("lacks its Type 1 key PatientID (0010,0020)");
    has("VISIT record at byte");
    has("a patient disc must not hold (DRG 3.1)");
    has("STUDY record at byte");
    has("a STUDY record belongs at level 1");
    has("README.TXT is not on the volume");
    let want: String = Sha256::digest(&bad)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hashes["DICOMDIR"], want);
}

use super::*;
use crate::testutil::{ct_file, TempDir};

/// Two patients, three instances each, of `pixels` bytes of pixel data.
fn folder(tmp: &TempDir, pixels: usize) -> PathBuf {
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for (p, (name, id)) in [("DOE^JOHN", "P1"), ("ROE^JANE", "P2")].iter().enumerate() {
        for n in 1..=3 {
            let study = format!("2.25.{}", 1000 + p);
            ct_file(
                &src.join(format!("{p}-{n}.dcm")),
                name,
                id,
                &study,
                n,
                pixels,
            );
        }
    }
    std::fs::write(src.join("notes.txt"), "not DICOM").unwrap();
    src
}

fn options(out: &Path) -> ExportOptions {
    ExportOptions {
        out_dir: out.to_path_buf(),
        profile: None,
        capacity_mb: None,
        tree: false,
        // tree: false and STD-GEN-CD: images only.
        leave_out_unreadable: false,
        job: None,
    }
}

/// The names in `dir`, hidden ones included (a staging folder left behind shows here).
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_folder_export_reports_typed_progress_per_patient() {
    let tmp = TempDir::new("export");
    let scan = scan_folder(&Config::default(), &folder(&tmp, 64)).unwrap();
    assert_eq!(scan.patients.len(), 2);
    // notes.txt: not DICOM, not an instance, so not a reason to fail.
    assert_eq!(scan.excluded.len(), 1, "{:?}", scan.excluded);
    assert_eq!(scan.excluded[0].kind, ExcludedKind::NotDicom);
    let out = tmp.path().join("out");
    let mut seen = Vec::new();
    let vols = export_folder(
        &Config::default(),
        scan,
        &options(&out),
        &Shutdown::new(),
        &mut |p| seen.push(p.clone()),
    )
    .unwrap();
    assert_eq!(vols.len(), 2);
    assert_eq!(vols[0].label, "DOE^JOHN [P1]");
    assert_eq!(vols[0].volume.instances, 3);
    for (v, pat) in vols.iter().zip(["PAT001", "PAT002"]) {
        let iso = v.volume.iso.as_ref().unwrap();
        assert_eq!(*iso, out.join(pat).join("VOL001.iso"));
        assert_eq!(std::fs::metadata(iso).unwrap().len(), v.volume.bytes);
    }
    let stages: Vec<(u64, Stage, u64, u64)> = seen
        .iter()
        .map(|p| (p.patient.done, p.stage, p.items.done, p.items.total))
        .collect();
    assert_eq!(
        stages,
        vec![
            // The web content, rendered before planning (one step per instance).
            (1, Stage::Rendering, 0, 3),
            (1, Stage::Rendering, 1, 3),
            (1, Stage::Rendering, 2, 3),
            (1, Stage::Rendering, 3, 3),
            (1, Stage::Dicomdir, 0, 1),
            (1, Stage::Writing, 0, 1),
            (1, Stage::Validating, 0, 1),
            (1, Stage::Done, 1, 1),
            // The web content, rendered before planning (one step per instance).
            (2, Stage::Rendering, 0, 3),
            (2, Stage::Rendering, 1, 3),
            (2, Stage::Rendering, 2, 3),
            (2, Stage::Rendering, 3, 3),
            (2, Stage::Dicomdir, 0, 1),
            (2, Stage::Writing, 0, 1),
            (2, Stage::Validating, 0, 1),
            (2, Stage::Done, 1, 1),
        ]
    );
    assert!(seen.iter().all(|p| p.patient.total == 2));
    assert_eq!(seen[8].label, "ROE^JANE [P2]");
    // Each ISO volume was validated, its image hashed.
    for v in &vols {
        let h = v.volume.sha256.as_ref().unwrap();
        assert_eq!(h.len(), 64, "{h}");
    }
}

#[test]
fn a_folder_export_cancelled_at_its_first_report_leaves_no_image() {
    let tmp = TempDir::new("export-cancel");
    let scan = scan_folder(&Config::default(), &folder(&tmp, 64)).unwrap();
    let out = tmp.path().join("out");
    let shutdown = Shutdown::new();
    let mut reports = 0;
    let r = export_folder(
        &Config::default(),
        scan,
        &options(&out),
        &shutdown,
        &mut |_| {
            reports += 1;
            shutdown.trigger();
        },
    );
    assert!(matches!(r, Err(AppError::Cancelled)), "{r:?}");
    assert_eq!(reports, 1, "no report after the one that cancelled");
    // Nothing is left: no output folder, no staging folder beside it.
    assert!(!out.exists(), "a cancelled export left {}", out.display());
    assert_eq!(names_in(tmp.path()), vec!["src".to_string()]);
}

#[test]
fn a_cancelled_export_leaves_nothing_even_after_a_complete_volume() {
    let tmp = TempDir::new("export-cancel-2");
    // One patient whose three 400 KiB instances need more than one 1 MiB volume.
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for n in 1..=3 {
        ct_file(
            &src.join(format!("{n}.dcm")),
            "DOE^JOHN",
            "P1",
            "2.25.7",
            n,
            400 * 1024,
        );
    }
    let scan = scan_folder(&Config::default(), &src).unwrap();
    let out = tmp.path().join("out");
    let opts = ExportOptions {
        capacity_mb: Some(1),
        ..options(&out)
    };
    let shutdown = Shutdown::new();
    let r = export_folder(&Config::default(), scan, &opts, &shutdown, &mut |p| {
        // Stop when the second volume is about to be built.
        if p.stage == Stage::Dicomdir && p.items.done == 1 {
            assert!(p.items.total >= 2, "{p:?}");
            shutdown.trigger();
        }
    });
    assert!(matches!(r, Err(AppError::Cancelled)), "{r:?}");
    // VOL001.iso was complete, but the export was not: none of it is handed out.
    assert!(!out.exists(), "a cancelled export left {}", out.display());
    assert_eq!(names_in(tmp.path()), vec!["src".to_string()]);
}

#[test]
fn an_export_into_a_folder_holding_an_earlier_one_is_refused() {
    let tmp = TempDir::new("export-twice");
    let out = tmp.path().join("out");
    let first = scan_folder(&Config::default(), &folder(&tmp, 2)).unwrap();
    export_folder(
        &Config::default(),
        first,
        &options(&out),
        &Shutdown::new(),
        &mut |_| {},
    )
    .unwrap();
    let before = files_under(&out);
    assert!(!before.is_empty());
    let second = scan_folder(&Config::default(), &folder(&tmp, 2)).unwrap();
    let r = export_folder(
        &Config::default(),
        second,
        &options(&out),
        &Shutdown::new(),
        &mut |_| {},
    );
    assert!(matches!(r, Err(AppError::OutputNotEmpty { .. })), "{r:?}");
    assert_eq!(files_under(&out), before, "the earlier export was touched");
}

#[test]
fn an_export_cancelled_while_validating_leaves_no_unvalidated_image() {
    let tmp = TempDir::new("export-cancel-3");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    ct_file(&src.join("1.dcm"), "DOE^JOHN", "P1", "2.25.8", 1, 1024);
    let scan = scan_folder(&Config::default(), &src).unwrap();
    let out = tmp.path().join("out");
    let shutdown = Shutdown::new();
    let r = export_folder(
        &Config::default(),
        scan,
        &ExportOptions {
            tree: true,
            ..options(&out)
        },
        &shutdown,
        &mut |p| {
            if p.stage == Stage::Validating {
                shutdown.trigger();
            }
        },
    );
    assert!(matches!(r, Err(AppError::Cancelled)), "{r:?}");
    assert_eq!(files_under(&out), Vec::<PathBuf>::new());
}

#[test]
fn a_missing_collection_and_a_zero_capacity_are_refused() {
    let tmp = TempDir::new("export-collection");
    let mut cfg = Config::default();
    cfg.archive.data_dir = tmp.path().join("data");
    let db = ControlDb::open(&cfg, crate::Open::CreateIfMissing).unwrap();
    // No such collection: the error says so before anything else.
    let out = tmp.path().join("out");
    let r = export_collection(&cfg, &db, 7, &options(&out), &Shutdown::new(), &mut |_| {});
    assert!(matches!(r, Err(AppError::NoSuchCollection(7))), "{r:?}");
    let zero = ExportOptions {
        capacity_mb: Some(0),
        ..options(&out)
    };
    let scan = scan_folder(&Config::default(), &folder(&tmp, 8)).unwrap();
    let r = export_folder(&cfg, scan, &zero, &Shutdown::new(), &mut |_| {});
    assert!(matches!(r, Err(AppError::ZeroCapacity)), "{r:?}");
}

#[test]
fn the_650_mb_rule_applies_to_std_gen_cd_only() {
    let mut cfg = Config::default();
    assert_eq!(capacity(&cfg, Profile::StdGenCd, None).unwrap(), None);
    cfg.media.cd_capacity_mb = CdCapacity::Mb650;
    assert_eq!(
        capacity(&cfg, Profile::StdGenCd, None).unwrap(),
        Some(333_000 * 2048)
    );
    assert_eq!(capacity(&cfg, Profile::StdGenDvdJpeg, None).unwrap(), None);
    assert_eq!(
        capacity(&cfg, Profile::StdGenCd, Some(2)).unwrap(),
        Some(2 << 20)
    );
}

/// The two-patient folder, plus an instance cut short (its data set does not walk) and a
/// foreign DICOMDIR (a CT file whose File Meta says Media Storage Directory).
fn folder_with_problems(tmp: &TempDir) -> (PathBuf, PathBuf, PathBuf) {
    let src = folder(tmp, 64);
    let cut = src.join("cut.dcm");
    ct_file(&cut, "DOE^JOHN", "P1", "2.25.1000", 9, 64);
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    let dicomdir = src.join("sub").join("DICOMDIR");
    std::fs::create_dir_all(dicomdir.parent().unwrap()).unwrap();
    ct_file(&dicomdir, "DOE^JOHN", "P1", "2.25.1000", 10, 64);
    let mut bytes = std::fs::read(&dicomdir).unwrap();
    let ct = b"1.2.840.10008.5.1.4.1.1.2\0";
    let at = bytes.windows(ct.len()).position(|w| w == ct).unwrap();
    bytes[at..at + ct.len()].copy_from_slice(b"1.2.840.10008.1.3.10\0\0\0\0\0\0");
    std::fs::write(&dicomdir, bytes).unwrap();
    (src, cut, dicomdir)
}

#[test]
fn an_instance_that_cannot_go_on_the_disc_fails_the_export_naming_it() {
    let tmp = TempDir::new("export-unreadable");
    let (src, cut, dicomdir) = folder_with_problems(&tmp);
    let scan = scan_folder(&Config::default(), &src).unwrap();
    let kinds: Vec<(PathBuf, ExcludedKind)> = scan
        .excluded
        .iter()
        .map(|e| (e.path.clone(), e.kind))
        .collect();
    assert!(
        kinds.contains(&(cut.clone(), ExcludedKind::Unreadable)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(dicomdir, ExcludedKind::Dicomdir)),
        "{kinds:?}"
    );
    let out = tmp.path().join("out");
    let r = export_folder(
        &Config::default(),
        scan,
        &options(&out),
        &Shutdown::new(),
        &mut |_| {},
    );
    match r {
        Err(e @ AppError::CannotGoOnDisc { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&cut.display().to_string()), "{text}");
            assert!(text.contains("--leave-out-unreadable"), "{text}");
            // The DICOMDIR is not an instance that failed.
            assert!(!text.contains("DICOMDIR"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!out.exists() || names_in(&out).is_empty());
}

#[test]
fn left_out_instances_are_listed_in_every_readme_of_the_export() {
    let tmp = TempDir::new("export-left-out");
    let (src, _, _) = folder_with_problems(&tmp);
    let scan = scan_folder(&Config::default(), &src).unwrap();
    let out = tmp.path().join("out");
    let opts = ExportOptions {
        leave_out_unreadable: true,
        tree: true,
        ..options(&out)
    };
    let vols = export_folder(
        &Config::default(),
        scan,
        &opts,
        &Shutdown::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(vols.len(), 2);
    assert_eq!(vols.iter().map(|v| v.volume.instances).sum::<usize>(), 6);
    for v in &vols {
        // The cut file's keys could not be read: its patient is not known, so both list it.
        assert_eq!(v.volume.left_out.len(), 1, "{:?}", v.volume.left_out);
        let tree = v.volume.tree.as_ref().unwrap();
        let readme = std::fs::read_to_string(tree.join("README.TXT")).unwrap();
        assert!(readme.contains("LEFT OUT OF THIS DISC"), "{readme}");
        let index = std::fs::read_to_string(tree.join("INDEX.HTM")).unwrap();
        assert!(index.contains("SOP Instance UID 2.25.1000.9"), "{index}");
        // The File Meta was readable: the README names the instance by its UID, not by path.
        assert!(readme.contains("SOP Instance UID 2.25.1000.9"), "{readme}");
        assert!(!readme.contains("cut.dcm"), "{readme}");
    }
}

#[test]
fn the_volume_id_tells_discs_apart_by_date_and_job() {
    let tmp = TempDir::new("export-volume-id");
    let src = folder(&tmp, 64);
    let out = tmp.path().join("out");
    let scan = scan_folder(&Config::default(), &src).unwrap();
    let vols = export_folder(
        &Config::default(),
        scan,
        &options(&out),
        &Shutdown::new(),
        &mut |_| {},
    )
    .unwrap();
    let iso = vols[0].volume.iso.as_ref().unwrap();
    // The Primary Volume Descriptor (sector 16): Volume Identifier at bytes 40-71.
    let image = std::fs::read(iso).unwrap();
    let pvd = &image[16 * 2048..17 * 2048];
    let id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_string();
    // YYMMDD + T + HHMM + _1OF1
    assert!(id.ends_with("_1OF1"), "{id}");
    assert_eq!(id.len(), "260101T1200_1OF1".len(), "{id}");
    assert_eq!(&id[6..7], "T", "{id}");
    assert!(id[..6].bytes().all(|b| b.is_ascii_digit()), "{id}");
}

#[test]
fn joliet_is_on_by_default_and_off_by_config() {
    let tmp = TempDir::new("export-joliet");
    let src = folder(&tmp, 64);
    let has_joliet = |cfg: &Config, out: &Path| {
        let scan = scan_folder(cfg, &src).unwrap();
        let vols = export_folder(cfg, scan, &options(out), &Shutdown::new(), &mut |_| {}).unwrap();
        let image = std::fs::read(vols[0].volume.iso.as_ref().unwrap()).unwrap();
        // Sector 17: the Joliet descriptor (type 2, escape sequences %/E) or the terminator.
        let s = &image[17 * 2048..18 * 2048];
        match s[0] {
            2 => {
                assert_eq!(&s[88..91], b"%/E");
                true
            }
            255 => false,
            t => panic!("descriptor type {t} at sector 17"),
        }
    };
    assert!(has_joliet(&Config::default(), &tmp.path().join("on")));
    let mut cfg = Config::default();
    cfg.media.joliet = false;
    assert!(!has_joliet(&cfg, &tmp.path().join("off")));
}

#[test]
fn a_big_endian_instance_goes_on_the_disc_converted() {
    let tmp = TempDir::new("export-big-endian");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    crate::testutil::ct_file_big_endian(&src.join("be.dcm"), "BIG^ENDIAN", "BE1", "2.25.77", 1, 64);
    let scan = scan_folder(&Config::default(), &src).unwrap();
    assert!(scan.excluded.is_empty(), "{:?}", scan.excluded);
    // Its keys were read through the conversion.
    assert_eq!(scan.patients.len(), 1);
    assert_eq!(scan.patients[0].patient_id, "BE1");
    assert_eq!(scan.patients[0].patient_name, "BIG^ENDIAN");
    let out = tmp.path().join("out");
    let opts = ExportOptions {
        tree: true,
        ..options(&out)
    };
    let vols = export_folder(
        &Config::default(),
        scan,
        &opts,
        &Shutdown::new(),
        &mut |_| {},
    )
    .unwrap();
    let tree = vols[0].volume.tree.as_ref().unwrap();
    let file = files_under(&tree.join("DICOM")).pop().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let meta = dcmdisc_dicom::meta::parse_meta(&bytes).unwrap();
    assert_eq!(meta.transfer_syntax_uid(), "1.2.840.10008.1.2.1");
    // The pixels 0, 1, 2, ... now little endian, at the end of the file.
    let want: Vec<u8> = (0..32u16).flat_map(|i| i.to_le_bytes()).collect();
    assert!(
        bytes.ends_with(&want),
        "pixel data not swapped to little endian"
    );
}

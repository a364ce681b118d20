use super::*;
use crate::export::{export_folder, scan_folder, ExportOptions};
use crate::testutil::TempDir;
use crate::{Config, Shutdown};
use std::path::PathBuf;

/// A small CT instance with a Specific Character Set, a name in it and an institution.
fn instance(
    path: &Path,
    charset: &str,
    name: &[u8],
    study: &str,
    date: &str,
    modality: &str,
    n: u32,
) {
    let el = |out: &mut Vec<u8>, tag: u32, vr: &[u8; 2], v: &[u8]| {
        dcmdisc_dicom::encode::explicit_element(out, tag, *vr, v)
    };
    let sop = format!("{study}.{n}");
    let class = "1.2.840.10008.5.1.4.1.1.2";
    let mut meta = Vec::new();
    el(&mut meta, 0x0002_0001, b"OB", &[0, 1]);
    el(&mut meta, 0x0002_0002, b"UI", class.as_bytes());
    el(&mut meta, 0x0002_0003, b"UI", sop.as_bytes());
    el(&mut meta, 0x0002_0010, b"UI", b"1.2.840.10008.1.2.1");
    el(&mut meta, 0x0002_0012, b"UI", b"2.25.1");
    let mut ds = Vec::new();
    el(&mut ds, 0x0008_0005, b"CS", charset.as_bytes());
    el(&mut ds, 0x0008_0016, b"UI", class.as_bytes());
    el(&mut ds, 0x0008_0018, b"UI", sop.as_bytes());
    el(&mut ds, 0x0008_0020, b"DA", date.as_bytes());
    el(&mut ds, 0x0008_0030, b"TM", b"120000");
    el(&mut ds, 0x0008_0060, b"CS", modality.as_bytes());
    el(&mut ds, 0x0008_0080, b"LO", b"Tokyo <General> & Co");
    el(&mut ds, 0x0010_0010, b"PN", name);
    el(&mut ds, 0x0010_0020, b"LO", b"P1");
    el(&mut ds, 0x0010_0030, b"DA", b"19700102");
    el(&mut ds, 0x0020_000D, b"UI", study.as_bytes());
    el(&mut ds, 0x0020_000E, b"UI", format!("{study}.0").as_bytes());
    el(&mut ds, 0x0020_0010, b"SH", b"1");
    el(&mut ds, 0x0020_0011, b"IS", b"1");
    el(&mut ds, 0x0020_0013, b"IS", n.to_string().as_bytes());
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    el(
        &mut file,
        0x0002_0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    file.extend_from_slice(&meta);
    file.extend_from_slice(&ds);
    std::fs::write(path, file).unwrap();
}

const YAMADA: &[u8] = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=";

#[test]
fn facts_decode_the_name_in_its_character_set_and_list_each_study() {
    let tmp = TempDir::new("label-facts");
    let (a, b, c) = (tmp.join("a.dcm"), tmp.join("b.dcm"), tmp.join("c.dcm"));
    instance(
        &a,
        "\\ISO 2022 IR 87",
        YAMADA,
        "2.25.7",
        "20261102",
        "MR",
        1,
    );
    instance(
        &b,
        "\\ISO 2022 IR 87",
        YAMADA,
        "2.25.8",
        "20261130",
        "CT",
        1,
    );
    instance(
        &c,
        "\\ISO 2022 IR 87",
        YAMADA,
        "2.25.8",
        "20261130",
        "SR",
        2,
    );
    let files: Vec<SourceFile> = [a, b, c]
        .iter()
        .map(|p| SourceFile::read(p).unwrap())
        .collect();
    let f = facts(&files);
    assert_eq!(f.patient_name, "Yamada^Tarou=山田^太郎=");
    assert_eq!(f.script, Some(NameScript::Japanese));
    assert_eq!(f.birth_date, "19700102");
    assert_eq!(f.institution, "Tokyo <General> & Co");
    let studies: Vec<(&str, Vec<&str>)> = f
        .studies
        .iter()
        .map(|s| {
            (
                s.date.as_str(),
                s.modalities.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        studies,
        [("20261130", vec!["CT", "SR"]), ("20261102", vec!["MR"])]
    );
    assert_eq!(script_of("\\ISO 2022 IR 149"), Some(NameScript::Korean));
    assert_eq!(script_of("GB18030"), Some(NameScript::Chinese));
    assert_eq!(script_of("ISO_IR 192"), None);
}

/// A folder export of one IR 87 patient with `cfg`, into `tmp/out`.
fn export(tmp: &TempDir, cfg: &Config, job: Option<i64>) -> (PathBuf, Vec<VolumeSummary>) {
    let src = tmp.join("src");
    std::fs::create_dir_all(&src).unwrap();
    instance(
        &src.join("a.dcm"),
        "\\ISO 2022 IR 87",
        YAMADA,
        "2.25.9",
        "20261130",
        "CT",
        1,
    );
    let scan = scan_folder(cfg, &src).unwrap();
    let out = tmp.join("out");
    let opts = ExportOptions {
        out_dir: out.clone(),
        profile: None,
        capacity_mb: None,
        tree: false,
        leave_out_unreadable: false,
        job,
    };
    let vols = export_folder(cfg, scan, &opts, &Shutdown::new(), &mut |_| {}).unwrap();
    (out, vols.into_iter().map(|v| v.volume).collect())
}

#[test]
fn the_export_writes_each_volume_s_svg_and_pdf_beside_its_image() {
    let tmp = TempDir::new("label-export");
    let (out, _) = export(&tmp, &Config::default(), Some(5));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["VOL001.iso", "VOL001.pdf", "VOL001.svg"]);
    let svg = std::fs::read_to_string(out.join("VOL001.svg")).unwrap();
    for text in [
        "Yamada, Tarou",
        "山田 太郎",
        "Tokyo &lt;General&gt; &amp; Co",
        // [media] web_content is on by default.
        "DICOM PLUS WEB",
        "Disc 1 of 1",
        "Job 5",
        "2026-11-30 CT",
    ] {
        assert!(svg.contains(text), "{text} not in {svg}");
    }
    assert!(std::fs::read(out.join("VOL001.pdf"))
        .unwrap()
        .starts_with(b"%PDF-"));
}

#[test]
fn labels_off_or_dicom_only_as_configured() {
    let tmp = TempDir::new("label-off");
    let mut cfg = Config::default();
    cfg.label.enabled = false;
    let (out, _) = export(&tmp, &cfg, None);
    assert!(out.join("VOL001.iso").is_file() && !out.join("VOL001.svg").exists());

    let tmp = TempDir::new("label-dicom-only");
    let mut cfg = Config::default();
    cfg.media.web_content = false;
    let (out, _) = export(&tmp, &cfg, None);
    let svg = std::fs::read_to_string(out.join("VOL001.svg")).unwrap();
    assert!(svg.contains("DICOM ONLY") && !svg.contains("Job "), "{svg}");
}

#[test]
fn an_export_whose_name_no_font_covers_fails_whole() {
    let tmp = TempDir::new("label-nofont");
    let mut cfg = Config::default();
    cfg.label.system_fonts = false;
    cfg.label.font_paths = vec!["/usr/share/fonts/truetype/dejavu".into()];
    let src = tmp.join("src");
    std::fs::create_dir_all(&src).unwrap();
    instance(
        &src.join("a.dcm"),
        "\\ISO 2022 IR 87",
        YAMADA,
        "2.25.9",
        "20261130",
        "CT",
        1,
    );
    let scan = scan_folder(&cfg, &src).unwrap();
    let out = tmp.join("out");
    let opts = ExportOptions {
        out_dir: out.clone(),
        profile: None,
        capacity_mb: None,
        tree: false,
        leave_out_unreadable: false,
        job: None,
    };
    let err = export_folder(&cfg, scan, &opts, &Shutdown::new(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("no font covers"), "{err}");
    // Nothing left: no image without its label.
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn write_volume_labels_writes_nothing_when_off() {
    let tmp = TempDir::new("label-fn-off");
    let mut cfg = Config::default();
    cfg.label.enabled = false;
    let (_, volumes) = export(&tmp, &cfg, None);
    let fonts = Fonts::load(&LabelSection::default().font_source()).unwrap();
    let f = LabelData {
        created: "20261201".into(),
        ..LabelData::default()
    };
    let off = LabelSection {
        enabled: false,
        ..LabelSection::default()
    };
    let written = write_volume_labels(
        &off,
        &fonts,
        &f,
        &volumes,
        SystemTime::now(),
        Content::DicomOnly,
        None,
    )
    .unwrap();
    assert!(written.is_empty());
}

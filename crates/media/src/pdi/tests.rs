//! The volume's own files from a made-up disc: what each says, that nothing of the patient
//! reaches README.TXT, and that none outgrows what `budget.rs` promised the planner.

use super::budget::{bound, reserve};
use super::*;
use crate::profile::SECTOR;

fn disc(studies: usize, series: usize, per_series: usize) -> Disc {
    Disc {
        number: 2,
        count: 3,
        fileset_id: "DCMDISC_2OF3".into(),
        profile: "STD-GEN-CD",
        created: ("20261201".into(), "235959".into()),
        application: "dcmdisc 9.9.9".into(),
        options: PdiOptions {
            institution: "Example Hospital & Clinic".into(),
            contact: "Imaging desk, +1 555 0100".into(),
            web_content: true,
            left_out: vec!["1.2.3 (Explicit VR Big Endian): left out by the operator".into()],
            viewers: None,
        },
        patients: vec![PatientEntry {
            name: "山田 太郎 = やまだ <たろう>".into(),
            id: "PID-SECRET-42".into(),
            birth_date: "19700101".into(),
            sex: "M".into(),
            studies: (0..studies)
                .map(|s| StudyEntry {
                    date: "20260101".into(),
                    time: "120000".into(),
                    description: format!("Study \"{s}\" & more"),
                    accession: "ACC1".into(),
                    study_id: "1".into(),
                    series: (0..series)
                        .map(|r| SeriesEntry {
                            number: r.to_string(),
                            modality: "CT".into(),
                            description: "Série <axiale>".into(),
                            instances: per_series,
                            folder: format!("DICOM/P0000001/S{:07}/R{:07}", s + 1, r + 1),
                        })
                        .collect(),
                })
                .collect(),
        }],
    }
}

fn file<'a>(files: &'a [ExtraFile], name: &str) -> &'a str {
    let f = files.iter().find(|f| f.name == name).unwrap();
    std::str::from_utf8(&f.bytes).unwrap()
}

#[test]
fn readme_says_who_what_and_how_without_patient_data() {
    let files = front_files(&disc(2, 3, 4));
    let readme = file(&files, README);
    assert!(readme.is_ascii());
    assert!(readme.lines().all(|l| l.len() <= 79), "{readme}");
    assert!(readme.split("\r\n").all(|l| !l.contains('\n')));
    for want in [
        "Example Hospital & Clinic",
        "Imaging desk",
        "dcmdisc 9.9.9",
        "2 of 3",
        "2 studies, 6 series, 24 DICOM",
        "DICOM/",
        "MANIFEST.TXT",
        "left out by the operator",
    ] {
        assert!(readme.contains(want), "README lacks {want:?}:\n{readme}");
    }
    for secret in ["PID-SECRET-42", "19700101", "Study \"0\"", "たろう"] {
        assert!(!readme.contains(secret), "README holds {secret:?}");
    }
}

#[test]
fn index_lists_this_volume_escaped_and_links_exact_names() {
    let files = front_files(&disc(2, 3, 4));
    let index = file(&files, INDEX);
    assert!(index.contains("山田 太郎 = やまだ &lt;たろう&gt;"));
    assert!(index.contains("Study &quot;1&quot; &amp; more"));
    assert!(index.contains("Disc 2 of 3"));
    assert!(index.contains("3 series, 12 instances"));
    assert!(index.contains("<a href=\"README.TXT\">"));
    assert!(index.contains("<a href=\"MANIFEST.TXT\">"));
    assert!(index.contains("DICOM/P0000001/S0000002/R0000003"));
    assert!(!index.contains("style") && !index.contains("<script"));
    assert_eq!(index.matches("<tr><td>").count(), 1 + 2 * 3);
    let autorun = file(&files, AUTORUN);
    assert_eq!(
        autorun,
        "[autorun]\r\nshellexecute=INDEX.HTM\r\nlabel=DCMDISC_2OF3\r\n"
    );
}

#[test]
fn the_files_are_the_same_for_the_same_disc() {
    assert_eq!(front_files(&disc(2, 2, 2)), front_files(&disc(2, 2, 2)));
}

/// The files of a worst-case disc (every value longer than shown, in characters that escape
/// longest or take four bytes) stay within what the planner reserved for a volume of as
/// many studies, series and instances.
#[test]
fn no_file_outgrows_the_reserve() {
    let long = |c: &str| c.repeat(500);
    for fill in ["\"", "\u{10348}", "&", "a"] {
        let mut d = disc(3, 4, 5);
        d.options.institution = long(fill);
        d.options.contact = long(fill);
        d.options.left_out = vec![long(fill), long(fill)];
        d.fileset_id = long(fill);
        let p = &mut d.patients[0];
        (p.name, p.id, p.birth_date, p.sex) = (long(fill), long(fill), long(fill), long(fill));
        for s in &mut p.studies {
            (s.date, s.time, s.description) = (long(fill), long(fill), long(fill));
            (s.accession, s.study_id) = (long(fill), long(fill));
            for r in &mut s.series {
                (r.number, r.modality, r.description) = (long(fill), long(fill), long(fill));
                r.folder = "DICOM/P0000001/S0000001/R0000001".into();
            }
        }
        let r = reserve(&d.options, "STD-GEN-CD");
        let mut files = front_files(&d);
        let report = crate::validate::ValidationReport {
            records: 1 + 3 + 12 + 60,
            instance_records: 60,
            patient_records: 1,
            type1_keys: 400,
            record_types: [("IMAGE".to_string(), 60), ("SERIES".to_string(), 12)].into(),
            ..Default::default()
        };
        files.push(report_file(&d, &report));
        let mut hashes = std::collections::BTreeMap::new();
        for f in &files {
            hashes.insert(f.name.to_string(), "0".repeat(64));
        }
        hashes.insert("DICOMDIR".into(), "0".repeat(64));
        for i in 0..60 {
            hashes.insert(
                format!("{}{i:02}", &budget::INSTANCE_PATH[..39]),
                "0".repeat(64),
            );
        }
        files.push(manifest::render(&hashes));
        let used: u64 = files
            .iter()
            .map(|f| (f.bytes.len() as u64).div_ceil(SECTOR) * SECTOR + 48)
            .sum();
        let allowed = bound(&r, 3, 12, 60);
        assert!(used <= allowed, "{fill:?}: {used} > {allowed}");
    }
}

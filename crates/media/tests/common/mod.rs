//! Helpers of the media integration tests: a scratch folder removed on drop, small CT
//! instances, and an export of them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dcmdisc_media::export::{
    export_patient, ExportError, ExportOptions, NoConverter, PdiOptions, Profile, SourceFile,
    VolumeSummary,
};
pub use dcmdisc_testkit::Scratch;

pub const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// One Explicit VR LE element: the workspace's encoder, with the tag as group and element.
fn element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) {
    dcmdisc_dicom::encode::explicit_element(out, (group as u32) << 16 | elem as u32, *vr, value);
}

/// The SOP Instance UID of instance `n` of `study`.
pub fn instance_uid(study: &str, n: u32) -> String {
    format!("{study}.{n}")
}

/// A CT Image Storage instance in Explicit VR Little Endian; `meta_instance` overrides the
/// Media Storage SOP Instance UID of its File Meta (a file that contradicts itself).
pub fn ct_file(path: &Path, id: &str, study: &str, n: u32, meta_instance: Option<&str>) {
    ct_file_of(path, id, study, n, meta_instance, None, b"TEST^VALIDATION");
}

/// [`ct_file`] of a patient named `name` (raw bytes) in Specific Character Set `charset`.
pub fn ct_file_of(
    path: &Path,
    id: &str,
    study: &str,
    n: u32,
    meta_instance: Option<&str>,
    charset: Option<&str>,
    name: &[u8],
) {
    let instance = instance_uid(study, n);
    let mut meta = Vec::new();
    element(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    element(&mut meta, 0x0002, 0x0002, b"UI", CT_IMAGE.as_bytes());
    element(
        &mut meta,
        0x0002,
        0x0003,
        b"UI",
        meta_instance.unwrap_or(&instance).as_bytes(),
    );
    element(&mut meta, 0x0002, 0x0010, b"UI", EXPLICIT_VR_LE.as_bytes());
    element(&mut meta, 0x0002, 0x0012, b"UI", b"2.25.1");
    let mut ds = Vec::new();
    if let Some(cs) = charset {
        let mut v = cs.as_bytes().to_vec();
        if v.len() % 2 == 1 {
            v.push(b' ');
        }
        element(&mut ds, 0x0008, 0x0005, b"CS", &v);
    }
    element(&mut ds, 0x0008, 0x0008, b"CS", b"ORIGINAL\\PRIMARY\\AXIAL");
    element(&mut ds, 0x0008, 0x0016, b"UI", CT_IMAGE.as_bytes());
    element(&mut ds, 0x0008, 0x0018, b"UI", instance.as_bytes());
    element(&mut ds, 0x0008, 0x0020, b"DA", b"20260101");
    element(&mut ds, 0x0008, 0x0030, b"TM", b"120000");
    element(&mut ds, 0x0008, 0x0050, b"SH", b"ACC1");
    element(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    let mut pn = name.to_vec();
    if pn.len() % 2 == 1 {
        pn.push(b' ');
    }
    element(&mut ds, 0x0010, 0x0010, b"PN", &pn);
    element(&mut ds, 0x0010, 0x0020, b"LO", id.as_bytes());
    element(&mut ds, 0x0010, 0x0030, b"DA", b"19700101");
    element(&mut ds, 0x0010, 0x0040, b"CS", b"O");
    element(&mut ds, 0x0020, 0x000D, b"UI", study.as_bytes());
    element(
        &mut ds,
        0x0020,
        0x000E,
        b"UI",
        format!("{study}.0").as_bytes(),
    );
    element(&mut ds, 0x0020, 0x0010, b"SH", b"1");
    element(&mut ds, 0x0020, 0x0011, b"IS", b"1");
    element(&mut ds, 0x0020, 0x0013, b"IS", n.to_string().as_bytes());
    element(&mut ds, 0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0004, b"CS", b"MONOCHROME2");
    element(&mut ds, 0x0028, 0x0010, b"US", &4u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0011, b"US", &4u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0100, b"US", &16u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0101, b"US", &16u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0102, b"US", &15u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0103, b"US", &0u16.to_le_bytes());
    element(&mut ds, 0x7FE0, 0x0010, b"OW", &[n as u8; 32]);
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    element(
        &mut file,
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    file.extend_from_slice(&meta);
    file.extend_from_slice(&ds);
    std::fs::write(path, file).unwrap();
}

pub const STUDY: &str = "1.2.826.0.1.3680043.9.7777.1";
pub const PATIENT_ID: &str = "VAL001";

/// `n` instances of one study under `dir`, named `CT1`..: their paths.
pub fn ct_files(dir: &Path, n: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    (1..=n)
        .map(|i| {
            let p = dir.join(format!("CT{i}"));
            ct_file(&p, PATIENT_ID, STUDY, i, None);
            p
        })
        .collect()
}

pub fn options(out: &Path, tree: bool) -> ExportOptions {
    ExportOptions {
        out_dir: out.to_path_buf(),
        profile: Profile::GenCd,
        capacity: None,
        tree,
        fileset_id_pattern: "VALIDATE_{n}".to_string(),
        consistency_flag: 0,
        implementation_class_uid: "2.25.99".to_string(),
        implementation_version_name: "TEST".to_string(),
        now: SystemTime::now(),
        pdi: PdiOptions::default(),
        volume_id_pattern: "VALIDATE_{n}".to_string(),
        joliet: true,
        leave_out_unreadable: false,
        left_out: Vec::new(),
    }
}

/// Exports the files (one patient) and returns the volumes.
pub fn export(
    files: &[PathBuf],
    out: &Path,
    tree: bool,
) -> Result<Vec<VolumeSummary>, ExportError> {
    let sources = files
        .iter()
        .map(|p| SourceFile::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    export_patient(
        sources,
        &options(out, tree),
        &NoConverter,
        &mut |_, _, _| std::ops::ControlFlow::Continue(()),
    )
}

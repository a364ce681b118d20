//! The writer's bytes pinned: a fixed tree with Joliet on and off gives images whose SHA-256
//! was taken from the writer before the primary and Joliet structures shared one code path
//! (`descriptors.rs`). A change that moves a byte of either tree fails here; the external
//! readers (iso_external.rs, iso_joliet.rs) say whether a new layout is still right.

// Test code: a panic is a failed test with its location.
#![allow(clippy::expect_used)]

use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime};
use sha2::{Digest, Sha256};

fn image(joliet: bool) -> Vec<u8> {
    let mut iso = IsoBuilder::new(
        "261202J42_1OF2",
        IsoDateTime::new(2026, 12, 2, 3, 4, 5).expect("fixed date"),
    )
    .expect("volume id");
    iso.set_joliet(joliet);
    iso.set_application_id("DCMDISC GOLDEN").expect("id");
    iso.add_file("README.TXT", FileSource::bytes(b"readme\n".to_vec()))
        .expect("file");
    iso.add_file("DICOMDIR", FileSource::bytes(vec![7u8; 3000]))
        .expect("file");
    iso.add_dir("EMPTY").expect("dir");
    for p in 1..=3 {
        for i in 1..=40 {
            let path = format!("DICOM/P{p:07}/S0000001/R0000001/I{i:07}");
            iso.add_file(&path, FileSource::bytes(vec![(p * i) as u8; 100 * i]))
                .expect("file");
        }
    }
    let mut out = Vec::new();
    iso.write(&mut out).expect("write");
    out
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn primary_only_image_is_unchanged() {
    assert_eq!(sha256(&image(false)), PRIMARY);
}

#[test]
fn joliet_image_is_unchanged() {
    assert_eq!(sha256(&image(true)), JOLIET);
}

const PRIMARY: &str = "986e2f8b7152082c75088a7b1a9849233003d734c79963f1aa3ffa99d42a5e0f";
const JOLIET: &str = "8be4590e3127f0bf9653f36aa8cefa1af04fb757fdbc536c88302497d412be3e";

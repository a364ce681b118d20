//! Files and their SHA-256: the checks before imaging ([`validate_planned`]), each file's
//! hash during the one pass over an image ([`FileHashes`]), and a MANIFEST.TXT held against
//! the hashes of what is really on the volume ([`check_manifest`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use dcmdisc_iso9660::read::IsoFile;
use sha2::{Digest, Sha256};

use crate::pdi::{manifest, MANIFEST};

use super::{check, hex, meta_of, ExpectedVolume, Found, OpenError, ValidationReport, MAX_META};

/// Where the bytes of a file about to go onto a volume are now.
#[derive(Debug, Clone, Copy)]
pub enum Planned<'a> {
    Bytes(&'a [u8]),
    Path(&'a Path),
}

/// The file at `p`: its SHA-256 (hex) and its first bytes, as many as a File Meta needs (up
/// to 1 MiB); one sequential read.
fn read_hashed(p: &Path) -> std::io::Result<(String, Vec<u8>, u64)> {
    let mut f = fs::File::open(p)?;
    let size = f.metadata()?.len();
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head_done = false;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if !head_done {
            let take = n.min(MAX_META - head.len());
            head.extend_from_slice(&buf[..take]);
            head_done = head.len() >= MAX_META || meta_of(&head, size).is_some();
        }
    }
    Ok((hex(&hasher.finalize()), head, size))
}

/// SHA-256 (hex) of the file at `p`.
pub(super) fn hash_file(p: &Path) -> std::io::Result<String> {
    read_hashed(p).map(|(h, _, _)| h)
}

/// Checks the files about to become a volume (`DICOMDIR` among them, by its path on the
/// volume) as [`super::validate_volume`] checks a written one, before anything is written;
/// returns the report and each file's SHA-256 by path. A file that cannot be read is an
/// [`OpenError`]: there is nothing to check it against.
pub fn validate_planned(
    files: &[(String, Planned<'_>)],
    expected: &ExpectedVolume,
) -> Result<(ValidationReport, BTreeMap<String, String>), OpenError> {
    let mut report = ValidationReport::default();
    let mut found = Found::new();
    let mut hashes = BTreeMap::new();
    let mut dicomdir = None;
    for (path, source) in files {
        let (hash, meta) = match source {
            Planned::Bytes(b) => {
                if path == "DICOMDIR" {
                    dicomdir = Some(*b);
                }
                report.bytes += b.len() as u64;
                (hex(&Sha256::digest(b)), meta_of(b, b.len() as u64))
            }
            Planned::Path(p) => {
                let (hash, head, size) = read_hashed(p).map_err(|source| OpenError {
                    path: p.display().to_string(),
                    source,
                })?;
                report.bytes += size;
                (hash, meta_of(&head, size))
            }
        };
        let meta =
            meta.unwrap_or_else(|| Err("File Meta Information longer than 1 MiB".to_string()));
        found.insert(path.clone(), meta);
        hashes.insert(path.clone(), hash);
    }
    report.files = found.len();
    check(dicomdir, &found, expected, &mut report);
    Ok((report, hashes))
}

/// Each file's SHA-256 from the chunks of one sequential pass over an image.
pub(super) struct FileHashes {
    /// (offset, size, path), by offset.
    files: Vec<(u64, u64, String)>,
    hashers: Vec<Sha256>,
    pos: u64,
    /// Files before this one are complete.
    first_open: usize,
}

impl FileHashes {
    pub(super) fn new(files: &[IsoFile]) -> FileHashes {
        let mut files: Vec<(u64, u64, String)> = files
            .iter()
            .map(|f| (f.offset(), u64::from(f.size), f.path.clone()))
            .collect();
        files.sort();
        FileHashes {
            hashers: vec![Sha256::new(); files.len()],
            files,
            pos: 0,
            first_open: 0,
        }
    }

    /// The next `chunk` of the image, which continues where the last one ended.
    pub(super) fn feed(&mut self, chunk: &[u8]) {
        let (start, end) = (self.pos, self.pos + chunk.len() as u64);
        while self
            .files
            .get(self.first_open)
            .is_some_and(|(off, size, _)| off + size <= start)
        {
            self.first_open += 1;
        }
        for (i, (off, size, _)) in self.files.iter().enumerate().skip(self.first_open) {
            if *off >= end {
                break;
            }
            let from = (*off).max(start);
            let to = (off + size).min(end);
            if from < to {
                self.hashers[i].update(&chunk[(from - start) as usize..(to - start) as usize]);
            }
        }
        self.pos = end;
    }

    pub(super) fn finish(self) -> BTreeMap<String, String> {
        self.files
            .into_iter()
            .zip(self.hashers)
            .map(|((_, _, path), h)| (path, hex(&h.finalize())))
            .collect()
    }
}

/// Every file of the volume but the manifest is listed in it, with its hash, and it lists
/// nothing else.
pub(super) fn check_manifest(
    manifest: &[u8],
    hashes: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    let listed = match manifest::parse(manifest) {
        Ok(l) => l,
        Err(e) => {
            problems.push(format!("{MANIFEST}: {e}"));
            return;
        }
    };
    for (path, hash) in hashes.iter().filter(|(p, _)| p.as_str() != MANIFEST) {
        match listed.get(path) {
            None => problems.push(format!("{path} is on the volume but not in {MANIFEST}")),
            Some(h) if h != hash => problems.push(format!(
                "{path}: its SHA-256 is {hash}, {MANIFEST} says {h}"
            )),
            Some(_) => {}
        }
    }
    for path in listed.keys().filter(|p| !hashes.contains_key(*p)) {
        problems.push(format!(
            "{MANIFEST} lists {path}, which is not on the volume"
        ));
    }
}

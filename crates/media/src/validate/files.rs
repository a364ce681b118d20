//! Files and their SHA-256: the checks before imaging ([`validate_planned`]), each file's
//! hash during the one pass over an image ([`FileHashes`]), and a MANIFEST.TXT held against
//! the hashes of what is really on the volume ([`check_manifest`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use dcmdisc_dicom::InstanceId;

use dcmdisc_iso9660::read::IsoFile;
use sha2::{Digest, Sha256};

use crate::pdi::{manifest, MANIFEST};
use crate::read_ahead;

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
    for ((path, source), read) in files.iter().zip(read_all(files)) {
        if let (Planned::Bytes(b), "DICOMDIR") = (source, path.as_str()) {
            dicomdir = Some(*b);
        }
        let (hash, meta, size) = read?;
        report.bytes += size;
        let meta =
            meta.unwrap_or_else(|| Err("File Meta Information longer than 1 MiB".to_string()));
        found.insert(path.clone(), meta);
        hashes.insert(path.clone(), hash);
    }
    report.files = found.len();
    check(dicomdir, &found, expected, &mut report);
    Ok((report, hashes))
}

/// A file's hash, the identity in its File Meta (`None`: longer than 1 MiB) and its size.
type Read = Result<(String, Option<Result<InstanceId, String>>, u64), OpenError>;

fn read_one(source: &Planned<'_>) -> Read {
    match source {
        Planned::Bytes(b) => Ok((
            hex(&Sha256::digest(b)),
            meta_of(b, b.len() as u64),
            b.len() as u64,
        )),
        Planned::Path(p) => {
            let (hash, head, size) = read_hashed(p).map_err(|source| OpenError {
                path: p.display().to_string(),
                source,
            })?;
            Ok((hash, meta_of(&head, size), size))
        }
    }
}

/// [`read_one`] of every file, in order, on two threads: hashing (SHA-NI) runs at about the
/// speed the page cache delivers, so a second core halves this pass. The instances come from
/// the archive, which writes with `O_DIRECT`, so they may come from the disk: a third thread
/// asks for the next files ahead of the readers (`read_ahead.rs`).
fn read_all(files: &[(String, Planned<'_>)]) -> Vec<Read> {
    const THREADS: usize = 2;
    let pos = read_ahead::Position::default();
    let next = &pos.next;
    let paths: Vec<Option<&Path>> = files
        .iter()
        .map(|(_, source)| match source {
            Planned::Path(p) => Some(*p),
            Planned::Bytes(_) => None,
        })
        .collect();
    let mut out: Vec<(usize, Read)> = std::thread::scope(|s| {
        s.spawn(|| read_ahead::run(&paths, &pos));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((_, source)) = files.get(i) else {
                            return mine;
                        };
                        mine.push((i, read_one(source)));
                    }
                })
            })
            .collect();
        let out = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect();
        pos.finish();
        out
    });
    out.sort_by_key(|(i, _)| *i);
    // A worker that panicked left its files out: they are read again here.
    let mut have = out.into_iter().peekable();
    (0..files.len())
        .map(|i| match have.next_if(|(j, _)| *j == i) {
            Some((_, r)) => r,
            None => read_one(&files[i].1),
        })
        .collect()
}

/// One chunk of the image, shared by the threads that hash it.
pub(super) type Chunk = Arc<[u8]>;

/// A hash of the image's bytes on a thread of its own, fed its chunks through a bounded
/// channel. The read-back starts two (the whole image's SHA-256, each file's), so the
/// reading thread only reads: before, it hashed the whole image itself, and that hash plus
/// the reads and the copy for the other thread made it the slower of the two.
pub(super) struct HashThread<T> {
    tx: SyncSender<Chunk>,
    handle: JoinHandle<T>,
}

impl<T: Send + 'static> HashThread<T> {
    pub(super) fn start<S: Send + 'static>(
        mut state: S,
        feed: fn(&mut S, &[u8]),
        finish: fn(S) -> T,
    ) -> HashThread<T> {
        let (tx, rx) = sync_channel::<Chunk>(8);
        let handle = std::thread::spawn(move || {
            for chunk in rx {
                feed(&mut state, &chunk);
            }
            finish(state)
        });
        HashThread { tx, handle }
    }

    pub(super) fn feed(&self, chunk: &Chunk) {
        // A failed send means the thread is gone: `finish` says so.
        let _ = self.tx.send(Arc::clone(chunk));
    }

    /// What the thread made of every chunk fed; `None` when it panicked.
    pub(super) fn finish(self) -> Option<T> {
        drop(self.tx);
        self.handle.join().ok()
    }
}

/// The whole image's SHA-256 (hex) on its own thread.
pub(super) fn image_hash() -> HashThread<String> {
    HashThread::start(
        Sha256::new(),
        |h: &mut Sha256, chunk: &[u8]| h.update(chunk),
        |h: Sha256| hex(&h.finalize()),
    )
}

/// Each file's SHA-256 (hex, by path) on its own thread.
pub(super) fn file_hashes(files: &[IsoFile]) -> HashThread<BTreeMap<String, String>> {
    HashThread::start(FileHashes::new(files), FileHashes::feed, FileHashes::finish)
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

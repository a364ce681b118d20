//! The seal of a validated image: right after the read-back that computed an image's SHA-256
//! (`validate.rs`), its modification time is set to the current second with nanoseconds
//! taken from that hash. Any later write, truncation or `mmap` store makes the kernel set the
//! modification time to the time of the change, which breaks the seal; a copy is a new file
//! with a time of its own. So a file that still carries the seal of hash H is the inode whose
//! bytes were read back and hashed to H, unchanged since.
//!
//! Why: the folder burner places the image by a hard link (the same inode). Its verify used to
//! re-read and re-hash the placed file (526 MB: 0.3–0.4 s of one core), which for a link reads
//! the very page-cache pages the validation had just hashed — it could only find a write made
//! since, which the seal finds without reading. Where the seal is missing or broken (a copy,
//! a file system that keeps coarser times, a failed `utimensat`), verify reads the file back.

use std::fs::{self, File, Metadata};
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The nanoseconds of the seal of `sha256` (lower-case hex): its first 32 bits, modulo 10⁹.
fn nanos(sha256: &str) -> Option<u32> {
    let head = sha256.get(..8)?;
    u32::from_str_radix(head, 16)
        .ok()
        .map(|n| n % 1_000_000_000)
}

/// Seals the image at `path` with its SHA-256 `sha256` (hex): mtime = this second + the
/// hash's nanoseconds.
pub fn seal(path: &Path, sha256: &str) -> io::Result<()> {
    let n = nanos(sha256).ok_or_else(|| io::Error::other("not a SHA-256 in hex"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(io::Error::other)?;
    let at = UNIX_EPOCH + Duration::new(now.as_secs(), n);
    File::options().write(true).open(path)?.set_modified(at)
}

/// Whether `meta` (of a regular file) carries the seal of `sha256`.
pub fn is_sealed(meta: &Metadata, sha256: &str) -> bool {
    let (Some(n), Ok(m)) = (nanos(sha256), meta.modified()) else {
        return false;
    };
    meta.is_file()
        && m.duration_since(UNIX_EPOCH)
            .is_ok_and(|d| d.subsec_nanos() == n)
}

/// [`is_sealed`] of the file at `path`; `false` when it cannot be read.
pub fn path_is_sealed(path: &Path, sha256: &str) -> bool {
    fs::metadata(path).is_ok_and(|m| is_sealed(&m, sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_breaks_the_seal() {
        let dir = std::env::temp_dir().join(format!("dcmdisc-seal-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("VOL001.iso");
        fs::write(&p, b"image").expect("write");
        let h = "3b2f1a09".to_string() + &"0".repeat(56);
        let other = "3b2f1a0a".to_string() + &"0".repeat(56);
        assert!(!path_is_sealed(&p, &h), "a fresh file carries no seal");
        seal(&p, &h).expect("seal");
        assert!(path_is_sealed(&p, &h));
        assert!(!path_is_sealed(&p, &other), "the seal names one hash");
        // A write in place, even of the same length, sets the time of the change.
        fs::write(&p, b"imagf").expect("change");
        assert!(!path_is_sealed(&p, &h));
        // A hard link is the same inode: the seal goes with it.
        seal(&p, &h).expect("seal");
        let link = dir.join("link.iso");
        fs::hard_link(&p, &link).expect("link");
        assert!(path_is_sealed(&link, &h));
        assert!(!path_is_sealed(&dir.join("absent"), &h));
        assert!(!path_is_sealed(&p, "not hex"));
        let _ = fs::remove_dir_all(&dir);
    }
}

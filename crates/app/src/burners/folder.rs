//! The folder burner: each verified image placed into a directory (hand-out, share, USB),
//! under a temporary name first and renamed when complete, so the folder never shows a
//! partial image under a final name. On the same file system the image is hard-linked (its
//! bytes are not copied: the validated image is immutable, every export writes new files),
//! elsewhere copied; either way the placed file is fsynced, and verify re-reads it.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::{verify_file, BurnError, Burner, DiscId, Written};
use crate::config::jobs::BurnerKind;
use crate::shutdown::Shutdown;

pub struct FolderBurner {
    name: String,
    dir: PathBuf,
}

impl FolderBurner {
    pub fn new(name: &str, dir: PathBuf) -> FolderBurner {
        FolderBurner {
            name: name.to_string(),
            dir,
        }
    }

    fn copy(&self, image: &Path, target: &Path, tmp: &Path) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        // A leftover of an interrupted burn would make the link fail.
        let _ = fs::remove_file(tmp);
        // The link fails across file systems (EXDEV) or where links are not allowed: copy.
        // The fsync makes the bytes durable under the new name in both cases (for a link it
        // is the image's own, which the export did not necessarily sync).
        if fs::hard_link(image, tmp).is_ok() {
            File::open(tmp)?.sync_all()?;
        } else {
            let mut from = File::open(image)?;
            let mut to = File::create(tmp)?;
            io::copy(&mut from, &mut to)?;
            to.sync_all()?;
        }
        fs::rename(tmp, target)?;
        // When the target already was a link to the same image (the same disc burned again),
        // rename does nothing and leaves the temporary name.
        let _ = fs::remove_file(tmp);
        // The rename itself made durable.
        File::open(&self.dir)?.sync_all()
    }
}

impl Burner for FolderBurner {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BurnerKind {
        BurnerKind::Folder
    }

    fn burn(
        &mut self,
        image: &Path,
        disc: &DiscId,
        _stop: &Shutdown,
        _progress: &mut dyn FnMut(f64),
    ) -> Result<Written, BurnError> {
        let name = disc.file_name();
        let target = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.partial"));
        match self.copy(image, &target, &tmp) {
            Ok(()) => Ok(Written { image: target }),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(BurnError::Failed(format!(
                    "cannot write {}: {e}",
                    target.display()
                )))
            }
        }
    }

    fn interrupted(&mut self, disc: &DiscId, _position: usize) {
        // A copy cut short: never under the final name, and not left behind either.
        let _ = fs::remove_file(self.dir.join(format!(".{}.partial", disc.file_name())));
    }

    fn verify(&mut self, written: &Written, sha256: &str) -> Result<(), BurnError> {
        verify_file(&written.image, sha256)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn burn(b: &mut FolderBurner, image: &Path, copy: u32) -> Written {
        let disc = DiscId {
            job: 7,
            volume: 1,
            copy,
        };
        b.burn(image, &disc, &Shutdown::new(), &mut |_| {})
            .expect("burn")
    }

    #[test]
    fn same_file_system_links_and_verifies() {
        let dir = crate::testutil::TempDir::new("folder-link");
        let image = dir.path().join("VOL001.iso");
        fs::write(&image, vec![7u8; 10_000]).expect("image");
        let mut b = FolderBurner::new("folder", dir.path().join("discs"));
        let w = burn(&mut b, &image, 1);
        let (a, t) = (
            fs::metadata(&image).expect("meta"),
            fs::metadata(&w.image).expect("meta"),
        );
        assert_eq!((a.dev(), a.ino()), (t.dev(), t.ino()), "a link, not a copy");
        let sha = crate::burners::sha256_file(&image).expect("hash");
        b.verify(&w, &sha).expect("verify");
        // The same disc again: the target is replaced, no temporary name is left.
        let again = burn(&mut b, &image, 1);
        assert_eq!(again.image, w.image);
        let names: Vec<_> = fs::read_dir(dir.path().join("discs"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(disc_name(1))]);
        // Verify still reads what is there: a changed byte is a reject.
        fs::write(&image, vec![8u8; 10_000]).expect("change");
        assert!(b.verify(&w, &sha).is_err());
    }

    #[test]
    fn other_file_system_copies() {
        // /dev/shm is a tmpfs beside the scratch folder's disk file system where it exists.
        let shm = Path::new("/dev/shm");
        let dir = crate::testutil::TempDir::new("folder-copy");
        let Ok(other) = fs::metadata(shm) else {
            return;
        };
        if other.dev() == fs::metadata(dir.path()).expect("meta").dev() {
            return;
        }
        let image = shm.join(format!("dcmdisc-folder-copy-{}.iso", std::process::id()));
        fs::write(&image, vec![7u8; 10_000]).expect("image");
        let mut b = FolderBurner::new("folder", dir.path().join("discs"));
        let w = burn(&mut b, &image, 2);
        let moved = fs::read(&w.image).expect("read");
        let ino = fs::metadata(&image).expect("meta").ino();
        let _ = fs::remove_file(&image);
        assert_eq!(moved, vec![7u8; 10_000]);
        assert_ne!(fs::metadata(&w.image).expect("meta").ino(), ino);
    }

    fn disc_name(copy: u32) -> String {
        DiscId {
            job: 7,
            volume: 1,
            copy,
        }
        .file_name()
    }
}

//! The folder burner: each verified image copied into a directory (hand-out, share, USB),
//! under a temporary name first and renamed when complete, so the folder never shows a
//! partial image under a final name.

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
        {
            let mut from = File::open(image)?;
            let mut to = File::create(tmp)?;
            io::copy(&mut from, &mut to)?;
            to.sync_all()?;
        }
        fs::rename(tmp, target)?;
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

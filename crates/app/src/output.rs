//! The output folder of an export: built aside, moved into place only when complete.
//!
//! Volumes of one export must never sit beside another's: exporting patient A on three
//! volumes and then patient B into the same folder used to leave A's VOL002.iso and VOL003.iso
//! beside B's VOL001.iso, and an operator burning that folder would hand B a disc of A. So the
//! export writes into a fresh staging folder beside the target (same file system, so the final
//! move is one `rename`), and the target must be absent or empty: an export never adds to or
//! overwrites what is there. A failed or cancelled export leaves the target as it was and
//! removes its staging folder; a crashed one leaves a staging folder that the next export to
//! the same target removes once its process is gone.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::AppError;

/// Marks our staging folders: `.<target name>.dcmdisc-partial-<pid>`.
const MARK: &str = ".dcmdisc-partial-";

/// A staging folder for `target`, removed on drop unless [`Output::commit`] moved it.
#[derive(Debug)]
pub(crate) struct Output {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |source| AppError::Output {
        path: path.to_path_buf(),
        source,
    }
}

impl Output {
    /// Checks that `target` is absent or an empty folder and makes the staging folder.
    pub(crate) fn prepare(target: &Path) -> Result<Output, AppError> {
        if let Ok(mut entries) = fs::read_dir(target) {
            if let Some(first) = entries.next().and_then(Result::ok) {
                return Err(AppError::OutputNotEmpty {
                    path: target.to_path_buf(),
                    example: first.file_name().to_string_lossy().into_owned(),
                });
            }
        } else if target.exists() {
            return Err(AppError::NotAFolder(target.to_path_buf()));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| AppError::NotAFolder(target.to_path_buf()))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io(&parent))?;
        remove_stale(&parent, &name);
        let staging = parent.join(format!(".{name}{MARK}{}", std::process::id()));
        if staging.exists() {
            // Ours, from an earlier export of this very process that could not clean up.
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        fs::create_dir(&staging).map_err(io(&staging))?;
        Ok(Output {
            target: target.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Where the export writes.
    pub(crate) fn staging(&self) -> &Path {
        &self.staging
    }

    /// `path` (under the staging folder) as it will be once committed.
    pub(crate) fn final_path(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.staging) {
            Ok(rel) => self.target.join(rel),
            Err(_) => path.to_path_buf(),
        }
    }

    /// Moves the complete export into place: `target` is replaced if it is (still) an empty
    /// folder; if something appeared in it meanwhile, nothing is overwritten.
    pub(crate) fn commit(mut self) -> Result<(), AppError> {
        if self.target.is_dir() {
            fs::remove_dir(&self.target).map_err(|source| {
                if source.kind() == std::io::ErrorKind::DirectoryNotEmpty {
                    AppError::OutputNotEmpty {
                        path: self.target.clone(),
                        example: String::from("(written while the export ran)"),
                    }
                } else {
                    AppError::Output {
                        path: self.target.clone(),
                        source,
                    }
                }
            })?;
        }
        fs::rename(&self.staging, &self.target).map_err(io(&self.target))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Staging folders of `name` left by exports whose process is gone (a crash, a kill -9).
fn remove_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}{MARK}");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn commit_moves_into_an_absent_or_empty_target_and_drop_cleans_up() {
        let tmp = TempDir::new("output");
        let target = tmp.path().join("out");
        let out = Output::prepare(&target).unwrap();
        fs::write(out.staging().join("VOL001.iso"), b"x").unwrap();
        assert_eq!(
            out.final_path(&out.staging().join("VOL001.iso")),
            target.join("VOL001.iso")
        );
        out.commit().unwrap();
        assert_eq!(fs::read(target.join("VOL001.iso")).unwrap(), b"x");

        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let out = Output::prepare(&empty).unwrap();
        let staging = out.staging().to_path_buf();
        drop(out);
        assert!(
            !staging.exists(),
            "an uncommitted staging folder stays behind"
        );
        assert!(empty.is_dir() && fs::read_dir(&empty).unwrap().next().is_none());
    }

    #[test]
    fn a_target_with_anything_in_it_is_refused() {
        let tmp = TempDir::new("output-full");
        let target = tmp.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("VOL002.iso"), b"patient A").unwrap();
        let e = Output::prepare(&target).unwrap_err();
        assert!(matches!(e, AppError::OutputNotEmpty { .. }), "{e:?}");
        assert!(e.to_string().contains("VOL002.iso"), "{e}");
        assert_eq!(fs::read(target.join("VOL002.iso")).unwrap(), b"patient A");
    }

    #[test]
    fn stale_staging_of_a_dead_process_is_removed() {
        let tmp = TempDir::new("output-stale");
        // No process has this pid (above the kernel's pid_max).
        let stale = tmp.path().join(format!(".out{MARK}4999999"));
        fs::create_dir(&stale).unwrap();
        let out = Output::prepare(&tmp.path().join("out")).unwrap();
        assert!(!stale.exists());
        drop(out);
    }
}

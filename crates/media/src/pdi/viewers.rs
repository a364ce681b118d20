//! A third-party viewer folder (`[media] viewer_folder`, issue 12 item 6), copied opaque to
//! `VIEWERS/` on every volume: its bytes are never looked at, only its names.
//!
//! The image is strict ISO 9660 Level 1 (with a Joliet tree of the same names), so every
//! name of the folder must be an 8.3 name of A–Z, 0–9 and `_` once upper-cased, at most
//! eight levels deep counting the root and `VIEWERS`. The only mapping is that upper-casing:
//! `Viewer.exe` becomes `VIEWER.EXE` and `lib/Qt5Core.dll` `LIB/QT5CORE.DLL`, which a
//! Windows program finds (Windows looks names up without regard to case). Anything else —
//! a long name, a second dot, a space, two names that differ only in case, a symbolic link,
//! a device — is refused when the folder is read, with the file named, rather than renamed:
//! a viewer that loads `QtCore5.dll` would not find a `QTCORE~1.DLL`.
//!
//! The folder is read (`scan`) when the configuration is loaded, so a missing or unreadable
//! folder stops the start, and again at each export, so the sizes counted are the sizes
//! written.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime, MAX_PATH_COMPONENTS};

use super::manifest;
use crate::profile::SECTOR as SECTOR_SIZE;

/// The folder on every volume that holds the viewer.
pub const FOLDER: &str = "VIEWERS";

/// One file of the viewer folder: its path on the volume and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerFile {
    /// `VIEWERS/...`, upper case, `/`-separated.
    pub name: String,
    pub source: PathBuf,
    pub size: u64,
}

/// The viewer folder as read: its files in name order, and its folders (for the size).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewerFolder {
    pub root: PathBuf,
    pub files: Vec<ViewerFile>,
    /// Every folder on the volume it makes, `VIEWERS` first.
    pub dirs: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error("viewer folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("viewer folder {root}: {path} is not a folder")]
    NotAFolder { root: PathBuf, path: PathBuf },
    #[error(
        "viewer folder {root}: {path}: {why}; the disc is strict ISO 9660 Level 1: each name \
         must be an 8.3 name of A-Z, 0-9 and _ once upper-cased (docs/disc-content.md)"
    )]
    BadName {
        root: PathBuf,
        path: PathBuf,
        why: String,
    },
    #[error("viewer folder {0}: holds no file")]
    Empty(PathBuf),
    #[error("viewer folder {root}: {path} is a symbolic link or special file; only plain files and folders are copied")]
    NotPlain { root: PathBuf, path: PathBuf },
}

/// Reads the folder at `root`: every file's name on the volume and size. Fails, naming the
/// file, on anything that cannot be copied as it is.
pub fn scan(root: &Path) -> Result<ViewerFolder, ViewerError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ViewerError::Io { path, source }
    };
    let meta = fs::metadata(root).map_err(io(root))?;
    if !meta.is_dir() {
        return Err(ViewerError::NotAFolder {
            root: root.to_path_buf(),
            path: root.to_path_buf(),
        });
    }
    // The real writer's name rules decide (8.3, d-characters, depth), not a copy of them.
    let mut probe = IsoDateTime::from_unix_seconds(0)
        .and_then(|ts| IsoBuilder::new("PROBE", ts))
        .map_err(|e| bad(root, root, e.to_string()))?;
    let mut out = ViewerFolder {
        root: root.to_path_buf(),
        files: Vec::new(),
        dirs: vec![FOLDER.to_string()],
    };
    let mut stack = vec![(root.to_path_buf(), FOLDER.to_string())];
    while let Some((dir, on_volume)) = stack.pop() {
        let mut entries = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io(&dir))?;
        entries.sort_by_key(|e| e.file_name());
        let mut seen = BTreeSet::new();
        for e in entries {
            let path = e.path();
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                return Err(bad(root, &path, "the name is not UTF-8".into()));
            };
            let upper = name.to_ascii_uppercase();
            if !seen.insert(upper.clone()) {
                return Err(bad(
                    root,
                    &path,
                    format!("another name in its folder is {upper} once upper-cased"),
                ));
            }
            let vol = format!("{on_volume}/{upper}");
            // symlink_metadata: a link is refused, never followed out of the folder.
            let kind = fs::symlink_metadata(&path).map_err(io(&path))?.file_type();
            if kind.is_dir() {
                if vol.split('/').count() >= MAX_PATH_COMPONENTS {
                    return Err(bad(
                        root,
                        &path,
                        format!("{vol} is deeper than ISO 9660 allows"),
                    ));
                }
                if upper.contains('.') {
                    return Err(bad(root, &path, "a folder name has no extension".into()));
                }
                out.dirs.push(vol.clone());
                stack.push((path, vol));
            } else if kind.is_file() {
                let size = fs::metadata(&path).map_err(io(&path))?.len();
                probe
                    .add_file(&vol, FileSource::bytes(Vec::new()))
                    .map_err(|e| bad(root, &path, e.to_string()))?;
                out.files.push(ViewerFile {
                    name: vol,
                    source: path,
                    size,
                });
            } else {
                return Err(ViewerError::NotPlain {
                    root: root.to_path_buf(),
                    path,
                });
            }
        }
    }
    if out.files.is_empty() {
        return Err(ViewerError::Empty(root.to_path_buf()));
    }
    out.files.sort_by(|a, b| a.name.cmp(&b.name));
    out.dirs.sort();
    Ok(out)
}

fn bad(root: &Path, path: &Path, why: String) -> ViewerError {
    ViewerError::BadName {
        root: root.to_path_buf(),
        path: path.to_path_buf(),
        why,
    }
}

/// A directory record of an 8.3 name in the primary tree or a Joliet one (UCS-2, twice the
/// bytes), and an entry in each of the four path tables.
const RECORDS_PER_NAME: u64 = 48 + 64;
const PATH_TABLE_ENTRIES: u64 = 4 * 24;

impl ViewerFolder {
    /// What the folder takes on a volume, at most: each file in whole sectors with its
    /// directory records, each folder a sector in each tree with its records and path table
    /// entries, and a MANIFEST.TXT line per file. Counted before any instance is placed.
    pub fn bytes_on_volume(&self) -> u64 {
        let files: u64 = self
            .files
            .iter()
            .map(|f| {
                f.size.div_ceil(SECTOR_SIZE) * SECTOR_SIZE
                    + RECORDS_PER_NAME
                    + manifest::line_len(&f.name)
            })
            .sum();
        // A folder's directory extent may grow past one sector; each file's records above
        // are counted once more as slack for that rounding.
        let dirs =
            self.dirs.len() as u64 * (2 * SECTOR_SIZE + RECORDS_PER_NAME + PATH_TABLE_ENTRIES);
        files + dirs + self.files.len() as u64 * RECORDS_PER_NAME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &[u8])]) -> dcmdisc_testkit::Scratch {
        let d = dcmdisc_testkit::Scratch::new("viewers");
        for (name, bytes) in files {
            let p = d.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, bytes).unwrap();
        }
        d
    }

    #[test]
    fn names_are_upper_cased_and_nothing_else() {
        let d = tree(&[
            ("Viewer.exe", b"MZ"),
            ("lib/Qt5Core.dll", b"MZ"),
            ("README.TXT", b"x"),
        ]);
        let v = scan(d.path()).unwrap();
        let names: Vec<&str> = v.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "VIEWERS/LIB/QT5CORE.DLL",
                "VIEWERS/README.TXT",
                "VIEWERS/VIEWER.EXE"
            ]
        );
        assert_eq!(v.dirs, ["VIEWERS", "VIEWERS/LIB"]);
        assert!(v.bytes_on_volume() >= 3 * SECTOR_SIZE + 2 * 2 * SECTOR_SIZE);
    }

    #[test]
    fn names_that_do_not_fit_level_1_are_refused_with_the_file_named() {
        for (bad_name, why) in [
            ("Qt5Widgets.dll", "must have 1 to 8 characters"),
            ("my vw.exe", "only A-Z, 0-9 and _"),
            ("a.b.c", "only A-Z"),
            ("1/2/3/4/5/6/7/X.DLL", "deeper"),
        ] {
            let d = tree(&[(bad_name, b"x")]);
            let e = scan(d.path()).unwrap_err().to_string();
            let last = Path::new(bad_name).components().next().unwrap();
            assert!(e.contains(&*last.as_os_str().to_string_lossy()), "{e}");
            assert!(e.contains(why), "{bad_name}: {e}");
        }
        let d = tree(&[("a.dll", b"x"), ("A.DLL", b"y")]);
        let e = scan(d.path()).unwrap_err().to_string();
        assert!(e.contains("once upper-cased"), "{e}");
    }

    #[test]
    fn a_missing_folder_or_a_link_is_refused() {
        let e = scan(Path::new("/nonexistent/viewer"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/viewer"), "{e}");
        let d = tree(&[("A.EXE", b"x")]);
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("PASSWD")).unwrap();
        assert!(matches!(scan(d.path()), Err(ViewerError::NotPlain { .. })));
        let f = d.path().join("A.EXE");
        assert!(matches!(scan(&f), Err(ViewerError::NotAFolder { .. })));
        let empty = tree(&[]);
        fs::create_dir(empty.join("LIB")).unwrap();
        assert!(matches!(scan(empty.path()), Err(ViewerError::Empty(_))));
    }
}

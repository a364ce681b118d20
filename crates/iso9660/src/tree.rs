//! The names and sizes of an image as a tree of directories, before any byte is placed.

use std::collections::BTreeMap;

use crate::layout::IsoLayout;
use crate::names::{dir_key, file_key, split_path, Key, MAX_PATH_COMPONENTS};
use crate::{IsoError, Result};

/// What a directory entry names: an index into `IsoTree::dirs` or `IsoTree::files`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entry {
    Dir(usize),
    File(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct DirNode {
    /// Empty for the root.
    pub(crate) name: String,
    /// Index of the parent directory; the root is its own parent, as its `..` record says.
    pub(crate) parent: usize,
    /// Sorted as the directory records must be (ECMA-119 9.3).
    pub(crate) entries: BTreeMap<Key, Entry>,
}

#[derive(Clone, Debug)]
pub(crate) struct FileNode {
    /// The last path component, split at its dot.
    pub(crate) key: Key,
    pub(crate) size: u64,
}

impl FileNode {
    /// `NAME.EXT;1`, or `NAME.;1`: ECMA-119 7.5.1 keeps the separator even without extension.
    pub(crate) fn identifier(&self) -> String {
        format!("{}.{};1", self.key.name, self.key.ext)
    }
}

/// The names and sizes of an image, without the data: enough to compute its layout and size.
///
/// Paths are `/`-separated, relative to the root, each component 1–8 of `A-Z 0-9 _`; a file's
/// last component may carry one extension of 1–3 such characters (`INDEX.HTM`). Parent
/// directories are created as needed.
#[derive(Clone, Debug)]
pub struct IsoTree {
    /// Index 0 is the root.
    pub(crate) dirs: Vec<DirNode>,
    /// In order of addition, which is the order of their data in the image.
    pub(crate) files: Vec<FileNode>,
    /// Also record a Joliet tree of the same names (`joliet.rs`).
    pub(crate) joliet: bool,
}

impl Default for IsoTree {
    fn default() -> Self {
        Self::new()
    }
}

impl IsoTree {
    /// An empty tree: just the root directory.
    pub fn new() -> Self {
        Self {
            dirs: vec![DirNode {
                name: String::new(),
                parent: 0,
                entries: BTreeMap::new(),
            }],
            files: Vec::new(),
            joliet: false,
        }
    }

    /// Records a Joliet supplementary volume descriptor and tree beside the Level 1 one, with
    /// the same (upper-case) names: see `docs/iso9660.md`. Off by default; the primary tree
    /// is the same either way, but for its extents, which move by the descriptor's sector.
    pub fn set_joliet(&mut self, on: bool) -> &mut Self {
        self.joliet = on;
        self
    }

    /// Whether a Joliet tree is recorded.
    pub fn joliet(&self) -> bool {
        self.joliet
    }

    /// Number of files added.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Number of directories, the root included.
    pub fn dir_count(&self) -> usize {
        self.dirs.len()
    }

    /// Walks `dirs` from the root; returns the deepest existing directory and how many
    /// components exist, or a conflict if one of them is a file.
    fn find_dirs(&self, path: &str, keys: &[Key]) -> Result<(usize, usize)> {
        let mut dir = 0;
        for (i, key) in keys.iter().enumerate() {
            match self.dirs[dir].entries.get(key) {
                Some(Entry::Dir(d)) => dir = *d,
                Some(Entry::File(_)) => {
                    return Err(IsoError::Conflict {
                        path: path.to_string(),
                        reason: format!(
                            "{:?} is already a file",
                            keys[..=i]
                                .iter()
                                .map(|k| k.name.as_str())
                                .collect::<Vec<_>>()
                                .join("/")
                        ),
                    })
                }
                None => return Ok((dir, i)),
            }
        }
        Ok((dir, keys.len()))
    }

    fn create_dirs(&mut self, mut dir: usize, keys: &[Key]) -> usize {
        for key in keys {
            let idx = self.dirs.len();
            self.dirs.push(DirNode {
                name: key.name.clone(),
                parent: dir,
                entries: BTreeMap::new(),
            });
            self.dirs[dir].entries.insert(key.clone(), Entry::Dir(idx));
            dir = idx;
        }
        dir
    }

    /// Adds a file of `size` bytes; returns its index (files are laid out in index order).
    pub fn add_file(&mut self, path: &str, size: u64) -> Result<usize> {
        let comps = split_path(path)?;
        if comps.len() > MAX_PATH_COMPONENTS {
            return Err(IsoError::TooDeep {
                path: path.to_string(),
                components: comps.len(),
                limit: MAX_PATH_COMPONENTS,
            });
        }
        if size > u64::from(u32::MAX) {
            return Err(IsoError::FileTooLarge {
                path: path.to_string(),
                size,
            });
        }
        let (last, parents) = comps
            .split_last()
            .ok_or_else(|| IsoError::Internal("split_path gave no component".to_string()))?;
        let parent_keys = parents
            .iter()
            .map(|c| dir_key(path, c))
            .collect::<Result<Vec<_>>>()?;
        let key = file_key(path, last)?;

        // Check everything before changing anything, so a failed call leaves the tree as it was.
        let (existing, found) = self.find_dirs(path, &parent_keys)?;
        if found == parent_keys.len() {
            if let Some(entry) = self.dirs[existing].entries.get(&key) {
                let reason = match entry {
                    Entry::Dir(_) => "a directory of that name exists",
                    Entry::File(_) => "the file was already added",
                };
                return Err(IsoError::Conflict {
                    path: path.to_string(),
                    reason: reason.to_string(),
                });
            }
        }
        let dir = self.create_dirs(existing, &parent_keys[found..]);
        let idx = self.files.len();
        self.files.push(FileNode {
            key: key.clone(),
            size,
        });
        self.dirs[dir].entries.insert(key, Entry::File(idx));
        Ok(idx)
    }

    /// Adds a directory (and its parents); adding an existing directory is not an error.
    pub fn add_dir(&mut self, path: &str) -> Result<()> {
        let comps = split_path(path)?;
        // A directory with N components sits at level N + 1.
        if comps.len() >= MAX_PATH_COMPONENTS {
            return Err(IsoError::TooDeep {
                path: path.to_string(),
                components: comps.len(),
                limit: MAX_PATH_COMPONENTS - 1,
            });
        }
        let keys = comps
            .iter()
            .map(|c| dir_key(path, c))
            .collect::<Result<Vec<_>>>()?;
        let (existing, found) = self.find_dirs(path, &keys)?;
        self.create_dirs(existing, &keys[found..]);
        Ok(())
    }

    /// Computes where everything goes.
    pub fn layout(&self) -> Result<IsoLayout> {
        IsoLayout::compute(self)
    }

    /// Size in bytes of the image this tree gives: what a volume planner checks against the
    /// capacity of a disc.
    pub fn image_size(&self) -> Result<u64> {
        Ok(self.layout()?.image_size())
    }
}

/// Size in bytes of an image holding `files` (path, size), e.g. to try a volume plan.
pub fn image_size<'a>(files: impl IntoIterator<Item = (&'a str, u64)>) -> Result<u64> {
    let mut tree = IsoTree::new();
    for (path, size) in files {
        tree.add_file(path, size)?;
    }
    tree.image_size()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_validation() {
        let mut t = IsoTree::new();
        for good in [
            "DICOMDIR",
            "README.TXT",
            "INDEX.HTM",
            "A.B",
            "_",
            "DICOM/P0001/S0001/I0001",
            "X12345_7/Y",
        ] {
            t.add_file(good, 1)
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "/ROOT",
            "DIR/",
            "A//B",
            "lower",
            "NINECHARS",
            "SP ACE",
            "A.TOOLONG",
            "A.B.C",
            "NAME.",
            ".EXT",
            "DIR.X/FILE",
            "A;1",
            "É",
            "A-B",
        ] {
            let err = t.add_file(bad, 1).unwrap_err();
            assert!(matches!(err, IsoError::BadName { .. }), "{bad}: {err}");
        }
        assert!(matches!(
            t.add_dir("lower").unwrap_err(),
            IsoError::BadName { .. }
        ));
        assert!(matches!(
            t.add_dir("DIR.EXT").unwrap_err(),
            IsoError::BadName { .. }
        ));
        let msg = t.add_file("dicom/X", 1).unwrap_err().to_string();
        assert!(msg.contains("lowercase"), "{msg}");
    }

    #[test]
    fn depth_limit() {
        let mut t = IsoTree::new();
        t.add_file("A/B/C/D/E/F/G/H", 1).unwrap();
        let err = t.add_file("A/B/C/D/E/F/G/H/I", 1).unwrap_err();
        assert!(
            matches!(err, IsoError::TooDeep { components: 9, .. }),
            "{err}"
        );
        t.add_dir("A/B/C/D/E/F/X").unwrap();
        let err = t.add_dir("A/B/C/D/E/F/G/X").unwrap_err();
        assert!(matches!(err, IsoError::TooDeep { .. }), "{err}");
    }

    #[test]
    fn conflicts_leave_tree_unchanged() {
        let mut t = IsoTree::new();
        t.add_file("DICOM/P1/F", 1).unwrap();
        let (dirs, files) = (t.dir_count(), t.file_count());
        for (path, is_dir) in [
            ("DICOM/P1/F", false),   // same file twice
            ("DICOM/P1", false),     // file over a directory
            ("DICOM/P1/F/X", false), // file below a file
            ("DICOM/P1/F/NEW/DEEP", false),
            ("DICOM/P1/F", true), // directory over a file
            ("DICOM/P1/F/SUB", true),
        ] {
            let err = if is_dir {
                t.add_dir(path).unwrap_err()
            } else {
                t.add_file(path, 1).unwrap_err()
            };
            assert!(matches!(err, IsoError::Conflict { .. }), "{path}: {err}");
            assert_eq!((t.dir_count(), t.file_count()), (dirs, files), "{path}");
        }
        // Directories are idempotent; a file with an extension is a different name.
        t.add_dir("DICOM/P1").unwrap();
        t.add_file("DICOM/P1/F.TXT", 1).unwrap();
        t.add_file("DICOM/P1.HTM", 1).unwrap();
        assert_eq!(t.dir_count(), dirs);
    }

    #[test]
    fn file_size_limit() {
        let mut t = IsoTree::new();
        t.add_file("MAX", u64::from(u32::MAX)).unwrap();
        let err = t.add_file("OVER", u64::from(u32::MAX) + 1).unwrap_err();
        assert!(matches!(err, IsoError::FileTooLarge { .. }), "{err}");
    }
}

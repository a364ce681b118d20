//! An ISO 9660 reader, independent of the writer beside it: it shares nothing with it but
//! the sector size, so that reading back an image we wrote checks the writer instead of
//! mirroring its mistakes.
//!
//! [`IsoImage::open`] reads the volume descriptors (the primary one and a Joliet
//! supplementary one; any other supplementary, boot or partition descriptor is passed over),
//! then walks the directory hierarchy from the root directory record, and the Joliet
//! hierarchy from its own, checking as it goes (see [`ReadError`] for everything it refuses);
//! [`IsoImage::joliet_differences`] holds the two trees against each other. It lists every file with its Level 1 path (`;1` stripped), extent
//! and size; [`IsoImage::read_file`] reads one, [`IsoImage::read_through`] reads the whole
//! image once, front to back, for a hash, handing over the first bytes of every file on the
//! way.

mod error;
mod hierarchy;
mod record;
mod volume;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

pub use error::{At, ReadError};
pub use hierarchy::{MAX_DIRECTORY_BYTES, MAX_ENTRIES, MAX_LEVELS};
pub use volume::{JolietInfo, VolumeInfo};

use crate::SECTOR_SIZE;

/// One file of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoFile {
    /// `/`-separated from the root, without version: `DICOM/P0000001/S0000001/I0000001`.
    pub path: String,
    /// First sector of its data.
    pub extent: u32,
    /// Bytes.
    pub size: u32,
}

impl IsoFile {
    /// Byte offset of the file's data in the image.
    pub fn offset(&self) -> u64 {
        u64::from(self.extent) * SECTOR_SIZE as u64
    }
}

/// One directory of the image (the root's path is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoDir {
    pub path: String,
    pub extent: u32,
    pub size: u32,
}

/// The image and its length, with bounds-checked reads.
pub(crate) struct Image<R> {
    r: R,
    len: u64,
}

impl<R: Read + Seek> Image<R> {
    pub(crate) fn read_at(
        &mut self,
        offset: u64,
        buf: &mut [u8],
        what: &str,
    ) -> Result<(), ReadError> {
        let needed = offset.saturating_add(buf.len() as u64);
        if needed > self.len {
            return Err(ReadError::Truncated {
                what: what.to_string(),
                needed,
                len: self.len,
            });
        }
        let io = |source| ReadError::Io { offset, source };
        self.r.seek(SeekFrom::Start(offset)).map_err(io)?;
        self.r.read_exact(buf).map_err(io)
    }

    pub(crate) fn read_sectors(
        &mut self,
        sector: u64,
        buf: &mut [u8],
        what: &str,
    ) -> Result<(), ReadError> {
        self.read_at(sector * SECTOR_SIZE as u64, buf, what)
    }
}

/// The Joliet tree of an image: its descriptor, directories and files (names decoded from
/// UCS-2, `;1` stripped), walked with the same checks as the primary tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JolietTree {
    pub info: JolietInfo,
    pub dirs: Vec<IsoDir>,
    pub files: Vec<IsoFile>,
}

/// An opened image: its volume, directories and files.
pub struct IsoImage<R> {
    img: Image<R>,
    volume: VolumeInfo,
    dirs: Vec<IsoDir>,
    files: Vec<IsoFile>,
    by_path: HashMap<String, usize>,
    joliet: Option<JolietTree>,
}

impl IsoImage<File> {
    /// Opens the image file at `path`.
    pub fn open_path(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let file = File::open(path).map_err(|source| ReadError::Io { offset: 0, source })?;
        Self::open(file)
    }
}

impl<R: Read + Seek> IsoImage<R> {
    /// Reads the descriptors and the whole directory hierarchy of `r`.
    pub fn open(mut r: R) -> Result<Self, ReadError> {
        let len = r
            .seek(SeekFrom::End(0))
            .map_err(|source| ReadError::Io { offset: 0, source })?;
        let mut img = Image { r, len };
        let primary = volume::read_descriptors(&mut img)?;
        let declared = u64::from(primary.info.sectors) * SECTOR_SIZE as u64;
        if declared > len {
            return Err(ReadError::Truncated {
                what: format!(
                    "the volume space of {} sectors (primary volume descriptor, sector {})",
                    primary.info.sectors, primary.info.primary_sector
                ),
                needed: declared,
                len,
            });
        }
        let (dirs, files) = hierarchy::walk(&mut img, &primary.info, &primary.root, false)?;
        let joliet = match &primary.joliet {
            Some(j) => {
                // The Joliet tree's own path tables, the same descriptors and volume space.
                let view = VolumeInfo {
                    path_table_size: j.info.path_table_size,
                    path_tables: j.info.path_tables.clone(),
                    ..primary.info.clone()
                };
                let (jdirs, jfiles) = hierarchy::walk(&mut img, &view, &j.root, true)?;
                hierarchy::check_apart(&primary.info, &dirs, &j.info, &jdirs)?;
                Some(JolietTree {
                    info: j.info.clone(),
                    dirs: jdirs,
                    files: jfiles,
                })
            }
            None => None,
        };
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.path.clone(), i))
            .collect();
        Ok(IsoImage {
            img,
            volume: primary.info,
            dirs,
            files,
            by_path,
            joliet,
        })
    }

    /// The Joliet tree, when the image has one.
    pub fn joliet(&self) -> Option<&JolietTree> {
        self.joliet.as_ref()
    }

    /// How the Joliet tree differs from the primary one, one line each: a file or directory
    /// in one and not the other (by path, names compared exactly), or a file whose extent or
    /// size differs. Empty when there is no Joliet tree or the two agree, as our writer's do.
    pub fn joliet_differences(&self) -> Vec<String> {
        let Some(j) = &self.joliet else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let primary: HashMap<&str, &IsoFile> =
            self.files.iter().map(|f| (f.path.as_str(), f)).collect();
        let joliet: HashMap<&str, &IsoFile> =
            j.files.iter().map(|f| (f.path.as_str(), f)).collect();
        for f in &self.files {
            match joliet.get(f.path.as_str()) {
                None => out.push(format!("{:?} is not in the Joliet tree", f.path)),
                Some(g) if (g.extent, g.size) != (f.extent, f.size) => out.push(format!(
                    "{:?}: Joliet says sector {} and {} bytes, the primary tree sector {} and {} bytes",
                    f.path, g.extent, g.size, f.extent, f.size
                )),
                Some(_) => {}
            }
        }
        for g in &j.files {
            if !primary.contains_key(g.path.as_str()) {
                out.push(format!("{:?} is only in the Joliet tree", g.path));
            }
        }
        let pd: Vec<&str> = self.dirs.iter().map(|d| d.path.as_str()).collect();
        let jd: Vec<&str> = j.dirs.iter().map(|d| d.path.as_str()).collect();
        if pd != jd {
            out.push(format!(
                "the directories differ: primary {pd:?}, Joliet {jd:?}"
            ));
        }
        out
    }

    pub fn volume(&self) -> &VolumeInfo {
        &self.volume
    }

    /// Length of the image in bytes (at least the volume space; more if padded).
    pub fn image_len(&self) -> u64 {
        self.img.len
    }

    /// Every file, directory by directory (breadth first), in directory record order.
    pub fn files(&self) -> &[IsoFile] {
        &self.files
    }

    /// Every directory, breadth first, the root first.
    pub fn dirs(&self) -> &[IsoDir] {
        &self.dirs
    }

    /// The file at `path` (`/`-separated, no version, as in [`IsoFile::path`]).
    pub fn file(&self, path: &str) -> Option<&IsoFile> {
        self.by_path.get(path).map(|&i| &self.files[i])
    }

    /// The whole content of the file at `path`.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>, ReadError> {
        self.read_file_prefix(path, usize::MAX)
    }

    /// The first `max` bytes of the file at `path` (all of it when shorter).
    pub fn read_file_prefix(&mut self, path: &str, max: usize) -> Result<Vec<u8>, ReadError> {
        let f = self
            .file(path)
            .cloned()
            .ok_or_else(|| ReadError::NotFound(path.to_string()))?;
        let mut buf = vec![0u8; (f.size as usize).min(max)];
        self.img
            .read_at(f.offset(), &mut buf, &format!("file {path:?}"))?;
        Ok(buf)
    }

    /// Reads the whole image (to its last byte, padding included) once, in order, handing
    /// each chunk to `on_chunk` (a hash, say) and, as the reading passes each file, its first
    /// `prefix` bytes (all of it when shorter) to `on_file`. Returns the bytes read. One
    /// sequential pass: a validator that needs a hash of the image and a look at each file
    /// reads each byte once.
    pub fn read_through(
        &mut self,
        prefix: usize,
        on_chunk: &mut dyn FnMut(&[u8]),
        on_file: &mut dyn FnMut(&IsoFile, &[u8]),
    ) -> Result<u64, ReadError> {
        const CHUNK: usize = 256 * 1024;
        let mut order: Vec<usize> = (0..self.files.len()).collect();
        order.sort_by_key(|&i| self.files[i].extent);
        let mut next = 0;
        // (file index, bytes wanted, bytes so far)
        let mut open: Vec<(usize, usize, Vec<u8>)> = Vec::new();
        let mut buf = vec![0u8; CHUNK];
        let mut pos = 0u64;
        self.img
            .r
            .seek(SeekFrom::Start(0))
            .map_err(|source| ReadError::Io { offset: 0, source })?;
        while pos < self.img.len {
            let n = (self.img.len - pos).min(CHUNK as u64) as usize;
            let chunk = &mut buf[..n];
            self.img
                .r
                .read_exact(chunk)
                .map_err(|source| ReadError::Io {
                    offset: pos,
                    source,
                })?;
            on_chunk(chunk);
            let end = pos + n as u64;
            while let Some(&i) = order.get(next) {
                if self.files[i].offset() >= end {
                    break;
                }
                let want = (self.files[i].size as usize).min(prefix);
                open.push((i, want, Vec::with_capacity(want)));
                next += 1;
            }
            open.retain_mut(|(i, want, got)| {
                let f = &self.files[*i];
                let from = f.offset() + got.len() as u64;
                let to = (f.offset() + *want as u64).min(end);
                if from < to && from >= pos {
                    got.extend_from_slice(&chunk[(from - pos) as usize..(to - pos) as usize]);
                }
                if got.len() == *want {
                    on_file(f, got);
                    return false;
                }
                true
            });
            pos = end;
        }
        // Empty files recorded at the very end of the volume.
        for &i in &order[next..] {
            if self.files[i].size == 0 || prefix == 0 {
                on_file(&self.files[i], &[]);
            } else {
                open.push((i, 0, Vec::new()));
            }
        }
        if let Some(&(i, _, _)) = open.first() {
            // open() checked every extent against the volume, and the volume against the
            // image: only an image that shrank while being read gets here.
            return Err(ReadError::Truncated {
                what: format!("file {:?}", self.files[i].path),
                needed: self.files[i].offset() + u64::from(self.files[i].size),
                len: pos,
            });
        }
        Ok(pos)
    }

    /// The reader given to [`open`](Self::open).
    pub fn into_inner(self) -> R {
        self.img.r
    }
}

//! Where the bytes of each file come from: a file on disk, streamed, or bytes in memory.

use std::path::PathBuf;

use crate::{IsoError, Result};

/// Where a file's bytes come from.
#[derive(Clone, Debug)]
pub enum FileSource {
    /// A file on disk, streamed while the image is written. `size` must be its size then.
    Path { path: PathBuf, size: u64 },
    /// Bytes held in memory, for small generated files such as an index.
    Bytes(Vec<u8>),
}

impl FileSource {
    /// A file on disk whose size is taken from its metadata now.
    pub fn path(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let size = std::fs::metadata(&path)
            .map_err(|source| IsoError::Source {
                path: path.clone(),
                source,
            })?
            .len();
        Ok(Self::Path { path, size })
    }

    /// A file on disk whose size the caller already knows (e.g. from an index).
    pub fn path_with_size(path: impl Into<PathBuf>, size: u64) -> Self {
        Self::Path {
            path: path.into(),
            size,
        }
    }

    /// Bytes held in memory.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Self::Bytes(data.into())
    }

    /// Size the layout reserves for this source.
    pub fn size(&self) -> u64 {
        match self {
            Self::Path { size, .. } => *size,
            Self::Bytes(b) => b.len() as u64,
        }
    }
}

//! What the reader finds wrong with an image, and where: every error names the sector and the
//! byte in it, or the path whose record is wrong.

use std::io;

/// Where in the image a structure lies: a logical sector and a byte offset inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub sector: u64,
    pub offset: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sector {}, byte {}", self.sector, self.offset)
    }
}

/// Everything that can be wrong while opening or reading an image.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The image could not be opened, or a read failed.
    #[error("cannot read the image at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// The image ends before a structure that it declares.
    #[error("image cut short: {what} needs {needed} bytes, the image has {len}")]
    Truncated { what: String, needed: u64, len: u64 },
    /// A volume descriptor is missing, unknown or wrong.
    #[error("volume descriptor at sector {sector}: {reason}")]
    Descriptor { sector: u64, reason: String },
    /// The two halves of a both-byte-order number (ECMA-119 7.2.3, 7.3.3) disagree.
    #[error("{field} at {at}: both-endian value disagrees (little-endian {le}, big-endian {be})")]
    BothEndian {
        field: &'static str,
        at: At,
        le: u32,
        be: u32,
    },
    /// A directory record is malformed.
    #[error("directory record at {at} in {dir:?}: {reason}")]
    Record { at: At, dir: String, reason: String },
    /// A file or directory identifier that is not a Level 1 name.
    #[error("directory record at {at} in {dir:?}: name {name:?} {reason}")]
    BadName {
        at: At,
        dir: String,
        name: String,
        reason: String,
    },
    /// An extent runs past the end of the volume.
    #[error(
        "{path:?}: extent at sector {extent}, {len} bytes, runs past the end of the volume \
         ({sectors} sectors)"
    )]
    OutsideVolume {
        path: String,
        extent: u32,
        len: u32,
        sectors: u32,
    },
    /// Two structures share sectors.
    #[error(
        "{first} (sectors {first_start}..{first_end}) overlaps {second} \
         (from sector {second_start})"
    )]
    Overlap {
        first: String,
        first_start: u64,
        first_end: u64,
        second: String,
        second_start: u64,
    },
    /// A directory record points at a directory already in the hierarchy.
    #[error("directory {path:?} at sector {extent} is already in the hierarchy: a loop")]
    Loop { path: String, extent: u32 },
    /// Deeper than ECMA-119 6.8.2.1 allows.
    #[error("directory {path:?} is deeper than {limit} levels (the root counts as one)")]
    TooDeep { path: String, limit: usize },
    /// More entries, or a longer directory, than any image we read can have.
    #[error("more than {limit} {what}")]
    TooMany { what: &'static str, limit: u64 },
    /// Two entries of one directory have the same name.
    #[error("{path:?} appears twice in its directory")]
    Duplicate { path: String },
    /// A feature Level 1 images do not use (multi-extent or interleaved files, extended
    /// attribute records).
    #[error("{path:?}: {reason} is not supported")]
    Unsupported { path: String, reason: String },
    /// No file of that path in the image.
    #[error("no file {0:?} in the image")]
    NotFound(String),
}

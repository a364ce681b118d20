//! The one error type of the crate: every way describing or writing an image can fail.

use std::io;
use std::path::PathBuf;

/// Result of this crate.
pub type Result<T, E = IsoError> = std::result::Result<T, E>;

/// Everything that can go wrong while describing or writing an image.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    /// A path given to [`IsoTree::add_file`] / [`IsoTree::add_dir`] is not a valid Level 1 path.
    #[error("invalid ISO 9660 path {path:?}: {reason}")]
    BadName { path: String, reason: String },
    /// A path has more components than ECMA-119 allows.
    #[error(
        "ISO 9660 path {path:?} is too deep: {components} components, at most {limit} allowed \
         (ECMA-119 limits the hierarchy to 8 levels including the root)"
    )]
    TooDeep {
        path: String,
        components: usize,
        limit: usize,
    },
    /// Two additions want the same name, or a file stands where a directory is needed.
    #[error("ISO 9660 path conflict at {path:?}: {reason}")]
    Conflict { path: String, reason: String },
    /// Level 1 files are one extent; its length field is 32 bits.
    #[error("file {path:?} has {size} bytes; an ISO 9660 Level 1 file holds at most 4294967295")]
    FileTooLarge { path: String, size: u64 },
    /// The image would need more sectors or directories than the format can address.
    #[error("image too large: {0}")]
    ImageTooLarge(String),
    /// A volume descriptor text field does not fit its character set or length.
    #[error("invalid {field} {value:?}: {reason}")]
    BadIdentifier {
        field: &'static str,
        value: String,
        reason: String,
    },
    /// A date outside what the ECMA-119 date fields can record.
    #[error("invalid timestamp: {0}")]
    BadTimestamp(String),
    /// A source file does not have the size it was declared with.
    #[error("source file {path:?} changed size: declared {expected} bytes, found {found}")]
    SourceSizeChanged {
        path: PathBuf,
        expected: u64,
        found: String,
    },
    /// A source file could not be opened or read.
    #[error("cannot read source file {path:?}: {source}")]
    Source {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An in-kernel copy from a source file to the image failed (either side may be the cause).
    #[error("cannot copy {path:?} into the image: {source}")]
    Copy {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Writing the image failed.
    #[error("cannot write the image: {0}")]
    Write(#[source] io::Error),
    /// Creating the image file failed.
    #[error("cannot create image file {path:?}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The writer produced a different size than the layout said: a bug in this crate.
    #[error("internal error: {0}")]
    Internal(String),
}

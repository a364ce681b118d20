//! The one error type of the crate.

use std::io;
use std::path::PathBuf;

/// Why a conversion failed. Every variant names enough to find the problem in the file.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// Reading the input or writing the output failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// No `DICM` prefix after the 128-byte preamble.
    #[error("{}: not a DICOM Part 10 file (no DICM prefix at byte 128)", .0.display())]
    NotPart10(PathBuf),
    /// The input ends inside an element.
    #[error("file ends early: needed data up to byte {needed}, the file has {len} bytes")]
    Truncated { needed: u64, len: u64 },
    /// The encoding is broken at this byte offset.
    #[error("malformed data at byte {offset}: {reason}")]
    Malformed { offset: u64, reason: String },
    /// [`crate::can_convert`] says no for this pair.
    #[error("cannot convert from transfer syntax {from:?} to {to}")]
    UnsupportedTransferSyntax { from: String, to: String },
    /// The transfer syntax is supported but this pixel data is not (attributes out of range,
    /// a codec feature no decoder here has, a frame/fragment layout we cannot resolve).
    #[error("unsupported pixel data: {0}")]
    UnsupportedPixelData(String),
    /// The codec refused a frame.
    #[error("frame {frame}: {reason}")]
    Decode { frame: u32, reason: String },
    /// The source syntax is supported, but this element cannot be carried into the target
    /// exactly (a Big Endian value whose byte order its VR does not tell, such as UN).
    #[error("cannot be converted exactly: {0}")]
    Inexact(String),
    /// A Deflated source inflates to more than a disc file may hold.
    #[error("the deflated data set inflates to more than {limit} bytes")]
    InflatedTooLarge { limit: u64 },
    /// `input` and `output` name the same file: converting would destroy the input.
    #[error("input and output are the same file")]
    SameFile,
    /// A bug of ours (two passes disagreeing); never caused by input alone.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = TranscodeError> = std::result::Result<T, E>;

pub(crate) fn malformed(offset: u64, reason: impl Into<String>) -> TranscodeError {
    TranscodeError::Malformed {
        offset,
        reason: reason.into(),
    }
}

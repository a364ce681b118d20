//! The one error type of the crate: every way an instance can fail to open or render.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not a Part 10 file, or its File Meta does not parse.
    #[error("file meta: {0}")]
    Meta(#[from] dcmdisc_dicom::meta::MetaError),
    /// The data set's structure is broken.
    #[error("data set: {0}")]
    Walk(#[from] dcmdisc_dicom::walk::WalkError),
    /// A transfer syntax that no decoder of ours reads (JPEG-LS, JPEG 2000, Big Endian,
    /// Deflate, ...).
    #[error("transfer syntax {0} cannot be rendered (no decoder for it)")]
    UnsupportedTransferSyntax(String),
    /// The transcoder refused the compressed pixel data.
    #[error("decoding the compressed pixel data: {0}")]
    Decode(#[from] dcmdisc_transcode::TranscodeError),
    /// The instance has no Pixel Data (or Float Pixel Data only, which we do not render).
    #[error("no pixel data: {0}")]
    NoPixelData(&'static str),
    /// An attribute of the Image Pixel module is missing, out of range or inconsistent.
    #[error("{0}")]
    Unsupported(String),
    /// A frame number past the last frame.
    #[error("frame {frame} of {frames}")]
    NoSuchFrame { frame: usize, frames: usize },
    /// A preset index past the last preset, or a window that does not apply to this image.
    #[error("{0}")]
    BadWindow(String),
    #[error("JPEG encoding: {0}")]
    Jpeg(#[from] jpeg_encoder::EncodingError),
}

pub type Result<T, E = RenderError> = std::result::Result<T, E>;

pub(crate) fn unsupported(msg: impl Into<String>) -> RenderError {
    RenderError::Unsupported(msg.into())
}

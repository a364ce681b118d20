//! Deflated Explicit VR Little Endian (PS3.5 A.5): after the File Meta, the data set is one
//! raw deflate stream (RFC 1951, no zlib or gzip wrapper) of an Explicit VR LE data set.
//!
//! The stream is inflated into a scratch file beside the output, and the two passes of the
//! re-encoder read that file as Explicit VR LE: they seek (pass 2 starts again from the
//! first element), which a deflate stream cannot. Memory stays flat: flate2 (miniz_oxide)
//! works in a 32 KiB window and the copy goes through a fixed buffer.
//!
//! The inflated size is bounded by [`MAX_INFLATED`]: a disc file is one ISO 9660 Level 1
//! extent of at most 4 GiB - 1, so a larger data set could not go on a disc anyway, and a
//! small hostile stream cannot fill the disk.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::DeflateDecoder;

use crate::error::{Result, TranscodeError};

pub(crate) const MAX_INFLATED: u64 = u32::MAX as u64;

/// A scratch file removed when dropped.
pub(crate) struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The scratch file's name: hidden, beside `output` (same file system, the caller's folder).
pub(crate) fn scratch_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    output.with_file_name(format!(".{name}.inflated"))
}

/// Inflates the stream that starts at byte `offset` of `input` into `scratch`.
pub(crate) fn inflate(input: &Path, offset: u64, scratch: &Path) -> Result<()> {
    let in_err = |source| TranscodeError::Io {
        path: input.to_owned(),
        source,
    };
    let out_err = |source| TranscodeError::Io {
        path: scratch.to_owned(),
        source,
    };
    let mut f = File::open(input).map_err(in_err)?;
    f.seek(SeekFrom::Start(offset)).map_err(in_err)?;
    let mut dec = DeflateDecoder::new(BufReader::with_capacity(256 * 1024, f));
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(scratch).map_err(out_err)?);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // flate2 reports a corrupt stream as InvalidInput / InvalidData.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
                ) =>
            {
                return Err(TranscodeError::Malformed {
                    offset: offset + dec.total_in(),
                    reason: format!("the deflated data set does not inflate: {e}"),
                })
            }
            Err(e) => return Err(in_err(e)),
        };
        total += n as u64;
        if total > MAX_INFLATED {
            return Err(TranscodeError::InflatedTooLarge {
                limit: MAX_INFLATED,
            });
        }
        out.write_all(&buf[..n]).map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    Ok(())
}

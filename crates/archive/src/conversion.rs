//! Import-time conversion (statement 4.1.2.1, `destination_transfer_syntax`), plugged in by
//! the application so the archive does not depend on pixel codecs, and how its failures are
//! told apart: a conversion that failed for lack of space is a full disk (A700); any other
//! failure keeps the instance as received.

use std::error::Error;
use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// Why a conversion failed, with its source chain intact so that a full disk deep inside
/// (an `io::Error` with ENOSPC) can still be recognised.
pub type ConversionError = Box<dyn Error + Send + Sync>;

/// The conversion function: converts the Part 10 file at the first path into the second.
pub type ConvertFn = dyn Fn(&Path, &Path) -> Result<(), ConversionError> + Send + Sync;

/// The target syntax UID and the function that converts into it.
#[derive(Clone)]
pub struct ImportConversion {
    pub target_ts: String,
    pub convert: Arc<ConvertFn>,
}

impl std::fmt::Debug for ImportConversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImportConversion({})", self.target_ts)
    }
}

/// Whether `e`, or any error in its source chain (including errors wrapped inside an
/// `io::Error`), is an `io::Error` saying the disk or the quota is full.
pub fn is_out_of_space(e: &(dyn Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            let full = io.kind() == io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT));
            // `io::Error::source` skips the error it wraps; look at that one too.
            let inner = io.get_ref().is_some_and(|inner| is_out_of_space(inner));
            if full || inner {
                return true;
            }
        }
        next = err.source();
    }
    false
}

/// The error and its sources, for the log: "outer: inner: ...".
pub(crate) fn chain(e: &(dyn Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(err) = next {
        let text = err.to_string();
        // Many errors already print their source; do not repeat it.
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        next = err.source();
    }
    s
}

/// Convert `input` into `tmp`, make it durable when asked, and move it over `input`.
/// Returns the converted file's length; on error `tmp` may be left for the caller to remove.
pub(crate) fn run(
    conv: &ImportConversion,
    input: &Path,
    tmp: &Path,
    durable: bool,
) -> Result<u64, ConversionError> {
    (conv.convert)(input, tmp)?;
    let f = File::open(tmp)?;
    if durable {
        f.sync_data()?;
    }
    let len = f.metadata()?.len();
    fs::rename(tmp, input)?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("writing {what}")]
    struct Outer {
        what: &'static str,
        #[source]
        source: io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("codec says no")]
    struct Codec;

    fn check(e: ConversionError) -> bool {
        is_out_of_space(e.as_ref())
    }

    #[test]
    fn out_of_space_anywhere_in_the_chain() {
        let enospc = || io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(check(Box::new(enospc())));
        assert!(check(Box::new(io::Error::from_raw_os_error(libc::EDQUOT))));
        assert!(check(Box::new(io::Error::new(
            io::ErrorKind::StorageFull,
            "full"
        ))));
        assert!(check(Box::new(Outer {
            what: "out.dcm",
            source: enospc()
        })));
        // Wrapped inside an io::Error, whose `source` would skip it.
        assert!(check(Box::new(io::Error::other(Outer {
            what: "out.dcm",
            source: enospc()
        }))));

        assert!(!check("codec refused frame 3".into()));
        assert!(!check(Box::new(Codec)));
        assert!(!check(Box::new(io::Error::from_raw_os_error(libc::EIO))));
        assert!(!check(Box::new(Outer {
            what: "out.dcm",
            source: io::Error::new(io::ErrorKind::InvalidData, "bad")
        })));
    }

    #[test]
    fn chain_names_every_source_once() {
        let e: ConversionError = Box::new(Outer {
            what: "out.dcm",
            source: io::Error::from_raw_os_error(libc::ENOSPC),
        });
        let s = chain(e.as_ref());
        assert!(s.starts_with("writing out.dcm: "), "{s}");
        assert!(s.contains("No space left on device"), "{s}");
    }
}

//! Import-time conversion: a conversion that failed for lack of space (ENOSPC anywhere in its
//! error's source chain) fails the store with A700 and leaves no file; any other failure
//! stores the instance as received; a successful one replaces the file.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io;
use std::path::Path;
use std::sync::Arc;

use common::{archive_files, config, Scratch, Spec, EXPLICIT_VR_LE};
use dcmdisc_archive::{Archive, Control, ConversionError, FailureKind, ImportConversion};

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";

/// How a transcoder reports a failed write: its own error, the io::Error as its source.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write the converted file")]
struct WriteFailed {
    path: String,
    #[source]
    source: io::Error,
}

fn with_conversion(
    dir: &Path,
    convert: impl Fn(&Path, &Path) -> Result<(), ConversionError> + Send + Sync + 'static,
) -> Arc<Archive> {
    let mut cfg = config(dir);
    cfg.conversion = Some(ImportConversion {
        target_ts: IMPLICIT_VR_LE.into(),
        convert: Arc::new(convert),
    });
    Archive::open(cfg).unwrap()
}

fn tmp_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("tmp")).unwrap().next().is_none()
}

#[test]
fn a_conversion_out_of_space_is_a_full_disk() {
    type MakeError = fn(&Path) -> ConversionError;
    let cases: Vec<(&str, MakeError)> = vec![
        ("ENOSPC as the source", |out| {
            Box::new(WriteFailed {
                path: out.display().to_string(),
                source: io::Error::from_raw_os_error(libc::ENOSPC),
            })
        }),
        ("StorageFull io::Error", |_| {
            Box::new(io::Error::new(io::ErrorKind::StorageFull, "no room"))
        }),
        ("ENOSPC wrapped inside an io::Error", |out| {
            Box::new(io::Error::other(WriteFailed {
                path: out.display().to_string(),
                source: io::Error::from_raw_os_error(libc::ENOSPC),
            }))
        }),
    ];
    for (i, (what, error)) in cases.into_iter().enumerate() {
        let scratch = Scratch::new("convert-full");
        let dir = scratch.path();
        let archive = with_conversion(dir, move |_, out| {
            // Half a file, as a converter that ran out of space leaves it.
            std::fs::write(out, b"partial")?;
            Err(error(out))
        });
        let spec = Spec::new(
            &format!("1.2.826.0.1.3680043.10.1234.3.{i}"),
            "Full^Disk",
            "P3",
        );
        let failure = common::store(&archive, &spec).expect_err(what);
        assert_eq!(failure.kind, FailureKind::OutOfResources, "{what}");
        assert!(
            failure.reason.contains("disk full"),
            "{what}: {}",
            failure.reason
        );
        // Nothing left behind: no archive file, no half-converted file, no row.
        assert!(archive_files(dir).is_empty(), "{what}");
        assert!(tmp_is_empty(dir), "{what}");
        assert!(Control::open(dir)
            .unwrap()
            .instances(None)
            .unwrap()
            .is_empty());
        common::close(archive);
    }
}

#[test]
fn any_other_conversion_failure_stores_the_instance_as_received() {
    let scratch = Scratch::new("convert-other");
    let dir = scratch.path();
    let archive = with_conversion(dir, |_, out| {
        std::fs::write(out, b"partial")?;
        Err(Box::new(WriteFailed {
            path: out.display().to_string(),
            source: io::Error::new(io::ErrorKind::InvalidData, "unsupported pixel data"),
        }))
    });
    let spec = Spec::new("1.2.826.0.1.3680043.10.1234.3.9", "Kept^As Received", "P4");
    let stored = common::store(&archive, &spec).unwrap();
    let rows = Control::open(dir).unwrap().instances(None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].transfer_syntax, EXPLICIT_VR_LE);
    let bytes = std::fs::read(&stored.path).unwrap();
    assert!(
        bytes.ends_with(&spec.dataset()),
        "the received dataset is kept byte for byte"
    );
    assert!(tmp_is_empty(dir));
    common::close(archive);
}

#[test]
fn a_successful_conversion_replaces_the_file() {
    let scratch = Scratch::new("convert-ok");
    let dir = scratch.path();
    let archive = with_conversion(dir, |input, out| {
        let mut b = std::fs::read(input)?;
        b.extend_from_slice(b"CONVERTED");
        std::fs::write(out, b)?;
        Ok(())
    });
    let spec = Spec::new("1.2.826.0.1.3680043.10.1234.3.10", "Con^Verted", "P6");
    let stored = common::store(&archive, &spec).unwrap();
    let rows = Control::open(dir).unwrap().instances(None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].transfer_syntax, IMPLICIT_VR_LE);
    let bytes = std::fs::read(&stored.path).unwrap();
    assert!(bytes.ends_with(b"CONVERTED"));
    assert_eq!(rows[0].size, bytes.len() as u64);
    assert_eq!(archive_files(dir).len(), 1);
    assert!(tmp_is_empty(dir));
    common::close(archive);
}

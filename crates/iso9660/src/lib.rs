//! An ISO 9660 (ECMA-119) Level 1 image writer: give it `/`-separated 8.3 paths with their
//! sources (files on disk or bytes in memory) and it writes a deterministic image, streaming the
//! data, with the exact size known before a byte is written.
//!
//! For: volumes that every reader opens — a Primary Volume Descriptor, plain Level 1 names, L
//! and M path tables, and optionally a Joliet supplementary descriptor and tree with exactly
//! the same names ([`IsoBuilder::set_joliet`], `joliet.rs`) — and for planning, since
//! [`IsoTree`] computes the size of an image from names and sizes alone. dcmdisc-media uses it for disc volumes of DICOM
//! File-sets, but this crate knows nothing of DICOM.
//!
//! [`read`] is a reader of ISO 9660 images, written apart from the writer (they share only the
//! sector size) so that reading back what we wrote checks the writer: descriptors, the
//! directory hierarchy with its both-endian numbers, extents, loops and depth, file contents.
//!
//! Not for: appending to images, Rock Ridge, El Torito (booting), names beyond Level 1 (in
//! either tree: lowercase, long names, deeper than eight levels), files over 4 GiB, or
//! burning. Layout of the image, in 2048-byte sectors:
//!
//! ```text
//! 0..16    system area (zeros)
//! 16       primary volume descriptor
//! (17      Joliet supplementary volume descriptor, when set)
//! 17 (18)  volume descriptor set terminator
//! ..       type L path table, then type M path table (each rounded up to whole sectors)
//! ..       directory extents, in path table order
//! (..      the Joliet path tables and directories, the same way)
//! ..       file extents, in the order the files were added
//! ```
//!
//! The same input with the same timestamp always gives the same bytes.
//!
//! ```
//! use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime, IsoError};
//!
//! let mut iso = IsoBuilder::new("VOLUME_1", IsoDateTime::new(2024, 5, 1, 12, 0, 0)?)?;
//! iso.add_file("README.TXT", FileSource::bytes(b"hello\n".to_vec()))?;
//! iso.add_file("DATA/PART0001.BIN", FileSource::bytes(vec![0u8; 5000]))?;
//! let size = iso.layout()?.image_size();
//!
//! let mut image = Vec::new(); // or iso.write_to_path("VOL001.iso")
//! assert_eq!(iso.write(&mut image)?, size);
//! assert_eq!(&image[16 * 2048 + 1..16 * 2048 + 6], b"CD001");
//! # Ok::<(), IsoError>(())
//! ```

mod builder;
mod chars;
mod date;
mod descriptors;
mod error;
mod joliet;
mod layout;
mod names;
mod numbers;
pub mod read;
mod source;
mod tree;
mod write;

pub use builder::IsoBuilder;
pub use chars::{is_a_char, is_d_char, volume_id_from_fileset_id};
pub use date::IsoDateTime;
pub use error::{IsoError, Result};
pub use layout::{IsoLayout, SECTOR_SIZE};
pub use names::MAX_PATH_COMPONENTS;
pub use numbers::{both_endian_u16, both_endian_u32};
pub use source::FileSource;
pub use tree::{image_size, IsoTree};

#[cfg(test)]
mod tests;

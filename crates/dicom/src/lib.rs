//! The DICOM facts every dcmdisc crate shares, declared once.
//!
//! **For**: transfer syntax and SOP class UIDs ([`uid`], from dicom-dictionary-std), the tags
//! we read as `u32` ([`tag`]), VR encoding facts ([`vr`]), the Part 10 File Meta Information
//! reader and writer ([`meta`]), the bounded-memory header walk over a data set with visitor
//! hooks ([`walk`]) and the visitor that keeps small top-level values ([`keys`]), decoding
//! text for display ([`charset`]), DA/TM values ([`datetime`]), the identity of an instance
//! ([`InstanceId`]) and the Patient ID generated when an instance has none ([`patient`]).
//!
//! **Not for**: networking, files on disk, databases or media: this crate works on bytes and
//! readers only. It does not decode whole data sets into objects (dicom-object does that; we
//! never need one, and a 1 GB pixel element must not be read into memory to find a UID).
//!
//! ```
//! use dcmdisc_dicom::meta::{FileMeta, parse_meta};
//! use dcmdisc_dicom::uid;
//!
//! let bytes = FileMeta {
//!     media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.7",
//!     media_storage_sop_instance_uid: "1.2.3.4",
//!     transfer_syntax_uid: uid::EXPLICIT_VR_LE,
//!     implementation_class_uid: "2.25.1",
//!     implementation_version_name: "EXAMPLE",
//!     source_ae_title: "",
//!     private: None,
//! }
//! .encode()
//! .0;
//! let meta = parse_meta(&bytes).unwrap();
//! assert_eq!(meta.transfer_syntax_uid(), uid::EXPLICIT_VR_LE);
//! assert_eq!(meta.dataset_offset as usize, bytes.len());
//! ```

pub mod charset;
pub mod datetime;
pub mod encode;
pub mod items;
pub mod keys;
pub mod meta;
pub mod patient;
pub mod tag;
pub mod uid;
pub mod vr;
pub mod walk;

mod identity;

pub use identity::InstanceId;
pub use keys::{Element, Keys};

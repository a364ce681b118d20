//! The archive's completeness seal in the File Meta of every file it receives.
//!
//! Private Information Creator UID (0002,0100) is [`SEAL_CREATOR_UID`]; Private Information
//! (0002,0102) then holds the dataset's length and its XXH3-64 hash (each u64, little
//! endian). Start-up recovery tells a complete file from one a crash cut short by it,
//! whatever order the disk persisted the file's blocks in.

use dcmdisc_dicom::meta::FileMetaInfo;

pub const SEAL_CREATOR_UID: &str = "2.25.267312939302375511414433714362251802968.1";
pub const SEAL_LEN: usize = 16;
/// The seal's value until the file is complete: no dataset has this length.
pub const SEAL_UNSET: [u8; SEAL_LEN] = [0xFF; SEAL_LEN];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    pub dataset_len: u64,
    pub hash: u64,
}

impl Seal {
    pub fn to_bytes(self) -> [u8; SEAL_LEN] {
        let mut b = [0u8; SEAL_LEN];
        b[..8].copy_from_slice(&self.dataset_len.to_le_bytes());
        b[8..].copy_from_slice(&self.hash.to_le_bytes());
        b
    }
}

/// The file's seal value when it carries our seal (an unset one if it was never completed
/// or its value is missing or of the wrong size); `None` for a file without it (written by
/// an older dcmdisc, or not by us).
pub fn read_seal(meta: &FileMetaInfo) -> Option<[u8; SEAL_LEN]> {
    meta.private_information(SEAL_CREATOR_UID).map(|v| {
        v.and_then(|v| <[u8; SEAL_LEN]>::try_from(v).ok())
            .unwrap_or(SEAL_UNSET)
    })
}

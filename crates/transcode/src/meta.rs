//! File Meta Information (PS3.10 7.1): read the source's, write ours, both with the workspace's
//! one File Meta codec (`dcmdisc_dicom::meta`).

use dcmdisc_dicom::meta::{
    element, encode_elements, parse_meta, FileMetaInfo, MetaElement, MetaError,
};

use crate::error::{malformed, Result, TranscodeError};
use crate::io::{Input, Output};
use crate::Identity;

pub(crate) struct Meta {
    pub info: FileMetaInfo,
    pub transfer_syntax: String,
}

/// Bytes read first to find the meta group; read again, larger, when the group is longer.
const FIRST_READ: u64 = 64 * 1024;
/// Meta groups over this are broken files (no element is allowed over 1 MiB either).
const MAX_META: u64 = 4 << 20;

/// Reads the preamble, `DICM` and every group 0002 element, and leaves `inp` at the first
/// byte of the data set.
pub(crate) fn read_meta(inp: &mut Input, path: &std::path::Path) -> Result<Meta> {
    let mut want = FIRST_READ;
    let info = loop {
        let n = want.min(inp.remaining());
        let head = inp.read_vec(n)?;
        inp.seek(0)?;
        match parse_meta(&head) {
            Ok(info) => break info,
            Err(MetaError::NotPart10) => return Err(TranscodeError::NotPart10(path.to_owned())),
            Err(MetaError::Truncated(at)) if n == inp.remaining() || want >= MAX_META => {
                return Err(TranscodeError::Truncated {
                    needed: at + 8,
                    len: inp.remaining(),
                })
            }
            Err(MetaError::Truncated(_)) => want *= 4,
            Err(MetaError::Malformed {
                offset,
                element,
                reason,
            }) => {
                return Err(malformed(
                    offset,
                    format!("File Meta element (0002,{element:04X}) {reason}"),
                ))
            }
        }
    };
    inp.seek(info.dataset_offset)?;
    let transfer_syntax = info.transfer_syntax_uid();
    if info.raw(element::TRANSFER_SYNTAX_UID).is_none() {
        return Err(malformed(
            132,
            "File Meta has no Transfer Syntax UID (0002,0010)",
        ));
    }
    Ok(Meta {
        info,
        transfer_syntax,
    })
}

/// Writes a zero preamble, `DICM` and the meta group: (0002,0000) recomputed, Transfer
/// Syntax and Implementation Class UID / Version Name replaced, every other source meta
/// element kept as it was (a missing (0002,0001) is added as 00\01) — except Private
/// Information Creator UID and Private Information (0002,0100)/(0002,0102): whoever wrote
/// them, they describe the source file (the dcmdisc archive's completeness seal is a hash of
/// the source data set), and a conversion makes a new file.
pub(crate) fn write_meta(out: &mut Output, meta: &Meta, ts: &str, ident: &Identity) -> Result<()> {
    use element::*;
    let mut els: Vec<MetaElement> = meta
        .info
        .elements
        .iter()
        .filter(|e| {
            !matches!(
                e.element,
                TRANSFER_SYNTAX_UID
                    | IMPLEMENTATION_CLASS_UID
                    | IMPLEMENTATION_VERSION_NAME
                    | PRIVATE_INFORMATION_CREATOR_UID
                    | PRIVATE_INFORMATION
            )
        })
        .cloned()
        .collect();
    let el = |element, vr: &[u8; 2], value: &[u8]| MetaElement {
        element,
        vr: *vr,
        value: value.to_vec(),
    };
    if !els.iter().any(|e| e.element == VERSION) {
        els.push(el(VERSION, b"OB", &[0x00, 0x01]));
    }
    els.push(el(TRANSFER_SYNTAX_UID, b"UI", ts.trim().as_bytes()));
    els.push(el(
        IMPLEMENTATION_CLASS_UID,
        b"UI",
        ident.implementation_class_uid.trim().as_bytes(),
    ));
    if !ident.implementation_version_name.is_empty() {
        els.push(el(
            IMPLEMENTATION_VERSION_NAME,
            b"SH",
            ident.implementation_version_name.as_bytes(),
        ));
    }
    if els
        .iter()
        .any(|e| e.value.len() > 0xFFFE && !dcmdisc_dicom::vr::has_long_length(e.vr))
    {
        return Err(TranscodeError::Internal("File Meta value too long".into()));
    }
    let (bytes, _) = encode_elements(&els);
    if bytes.len() as u64 > u32::MAX as u64 {
        return Err(TranscodeError::Internal("meta too long".into()));
    }
    out.write(&bytes)
}

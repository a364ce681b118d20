//! File Meta Information (PS3.10 7.1): read the source's, write ours.

use dicom_core::VR;

use crate::encode::{has_long_length, write_element, Enc};
use crate::error::{malformed, Result, TranscodeError};
use crate::io::{Input, Output};
use crate::Identity;

/// One meta element as read: element number (group is 0002), VR, value.
pub(crate) struct MetaElement {
    pub elem: u16,
    pub vr: VR,
    pub value: Vec<u8>,
}

pub(crate) struct Meta {
    pub elements: Vec<MetaElement>,
    pub transfer_syntax: String,
}

/// No File Meta value is anywhere near this; a bigger one means a broken file.
const MAX_META_VALUE: u64 = 1 << 20;

/// Reads the preamble, `DICM` and every group 0002 element (Explicit VR LE, as PS3.10
/// requires). Stops before the first element of another group, whatever (0002,0000) says:
/// a wrong group length is common and harmless that way.
pub(crate) fn read_meta(inp: &mut Input, path: &std::path::Path) -> Result<Meta> {
    let mut head = [0u8; 132];
    if inp.remaining() < 132 {
        return Err(TranscodeError::NotPart10(path.to_owned()));
    }
    inp.read_exact(&mut head)?;
    if &head[128..132] != b"DICM" {
        return Err(TranscodeError::NotPart10(path.to_owned()));
    }
    let mut elements = Vec::new();
    while inp.remaining() >= 8 {
        let at = inp.pos();
        let mut b = [0u8; 8];
        inp.read_exact(&mut b)?;
        let group = u16::from_le_bytes([b[0], b[1]]);
        if group != 0x0002 {
            inp.seek(at)?;
            break;
        }
        let elem = u16::from_le_bytes([b[2], b[3]]);
        let vr = VR::from_binary([b[4], b[5]]).ok_or_else(|| {
            malformed(
                at,
                format!("File Meta element (0002,{elem:04X}) has no valid VR"),
            )
        })?;
        let len = if has_long_length(vr) {
            let mut l = [0u8; 4];
            inp.read_exact(&mut l)?;
            u32::from_le_bytes(l) as u64
        } else {
            u16::from_le_bytes([b[6], b[7]]) as u64
        };
        if len > MAX_META_VALUE {
            return Err(malformed(
                at,
                format!("File Meta element (0002,{elem:04X}) is {len} bytes long"),
            ));
        }
        let value = inp.read_vec(len)?;
        if elem != 0x0000 {
            elements.push(MetaElement { elem, vr, value });
        }
    }
    let transfer_syntax = elements
        .iter()
        .find(|e| e.elem == 0x0010)
        .map(|e| trim_uid(&e.value))
        .ok_or_else(|| malformed(132, "File Meta has no Transfer Syntax UID (0002,0010)"))?;
    Ok(Meta {
        elements,
        transfer_syntax,
    })
}

/// A UI value as text: trailing NUL and space padding removed.
pub(crate) fn trim_uid(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    s.trim_end_matches(['\0', ' ']).trim_start().to_string()
}

/// Private Information Creator UID of the dcmdisc archive's completeness seal
/// (`dcmdisc_archive::meta::SEAL_CREATOR_UID`; this crate does not depend on the archive).
/// The seal's Private Information holds the length and hash of the source dataset, which a
/// conversion changes: carried over, it would make the converted file look cut short.
const ARCHIVE_SEAL_CREATOR: &str = "2.25.267312939302375511414433714362251802968.1";

/// Writes a zero preamble, `DICM` and the meta group: (0002,0000) recomputed, Transfer
/// Syntax and Implementation Class UID / Version Name replaced, the archive's seal dropped,
/// every other source meta element kept as it was (a missing (0002,0001) is added as 00\01).
pub(crate) fn write_meta(out: &mut Output, meta: &Meta, ts: &str, ident: &Identity) -> Result<()> {
    let sealed = meta.elements.iter().any(|e| {
        e.elem == 0x0100
            && String::from_utf8_lossy(&e.value).trim_end_matches(['\0', ' '])
                == ARCHIVE_SEAL_CREATOR
    });
    let mut els: Vec<(u16, VR, Vec<u8>)> = meta
        .elements
        .iter()
        .filter(|e| !matches!(e.elem, 0x0010 | 0x0012 | 0x0013))
        .filter(|e| !(sealed && matches!(e.elem, 0x0100 | 0x0102)))
        .map(|e| (e.elem, e.vr, e.value.clone()))
        .collect();
    if !els.iter().any(|e| e.0 == 0x0001) {
        els.push((0x0001, VR::OB, vec![0x00, 0x01]));
    }
    els.push((0x0010, VR::UI, uid_bytes(ts)));
    els.push((0x0012, VR::UI, uid_bytes(&ident.implementation_class_uid)));
    if !ident.implementation_version_name.is_empty() {
        els.push((
            0x0013,
            VR::SH,
            ident.implementation_version_name.as_bytes().to_vec(),
        ));
    }
    els.sort_by_key(|e| e.0);

    let mut body = Output::counting();
    for (elem, vr, value) in &els {
        write_element(&mut body, Enc::Explicit, (0x0002, *elem), *vr, value)?;
    }
    let group_len =
        u32::try_from(body.pos()).map_err(|_| TranscodeError::Internal("meta too long".into()))?;

    let mut head = [0u8; 132];
    head[128..132].copy_from_slice(b"DICM");
    out.write(&head)?;
    write_element(
        out,
        Enc::Explicit,
        (0x0002, 0x0000),
        VR::UL,
        &group_len.to_le_bytes(),
    )?;
    for (elem, vr, value) in &els {
        write_element(out, Enc::Explicit, (0x0002, *elem), *vr, value)?;
    }
    Ok(())
}

/// A UID as a UI value (write_element pads odd lengths with NUL).
fn uid_bytes(uid: &str) -> Vec<u8> {
    uid.trim().as_bytes().to_vec()
}

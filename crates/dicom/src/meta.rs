//! PS3.10 7.1 File Meta Information: the one reader and the one writer of the workspace.
//!
//! The reader takes the first bytes of a file (preamble, `DICM`, the group 0002 elements,
//! always Explicit VR Little Endian) and stops at the first element of another group,
//! whatever (0002,0000) says: a wrong group length is common and harmless that way.

use crate::encode::explicit_element;
use crate::vr::{has_long_length, looks_like_vr};
use crate::InstanceId;

/// No File Meta value is anywhere near this; a bigger one means a broken file.
const MAX_META_VALUE: usize = 1 << 20;

/// Element numbers of group 0002 (PS3.10 Table 7.1-1).
pub mod element {
    pub const GROUP_LENGTH: u16 = 0x0000;
    pub const VERSION: u16 = 0x0001;
    pub const MEDIA_STORAGE_SOP_CLASS_UID: u16 = 0x0002;
    pub const MEDIA_STORAGE_SOP_INSTANCE_UID: u16 = 0x0003;
    pub const TRANSFER_SYNTAX_UID: u16 = 0x0010;
    pub const IMPLEMENTATION_CLASS_UID: u16 = 0x0012;
    pub const IMPLEMENTATION_VERSION_NAME: u16 = 0x0013;
    pub const SOURCE_AE_TITLE: u16 = 0x0016;
    pub const RECEIVING_AE_TITLE: u16 = 0x0018;
    pub const PRIVATE_INFORMATION_CREATOR_UID: u16 = 0x0100;
    pub const PRIVATE_INFORMATION: u16 = 0x0102;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    #[error("not a DICOM Part 10 file (no DICM prefix)")]
    NotPart10,
    #[error("File Meta Information cut short at byte {0}")]
    Truncated(u64),
    #[error("File Meta element (0002,{element:04X}) at byte {offset}: {reason}")]
    Malformed {
        offset: u64,
        element: u16,
        reason: String,
    },
}

/// One group 0002 element as read or to be written: element number, VR, value bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaElement {
    pub element: u16,
    pub vr: [u8; 2],
    pub value: Vec<u8>,
}

/// The File Meta Information of a file: its elements (without (0002,0000)) and where the
/// data set starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetaInfo {
    pub elements: Vec<MetaElement>,
    pub dataset_offset: u64,
}

impl FileMetaInfo {
    pub fn raw(&self, element: u16) -> Option<&[u8]> {
        self.elements
            .iter()
            .find(|e| e.element == element)
            .map(|e| e.value.as_slice())
    }

    /// A text value without its NUL or space padding; empty when absent.
    pub fn text(&self, element: u16) -> String {
        self.raw(element).map(crate::uid::trim).unwrap_or_default()
    }

    pub fn transfer_syntax_uid(&self) -> String {
        self.text(element::TRANSFER_SYNTAX_UID)
    }

    pub fn sop_class_uid(&self) -> String {
        self.text(element::MEDIA_STORAGE_SOP_CLASS_UID)
    }

    pub fn sop_instance_uid(&self) -> String {
        self.text(element::MEDIA_STORAGE_SOP_INSTANCE_UID)
    }

    /// Source Application Entity Title (0002,0016): the calling AE for files we received.
    pub fn source_ae_title(&self) -> String {
        self.text(element::SOURCE_AE_TITLE)
    }

    /// Receiving Application Entity Title (0002,0018): the AE title the sender called, for
    /// files we received.
    pub fn receiving_ae_title(&self) -> String {
        self.text(element::RECEIVING_AE_TITLE)
    }

    /// The Private Information (0002,0102) when the Private Information Creator UID
    /// (0002,0100) is `creator`: `Some(None)` when the creator is there without the value.
    pub fn private_information(&self, creator: &str) -> Option<Option<&[u8]>> {
        (self.text(element::PRIVATE_INFORMATION_CREATOR_UID) == creator)
            .then(|| self.raw(element::PRIVATE_INFORMATION))
    }

    pub fn identity(&self) -> InstanceId {
        InstanceId {
            sop_class_uid: self.sop_class_uid(),
            sop_instance_uid: self.sop_instance_uid(),
            transfer_syntax_uid: self.transfer_syntax_uid(),
        }
    }
}

/// Parse the File Meta Information from the first bytes of a Part 10 file. `bytes` must hold
/// the whole meta group (64 KiB is plenty for any real file): an element cut off by the end
/// of `bytes` is `Truncated`.
pub fn parse_meta(bytes: &[u8]) -> Result<FileMetaInfo, MetaError> {
    if bytes.get(128..132) != Some(b"DICM".as_slice()) {
        return Err(MetaError::NotPart10);
    }
    let mut pos = 132usize;
    let mut elements = Vec::new();
    while let Some(h) = bytes.get(pos..pos + 8) {
        if u16::from_le_bytes([h[0], h[1]]) != 0x0002 {
            break;
        }
        let element = u16::from_le_bytes([h[2], h[3]]);
        let vr = [h[4], h[5]];
        if !looks_like_vr(vr) {
            return Err(MetaError::Malformed {
                offset: pos as u64,
                element,
                reason: "no valid VR".into(),
            });
        }
        let (len, head) = if has_long_length(vr) {
            let l = bytes
                .get(pos + 8..pos + 12)
                .ok_or(MetaError::Truncated(pos as u64))?;
            (u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize, 12)
        } else {
            (u16::from_le_bytes([h[6], h[7]]) as usize, 8)
        };
        if len > MAX_META_VALUE {
            return Err(MetaError::Malformed {
                offset: pos as u64,
                element,
                reason: format!("{len} bytes long"),
            });
        }
        let value = bytes
            .get(pos + head..pos + head + len)
            .ok_or(MetaError::Truncated(pos as u64))?;
        if element != element::GROUP_LENGTH {
            elements.push(MetaElement {
                element,
                vr,
                value: value.to_vec(),
            });
        }
        pos += head + len;
    }
    Ok(FileMetaInfo {
        elements,
        dataset_offset: pos as u64,
    })
}

/// Preamble (zeros), `DICM`, (0002,0000) and `elements` in ascending element order. Returns
/// the bytes and the offset of the value of each element, in the order of `elements`.
pub fn encode_elements(elements: &[MetaElement]) -> (Vec<u8>, Vec<usize>) {
    let mut order: Vec<usize> = (0..elements.len()).collect();
    order.sort_by_key(|&i| elements[i].element);
    let mut group = Vec::with_capacity(256);
    let mut offsets = vec![0usize; elements.len()];
    for &i in &order {
        let e = &elements[i];
        explicit_element(&mut group, 0x0002_0000 | e.element as u32, e.vr, &e.value);
        offsets[i] = group.len() - e.value.len() - e.value.len() % 2;
    }
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    explicit_element(
        &mut out,
        0x0002_0000,
        *b"UL",
        &(group.len() as u32).to_le_bytes(),
    );
    let base = out.len();
    out.extend_from_slice(&group);
    for o in &mut offsets {
        *o += base;
    }
    (out, offsets)
}

/// The File Meta of a file we write.
pub struct FileMeta<'a> {
    pub media_storage_sop_class_uid: &'a str,
    pub media_storage_sop_instance_uid: &'a str,
    pub transfer_syntax_uid: &'a str,
    pub implementation_class_uid: &'a str,
    pub implementation_version_name: &'a str,
    /// Left out when empty.
    pub source_ae_title: &'a str,
    /// Private Information Creator UID (0002,0100) and Private Information (0002,0102).
    pub private: Option<(&'a str, &'a [u8])>,
}

impl FileMeta<'_> {
    /// The encoded meta and, with `private`, the offset of the Private Information value
    /// (so a writer can patch it in place once it knows it).
    pub fn encode(&self) -> (Vec<u8>, Option<usize>) {
        self.encode_received("")
    }

    /// As [`FileMeta::encode`], with the Receiving Application Entity Title (0002,0018) of a
    /// received file (left out when empty): the AE title the sender called, which the index
    /// keeps and start-up recovery reads back.
    pub fn encode_received(&self, receiving_ae_title: &str) -> (Vec<u8>, Option<usize>) {
        use element::*;
        let el = |element, vr: &[u8; 2], value: &[u8]| MetaElement {
            element,
            vr: *vr,
            value: value.to_vec(),
        };
        let mut els = vec![
            el(VERSION, b"OB", &[0, 1]),
            el(
                MEDIA_STORAGE_SOP_CLASS_UID,
                b"UI",
                self.media_storage_sop_class_uid.as_bytes(),
            ),
            el(
                MEDIA_STORAGE_SOP_INSTANCE_UID,
                b"UI",
                self.media_storage_sop_instance_uid.as_bytes(),
            ),
            el(
                TRANSFER_SYNTAX_UID,
                b"UI",
                self.transfer_syntax_uid.as_bytes(),
            ),
            el(
                IMPLEMENTATION_CLASS_UID,
                b"UI",
                self.implementation_class_uid.as_bytes(),
            ),
            el(
                IMPLEMENTATION_VERSION_NAME,
                b"SH",
                self.implementation_version_name.as_bytes(),
            ),
        ];
        if !self.source_ae_title.is_empty() {
            els.push(el(SOURCE_AE_TITLE, b"AE", self.source_ae_title.as_bytes()));
        }
        if !receiving_ae_title.is_empty() {
            els.push(el(RECEIVING_AE_TITLE, b"AE", receiving_ae_title.as_bytes()));
        }
        if let Some((creator, value)) = self.private {
            els.push(el(
                PRIVATE_INFORMATION_CREATOR_UID,
                b"UI",
                creator.as_bytes(),
            ));
            els.push(el(PRIVATE_INFORMATION, b"OB", value));
        }
        let (bytes, offsets) = encode_elements(&els);
        let private_at = self.private.map(|_| offsets[els.len() - 1]);
        (bytes, private_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(private: Option<(&'a str, &'a [u8])>) -> FileMeta<'a> {
        FileMeta {
            media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
            media_storage_sop_instance_uid: "1.2.3.4.5",
            transfer_syntax_uid: "1.2.840.10008.1.2",
            implementation_class_uid: "2.25.1",
            implementation_version_name: "DCMDISC",
            source_ae_title: "STORESCU",
            private,
        }
    }

    #[test]
    fn encode_then_parse() {
        let (bytes, at) = sample(None).encode();
        assert_eq!(at, None);
        assert_eq!(bytes.len() % 2, 0);
        let info = parse_meta(&bytes).unwrap();
        assert_eq!(info.dataset_offset as usize, bytes.len());
        assert_eq!(info.transfer_syntax_uid(), "1.2.840.10008.1.2");
        assert_eq!(info.sop_instance_uid(), "1.2.3.4.5");
        assert_eq!(info.source_ae_title(), "STORESCU");
        let group_len = u32::from_le_bytes(bytes[140..144].try_into().unwrap()) as usize;
        assert_eq!(group_len, bytes.len() - 144);
        assert_eq!(info.private_information("2.25.9"), None);

        let (mut sealed, at) = sample(Some(("2.25.9", &[0xFF; 16]))).encode();
        let at = at.unwrap();
        assert_eq!(&sealed[at..at + 16], &[0xFF; 16]);
        sealed[at..at + 16].copy_from_slice(&[7; 16]);
        let info = parse_meta(&sealed).unwrap();
        assert_eq!(info.dataset_offset as usize, sealed.len());
        assert_eq!(
            info.private_information("2.25.9"),
            Some(Some(&[7u8; 16][..]))
        );
        assert_eq!(info.private_information("2.25.8"), None);
        assert_eq!(info.receiving_ae_title(), "");
    }

    #[test]
    fn a_received_file_keeps_the_called_ae_before_the_private_elements() {
        let (mut b, at) = sample(Some(("2.25.9", &[0xFF; 16]))).encode_received("CDP_AUTO");
        let at = at.unwrap();
        b[at..at + 16].copy_from_slice(&[7; 16]);
        let info = parse_meta(&b).unwrap();
        assert_eq!(info.receiving_ae_title(), "CDP_AUTO");
        assert_eq!(info.source_ae_title(), "STORESCU");
        assert_eq!(
            info.private_information("2.25.9"),
            Some(Some(&[7u8; 16][..]))
        );
        let order: Vec<u16> = info.elements.iter().map(|e| e.element).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:x?}");
    }

    #[test]
    fn refusals() {
        assert_eq!(parse_meta(&[0u8; 200]), Err(MetaError::NotPart10));
        let (bytes, _) = sample(None).encode();
        assert!(matches!(
            parse_meta(&bytes[..bytes.len() - 3]),
            Err(MetaError::Truncated(_))
        ));
        let mut bad = bytes.clone();
        bad[148] = 0; // the VR of (0002,0001)
        assert!(matches!(parse_meta(&bad), Err(MetaError::Malformed { .. })));
    }
}

//! PS3.10 File Meta Information for the files we write.

pub struct FileMeta<'a> {
    pub media_storage_sop_class_uid: &'a str,
    pub media_storage_sop_instance_uid: &'a str,
    pub transfer_syntax_uid: &'a str,
    pub implementation_class_uid: &'a str,
    pub implementation_version_name: &'a str,
    pub source_ae_title: &'a str,
}

fn element(out: &mut Vec<u8>, element: u16, vr: &[u8; 2], value: &[u8], pad: u8) {
    let padded = value.len() + value.len() % 2;
    out.extend_from_slice(&0x0002u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr);
    if vr == b"OB" {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(padded as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(padded as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    if value.len() % 2 == 1 {
        out.push(pad);
    }
}

/// Private Information Creator UID (0002,0100) of our completeness seal: Private Information
/// (0002,0102) then holds the dataset's length and its XXH3-64 hash (each u64, little endian).
/// A file we received carries it so that start-up recovery can tell a complete file from one a
/// crash cut short, whatever order the disk persisted its blocks in.
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

impl FileMeta<'_> {
    /// Preamble, "DICM" and the group 0002 elements, Explicit VR Little Endian.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_inner(false).0
    }

    /// As `encode`, with an unset completeness seal; also returns the seal value's offset.
    pub fn encode_sealed(&self) -> (Vec<u8>, usize) {
        let (bytes, at) = self.encode_inner(true);
        (bytes, at.unwrap_or(0))
    }

    fn encode_inner(&self, seal: bool) -> (Vec<u8>, Option<usize>) {
        let mut group = Vec::with_capacity(256);
        element(&mut group, 0x0001, b"OB", &[0, 1], 0);
        element(
            &mut group,
            0x0002,
            b"UI",
            self.media_storage_sop_class_uid.as_bytes(),
            0,
        );
        element(
            &mut group,
            0x0003,
            b"UI",
            self.media_storage_sop_instance_uid.as_bytes(),
            0,
        );
        element(
            &mut group,
            0x0010,
            b"UI",
            self.transfer_syntax_uid.as_bytes(),
            0,
        );
        element(
            &mut group,
            0x0012,
            b"UI",
            self.implementation_class_uid.as_bytes(),
            0,
        );
        element(
            &mut group,
            0x0013,
            b"SH",
            self.implementation_version_name.as_bytes(),
            b' ',
        );
        if !self.source_ae_title.is_empty() {
            element(
                &mut group,
                0x0016,
                b"AE",
                self.source_ae_title.as_bytes(),
                b' ',
            );
        }
        let mut seal_at = None;
        if seal {
            element(&mut group, 0x0100, b"UI", SEAL_CREATOR_UID.as_bytes(), 0);
            element(&mut group, 0x0102, b"OB", &SEAL_UNSET, 0);
            seal_at = Some(group.len() - SEAL_LEN);
        }
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        element(
            &mut out,
            0x0000,
            b"UL",
            &(group.len() as u32).to_le_bytes(),
            0,
        );
        let base = out.len();
        out.extend_from_slice(&group);
        (out, seal_at.map(|a| base + a))
    }
}

/// Where the dataset starts in a Part 10 file and its transfer syntax, read from the meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaInfo {
    pub dataset_offset: u64,
    pub transfer_syntax_uid: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// Source Application Entity Title (0002,0016): the calling AE for files we received.
    pub source_ae_title: String,
    /// Our completeness seal, when the file carries one (see `SEAL_CREATOR_UID`); `Some` with
    /// an unset value if it was never completed.
    pub seal: Option<[u8; SEAL_LEN]>,
}

/// Parse the File Meta Information of a Part 10 file from its first bytes.
pub fn parse_meta(bytes: &[u8]) -> Option<MetaInfo> {
    if bytes.get(128..132)? != b"DICM" {
        return None;
    }
    let mut pos = 132usize;
    let mut info = MetaInfo {
        dataset_offset: 0,
        transfer_syntax_uid: String::new(),
        sop_class_uid: String::new(),
        sop_instance_uid: String::new(),
        source_ae_title: String::new(),
        seal: None,
    };
    let mut creator_is_ours = false;
    let mut private_info = None;
    while let Some(h) = bytes.get(pos..pos + 8) {
        let group = u16::from_le_bytes([h[0], h[1]]);
        if group != 2 {
            break;
        }
        let el = u16::from_le_bytes([h[2], h[3]]);
        let vr = [h[4], h[5]];
        let (len, head) = if matches!(&vr, b"OB" | b"OW" | b"UN" | b"SQ" | b"UT") {
            let l = bytes.get(pos + 8..pos + 12)?;
            (u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize, 12)
        } else {
            (u16::from_le_bytes([h[6], h[7]]) as usize, 8)
        };
        let value = bytes.get(pos + head..pos + head + len)?;
        let text = || {
            String::from_utf8_lossy(value)
                .trim_matches(|c: char| c == '\0' || c == ' ')
                .to_string()
        };
        match el {
            0x0002 => info.sop_class_uid = text(),
            0x0003 => info.sop_instance_uid = text(),
            0x0010 => info.transfer_syntax_uid = text(),
            0x0016 => info.source_ae_title = text(),
            0x0100 => creator_is_ours = text() == SEAL_CREATOR_UID,
            0x0102 => private_info = <[u8; SEAL_LEN]>::try_from(value).ok(),
            _ => {}
        }
        pos += head + len;
    }
    if creator_is_ours {
        info.seal = Some(private_info.unwrap_or(SEAL_UNSET));
    }
    info.dataset_offset = pos as u64;
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse() {
        let m = FileMeta {
            media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
            media_storage_sop_instance_uid: "1.2.3.4.5",
            transfer_syntax_uid: "1.2.840.10008.1.2",
            implementation_class_uid: "2.25.1",
            implementation_version_name: "DCMDISC",
            source_ae_title: "STORESCU",
        };
        let bytes = m.encode();
        assert_eq!(bytes.len() % 2, 0);
        let info = parse_meta(&bytes).unwrap();
        assert_eq!(info.dataset_offset as usize, bytes.len());
        assert_eq!(info.transfer_syntax_uid, "1.2.840.10008.1.2");
        assert_eq!(info.sop_instance_uid, "1.2.3.4.5");
        assert_eq!(info.source_ae_title, "STORESCU");
        let group_len = u32::from_le_bytes(bytes[140..144].try_into().unwrap()) as usize;
        assert_eq!(group_len, bytes.len() - 144);
        assert_eq!(info.seal, None);

        let (mut sealed, at) = m.encode_sealed();
        let info = parse_meta(&sealed).unwrap();
        assert_eq!(info.dataset_offset as usize, sealed.len());
        assert_eq!(info.seal, Some(SEAL_UNSET));
        let seal = Seal {
            dataset_len: 1234,
            hash: 0x0102_0304_0506_0708,
        };
        sealed[at..at + SEAL_LEN].copy_from_slice(&seal.to_bytes());
        assert_eq!(parse_meta(&sealed).unwrap().seal, Some(seal.to_bytes()));
        let group_len = u32::from_le_bytes(sealed[140..144].try_into().unwrap()) as usize;
        assert_eq!(group_len, sealed.len() - 144);
    }
}

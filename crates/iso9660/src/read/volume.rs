//! The volume descriptor set (ECMA-119 8): from sector 16 up to the terminator, the primary
//! descriptor decoded, and the first Joliet supplementary descriptor (type 2 with the escape
//! sequences of UCS-2 level 1, 2 or 3); any other supplementary, boot or partition descriptor
//! is passed over.

use super::error::{At, ReadError};
use super::record::{both16, both32, parse_record, DirRecord};
use super::Image;
use crate::SECTOR_SIZE;

const FIRST_DESCRIPTOR: u64 = 16;
/// A real set has two to four descriptors; past this many the terminator is missing.
const MAX_DESCRIPTORS: u64 = 32;

/// What the primary volume descriptor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// Volume Identifier, without its trailing spaces.
    pub volume_id: String,
    /// Volume Space Size: the sectors the volume declares.
    pub sectors: u32,
    /// The sector of the primary volume descriptor.
    pub primary_sector: u64,
    /// The first sector after the volume descriptor set terminator.
    pub descriptors_end: u64,
    /// Path table size in bytes, and the sectors of the type L and type M tables (0 = none).
    pub path_table_size: u32,
    pub path_tables: Vec<u32>,
}

pub(crate) struct Primary {
    pub info: VolumeInfo,
    pub root: DirRecord,
    /// The Joliet descriptor, when the set has one.
    pub joliet: Option<Joliet>,
}

/// What a Joliet supplementary volume descriptor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JolietInfo {
    /// Volume Identifier, decoded from UCS-2, without its trailing spaces.
    pub volume_id: String,
    /// UCS-2 level of the escape sequences: 1 (`%/@`), 2 (`%/C`) or 3 (`%/E`).
    pub level: u8,
    /// The descriptor's sector.
    pub sector: u64,
    pub path_table_size: u32,
    pub path_tables: Vec<u32>,
}

pub(crate) struct Joliet {
    pub info: JolietInfo,
    pub root: DirRecord,
}

pub(crate) fn read_descriptors<R: std::io::Read + std::io::Seek>(
    img: &mut Image<R>,
) -> Result<Primary, ReadError> {
    let mut primary: Option<Primary> = None;
    let mut joliet: Option<Joliet> = None;
    let mut buf = vec![0u8; SECTOR_SIZE];
    for sector in FIRST_DESCRIPTOR..FIRST_DESCRIPTOR + MAX_DESCRIPTORS {
        img.read_sectors(sector, &mut buf, "the volume descriptor set")?;
        let bad = |reason: String| ReadError::Descriptor { sector, reason };
        if &buf[1..6] != b"CD001" {
            return Err(bad(format!(
                "standard identifier {:?}, CD001 expected{}",
                String::from_utf8_lossy(&buf[1..6]),
                if primary.is_none() {
                    " (not an ISO 9660 image?)"
                } else {
                    " (no terminator before it)"
                }
            )));
        }
        match buf[0] {
            2 if joliet.is_none() && joliet_level(&buf).is_some() => {
                joliet = Some(parse_joliet(&buf, sector)?)
            }
            // Boot record, another supplementary or enhanced, partition: not ours to read.
            0 | 2 | 3 => {}
            1 if primary.is_none() => primary = Some(parse_primary(&buf, sector)?),
            1 => {} // ECMA-119 allows a copy; the first one is the one read.
            255 => {
                let Some(mut p) = primary else {
                    return Err(bad("terminator before any primary volume descriptor".into()));
                };
                p.info.descriptors_end = sector + 1;
                p.joliet = joliet;
                return Ok(p);
            }
            t => return Err(bad(format!("unknown descriptor type {t}"))),
        }
    }
    Err(ReadError::Descriptor {
        sector: FIRST_DESCRIPTOR + MAX_DESCRIPTORS,
        reason: format!("no volume descriptor set terminator in the first {MAX_DESCRIPTORS}"),
    })
}

fn parse_primary(s: &[u8], sector: u64) -> Result<Primary, ReadError> {
    let bad = |reason: String| ReadError::Descriptor { sector, reason };
    let at = |offset| At { sector, offset };
    if s[6] != 1 {
        return Err(bad(format!(
            "primary descriptor version {}, 1 expected",
            s[6]
        )));
    }
    let sectors = both32(&s[80..88], "volume space size", at(80))?;
    both16(&s[120..124], "volume set size", at(120))?;
    both16(&s[124..128], "volume sequence number", at(124))?;
    let block = both16(&s[128..132], "logical block size", at(128))?;
    if usize::from(block) != SECTOR_SIZE {
        return Err(bad(format!(
            "logical block size {block}; only {SECTOR_SIZE} is read"
        )));
    }
    let path_table_size = both32(&s[132..140], "path table size", at(132))?;
    let l = u32::from_le_bytes([s[140], s[141], s[142], s[143]]);
    let l_opt = u32::from_le_bytes([s[144], s[145], s[146], s[147]]);
    let m = u32::from_be_bytes([s[148], s[149], s[150], s[151]]);
    let m_opt = u32::from_be_bytes([s[152], s[153], s[154], s[155]]);
    if s[881] != 1 {
        return Err(bad(format!(
            "file structure version {}, 1 expected",
            s[881]
        )));
    }
    let root = parse_record(&s[156..190], at(156), "/")?;
    if root.len != 34 || root.identifier != [0] || !root.is_dir {
        return Err(bad(
            "the root directory record is not a 34-byte directory record named 0x00".into(),
        ));
    }
    let volume_id = String::from_utf8_lossy(&s[40..72]).trim_end().to_string();
    Ok(Primary {
        joliet: None,
        info: VolumeInfo {
            volume_id,
            sectors,
            primary_sector: sector,
            descriptors_end: 0,
            path_table_size,
            path_tables: [l, l_opt, m, m_opt]
                .into_iter()
                .filter(|&x| x != 0)
                .collect(),
        },
        root,
    })
}

/// The UCS-2 level the escape sequences field (bytes 88-119) names, if it is Joliet's.
fn joliet_level(s: &[u8]) -> Option<u8> {
    match &s[88..91] {
        b"%/@" => Some(1),
        b"%/C" => Some(2),
        b"%/E" => Some(3),
        _ => None,
    }
}

/// UCS-2 big-endian text (a Joliet identifier or descriptor field); `None` when it is not.
pub(crate) fn ucs2_text(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    // UCS-2 has no surrogate pairs: a lone surrogate is not a character.
    if units.iter().any(|u| (0xD800..0xE000).contains(u)) {
        return None;
    }
    String::from_utf16(&units).ok()
}

fn parse_joliet(s: &[u8], sector: u64) -> Result<Joliet, ReadError> {
    let bad = |reason: String| ReadError::Descriptor { sector, reason };
    let at = |offset| At { sector, offset };
    if s[6] != 1 {
        return Err(bad(format!(
            "Joliet descriptor version {}, 1 expected",
            s[6]
        )));
    }
    both32(&s[80..88], "volume space size", at(80))?;
    both16(&s[120..124], "volume set size", at(120))?;
    both16(&s[124..128], "volume sequence number", at(124))?;
    let block = both16(&s[128..132], "logical block size", at(128))?;
    if usize::from(block) != SECTOR_SIZE {
        return Err(bad(format!(
            "Joliet logical block size {block}; only {SECTOR_SIZE} is read"
        )));
    }
    let path_table_size = both32(&s[132..140], "path table size", at(132))?;
    let l = u32::from_le_bytes([s[140], s[141], s[142], s[143]]);
    let l_opt = u32::from_le_bytes([s[144], s[145], s[146], s[147]]);
    let m = u32::from_be_bytes([s[148], s[149], s[150], s[151]]);
    let m_opt = u32::from_be_bytes([s[152], s[153], s[154], s[155]]);
    let root = parse_record(&s[156..190], at(156), "/")?;
    if root.len != 34 || root.identifier != [0] || !root.is_dir {
        return Err(bad(
            "the Joliet root directory record is not a 34-byte directory record named 0x00".into(),
        ));
    }
    let volume_id = ucs2_text(&s[40..72])
        .ok_or_else(|| bad("the Joliet Volume Identifier is not UCS-2".into()))?
        .trim_end()
        .to_string();
    Ok(Joliet {
        info: JolietInfo {
            volume_id,
            level: joliet_level(s).unwrap_or(0),
            sector,
            path_table_size,
            path_tables: [l, l_opt, m, m_opt]
                .into_iter()
                .filter(|&x| x != 0)
                .collect(),
        },
        root,
    })
}

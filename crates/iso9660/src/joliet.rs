//! The Joliet extension: a supplementary volume descriptor (ECMA-119 8.5, type 2) whose
//! escape sequences `%/E` say UCS-2 level 3, and a second directory tree with its own path
//! tables whose identifiers are UCS-2 big-endian. The names are exactly those of the Level 1
//! tree (upper case, 8.3, `;1` versions), the directory order and the file extents are the
//! same: only the way the names are written differs.
//!
//! Why: Linux mounts a disc without Rock Ridge or Joliet with its Level 1 names shown in lower
//! case (the `map=normal` default), so links written in upper case (the PDI web content) break
//! on a copy of the disc; with Joliet every system shows the names exactly as recorded. The
//! identifiers of the descriptor are UCS-2 too: the Volume Identifier's field holds 16
//! characters, so a longer one is cut to its first 16 there (Windows and macOS show that one).

use crate::date::UNSPECIFIED_DESCRIPTOR_DATE;
use crate::descriptors::{directory_record, FLAG_DIRECTORY};
use crate::layout::{place_record, sectors_for, JolietLayout, SHORT_RECORD_LEN};
use crate::numbers::{both_endian_u16, both_endian_u32};
use crate::tree::Entry;
use crate::{IsoBuilder, IsoError, IsoLayout, Result, SECTOR_SIZE};

/// UCS-2 level 3 (Joliet specification, 1995): `%/E`.
const ESCAPE_LEVEL_3: &[u8] = b"%/E";

/// UCS-2 big-endian of an ASCII string (all our identifiers are ASCII).
pub(crate) fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

/// Fills a descriptor field with UCS-2 `value`, padded with UCS-2 spaces (a last odd byte, as
/// in the 37-byte file identifier fields, stays 0x00). `value` is cut to the field.
fn put_ucs2(field: &mut [u8], value: &str) {
    for pair in field.chunks_exact_mut(2) {
        pair.copy_from_slice(&[0x00, 0x20]);
    }
    if field.len() % 2 == 1 {
        let last = field.len() - 1;
        field[last] = 0;
    }
    let bytes = ucs2(value);
    let n = bytes.len().min(field.len() / 2 * 2);
    field[..n].copy_from_slice(&bytes[..n]);
}

fn joliet_of(layout: &IsoLayout) -> Result<&JolietLayout> {
    layout
        .joliet
        .as_ref()
        .ok_or_else(|| IsoError::Internal("no Joliet layout".to_string()))
}

impl IsoBuilder {
    /// ECMA-119 8.5 with the Joliet escape sequences.
    pub(crate) fn joliet_volume_descriptor(&self, layout: &IsoLayout) -> Result<Vec<u8>> {
        let j = joliet_of(layout)?;
        let mut s = vec![0u8; SECTOR_SIZE];
        s[0] = 2;
        s[1..6].copy_from_slice(b"CD001");
        s[6] = 1;
        put_ucs2(&mut s[8..40], &self.ids.system);
        put_ucs2(&mut s[40..72], &self.volume_id);
        s[80..88].copy_from_slice(&both_endian_u32(layout.total_sectors));
        s[88..88 + ESCAPE_LEVEL_3.len()].copy_from_slice(ESCAPE_LEVEL_3);
        s[120..124].copy_from_slice(&both_endian_u16(1));
        s[124..128].copy_from_slice(&both_endian_u16(1));
        s[128..132].copy_from_slice(&both_endian_u16(SECTOR_SIZE as u16));
        s[132..140].copy_from_slice(&both_endian_u32(j.path_table_size));
        s[140..144].copy_from_slice(&j.l_path_table.to_le_bytes());
        s[148..152].copy_from_slice(&j.m_path_table.to_be_bytes());
        let root = directory_record(
            j.dir_extent[0],
            j.dir_sectors[0] * SECTOR_SIZE as u32,
            FLAG_DIRECTORY,
            &[0],
            &self.timestamp,
        );
        s[156..156 + SHORT_RECORD_LEN].copy_from_slice(&root);
        put_ucs2(
            &mut s[190..318],
            self.ids.volume_set.as_deref().unwrap_or(&self.volume_id),
        );
        put_ucs2(&mut s[318..446], &self.ids.publisher);
        put_ucs2(&mut s[446..574], &self.ids.data_preparer);
        put_ucs2(&mut s[574..702], &self.ids.application);
        put_ucs2(&mut s[702..739], "");
        put_ucs2(&mut s[739..776], "");
        put_ucs2(&mut s[776..813], "");
        let date = self.timestamp.to_descriptor_bytes();
        s[813..830].copy_from_slice(&date);
        s[830..847].copy_from_slice(&date);
        s[847..864].copy_from_slice(&UNSPECIFIED_DESCRIPTOR_DATE);
        s[864..881].copy_from_slice(&UNSPECIFIED_DESCRIPTOR_DATE);
        s[881] = 1;
        Ok(s)
    }

    /// The Joliet L and M path tables: the primary's order, UCS-2 identifiers.
    pub(crate) fn joliet_path_tables(&self, layout: &IsoLayout) -> Result<(Vec<u8>, Vec<u8>)> {
        let j = joliet_of(layout)?;
        let padded = sectors_for(u64::from(j.path_table_size)) as usize * SECTOR_SIZE;
        let mut l = Vec::with_capacity(padded);
        let mut m = Vec::with_capacity(padded);
        for &d in &layout.dir_order {
            let node = &self.tree.dirs[d];
            let ident = if d == 0 { vec![0] } else { ucs2(&node.name) };
            let extent = j.dir_extent[d];
            let parent = layout.dir_number[node.parent];
            l.push(ident.len() as u8);
            l.push(0);
            l.extend_from_slice(&extent.to_le_bytes());
            l.extend_from_slice(&parent.to_le_bytes());
            l.extend_from_slice(&ident);
            m.push(ident.len() as u8);
            m.push(0);
            m.extend_from_slice(&extent.to_be_bytes());
            m.extend_from_slice(&parent.to_be_bytes());
            m.extend_from_slice(&ident);
            if ident.len() % 2 == 1 {
                l.push(0);
                m.push(0);
            }
        }
        l.resize(padded, 0);
        m.resize(padded, 0);
        Ok((l, m))
    }

    /// One Joliet directory: `.`, `..`, then the entries in the primary's order, files at
    /// the primary's extents.
    pub(crate) fn joliet_directory_extent(&self, layout: &IsoLayout, d: usize) -> Result<Vec<u8>> {
        let j = joliet_of(layout)?;
        let node = &self.tree.dirs[d];
        let mut buf = vec![0u8; j.dir_sectors[d] as usize * SECTOR_SIZE];
        let mut offset = 0;
        let mut push = |record: &[u8]| -> Result<()> {
            let at = place_record(offset, record.len());
            let end = at + record.len();
            let slot = buf.get_mut(at..end).ok_or_else(|| {
                IsoError::Internal("Joliet directory larger than its layout".to_string())
            })?;
            slot.copy_from_slice(record);
            offset = end;
            Ok(())
        };
        let dir_len = |x: usize| j.dir_sectors[x] * SECTOR_SIZE as u32;
        let ts = &self.timestamp;
        push(&directory_record(
            j.dir_extent[d],
            dir_len(d),
            FLAG_DIRECTORY,
            &[0],
            ts,
        ))?;
        push(&directory_record(
            j.dir_extent[node.parent],
            dir_len(node.parent),
            FLAG_DIRECTORY,
            &[1],
            ts,
        ))?;
        for (key, entry) in &node.entries {
            let record = match *entry {
                Entry::Dir(c) => directory_record(
                    j.dir_extent[c],
                    dir_len(c),
                    FLAG_DIRECTORY,
                    &ucs2(&key.name),
                    ts,
                ),
                Entry::File(f) => {
                    // `NAME.EXT;1`, or `NAME;1` without extension: Joliet readers show a
                    // name with a trailing dot as it is.
                    let name = if key.ext.is_empty() {
                        format!("{};1", key.name)
                    } else {
                        format!("{}.{};1", key.name, key.ext)
                    };
                    directory_record(
                        layout.file_extent[f],
                        self.tree.files[f].size as u32,
                        0,
                        &ucs2(&name),
                        ts,
                    )
                }
            };
            push(&record)?;
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs2_fields() {
        assert_eq!(ucs2("A.B"), [0, b'A', 0, b'.', 0, b'B']);
        let mut f = [9u8; 7];
        put_ucs2(&mut f, "AB");
        assert_eq!(f, [0, b'A', 0, b'B', 0, 0x20, 0]);
        let mut v = [0u8; 32];
        put_ucs2(&mut v, "261201J12345_1OF1");
        // Cut to 16 characters.
        assert_eq!(&v[30..32], &[0, b'F']);
        assert_eq!(
            String::from_utf16_lossy(
                &v.chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>()
            ),
            "261201J12345_1OF"
        );
    }
}

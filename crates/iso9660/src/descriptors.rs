//! The bytes of the image's structures: the volume descriptors (ECMA-119 8), the path tables
//! (9.4) and the directory extents with their records (9.1), for either of the image's two
//! trees ([`Tree`]): the Level 1 primary, and Joliet's (`joliet.rs`), which has the same
//! directories, order and file extents and differs only in how identifiers are written and
//! where its own tables and directories lie. One writer serves both so they cannot drift.

use crate::chars::put_text;
use crate::date::UNSPECIFIED_DESCRIPTOR_DATE;
use crate::joliet::{joliet_file_identifier, put_ucs2, ucs2, ESCAPE_LEVEL_3};
use crate::layout::{place_record, record_len, sectors_for, SHORT_RECORD_LEN};
use crate::numbers::{both_endian_u16, both_endian_u32};
use crate::tree::Entry;
use crate::{IsoBuilder, IsoDateTime, IsoError, IsoLayout, Result, SECTOR_SIZE};

pub(crate) const FLAG_DIRECTORY: u8 = 0x02;

/// One of the image's directory trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tree {
    /// ECMA-119 8.4: d-characters, the Level 1 names.
    Primary,
    /// ECMA-119 8.5 with the Joliet escape sequences: the same names in UCS-2 big-endian.
    Joliet,
}

/// Where one tree's own structures are in the layout.
struct Places<'a> {
    path_table_size: u32,
    l_path_table: u32,
    m_path_table: u32,
    dir_extent: &'a [u32],
    dir_sectors: &'a [u32],
}

impl Tree {
    fn places(self, layout: &IsoLayout) -> Result<Places<'_>> {
        match self {
            Tree::Primary => Ok(Places {
                path_table_size: layout.path_table_size,
                l_path_table: layout.l_path_table,
                m_path_table: layout.m_path_table,
                dir_extent: &layout.dir_extent,
                dir_sectors: &layout.dir_sectors,
            }),
            Tree::Joliet => {
                let j = layout
                    .joliet
                    .as_ref()
                    .ok_or_else(|| IsoError::Internal("no Joliet layout".to_string()))?;
                Ok(Places {
                    path_table_size: j.path_table_size,
                    l_path_table: j.l_path_table,
                    m_path_table: j.m_path_table,
                    dir_extent: &j.dir_extent,
                    dir_sectors: &j.dir_sectors,
                })
            }
        }
    }

    /// A descriptor's text field, padded and cut to the field.
    fn put(self, field: &mut [u8], value: &str) {
        match self {
            Tree::Primary => put_text(field, value),
            Tree::Joliet => put_ucs2(field, value),
        }
    }

    /// A directory's identifier.
    fn identifier(self, name: &str) -> Vec<u8> {
        match self {
            Tree::Primary => name.as_bytes().to_vec(),
            Tree::Joliet => ucs2(name),
        }
    }
}

impl IsoBuilder {
    /// ECMA-119 8.4 (primary) or 8.5 (Joliet's supplementary descriptor).
    pub(crate) fn volume_descriptor(&self, layout: &IsoLayout, tree: Tree) -> Result<Vec<u8>> {
        let at = tree.places(layout)?;
        let mut s = vec![0u8; SECTOR_SIZE];
        s[0] = match tree {
            Tree::Primary => 1,
            Tree::Joliet => 2,
        };
        s[1..6].copy_from_slice(b"CD001");
        s[6] = 1;
        tree.put(&mut s[8..40], &self.ids.system);
        tree.put(&mut s[40..72], &self.volume_id);
        s[80..88].copy_from_slice(&both_endian_u32(layout.total_sectors));
        if tree == Tree::Joliet {
            s[88..88 + ESCAPE_LEVEL_3.len()].copy_from_slice(ESCAPE_LEVEL_3);
        }
        s[120..124].copy_from_slice(&both_endian_u16(1)); // volume set size
        s[124..128].copy_from_slice(&both_endian_u16(1)); // volume sequence number
        s[128..132].copy_from_slice(&both_endian_u16(SECTOR_SIZE as u16));
        s[132..140].copy_from_slice(&both_endian_u32(at.path_table_size));
        s[140..144].copy_from_slice(&at.l_path_table.to_le_bytes());
        // 144..148 and 152..156, the optional copies, stay 0: none recorded.
        s[148..152].copy_from_slice(&at.m_path_table.to_be_bytes());
        let root = directory_record(
            at.dir_extent[0],
            at.dir_sectors[0] * SECTOR_SIZE as u32,
            FLAG_DIRECTORY,
            &[0],
            &self.timestamp,
        );
        s[156..156 + SHORT_RECORD_LEN].copy_from_slice(&root);
        tree.put(
            &mut s[190..318],
            self.ids.volume_set.as_deref().unwrap_or(&self.volume_id),
        );
        tree.put(&mut s[318..446], &self.ids.publisher);
        tree.put(&mut s[446..574], &self.ids.data_preparer);
        tree.put(&mut s[574..702], &self.ids.application);
        // Copyright, abstract and bibliographic file identifiers: none.
        tree.put(&mut s[702..739], "");
        tree.put(&mut s[739..776], "");
        tree.put(&mut s[776..813], "");
        let date = self.timestamp.to_descriptor_bytes();
        s[813..830].copy_from_slice(&date); // creation
        s[830..847].copy_from_slice(&date); // modification
        s[847..864].copy_from_slice(&UNSPECIFIED_DESCRIPTOR_DATE); // expiration
        s[864..881].copy_from_slice(&UNSPECIFIED_DESCRIPTOR_DATE); // effective
        s[881] = 1; // file structure version
        Ok(s)
    }

    /// ECMA-119 9.4: the L table little-endian, the M table big-endian, each padded to whole
    /// sectors; the directories in the primary's order for both trees.
    pub(crate) fn path_tables(&self, layout: &IsoLayout, tree: Tree) -> Result<(Vec<u8>, Vec<u8>)> {
        let at = tree.places(layout)?;
        let padded = sectors_for(u64::from(at.path_table_size)) as usize * SECTOR_SIZE;
        let mut l = Vec::with_capacity(padded);
        let mut m = Vec::with_capacity(padded);
        for &d in &layout.dir_order {
            let node = &self.tree.dirs[d];
            let ident = if d == 0 {
                vec![0]
            } else {
                tree.identifier(&node.name)
            };
            let extent = at.dir_extent[d];
            let parent = layout.dir_number[node.parent];
            for (table, little) in [(&mut l, true), (&mut m, false)] {
                table.push(ident.len() as u8);
                table.push(0);
                if little {
                    table.extend_from_slice(&extent.to_le_bytes());
                    table.extend_from_slice(&parent.to_le_bytes());
                } else {
                    table.extend_from_slice(&extent.to_be_bytes());
                    table.extend_from_slice(&parent.to_be_bytes());
                }
                table.extend_from_slice(&ident);
                if ident.len() % 2 == 1 {
                    table.push(0);
                }
            }
        }
        l.resize(padded, 0);
        m.resize(padded, 0);
        Ok((l, m))
    }

    /// ECMA-119 6.8.1 and 9.1: `.`, `..`, then the entries in identifier order (the
    /// primary's order in both trees, the files at the same extents).
    pub(crate) fn directory_extent(
        &self,
        layout: &IsoLayout,
        tree: Tree,
        d: usize,
    ) -> Result<Vec<u8>> {
        let at = tree.places(layout)?;
        let node = &self.tree.dirs[d];
        let size = at.dir_sectors[d] as usize * SECTOR_SIZE;
        let mut buf = vec![0u8; size];
        let mut offset = 0;
        let mut push = |record: &[u8]| -> Result<()> {
            let place = place_record(offset, record.len());
            let end = place + record.len();
            let slot = buf.get_mut(place..end).ok_or_else(|| {
                IsoError::Internal(format!("{tree:?} directory larger than its layout"))
            })?;
            slot.copy_from_slice(record);
            offset = end;
            Ok(())
        };
        let dir_len = |x: usize| at.dir_sectors[x] * SECTOR_SIZE as u32;
        let ts = &self.timestamp;
        push(&directory_record(
            at.dir_extent[d],
            dir_len(d),
            FLAG_DIRECTORY,
            &[0],
            ts,
        ))?;
        push(&directory_record(
            at.dir_extent[node.parent],
            dir_len(node.parent),
            FLAG_DIRECTORY,
            &[1],
            ts,
        ))?;
        for (key, entry) in &node.entries {
            let record = match *entry {
                Entry::Dir(c) => directory_record(
                    at.dir_extent[c],
                    dir_len(c),
                    FLAG_DIRECTORY,
                    &tree.identifier(&key.name),
                    ts,
                ),
                Entry::File(f) => {
                    let file = &self.tree.files[f];
                    let ident = match tree {
                        Tree::Primary => file.identifier().into_bytes(),
                        Tree::Joliet => joliet_file_identifier(key),
                    };
                    directory_record(
                        layout.file_extent[f],
                        // add_file rejects sizes above u32::MAX.
                        file.size as u32,
                        0,
                        &ident,
                        ts,
                    )
                }
            };
            push(&record)?;
        }
        Ok(buf)
    }
}

/// ECMA-119 8.3.
pub(crate) fn terminator() -> Vec<u8> {
    let mut s = vec![0u8; SECTOR_SIZE];
    s[0] = 255;
    s[1..6].copy_from_slice(b"CD001");
    s[6] = 1;
    s
}

/// ECMA-119 9.1: one directory record, without system use field.
pub(crate) fn directory_record(
    extent: u32,
    data_len: u32,
    flags: u8,
    identifier: &[u8],
    date: &IsoDateTime,
) -> Vec<u8> {
    let len = record_len(identifier.len());
    let mut r = vec![0u8; len];
    r[0] = len as u8;
    r[2..10].copy_from_slice(&both_endian_u32(extent));
    r[10..18].copy_from_slice(&both_endian_u32(data_len));
    r[18..25].copy_from_slice(&date.to_record_bytes());
    r[25] = flags;
    r[28..32].copy_from_slice(&both_endian_u16(1)); // volume sequence number
    r[32] = identifier.len() as u8;
    r[33..33 + identifier.len()].copy_from_slice(identifier);
    r
}

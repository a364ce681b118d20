//! Where everything goes: extent allocation for the path tables, directories and files, all
//! computed from names and sizes before a byte is written, so the image size is known up front.

use crate::tree::{Entry, IsoTree};
use crate::{IsoError, Result};

/// Logical sector and logical block size of every image this crate writes.
pub const SECTOR_SIZE: usize = 2048;
pub(crate) const SECTOR: u64 = SECTOR_SIZE as u64;

/// Sectors 0..16 are the system area, left zero: nothing here boots.
pub(crate) const SYSTEM_AREA_SECTORS: u32 = 16;
/// The primary volume descriptor; the Joliet supplementary one, when there is one, follows it,
/// then the terminator.
const PVD_SECTOR: u32 = 16;

/// Directory record with a one-byte identifier: the root, `.` and `..`.
pub(crate) const SHORT_RECORD_LEN: usize = 34;

/// ECMA-119 9.1.12: the record is padded to an even length.
pub(crate) fn record_len(identifier_len: usize) -> usize {
    33 + identifier_len + (1 - identifier_len % 2)
}

/// ECMA-119 9.5: likewise for path table records.
pub(crate) fn path_record_len(identifier_len: usize) -> usize {
    8 + identifier_len + identifier_len % 2
}

/// Offset at which a record of `len` bytes goes, given the current offset: records never cross
/// a sector boundary (ECMA-119 6.8.1.1), so one that does not fit starts the next sector.
pub(crate) fn place_record(offset: usize, len: usize) -> usize {
    let used = offset % SECTOR_SIZE;
    if used + len > SECTOR_SIZE {
        offset + (SECTOR_SIZE - used)
    } else {
        offset
    }
}

pub(crate) fn sectors_for(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR)
}

/// Where every structure of an image goes. Obtained from [`IsoTree::layout`] or
/// [`IsoBuilder::layout`](crate::IsoBuilder::layout).
#[derive(Clone, Debug)]
pub struct IsoLayout {
    pub(crate) total_sectors: u32,
    pub(crate) path_table_size: u32,
    pub(crate) l_path_table: u32,
    pub(crate) m_path_table: u32,
    /// Directory indices in path table order (breadth first, siblings sorted).
    pub(crate) dir_order: Vec<usize>,
    /// Path table number (1-based) by directory index.
    pub(crate) dir_number: Vec<u16>,
    pub(crate) dir_extent: Vec<u32>,
    pub(crate) dir_sectors: Vec<u32>,
    pub(crate) file_extent: Vec<u32>,
    pub(crate) first_file_sector: u32,
    /// The Joliet tree's path tables and directories (`joliet.rs`), after the primary's.
    pub(crate) joliet: Option<JolietLayout>,
}

/// Where the Joliet tree's own structures go: the same directories in the same order (so
/// `dir_order` and `dir_number` are shared), with UCS-2 names, so other lengths.
#[derive(Clone, Debug)]
pub(crate) struct JolietLayout {
    pub(crate) path_table_size: u32,
    pub(crate) l_path_table: u32,
    pub(crate) m_path_table: u32,
    pub(crate) dir_extent: Vec<u32>,
    pub(crate) dir_sectors: Vec<u32>,
}

/// Bytes of a name in a tree: one per character in the primary tree, two (UCS-2) in Joliet.
fn name_bytes(chars: usize, joliet: bool) -> usize {
    if joliet {
        2 * chars
    } else {
        chars
    }
}

/// Path table size and the sectors of each directory, for one tree.
fn tree_sizes(tree: &IsoTree, dir_order: &[usize], joliet: bool) -> Result<(u64, Vec<u64>)> {
    let path_table_size: u64 = dir_order
        .iter()
        .map(|&d| {
            let name = tree.dirs[d].name.len();
            // The root's identifier is one 0x00 byte in both trees.
            let id = if name == 0 {
                1
            } else {
                name_bytes(name, joliet)
            };
            path_record_len(id) as u64
        })
        .sum();
    let mut sectors = vec![0u64; tree.dirs.len()];
    for &d in dir_order {
        let mut offset = 2 * SHORT_RECORD_LEN;
        for (key, entry) in &tree.dirs[d].entries {
            let id_len = match entry {
                Entry::Dir(_) => name_bytes(key.name.len(), joliet),
                // Primary `NAME.EXT;1` / `NAME.;1`; Joliet `NAME.EXT;1` / `NAME;1`.
                Entry::File(_) if joliet => {
                    let dot = usize::from(!key.ext.is_empty());
                    name_bytes(key.name.len() + dot + key.ext.len() + 2, true)
                }
                Entry::File(_) => key.name.len() + key.ext.len() + 3,
            };
            let len = record_len(id_len);
            offset = place_record(offset, len) + len;
        }
        let n = sectors_for(offset as u64);
        // The record of a directory states its length in bytes, in 32 bits.
        if n * SECTOR > u64::from(u32::MAX) {
            return Err(IsoError::ImageTooLarge(format!(
                "directory {:?} needs {n} sectors",
                tree.dirs[d].name
            )));
        }
        sectors[d] = n;
    }
    Ok((path_table_size, sectors))
}

fn to_u32(v: u64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| IsoError::ImageTooLarge(format!("{what} needs {v} sectors")))
}

impl IsoLayout {
    pub(crate) fn compute(tree: &IsoTree) -> Result<Self> {
        let n = tree.dirs.len();
        // Breadth first over sorted children is exactly the ECMA-119 6.9.1 path table order:
        // by level, then parent number, then identifier.
        let mut dir_order = Vec::with_capacity(n);
        dir_order.push(0);
        let mut i = 0;
        while i < dir_order.len() {
            let d = dir_order[i];
            dir_order.extend(tree.dirs[d].entries.values().filter_map(|e| match e {
                Entry::Dir(c) => Some(*c),
                Entry::File(_) => None,
            }));
            i += 1;
        }
        if dir_order.len() != n {
            return Err(IsoError::Internal(
                "directory tree is not connected".to_string(),
            ));
        }
        if n > usize::from(u16::MAX) {
            return Err(IsoError::ImageTooLarge(format!(
                "{n} directories; path tables number at most 65535"
            )));
        }
        let mut dir_number = vec![0u16; n];
        for (pos, &d) in dir_order.iter().enumerate() {
            // n <= u16::MAX was checked above.
            dir_number[d] = (pos + 1) as u16;
        }

        // PVD, the Joliet SVD when there is one, the terminator.
        let descriptors = if tree.joliet { 3 } else { 2 };
        let (path_table_size, primary_sectors) = tree_sizes(tree, &dir_order, false)?;
        let pt_sectors = sectors_for(path_table_size);
        let l_path_table = u64::from(PVD_SECTOR + descriptors);
        let m_path_table = l_path_table + pt_sectors;
        let mut next = m_path_table + pt_sectors;

        let mut dir_extent = vec![0u32; n];
        let mut dir_sectors = vec![0u32; n];
        for &d in &dir_order {
            dir_extent[d] = to_u32(next, "directory extent")?;
            dir_sectors[d] = to_u32(primary_sectors[d], "directory")?;
            next += primary_sectors[d];
        }

        let joliet = if tree.joliet {
            let (size, sectors) = tree_sizes(tree, &dir_order, true)?;
            let pt = sectors_for(size);
            let l = next;
            let m = l + pt;
            next = m + pt;
            let mut extent = vec![0u32; n];
            let mut secs = vec![0u32; n];
            for &d in &dir_order {
                extent[d] = to_u32(next, "Joliet directory extent")?;
                secs[d] = to_u32(sectors[d], "Joliet directory")?;
                next += sectors[d];
            }
            Some(JolietLayout {
                path_table_size: to_u32(size, "the Joliet path table")?,
                l_path_table: to_u32(l, "the Joliet path table")?,
                m_path_table: to_u32(m, "the Joliet path table")?,
                dir_extent: extent,
                dir_sectors: secs,
            })
        } else {
            None
        };

        let first_file_sector = next;
        let mut file_extent = Vec::with_capacity(tree.files.len());
        for f in &tree.files {
            file_extent.push(to_u32(next, "file extent")?);
            next += sectors_for(f.size);
        }
        let total_sectors = to_u32(next, "the volume")?;
        // A zero-length file owns no sector; point it at one inside the volume rather than
        // past its end, which some checkers flag.
        for (f, ext) in tree.files.iter().zip(file_extent.iter_mut()) {
            if f.size == 0 && *ext >= total_sectors {
                *ext = total_sectors - 1;
            }
        }

        Ok(Self {
            total_sectors,
            path_table_size: to_u32(path_table_size, "the path table")?,
            l_path_table: to_u32(l_path_table, "the path table")?,
            m_path_table: to_u32(m_path_table, "the path table")?,
            dir_order,
            dir_number,
            dir_extent,
            dir_sectors,
            file_extent,
            first_file_sector: to_u32(first_file_sector, "the directories")?,
            joliet,
        })
    }

    /// Volume Space Size: sectors in the image.
    pub fn total_sectors(&self) -> u32 {
        self.total_sectors
    }

    /// Bytes in the image.
    pub fn image_size(&self) -> u64 {
        u64::from(self.total_sectors) * SECTOR
    }

    /// Sectors before the first file's data: descriptors, path tables and directories.
    pub fn metadata_sectors(&self) -> u32 {
        self.first_file_sector
    }

    /// First sector of the file with the given index (in order of addition).
    pub fn file_sector(&self, index: usize) -> Option<u32> {
        self.file_extent.get(index).copied()
    }

    /// Bytes of the path table (each of L and M).
    pub fn path_table_size(&self) -> u32 {
        self.path_table_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_size;

    #[test]
    fn record_lengths_are_even() {
        assert_eq!(record_len(1), 34);
        assert_eq!(record_len(2), 36);
        assert_eq!(record_len(8), 42);
        assert_eq!(record_len("DICOMDIR.;1".len()), 44);
        assert_eq!(path_record_len(1), 10);
        assert_eq!(path_record_len(5), 14);
        assert_eq!(path_record_len(8), 16);
    }

    #[test]
    fn records_do_not_cross_sectors() {
        assert_eq!(place_record(0, 34), 0);
        assert_eq!(place_record(2000, 48), 2000);
        assert_eq!(place_record(2001, 48), 2048);
        assert_eq!(place_record(2048 + 2001, 48), 4096);
    }

    #[test]
    fn empty_tree_layout() {
        let l = IsoTree::new().layout().unwrap();
        // 16 system + PVD + terminator + L + M + root directory.
        assert_eq!(l.total_sectors(), 21);
        assert_eq!(l.path_table_size(), 10);
        assert_eq!(l.metadata_sectors(), 21);
    }

    #[test]
    fn large_directory_spans_sectors() {
        let mut t = IsoTree::new();
        // "Fnnnnnnn.;1" records are 44 bytes: 46 fit a sector (2024 bytes), the first holding
        // `.` and `..` too.
        for i in 0..200 {
            t.add_file(&format!("D/F{i:07}"), 10).unwrap();
        }
        let l = t.layout().unwrap();
        let sub = 1; // directory index of D
        let per_first: usize = (2048 - 68) / 44;
        let expected = 1 + (200 - per_first).div_ceil(2048 / 44);
        assert_eq!(l.dir_sectors[sub] as usize, expected);
        assert_eq!(
            l.total_sectors(),
            20 + 1 + expected as u32 + 200,
            "one sector per 10-byte file"
        );
    }

    #[test]
    fn files_laid_out_in_insertion_order() {
        let mut t = IsoTree::new();
        t.add_file("ZZZ", 5000).unwrap();
        t.add_file("AAA", 0).unwrap();
        t.add_file("MMM", 2048).unwrap();
        t.add_file("BBB", 1).unwrap();
        t.add_file("LAST_EMP", 0).unwrap();
        let l = t.layout().unwrap();
        let first = l.metadata_sectors();
        assert_eq!(l.file_sector(0), Some(first));
        assert_eq!(
            l.file_sector(1),
            Some(first + 3),
            "empty file points at the next data"
        );
        assert_eq!(l.file_sector(2), Some(first + 3));
        assert_eq!(l.file_sector(3), Some(first + 4));
        assert_eq!(l.total_sectors(), first + 5);
        assert_eq!(l.file_sector(4), Some(first + 4), "stays inside the volume");
        assert_eq!(
            image_size([("ZZZ", 5000), ("AAA", 0), ("MMM", 2048), ("BBB", 1)]).unwrap(),
            u64::from(first + 5) * 2048
        );
    }

    #[test]
    fn path_table_order_is_level_parent_name() {
        let mut t = IsoTree::new();
        t.add_dir("B/Z").unwrap();
        t.add_dir("A/Y").unwrap();
        t.add_dir("B/A").unwrap();
        t.add_dir("A/X/DEEP").unwrap();
        let l = t.layout().unwrap();
        let names: Vec<&str> = l
            .dir_order
            .iter()
            .map(|&d| t.dirs[d].name.as_str())
            .collect();
        assert_eq!(names, ["", "A", "B", "X", "Y", "A", "Z", "DEEP"]);
    }
}

//! The directory hierarchy (ECMA-119 6.8), walked breadth first from the root directory
//! record: every extent inside the volume, `.` and `..` where they belong, no directory
//! reached twice, bounded depth and entry counts, and no two structures sharing a sector.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Seek};

use super::error::{At, ReadError};
use super::record::{joliet_name, level1_name, parse_record, DirRecord};
use super::volume::VolumeInfo;
use super::{Image, IsoDir, IsoFile};
use crate::SECTOR_SIZE;

/// ECMA-119 6.8.2.1: at most eight levels, the root being the first.
pub const MAX_LEVELS: usize = 8;
/// More files and directories than fit on any disc we make.
pub const MAX_ENTRIES: u64 = 1 << 20;
/// A directory of 16 MiB would hold some 350,000 records.
pub const MAX_DIRECTORY_BYTES: u32 = 16 << 20;

const SECTOR: u64 = SECTOR_SIZE as u64;

struct Pending {
    path: String,
    extent: u32,
    len: u32,
    parent_extent: u32,
    level: usize,
}

/// Walks one tree: the primary (Level 1 names) or, with `joliet`, the Joliet tree (UCS-2
/// names); `volume` gives the volume space, the descriptors and that tree's path tables.
pub(crate) fn walk<R: Read + Seek>(
    img: &mut Image<R>,
    volume: &VolumeInfo,
    root: &DirRecord,
    joliet: bool,
) -> Result<(Vec<IsoDir>, Vec<IsoFile>), ReadError> {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut queue = VecDeque::from([Pending {
        path: String::new(),
        extent: root.extent,
        len: root.data_len,
        parent_extent: root.extent,
        level: 1,
    }]);
    let mut entries = 0u64;
    while let Some(d) = queue.pop_front() {
        let shown = if d.path.is_empty() { "/" } else { &d.path };
        check_extent(shown, d.extent, d.len, volume)?;
        if d.len == 0 {
            return Err(ReadError::Record {
                at: At {
                    sector: d.extent.into(),
                    offset: 0,
                },
                dir: shown.to_string(),
                reason: "directory of length 0 (it must hold . and ..)".into(),
            });
        }
        if d.len > MAX_DIRECTORY_BYTES {
            return Err(ReadError::TooMany {
                what: "bytes in one directory",
                limit: MAX_DIRECTORY_BYTES.into(),
            });
        }
        if !seen_dirs.insert(d.extent) {
            return Err(ReadError::Loop {
                path: shown.to_string(),
                extent: d.extent,
            });
        }
        let mut data = vec![0u8; d.len as usize];
        img.read_at(
            u64::from(d.extent) * SECTOR,
            &mut data,
            &format!("directory {shown:?}"),
        )?;
        let records = records_of(&data, d.extent, shown)?;
        entries += records.len() as u64;
        if entries > MAX_ENTRIES {
            return Err(ReadError::TooMany {
                what: "directory records",
                limit: MAX_ENTRIES,
            });
        }
        check_dots(&records, &d, shown, joliet)?;
        let mut names = HashMap::new();
        let mut children = Vec::new();
        for (at, r) in records.into_iter().skip(2) {
            if r.identifier == [0] || r.identifier == [1] {
                return Err(ReadError::Record {
                    at,
                    dir: shown.to_string(),
                    reason: "a second . or .. record".into(),
                });
            }
            let name = if joliet {
                joliet_name(&r.identifier, r.is_dir)
            } else {
                level1_name(&r.identifier, r.is_dir)
            }
            .map_err(|reason| ReadError::BadName {
                at,
                dir: shown.to_string(),
                name: String::from_utf8_lossy(&r.identifier).into_owned(),
                reason,
            })?;
            let path = if d.path.is_empty() {
                name.clone()
            } else {
                format!("{}/{name}", d.path)
            };
            if names.insert(name, ()).is_some() {
                return Err(ReadError::Duplicate { path });
            }
            unsupported(&path, &r)?;
            if r.is_dir {
                if d.level + 1 > MAX_LEVELS {
                    return Err(ReadError::TooDeep {
                        path,
                        limit: MAX_LEVELS,
                    });
                }
                children.push(Pending {
                    path,
                    extent: r.extent,
                    len: r.data_len,
                    parent_extent: d.extent,
                    level: d.level + 1,
                });
            } else {
                check_extent(&path, r.extent, r.data_len, volume)?;
                files.push(IsoFile {
                    path,
                    extent: r.extent,
                    size: r.data_len,
                });
            }
        }
        dirs.push(IsoDir {
            path: d.path.clone(),
            extent: d.extent,
            size: d.len,
        });
        queue.extend(children);
    }
    check_overlaps(volume, &dirs, &files)?;
    Ok((dirs, files))
}

/// The records of one directory extent: a zero length byte means the rest of that sector is
/// unused (ECMA-119 6.8.1.1), and no record crosses a sector boundary.
fn records_of(data: &[u8], extent: u32, dir: &str) -> Result<Vec<(At, DirRecord)>, ReadError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let in_sector = pos % SECTOR_SIZE;
        if data[pos] == 0 {
            pos += SECTOR_SIZE - in_sector;
            continue;
        }
        let at = At {
            sector: u64::from(extent) + (pos / SECTOR_SIZE) as u64,
            offset: in_sector,
        };
        let r = parse_record(&data[pos..], at, dir)?;
        if in_sector + r.len > SECTOR_SIZE {
            return Err(ReadError::Record {
                at,
                dir: dir.to_string(),
                reason: format!("record of {} bytes crosses the sector boundary", r.len),
            });
        }
        pos += r.len;
        out.push((at, r));
    }
    Ok(out)
}

/// ECMA-119 6.8.2.2: the first record is the directory itself, the second its parent (the
/// root's parent is the root).
///
/// In a Joliet tree a `..` that points at the directory itself is let through: libisofs
/// (xorriso 1.5.4) writes its Joliet trees so, and every reader we know ignores `..` records.
/// Our writer's own Joliet `..` records are checked in `tests/iso_joliet.rs`.
fn check_dots(
    records: &[(At, DirRecord)],
    d: &Pending,
    dir: &str,
    joliet: bool,
) -> Result<(), ReadError> {
    let missing = |what: &str| ReadError::Record {
        at: At {
            sector: d.extent.into(),
            offset: 0,
        },
        dir: dir.to_string(),
        reason: format!("the directory does not start with its {what} record"),
    };
    let (at, dot) = records.first().ok_or_else(|| missing("."))?;
    if dot.identifier != [0] || !dot.is_dir {
        return Err(missing("."));
    }
    if dot.extent != d.extent || dot.data_len != d.len {
        return Err(ReadError::Record {
            at: *at,
            dir: dir.to_string(),
            reason: format!(
                "'.' says sector {} and {} bytes, the parent's record sector {} and {} bytes",
                dot.extent, dot.data_len, d.extent, d.len
            ),
        });
    }
    let (at, dotdot) = records.get(1).ok_or_else(|| missing(".."))?;
    if dotdot.identifier != [1] || !dotdot.is_dir {
        return Err(missing(".."));
    }
    if dotdot.extent != d.parent_extent && !(joliet && dotdot.extent == d.extent) {
        return Err(ReadError::Record {
            at: *at,
            dir: dir.to_string(),
            reason: format!(
                "'..' points at sector {}, the parent directory is at sector {}",
                dotdot.extent, d.parent_extent
            ),
        });
    }
    Ok(())
}

fn unsupported(path: &str, r: &DirRecord) -> Result<(), ReadError> {
    let reason = if r.multi_extent {
        "a multi-extent file"
    } else if r.interleaved {
        "interleaved recording"
    } else if r.ext_attr_len != 0 {
        "an extended attribute record"
    } else if r.associated {
        "an associated file"
    } else {
        return Ok(());
    };
    Err(ReadError::Unsupported {
        path: path.to_string(),
        reason: reason.to_string(),
    })
}

fn check_extent(path: &str, extent: u32, len: u32, volume: &VolumeInfo) -> Result<(), ReadError> {
    let end = u64::from(extent) + u64::from(len).div_ceil(SECTOR);
    // A zero-length file owns no sector; its extent may be any sector up to the end.
    if end > u64::from(volume.sectors) || u64::from(extent) > u64::from(volume.sectors) {
        return Err(ReadError::OutsideVolume {
            path: path.to_string(),
            extent,
            len,
            sectors: volume.sectors,
        });
    }
    Ok(())
}

/// No directory or file shares a sector with another, the descriptors or the path tables.
fn check_overlaps(
    volume: &VolumeInfo,
    dirs: &[IsoDir],
    files: &[IsoFile],
) -> Result<(), ReadError> {
    let mut spans: Vec<(u64, u64, String)> =
        vec![(0, volume.descriptors_end, "the volume descriptors".into())];
    let table_sectors = u64::from(volume.path_table_size).div_ceil(SECTOR);
    for &t in &volume.path_tables {
        let start = u64::from(t);
        spans.push((
            start,
            start + table_sectors,
            format!("the path table at sector {t}"),
        ));
    }
    for d in dirs {
        let start = u64::from(d.extent);
        let name = if d.path.is_empty() { "/" } else { &d.path };
        spans.push((
            start,
            start + u64::from(d.size).div_ceil(SECTOR),
            format!("directory {name:?}"),
        ));
    }
    for f in files.iter().filter(|f| f.size > 0) {
        let start = u64::from(f.extent);
        spans.push((
            start,
            start + u64::from(f.size).div_ceil(SECTOR),
            format!("file {:?}", f.path),
        ));
    }
    spans.sort_by_key(|s| (s.0, s.1));
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(ReadError::Overlap {
                first: w[0].2.clone(),
                first_start: w[0].0,
                first_end: w[0].1,
                second: w[1].2.clone(),
                second_start: w[1].0,
            });
        }
    }
    Ok(())
}

/// The Joliet tree's directories and path tables share no sector with the primary tree's
/// (its files are the primary's: the same extents).
pub(crate) fn check_apart(
    primary: &VolumeInfo,
    dirs: &[IsoDir],
    joliet: &super::volume::JolietInfo,
    jdirs: &[IsoDir],
) -> Result<(), ReadError> {
    let span = |extent: u32, bytes: u64| {
        (
            u64::from(extent),
            u64::from(extent) + bytes.div_ceil(SECTOR),
        )
    };
    let mut ours: Vec<((u64, u64), String)> = dirs
        .iter()
        .map(|d| {
            (
                span(d.extent, d.size.into()),
                format!("directory {:?}", d.path),
            )
        })
        .collect();
    for &t in &primary.path_tables {
        ours.push((
            span(t, primary.path_table_size.into()),
            format!("the path table at sector {t}"),
        ));
    }
    let mut theirs: Vec<((u64, u64), String)> = jdirs
        .iter()
        .map(|d| {
            (
                span(d.extent, d.size.into()),
                format!("Joliet directory {:?}", d.path),
            )
        })
        .collect();
    for &t in &joliet.path_tables {
        theirs.push((
            span(t, joliet.path_table_size.into()),
            format!("the Joliet path table at sector {t}"),
        ));
    }
    for ((a0, a1), a) in &ours {
        for ((b0, b1), b) in &theirs {
            if a0 < b1 && b0 < a1 {
                return Err(ReadError::Overlap {
                    first: a.clone(),
                    first_start: *a0,
                    first_end: *a1,
                    second: b.clone(),
                    second_start: *b0,
                });
            }
        }
    }
    Ok(())
}

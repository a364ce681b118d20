//! Start-up recovery: make the index agree with the archive folder.
//!
//! The index is committed without syncing SQLite's WAL (one flush less per instance): the
//! archive files are the durable record. A file is written in place under `archive/` and
//! indexed only after it is complete and synced; its File Meta carries a seal (the dataset's
//! length and hash, `seal::SEAL_CREATOR_UID`) written last. After a power loss the index may
//! lack the last stores (or still list a file a replacement removed), and files that were still
//! arriving may be there, cut short in any order the disk chose; this walk re-indexes every
//! archive file the index lacks whose seal holds (the newest copy wins when a SOP Instance UID
//! appears twice), removes those whose seal does not, and drops rows whose file is gone. An
//! acknowledged instance is never lost, and no row points at a partial file.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use rusqlite::{params, Connection, OptionalExtension};
use tracing::warn;

use dcmdisc_dicom::uid::IMPLICIT_VR_LE;
use dcmdisc_dicom::{keys, meta, tag};

use crate::seal::{read_seal, SEAL_LEN};
use crate::{db, index, ArchiveError};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub reindexed: usize,
    pub removed_files: usize,
    pub dropped_rows: usize,
}

fn mtime(p: &Path) -> SystemTime {
    fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

pub fn recover(
    conn: &mut Connection,
    data_dir: &Path,
    archive_dir: &str,
) -> Result<Recovered, ArchiveError> {
    let mut out = Recovered::default();
    // First: a removal a crash interrupted is finished, so that no row of it is dropped
    // alone and none of its files is re-indexed below (see retention.rs).
    crate::retention::finish_pending(conn, data_dir)?;
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT id, path FROM instance")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut known: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for (id, path) in rows {
        if data_dir.join(&path).is_file() {
            known.insert(path, id);
        } else {
            conn.execute("DELETE FROM instance WHERE id = ?1", params![id])?;
            out.dropped_rows += 1;
        }
    }
    let root = data_dir.join(archive_dir);
    let mut orphans = Vec::new();
    for sub in fs::read_dir(&root)
        .map_err(|e| ArchiveError::Io {
            path: root.clone(),
            source: e,
        })?
        .flatten()
    {
        let Ok(files) = fs::read_dir(sub.path()) else {
            continue;
        };
        for f in files.flatten() {
            let rel = format!(
                "{archive_dir}/{}/{}",
                sub.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            );
            if known.contains_key(&rel) {
                continue;
            }
            if f.metadata().is_ok_and(|m| m.len() == 0) {
                // An unused spare (see spares.rs), or a file that never got its first byte.
                let _ = fs::remove_file(f.path());
                continue;
            }
            orphans.push((mtime(&f.path()), f.path(), rel));
        }
    }
    // Oldest first, so that a newer copy of the same instance replaces an older one.
    orphans.sort();
    for (_, path, rel) in orphans {
        match reindex(conn, data_dir, &path, &rel) {
            Ok(true) => out.reindexed += 1,
            Ok(false) => {
                if fs::remove_file(&path).is_ok() {
                    out.removed_files += 1;
                }
            }
            Err(e) => {
                warn!(path = %path.display(), error = %e,
                    "cannot re-index an archive file; removing it");
                if fs::remove_file(&path).is_ok() {
                    out.removed_files += 1;
                }
            }
        }
    }
    conn.execute(
        "DELETE FROM patient
         WHERE NOT EXISTS (SELECT 1 FROM instance WHERE instance.patient = patient.id)",
        [],
    )?;
    if out != Recovered::default() {
        warn!(
            reindexed = out.reindexed,
            removed_files = out.removed_files,
            dropped_rows = out.dropped_rows,
            "index recovered from the archive folder"
        );
    }
    Ok(out)
}

/// Index one complete archive file. `Ok(false)`: not wanted (unparseable, or an older copy of
/// an instance the index already holds in a newer file).
fn reindex(
    conn: &mut Connection,
    data_dir: &Path,
    path: &Path,
    rel: &str,
) -> Result<bool, ArchiveError> {
    let io = |e| ArchiveError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = File::open(path).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    let mut head = Vec::with_capacity(64 * 1024);
    (&mut f)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(io)?;
    let Ok(m) = meta::parse_meta(&head) else {
        return Ok(false);
    };
    if let Some(seal) = read_seal(&m) {
        if !seal_holds(&mut f, m.dataset_offset, size, &seal).map_err(io)? {
            warn!(path = %path.display(), "incomplete archive file (its seal does not match)");
            return Ok(false);
        }
    }
    let id = m.identity();
    let source_ae = m.source_ae_title();
    let explicit = id.transfer_syntax_uid != IMPLICIT_VR_LE;
    let Ok(keys) = keys::scan(
        BufReader::with_capacity(16 * 1024, f),
        m.dataset_offset,
        size,
        explicit,
    ) else {
        return Ok(false);
    };
    if keys.string(tag::SOP_INSTANCE_UID).as_deref() != Some(id.sop_instance_uid.as_str()) {
        return Ok(false);
    }
    let existing: Option<String> = conn
        .query_row(
            "SELECT path FROM instance WHERE sop_instance_uid = ?1",
            params![id.sop_instance_uid],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = &existing {
        if mtime(&data_dir.join(other)) > mtime(path) {
            return Ok(false);
        }
    }
    let tx = crate::db::write_tx(conn)?;
    let replaced = index::upsert_instance(
        &tx,
        &index::NewInstance {
            keys: &keys,
            sop_class_uid: &id.sop_class_uid,
            sop_instance_uid: &id.sop_instance_uid,
            transfer_syntax: &id.transfer_syntax_uid,
            size,
            path: rel,
            calling_ae: &source_ae,
            // From the File Meta (empty for files written before it was kept there).
            called_ae: &m.receiving_ae_title(),
            received: &db::now_rfc3339(),
        },
    )?;
    db::insert_log(
        &tx,
        &db::LogEntry {
            time: db::now_rfc3339(),
            status: "0000".into(),
            calling_ae: source_ae.clone(),
            peer: String::new(),
            sop_class_uid: id.sop_class_uid.clone(),
            sop_instance_uid: id.sop_instance_uid.clone(),
            reason: "re-indexed from the archive at start-up".into(),
        },
        0,
    )?;
    tx.commit()?;
    if let Some(old) = replaced.filter(|o| o != rel) {
        let _ = fs::remove_file(data_dir.join(old));
    }
    Ok(true)
}

/// Whether the dataset (`offset..size` of `f`) has the length and hash the seal records.
fn seal_holds(
    f: &mut File,
    offset: u64,
    size: u64,
    seal: &[u8; SEAL_LEN],
) -> std::io::Result<bool> {
    let mut want_len = [0u8; 8];
    want_len.copy_from_slice(&seal[..8]);
    let mut want_hash = [0u8; 8];
    want_hash.copy_from_slice(&seal[8..]);
    if offset.checked_add(u64::from_le_bytes(want_len)) != Some(size) {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(offset))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.digest() == u64::from_le_bytes(want_hash))
}

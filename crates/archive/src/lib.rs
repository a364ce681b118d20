//! The dcmdisc archive: turns received dataset bytes into durable Part 10 files, indexes them
//! in the control database (SQLite) by patient collection, and keeps the remote AE table and
//! the extended store log in that same database.
//!
//! It is not the network layer (it never sees a PDU) and not the media layer (it knows nothing
//! of DICOMDIRs or discs); both reach it through this crate's API. File names are generated
//! here and never derived from a UID or a name received from the network.

mod admission;
pub mod burners;
pub mod commitment;
mod conversion;
pub mod db;
pub mod events;
mod file;
pub mod index;
mod job_moves;
pub mod jobs;
pub mod mcm;
pub mod notify;
pub mod recover;
pub mod retention;
mod schema;
pub mod seal;
mod spares;
pub mod today;
mod triggers;
pub mod users;

use std::fs::{self, File};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tracing::{info, warn};
use xxhash_rust::xxh3::Xxh3;

use admission::HostCache;
use file::{FileWriter, PrefixedFile, Workers};
use spares::Spares;

pub use admission::{Resolver, SystemResolver, NEGATIVE_TTL, POSITIVE_TTL};
pub use burners::BurnerState;
pub use commitment::{PendingReport, ReportRef};
pub use conversion::{is_out_of_space, ConversionError, ConvertFn, ImportConversion};
pub use db::{LogEntry, LogQuery, LogStatus, RemoteAe, RemoteMatch};
pub use dcmdisc_dicom::Keys;
pub use events::EventRow;
pub use index::{Collection, InstanceRow};
pub use jobs::{DiscRow, JobRow, NewJob};
pub use mcm::{McmRequest, RequestInstance};
pub use notify::NotifyTargetRow;
pub use retention::{CollectionFacts, Removal, RemovedRow, Step as RemovalStep};
pub use schema::SCHEMA_VERSION;
pub use triggers::{NewRuleJob, StoredInstance};
pub use users::{AuditRow, CountBy, SessionRow, UserRow};

use dcmdisc_dicom::uid::{self, IMPLICIT_VR_LE};
use dcmdisc_dicom::{keys, meta, tag};
const DB_FILE: &str = "control.sqlite";
const TMP_DIR: &str = "tmp";
const ARCHIVE_DIR: &str = "archive";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("control database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error(
        "{}: control database schema version {found}, but this dcmdisc knows versions up \
         to {supported} only (made by a newer dcmdisc?); refusing to use it",
        path.display()
    )]
    SchemaVersion {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    pub data_dir: PathBuf,
    /// fsync each archive file and its folder entry (and, after an import conversion, the
    /// converted file and its folder) before acknowledging. The index commit is not synced
    /// either way: the archive files are the durable record, and start-up recovery rebuilds
    /// what a power loss took from the index (see recover.rs).
    pub durable: bool,
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
    /// `None` = store as received (bit-preserving).
    pub conversion: Option<ImportConversion>,
}

/// Why an instance was not stored; the network layer maps these to DIMSE statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// Disk full or another write/index failure (A700).
    OutOfResources,
    /// The dataset cannot be parsed (C000).
    CannotUnderstand,
    /// The dataset's SOP Class/Instance UID differ from the command's (A900).
    Mismatch,
    /// The dataset's SOP Instance UID breaks the rules for received UIDs (0117, Invalid SOP
    /// Instance); other invalid UIDs are `CannotUnderstand`.
    InvalidSopInstance,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub reason: String,
}

impl Failure {
    fn new(kind: FailureKind, reason: impl Into<String>) -> Self {
        Failure {
            kind,
            reason: reason.into(),
        }
    }

    fn io(what: &str, e: &std::io::Error) -> Self {
        let reason = match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => format!("{what}: disk full"),
            _ => format!("{what}: {e}"),
        };
        Failure::new(FailureKind::OutOfResources, reason)
    }
}

/// What the network layer knows about an incoming instance before its dataset arrives.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    pub calling_ae: String,
    /// The AE title the sender called (ours), kept in the index row for the job rules.
    pub called_ae: String,
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub path: PathBuf,
    pub size: u64,
    pub replaced: bool,
    pub patient_id_generated: bool,
    /// Modality (0008,0060) of the instance, for the job rules.
    pub modality: Option<String>,
}

pub struct Archive {
    cfg: ArchiveConfig,
    /// The index writer. One connection: SQLite serializes writers anyway.
    index: Mutex<Connection>,
    /// Remote lookups and the store log, so they never wait behind an index commit's fsync.
    /// Held for one query at a time: never across a host-name lookup.
    aux: Mutex<Connection>,
    /// Resolved remote AE host names (see admission.rs).
    hosts: HostCache,
    /// `archive/00` .. `archive/ff`, created at open and kept open for fsync.
    dirs: Vec<Arc<File>>,
    workers: Arc<Workers>,
    spares: Arc<Spares>,
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Checkpoint the index's WAL every 200 ms while the archive is open (passive: it never makes
/// a writer wait), so the WAL stays small without any commit paying for it.
fn spawn_checkpointer(archive: &Arc<Archive>) -> Result<(), ArchiveError> {
    let conn = db::open(&archive.cfg.data_dir.join(DB_FILE), false)?;
    let weak = Arc::downgrade(archive);
    let spawned = std::thread::Builder::new()
        .name("index-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if weak.strong_count() == 0 {
                break;
            }
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                warn!(error = %e, "index checkpoint failed");
            }
        });
    if spawned.is_err() {
        // Without the thread, let SQLite checkpoint inside commits as it does by default.
        lock(&archive.index).pragma_update(None, "wal_autocheckpoint", 1000)?;
    }
    Ok(())
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves SQLite itself consistent (transactions roll back),
    // so the connection is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Archive {
    /// Open for serving: create the layout, clear what an earlier run left half-written, and
    /// drop archive files that never made it into the index.
    pub fn open(cfg: ArchiveConfig) -> Result<Arc<Archive>, ArchiveError> {
        Archive::open_with_resolver(cfg, Arc::new(SystemResolver))
    }

    /// As `open`, resolving remote AE host names with `resolver` instead of the system's.
    pub fn open_with_resolver(
        cfg: ArchiveConfig,
        resolver: Arc<dyn Resolver>,
    ) -> Result<Arc<Archive>, ArchiveError> {
        let dir = &cfg.data_dir;
        fs::create_dir_all(dir.join(TMP_DIR)).map_err(io_err(dir))?;
        fs::create_dir_all(dir.join(ARCHIVE_DIR)).map_err(io_err(dir))?;
        let tmp = dir.join(TMP_DIR);
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let _ = fs::remove_file(entry.path());
        }
        // All 256 folders up front: creating one is no work for the first store that needs it.
        let root = dir.join(ARCHIVE_DIR);
        let mut dirs = Vec::with_capacity(256);
        let mut created = false;
        for sub in 0..=255u8 {
            let d = root.join(format!("{sub:02x}"));
            if !d.is_dir() {
                fs::create_dir(&d).map_err(io_err(&d))?;
                created = true;
            }
            dirs.push(Arc::new(File::open(&d).map_err(io_err(&d))?));
        }
        if created && cfg.durable {
            fsync_dir(&root).map_err(io_err(&root))?;
        }
        // Not synced per commit even when durable: the archive files are the durable record
        // and `recover` rebuilds what a power loss takes from the index (see recover.rs).
        let index = db::open(&dir.join(DB_FILE), false)?;
        // Checkpoints (which copy the WAL into the database and sync it) run on a thread of
        // their own, not inside some instance's commit: measured, they made up about half of
        // the per-instance commit time.
        index.pragma_update(None, "wal_autocheckpoint", 0)?;
        let aux = db::open(&dir.join(DB_FILE), false)?;
        let archive = Archive {
            cfg,
            index: Mutex::new(index),
            aux: Mutex::new(aux),
            hosts: HostCache::new(resolver),
            dirs,
            workers: Arc::new(Workers::default()),
            spares: Arc::new(Spares::default()),
        };
        recover::recover(
            &mut lock(&archive.index),
            &archive.cfg.data_dir,
            ARCHIVE_DIR,
        )?;
        let archive = Arc::new(archive);
        spawn_checkpointer(&archive)?;
        spares::spawn(
            &archive.spares,
            archive.cfg.data_dir.join(ARCHIVE_DIR),
            archive.dirs.clone(),
            archive.cfg.durable,
        );
        Ok(archive)
    }

    pub fn data_dir(&self) -> &Path {
        &self.cfg.data_dir
    }

    /// Is this calling AE configured, and for this peer address? The database is consulted
    /// under its lock, the host name resolved after it is released (see admission.rs).
    pub fn match_remote(&self, ae: &str, peer: IpAddr) -> Result<RemoteMatch, ArchiveError> {
        let host = db::remote_host(&lock(&self.aux), ae)?;
        Ok(admission::decide(host.as_deref(), peer, &self.hosts))
    }

    /// The configured host and port of a remote AE, and whether it takes TLS (`None`: not
    /// configured).
    pub fn remote_address(
        &self,
        ae: &str,
    ) -> Result<Option<(String, Option<u16>, bool)>, ArchiveError> {
        db::remote_address(&lock(&self.aux), ae)
    }

    /// Whether archive files are synced before their C-STORE is answered (`durable`).
    pub fn is_durable(&self) -> bool {
        self.cfg.durable
    }

    /// The SOP Class UID and collection of each of `sop_instance_uids` that is in the index. An indexed
    /// instance's file is complete (sealed) and, when durable, was synced before its C-STORE
    /// was answered. Read on the second connection: stores are not held up.
    pub fn indexed_classes(
        &self,
        sop_instance_uids: &[&str],
    ) -> Result<std::collections::HashMap<String, (String, i64)>, ArchiveError> {
        db::indexed_classes(&lock(&self.aux), sop_instance_uids)
    }

    pub fn record(&self, entry: &LogEntry, status: u16) {
        if let Err(e) = db::insert_log(&lock(&self.aux), entry, status) {
            warn!(error = %e, "could not write the store log");
        }
    }

    /// Start receiving one instance: the File Meta is written now, the dataset as it comes.
    /// The file is created at its final place under a generated name; until `finish` seals
    /// it, recovery treats it as incomplete.
    pub fn begin(self: &Arc<Self>, incoming: Incoming) -> Result<InstanceWriter, Failure> {
        let (meta, seal_at) = meta::FileMeta {
            media_storage_sop_class_uid: &incoming.sop_class_uid,
            media_storage_sop_instance_uid: &incoming.sop_instance_uid,
            transfer_syntax_uid: &incoming.transfer_syntax,
            implementation_class_uid: &self.cfg.implementation_class_uid,
            implementation_version_name: &self.cfg.implementation_version_name,
            source_ae_title: &incoming.calling_ae,
            private: Some((seal::SEAL_CREATOR_UID, &seal::SEAL_UNSET)),
        }
        .encode_received(&incoming.called_ae);
        let seal_at = seal_at.unwrap_or(0);
        // A file made ahead by the spares thread when there is one: creating a file (inode
        // allocation) costs tens of microseconds, and far more on ext4 without a journal soon
        // after many files were deleted (it scans the recently freed inodes each time).
        let spare = self.spares.take();
        let used_spare = spare.is_some();
        let (sub, name) = spare.unwrap_or_else(spares::fresh_name);
        let rel = format!("{ARCHIVE_DIR}/{sub:02x}/{name}.dcm");
        let path = self.cfg.data_dir.join(&rel);
        // A spare's name was made durable with its folder before it was handed out.
        let dir = if self.cfg.durable && !used_spare {
            self.dirs.get(sub as usize).cloned()
        } else {
            None
        };
        let mut out = FileWriter::create(&path, used_spare, dir, self.workers.clone(), meta.len())
            .map_err(|e| Failure::io("creating the archive file", &e))?;
        if !self.cfg.durable {
            out.page_cache_when_behind();
        }
        let removed = |e: &std::io::Error| {
            let _ = fs::remove_file(&path);
            Failure::io("writing the archive file", e)
        };
        out.write(&meta).map_err(|e| removed(&e))?;
        Ok(InstanceWriter {
            archive: self.clone(),
            name,
            rel,
            path,
            out: Some(out),
            meta_len: meta.len() as u64,
            seal_at,
            hash: Xxh3::new(),
            incoming,
            done: false,
        })
    }
}

/// One instance being received. Dropped unfinished, it removes its file.
pub struct InstanceWriter {
    archive: Arc<Archive>,
    name: String,
    rel: String,
    path: PathBuf,
    out: Option<FileWriter>,
    meta_len: u64,
    seal_at: usize,
    hash: Xxh3,
    incoming: Incoming,
    done: bool,
}

fn closed() -> Failure {
    Failure::new(FailureKind::OutOfResources, "archive file already closed")
}

impl InstanceWriter {
    pub fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        let out = self.out.as_mut().ok_or_else(closed)?;
        self.hash.update(data);
        out.write(data)
            .map_err(|e| Failure::io("writing the archive file", &e))
    }

    /// Room for up to `max` next dataset bytes, to be received in place; see `commit`.
    pub fn buffer(&mut self, max: usize) -> Result<&mut [u8], Failure> {
        let out = self.out.as_mut().ok_or_else(closed)?;
        out.buffer(max)
            .map_err(|e| Failure::io("writing the archive file", &e))
    }

    /// The first `n` bytes of the slice `buffer` returned now hold dataset bytes.
    pub fn commit(&mut self, n: usize) -> Result<(), Failure> {
        let out = self.out.as_mut().ok_or_else(closed)?;
        let hash = &mut self.hash;
        out.commit(n, |b| hash.update(b))
            .map_err(|e| Failure::io("writing the archive file", &e))
    }

    /// Make the instance durable and indexed. Only after this returns `Ok` may it be
    /// acknowledged. `log` (its status and reason are filled in here) goes into the store log
    /// in the same transaction as the index row: one commit per instance.
    pub fn finish(mut self, log: LogEntry) -> Result<Stored, Failure> {
        let durable = self.archive.cfg.durable;
        let mut out = self.out.take().ok_or_else(closed)?;
        let seal = seal::Seal {
            dataset_len: out.len() - self.meta_len,
            hash: self.hash.digest(),
        }
        .to_bytes();
        let at = self.seal_at;
        let size = out
            .complete(durable, |head| {
                if let Some(v) = head.get_mut(at..at + seal::SEAL_LEN) {
                    v.copy_from_slice(&seal);
                }
            })
            .map_err(|e| Failure::io("writing the archive file", &e))?;

        let keys = {
            let explicit = self.incoming.transfer_syntax != IMPLICIT_VR_LE;
            keys::scan(
                PrefixedFile::new(out.prefix(), &self.path),
                self.meta_len,
                size,
                explicit,
            )
            .map_err(|e| {
                Failure::new(
                    FailureKind::CannotUnderstand,
                    format!("cannot parse dataset: {e}"),
                )
            })?
        };
        check_uids(&keys)?;
        let inc = &self.incoming;
        let (Some(class), Some(instance)) = (
            keys.string(tag::SOP_CLASS_UID),
            keys.string(tag::SOP_INSTANCE_UID),
        ) else {
            return Err(Failure::new(
                FailureKind::CannotUnderstand,
                "dataset lacks SOP Class/Instance UID (0008,0016)/(0008,0018)",
            ));
        };
        if class != inc.sop_class_uid || instance != inc.sop_instance_uid {
            return Err(Failure::new(
                FailureKind::Mismatch,
                format!(
                    "dataset SOP Class/Instance {class}/{instance} differ from the command's {}/{}",
                    inc.sop_class_uid, inc.sop_instance_uid
                ),
            ));
        }
        if durable {
            out.file()
                .sync_data()
                .map_err(|e| Failure::io("syncing the archive file", &e))?;
        }
        drop(out);
        let (size, stored_ts) = self.convert_on_import(size, durable)?;
        let result = self.index(&keys, size, &stored_ts, log);
        let modality = keys.string(tag::MODALITY);
        self.done = true;
        let data_dir = &self.archive.cfg.data_dir;
        match result {
            Ok((replaced, generated)) => {
                if let Some(old) = &replaced {
                    if old != &self.rel {
                        if let Err(e) = fs::remove_file(data_dir.join(old)) {
                            warn!(path = %old, error = %e, "could not remove the replaced file");
                        }
                    }
                    info!(sop_instance_uid = %inc.sop_instance_uid, "replaced an earlier copy");
                }
                Ok(Stored {
                    path: self.path.clone(),
                    size,
                    replaced: replaced.is_some(),
                    patient_id_generated: generated,
                    modality,
                })
            }
            Err(f) => {
                let _ = fs::remove_file(&self.path);
                Err(f)
            }
        }
    }

    /// Convert the received file to the configured destination syntax, replacing it. A failed
    /// conversion keeps the original, as received: the instance is never lost for it. Only a
    /// conversion that failed for lack of space fails the store (A700), as any full disk does.
    fn convert_on_import(&self, size: u64, durable: bool) -> Result<(u64, String), Failure> {
        let received = (size, self.incoming.transfer_syntax.clone());
        let Some(conv) = self.archive.cfg.conversion.clone() else {
            return Ok(received);
        };
        if conv.target_ts == self.incoming.transfer_syntax {
            return Ok(received);
        }
        let out = self
            .archive
            .cfg
            .data_dir
            .join(TMP_DIR)
            .join(format!("{}.conv", self.name));
        match conversion::run(&conv, &self.path, &out, durable) {
            Ok(len) => {
                if durable {
                    // The name now points at another inode: make that durable too.
                    let dir = self.path.parent().unwrap_or(&self.archive.cfg.data_dir);
                    fsync_dir(dir).map_err(|e| Failure::io("syncing the archive folder", &e))?;
                }
                Ok((len, conv.target_ts))
            }
            Err(e) => {
                let _ = fs::remove_file(&out);
                let reason = conversion::chain(e.as_ref());
                if conversion::is_out_of_space(e.as_ref()) {
                    // A full disk is a full disk whoever met it (A700): the instance is not
                    // acknowledged, and its file goes with the writer.
                    warn!(
                        sop_instance_uid = %self.incoming.sop_instance_uid,
                        to = %conv.target_ts, "conversion failed for lack of space: {reason}"
                    );
                    return Err(Failure::new(
                        FailureKind::OutOfResources,
                        format!("converting to {}: disk full", conv.target_ts),
                    ));
                }
                warn!(
                    sop_instance_uid = %self.incoming.sop_instance_uid,
                    from = %self.incoming.transfer_syntax, to = %conv.target_ts,
                    "conversion failed, storing as received: {reason}"
                );
                Ok(received)
            }
        }
    }

    fn index(
        &self,
        keys: &Keys,
        size: u64,
        stored_ts: &str,
        mut log: LogEntry,
    ) -> Result<(Option<String>, bool), Failure> {
        let rel = self.rel.as_str();
        let received = db::now_rfc3339();
        let inc = &self.incoming;
        let conn = lock(&self.archive.index);
        let db_fail = |e: rusqlite::Error| {
            let full = matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull));
            Failure::new(
                FailureKind::OutOfResources,
                if full {
                    "index: disk full".to_string()
                } else {
                    format!("index: {e}")
                },
            )
        };
        let tx = crate::db::write_tx(&conn).map_err(db_fail)?;
        let replaced = index::upsert_instance(
            &tx,
            &index::NewInstance {
                keys,
                sop_class_uid: &inc.sop_class_uid,
                sop_instance_uid: &inc.sop_instance_uid,
                transfer_syntax: stored_ts,
                size,
                path: rel,
                calling_ae: &inc.calling_ae,
                called_ae: &inc.called_ae,
                received: &received,
            },
        )
        .map_err(|e| match e {
            ArchiveError::Db(e) => db_fail(e),
            other => Failure::new(FailureKind::OutOfResources, other.to_string()),
        })?;
        log.status = "0000".into();
        log.reason = if replaced.is_some() {
            "stored, replacing an earlier copy"
        } else {
            "stored"
        }
        .into();
        db::insert_log(&tx, &log, 0).map_err(|e| match e {
            ArchiveError::Db(e) => db_fail(e),
            other => Failure::new(FailureKind::OutOfResources, other.to_string()),
        })?;
        tx.commit().map_err(db_fail)?;
        let generated = keys.string(tag::PATIENT_ID).is_none();
        Ok((replaced, generated))
    }
}

/// The UIDs that identify the instance and name its DICOMDIR records, checked with the rules
/// for received UIDs (`dcmdisc_dicom::uid::check_received`): a reader, or the DICOMDIR, would
/// break on any other. An empty or absent one is left to the checks that follow.
fn check_uids(keys: &Keys) -> Result<(), Failure> {
    for (tag, name) in [
        (tag::SOP_CLASS_UID, "SOP Class UID (0008,0016)"),
        (tag::SOP_INSTANCE_UID, "SOP Instance UID (0008,0018)"),
        (tag::STUDY_INSTANCE_UID, "Study Instance UID (0020,000D)"),
        (tag::SERIES_INSTANCE_UID, "Series Instance UID (0020,000E)"),
    ] {
        let Some(raw) = keys.raw(tag) else { continue };
        match uid::check_received(raw) {
            Ok(_) | Err(uid::BadUid::Empty) => {}
            Err(why) => {
                let kind = if tag == tag::SOP_INSTANCE_UID {
                    FailureKind::InvalidSopInstance
                } else {
                    FailureKind::CannotUnderstand
                };
                return Err(Failure::new(
                    kind,
                    format!(
                        "invalid {name} in the dataset: \"{}\" ({why})",
                        uid::printable(raw)
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl Drop for InstanceWriter {
    fn drop(&mut self) {
        if !self.done {
            self.out = None;
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The control database for the admin commands, which may run while the service does.
///
/// `Send + Sync`: one `Control` can be shared (e.g. in an `Arc`) by HTTP handlers and job
/// workers. Its calls are short queries on one connection and take turns on it.
pub struct Control {
    data_dir: PathBuf,
    conn: Mutex<Connection>,
}

impl Control {
    pub fn open(data_dir: &Path) -> Result<Control, ArchiveError> {
        fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let conn = db::open(&data_dir.join(DB_FILE), true)?;
        Ok(Control {
            data_dir: data_dir.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// SQLite's `PRAGMA data_version`: a number that changes when another connection (the
    /// archive's, another process's: `dcmdisc job create`) has committed since this one last
    /// looked. Reads no table, so an idle job worker can ask every few milliseconds.
    pub fn data_version(&self) -> Result<i64, ArchiveError> {
        Ok(lock(&self.conn).query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    pub fn add_remote(&self, ae: &str, host: &str, port: Option<u16>) -> Result<(), ArchiveError> {
        db::add_remote(&lock(&self.conn), ae, host, port)
    }

    /// Whether associations we open to `ae` use TLS (false: it has no row).
    pub fn set_remote_tls(&self, ae: &str, tls: bool) -> Result<bool, ArchiveError> {
        db::set_remote_tls(&lock(&self.conn), ae, tls)
    }

    pub fn remove_remote(&self, ae: &str) -> Result<bool, ArchiveError> {
        db::remove_remote(&lock(&self.conn), ae)
    }

    pub fn remotes(&self) -> Result<Vec<RemoteAe>, ArchiveError> {
        db::list_remotes(&lock(&self.conn))
    }

    pub fn collections(&self) -> Result<Vec<Collection>, ArchiveError> {
        index::collections(&lock(&self.conn))
    }

    /// Instances with absolute file paths.
    pub fn instances(&self, collection: Option<i64>) -> Result<Vec<InstanceRow>, ArchiveError> {
        let root = fs::canonicalize(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        let mut rows = index::instances(&lock(&self.conn), collection)?;
        for r in &mut rows {
            r.path = root.join(&r.path).to_string_lossy().into_owned();
        }
        Ok(rows)
    }

    pub fn log(&self, limit: u32) -> Result<Vec<LogEntry>, ArchiveError> {
        db::read_log(&lock(&self.conn), limit)
    }

    /// The store log filtered (status, calling AE, since), newest `limit` matches, oldest first.
    pub fn query_log(&self, q: &LogQuery) -> Result<Vec<LogEntry>, ArchiveError> {
        db::query_log(&lock(&self.conn), q)
    }

    // The disc job queue (jobs.rs): each call committed before it returns.

    pub fn create_job(&self, job: &NewJob) -> Result<i64, ArchiveError> {
        jobs::create_job(&lock(&self.conn), job)
    }

    /// See `jobs::create_copy_job`.
    pub fn create_copy_job<E: From<ArchiveError>>(
        &self,
        job: &NewJob,
        from: i64,
        volumes: u32,
        prepare: impl FnOnce(i64) -> Result<(), E>,
    ) -> Result<i64, E> {
        jobs::create_copy_job(&lock(&self.conn), job, from, volumes, prepare)
    }

    pub fn job(&self, id: i64) -> Result<Option<JobRow>, ArchiveError> {
        jobs::job(&lock(&self.conn), id)
    }

    pub fn jobs(&self) -> Result<Vec<JobRow>, ArchiveError> {
        jobs::jobs(&lock(&self.conn))
    }

    /// Jobs in any of `states`, highest priority then oldest first.
    pub fn jobs_in(&self, states: &[&str]) -> Result<Vec<JobRow>, ArchiveError> {
        jobs::jobs_in(&lock(&self.conn), states)
    }

    /// Moves a job to `state` only from one of `from`; answers whether it moved.
    pub fn set_job_state(
        &self,
        id: i64,
        from: &[&str],
        state: &str,
        error: Option<&str>,
        next_action: Option<&str>,
    ) -> Result<bool, ArchiveError> {
        jobs::set_job_state(&lock(&self.conn), id, from, state, error, next_action)
    }

    pub fn set_job_progress(
        &self,
        id: i64,
        stage: &str,
        items: (u64, u64),
        bytes: (u64, u64),
    ) -> Result<(), ArchiveError> {
        jobs::set_job_progress(&lock(&self.conn), id, stage, items, bytes)
    }

    pub fn set_job_priority(
        &self,
        id: i64,
        states: &[&str],
        p: &str,
    ) -> Result<bool, ArchiveError> {
        jobs::set_job_priority(&lock(&self.conn), id, states, p)
    }

    pub fn set_job_volumes(&self, id: i64, volumes: u32) -> Result<(), ArchiveError> {
        jobs::set_job_volumes(&lock(&self.conn), id, volumes)
    }

    pub fn begin_disc(
        &self,
        job: i64,
        volume: u32,
        copy: u32,
        burner: &str,
    ) -> Result<i64, ArchiveError> {
        jobs::begin_disc(&lock(&self.conn), job, volume, copy, burner)
    }

    pub fn finish_disc(
        &self,
        disc: i64,
        outcome: &str,
        reason: &str,
        sha256: &str,
        image: &str,
    ) -> Result<(), ArchiveError> {
        jobs::finish_disc(&lock(&self.conn), disc, outcome, reason, sha256, image)
    }

    pub fn discs(&self, job: i64) -> Result<Vec<DiscRow>, ArchiveError> {
        jobs::discs(&lock(&self.conn), job)
    }

    /// Every job's discs, by job (one query; see `jobs::discs_by_job`).
    pub fn discs_by_job(
        &self,
    ) -> Result<std::collections::HashMap<i64, Vec<DiscRow>>, ArchiveError> {
        jobs::discs_by_job(&lock(&self.conn))
    }

    /// The outcomes of every disc `burner` took, oldest first.
    pub fn burner_outcomes(&self, burner: &str) -> Result<Vec<String>, ArchiveError> {
        jobs::burner_outcomes(&lock(&self.conn), burner)
    }

    // Retention: see the `impl Control` in retention.rs.

    /// Discs left `burning` by a crash, with their place among their burner's discs.
    pub fn burning_discs(&self) -> Result<Vec<(DiscRow, usize)>, ArchiveError> {
        jobs::burning_discs(&lock(&self.conn))
    }

    /// Discs left `burning` by a crash become rejected with `reason`.
    pub fn reject_interrupted(&self, reason: &str) -> Result<usize, ArchiveError> {
        jobs::reject_interrupted(&lock(&self.conn), reason)
    }
}

/// Where the control database of `data_dir` is (or would be created).
pub fn control_database_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

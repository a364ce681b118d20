//! Empty archive files made ahead of need, so that receiving an instance does not wait for
//! the file system to allocate an inode. Measured here: creating a file is tens of
//! microseconds normally, and on ext4 without a journal, soon after many files were deleted,
//! close to a millisecond (every allocation walks the recently freed inodes of its group).
//!
//! A background thread makes a batch of `BATCH` (64) spares whenever fewer than `LOW` (32)
//! are left, so up to `LOW - 1 + BATCH` (95) are ready at a time. Each batch lies in one
//! random archive folder, whose fsync (durable mode) makes all their names durable at once
//! before they are handed out. A spare is an empty `archive/xx/<uuid>.dcm`; start-up
//! recovery removes unused ones (empty files) without complaint.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use tracing::warn;

/// Spares made per batch; a new batch is started when fewer than `LOW` are left.
const BATCH: usize = 64;
const LOW: usize = 32;

#[derive(Default)]
pub(crate) struct Spares {
    ready: Mutex<Vec<(u8, String)>>,
    wake: Condvar,
}

impl Spares {
    /// A spare (folder number, file stem), if one is ready.
    pub(crate) fn take(&self) -> Option<(u8, String)> {
        let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner());
        let spare = ready.pop();
        if ready.len() < LOW {
            self.wake.notify_one();
        }
        spare
    }
}

/// A new archive file name: (folder number, file stem), both from one random UUID, never
/// from anything received.
pub(crate) fn fresh_name() -> (u8, String) {
    let id = uuid::Uuid::new_v4();
    (id.as_bytes()[0], id.simple().to_string())
}

/// Start the thread that keeps spares ready; it ends when `spares` is dropped. Without it
/// (the thread cannot start), files are simply created as instances arrive.
pub(crate) fn spawn(spares: &Arc<Spares>, root: PathBuf, dirs: Vec<Arc<File>>, durable: bool) {
    let weak: Weak<Spares> = Arc::downgrade(spares);
    let started = std::thread::Builder::new()
        .name("archive-spares".into())
        .spawn(move || {
            while let Some(spares) = weak.upgrade() {
                {
                    let ready = spares.ready.lock().unwrap_or_else(|p| p.into_inner());
                    if ready.len() >= LOW {
                        // Re-checked at least every second, so the thread notices the archive
                        // closing.
                        let _ = spares.wake.wait_timeout(ready, Duration::from_secs(1));
                        continue;
                    }
                }
                let made = make_batch(&root, &dirs, durable);
                let failed = made.is_empty();
                spares
                    .ready
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(made);
                drop(spares);
                if failed {
                    // Disk full or similar: try again later rather than spin.
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = started {
        warn!(error = %e, "cannot start the spares thread; files are created as instances arrive");
    }
}

/// Up to `BATCH` new empty files in one random archive folder, whose names are durable (the
/// folder synced) in durable mode; none when the folder cannot be synced.
fn make_batch(root: &Path, dirs: &[Arc<File>], durable: bool) -> Vec<(u8, String)> {
    let (sub, _) = fresh_name();
    let folder = root.join(format!("{sub:02x}"));
    let mut made = Vec::with_capacity(BATCH);
    for _ in 0..BATCH {
        let (_, stem) = fresh_name();
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(folder.join(format!("{stem}.dcm")));
        match created {
            Ok(_) => made.push((sub, stem)),
            Err(e) => {
                warn!(folder = %folder.display(), error = %e, "cannot make spare archive files");
                break;
            }
        }
    }
    if durable {
        if let Some(dir) = dirs.get(sub as usize) {
            if let Err(e) = dir.sync_all() {
                warn!(folder = %folder.display(), error = %e,
                    "cannot sync an archive folder; dropping its spares");
                for (_, stem) in made.drain(..) {
                    let _ = std::fs::remove_file(folder.join(format!("{stem}.dcm")));
                }
            }
        }
    }
    made
}

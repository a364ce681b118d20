//! Read-ahead of the files an export is about to read: the archive writes its instances with
//! `O_DIRECT`, so an export of a collection reads them from the disk, and one file at a time
//! the disk here delivered half of what it does with requests queued (1000 slices of 525 KB:
//! 1.06 s one after the other, 0.55 s with every file asked for first). A thread asks the
//! kernel (`posix_fadvise` WILLNEED) for the files a bounded window beyond the reader's
//! position. A hint only: what the readers read and check is what the files hold.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Files kept asked for beyond the next one to be read.
pub const WINDOW: usize = 32;

/// Where the readers are (`next`: the index of the next file one of them takes) and when
/// they are done, shared with the read-ahead thread.
#[derive(Default)]
pub struct Position {
    pub next: AtomicUsize,
    pub done: AtomicBool,
}

impl Position {
    pub fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// Asks for `paths[i]` while `i` is at most [`WINDOW`] beyond `pos.next`, until every path
/// was asked for or `pos` is done. `None` entries (files in memory) are skipped.
pub fn run(paths: &[Option<&Path>], pos: &Position) {
    for (i, p) in paths.iter().enumerate() {
        while i > pos.next.load(Ordering::Relaxed) + WINDOW {
            if pos.done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if pos.done.load(Ordering::Relaxed) {
            return;
        }
        if let Some(p) = p {
            will_need(p);
        }
    }
}

#[cfg(target_os = "linux")]
fn will_need(p: &Path) {
    use std::os::fd::AsRawFd;
    if let Ok(f) = fs::File::open(p) {
        // SAFETY: a valid open descriptor; the call only schedules reads into the page cache.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_WILLNEED);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn will_need(_: &Path) {}

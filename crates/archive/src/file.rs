//! Writing one archive file while its dataset arrives.
//!
//! Why not a `BufWriter<File>`: measured here, copying each received byte into the page cache
//! cost more CPU than receiving it (every new page-cache page is memory the machine has to
//! fault in), and durability then waited at the end for the kernel to write the whole file.
//! So the body goes to disk with `O_DIRECT`, from a few reused aligned buffers, written by a
//! worker thread while the next bytes arrive: the acknowledgement waits only for the last
//! chunk, two pages and the inode. The head of the file (the File Meta, which carries the
//! completeness seal patched in at the end) and the unaligned tail go through the page cache
//! at the end. Where `O_DIRECT` is refused (tmpfs, some network file systems) every write is
//! an ordinary buffered one and nothing else changes.

use std::alloc::{self, Layout};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Alignment and granularity of direct writes: the largest logical block size in use.
const BLOCK: usize = 4096;
/// Capacity of each aligned buffer; chunks of this size once an instance is large (1 MiB
/// direct writes ran at ~1.9 GB/s here, 256 KiB ones at ~1.35 GB/s, 64 KiB at ~0.6 GB/s).
const BUF_CAP: usize = 1024 * 1024;
/// Chunk size for the first `SMALL_SPAN` bytes: smaller, so that for the common 0.5 MB slice
/// most of the file is on disk before its last byte arrives.
const SMALL_CHUNK: usize = 256 * 1024;
const SMALL_SPAN: u64 = 4 * 1024 * 1024;
/// Writes queued or running per instance; the receiver waits (and TCP pushes back on the
/// sender) when the disk is slower than the network. Bounds memory to (this + 1) buffers.
const MAX_QUEUED: usize = 2;
/// Bytes of the file's start kept in memory: the header walk reads them from here instead of
/// reading back what went to disk.
pub(crate) const PREFIX: usize = 64 * 1024;

/// A heap buffer aligned for `O_DIRECT`.
struct AlignedBuf {
    ptr: NonNull<u8>,
}

// SAFETY: the buffer is plain owned memory; it is moved between threads, never shared.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    fn layout() -> Layout {
        // Both values are non-zero powers of two or multiples of one: this cannot fail.
        Layout::from_size_align(BUF_CAP, BLOCK).unwrap_or_else(|_| Layout::new::<u8>())
    }

    fn new() -> Option<AlignedBuf> {
        // SAFETY: the layout has a non-zero size. Zeroed so that reading it is always defined.
        let p = unsafe { alloc::alloc_zeroed(Self::layout()) };
        NonNull::new(p).map(|ptr| AlignedBuf { ptr })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: ptr points at BUF_CAP initialized bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), BUF_CAP) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), BUF_CAP) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this same layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout()) }
    }
}

enum Job {
    Write {
        file: Arc<File>,
        buf: AlignedBuf,
        start: usize,
        end: usize,
        offset: u64,
    },
    /// fsync a directory, so a new file's name is durable before its data is complete.
    Sync(Arc<File>),
}

type Done = (Option<AlignedBuf>, io::Result<()>);

/// A thread that performs one instance's writes in order, and the buffers it cycles.
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<Done>,
    spare: Vec<AlignedBuf>,
    buffers: usize,
}

impl Worker {
    fn spawn() -> Option<Worker> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (tx, done) = mpsc::channel::<Done>();
        std::thread::Builder::new()
            .name("archive-io".into())
            .spawn(move || {
                for job in rx {
                    let reply = match job {
                        Job::Write {
                            file,
                            buf,
                            start,
                            end,
                            offset,
                        } => {
                            let r = file.write_all_at(&buf.bytes()[start..end], offset);
                            (Some(buf), r)
                        }
                        Job::Sync(dir) => (None, dir.sync_all()),
                    };
                    if tx.send(reply).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker {
            jobs,
            done,
            spare: Vec::new(),
            buffers: 0,
        })
    }
}

/// Idle workers, reused across instances so a thread is not started per file.
#[derive(Default)]
pub(crate) struct Workers(Mutex<Vec<Worker>>);

impl Workers {
    fn take(&self) -> Option<Worker> {
        let idle = self.0.lock().unwrap_or_else(|p| p.into_inner()).pop();
        idle.or_else(Worker::spawn)
    }

    fn give_back(&self, w: Worker) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(w);
    }
}

/// Keep an error's OS code (ENOSPC must still read as "disk full" later).
fn copy_err(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// One file being written. Bytes `0..head` (the File Meta, rounded up to a block) are held
/// back and written last, by `complete`, with the caller's patch applied.
pub(crate) struct FileWriter {
    file: Arc<File>,
    direct: bool,
    worker: Option<Worker>,
    workers: Arc<Workers>,
    /// The chunk being filled, which starts at file offset `cur_off`.
    cur: Option<AlignedBuf>,
    cur_len: usize,
    cur_off: u64,
    head: usize,
    queued: usize,
    error: Option<io::Error>,
    prefix: Vec<u8>,
    prefix_cap: usize,
    len: u64,
}

impl FileWriter {
    /// Create `path` (which must not exist) and queue an fsync of `dir` when given, so the new
    /// name is durable by the time the data is. `head` is the length of the File Meta.
    /// `spare`: `path` is an empty file made ahead (see `Spares`) rather than a new name.
    pub(crate) fn create(
        path: &Path,
        spare: bool,
        dir: Option<Arc<File>>,
        workers: Arc<Workers>,
        head: usize,
    ) -> io::Result<FileWriter> {
        let open = |direct: bool| {
            let mut o = OpenOptions::new();
            o.write(true);
            if !spare {
                o.create_new(true);
            }
            if direct {
                o.custom_flags(libc::O_DIRECT);
            }
            o.open(path)
        };
        let want = cfg!(target_os = "linux");
        let (file, direct) = match open(want) {
            Ok(f) => (f, want),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (open(false)?, false),
            Err(e) => return Err(e),
        };
        let head = head.div_ceil(BLOCK) * BLOCK;
        let prefix_cap = PREFIX.max(head);
        let mut w = FileWriter {
            file: Arc::new(file),
            direct,
            worker: None,
            workers,
            cur: None,
            cur_len: 0,
            cur_off: 0,
            head,
            queued: 0,
            error: None,
            prefix: Vec::with_capacity(prefix_cap),
            prefix_cap,
            len: 0,
        };
        // Buffered files use a worker too: for its reused buffers (a fresh one per file costs
        // more in page faults than the copy it serves) and, as for direct ones, so the copy
        // into the page cache runs beside the receiving thread.
        w.worker = w.workers.take();
        if let (Some(dir), Some(worker)) = (dir.clone(), w.worker.as_ref()) {
            if worker.jobs.send(Job::Sync(dir)).is_ok() {
                w.queued += 1;
            }
        } else if let Some(dir) = dir {
            dir.sync_all()?;
        }
        Ok(w)
    }

    /// The first bytes of the file (up to `PREFIX`, and at least the head).
    pub(crate) fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    fn chunk_target(&self) -> usize {
        if self.cur_off < SMALL_SPAN {
            SMALL_CHUNK
        } else {
            BUF_CAP
        }
    }

    pub(crate) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        if let Some(e) = &self.error {
            return Err(copy_err(e));
        }
        let keep = self.prefix_cap.saturating_sub(self.prefix.len());
        if keep > 0 {
            self.prefix.extend_from_slice(&data[..keep.min(data.len())]);
        }
        while !data.is_empty() {
            if self.cur.is_none() {
                self.cur = Some(self.take_buf()?);
            }
            let target = self.chunk_target();
            let Some(cur) = self.cur.as_mut() else {
                return Err(io::Error::other("no write buffer"));
            };
            let n = (target - self.cur_len).min(data.len());
            cur.bytes_mut()[self.cur_len..self.cur_len + n].copy_from_slice(&data[..n]);
            self.cur_len += n;
            self.len += n as u64;
            data = &data[n..];
            if self.cur_len == target {
                self.flush_chunk()?;
            }
        }
        Ok(())
    }

    /// A free buffer: a spare one, a new one while under the limit, or the next one a
    /// finished write hands back.
    fn take_buf(&mut self) -> io::Result<AlignedBuf> {
        loop {
            let Some(w) = self.worker.as_mut() else {
                return AlignedBuf::new().ok_or_else(|| io::Error::other("out of memory"));
            };
            if let Some(b) = w.spare.pop() {
                return Ok(b);
            }
            if w.buffers < MAX_QUEUED + 1 {
                let b = AlignedBuf::new().ok_or_else(|| io::Error::other("out of memory"))?;
                w.buffers += 1;
                return Ok(b);
            }
            self.wait_one()?;
        }
    }

    /// Collect one finished job. A failed write is remembered and reported by every later
    /// call; the queue is still drained so the worker can serve the next file.
    fn wait_one(&mut self) -> io::Result<()> {
        let Some(w) = self.worker.as_mut() else {
            self.queued = 0;
            return Ok(());
        };
        match w.done.recv() {
            Ok((buf, result)) => {
                self.queued -= 1;
                if let Some(b) = buf {
                    w.spare.push(b);
                }
                if let Err(e) = result {
                    self.error.get_or_insert(e);
                }
            }
            Err(_) => {
                // The thread is gone, and its buffers with it: never reuse this worker.
                self.worker = None;
                self.queued = 0;
                self.error
                    .get_or_insert_with(|| io::Error::other("the archive I/O thread stopped"));
            }
        }
        match &self.error {
            Some(e) => Err(copy_err(e)),
            None => Ok(()),
        }
    }

    /// Where the current chunk's bytes to write start: past the held-back head in the first.
    fn chunk_start(&self) -> usize {
        if self.cur_off == 0 {
            self.head.min(self.cur_len)
        } else {
            0
        }
    }

    fn flush_chunk(&mut self) -> io::Result<()> {
        let start = self.chunk_start();
        let end = self.cur_len;
        let at = self.cur_off + start as u64;
        self.cur_off += end as u64;
        self.cur_len = 0;
        let Some(buf) = self.cur.take() else {
            return Ok(());
        };
        let buf = match self.worker.as_ref() {
            Some(w) if start < end => {
                let job = Job::Write {
                    file: self.file.clone(),
                    buf,
                    start,
                    end,
                    offset: at,
                };
                match w.jobs.send(job) {
                    Ok(()) => {
                        self.queued += 1;
                        return Ok(());
                    }
                    // The thread is gone: write here instead.
                    Err(mpsc::SendError(Job::Write { buf, .. })) => buf,
                    Err(mpsc::SendError(Job::Sync(_))) => return Ok(()),
                }
            }
            _ => buf,
        };
        let written = self.file.write_all_at(&buf.bytes()[start..end], at);
        self.cur = Some(buf);
        written
    }

    fn drain(&mut self) -> io::Result<()> {
        while self.queued > 0 {
            let _ = self.wait_one();
        }
        match &self.error {
            Some(e) => Err(copy_err(e)),
            None => Ok(()),
        }
    }

    /// Write everything still in memory (the head with `patch` applied to it) and wait for the
    /// queued writes. Durability (fdatasync) is the caller's. Returns the file length.
    pub(crate) fn complete(&mut self, patch: impl FnOnce(&mut [u8])) -> io::Result<u64> {
        self.drain()?;
        let start = self.chunk_start();
        if let Some(cur) = self.cur.take() {
            let bytes = &cur.bytes()[start..self.cur_len];
            let at = self.cur_off + start as u64;
            let aligned = if self.direct {
                bytes.len() / BLOCK * BLOCK
            } else {
                0
            };
            let written = (|| {
                if aligned > 0 {
                    self.file.write_all_at(&bytes[..aligned], at)?;
                }
                self.buffered()?;
                self.file
                    .write_all_at(&bytes[aligned..], at + aligned as u64)
            })();
            self.cur = Some(cur);
            written?;
        }
        self.buffered()?;
        let head_len = self.head.min(self.len as usize).min(self.prefix.len());
        patch(&mut self.prefix[..head_len]);
        self.file.write_all_at(&self.prefix[..head_len], 0)?;
        Ok(self.len)
    }

    /// Leave direct mode: what is written from now on is unaligned.
    fn buffered(&mut self) -> io::Result<()> {
        if !self.direct {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = self.file.as_raw_fd();
            // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL take and return ints.
            let ok = unsafe {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                fl >= 0 && libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_DIRECT) == 0
            };
            if !ok {
                return Err(io::Error::last_os_error());
            }
        }
        self.direct = false;
        Ok(())
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        // Queued writes still belong to this file: collect them before the worker serves
        // another one.
        let _ = self.drain();
        if let Some(mut w) = self.worker.take() {
            if let Some(b) = self.cur.take() {
                w.spare.push(b);
            }
            self.workers.give_back(w);
        }
    }
}

/// `Read + Seek` over a file whose first bytes are also in memory: the header walk reads them
/// from memory, and only what lies beyond from the file (opened when first needed).
pub(crate) struct PrefixedFile<'a> {
    prefix: &'a [u8],
    path: &'a Path,
    file: Option<File>,
    pos: u64,
}

impl<'a> PrefixedFile<'a> {
    pub(crate) fn new(prefix: &'a [u8], path: &'a Path) -> io::BufReader<PrefixedFile<'a>> {
        io::BufReader::with_capacity(
            64 * 1024,
            PrefixedFile {
                prefix,
                path,
                file: None,
                pos: 0,
            },
        )
    }
}

impl Read for PrefixedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = if (self.pos as usize) < self.prefix.len() {
            let from = &self.prefix[self.pos as usize..];
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            n
        } else {
            if self.file.is_none() {
                self.file = Some(File::open(self.path)?);
            }
            match self.file.as_ref() {
                Some(f) => f.read_at(buf, self.pos)?,
                None => 0,
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PrefixedFile<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => self.pos.checked_add_signed(d).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")
            })?,
            SeekFrom::End(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "seek from the end",
                ))
            }
        };
        Ok(self.pos)
    }
}

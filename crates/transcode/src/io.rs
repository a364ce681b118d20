//! Positioned, buffered input and output.
//!
//! [`Output`] has a counting mode (no file): the first pass of a conversion runs the very
//! same encoder into it to learn the output length of every defined-length sequence and item
//! before the second pass writes them.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TranscodeError};

const BUF: usize = 256 * 1024;

pub(crate) struct Input {
    r: BufReader<File>,
    pos: u64,
    len: u64,
    path: PathBuf,
}

impl Input {
    pub fn open(path: &Path) -> Result<Self> {
        let err = |source| TranscodeError::Io {
            path: path.to_owned(),
            source,
        };
        let f = File::open(path).map_err(err)?;
        let len = f.metadata().map_err(err)?.len();
        Ok(Input {
            r: BufReader::with_capacity(BUF, f),
            pos: 0,
            len,
            path: path.to_owned(),
        })
    }

    fn io(&self, source: io::Error) -> TranscodeError {
        TranscodeError::Io {
            path: self.path.clone(),
            source,
        }
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn need(&self, n: u64) -> Result<()> {
        if n > self.remaining() {
            return Err(TranscodeError::Truncated {
                needed: self.pos.saturating_add(n),
                len: self.len,
            });
        }
        Ok(())
    }

    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.need(buf.len() as u64)?;
        self.r.read_exact(buf).map_err(|e| self.io(e))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Reads `n` bytes into a new vector (after checking that the file has them).
    pub fn read_vec(&mut self, n: u64) -> Result<Vec<u8>> {
        self.need(n)?;
        let mut v = vec![0u8; n as usize];
        self.read_exact(&mut v)?;
        Ok(v)
    }

    /// Appends `n` bytes to `v`.
    pub fn read_append(&mut self, n: u64, v: &mut Vec<u8>) -> Result<()> {
        self.need(n)?;
        let start = v.len();
        v.resize(start + n as usize, 0);
        self.read_exact(&mut v[start..])
    }

    pub fn skip(&mut self, n: u64) -> Result<()> {
        self.need(n)?;
        let off = i64::try_from(n).map_err(|_| TranscodeError::Truncated {
            needed: u64::MAX,
            len: self.len,
        })?;
        self.r.seek_relative(off).map_err(|e| self.io(e))?;
        self.pos += n;
        Ok(())
    }

    pub fn seek(&mut self, pos: u64) -> Result<()> {
        if pos > self.len {
            return Err(TranscodeError::Truncated {
                needed: pos,
                len: self.len,
            });
        }
        self.r.seek(SeekFrom::Start(pos)).map_err(|e| self.io(e))?;
        self.pos = pos;
        Ok(())
    }

    /// Copies `n` bytes to `out` in buffer-sized chunks (skips them when `out` only counts).
    pub fn copy_to(&mut self, n: u64, out: &mut Output) -> Result<()> {
        self.need(n)?;
        if out.is_counting() {
            self.skip(n)?;
            out.advance(n);
            return Ok(());
        }
        let mut left = n;
        while left > 0 {
            let path = &self.path;
            let buf = self.r.fill_buf().map_err(|source| TranscodeError::Io {
                path: path.clone(),
                source,
            })?;
            if buf.is_empty() {
                return Err(TranscodeError::Truncated {
                    needed: self.pos + left,
                    len: self.pos,
                });
            }
            let k = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            out.write(&buf[..k])?;
            self.r.consume(k);
            self.pos += k as u64;
            left -= k as u64;
        }
        Ok(())
    }
}

impl Input {
    /// Copies `n` bytes to `out` with each `unit`-byte group reversed (a Big Endian value
    /// written Little Endian); `n` is a whole number of units (the caller checks).
    pub fn copy_swapped_to(&mut self, n: u64, unit: usize, out: &mut Output) -> Result<()> {
        if unit <= 1 || out.is_counting() {
            return self.copy_to(n, out);
        }
        self.need(n)?;
        // A multiple of every unit (2, 4, 8), so no unit straddles two chunks.
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = n;
        while left > 0 {
            let k = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.read_exact(&mut buf[..k])?;
            crate::swap::swap(&mut buf[..k], unit);
            out.write(&buf[..k])?;
            left -= k as u64;
        }
        Ok(())
    }
}

pub(crate) struct Output {
    w: Option<BufWriter<File>>,
    pos: u64,
    path: PathBuf,
}

impl Output {
    /// An output that only counts bytes.
    pub fn counting() -> Self {
        Output {
            w: None,
            pos: 0,
            path: PathBuf::new(),
        }
    }

    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|source| TranscodeError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Output {
            w: Some(BufWriter::with_capacity(BUF, f)),
            pos: 0,
            path: path.to_owned(),
        })
    }

    pub fn is_counting(&self) -> bool {
        self.w.is_none()
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn advance(&mut self, n: u64) {
        self.pos += n;
    }

    pub fn write(&mut self, b: &[u8]) -> Result<()> {
        if let Some(w) = self.w.as_mut() {
            w.write_all(b).map_err(|source| TranscodeError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Flushes and closes the file; returns the number of bytes written.
    pub fn finish(self) -> Result<u64> {
        if let Some(w) = self.w {
            let path = self.path;
            let f = w.into_inner().map_err(|e| TranscodeError::Io {
                path: path.clone(),
                source: e.into_error(),
            })?;
            drop(f);
        }
        Ok(self.pos)
    }
}

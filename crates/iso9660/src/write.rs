//! Streaming the image: the descriptors and directories from memory, then each file's data
//! through one buffer or file to file in the kernel, checked against the layout as it goes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::descriptors::{terminator, Tree};
use crate::layout::{SECTOR, SYSTEM_AREA_SECTORS};
use crate::{FileSource, IsoBuilder, IsoError, Result, SECTOR_SIZE};

/// Output buffer. Sources are read into it and written out from it, so it should still be in
/// the CPU's L2 cache (1 MiB per core here) when written. In alternating runs of the generic
/// path on a 680 MB tree, 256 KiB took 0.24-0.27 s and 1 MiB 0.23-1.33 s; large page-cache
/// writes are erratic on our VMs in any case, which is why files go file to file when they can.
const IO_BUFFER_SIZE: usize = 256 * 1024;

impl IsoBuilder {
    pub(crate) fn write_impl(
        &self,
        sink: &mut dyn Sink,
        progress: Option<&mut dyn FnMut(u64, u64)>,
    ) -> Result<u64> {
        let layout = self.layout()?;
        let mut out = ImageWriter {
            sink,
            buf: vec![0u8; IO_BUFFER_SIZE],
            filled: 0,
            written: 0,
            total: layout.image_size(),
            progress,
        };

        out.zeros(SYSTEM_AREA_SECTORS as usize * SECTOR_SIZE)?;
        let trees: &[Tree] = match layout.joliet {
            Some(_) => &[Tree::Primary, Tree::Joliet],
            None => &[Tree::Primary],
        };
        for &tree in trees {
            out.put(&self.volume_descriptor(&layout, tree)?)?;
        }
        out.put(&terminator())?;
        // The primary's path tables and directories, then Joliet's (the layout's order).
        for &tree in trees {
            let (l_table, m_table) = self.path_tables(&layout, tree)?;
            out.put(&l_table)?;
            out.put(&m_table)?;
            for &d in &layout.dir_order {
                out.put(&self.directory_extent(&layout, tree, d)?)?;
            }
        }
        if out.position() != u64::from(layout.first_file_sector) * SECTOR {
            return Err(IsoError::Internal(
                "metadata size differs from the layout".to_string(),
            ));
        }
        for (source, &sector) in self.sources.iter().zip(&layout.file_extent) {
            if source.size() == 0 {
                continue;
            }
            if out.position() != u64::from(sector) * SECTOR {
                return Err(IsoError::Internal(
                    "file data position differs from the layout".to_string(),
                ));
            }
            match source {
                FileSource::Bytes(data) => out.put(data)?,
                FileSource::Path { path, size } => out.copy_file(path, *size)?,
            }
            out.pad_to_sector()?;
        }
        out.finish()?;
        if out.written != layout.image_size() {
            return Err(IsoError::Internal(format!(
                "wrote {} bytes, layout says {}",
                out.written,
                layout.image_size()
            )));
        }
        Ok(out.written)
    }
}

/// The writer's view of its destination: any `Write`, or a `File` that can take data straight
/// from another file.
pub(crate) trait Sink {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    fn as_file(&mut self) -> Option<&mut File> {
        None
    }
}

pub(crate) struct PlainSink<W>(pub(crate) W);

impl<W: Write> Sink for PlainSink<W> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

pub(crate) struct FileSink<'a>(pub(crate) &'a mut File);

impl Sink for FileSink<'_> {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        // Plain files have no user-space buffer; durability (fsync) is the caller's choice.
        Ok(())
    }
    fn as_file(&mut self) -> Option<&mut File> {
        Some(self.0)
    }
}

/// Source files at least this large go file to file in the kernel. Measured with bench/iso.sh
/// trees of 60 kB-34 MB files, the in-kernel copy was as fast as the buffered one at the
/// median and far steadier (the buffered path had runs 2-4x slower); below this size the
/// system calls of a copy per file start to dominate.
const DIRECT_COPY_MIN: u64 = 64 * 1024;

struct ImageWriter<'s, 'p> {
    sink: &'s mut dyn Sink,
    buf: Vec<u8>,
    filled: usize,
    /// Bytes handed to the sink.
    written: u64,
    total: u64,
    progress: Option<&'p mut dyn FnMut(u64, u64)>,
}

impl ImageWriter<'_, '_> {
    fn position(&self) -> u64 {
        self.written + self.filled as u64
    }

    fn flush_buf(&mut self) -> Result<()> {
        if self.filled > 0 {
            self.sink
                .write_all(&self.buf[..self.filled])
                .map_err(IsoError::Write)?;
            self.written += self.filled as u64;
            self.filled = 0;
            self.report();
        }
        Ok(())
    }

    fn report(&mut self) {
        if let Some(p) = self.progress.as_mut() {
            p(self.written, self.total);
        }
    }

    fn put(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = data.len().min(self.buf.len() - self.filled);
            self.buf[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled == self.buf.len() {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    fn zeros(&mut self, mut n: usize) -> Result<()> {
        while n > 0 {
            let k = n.min(self.buf.len() - self.filled);
            self.buf[self.filled..self.filled + k].fill(0);
            self.filled += k;
            n -= k;
            if self.filled == self.buf.len() {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    fn pad_to_sector(&mut self) -> Result<()> {
        let rem = (self.position() % SECTOR) as usize;
        if rem != 0 {
            self.zeros(SECTOR_SIZE - rem)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_buf()?;
        self.sink.flush().map_err(IsoError::Write)
    }

    fn copy_file(&mut self, path: &Path, expected: u64) -> Result<()> {
        let source_err = |source| IsoError::Source {
            path: path.to_path_buf(),
            source,
        };
        let changed = |found: String| IsoError::SourceSizeChanged {
            path: path.to_path_buf(),
            expected,
            found,
        };
        let mut src = File::open(path).map_err(source_err)?;
        let now = src.metadata().map_err(source_err)?.len();
        if now != expected {
            return Err(changed(format!("{now} bytes")));
        }

        let copied = if expected >= DIRECT_COPY_MIN && self.sink.as_file().is_some() {
            self.flush_buf()?;
            let dst = self
                .sink
                .as_file()
                .ok_or_else(|| IsoError::Internal("file sink vanished".to_string()))?;
            // io::copy between two files uses copy_file_range/sendfile on Linux.
            let n =
                io::copy(&mut (&mut src).take(expected), dst).map_err(|source| IsoError::Copy {
                    path: path.to_path_buf(),
                    source,
                })?;
            self.written += n;
            self.report();
            n
        } else {
            self.read_into_buffer(&mut src, expected, path)?
        };
        if copied < expected {
            return Err(changed(format!("only {copied} bytes when read")));
        }
        // A file that grew after the metadata check would silently lose its tail.
        let mut probe = [0u8; 1];
        let extra = loop {
            match src.read(&mut probe) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(source_err(e)),
            }
        };
        if extra > 0 {
            return Err(changed("more bytes when read".to_string()));
        }
        Ok(())
    }

    /// Reads straight into the output buffer, so each byte is copied once in user space.
    fn read_into_buffer(&mut self, src: &mut File, len: u64, path: &Path) -> Result<u64> {
        let mut done = 0u64;
        while done < len {
            let space = self.buf.len() - self.filled;
            let want = space.min(usize::try_from(len - done).unwrap_or(usize::MAX));
            let n = match src.read(&mut self.buf[self.filled..self.filled + want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(IsoError::Source {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            };
            self.filled += n;
            done += n as u64;
            if self.filled == self.buf.len() {
                self.flush_buf()?;
            }
        }
        Ok(done)
    }
}

//! The public face of the writer: collect files with their sources and the volume's
//! identifiers, then write the image to a file or any `Write`.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::chars::{check_text, validate_volume_id};
use crate::write::{FileSink, PlainSink};
use crate::{FileSource, IsoDateTime, IsoError, IsoLayout, IsoTree, Result};

/// Text fields of the Primary Volume Descriptor other than the Volume Identifier.
#[derive(Clone, Debug)]
pub(crate) struct Identifiers {
    pub(crate) system: String,
    pub(crate) volume_set: Option<String>,
    pub(crate) publisher: String,
    pub(crate) data_preparer: String,
    pub(crate) application: String,
}

/// Collects a tree of files with their sources, then writes the image.
#[derive(Clone, Debug)]
pub struct IsoBuilder {
    pub(crate) tree: IsoTree,
    pub(crate) sources: Vec<FileSource>,
    pub(crate) volume_id: String,
    pub(crate) timestamp: IsoDateTime,
    pub(crate) ids: Identifiers,
}

impl IsoBuilder {
    /// `volume_id`: 1–32 d-characters (A–Z, 0–9, `_`; see [`volume_id_from_fileset_id`]).
    /// `timestamp`: recorded in every directory record and as the volume creation and
    /// modification dates.
    pub fn new(volume_id: &str, timestamp: IsoDateTime) -> Result<Self> {
        validate_volume_id(volume_id)?;
        Ok(Self {
            tree: IsoTree::new(),
            sources: Vec::new(),
            volume_id: volume_id.to_string(),
            timestamp,
            ids: Identifiers {
                system: String::new(),
                volume_set: None,
                publisher: String::new(),
                data_preparer: String::new(),
                application: "DCMDISC".to_string(),
            },
        })
    }

    /// System Identifier (≤ 32 a-characters). Empty by default: the system area is unused.
    pub fn set_system_id(&mut self, value: &str) -> Result<&mut Self> {
        check_text("system identifier", value, 32, false)?;
        self.ids.system = value.to_string();
        Ok(self)
    }

    /// Volume Set Identifier (≤ 128 d-characters). Defaults to the Volume Identifier.
    pub fn set_volume_set_id(&mut self, value: &str) -> Result<&mut Self> {
        check_text("volume set identifier", value, 128, true)?;
        self.ids.volume_set = Some(value.to_string());
        Ok(self)
    }

    /// Publisher Identifier (≤ 128 a-characters). Empty by default.
    pub fn set_publisher_id(&mut self, value: &str) -> Result<&mut Self> {
        check_text("publisher identifier", value, 128, false)?;
        self.ids.publisher = value.to_string();
        Ok(self)
    }

    /// Data Preparer Identifier (≤ 128 a-characters). Empty by default.
    pub fn set_data_preparer_id(&mut self, value: &str) -> Result<&mut Self> {
        check_text("data preparer identifier", value, 128, false)?;
        self.ids.data_preparer = value.to_string();
        Ok(self)
    }

    /// Application Identifier (≤ 128 a-characters). `DCMDISC` by default.
    pub fn set_application_id(&mut self, value: &str) -> Result<&mut Self> {
        check_text("application identifier", value, 128, false)?;
        self.ids.application = value.to_string();
        Ok(self)
    }

    /// Adds a file; its data goes after the data of the files added before it.
    pub fn add_file(&mut self, path: &str, source: FileSource) -> Result<()> {
        self.tree.add_file(path, source.size())?;
        self.sources.push(source);
        Ok(())
    }

    /// Also write a Joliet supplementary volume descriptor and tree with the same names
    /// ([`IsoTree::set_joliet`]).
    pub fn set_joliet(&mut self, on: bool) -> &mut Self {
        self.tree.set_joliet(on);
        self
    }

    /// Adds a directory (and its parents), e.g. an empty one.
    pub fn add_dir(&mut self, path: &str) -> Result<()> {
        self.tree.add_dir(path)
    }

    /// The names and sizes added so far.
    pub fn tree(&self) -> &IsoTree {
        &self.tree
    }

    /// Computes where everything goes; [`IsoLayout::image_size`] is the size `write` produces.
    pub fn layout(&self) -> Result<IsoLayout> {
        self.tree.layout()
    }

    /// Writes the image to `out`; returns the number of bytes written.
    pub fn write(&self, out: impl Write) -> Result<u64> {
        self.write_impl(&mut PlainSink(out), None)
    }

    /// As [`write`](Self::write), calling `progress(bytes_written, image_size)` as it goes.
    pub fn write_with_progress(
        &self,
        out: impl Write,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        self.write_impl(&mut PlainSink(out), Some(&mut progress))
    }

    /// Writes the image at the current position of `file`. Source files are copied file to
    /// file (`copy_file_range` on Linux), which spares the copy through user space.
    pub fn write_to_file(&self, file: &mut File) -> Result<u64> {
        self.write_impl(&mut FileSink(file), None)
    }

    /// Creates (or truncates) `path` and writes the image there; a failed write removes it.
    pub fn write_to_path(&self, path: impl AsRef<Path>) -> Result<u64> {
        self.write_to_path_impl(path.as_ref(), None)
    }

    /// As [`write_to_path`](Self::write_to_path), with progress reports.
    pub fn write_to_path_with_progress(
        &self,
        path: impl AsRef<Path>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        self.write_to_path_impl(path.as_ref(), Some(&mut progress))
    }

    fn write_to_path_impl(
        &self,
        path: &Path,
        progress: Option<&mut dyn FnMut(u64, u64)>,
    ) -> Result<u64> {
        // Fail on bad input before creating anything.
        self.layout()?;
        let mut file = File::create(path).map_err(|source| IsoError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let result = self.write_impl(&mut FileSink(&mut file), progress);
        if result.is_err() {
            drop(file);
            // Best effort: the write error is what the caller needs to see.
            let _ = std::fs::remove_file(path);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::ts;
    use crate::volume_id_from_fileset_id;

    #[test]
    fn identifier_validation() {
        assert!(IsoBuilder::new("", ts()).is_err());
        assert!(IsoBuilder::new("A B", ts()).is_err());
        assert!(IsoBuilder::new("abc", ts()).is_err());
        assert!(IsoBuilder::new(&"X".repeat(33), ts()).is_err());
        assert!(IsoBuilder::new(&"X".repeat(32), ts()).is_ok());
        assert_eq!(
            volume_id_from_fileset_id("MY SET 01  ").unwrap(),
            "MY_SET_01"
        );
        assert!(volume_id_from_fileset_id("   ").is_err());
        assert!(volume_id_from_fileset_id("a").is_err());

        let mut b = IsoBuilder::new("V", ts()).unwrap();
        b.set_publisher_id("ST. ELSEWHERE (RADIOLOGY), DEPT 3")
            .unwrap();
        assert!(b.set_publisher_id("lowercase").is_err());
        assert!(b.set_publisher_id("_FILE").is_err());
        assert!(b.set_system_id(&"S".repeat(33)).is_err());
        assert!(b.set_volume_set_id("HAS SPACE").is_err());
        b.set_volume_set_id("SET_1").unwrap();
    }
}

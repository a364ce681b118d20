//! The render operation: DICOM files to one JPEG per frame at each instance's default window
//! (crates/render), on every core. What the disc's web content will do for each instance, and
//! what `dcmdisc render` and bench/render.sh run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use dcmdisc_render::{jpeg, Instance, RenderError, Window};

/// What could not be started at all (a file that fails to render is in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum RenderFilesError {
    #[error("creating {}", path.display())]
    OutputFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} and {} would both be written as {name}", first.display(), second.display())]
    SameName {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// One file that could not be rendered, and why.
#[derive(Debug)]
pub struct Failure {
    pub path: PathBuf,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct RenderReport {
    pub files: usize,
    pub frames: usize,
    pub jpeg_bytes: u64,
    pub failures: Vec<Failure>,
}

/// The output names of `input`: `<stem>.jpg`, or `<stem>.<n>.jpg` (n from 1) for each frame of a
/// multi-frame instance.
fn stem(input: &Path) -> String {
    input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into())
}

/// Renders every frame of `input`; with more than one worker, the frames of this one
/// instance are shared among them (a single large multi-frame file uses every core too).
fn render_one(
    input: &Path,
    out: &Path,
    quality: u8,
    workers: usize,
) -> Result<(usize, u64), String> {
    let inst = Instance::open_path(input).map_err(|e| e.to_string())?;
    let stem = stem(input);
    let frames = inst.frames();
    let one = |f: usize| -> Result<u64, String> {
        let img = inst
            .render(f, &Window::Default)
            .map_err(|e: RenderError| format!("frame {}: {e}", f + 1))?;
        let data = jpeg(&img, quality).map_err(|e| e.to_string())?;
        let name = if frames == 1 {
            format!("{stem}.jpg")
        } else {
            format!("{stem}.{}.jpg", f + 1)
        };
        let path = out.join(name);
        std::fs::write(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(data.len() as u64)
    };
    if workers <= 1 || frames == 1 {
        let mut bytes = 0;
        for f in 0..frames {
            bytes += one(f)?;
        }
        return Ok((frames, bytes));
    }
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(frames));
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, frames.max(1)) {
            s.spawn(|| loop {
                let f = next.fetch_add(1, Ordering::Relaxed);
                if f >= frames {
                    break;
                }
                let r = one(f);
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((f, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    // The first failing frame in frame order is the one reported.
    results.sort_by_key(|(f, _)| *f);
    let mut bytes = 0;
    for (_, r) in results {
        bytes += r?;
    }
    Ok((frames, bytes))
}

/// Renders `inputs` into `out` (created if missing) with `threads` workers (0: one per core).
pub fn render_files(
    inputs: &[PathBuf],
    out: &Path,
    quality: u8,
    threads: usize,
) -> Result<RenderReport, RenderFilesError> {
    let mut seen: HashMap<String, &PathBuf> = HashMap::new();
    for p in inputs {
        if let Some(first) = seen.insert(stem(p), p) {
            return Err(RenderFilesError::SameName {
                name: stem(p),
                first: first.clone(),
                second: p.clone(),
            });
        }
    }
    std::fs::create_dir_all(out).map_err(|source| RenderFilesError::OutputFolder {
        path: out.to_path_buf(),
        source,
    })?;
    let threads_total = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    let threads = threads_total.min(inputs.len().max(1));
    let frame_workers = if inputs.len() < threads_total {
        threads_total
    } else {
        1
    };
    let next = AtomicUsize::new(0);
    let report = Mutex::new(RenderReport::default());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(input) = inputs.get(i) else { break };
                // Fewer files than workers: the spare workers help with the frames.
                let r = render_one(input, out, quality, frame_workers);
                let mut rep = report.lock().unwrap_or_else(|p| p.into_inner());
                match r {
                    Ok((frames, bytes)) => {
                        rep.files += 1;
                        rep.frames += frames;
                        rep.jpeg_bytes += bytes;
                    }
                    Err(error) => rep.failures.push(Failure {
                        path: input.clone(),
                        error,
                    }),
                }
            });
        }
    });
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
    report.failures.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// The modality value (Hounsfield units for CT) of stored pixel (`x`, `y`) of frame `frame`
/// (0-based) of the file at `path`, as the disc's renderer computes it; `None` for padding.
/// The viewer's exact mode shows the same number (tests/interop/test_viewer.py).
pub fn pixel_value(path: &Path, frame: usize, x: usize, y: usize) -> Result<Option<f64>, String> {
    let inst = Instance::open_path(path).map_err(|e| e.to_string())?;
    inst.modality_value(frame, x, y).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dcmdisc_dicom::encode::explicit_element;
    use dcmdisc_dicom::meta::FileMeta;
    use dcmdisc_testkit::Scratch;

    /// A 2-frame 2×2 8-bit MONOCHROME2 instance.
    fn two_frames() -> Vec<u8> {
        let mut out = FileMeta {
            media_storage_sop_class_uid: "1.2.840.10008.5.1.4.1.1.7",
            media_storage_sop_instance_uid: "1.2.3",
            transfer_syntax_uid: dcmdisc_dicom::uid::EXPLICIT_VR_LE,
            implementation_class_uid: "2.25.1",
            implementation_version_name: "T",
            source_ae_title: "",
            private: None,
        }
        .encode()
        .0;
        let us = |v: u16| v.to_le_bytes().to_vec();
        for (tag, vr, v) in [
            (0x0028_0002u32, *b"US", us(1)),
            (0x0028_0004, *b"CS", b"MONOCHROME2".to_vec()),
            (0x0028_0008, *b"IS", b"2".to_vec()),
            (0x0028_0010, *b"US", us(2)),
            (0x0028_0011, *b"US", us(2)),
            (0x0028_0100, *b"US", us(8)),
            (0x0028_0101, *b"US", us(8)),
            (0x0028_0102, *b"US", us(7)),
            (0x0028_0103, *b"US", us(0)),
            (0x7FE0_0010, *b"OB", vec![0, 1, 2, 3, 4, 5, 6, 7]),
        ] {
            explicit_element(&mut out, tag, vr, &v);
        }
        out
    }

    #[test]
    fn one_jpeg_per_frame_and_failures_reported() {
        let dir = Scratch::new("app-render");
        let good = dir.join("a.dcm");
        let bad = dir.join("b.dcm");
        std::fs::write(&good, two_frames()).unwrap();
        std::fs::write(&bad, b"not dicom").unwrap();
        let out = dir.join("out");
        let r = render_files(&[good.clone(), bad.clone()], &out, 85, 2).unwrap();
        assert_eq!((r.files, r.frames), (1, 2));
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].path, bad);
        for name in ["a.1.jpg", "a.2.jpg"] {
            assert!(std::fs::read(out.join(name))
                .unwrap()
                .starts_with(&[0xFF, 0xD8]));
        }
        // One file, two workers: its frames are shared, the same files come out.
        let r = render_files(std::slice::from_ref(&good), &dir.join("out3"), 85, 2).unwrap();
        assert_eq!((r.files, r.frames, r.failures.len()), (1, 2, 0));
        for name in ["a.1.jpg", "a.2.jpg"] {
            assert_eq!(
                std::fs::read(out.join(name)).unwrap(),
                std::fs::read(dir.join("out3").join(name)).unwrap()
            );
        }
        // Two inputs that would overwrite each other's output are refused before any work.
        let other = dir.join("sub");
        std::fs::create_dir_all(&other).unwrap();
        let twin = other.join("a.dcm");
        std::fs::write(&twin, two_frames()).unwrap();
        assert!(matches!(
            render_files(&[good, twin], &dir.join("out2"), 85, 1),
            Err(RenderFilesError::SameName { .. })
        ));
        assert!(!dir.join("out2").exists());
    }
}

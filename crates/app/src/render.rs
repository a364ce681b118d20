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

fn render_one(input: &Path, out: &Path, quality: u8) -> Result<(usize, u64), String> {
    let inst = Instance::open_path(input).map_err(|e| e.to_string())?;
    let stem = stem(input);
    let frames = inst.frames();
    let mut bytes = 0u64;
    for f in 0..frames {
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
        bytes += data.len() as u64;
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
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .min(inputs.len().max(1));
    let next = AtomicUsize::new(0);
    let report = Mutex::new(RenderReport::default());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(input) = inputs.get(i) else { break };
                let r = render_one(input, out, quality);
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

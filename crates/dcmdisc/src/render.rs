//! `dcmdisc render`: DICOM files to one JPEG per frame at the default window.

use std::path::PathBuf;

use anyhow::{bail, Result};
use dcmdisc_app::render::render_files;

#[derive(clap::Args)]
pub struct Args {
    /// DICOM Part 10 files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Folder for the JPEGs (created if missing): FILE's name with .jpg, or .N.jpg per frame.
    #[arg(long)]
    out: PathBuf,
    /// JPEG quality, 1-100.
    #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
    quality: u8,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

pub fn run(args: Args) -> Result<()> {
    let report = render_files(&args.files, &args.out, args.quality, args.threads)?;
    for f in &report.failures {
        eprintln!("dcmdisc: {}: {}", f.path.display(), f.error);
    }
    println!(
        "{} files, {} frames, {} bytes of JPEG in {}",
        report.files,
        report.frames,
        report.jpeg_bytes,
        args.out.display()
    );
    if !report.failures.is_empty() {
        bail!(
            "{} of {} files not rendered",
            report.failures.len(),
            args.files.len()
        );
    }
    Ok(())
}

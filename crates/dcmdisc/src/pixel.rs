//! `dcmdisc pixel`: the modality value of one stored pixel, as the disc's renderer and the
//! viewer's exact mode compute it (Hounsfield units for CT; "padding" for Pixel Padding).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use dcmdisc_app::render::pixel_value;

#[derive(clap::Args)]
pub struct Args {
    /// A DICOM Part 10 file.
    file: PathBuf,
    /// Column of the pixel, from 0 at the left.
    #[arg(long)]
    x: usize,
    /// Row of the pixel, from 0 at the top.
    #[arg(long)]
    y: usize,
    /// Frame, from 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    frame: u32,
}

pub fn run(args: Args) -> Result<()> {
    let frame = args.frame as usize - 1;
    match pixel_value(&args.file, frame, args.x, args.y)
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?
    {
        Some(v) => println!("{v}"),
        None => println!("padding"),
    }
    Ok(())
}

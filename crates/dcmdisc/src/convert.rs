//! `dcmdisc convert`: one file to another transfer syntax.

use std::path::PathBuf;

use anyhow::Result;
use dcmdisc_app::config::ConvertTarget;
use dcmdisc_app::Config;

#[derive(clap::Args)]
pub struct Args {
    /// The DICOM Part 10 file to convert.
    input: PathBuf,
    /// Where to write the converted file (created or replaced).
    output: PathBuf,
    /// Transfer syntax to write: explicit-le or implicit-le.
    #[arg(long, default_value = "explicit-le")]
    to: ConvertTarget,
}

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let report = dcmdisc_app::convert::convert(cfg, &args.input, &args.output, args.to)?;
    println!(
        "{}: {} -> {} ({} bytes){}",
        args.output.display(),
        report.from_ts,
        report.to_ts,
        report.bytes_written,
        if report.lossy_source {
            ", lossy source"
        } else {
            ""
        }
    );
    Ok(())
}

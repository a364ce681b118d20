//! `dcmdisc man [--dir DIR]`: the manual pages, generated from this binary's own clap
//! definition so that they cannot drift from the command line. Hidden: the Debian package
//! (scripts/deb.sh) and whoever wants a page call it; `man dcmdisc` is how people read it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;

#[derive(clap::Args)]
pub struct Args {
    /// Write dcmdisc.1 and one page for each subcommand (dcmdisc-serve.1, ...) into DIR,
    /// instead of printing dcmdisc.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    // As clap_mangen::generate_to does for the pages it writes: `help` is no page of its own.
    let cmd = crate::Cli::command().disable_help_subcommand(true);
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
        }
    }
    Ok(())
}

//! `dcmdisc burners`: the configured burners and their state.

use anyhow::Result;
use dcmdisc_app::{jobs, Config, Open};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let db = crate::open_control(cfg, Open::Existing)?;
    let rows = jobs::burners(cfg, &db)?;
    if args.json {
        return crate::print_json(&rows);
    }
    for b in rows {
        let kind = serde_json::to_value(b.kind)?;
        let place = match &b.device {
            Some(d) => d.clone(),
            None => b.dir.display().to_string(),
        };
        println!(
            "{}  {}  {}  {}",
            b.name,
            kind.as_str().unwrap_or(""),
            b.state,
            place
        );
        if !b.reason.is_empty() {
            println!("  paused: {}", b.reason);
        }
        for (i, d) in b.discs.iter().enumerate() {
            println!(
                "  disc {:>3} {:<10} {:<8} {}",
                i + 1,
                d.disc,
                d.outcome,
                d.label
            );
        }
    }
    Ok(())
}

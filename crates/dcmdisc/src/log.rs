//! `dcmdisc log`: the extended store log.

use anyhow::Result;
use dcmdisc_app::{Config, Open};

use crate::table::{row, Col};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Show at most N entries (the newest).
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: u32,
}

const COLS: [Col; 6] = [Col::left(0); 6];

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let rows = crate::open_control(cfg, Open::Existing)?.log(args.limit)?;
    if args.json {
        return crate::print_json(&rows);
    }
    for r in rows {
        println!(
            "{}",
            row(
                &COLS,
                &[
                    &r.time,
                    &r.status,
                    &r.calling_ae,
                    &r.peer,
                    &r.sop_instance_uid,
                    &r.reason
                ]
            )
        );
    }
    Ok(())
}

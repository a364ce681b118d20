//! `dcmdisc instances`: the stored instances.

use anyhow::Result;
use dcmdisc_app::{Config, Open};

use crate::table::{row, Col};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only this collection (the `id` of `dcmdisc patients`).
    #[arg(long)]
    collection: Option<i64>,
}

const COLS: [Col; 4] = [
    Col::left(0),
    Col::left(0).after("  "),
    Col::left(0).after("  "),
    Col::left(0).after("  "),
];

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let rows = crate::open_control(cfg, Open::Existing)?.instances(args.collection)?;
    if args.json {
        return crate::print_json(&rows);
    }
    for r in rows {
        println!(
            "{}",
            row(
                &COLS,
                &[
                    &r.collection,
                    &r.sop_instance_uid,
                    &r.transfer_syntax,
                    &r.path
                ]
            )
        );
    }
    Ok(())
}

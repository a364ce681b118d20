//! `dcmdisc jobs`: the disc jobs, oldest first.

use anyhow::Result;
use dcmdisc_app::{jobs, Config, Open};

use crate::table::{row, Col};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

const COLS: [Col; 8] = [
    Col::right(5),
    Col::right(10),
    Col::left(10).after("  "),
    Col::left(6),
    Col::right(5),
    Col::right(7),
    Col::right(6),
    Col::left(0).after("  "),
];

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let db = crate::open_control(cfg, Open::Existing)?;
    let rows = jobs::list(cfg, &db)?;
    if args.json {
        return crate::print_json(&rows);
    }
    println!(
        "{}",
        row(
            &COLS,
            &[
                &"ID",
                &"COLLECTION",
                &"STATE",
                &"PRIO",
                &"DONE",
                &"VOLUMES",
                &"COPIES",
                &"ERROR"
            ]
        )
    );
    for j in rows {
        let pct = format!("{:.0}%", j.progress * 100.0);
        // The error when there is one, else what sets the job apart (supplement, countdown).
        let error = j.error.clone().unwrap_or_else(|| j.note());
        println!(
            "{}",
            row(
                &COLS,
                &[
                    &j.id,
                    &j.collection,
                    &j.state,
                    &j.priority,
                    &pct,
                    &j.volumes,
                    &j.copies,
                    &error
                ]
            )
        );
    }
    Ok(())
}

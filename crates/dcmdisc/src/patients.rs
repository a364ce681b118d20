//! `dcmdisc patients`: the patient collections.

use anyhow::Result;
use dcmdisc_app::{Config, Open};

use crate::table::{row, Col};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

const COLS: [Col; 7] = [
    Col::right(5),
    Col::left(32).after("  "),
    Col::left(24),
    Col::right(7),
    Col::right(6),
    Col::right(9),
    Col::right(12),
];

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let rows = crate::open_control(cfg, Open::Existing)?.patients()?;
    if args.json {
        return crate::print_json(&rows);
    }
    println!(
        "{}",
        row(
            &COLS,
            &[
                &"ID",
                &"PATIENT NAME",
                &"PATIENT ID",
                &"STUDIES",
                &"SERIES",
                &"INSTANCES",
                &"BYTES"
            ]
        )
    );
    for r in rows {
        let id = if r.patient_id_generated {
            format!("{} (generated)", r.patient_id)
        } else {
            r.patient_id
        };
        println!(
            "{}",
            row(
                &COLS,
                &[
                    &r.id,
                    &r.patient_name,
                    &id,
                    &r.studies,
                    &r.series,
                    &r.instances,
                    &r.bytes
                ]
            )
        );
    }
    Ok(())
}

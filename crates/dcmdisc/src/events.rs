//! `dcmdisc events`: the event log — every job state change and disc, oldest first — as the
//! web API's event stream sends it.

use anyhow::Result;
use dcmdisc_app::events::{self, EventKind};
use dcmdisc_app::{Config, Open};

use crate::table::{row, Col};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only the events after this id (0: from the first).
    #[arg(long, value_name = "ID", default_value_t = 0)]
    after: i64,
    /// Show at most N events (the oldest after --after).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    limit: u32,
}

const COLS: [Col; 6] = [
    Col::right(6),
    Col::left(24).after("  "),
    Col::left(4),
    Col::right(5),
    Col::left(24).after("  "),
    Col::left(0).after("  "),
];

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let db = crate::open_control(cfg, Open::Existing)?;
    let rows = events::after(&db, args.after, args.limit)?;
    if args.json {
        return crate::print_json(&rows);
    }
    println!(
        "{}",
        row(
            &COLS,
            &[&"ID", &"TIME", &"KIND", &"JOB", &"CHANGE", &"DETAIL"]
        )
    );
    for e in rows {
        let (kind, job, change, detail) = match &e.what {
            EventKind::Job {
                job,
                state,
                previous,
                error,
            } => (
                "job",
                job.to_string(),
                match previous {
                    Some(p) => format!("{p} -> {state}"),
                    None => state.clone(),
                },
                error.clone().unwrap_or_default(),
            ),
            EventKind::Disc {
                job,
                burner,
                volume,
                copy,
                outcome,
                reason,
                ..
            } => (
                "disc",
                job.to_string(),
                outcome.clone(),
                format!(
                    "volume {volume} copy {copy} on {burner}{}",
                    reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            ),
            EventKind::Other { name, state } => ("?", String::new(), state.clone(), name.clone()),
        };
        println!(
            "{}",
            row(&COLS, &[&e.id, &e.time, &kind, &job, &change, &detail])
        );
    }
    Ok(())
}

//! `dcmdisc log`: the extended store log.

use anyhow::Result;
use dcmdisc_app::control::{parse_log_since, parse_log_status};
use dcmdisc_app::{Config, LogQuery, Open};

use crate::table::{row, Col};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Show at most N entries (the newest).
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: u32,
    /// Only `success`, only `failure`, or one status code in hex (A700).
    #[arg(long)]
    status: Option<String>,
    /// Only entries from this calling AE title.
    #[arg(long, value_name = "AE")]
    calling_ae: Option<String>,
    /// Only entries at or after this UTC date or time (2026-12-01, 2026-12-01T10:30:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

const COLS: [Col; 6] = [Col::left(0); 6];

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let q = LogQuery {
        status: args.status.as_deref().map(parse_log_status).transpose()?,
        calling_ae: args.calling_ae,
        since: args.since.as_deref().map(parse_log_since).transpose()?,
        limit: args.limit,
    };
    let rows = crate::open_control(cfg, Open::Existing)?.query_log(&q)?;
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

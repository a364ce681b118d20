//! `dcmdisc retention [--dry-run] [--json]`: one retention pass of the temporary store, and
//! why each collection is removed or kept.

use anyhow::Result;
use dcmdisc_app::retention::{self, Action};
use dcmdisc_app::{Config, Open};

#[derive(clap::Args)]
pub struct Args {
    /// Only say what a pass would remove and why every other collection is kept.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let db = crate::open_control(cfg, Open::Existing)?;
    let report = retention::pass(cfg, &db, args.dry_run)?;
    if args.json {
        return crate::print_json(&report);
    }
    let policy = if report.keep_forever {
        "keep forever".to_string()
    } else {
        format!("keep {} h after the last verified disc", report.keep_hours)
    };
    let disk = match report.disk_percent {
        Some(p) => format!("disk {p:.1}% used"),
        None => "disk use unknown".to_string(),
    };
    println!(
        "retention{}: {policy}; {disk}, high-water mark {}%",
        if report.dry_run { " (dry run)" } else { "" },
        report.high_water_percent
    );
    if report.interrupted_finished > 0 {
        println!(
            "finished {} removal(s) a crash had interrupted",
            report.interrupted_finished
        );
    }
    if let Some(alert) = &report.alert {
        println!("ALERT: {alert}");
    }
    for d in &report.decisions {
        let verb = match (d.action, report.dry_run, d.outcome.as_deref()) {
            (Action::Keep, _, _) => "keep",
            (Action::Remove, true, _) => "would remove",
            (Action::Remove, false, Some("removed")) => "removed",
            (Action::Remove, false, _) => "not removed",
        };
        println!(
            "{:>5}  {:<32}  {:<24} {verb}: {}{}",
            d.collection,
            d.patient_name,
            d.patient_id,
            d.reason,
            match d.outcome.as_deref() {
                Some("removed") | None => String::new(),
                Some(o) => format!(" ({o})"),
            }
        );
    }
    Ok(())
}

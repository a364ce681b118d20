//! `dcmdisc job create|show|cancel|retry|copy`: one disc job.

use anyhow::Result;
use dcmdisc_app::config::Profile;
use dcmdisc_app::jobs::{self, JobRequest, Priority};
use dcmdisc_app::{Config, Open};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Queue a job making the discs of one patient collection; prints the job id.
    Create {
        /// The collection (the ID column of `dcmdisc patients`).
        collection: i64,
        /// Copies of each volume.
        #[arg(long, default_value_t = 1)]
        copies: u32,
        /// STD-GEN-CD, STD-GEN-DVD-JPEG or STD-GEN-BD; overrides [media] profile.
        #[arg(long)]
        profile: Option<Profile>,
        /// A configured burner (see `dcmdisc burners`); the first one without it.
        #[arg(long)]
        burner: Option<String>,
        /// high, normal or low.
        #[arg(long, default_value = "normal")]
        priority: Priority,
        /// Volume capacity in MiB, overriding the profile's.
        #[arg(long)]
        capacity_mb: Option<u64>,
    },
    /// A job's state, progress and discs.
    Show {
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job that is not final.
    Cancel { id: i64 },
    /// Queue a failed job again (copies already burned are kept).
    Retry { id: i64 },
    /// Make more copies of a done job: its validated images again when they are still
    /// there (SHA-256 checked), else composed again from the archive; prints the new job id.
    Copy {
        id: i64,
        /// Copies of each volume.
        #[arg(long, default_value_t = 1)]
        copies: u32,
    },
}

pub fn run(cfg: &Config, cmd: Command) -> Result<()> {
    match cmd {
        Command::Create {
            collection,
            copies,
            profile,
            burner,
            priority,
            capacity_mb,
        } => {
            let db = crate::open_control(cfg, Open::Existing)?;
            let req = JobRequest {
                collection,
                copies,
                profile,
                burner,
                priority,
                capacity_mb,
            };
            println!("{}", jobs::create(cfg, &db, &req)?);
        }
        Command::Show { id, json } => {
            let db = crate::open_control(cfg, Open::Existing)?;
            let job = jobs::show(cfg, &db, id)?;
            if json {
                return crate::print_json(&job);
            }
            println!(
                "job {}  collection {}  {}",
                job.id, job.collection, job.state
            );
            println!(
                "progress {:.0}%  stage {} {}/{}  volumes {}  copies {}  burned {}  burner {}",
                job.progress * 100.0,
                job.stage,
                job.items.done,
                job.items.total,
                job.volumes,
                job.copies,
                job.burned,
                job.burner
            );
            if let Some(eta) = job.eta_secs {
                println!("eta {eta} s");
            }
            let note = job.note();
            if !note.is_empty() {
                println!("{note}");
            }
            if let Some(e) = &job.error {
                println!("error: {e}");
            }
            if let Some(a) = &job.next_action {
                println!("next: {a}");
            }
            for d in &job.discs {
                println!(
                    "  volume {} copy {} on {}: {}{}{}",
                    d.volume,
                    d.copy,
                    d.burner,
                    d.outcome,
                    if d.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", d.reason)
                    },
                    if d.image.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", d.image)
                    }
                );
            }
        }
        Command::Cancel { id } => {
            jobs::cancel(&crate::open_control(cfg, Open::Existing)?, id)?;
            println!("job {id} cancelled");
        }
        Command::Copy { id, copies } => {
            let made = jobs::copy(cfg, &crate::open_control(cfg, Open::Existing)?, id, copies)?;
            if !made.reused_images {
                eprintln!(
                    "dcmdisc: job {id}'s images cannot be burned again; job {} composes the \
                     discs anew from the archive",
                    made.id
                );
            }
            println!("{}", made.id);
        }
        Command::Retry { id } => {
            jobs::retry(&crate::open_control(cfg, Open::Existing)?, id)?;
            println!("job {id} queued again");
        }
    }
    Ok(())
}

//! A job's ETA (`eta_secs` in its JSON): the time left in its current stage at the rate that
//! stage has had so far (its bytes, or its items where it counts no bytes), plus the discs
//! still to burn at the burner's configured write speed. Unknown (`None`) while the current
//! stage has nothing done yet, for a queued, failed or cancelled job, and when discs remain to
//! burn on a burner without a configured speed (the folder burner, a simulator at speed 0):
//! a guess would be no better than none.

use std::path::Path;

use dcmdisc_archive::retention::rfc3339_millis;
use dcmdisc_archive::{DiscRow, JobRow};

use super::worker::read_manifest;
use super::{job_dir, JobState};
use crate::config::jobs::BurnerKind;
use crate::config::Config;

/// What the estimate is computed from: given numbers, no clock.
#[derive(Debug, Clone, PartialEq)]
pub struct EtaInput {
    pub state: JobState,
    /// The current stage's counter (bytes where it counts them, else items) and how long the
    /// stage has run.
    pub stage_done: u64,
    pub stage_total: u64,
    pub stage_secs: f64,
    /// Bytes still to be written to discs (each remaining volume × copy), the one in the
    /// burner included.
    pub burn_bytes_left: u64,
    /// Seconds since the disc now in the burner was taken (0 when none is).
    pub burning_secs: f64,
    /// The burner's write speed in bytes per second, when it has one.
    pub burn_rate: Option<f64>,
}

/// Seconds until the job is done, rounded up; `None` when unknown.
pub fn eta_secs(i: &EtaInput) -> Option<u64> {
    let burn = |bytes: u64, elapsed: f64| -> Option<f64> {
        if bytes == 0 {
            return Some(0.0);
        }
        let rate = i.burn_rate.filter(|r| *r > 0.0)?;
        Some((bytes as f64 / rate - elapsed).max(0.0))
    };
    let secs = match i.state {
        JobState::Done => Some(0.0),
        JobState::Waiting | JobState::Queued | JobState::Failed | JobState::Cancelled => None,
        JobState::Composing | JobState::Imaging | JobState::Validating => {
            if i.stage_done == 0 || i.stage_secs <= 0.0 {
                return None;
            }
            let left = i.stage_total.saturating_sub(i.stage_done) as f64;
            let stage = left * i.stage_secs / i.stage_done as f64;
            burn(i.burn_bytes_left, 0.0).map(|b| stage + b)
        }
        JobState::Burning | JobState::Verifying => burn(i.burn_bytes_left, i.burning_secs),
    }?;
    Some(secs.ceil() as u64)
}

fn secs_between(from: Option<&str>, now_ms: i64) -> f64 {
    from.and_then(rfc3339_millis)
        .map(|t| (now_ms - t).max(0) as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// The inputs for a job as stored, at `now_ms`; `collection_bytes`: what its discs will hold
/// before they are planned (the burn part while composing).
pub fn input(
    cfg: &Config,
    job: &JobRow,
    discs: &[DiscRow],
    collection_bytes: u64,
    now_ms: i64,
) -> EtaInput {
    let state = JobState::parse(&job.state).unwrap_or(JobState::Failed);
    let burner = cfg
        .burners()
        .into_iter()
        .find(|b| job.burner.as_deref().is_none_or(|n| n == b.name));
    let burn_rate = burner
        .filter(|b| b.kind == BurnerKind::Simulator && b.speed_mb_s > 0)
        .map(|b| b.speed_mb_s as f64 * 1e6);
    let burned = |v: u32, c: u32| {
        discs
            .iter()
            .any(|d| d.outcome == "burned" && d.volume == v && d.copy == c)
    };
    let burn_bytes_left = match state {
        JobState::Burning | JobState::Verifying => {
            image_sizes(&job_dir(&cfg.archive.data_dir, job.id))
                .iter()
                .map(|&(v, size)| (1..=job.copies).filter(|&c| !burned(v, c)).count() as u64 * size)
                .sum()
        }
        _ => collection_bytes.saturating_mul(job.copies.into()),
    };
    let burning_secs = discs
        .iter()
        .rev()
        .find(|d| d.outcome == "burning")
        .map(|d| secs_between(Some(&d.time), now_ms))
        .unwrap_or(0.0);
    let (stage_done, stage_total) = if job.bytes_total > 0 {
        (job.bytes_done, job.bytes_total)
    } else {
        (job.items_done, job.items_total)
    };
    EtaInput {
        state,
        stage_done,
        stage_total,
        stage_secs: secs_between(job.stage_started.as_deref(), now_ms),
        burn_bytes_left,
        burning_secs,
        burn_rate,
    }
}

/// (volume, bytes) of the job's validated images.
fn image_sizes(dir: &Path) -> Vec<(u32, u64)> {
    read_manifest(dir)
        .map(|vs| {
            vs.into_iter()
                .map(|v| {
                    let size = std::fs::metadata(&v.image).map(|m| m.len()).unwrap_or(0);
                    (v.number, size)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: JobState) -> EtaInput {
        EtaInput {
            state,
            stage_done: 0,
            stage_total: 0,
            stage_secs: 0.0,
            burn_bytes_left: 0,
            burning_secs: 0.0,
            burn_rate: None,
        }
    }

    #[test]
    fn composing_counts_the_stage_at_its_rate_and_the_burn_at_the_burners_speed() {
        // 25 MB of 100 read in 5 s: 15 s left in the stage; 200 MB to burn at 10 MB/s: 20 s.
        let i = EtaInput {
            stage_done: 25_000_000,
            stage_total: 100_000_000,
            stage_secs: 5.0,
            burn_bytes_left: 200_000_000,
            burn_rate: Some(10e6),
            ..at(JobState::Composing)
        };
        assert_eq!(eta_secs(&i), Some(35));
        // Nothing done yet in the stage: unknown.
        assert_eq!(
            eta_secs(&EtaInput {
                stage_done: 0,
                ..i.clone()
            }),
            None
        );
        // A burner without a speed: unknown.
        assert_eq!(
            eta_secs(&EtaInput {
                burn_rate: None,
                ..i.clone()
            }),
            None
        );
    }

    #[test]
    fn burning_counts_the_discs_left_minus_the_time_the_current_one_has_had() {
        // 3 discs of 50 MB left at 5 MB/s = 30 s; the one in the burner has had 4 s.
        let i = EtaInput {
            burn_bytes_left: 150_000_000,
            burning_secs: 4.0,
            burn_rate: Some(5e6),
            ..at(JobState::Burning)
        };
        assert_eq!(eta_secs(&i), Some(26));
        assert_eq!(
            eta_secs(&EtaInput {
                burning_secs: 100.0,
                ..i.clone()
            }),
            Some(0)
        );
        assert_eq!(
            eta_secs(&EtaInput {
                burn_rate: None,
                ..i.clone()
            }),
            None
        );
        // Nothing left to burn (verifying the last disc): known without a speed.
        assert_eq!(eta_secs(&at(JobState::Verifying)), Some(0));
    }

    #[test]
    fn the_input_of_a_burning_job_counts_the_copies_left_of_each_image() {
        use crate::jobs::{self, JobRequest, Worker};
        use crate::testutil::{two_collections, TempDir};
        let tmp = TempDir::new("eta-input");
        let (mut cfg, db) = two_collections(&tmp, 2);
        let id = jobs::create(
            &cfg,
            &db,
            &JobRequest {
                collection: 1,
                copies: 1,
                burner: Some("sim".into()),
                capacity_mb: Some(1),
                ..JobRequest::default()
            },
        )
        .unwrap();
        Worker::open(&cfg)
            .unwrap()
            .run_next(&crate::Shutdown::new())
            .unwrap();
        // As if it had been asked for 2 copies and were burning the second ones.
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute(
            "UPDATE job SET state = 'burning', copies = 2 WHERE id = ?1",
            [id],
        )
        .unwrap();
        cfg.burners[0].speed_mb_s = 2;
        let job = db.control().job(id).unwrap().unwrap();
        let discs = db.control().discs(id).unwrap();
        let images: u64 = image_sizes(&job_dir(&cfg.archive.data_dir, id))
            .iter()
            .map(|v| v.1)
            .sum();
        assert!(images > 0);
        let i = input(&cfg, &job, &discs, 0, 0);
        assert_eq!(i.burn_bytes_left, images, "one more copy of each volume");
        assert_eq!(i.burn_rate, Some(2e6));
        assert_eq!(eta_secs(&i), Some((images as f64 / 2e6).ceil() as u64));
        let shown = jobs::show(&cfg, &db, id).unwrap();
        assert!(shown.eta_secs.is_some());
        // The folder burner has no speed: unknown.
        cfg.burners[0].speed_mb_s = 0;
        assert_eq!(eta_secs(&input(&cfg, &job, &discs, 0, 0)), None);
    }

    #[test]
    fn final_and_queued_states() {
        assert_eq!(eta_secs(&at(JobState::Done)), Some(0));
        assert_eq!(eta_secs(&at(JobState::Queued)), None);
        assert_eq!(eta_secs(&at(JobState::Failed)), None);
        assert_eq!(eta_secs(&at(JobState::Cancelled)), None);
    }
}

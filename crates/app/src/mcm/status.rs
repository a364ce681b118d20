//! A request's status as N-GET reports it (PS3.4 Table S.3-3), from its jobs: one per patient
//! collection it names, so the answer aggregates them. Execution Status is the least
//! advanced of the jobs' (PENDING before CREATING before DONE), FAILURE as soon as one
//! failed or was cancelled; Total Number of Pieces of Media Created and the Referenced
//! Storage Media Sequence are all the jobs' burned discs; the Failed SOP Sequence lists the
//! instances of a failed job (0110) and those no longer in the archive when a job was
//! composed (0112).

use std::collections::HashSet;

use dcmdisc_archive::mcm::{CANCELLED, CREATED};
use dcmdisc_archive::McmRequest;
use dcmdisc_net::{Commitment, MediaStatus, SopRef};

use crate::config::Config;
use crate::control::ControlDb;
use crate::error::AppError;
use crate::jobs::{self, JobState};

/// Execution Status and its Info for one job, with its rank (lower: less advanced).
fn of_job(state: Option<JobState>) -> (u8, &'static str, &'static str) {
    match state {
        Some(JobState::Waiting | JobState::Queued) => (1, "PENDING", "QUEUED"),
        Some(JobState::Done) => (3, "DONE", "NORMAL"),
        Some(JobState::Failed) => (0, "FAILURE", "PROC_FAILURE"),
        Some(JobState::Cancelled) => (0, "FAILURE", "CANCELLED"),
        _ => (2, "CREATING", "NORMAL"),
    }
}

pub(super) fn of(cfg: &Config, db: &ControlDb, req: &McmRequest) -> Result<MediaStatus, AppError> {
    let idle = |st: &str, info: &str| MediaStatus {
        execution_status: st.into(),
        execution_status_info: info.into(),
        ..MediaStatus::default()
    };
    match req.state.as_str() {
        CREATED => return Ok(idle("IDLE", "NORMAL")),
        CANCELLED => return Ok(idle("FAILURE", "CANCELLED")),
        _ => {}
    }
    let pattern = cfg.media.fileset_id_pattern.to_string();
    let mut out = MediaStatus::default();
    let mut least: Option<(u8, &str, &str)> = None;
    let mut pieces: u32 = 0;
    for id in &req.jobs {
        let view = jobs::show(cfg, db, *id)?;
        let state = JobState::parse(&view.state);
        let this = of_job(state);
        if least.is_none_or(|l| this.0 < l.0) {
            least = Some(this);
        }
        pieces += view.burned;
        // One item per piece made: its volume's File-set ID, as its DICOMDIR has it (the
        // copies of a volume share it). No File-set UID: our DICOMDIRs carry none.
        for d in view.discs.iter().filter(|d| d.outcome == "burned") {
            let fid = if req.fileset_id.is_empty() {
                dcmdisc_media::fileset_id(&pattern, d.volume as usize, view.volumes as usize)
            } else {
                req.fileset_id.clone()
            };
            out.media.push((fid, String::new()));
        }
        let asked = req
            .instances
            .iter()
            .filter(|i| i.collection == view.collection);
        let sop = |i: &dcmdisc_archive::RequestInstance| SopRef {
            sop_class_uid: i.sop_class_uid.clone(),
            sop_instance_uid: i.sop_instance_uid.clone(),
        };
        match state {
            Some(JobState::Failed) => out
                .failed
                .extend(asked.map(|i| (sop(i), Commitment::PROCESSING_FAILURE))),
            Some(
                JobState::Imaging
                | JobState::Validating
                | JobState::Burning
                | JobState::Verifying
                | JobState::Done,
            ) => {
                // Composed: what it holds is recorded; the rest had left the archive.
                let held: HashSet<String> = db.control().job_instances(*id)?.into_iter().collect();
                out.failed.extend(
                    asked
                        .filter(|i| !held.contains(&i.sop_instance_uid))
                        .map(|i| (sop(i), Commitment::NO_SUCH_OBJECT_INSTANCE)),
                );
            }
            _ => {}
        }
    }
    let (_, st, info) = least.unwrap_or((0, "FAILURE", "PROC_FAILURE"));
    out.execution_status = st.into();
    out.execution_status_info = info.into();
    out.pieces_created = u16::try_from(pieces).unwrap_or(u16::MAX);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_advanced_job_and_any_failure_decide() {
        let rank = |s: &[JobState]| {
            s.iter()
                .map(|s| of_job(Some(*s)))
                .min_by_key(|r| r.0)
                .map(|r| r.1)
        };
        assert_eq!(rank(&[JobState::Done, JobState::Queued]), Some("PENDING"));
        assert_eq!(rank(&[JobState::Done, JobState::Burning]), Some("CREATING"));
        assert_eq!(rank(&[JobState::Done, JobState::Done]), Some("DONE"));
        assert_eq!(
            rank(&[JobState::Queued, JobState::Failed, JobState::Done]),
            Some("FAILURE")
        );
    }
}

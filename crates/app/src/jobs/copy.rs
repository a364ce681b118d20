//! Another copy of a done job (`dcmdisc job copy ID [--copies N]`): a new job for the same
//! content. When the done job's validated images are still in its folder and each still has
//! the SHA-256 its `volumes.tsv` recorded, the new job starts at `burning` from those images
//! (its own `volumes.tsv` names them); otherwise it is queued and composed again from the
//! archive, which fails with a plain reason when retention removed the collection.

use serde::Serialize;
use tracing::{info, warn};

use dcmdisc_archive::NewJob;

use super::worker::{read_manifest, write_manifest};
use super::{job_dir, JobState};
use crate::config::Config;
use crate::control::ControlDb;
use crate::error::AppError;

/// The new job, and whether it reuses the done job's images.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JobCopy {
    pub id: i64,
    pub from: i64,
    /// The done job's validated images are burned again (else the job composes anew).
    pub reused_images: bool,
}

/// Makes a new job for the content of done job `id`, with `copies` copies of each volume.
pub fn copy(cfg: &Config, db: &ControlDb, id: i64, copies: u32) -> Result<JobCopy, AppError> {
    if !(1..=99).contains(&copies) {
        return Err(AppError::Copies);
    }
    let control = db.control();
    let job = control.job(id)?.ok_or(AppError::NoSuchJob(id))?;
    if job.state != JobState::Done.name() {
        return Err(AppError::JobState {
            id,
            state: job.state,
            action: "only a done job can be copied",
        });
    }
    let new = NewJob {
        collection: job.collection,
        priority: job.priority.clone(),
        copies,
        profile: job.profile.clone(),
        burner: job.burner.clone(),
        capacity_mb: job.capacity_mb,
    };
    let data_dir = &cfg.archive.data_dir;
    match reusable_images(data_dir, id) {
        Ok(volumes) => {
            // One transaction: the worker never sees the new job queued (it would compose it
            // anew, into other bytes), and the manifest naming the done job's images is
            // written before the job is visible in `burning`.
            let new_id = control.create_copy_job(&new, id, volumes.len() as u32, |new_id| {
                let dir = job_dir(data_dir, new_id);
                write_manifest(&dir, &volumes).map_err(|source| {
                    // Nothing half-made stays for the next job of this id.
                    let _ = std::fs::remove_dir_all(&dir);
                    AppError::JobFiles {
                        id: new_id,
                        what: "writing volumes.tsv".into(),
                        source,
                    }
                })
            })?;
            info!(job = new_id, from = id, "job copied from its images");
            Ok(JobCopy {
                id: new_id,
                from: id,
                reused_images: true,
            })
        }
        Err(why) => {
            let since = job.composing_started.as_deref().unwrap_or(&job.created);
            if let Some(when) = control.removed_since(job.collection, since)? {
                return Err(AppError::CollectionRemoved {
                    job: id,
                    collection: job.collection,
                    when,
                    detail: format!("; its images are gone too ({why})"),
                });
            }
            if !db.patients()?.iter().any(|p| p.id == job.collection) {
                return Err(AppError::NoSuchCollection(job.collection));
            }
            warn!(
                job = id,
                "its images cannot be burned again ({why}); composing anew"
            );
            let new_id = control.create_job(&new)?;
            Ok(JobCopy {
                id: new_id,
                from: id,
                reused_images: false,
            })
        }
    }
}

/// The done job's images, each checked against the SHA-256 its manifest recorded; why not.
fn reusable_images(
    data_dir: &std::path::Path,
    id: i64,
) -> Result<Vec<super::worker::Volume>, String> {
    let volumes = read_manifest(&job_dir(data_dir, id)).map_err(|e| e.to_string())?;
    for v in &volumes {
        let got = crate::burners::sha256_file(&v.image)
            .map_err(|e| format!("{}: {e}", v.image.display()))?;
        if got != v.sha256 {
            return Err(format!(
                "{} has SHA-256 {got}, its manifest says {}",
                v.image.display(),
                v.sha256
            ));
        }
    }
    Ok(volumes)
}

#[cfg(test)]
mod tests;

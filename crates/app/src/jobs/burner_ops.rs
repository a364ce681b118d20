//! The operator's burner operations: pause (with a reason) and resume, persisted in the
//! control database so a restart keeps them; the CLI and the HTTP API call these. The worker
//! takes no disc from a paused burner (`worker.rs`); resume also clears the rejects in a row
//! that pause a burner at three.

use crate::config::Config;
use crate::control::ControlDb;
use crate::error::AppError;

fn configured(cfg: &Config, name: &str) -> Result<(), AppError> {
    if cfg.burners().iter().any(|b| b.name == name) {
        Ok(())
    } else {
        Err(AppError::NoSuchBurner(name.to_string()))
    }
}

/// Pauses `name`: the disc being burned is finished, no next one is taken. An empty reason
/// is recorded as "paused by the operator".
pub fn pause_burner(
    cfg: &Config,
    db: &ControlDb,
    name: &str,
    reason: &str,
) -> Result<(), AppError> {
    configured(cfg, name)?;
    let reason = reason.trim();
    let reason = if reason.is_empty() {
        "paused by the operator"
    } else {
        reason
    };
    db.control().pause_burner(name, reason)?;
    Ok(())
}

/// Resumes `name` (a no-op on a ready one) and clears its rejects in a row; the jobs held at
/// it go on at the worker's next look.
pub fn resume_burner(cfg: &Config, db: &ControlDb, name: &str) -> Result<(), AppError> {
    configured(cfg, name)?;
    db.control().resume_burner(name)?;
    Ok(())
}

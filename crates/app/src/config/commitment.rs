//! `[commitment]`: how long a Storage Commitment report that could not be delivered is tried
//! again.

use serde::Deserialize;

use super::ConfigError;

/// `[commitment]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CommitmentSection {
    /// Seconds a report that neither its association nor a new one delivered is tried again
    /// (kept in the control database, across restarts), then given up (0: one attempt).
    pub retry_for_secs: u64,
    /// The longest wait between two attempts (the waits double from 1 s up to it).
    pub retry_max_interval_secs: u64,
}

impl Default for CommitmentSection {
    fn default() -> Self {
        CommitmentSection {
            // A day: an SCU that got no report in that time has long asked again.
            retry_for_secs: 86_400,
            retry_max_interval_secs: 60,
        }
    }
}

pub(super) fn validate(c: &CommitmentSection) -> Result<(), ConfigError> {
    if c.retry_for_secs > 2_592_000 {
        return Err(ConfigError::OutOfRange {
            key: "[commitment] retry_for_secs",
            value: c.retry_for_secs,
            allowed: "allowed range is 0..=2592000 seconds (30 days)",
        });
    }
    if !(1..=3600).contains(&c.retry_max_interval_secs) {
        return Err(ConfigError::OutOfRange {
            key: "[commitment] retry_max_interval_secs",
            value: c.retry_max_interval_secs,
            allowed: "allowed range is 1..=3600 seconds",
        });
    }
    Ok(())
}

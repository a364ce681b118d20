//! `[jobs]` and `[[burners]]`: the disc job worker and the burners it may use.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[jobs]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsSection {
    /// Run the job worker inside `serve`.
    pub worker: bool,
    /// How often the idle worker looks for a queued job, in milliseconds.
    pub poll_interval_ms: u64,
    /// A job made by a rule starts once this long has passed since the patient's last
    /// instance (1..=86400 seconds).
    pub quiet_period_secs: u64,
}

impl Default for JobsSection {
    fn default() -> Self {
        JobsSection {
            worker: true,
            poll_interval_ms: 500,
            quiet_period_secs: 60,
        }
    }
}

/// The kinds of burner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BurnerKind {
    /// Copies each verified image into `dir`.
    Folder,
    /// A stack of simulated discs, for tests and demos.
    Simulator,
}

/// One simulated disc of a simulator's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimDisc {
    Blank,
    /// Already written: rejected before writing.
    Written,
    /// Unusable: rejected before writing.
    Faulty,
    /// Takes the bytes but reads back different: rejected at verify.
    BadVerify,
}

/// `[[burners]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnerConfig {
    pub name: String,
    pub kind: BurnerKind,
    /// Where the images (folder) or the discs' bytes (simulator) go. Relative: against
    /// `[archive] data_dir`. Default `<data_dir>/discs` (folder), `<data_dir>/simulator/<name>`.
    pub dir: Option<PathBuf>,
    /// Simulator only: the stack of discs, taken from the first.
    #[serde(default)]
    pub discs: Vec<SimDisc>,
    /// Simulator only: write speed in MB/s (0: as fast as the disk).
    #[serde(default)]
    pub speed_mb_s: u64,
}

impl BurnerConfig {
    /// The default burner when none is configured.
    pub fn default_folder() -> BurnerConfig {
        BurnerConfig {
            name: "folder".into(),
            kind: BurnerKind::Folder,
            dir: None,
            discs: Vec::new(),
            speed_mb_s: 0,
        }
    }

    /// The output folder, absolute when `data_dir` is.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        match (&self.dir, self.kind) {
            (Some(d), _) => data_dir.join(d),
            (None, BurnerKind::Folder) => data_dir.join("discs"),
            (None, BurnerKind::Simulator) => data_dir.join("simulator").join(&self.name),
        }
    }
}

/// Names unique, made of letters, digits, `-` and `_`; simulator keys only on simulators.
pub(super) fn validate(jobs: &JobsSection, burners: &[BurnerConfig]) -> Result<(), ConfigError> {
    if !(50..=60_000).contains(&jobs.poll_interval_ms) {
        return Err(ConfigError::OutOfRange {
            key: "[jobs] poll_interval_ms",
            value: jobs.poll_interval_ms,
            allowed: "allowed range is 50..=60000 milliseconds",
        });
    }
    for (i, b) in burners.iter().enumerate() {
        let ok_name = !b.name.is_empty()
            && b.name.len() <= 32
            && b.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name {
            return Err(ConfigError::Burner(format!(
                "name {:?}: 1 to 32 letters, digits, '-' or '_'",
                b.name
            )));
        }
        if burners[..i].iter().any(|o| o.name == b.name) {
            return Err(ConfigError::Burner(format!(
                "name {:?}: used by two burners",
                b.name
            )));
        }
        if b.kind == BurnerKind::Folder && (!b.discs.is_empty() || b.speed_mb_s != 0) {
            return Err(ConfigError::Burner(format!(
                "{:?}: discs and speed_mb_s are for kind = \"simulator\" only",
                b.name
            )));
        }
        if b.speed_mb_s > 100_000 {
            return Err(ConfigError::Burner(format!(
                "{:?}: speed_mb_s = {}: allowed range is 0..=100000",
                b.name, b.speed_mb_s
            )));
        }
    }
    Ok(())
}

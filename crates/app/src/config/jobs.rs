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
    /// Test only (0, the default, in production): the worker waits this long at every
    /// progress report of composing, imaging and validating, so that a crash test can kill
    /// the server in each of those states however fast the machine composes.
    pub test_stage_delay_ms: u64,
    /// A job made by a rule starts once this long has passed since the patient's last
    /// instance (1..=86400 seconds).
    pub quiet_period_secs: u64,
}

impl Default for JobsSection {
    fn default() -> Self {
        JobsSection {
            worker: true,
            poll_interval_ms: 500,
            test_stage_delay_ms: 0,
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
    /// A real optical drive, through xorriso.
    Drive,
    /// An external command: a disc robot's client or a site script.
    Command,
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

/// `[[burners]]`. Each kind's own keys are refused on the other kinds
/// (`burner_checks.rs`).
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
    /// Drive only: the device xorriso writes to, `/dev/sr0` or `stdio:/path/file` (a file as
    /// a pseudo-drive, for tests).
    pub device: Option<String>,
    /// Drive only: the xorriso program (default `xorriso`, looked up in `PATH`).
    pub xorriso: Option<PathBuf>,
    /// Drive only: blank a written rewritable disc before writing it (default false: it is
    /// rejected like any written disc).
    pub blank_rewritable: Option<bool>,
    /// Drive only: eject the disc after its verify (default true).
    pub eject: Option<bool>,
    /// Drive only: the write speed passed to xorriso (`speed=N`, in the medium's x units).
    pub speed: Option<u32>,
    /// Command only: the program and its arguments, with placeholders `{image}`, `{label}`,
    /// `{job}`, `{volume}`, `{copy}`, `{name}` (see `burners/command.rs`).
    #[serde(default)]
    pub argv: Vec<String>,
    /// Command only: a program that reads the disc back, same placeholders plus `{sha256}`;
    /// empty: the robot's own verify is trusted.
    #[serde(default)]
    pub verify: Vec<String>,
    /// Command only: the exit status meaning "this disc is rejected" (default 2).
    pub reject_exit_code: Option<i32>,
    /// Drive and command: how long one burn (or verify) may take, in seconds (default 3600).
    pub timeout_secs: Option<u64>,
}

impl Default for BurnerConfig {
    fn default() -> Self {
        BurnerConfig::default_folder()
    }
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
            device: None,
            xorriso: None,
            blank_rewritable: None,
            eject: None,
            speed: None,
            argv: Vec::new(),
            verify: Vec::new(),
            reject_exit_code: None,
            timeout_secs: None,
        }
    }

    /// The burn (and verify) timeout.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs.unwrap_or(3600))
    }

    /// The output folder, absolute when `data_dir` is.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        match (&self.dir, self.kind) {
            (Some(d), _) => data_dir.join(d),
            (None, BurnerKind::Folder) => data_dir.join("discs"),
            (None, BurnerKind::Simulator) => data_dir.join("simulator").join(&self.name),
            // Where the command burner writes each disc's label file; the drive keeps nothing.
            (None, BurnerKind::Drive | BurnerKind::Command) => {
                data_dir.join("burners").join(&self.name)
            }
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
    if jobs.test_stage_delay_ms > 10_000 {
        return Err(ConfigError::OutOfRange {
            key: "[jobs] test_stage_delay_ms",
            value: jobs.test_stage_delay_ms,
            allowed: "allowed range is 0..=10000 milliseconds (0 outside tests)",
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
        super::burner_checks::check(b)?;
        if b.speed_mb_s > 100_000 {
            return Err(ConfigError::Burner(format!(
                "{:?}: speed_mb_s = {}: allowed range is 0..=100000",
                b.name, b.speed_mb_s
            )));
        }
    }
    Ok(())
}

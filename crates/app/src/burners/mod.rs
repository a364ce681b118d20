//! Burners: where a validated volume image becomes a disc. One trait, one file per kind:
//! `folder` (the default: the image linked or copied into a directory), `simulator` (a configured
//! stack of discs, for tests and demos), `drive` (an optical drive through xorriso; its
//! report parser in `xorriso_report.rs`) and `command` (a disc robot's client or a site
//! script); `process.rs` runs their external programs. A burner takes one disc per `burn`; a disc it finds
//! unusable, or that fails verification, is rejected with a reason and never counts as a
//! copy: the job worker takes the next one.

mod command;
mod drive;
mod folder;
mod process;
mod simulator;
pub mod xorriso_report;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::jobs::{BurnerConfig, BurnerKind};
use crate::shutdown::Shutdown;

pub use command::CommandBurner;
pub use drive::DriveBurner;
pub use folder::FolderBurner;
pub use simulator::SimulatorBurner;

/// Why a disc did not become a copy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BurnError {
    /// This disc is unusable (written, faulty, failed verification): take the next one.
    #[error("{0}")]
    Rejected(String),
    /// No disc left to take.
    #[error("{0}")]
    NoDisc(String),
    /// The burner itself failed (its folder cannot be written...).
    #[error("{0}")]
    Failed(String),
    /// Shutdown during the burn: the disc is suspect.
    #[error("interrupted")]
    Stopped,
}

/// Where a burned disc's bytes landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub image: PathBuf,
}

/// Which disc of which job a burn makes: ours, never from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscId {
    pub job: i64,
    pub volume: u32,
    pub copy: u32,
}

impl DiscId {
    /// `job<ID>-vol<N>-copy<M>`.
    pub fn stem(&self) -> String {
        format!("job{}-vol{}-copy{}", self.job, self.volume, self.copy)
    }

    /// The file name a disc image gets where a burner keeps one: `<stem>.iso`.
    pub fn file_name(&self) -> String {
        format!("{}.iso", self.stem())
    }
}

/// One burner.
pub trait Burner: Send {
    fn name(&self) -> &str;
    fn kind(&self) -> BurnerKind;
    /// Whether a disc can be taken (`NoDisc` when the stack is empty).
    fn ready(&self) -> Result<(), BurnError> {
        Ok(())
    }
    /// Takes the next disc and writes `image` onto it; `progress` hears the fraction written
    /// (0 to 1) where the burner can tell.
    fn burn(
        &mut self,
        image: &Path,
        disc: &DiscId,
        stop: &Shutdown,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Written, BurnError>;
    /// Reads the disc back; `Rejected` when its SHA-256 is not `sha256`.
    fn verify(&mut self, written: &Written, sha256: &str) -> Result<(), BurnError>;
    /// `disc` was in this burner when its burn or verify was cut short (a stop, or a crash
    /// found at the next start): marks it as the reject it is where the burner can — the
    /// simulator's and the command burner's label read "REJECT: interrupted", the folder
    /// burner's partial copy is removed. `position`: the disc's place among the discs this
    /// burner took (0-based). Called again after a crash in between: it must be idempotent.
    fn interrupted(&mut self, _disc: &DiscId, _position: usize) {}
}

/// The label text of a disc rejected because its burn was cut short.
pub const INTERRUPTED_LABEL: &str = "REJECT: interrupted";

/// The burner a config entry describes; `taken` is how many discs it took before (the
/// simulator's position in its stack, so a restart does not reuse a disc).
pub fn open(cfg: &BurnerConfig, data_dir: &Path, taken: usize) -> Box<dyn Burner> {
    let dir = cfg.dir(data_dir);
    match cfg.kind {
        BurnerKind::Folder => Box::new(FolderBurner::new(&cfg.name, dir)),
        BurnerKind::Simulator => Box::new(SimulatorBurner::new(
            &cfg.name,
            dir,
            cfg.discs.clone(),
            cfg.speed_mb_s,
            taken,
        )),
        BurnerKind::Drive => Box::new(DriveBurner::new(cfg)),
        BurnerKind::Command => Box::new(CommandBurner::new(cfg, dir)),
    }
}

/// The SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A verify step shared by the burners whose disc is a file.
fn verify_file(path: &Path, sha256: &str) -> Result<(), BurnError> {
    let got = sha256_file(path)
        .map_err(|e| BurnError::Rejected(format!("reading the disc back failed: {e}")))?;
    if got == sha256 {
        Ok(())
    } else {
        Err(BurnError::Rejected(format!(
            "verification failed: the disc reads back with SHA-256 {got}, the image has {sha256}"
        )))
    }
}

//! Typed progress of the long operations: which stage, and how many items and bytes of the
//! stage's total are done, for a terminal bar now and for job states and server-sent events
//! next.

use serde::Serialize;

/// The stages of an export, in the order they run for each patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading and checking the source files (items: instances, bytes: their size).
    Reading,
    /// Converting what the profile does not allow to Explicit VR LE (items: instances).
    Converting,
    /// Rendering the IHE_PDI web content of every instance, before planning (items:
    /// instances).
    Rendering,
    /// Building a volume's DICOMDIR (items: volumes).
    Dicomdir,
    /// Writing a volume's image or tree (items: volumes).
    Writing,
    /// Reading a written volume back and checking it against the plan (items: volumes).
    Validating,
    /// All volumes of the patient written (items: volumes).
    Done,
    /// A stage the media engine reports that this layer does not know yet.
    Other,
}

impl Stage {
    /// The stage's name, as the media engine spells it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Reading => "reading",
            Stage::Converting => "converting",
            Stage::Rendering => "rendering",
            Stage::Dicomdir => "dicomdir",
            Stage::Writing => "writing",
            Stage::Validating => "validating",
            Stage::Done => "done",
            Stage::Other => "working",
        }
    }

    /// The stage of a media engine progress report.
    pub fn from_media(s: &str) -> Stage {
        match s {
            "reading" => Stage::Reading,
            "converting" => Stage::Converting,
            "rendering" => Stage::Rendering,
            "dicomdir" => Stage::Dicomdir,
            "writing" => Stage::Writing,
            "validating" => Stage::Validating,
            "done" => Stage::Done,
            _ => Stage::Other,
        }
    }
}

/// `done` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Count {
    pub done: u64,
    pub total: u64,
}

impl Count {
    pub fn new(done: u64, total: u64) -> Count {
        Count { done, total }
    }
}

/// One progress report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Which patient of the export (1-based) and how many there are.
    pub patient: Count,
    /// The patient, as `NAME [ID]`.
    pub label: String,
    pub stage: Stage,
    pub items: Count,
    /// Bytes, where the stage counts them.
    pub bytes: Option<Count>,
}

//! What a folder export found and did not put on the disc as an instance, and why; and the
//! list of what was left out that every volume of the patient carries, for the README and
//! INDEX writers (`pdi`) to show, one line each.
//!
//! Three kinds, because each gets a different answer:
//! - **not DICOM**: no `DICM` prefix after the preamble (notes, thumbnails, viewer files).
//!   Not an instance, so nothing is lost: the export names it on stderr and goes on.
//! - **a DICOMDIR**: the directory of another File-set (its Media Storage SOP Class is
//!   1.2.840.10008.1.3.10). We write our own; its instances are exported from their own files.
//! - **unreadable**: a Part 10 instance that cannot go on the disc (a data set that does not
//!   parse, a SOP class without a directory record type, a transfer syntax nothing converts,
//!   a conversion refused). It fails the export, naming the file and why, unless the operator
//!   asked to leave such instances out; then it is listed on the patient's volumes.

use std::path::PathBuf;

/// Why a file of a source folder is not on the disc as an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcludedKind {
    NotDicom,
    Dicomdir,
    Unreadable,
}

/// A file of a source folder that is not exported as an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub path: PathBuf,
    pub kind: ExcludedKind,
    /// Why, in plain words, without the path.
    pub reason: String,
    /// (raw Patient's Name, Patient ID) when the file's keys could be read: the patient whose
    /// volumes list it. `None`: every patient's volumes of the export list it.
    pub patient: Option<(Vec<u8>, String)>,
    /// From the File Meta (or the data set), when it could be read.
    pub sop_instance_uid: Option<String>,
}

/// One instance left off a patient's volumes, as the README lists it. It holds no path and
/// no name: a source path may hold patient names, and the disc's README holds no patient
/// data (the export's own output names the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub sop_instance_uid: Option<String>,
    pub reason: String,
}

impl From<&Excluded> for LeftOut {
    fn from(e: &Excluded) -> LeftOut {
        LeftOut {
            sop_instance_uid: e.sop_instance_uid.clone(),
            reason: e.reason.clone(),
        }
    }
}

impl LeftOut {
    /// The line README.TXT and INDEX.HTM show for it (`pdi`): the instance and why, with no
    /// line break from the reason.
    pub fn line(&self) -> String {
        let who = self.sop_instance_uid.as_deref().map_or(
            "an instance whose SOP Instance UID could not be read".to_string(),
            |u| format!("SOP Instance UID {u}"),
        );
        let reason: String = self
            .reason
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{who}: {reason}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_is_one_line_without_paths() {
        let a = LeftOut {
            sop_instance_uid: Some("1.2.3".into()),
            reason: "transfer syntax 1.2.840.10008.1.2.4.90\ncannot be converted".into(),
        };
        assert_eq!(
            a.line(),
            "SOP Instance UID 1.2.3: transfer syntax 1.2.840.10008.1.2.4.90 cannot be converted"
        );
        let b = LeftOut {
            sop_instance_uid: None,
            reason: "the data set does not parse".into(),
        };
        assert_eq!(
            b.line(),
            "an instance whose SOP Instance UID could not be read: the data set does not parse"
        );
    }
}

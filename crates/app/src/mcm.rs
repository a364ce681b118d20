//! Media Creation Management over the job queue: a Media Creation Request (N-CREATE) names
//! instances already in the archive; its Initiate (N-ACTION 1) queues a disc job through
//! [`jobs::create`], Cancel (N-ACTION 2) cancels it, and its status (N-GET) is the job's.
//!
//! What is honoured: the Referenced SOP Sequence (which must be one whole collection: the
//! job API makes discs of collections, so a subset is refused with 0106 and says so), Number
//! of Copies (1-99), Request Priority (HIGH, MED, LOW), Allow Media Splitting YES (a
//! collection that does not fit is split), Allow Lossy Compression (we never compress
//! lossily, so either value is kept), Preserve Composite Instances YES, and NO for Label
//! Using Information Extracted From Instances, Include Non-DICOM Objects and Include Display
//! Application. Everything else of Table S.3-1 that we cannot do yet (label text and style,
//! barcode, media disposition, a requested File-set ID or UID or application profile) is
//! refused with 0106 when it has a value, with its tag as Offending Element; an attribute
//! outside the table is 0105.
//!
//! The requests live in memory: a restart forgets requests not yet initiated, and those
//! initiated (their jobs stay in the queue and are made).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dcmdisc_archive::Archive;
use dcmdisc_dicom::tag;
use dcmdisc_net::mcm::mcm_status;
use dcmdisc_net::{
    AssociationInfo, Commitment, McmAction, McmRefusal, MediaRequest, MediaStatus, SopRef,
};
use tracing::error;

use crate::config::Config;
use crate::control::{ControlDb, Open};
use crate::jobs::{self, JobRequest, JobState, Priority};

const NUMBER_OF_COPIES: u32 = 0x2000_0010;
const LABEL_USING_INFORMATION: u32 = 0x2200_0001;
const LABEL_TEXT: u32 = 0x2200_0002;
const LABEL_STYLE_SELECTION: u32 = 0x2200_0003;
const MEDIA_DISPOSITION: u32 = 0x2200_0004;
const BARCODE_VALUE: u32 = 0x2200_0005;
const BARCODE_SYMBOLOGY: u32 = 0x2200_0006;
const ALLOW_MEDIA_SPLITTING: u32 = 0x2200_0007;
const INCLUDE_NON_DICOM_OBJECTS: u32 = 0x2200_0008;
const INCLUDE_DISPLAY_APPLICATION: u32 = 0x2200_0009;
const PRESERVE_COMPOSITE_INSTANCES: u32 = 0x2200_000A;
const REQUESTED_MEDIA_APPLICATION_PROFILE: u32 = 0x2200_000C;
const ALLOW_LOSSY_COMPRESSION: u32 = 0x2200_000F;
const REQUEST_PRIORITY: u32 = 0x2200_0020;
const STORAGE_MEDIA_FILE_SET_ID: u32 = 0x0088_0130;
const STORAGE_MEDIA_FILE_SET_UID: u32 = 0x0088_0140;

/// The attributes refused when they carry a value: what we cannot do yet.
const NOT_YET: [u32; 8] = [
    LABEL_TEXT,
    LABEL_STYLE_SELECTION,
    MEDIA_DISPOSITION,
    BARCODE_VALUE,
    BARCODE_SYMBOLOGY,
    REQUESTED_MEDIA_APPLICATION_PROFILE,
    STORAGE_MEDIA_FILE_SET_ID,
    STORAGE_MEDIA_FILE_SET_UID,
];

struct Entry {
    collection: i64,
    copies: u32,
    priority: Priority,
    job: Option<i64>,
    cancelled: bool,
}

pub(crate) struct Mcm {
    cfg: Config,
    db: ControlDb,
    archive: Arc<Archive>,
    requests: Mutex<HashMap<String, Entry>>,
}

fn invalid(tag: u32, why: impl Into<String>) -> McmRefusal {
    McmRefusal::new(mcm_status::INVALID_ATTRIBUTE_VALUE, why).offending(&[tag])
}

fn processing(why: impl std::fmt::Display) -> McmRefusal {
    error!("media creation: {why}");
    McmRefusal::new(0x0110, why.to_string())
}

/// The request's options we honour, or the refusal of the first attribute we cannot.
fn options(req: &MediaRequest) -> Result<(u32, Priority), McmRefusal> {
    let mut copies = 1;
    let mut priority = Priority::Normal;
    let mut unknown = Vec::new();
    for (t, v) in &req.attributes {
        let v = v.trim();
        match *t {
            tag::REFERENCED_SOP_SEQUENCE | tag::SPECIFIC_CHARACTER_SET => {}
            NUMBER_OF_COPIES => {
                copies = v
                    .parse::<u32>()
                    .ok()
                    .filter(|c| (1..=99).contains(c))
                    .ok_or_else(|| invalid(*t, "Number of Copies must be 1 to 99"))?;
            }
            REQUEST_PRIORITY => {
                priority = match v {
                    "HIGH" => Priority::High,
                    "MED" | "" => Priority::Normal,
                    "LOW" => Priority::Low,
                    _ => return Err(invalid(*t, "Request Priority must be HIGH, MED or LOW")),
                }
            }
            LABEL_USING_INFORMATION | INCLUDE_NON_DICOM_OBJECTS | INCLUDE_DISPLAY_APPLICATION
                if !matches!(v, "" | "NO") =>
            {
                return Err(invalid(
                    *t,
                    format!(
                        "({:04X},{:04X}) {v} is not supported: only NO",
                        t >> 16,
                        t & 0xFFFF
                    ),
                ))
            }
            ALLOW_MEDIA_SPLITTING | PRESERVE_COMPOSITE_INSTANCES if !matches!(v, "" | "YES") => {
                return Err(invalid(
                    *t,
                    format!(
                        "({:04X},{:04X}) {v} is not supported: only YES",
                        t >> 16,
                        t & 0xFFFF
                    ),
                ))
            }
            ALLOW_LOSSY_COMPRESSION if !matches!(v, "" | "YES" | "NO") => {
                return Err(invalid(*t, "Allow Lossy Compression must be YES or NO"))
            }
            LABEL_USING_INFORMATION
            | INCLUDE_NON_DICOM_OBJECTS
            | INCLUDE_DISPLAY_APPLICATION
            | ALLOW_MEDIA_SPLITTING
            | PRESERVE_COMPOSITE_INSTANCES
            | ALLOW_LOSSY_COMPRESSION => {}
            t if NOT_YET.contains(&t) => {
                if !v.is_empty() {
                    return Err(invalid(
                        t,
                        format!("({:04X},{:04X}) is not supported yet", t >> 16, t & 0xFFFF),
                    ));
                }
            }
            t => unknown.push(t),
        }
    }
    if !unknown.is_empty() {
        return Err(McmRefusal::new(
            mcm_status::NO_SUCH_ATTRIBUTE,
            "attributes outside the Media Creation Request",
        )
        .offending(&unknown));
    }
    Ok((copies, priority))
}

impl Mcm {
    pub(crate) fn open(cfg: &Config, archive: Arc<Archive>) -> Result<Mcm, crate::AppError> {
        Ok(Mcm {
            cfg: cfg.clone(),
            db: ControlDb::open(cfg, Open::CreateIfMissing)?,
            archive,
            requests: Mutex::new(HashMap::new()),
        })
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn create(
        &self,
        _info: &AssociationInfo,
        instance: &str,
        req: MediaRequest,
    ) -> Result<(), McmRefusal> {
        if self.requests().contains_key(instance) {
            return Err(McmRefusal::new(
                mcm_status::DUPLICATE_SOP_INSTANCE,
                "a request with this SOP Instance UID exists",
            ));
        }
        let (copies, priority) = options(&req)?;
        let uids: Vec<&str> = req
            .refs
            .iter()
            .map(|r| r.sop_instance_uid.as_str())
            .collect();
        let indexed = self.archive.indexed_classes(&uids).map_err(processing)?;
        let mut failed = Vec::new();
        let mut collections = Vec::new();
        for r in &req.refs {
            match indexed.get(&r.sop_instance_uid) {
                Some((class, c)) if *class == r.sop_class_uid => collections.push(*c),
                Some(_) => failed.push((r.clone(), Commitment::CLASS_INSTANCE_CONFLICT)),
                None => failed.push((r.clone(), Commitment::NO_SUCH_OBJECT_INSTANCE)),
            }
        }
        if !failed.is_empty() {
            let mut r = invalid(
                tag::REFERENCED_SOP_SEQUENCE,
                format!(
                    "{} referenced instances are not in the archive",
                    failed.len()
                ),
            );
            r.failed = failed;
            return Err(r);
        }
        collections.sort_unstable();
        collections.dedup();
        let whole = match collections.as_slice() {
            [c] => {
                let all = self.db.control().instances(Some(*c)).map_err(processing)?;
                let mut wanted: Vec<&str> = uids.clone();
                wanted.sort_unstable();
                wanted.dedup();
                (all.len() == wanted.len()).then_some(*c)
            }
            _ => None,
        };
        let Some(collection) = whole else {
            return Err(invalid(
                tag::REFERENCED_SOP_SEQUENCE,
                "the instances must be all of one patient collection (discs of part of one are not supported yet)",
            ));
        };
        self.requests().insert(
            instance.to_string(),
            Entry {
                collection,
                copies,
                priority,
                job: None,
                cancelled: false,
            },
        );
        Ok(())
    }

    pub(crate) fn action(&self, instance: &str, action: McmAction) -> Result<(), McmRefusal> {
        let mut requests = self.requests();
        let entry = requests
            .get_mut(instance)
            .ok_or_else(|| McmRefusal::new(0x0112, "no such media creation request"))?;
        match (action, entry.job) {
            (McmAction::Initiate, Some(_)) => Err(McmRefusal::new(
                mcm_status::ALREADY_INITIATED,
                "already initiated",
            )),
            (McmAction::Initiate, None) if entry.cancelled => Err(McmRefusal::new(
                mcm_status::ALREADY_COMPLETED,
                "the request was cancelled",
            )),
            (McmAction::Initiate, None) => {
                let id = jobs::create(
                    &self.cfg,
                    &self.db,
                    &JobRequest {
                        collection: entry.collection,
                        copies: entry.copies,
                        priority: entry.priority,
                        ..JobRequest::default()
                    },
                )
                .map_err(processing)?;
                entry.job = Some(id);
                Ok(())
            }
            (McmAction::Cancel, None) => {
                entry.cancelled = true;
                Ok(())
            }
            (McmAction::Cancel, Some(id)) => {
                let state = jobs::show(&self.cfg, &self.db, id)
                    .map(|v| JobState::parse(&v.state))
                    .map_err(processing)?;
                match state {
                    Some(JobState::Done) => Err(McmRefusal::new(
                        mcm_status::ALREADY_COMPLETED,
                        "the discs are made",
                    )),
                    Some(s) if s.is_final() => Ok(()),
                    _ => jobs::cancel(&self.db, id).map_err(|e| {
                        McmRefusal::new(mcm_status::CANCELLATION_DENIED, e.to_string())
                    }),
                }
            }
        }
    }

    pub(crate) fn status(&self, instance: &str) -> Result<MediaStatus, McmRefusal> {
        let (job, cancelled) = {
            let requests = self.requests();
            let e = requests
                .get(instance)
                .ok_or_else(|| McmRefusal::new(0x0112, "no such media creation request"))?;
            (e.job, e.cancelled)
        };
        let Some(id) = job else {
            let (st, info) = if cancelled {
                ("FAILURE", "CANCELLED")
            } else {
                ("IDLE", "NORMAL")
            };
            return Ok(MediaStatus {
                execution_status: st.into(),
                execution_status_info: info.into(),
                ..MediaStatus::default()
            });
        };
        let view = jobs::show(&self.cfg, &self.db, id).map_err(processing)?;
        let (st, info) = match JobState::parse(&view.state) {
            Some(JobState::Queued) => ("PENDING", "QUEUED"),
            Some(JobState::Done) => ("DONE", "NORMAL"),
            Some(JobState::Failed) => ("FAILURE", "PROC_FAILURE"),
            Some(JobState::Cancelled) => ("FAILURE", "CANCELLED"),
            _ => ("CREATING", "NORMAL"),
        };
        // One item per piece made: its volume's File-set ID, as its DICOMDIR has it (the
        // copies of a volume share it). No File-set UID: our DICOMDIRs carry none.
        let pattern = self.cfg.media.fileset_id_pattern.to_string();
        let media = view
            .discs
            .iter()
            .filter(|d| d.outcome == "burned")
            .map(|d| {
                let id =
                    dcmdisc_media::fileset_id(&pattern, d.volume as usize, view.volumes as usize);
                (id, String::new())
            })
            .collect();
        Ok(MediaStatus {
            execution_status: st.into(),
            execution_status_info: info.into(),
            pieces_created: u16::try_from(view.burned).unwrap_or(u16::MAX),
            failed: Vec::<(SopRef, u16)>::new(),
            media,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(attributes: &[(u32, &str)]) -> MediaRequest {
        MediaRequest {
            refs: Vec::new(),
            attributes: attributes
                .iter()
                .map(|(t, v)| (*t, v.to_string()))
                .collect(),
        }
    }

    fn refusal(attributes: &[(u32, &str)]) -> (u16, Vec<u32>) {
        let r = options(&request(attributes)).unwrap_err();
        (r.status, r.offending)
    }

    #[test]
    fn what_is_honoured() {
        assert_eq!(options(&request(&[])).unwrap(), (1, Priority::Normal));
        let honoured = [
            (tag::REFERENCED_SOP_SEQUENCE, ""),
            (NUMBER_OF_COPIES, "3 "),
            (REQUEST_PRIORITY, "LOW"),
            (ALLOW_MEDIA_SPLITTING, "YES"),
            (ALLOW_LOSSY_COMPRESSION, "NO"),
            (INCLUDE_DISPLAY_APPLICATION, "NO"),
            (LABEL_TEXT, ""),
        ];
        assert_eq!(options(&request(&honoured)).unwrap(), (3, Priority::Low));
    }

    #[test]
    fn what_is_refused_names_its_tag() {
        for (t, v) in [
            (NUMBER_OF_COPIES, "0"),
            (NUMBER_OF_COPIES, "100"),
            (NUMBER_OF_COPIES, "two"),
            (REQUEST_PRIORITY, "URGENT"),
            (ALLOW_MEDIA_SPLITTING, "NO"),
            (PRESERVE_COMPOSITE_INSTANCES, "NO"),
            (LABEL_USING_INFORMATION, "YES"),
            (LABEL_TEXT, "DR WHO"),
            (STORAGE_MEDIA_FILE_SET_ID, "MYDISC"),
        ] {
            assert_eq!(refusal(&[(t, v)]), (0x0106, vec![t]), "{t:08X} {v}");
        }
        // Attributes outside the request: all of them named, 0105.
        assert_eq!(
            refusal(&[(0x0010_0010, "X"), (0x0010_0020, "Y")]),
            (0x0105, vec![0x0010_0010, 0x0010_0020])
        );
    }
}

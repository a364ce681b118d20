//! Media Creation Management SCP (PS3.4 Annex S): N-CREATE of a Media Creation Request,
//! N-ACTION Initiate (1) and Cancel (2), N-GET of its status. The command sets and data sets
//! are read and written here; what a request becomes (a disc job) is the services' business
//! ([`crate::Services::mcm_create`] and the two after it), and so is every refusal of an
//! attribute they cannot honour: they answer the standard status with the offending elements.

use dcmdisc_dicom::tag;
use dcmdisc_dicom::uid::{self, EXPLICIT_VR_LE, MEDIA_CREATION_MANAGEMENT};
use tracing::{info, warn};

use crate::association::End;
use crate::dataset::{self, Writer};
use crate::dimse::{self, status, Command};
use crate::dispatch::{answer, Exchange, Receiver};
use crate::establish::Accepted;
use crate::services::{Services, SopRef};

/// A request's data set is small (a Referenced SOP Sequence of some thousand instances).
const MAX_DATASET: usize = 16 * 1024 * 1024;

/// MCM statuses (PS3.4 S.3.2.2.1.4, S.3.2.1) and the N-CREATE ones of PS3.7 we use.
pub mod mcm_status {
    pub const NO_SUCH_ATTRIBUTE: u16 = 0x0105;
    pub const INVALID_ATTRIBUTE_VALUE: u16 = 0x0106;
    pub const ATTRIBUTE_LIST_ERROR: u16 = 0x0107;
    pub const DUPLICATE_SOP_INSTANCE: u16 = 0x0111;
    pub const ALREADY_INITIATED: u16 = 0xA510;
    pub const ALREADY_COMPLETED: u16 = 0xC201;
    pub const CANNOT_INTERRUPT: u16 = 0xC202;
    pub const CANCELLATION_DENIED: u16 = 0xC203;
}

/// The top-level attributes of a Media Creation Request (PS3.4 Table S.3-1) and their
/// values as received (text values trimmed); the services decide which they honour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaRequest {
    pub refs: Vec<SopRef>,
    /// Every top-level attribute present, with its value (sequences: empty), for the checks.
    pub attributes: Vec<(u32, String)>,
}

impl MediaRequest {
    pub fn value(&self, tag: u32) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_str())
    }
}

/// What a refused MCM operation answers: the status, why (Error Comment), the offending
/// elements and, for unknown instances, the Failed SOP Sequence (with its Failure Reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McmRefusal {
    pub status: u16,
    pub comment: String,
    pub offending: Vec<u32>,
    pub failed: Vec<(SopRef, u16)>,
}

impl McmRefusal {
    pub fn new(status: u16, comment: impl Into<String>) -> Self {
        McmRefusal {
            status,
            comment: comment.into(),
            offending: Vec::new(),
            failed: Vec::new(),
        }
    }

    pub fn offending(mut self, tags: &[u32]) -> Self {
        self.offending.extend_from_slice(tags);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McmAction {
    Initiate,
    Cancel,
}

/// A request's status as N-GET reports it (PS3.4 Table S.3-3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaStatus {
    /// IDLE, PENDING, CREATING, DONE or FAILURE.
    pub execution_status: String,
    pub execution_status_info: String,
    pub pieces_created: u16,
    pub failed: Vec<(SopRef, u16)>,
    /// (Storage Media File-Set ID, Storage Media File-Set UID) of each piece made.
    pub media: Vec<(String, String)>,
}

/// The attributes N-GET can return, in ascending order.
const GETTABLE: [u32; 5] = [
    tag::FAILED_SOP_SEQUENCE,
    EXECUTION_STATUS,
    EXECUTION_STATUS_INFO,
    TOTAL_NUMBER_OF_PIECES_OF_MEDIA_CREATED,
    REFERENCED_STORAGE_MEDIA_SEQUENCE,
];
pub const EXECUTION_STATUS: u32 = 0x2100_0020;
pub const EXECUTION_STATUS_INFO: u32 = 0x2100_0030;
pub const TOTAL_NUMBER_OF_PIECES_OF_MEDIA_CREATED: u32 = 0x2200_000B;
pub const REFERENCED_STORAGE_MEDIA_SEQUENCE: u32 = 0x2200_000D;
const STORAGE_MEDIA_FILE_SET_ID: u32 = 0x0088_0130;
const STORAGE_MEDIA_FILE_SET_UID: u32 = 0x0088_0140;

/// Which operation a collected data set belongs to.
pub(crate) enum Pending {
    Create { instance: String },
    Action { instance: String, action: McmAction },
}

/// An N-CREATE or N-ACTION whose data set is arriving.
pub(crate) struct McmOp {
    pending: Pending,
    message_id: u16,
    explicit: bool,
    data: Vec<u8>,
    too_large: bool,
}

impl McmOp {
    pub fn write(&mut self, data: &[u8]) {
        if self.data.len() + data.len() > MAX_DATASET {
            self.too_large = true;
            self.data = Vec::new();
        }
        if !self.too_large {
            self.data.extend_from_slice(data);
        }
    }
}

fn response(field: u16, message_id: u16, instance: &str, code: u16) -> Command {
    let mut rsp = Command::default();
    rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, MEDIA_CREATION_MANAGEMENT)
        .push_u16(dimse::TAG_COMMAND_FIELD, field)
        .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_u16(dimse::TAG_STATUS, code);
    if !instance.is_empty() {
        rsp.push_uid(dimse::TAG_AFFECTED_SOP_INSTANCE, instance);
    }
    rsp
}

/// A refusal's response: Error Comment, Offending Element, and the Failed SOP Sequence as
/// its data set when instances are unknown.
fn refused<S>(
    ex: &Exchange<'_, S>,
    mut rsp: Command,
    r: &McmRefusal,
    explicit: bool,
) -> Result<(), End> {
    warn!(assoc = ex.info.id, status = %format!("{:04X}", r.status),
        "media creation refused: {}", r.comment);
    rsp.push_text(dimse::TAG_ERROR_COMMENT, &r.comment);
    if !r.offending.is_empty() {
        let mut at = Vec::with_capacity(4 * r.offending.len());
        for t in &r.offending {
            at.extend_from_slice(&((t >> 16) as u16).to_le_bytes());
            at.extend_from_slice(&(*t as u16).to_le_bytes());
        }
        rsp.push_raw(dimse::TAG_OFFENDING_ELEMENT, at);
    }
    if r.failed.is_empty() {
        return ex.reply(&rsp);
    }
    rsp.set_u16(dimse::TAG_DATASET_TYPE, dimse::DATASET_PRESENT);
    let mut w = Writer::new(explicit);
    let items = failed_items(&w, &r.failed);
    w.sequence(tag::FAILED_SOP_SEQUENCE, items);
    ex.send(ex.context_id, &rsp, Some(&w.into_bytes()))
}

fn failed_items(w: &Writer, failed: &[(SopRef, u16)]) -> Vec<Writer> {
    failed
        .iter()
        .map(|(r, reason)| {
            let mut i = w.item();
            i.uid(tag::REFERENCED_SOP_CLASS_UID, &r.sop_class_uid)
                .uid(tag::REFERENCED_SOP_INSTANCE_UID, &r.sop_instance_uid)
                .us(tag::FAILURE_REASON, *reason);
            i
        })
        .collect()
}

/// A new SOP Instance UID for a request whose N-CREATE named none (PS3.5 B.2: 2.25 and a
/// 128-bit number; here the time, our process and a counter, hashed).
fn new_instance_uid() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u64(n);
    h.write_u32(std::process::id());
    let high = h.finish();
    format!(
        "2.25.{}",
        (u128::from(high) << 64) | u128::from(n.wrapping_add(1))
    )
}

fn explicit(context: &Accepted) -> bool {
    context.transfer_syntax == EXPLICIT_VR_LE
}

/// N-CREATE-RQ on the MCM context.
pub(crate) fn create<S: Services>(
    ex: &Exchange<'_, S>,
    context: &Accepted,
    cmd: &Command,
    message_id: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let class = cmd.uid(dimse::TAG_AFFECTED_SOP_CLASS).unwrap_or_default();
    let instance = cmd
        .uid(dimse::TAG_AFFECTED_SOP_INSTANCE)
        .unwrap_or_default();
    let fail = |code, why: &str| {
        let mut rsp = response(dimse::N_CREATE_RSP, message_id, "", code);
        rsp.push_text(dimse::TAG_ERROR_COMMENT, why);
        answer(ex, cmd.has_dataset(), rsp)
    };
    if class != MEDIA_CREATION_MANAGEMENT {
        return fail(status::NO_SUCH_SOP_CLASS, "Affected SOP Class is not MCM");
    }
    if !instance.is_empty() && uid::check_received(instance.as_bytes()).is_err() {
        return fail(0x0117, "invalid Affected SOP Instance UID");
    }
    if !cmd.has_dataset() {
        return fail(status::MISSING_ATTRIBUTE, "N-CREATE-RQ without a data set");
    }
    let instance = if instance.is_empty() {
        new_instance_uid()
    } else {
        instance
    };
    Ok(Some(Receiver::Mcm(McmOp {
        pending: Pending::Create { instance },
        message_id,
        explicit: explicit(context),
        data: Vec::new(),
        too_large: false,
    })))
}

/// N-ACTION-RQ on the MCM context.
pub(crate) fn action<S: Services>(
    ex: &Exchange<'_, S>,
    context: &Accepted,
    cmd: &Command,
    message_id: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let instance = cmd
        .uid(dimse::TAG_REQUESTED_SOP_INSTANCE)
        .unwrap_or_default();
    let class = cmd.uid(dimse::TAG_REQUESTED_SOP_CLASS).unwrap_or_default();
    let action = match cmd.u16(dimse::TAG_ACTION_TYPE_ID) {
        Some(1) => Some(McmAction::Initiate),
        Some(2) => Some(McmAction::Cancel),
        _ => None,
    };
    let rsp = |code| {
        let mut r = response(dimse::N_ACTION_RSP, message_id, &instance, code);
        if let Some(t) = cmd.u16(dimse::TAG_ACTION_TYPE_ID) {
            r.push_u16(dimse::TAG_ACTION_TYPE_ID, t);
        }
        r
    };
    let Some(action) = action.filter(|_| class == MEDIA_CREATION_MANAGEMENT) else {
        let code = if class != MEDIA_CREATION_MANAGEMENT {
            status::NO_SUCH_SOP_CLASS
        } else {
            status::NO_SUCH_ACTION
        };
        return answer(ex, cmd.has_dataset(), rsp(code));
    };
    let op = McmOp {
        pending: Pending::Action { instance, action },
        message_id,
        explicit: explicit(context),
        data: Vec::new(),
        too_large: false,
    };
    if cmd.has_dataset() {
        return Ok(Some(Receiver::Mcm(op)));
    }
    finish(ex, op)?;
    Ok(None)
}

/// The data set of an N-CREATE or N-ACTION has arrived (or none was to come).
pub(crate) fn finish<S: Services>(ex: &Exchange<'_, S>, op: McmOp) -> Result<(), End> {
    match op.pending {
        Pending::Create { ref instance } => {
            let rsp = response(dimse::N_CREATE_RSP, op.message_id, instance, 0);
            let result = read_request(&op).and_then(|req| {
                let n = req.refs.len();
                ex.services.mcm_create(ex.info, instance, req).map(|()| n)
            });
            match result {
                Ok(n) => {
                    info!(assoc = ex.info.id, instance = %instance, instances = n,
                        "media creation request created");
                    ex.reply(&rsp)
                }
                Err(r) => refused(ex, with_status(rsp, r.status), &r, op.explicit),
            }
        }
        Pending::Action {
            ref instance,
            action,
        } => {
            let code = match action {
                McmAction::Initiate => 1,
                McmAction::Cancel => 2,
            };
            let mut rsp = response(dimse::N_ACTION_RSP, op.message_id, instance, 0);
            rsp.push_u16(dimse::TAG_ACTION_TYPE_ID, code);
            match ex.services.mcm_action(ex.info, instance, action) {
                Ok(()) => {
                    info!(assoc = ex.info.id, instance = %instance, ?action, "media creation action");
                    ex.reply(&rsp)
                }
                Err(r) => refused(ex, with_status(rsp, r.status), &r, op.explicit),
            }
        }
    }
}

fn with_status(mut rsp: Command, code: u16) -> Command {
    rsp.set_u16(dimse::TAG_STATUS, code);
    rsp
}

/// The N-CREATE data set as a [`MediaRequest`]; a structure that does not parse, or a
/// Referenced SOP Sequence item without valid UIDs, is refused here.
fn read_request(op: &McmOp) -> Result<MediaRequest, McmRefusal> {
    if op.too_large {
        return Err(McmRefusal::new(
            status::RESOURCE_LIMITATION,
            format!("data set over {MAX_DATASET} bytes"),
        ));
    }
    let read = dataset::read_all(&op.data, op.explicit, &[tag::REFERENCED_SOP_SEQUENCE])
        .map_err(|e| McmRefusal::new(status::PROCESSING_FAILURE, e.to_string()))?;
    let mut req = MediaRequest::default();
    for t in &read.tags {
        let text = read.value(*t).map(uid::trim).unwrap_or_default();
        req.attributes.push((*t, text));
    }
    let Some(items) = read.items(tag::REFERENCED_SOP_SEQUENCE) else {
        return Err(
            McmRefusal::new(status::MISSING_ATTRIBUTE, "no Referenced SOP Sequence")
                .offending(&[tag::REFERENCED_SOP_SEQUENCE]),
        );
    };
    for i in items {
        let valid = |t| {
            i.value(t)
                .and_then(|v| uid::check_received(v).ok())
                .map(str::to_string)
        };
        match (
            valid(tag::REFERENCED_SOP_CLASS_UID),
            valid(tag::REFERENCED_SOP_INSTANCE_UID),
        ) {
            (Some(sop_class_uid), Some(sop_instance_uid)) => req.refs.push(SopRef {
                sop_class_uid,
                sop_instance_uid,
            }),
            _ => {
                return Err(McmRefusal::new(
                    mcm_status::INVALID_ATTRIBUTE_VALUE,
                    "a Referenced SOP Sequence item lacks valid UIDs",
                )
                .offending(&[tag::REFERENCED_SOP_SEQUENCE]))
            }
        }
    }
    if req.refs.is_empty() {
        return Err(McmRefusal::new(
            mcm_status::INVALID_ATTRIBUTE_VALUE,
            "an empty Referenced SOP Sequence",
        )
        .offending(&[tag::REFERENCED_SOP_SEQUENCE]));
    }
    Ok(req)
}

/// N-GET-RQ on the MCM context: the attributes asked for (all we have when the list is
/// empty); ones we do not have make the status 0107 (attribute list error).
pub(crate) fn get<S: Services>(
    ex: &Exchange<'_, S>,
    context: &Accepted,
    cmd: &Command,
    message_id: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let instance = cmd
        .uid(dimse::TAG_REQUESTED_SOP_INSTANCE)
        .unwrap_or_default();
    let mut rsp = response(dimse::N_GET_RSP, message_id, &instance, 0);
    let asked: Vec<u32> = cmd
        .raw(dimse::TAG_ATTRIBUTE_IDENTIFIER_LIST)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|c| {
            (u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)
                | u32::from(u16::from_le_bytes([c[2], c[3]]))
        })
        .collect();
    let st = match ex.services.mcm_status(ex.info, &instance) {
        Ok(st) => st,
        Err(r) => {
            refused(ex, with_status(rsp, r.status), &r, explicit(context))?;
            return answer_drained(cmd);
        }
    };
    let wanted: Vec<u32> = if asked.is_empty() {
        GETTABLE.to_vec()
    } else {
        GETTABLE
            .iter()
            .copied()
            .filter(|t| asked.contains(t))
            .collect()
    };
    if asked.iter().any(|t| !GETTABLE.contains(t)) {
        rsp.set_u16(dimse::TAG_STATUS, mcm_status::ATTRIBUTE_LIST_ERROR);
    }
    let mut w = Writer::new(explicit(context));
    for t in wanted {
        match t {
            tag::FAILED_SOP_SEQUENCE if !st.failed.is_empty() => {
                let items = failed_items(&w, &st.failed);
                w.sequence(t, items);
            }
            EXECUTION_STATUS => {
                w.element(t, *b"CS", st.execution_status.as_bytes());
            }
            EXECUTION_STATUS_INFO => {
                w.element(t, *b"CS", st.execution_status_info.as_bytes());
            }
            TOTAL_NUMBER_OF_PIECES_OF_MEDIA_CREATED => {
                w.us(t, st.pieces_created);
            }
            REFERENCED_STORAGE_MEDIA_SEQUENCE => {
                let items = st
                    .media
                    .iter()
                    .map(|(id, fuid)| {
                        let mut i = w.item();
                        i.element(STORAGE_MEDIA_FILE_SET_ID, *b"SH", id.as_bytes());
                        if !fuid.is_empty() {
                            i.uid(STORAGE_MEDIA_FILE_SET_UID, fuid);
                        }
                        i
                    })
                    .collect();
                w.sequence(t, items);
            }
            _ => {}
        }
    }
    rsp.set_u16(dimse::TAG_DATASET_TYPE, dimse::DATASET_PRESENT);
    ex.send(ex.context_id, &rsp, Some(&w.into_bytes()))?;
    answer_drained(cmd)
}

/// An N-GET-RQ carries no data set; if one follows anyway, it is read and dropped.
fn answer_drained<K>(cmd: &Command) -> Result<Option<Receiver<K>>, End> {
    Ok(cmd.has_dataset().then_some(Receiver::Discard))
}

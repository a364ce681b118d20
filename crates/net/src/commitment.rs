//! Storage Commitment Push Model SCP (PS3.4 J.3): N-ACTION "Request Storage Commitment"
//! answered with its N-ACTION-RSP, then the result as an N-EVENT-REPORT-RQ (event type 1 when
//! every instance is committed, 2 with the Failed SOP Sequence otherwise).
//!
//! The report goes on the same association while it is open: it is queued here and sent by
//! the state machine once nothing more of the peer's is waiting in our buffer (so a peer that
//! sent its A-RELEASE-RQ right after the N-ACTION-RQ is released first), and it is delivered
//! when the peer answers it with success. One the association could not deliver (released or
//! aborted before the N-EVENT-REPORT-RSP, or answered with a failure) goes on a new
//! association to the calling AE's configured address ([`crate::scu`]) once this one has
//! ended (PS3.4 J.3.3: the SCU may release after the N-ACTION-RSP).
//!
//! What committed means is the services' answer ([`crate::Services::check_commitment`]).

use std::cell::{Cell, RefCell};

use dcmdisc_dicom::tag;
use dcmdisc_dicom::uid::{
    EXPLICIT_VR_LE, STORAGE_COMMITMENT_PUSH_MODEL, STORAGE_COMMITMENT_PUSH_MODEL_INSTANCE,
};
use tracing::{info, warn};

use crate::association::End;
use crate::dataset::{self, Writer};
use crate::dimse::{self, status, Command};
use crate::dispatch::{answer, Exchange, Receiver};
use crate::establish::Accepted;
use crate::services::{Commitment, Services, SopRef};

/// An N-ACTION data set larger than this is refused (0213H) rather than held: a Referenced
/// SOP Sequence of 50 000 instances is about 6 MiB.
pub(crate) const MAX_ACTION_DATASET: usize = 16 * 1024 * 1024;
/// Request Storage Commitment (PS3.4 J.3.2.1.1).
const ACTION_REQUEST_COMMITMENT: u16 = 1;
/// Storage Commitment Request Successful / Complete - Failures Exist (PS3.4 J.3.3.1.1).
pub(crate) const EVENT_SUCCESS: u16 = 1;
pub(crate) const EVENT_FAILURES: u16 = 2;

/// The result of one commitment request, to be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub transaction_uid: String,
    pub committed: Vec<SopRef>,
    /// With the Failure Reason of each.
    pub failed: Vec<(SopRef, u16)>,
}

impl Report {
    pub fn event_type(&self) -> u16 {
        if self.failed.is_empty() {
            EVENT_SUCCESS
        } else {
            EVENT_FAILURES
        }
    }

    /// The Event Information (PS3.4 Table J.3-2): Transaction UID, the Failed SOP Sequence
    /// when some failed, the Referenced SOP Sequence when some succeeded (ascending tags).
    pub fn dataset(&self, explicit: bool) -> Vec<u8> {
        let mut w = Writer::new(explicit);
        w.uid(tag::TRANSACTION_UID, &self.transaction_uid);
        if !self.failed.is_empty() {
            let items = self
                .failed
                .iter()
                .map(|(r, reason)| {
                    let mut i = w.item();
                    i.uid(tag::REFERENCED_SOP_CLASS_UID, &r.sop_class_uid)
                        .uid(tag::REFERENCED_SOP_INSTANCE_UID, &r.sop_instance_uid)
                        .us(tag::FAILURE_REASON, *reason);
                    i
                })
                .collect();
            w.sequence(tag::FAILED_SOP_SEQUENCE, items);
        }
        if !self.committed.is_empty() {
            let items = self
                .committed
                .iter()
                .map(|r| {
                    let mut i = w.item();
                    i.uid(tag::REFERENCED_SOP_CLASS_UID, &r.sop_class_uid)
                        .uid(tag::REFERENCED_SOP_INSTANCE_UID, &r.sop_instance_uid);
                    i
                })
                .collect();
            w.sequence(tag::REFERENCED_SOP_SEQUENCE, items);
        }
        w.into_bytes()
    }

    /// The N-EVENT-REPORT-RQ command set.
    pub fn command(&self, message_id: u16) -> Command {
        let mut c = Command::default();
        c.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, STORAGE_COMMITMENT_PUSH_MODEL)
            .push_u16(dimse::TAG_COMMAND_FIELD, dimse::N_EVENT_REPORT_RQ)
            .push_u16(dimse::TAG_MESSAGE_ID, message_id)
            .push_u16(dimse::TAG_DATASET_TYPE, dimse::DATASET_PRESENT)
            .push_uid(
                dimse::TAG_AFFECTED_SOP_INSTANCE,
                STORAGE_COMMITMENT_PUSH_MODEL_INSTANCE,
            )
            .push_u16(dimse::TAG_EVENT_TYPE_ID, self.event_type());
        c
    }
}

/// A report waiting to go on this association: its context and encoding.
struct Queued {
    context_id: u8,
    explicit: bool,
    report: Report,
}

/// The reports of one association: queued, sent and awaiting their response, or left for a
/// new association. Only the association's own thread touches it.
#[derive(Default)]
pub(crate) struct Outbox {
    queued: RefCell<Vec<Queued>>,
    awaiting: RefCell<Vec<(u16, Report)>>,
    undelivered: RefCell<Vec<Report>>,
    /// Message IDs of our requests on this association.
    last_id: Cell<u16>,
}

impl Outbox {
    pub fn has_queued(&self) -> bool {
        !self.queued.borrow().is_empty()
    }

    /// Send every queued report with `send(context_id, command, dataset)`.
    pub fn send_queued(
        &self,
        mut send: impl FnMut(u8, &Command, &[u8]) -> Result<(), End>,
    ) -> Result<(), End> {
        let queued = std::mem::take(&mut *self.queued.borrow_mut());
        let mut queued = queued.into_iter();
        while let Some(q) = queued.next() {
            let id = self.last_id.get().wrapping_add(1).max(1);
            self.last_id.set(id);
            let sent = send(
                q.context_id,
                &q.report.command(id),
                &q.report.dataset(q.explicit),
            );
            if let Err(end) = sent {
                // Not sent: this one and the rest go on a new association.
                let mut left = self.undelivered.borrow_mut();
                left.push(q.report);
                left.extend(queued.map(|q| q.report));
                return Err(end);
            }
            self.awaiting.borrow_mut().push((id, q.report));
        }
        Ok(())
    }

    /// Everything not delivered on this association, once it has ended.
    pub fn take_undelivered(&self) -> Vec<Report> {
        let mut out = std::mem::take(&mut *self.undelivered.borrow_mut());
        out.extend(self.awaiting.borrow_mut().drain(..).map(|(_, r)| r));
        out.extend(self.queued.borrow_mut().drain(..).map(|q| q.report));
        out
    }
}

/// One N-ACTION-RQ whose data set is arriving.
pub(crate) struct ActionOp {
    message_id: u16,
    explicit: bool,
    data: Vec<u8>,
    too_large: bool,
}

impl ActionOp {
    pub fn write(&mut self, data: &[u8]) {
        if self.data.len() + data.len() > MAX_ACTION_DATASET {
            self.too_large = true;
            self.data = Vec::new();
        }
        if !self.too_large {
            self.data.extend_from_slice(data);
        }
    }
}

/// The N-ACTION-RSP command set.
fn response(message_id: u16, status: u16, comment: Option<&str>) -> Command {
    let mut rsp = Command::default();
    rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, STORAGE_COMMITMENT_PUSH_MODEL)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::N_ACTION_RSP)
        .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_u16(dimse::TAG_STATUS, status)
        .push_uid(
            dimse::TAG_AFFECTED_SOP_INSTANCE,
            STORAGE_COMMITMENT_PUSH_MODEL_INSTANCE,
        )
        .push_u16(dimse::TAG_ACTION_TYPE_ID, ACTION_REQUEST_COMMITMENT);
    if let Some(c) = comment {
        rsp.push_text(dimse::TAG_ERROR_COMMENT, c);
    }
    rsp
}

/// An N-ACTION-RQ on a Storage Commitment context: checked, then its data set collected.
pub(crate) fn handle<S: Services>(
    ex: &Exchange<'_, S>,
    context: &Accepted,
    cmd: &Command,
    message_id: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let class = cmd.uid(dimse::TAG_REQUESTED_SOP_CLASS).unwrap_or_default();
    let instance = cmd
        .uid(dimse::TAG_REQUESTED_SOP_INSTANCE)
        .unwrap_or_default();
    let action = cmd.u16(dimse::TAG_ACTION_TYPE_ID);
    let refused = if class != STORAGE_COMMITMENT_PUSH_MODEL {
        Some((
            status::NO_SUCH_SOP_CLASS,
            "Requested SOP Class is not 1.2.840.10008.1.20.1",
        ))
    } else if instance != STORAGE_COMMITMENT_PUSH_MODEL_INSTANCE {
        Some((
            status::NO_SUCH_SOP_INSTANCE,
            "Requested SOP Instance is not 1.2.840.10008.1.20.1.1",
        ))
    } else if action != Some(ACTION_REQUEST_COMMITMENT) {
        Some((status::NO_SUCH_ACTION, "Action Type ID is not 1"))
    } else if !cmd.has_dataset() {
        Some((
            status::INVALID_ARGUMENT_VALUE,
            "N-ACTION-RQ without a data set",
        ))
    } else {
        None
    };
    if let Some((code, why)) = refused {
        warn!(assoc = ex.info.id, status = %format!("{code:04X}"), "storage commitment refused: {why}");
        return answer(ex, cmd.has_dataset(), response(message_id, code, Some(why)));
    }
    Ok(Some(Receiver::Commitment(ActionOp {
        message_id,
        explicit: context.transfer_syntax == EXPLICIT_VR_LE,
        data: Vec::new(),
        too_large: false,
    })))
}

/// The request's data set: Transaction UID and the references, or why it is refused.
fn parse(op: &ActionOp) -> Result<(String, Vec<SopRef>), (u16, String)> {
    if op.too_large {
        return Err((
            status::RESOURCE_LIMITATION,
            format!("data set over {MAX_ACTION_DATASET} bytes"),
        ));
    }
    parse_request(&op.data, op.explicit)
}

/// A whole request data set (see [`parse`]).
pub(crate) fn parse_request(
    data: &[u8],
    explicit: bool,
) -> Result<(String, Vec<SopRef>), (u16, String)> {
    let read = dataset::read(
        data,
        explicit,
        &[tag::TRANSACTION_UID],
        &[tag::REFERENCED_SOP_SEQUENCE],
    )
    .map_err(|e| (status::PROCESSING_FAILURE, e.to_string()))?;
    let transaction = read
        .value(tag::TRANSACTION_UID)
        .and_then(|v| dcmdisc_dicom::uid::check_received(v).ok())
        .map(str::to_string)
        .ok_or((
            status::INVALID_ARGUMENT_VALUE,
            "no valid Transaction UID".to_string(),
        ))?;
    let items = read
        .items(tag::REFERENCED_SOP_SEQUENCE)
        .filter(|i| !i.is_empty())
        .ok_or((
            status::INVALID_ARGUMENT_VALUE,
            "no Referenced SOP Sequence items".to_string(),
        ))?;
    // Each reference must name its class and instance with valid UIDs: one that does not
    // cannot be looked up, nor repeated in a report (a 100 KB "UID" from an Implicit VR
    // data set would not even fit a UI element of Explicit VR), so the request is refused.
    let valid = |i: &dataset::Item, t: u32| {
        i.value(t)
            .and_then(|v| dcmdisc_dicom::uid::check_received(v).ok())
            .map(str::to_string)
    };
    let mut refs = Vec::with_capacity(items.len());
    for (n, i) in items.iter().enumerate() {
        match (
            valid(i, tag::REFERENCED_SOP_CLASS_UID),
            valid(i, tag::REFERENCED_SOP_INSTANCE_UID),
        ) {
            (Some(sop_class_uid), Some(sop_instance_uid)) => refs.push(SopRef {
                sop_class_uid,
                sop_instance_uid,
            }),
            _ => {
                return Err((
                    status::INVALID_ARGUMENT_VALUE,
                    format!(
                        "Referenced SOP Sequence item {} lacks a valid SOP Class or Instance UID",
                        n + 1
                    ),
                ))
            }
        }
    }
    Ok((transaction, refs))
}

/// The request's data set has arrived: answer it, look the instances up and queue the
/// report for this association.
pub(crate) fn finish<S: Services>(ex: &Exchange<'_, S>, op: ActionOp) -> Result<(), End> {
    let (transaction_uid, refs) = match parse(&op) {
        Ok(p) => p,
        Err((code, why)) => {
            warn!(assoc = ex.info.id, status = %format!("{code:04X}"), "storage commitment refused: {why}");
            return ex.reply(&response(op.message_id, code, Some(&why)));
        }
    };
    ex.reply(&response(op.message_id, status::SUCCESS, None))?;
    let answers = ex.services.check_commitment(ex.info, &refs);
    let mut report = Report {
        transaction_uid,
        committed: Vec::new(),
        failed: Vec::new(),
    };
    for (i, r) in refs.into_iter().enumerate() {
        // A reference the services did not answer is not committed.
        match answers.get(i) {
            Some(Commitment::Committed) => report.committed.push(r),
            Some(Commitment::Failed(reason)) => report.failed.push((r, *reason)),
            None => report.failed.push((r, Commitment::PROCESSING_FAILURE)),
        }
    }
    info!(
        assoc = ex.info.id, transaction_uid = %report.transaction_uid,
        committed = report.committed.len(), failed = report.failed.len(),
        "storage commitment requested"
    );
    ex.outbox.queued.borrow_mut().push(Queued {
        context_id: ex.context_id,
        explicit: op.explicit,
        report,
    });
    Ok(())
}

/// An N-EVENT-REPORT-RSP from the peer: the report it answers is delivered, or, answered
/// with a failure, left for a new association. `None`: we sent no such request.
pub(crate) fn answered<S>(ex: &Exchange<'_, S>, cmd: &Command) -> Option<()> {
    let id = cmd.u16(dimse::TAG_MESSAGE_ID_RESPONDED)?;
    let mut awaiting = ex.outbox.awaiting.borrow_mut();
    let at = awaiting.iter().position(|(i, _)| *i == id)?;
    let (_, report) = awaiting.remove(at);
    let code = cmd
        .u16(dimse::TAG_STATUS)
        .unwrap_or(status::PROCESSING_FAILURE);
    if code == status::SUCCESS {
        info!(assoc = ex.info.id, transaction_uid = %report.transaction_uid,
            "storage commitment reported on the requesting association");
    } else {
        warn!(assoc = ex.info.id, transaction_uid = %report.transaction_uid,
            status = %format!("{code:04X}"),
            "the peer refused the commitment report here; it goes on a new association");
        ex.outbox.undelivered.borrow_mut().push(report);
    }
    Some(())
}

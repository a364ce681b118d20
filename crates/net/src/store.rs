//! C-STORE SCP (PS3.7 9.3.1, PS3.4 annex B): checks the request, streams the dataset to the
//! sink the services give, and answers with the status they return. A failure found before
//! or while receiving is answered once the rest of the dataset has been read and dropped.

use dcmdisc_dicom::uid::{self, BadUid};
use tracing::debug;

use crate::association::End;
use crate::dimse::{self, Command};
use crate::dispatch::{Exchange, Receiver};
use crate::establish::Accepted;
use crate::services::{AssociationInfo, InstanceSink, Services, StoreRequest, StoreStatus};

/// One C-STORE between its command set and its response.
pub(crate) struct StoreOp<K> {
    sop_class_uid: String,
    sop_instance_uid: String,
    transfer_syntax: String,
    message_id: u16,
    /// Whether the response repeats the command's UIDs: not when they are invalid (the
    /// fields above then hold a printable form, for the logs).
    echo_class: bool,
    echo_instance: bool,
    /// `None` once it failed (dropping it discards what it took) or if it never began.
    sink: Option<K>,
    failure: Option<StoreStatus>,
    bytes: u64,
}

pub(crate) fn handle<S: Services>(
    ex: &Exchange<'_, S>,
    context: &Accepted,
    cmd: &Command,
    message_id: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let sop_class_uid = cmd.uid(dimse::TAG_AFFECTED_SOP_CLASS).unwrap_or_default();
    let sop_instance_uid = cmd
        .uid(dimse::TAG_AFFECTED_SOP_INSTANCE)
        .unwrap_or_default();
    let mut op = StoreOp {
        sop_class_uid,
        sop_instance_uid,
        transfer_syntax: context.transfer_syntax.clone(),
        message_id,
        echo_class: true,
        echo_instance: true,
        sink: None,
        failure: None,
        bytes: 0,
    };
    let class_problem = invalid(cmd.raw(dimse::TAG_AFFECTED_SOP_CLASS));
    let instance_problem = invalid(cmd.raw(dimse::TAG_AFFECTED_SOP_INSTANCE));
    if let Some((shown, _)) = &class_problem {
        op.sop_class_uid = shown.clone();
        op.echo_class = false;
    }
    if let Some((shown, _)) = &instance_problem {
        op.sop_instance_uid = shown.clone();
        op.echo_instance = false;
    }
    if let Some((shown, why)) = instance_problem {
        op.failure = Some(StoreStatus::new(
            StoreStatus::INVALID_SOP_INSTANCE,
            format!(
                "invalid Affected SOP Instance UID (0000,1000) in the command: \"{shown}\" ({why})"
            ),
        ));
    } else if let Some((shown, why)) = class_problem {
        op.failure = Some(StoreStatus::new(
            StoreStatus::CANNOT_UNDERSTAND,
            format!(
                "invalid Affected SOP Class UID (0000,0002) in the command: \"{shown}\" ({why})"
            ),
        ));
    } else if op.sop_class_uid != context.abstract_syntax {
        op.failure = Some(StoreStatus::new(
            StoreStatus::SOP_CLASS_NOT_SUPPORTED,
            format!(
                "command SOP Class {} differs from presentation context {}",
                op.sop_class_uid, context.abstract_syntax
            ),
        ));
    } else if op.sop_instance_uid.is_empty() {
        op.failure = Some(StoreStatus::new(
            StoreStatus::CANNOT_UNDERSTAND,
            "command lacks Affected SOP Instance UID",
        ));
    } else {
        match ex.services.begin_store(&op.request(ex.info)) {
            Ok(sink) => op.sink = Some(sink),
            Err(status) => op.failure = Some(status),
        }
    }
    if cmd.has_dataset() {
        return Ok(Some(Receiver::Store(op)));
    }
    op.sink = None;
    let status = StoreStatus::new(
        StoreStatus::CANNOT_UNDERSTAND,
        "C-STORE-RQ without a dataset",
    );
    done(ex, op, status)?;
    Ok(None)
}

/// A UID value that is there but breaks the rules for received UIDs: its printable form and
/// why. An empty or absent one is left to the checks that follow (it is missing, not invalid).
fn invalid(raw: Option<&[u8]>) -> Option<(String, BadUid)> {
    let raw = raw?;
    match uid::check_received(raw) {
        Ok(_) | Err(BadUid::Empty) => None,
        Err(why) => Some((uid::printable(raw), why)),
    }
}

impl<K: InstanceSink> StoreOp<K> {
    pub fn has_sink(&self) -> bool {
        self.sink.is_some()
    }

    fn fail(&mut self, status: StoreStatus) {
        // Dropping the sink discards what was written; the rest of the dataset is still read.
        self.sink = None;
        self.failure = Some(status);
    }

    /// See [`Receiver::receive_in_place`].
    pub fn receive_in_place(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, End>,
    ) -> Result<usize, End> {
        let Some(sink) = self.sink.as_mut() else {
            return Ok(0);
        };
        match sink.buffer(max) {
            Ok(Some(buf)) if !buf.is_empty() => {
                let took = read(buf)?;
                self.bytes += took as u64;
                if let Err(status) = sink.commit(took) {
                    self.fail(status);
                }
                Ok(took)
            }
            Ok(_) => Ok(0),
            Err(status) => {
                self.fail(status);
                Ok(0)
            }
        }
    }

    pub fn write(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        if let Some(sink) = self.sink.as_mut() {
            if let Err(status) = sink.write(data) {
                self.fail(status);
            }
        }
    }
}

impl<K> StoreOp<K> {
    fn request<'a>(&'a self, association: &'a AssociationInfo) -> StoreRequest<'a> {
        StoreRequest {
            association,
            sop_class_uid: &self.sop_class_uid,
            sop_instance_uid: &self.sop_instance_uid,
            transfer_syntax: &self.transfer_syntax,
            message_id: self.message_id,
        }
    }
}

/// The whole dataset has arrived.
pub(crate) fn finish<S: Services>(
    ex: &Exchange<'_, S>,
    mut op: StoreOp<S::Sink>,
) -> Result<(), End> {
    let status = match (op.failure.take(), op.sink.take()) {
        (Some(f), _) => f,
        (None, Some(sink)) => sink.finish(&op.request(ex.info)),
        (None, None) => StoreStatus::new(StoreStatus::OUT_OF_RESOURCES, "no sink"),
    };
    done(ex, op, status)
}

fn done<S: Services>(
    ex: &Exchange<'_, S>,
    op: StoreOp<S::Sink>,
    status: StoreStatus,
) -> Result<(), End> {
    // A success is already in the store log (written with its index row): its log line can
    // wait until the sender has its answer. A failure's log entry is written first, so it
    // is there as soon as the sender knows.
    let success = status.code == StoreStatus::SUCCESS;
    if !success {
        ex.services.record_store(&op.request(ex.info), &status);
    }
    let mut rsp = Command::default();
    if op.echo_class {
        rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, &op.sop_class_uid);
    }
    rsp.push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_STORE_RSP)
        .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, op.message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_u16(dimse::TAG_STATUS, status.code);
    if op.echo_instance {
        rsp.push_uid(dimse::TAG_AFFECTED_SOP_INSTANCE, &op.sop_instance_uid);
    }
    if !success {
        rsp.push_text(dimse::TAG_ERROR_COMMENT, &status.reason);
    }
    debug!(
        assoc = ex.info.id,
        bytes = op.bytes,
        status = status.code,
        "C-STORE done"
    );
    let sent = ex.reply(&rsp);
    if success {
        ex.services.record_store(&op.request(ex.info), &status);
    }
    sent
}

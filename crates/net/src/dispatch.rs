//! DIMSE services behind one dispatcher keyed by command field: C-ECHO, C-STORE and the
//! Storage Commitment N-ACTION served, the N-EVENT-REPORT-RSP to one of our reports taken,
//! the other requests of PS3.7 refused with their response (0211), and anything else (a
//! C-CANCEL, another response, an undefined field) ends the association with an A-ABORT at
//! once.
//!
//! A new service (N-CREATE, N-ACTION, N-GET, N-EVENT-REPORT for Media Creation Management)
//! is a new file with a `handle` function, one arm in [`command`], and, if its request
//! carries a dataset, one variant of [`Receiver`]; the P-DATA state machine does not change.

use std::io::Write;
use std::net::TcpStream;

use tracing::warn;

use crate::association::End;
use crate::commitment::{self, Outbox};
use crate::contexts::{MEDIA_CREATION_MANAGEMENT, STORAGE_COMMITMENT_PUSH_MODEL};
use crate::dimse::{self, Command};
use crate::establish::Accepted;
use crate::pdu;
use crate::services::{AssociationInfo, InstanceSink, Services};
use crate::{echo, mcm, store};

/// What a service needs to answer a request: the program's services, the association, and
/// the way back on the request's presentation context.
pub(crate) struct Exchange<'a, S> {
    pub services: &'a S,
    pub info: &'a AssociationInfo,
    pub context_id: u8,
    pub peer_max: u32,
    pub writer: &'a TcpStream,
    /// The reports (Storage Commitment results) of this association.
    pub outbox: &'a Outbox,
}

impl<S> Exchange<'_, S> {
    /// Send a response command set.
    pub fn reply(&self, cmd: &Command) -> Result<(), End> {
        self.send(self.context_id, cmd, None)
    }

    /// Send a command set, and the data set that follows it, on `context_id`.
    pub fn send(&self, context_id: u8, cmd: &Command, data: Option<&[u8]>) -> Result<(), End> {
        let mut out = Vec::with_capacity(256 + data.map_or(0, <[u8]>::len));
        pdu::encode_pdata(&mut out, context_id, true, &cmd.encode(), self.peer_max);
        if let Some(data) = data {
            pdu::encode_pdata(&mut out, context_id, false, data, self.peer_max);
        }
        // One write per response: with TCP_NODELAY it leaves at once, in one segment.
        (&*self.writer)
            .write_all(&out)
            .map_err(|e| End::Gone(format!("sending response: {e}")))
    }
}

/// What takes the dataset that follows a request's command set.
pub(crate) enum Receiver<K> {
    /// A C-STORE instance, for the services' sink.
    Store(store::StoreOp<K>),
    /// The data set of a Storage Commitment N-ACTION-RQ.
    Commitment(commitment::ActionOp),
    /// The data set of a Media Creation Management N-CREATE-RQ or N-ACTION-RQ.
    Mcm(mcm::McmOp),
    /// A dataset we have no use for: `response` is sent once it has been read.
    Drain { response: Command },
    /// The data set of a response sent to us (an Event Reply): read and dropped.
    Discard,
}

impl<K: InstanceSink> Receiver<K> {
    /// Whether dataset bytes can be received straight into this receiver's own buffer.
    pub fn takes_in_place(&self) -> bool {
        match self {
            Receiver::Store(op) => op.has_sink(),
            Receiver::Commitment(_)
            | Receiver::Mcm(_)
            | Receiver::Drain { .. }
            | Receiver::Discard => false,
        }
    }

    /// Receive up to `max` next dataset bytes into the receiver's buffer with `read`
    /// (which reads at least one byte). Returns how many arrived, 0 when the receiver
    /// offered no buffer: the caller then goes through [`Receiver::write`].
    pub fn receive_in_place(
        &mut self,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, End>,
    ) -> Result<usize, End> {
        match self {
            Receiver::Store(op) => op.receive_in_place(max, read),
            Receiver::Commitment(_)
            | Receiver::Mcm(_)
            | Receiver::Drain { .. }
            | Receiver::Discard => Ok(0),
        }
    }

    /// The next dataset bytes, from the association's own buffer.
    pub fn write(&mut self, data: &[u8]) {
        match self {
            Receiver::Store(op) => op.write(data),
            Receiver::Commitment(op) => op.write(data),
            Receiver::Mcm(op) => op.write(data),
            Receiver::Drain { .. } | Receiver::Discard => {}
        }
    }

    /// The dataset is complete: answer the request.
    pub fn finish<S: Services<Sink = K>>(self, ex: &Exchange<'_, S>) -> Result<(), End> {
        match self {
            Receiver::Store(op) => store::finish(ex, op),
            Receiver::Commitment(op) => commitment::finish(ex, op),
            Receiver::Mcm(op) => mcm::finish(ex, op),
            Receiver::Drain { response } => ex.reply(&response),
            Receiver::Discard => Ok(()),
        }
    }
}

/// Hand a complete command set to its service. `Some` when a dataset follows and the
/// returned receiver takes it.
pub(crate) fn command<S: Services>(
    ex: &Exchange<'_, S>,
    context: &Accepted,
    cmd: &Command,
    field: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let message_id = cmd.u16(dimse::TAG_MESSAGE_ID).unwrap_or(0);
    match field {
        dimse::C_ECHO_RQ => echo::handle(ex, cmd, message_id),
        dimse::C_STORE_RQ => store::handle(ex, context, cmd, message_id),
        dimse::N_ACTION_RQ if context.abstract_syntax == STORAGE_COMMITMENT_PUSH_MODEL => {
            commitment::handle(ex, context, cmd, message_id)
        }
        dimse::N_ACTION_RQ if context.abstract_syntax == MEDIA_CREATION_MANAGEMENT => {
            mcm::action(ex, context, cmd, message_id)
        }
        dimse::N_CREATE_RQ if context.abstract_syntax == MEDIA_CREATION_MANAGEMENT => {
            mcm::create(ex, context, cmd, message_id)
        }
        dimse::N_GET_RQ if context.abstract_syntax == MEDIA_CREATION_MANAGEMENT => {
            mcm::get(ex, context, cmd, message_id)
        }
        f if dimse::OTHER_REQUESTS.contains(&f) => unsupported(ex, cmd, f, message_id),
        dimse::N_EVENT_REPORT_RSP if commitment::answered(ex, cmd).is_some() => {
            Ok(cmd.has_dataset().then_some(Receiver::Discard))
        }
        // C-CANCEL has no response (PS3.7 9.3.2.3) and cancels only C-FIND, C-GET or
        // C-MOVE, which we never accept: no well-behaved peer sends it to us. Ignoring it
        // would leave the peer waiting until the DIMSE timeout, so the association ends now.
        dimse::C_CANCEL_RQ => Err(End::Abort(
            pdu::ABORT_UNEXPECTED_PDU_PARAMETER,
            "C-CANCEL-RQ, but no operation of ours can be cancelled".into(),
        )),
        f if f & dimse::RESPONSE_BIT != 0 => Err(End::Abort(
            pdu::ABORT_UNEXPECTED_PDU_PARAMETER,
            format!("response command {f:#06x} to no request of ours"),
        )),
        // No response command field would make sense for a command that does not exist.
        f => Err(End::Abort(
            pdu::ABORT_UNRECOGNIZED_PDU_PARAMETER,
            format!("unknown DIMSE command field {f:#06x}"),
        )),
    }
}

/// Answer a command now, or once the dataset that follows it has been read and discarded.
pub(crate) fn answer<S, K>(
    ex: &Exchange<'_, S>,
    dataset_follows: bool,
    response: Command,
) -> Result<Option<Receiver<K>>, End> {
    if dataset_follows {
        return Ok(Some(Receiver::Drain { response }));
    }
    ex.reply(&response)?;
    Ok(None)
}

/// A request we do not provide: its response with status 0211 (unrecognized operation).
fn unsupported<S: Services>(
    ex: &Exchange<'_, S>,
    cmd: &Command,
    field: u16,
    message_id: u16,
) -> Result<Option<Receiver<S::Sink>>, End> {
    let mut rsp = Command::default();
    if let Some(class) = cmd.uid(dimse::TAG_AFFECTED_SOP_CLASS) {
        rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, &class);
    }
    rsp.push_u16(dimse::TAG_COMMAND_FIELD, field | dimse::RESPONSE_BIT)
        .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_u16(dimse::TAG_STATUS, 0x0211);
    warn!(assoc = ex.info.id, "unsupported DIMSE command {field:#06x}");
    answer(ex, cmd.has_dataset(), rsp)
}

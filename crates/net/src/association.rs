//! The P-DATA phase of one association (PS3.8 9.3.5 and annex E): PDU framing, PDV
//! reassembly into command sets and datasets, and release. What a command means is the
//! dispatcher's business ([`crate::dispatch`]); this file only enforces the framing rules and
//! moves bytes, dataset bytes straight into the receiver's buffer when it offers one.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::net::TcpStream;

use tracing::warn;

use crate::commitment::Outbox;
use crate::dimse::Command;
use crate::dispatch::{self, Exchange, Receiver};
use crate::establish::Accepted;
use crate::pdu::{self, PduHeader};
use crate::services::{AssociationInfo, Services};
use crate::socket::{read_end, read_in, read_some, Inbound};

/// Command sets are a few hundred bytes; anything this large is an attack or a bug.
const MAX_COMMAND_SET: usize = 64 * 1024;

/// Why an association ends abnormally; the peer gets an A-ABORT unless it went away.
#[derive(Debug)]
pub(crate) enum End {
    /// Peer closed, aborted, or the socket failed: nothing to send.
    Gone(String),
    /// Protocol violation or timeout: send A-ABORT (service provider, reason) and close.
    Abort(u8, String),
    /// Orderly release done.
    Released,
}

/// A dataset being received: the context its command came on and what takes its bytes.
struct Pending<K> {
    context_id: u8,
    receiver: Receiver<K>,
}

pub(crate) struct Association<'a, S: Services> {
    services: &'a S,
    /// Our maximum P-DATA-TF length, as we announced it.
    max_pdu_length: u32,
    info: &'a AssociationInfo,
    contexts: HashMap<u8, Accepted>,
    peer_max: u32,
    writer: &'a TcpStream,
    /// Our requests to the peer (Storage Commitment reports) and their answers.
    outbox: &'a Outbox,
    /// Reused for every PDV that does not go straight to a receiver's buffer.
    body: Vec<u8>,
    /// The command set being reassembled.
    command: Vec<u8>,
    pending: Option<Pending<S::Sink>>,
}

impl<'a, S: Services> Association<'a, S> {
    pub fn new(
        services: &'a S,
        max_pdu_length: u32,
        info: &'a AssociationInfo,
        contexts: HashMap<u8, Accepted>,
        peer_max: u32,
        writer: &'a TcpStream,
        outbox: &'a Outbox,
    ) -> Self {
        Association {
            services,
            max_pdu_length,
            info,
            contexts,
            peer_max,
            writer,
            outbox,
            body: Vec::new(),
            command: Vec::new(),
            pending: None,
        }
    }

    /// Serve PDUs until the association ends. The socket's read timeout is the DIMSE timer;
    /// a message in progress must also keep the minimum pace ([`Inbound`]).
    pub fn run(&mut self, reader: &mut BufReader<Inbound>) -> End {
        loop {
            if self.pending.is_none() && self.command.is_empty() {
                reader.get_mut().between_messages();
                // Our own requests go out between messages, and only once the peer's PDUs
                // already received are handled: a release that came with the N-ACTION-RQ
                // is answered first, and the report then goes on a new association.
                if self.outbox.has_queued() && reader.buffer().is_empty() {
                    let ex = self.exchange(0);
                    if let Err(end) = self
                        .outbox
                        .send_queued(|id, cmd, data| ex.send(id, cmd, Some(data)))
                    {
                        return end;
                    }
                }
            }
            let header = match pdu::read_header(reader) {
                Ok(Some(h)) => h,
                Ok(None) => return End::Gone("peer closed the connection without release".into()),
                Err(e) => return read_end(&e, "DIMSE timeout"),
            };
            if let Err(end) = self.pdu(reader, header) {
                return end;
            }
        }
    }

    /// What a service needs to answer on `context_id`.
    fn exchange(&self, context_id: u8) -> Exchange<'a, S> {
        Exchange {
            services: self.services,
            info: self.info,
            context_id,
            peer_max: self.peer_max,
            writer: self.writer,
            outbox: self.outbox,
        }
    }

    /// Read `n` bytes into the reused body buffer and hand them to `then`.
    fn through_body(
        &mut self,
        reader: &mut impl Read,
        n: usize,
        then: impl FnOnce(&mut Self, &[u8]) -> Result<(), End>,
    ) -> Result<(), End> {
        // Grown, never shrunk: command and data PDUs alternate, and resizing between them
        // would zero the buffer again for every message.
        if self.body.len() < n {
            self.body.resize(n, 0);
        }
        read_in(reader, &mut self.body[..n])?;
        let body = std::mem::take(&mut self.body);
        let r = then(self, &body[..n]);
        self.body = body;
        r
    }

    fn pdu(&mut self, reader: &mut BufReader<Inbound>, h: PduHeader) -> Result<(), End> {
        match h.pdu_type {
            pdu::P_DATA_TF => {
                // Checked before reading: the declared length is never allocated if too big.
                if h.length > self.max_pdu_length {
                    return Err(End::Abort(
                        pdu::ABORT_INVALID_PDU_PARAMETER,
                        format!(
                            "P-DATA-TF of {} bytes exceeds our maximum of {}",
                            h.length, self.max_pdu_length
                        ),
                    ));
                }
                self.pdata(reader, h.length as usize)
            }
            pdu::A_RELEASE_RQ => {
                if h.length != 4 {
                    return Err(End::Abort(
                        pdu::ABORT_INVALID_PDU_PARAMETER,
                        "bad A-RELEASE-RQ length".into(),
                    ));
                }
                self.through_body(reader, h.length as usize, |_, _| Ok(()))?;
                if self.pending.is_some() {
                    warn!(
                        assoc = self.info.id,
                        "release requested in the middle of a message"
                    );
                }
                pdu::write_all(&mut self.writer, &pdu::release_rp_pdu())
                    .map_err(|e| End::Gone(e.to_string()))?;
                Err(End::Released)
            }
            pdu::A_ABORT => Err(End::Gone("peer aborted".into())),
            0x01..=0x07 => Err(End::Abort(
                pdu::ABORT_UNEXPECTED_PDU,
                format!("unexpected PDU type {:#04x}", h.pdu_type),
            )),
            t => Err(End::Abort(
                pdu::ABORT_UNRECOGNIZED_PDU,
                format!("unknown PDU type {t:#04x}"),
            )),
        }
    }

    /// Read a P-DATA-TF body item by item. The data of a dataset PDV goes straight into the
    /// receiver's buffer when it has one; everything else through `self.body`.
    fn pdata(&mut self, reader: &mut BufReader<Inbound>, len: usize) -> Result<(), End> {
        let mut left = len;
        while left > 0 {
            let at = len - left;
            if left < pdu::PDV_HEADER_LEN {
                let e = pdu::MalformedPdv(at);
                return Err(End::Abort(pdu::ABORT_INVALID_PDU_PARAMETER, e.to_string()));
            }
            let mut hdr = [0u8; pdu::PDV_HEADER_LEN];
            read_in(reader, &mut hdr)?;
            let h = pdu::PdvHeader::parse(&hdr, at, left)
                .map_err(|e| End::Abort(pdu::ABORT_INVALID_PDU_PARAMETER, e.to_string()))?;
            left -= pdu::PDV_HEADER_LEN + h.data_len;
            let streams = !h.is_command
                && self
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.context_id == h.context_id && p.receiver.takes_in_place());
            if streams {
                self.stream_data(reader, h.context_id, h.data_len)?;
                if h.is_last {
                    self.data(h.context_id, &[], true)?;
                }
            } else {
                self.through_body(reader, h.data_len, |a, data| {
                    a.pdv(h.context_id, h.is_command, h.is_last, data)
                })?;
            }
        }
        Ok(())
    }

    /// `n` dataset bytes for the pending receiver, received into its own buffer.
    fn stream_data(
        &mut self,
        reader: &mut BufReader<Inbound>,
        context_id: u8,
        mut n: usize,
    ) -> Result<(), End> {
        while n > 0 {
            let mut took = 0;
            if let Some(p) = self.pending.as_mut() {
                took = p
                    .receiver
                    .receive_in_place(n, |buf| read_some(reader, buf))?;
            }
            if took == 0 {
                // The receiver failed or takes no buffer: the ordinary way, a slice at a time.
                took = n.min(64 * 1024);
                self.through_body(reader, took, |a, data| a.data(context_id, data, false))?;
            }
            n -= took;
        }
        Ok(())
    }

    fn pdv(
        &mut self,
        context_id: u8,
        is_command: bool,
        is_last: bool,
        data: &[u8],
    ) -> Result<(), End> {
        if !self.contexts.contains_key(&context_id) {
            return Err(End::Abort(
                pdu::ABORT_INVALID_PDU_PARAMETER,
                format!("PDV on presentation context {context_id} which was not accepted"),
            ));
        }
        if is_command {
            if self.pending.is_some() {
                return Err(End::Abort(
                    pdu::ABORT_INVALID_PDU_PARAMETER,
                    "command received while a dataset was expected".into(),
                ));
            }
            if self.command.len() + data.len() > MAX_COMMAND_SET {
                return Err(End::Abort(
                    pdu::ABORT_INVALID_PDU_PARAMETER,
                    "command set too large".into(),
                ));
            }
            self.command.extend_from_slice(data);
            if is_last {
                let bytes = std::mem::take(&mut self.command);
                self.command_complete(context_id, &bytes)?;
            }
            Ok(())
        } else {
            self.data(context_id, data, is_last)
        }
    }

    fn command_complete(&mut self, context_id: u8, bytes: &[u8]) -> Result<(), End> {
        let cmd = Command::parse(bytes).map_err(|e| {
            End::Abort(
                pdu::ABORT_INVALID_PDU_PARAMETER,
                format!("bad command set: {e}"),
            )
        })?;
        let field = cmd
            .command_field()
            .map_err(|e| End::Abort(pdu::ABORT_INVALID_PDU_PARAMETER, e.to_string()))?;
        let exchange = self.exchange(context_id);
        let context = &self.contexts[&context_id];
        if let Some(receiver) = dispatch::command(&exchange, context, &cmd, field)? {
            self.pending = Some(Pending {
                context_id,
                receiver,
            });
        }
        Ok(())
    }

    fn data(&mut self, context_id: u8, data: &[u8], last: bool) -> Result<(), End> {
        let Some(pending) = self.pending.as_mut() else {
            return Err(End::Abort(
                pdu::ABORT_INVALID_PDU_PARAMETER,
                "dataset PDV without a command".into(),
            ));
        };
        if pending.context_id != context_id {
            return Err(End::Abort(
                pdu::ABORT_INVALID_PDU_PARAMETER,
                format!(
                    "dataset PDV on context {context_id}, command was on {}",
                    pending.context_id
                ),
            ));
        }
        pending.receiver.write(data);
        if !last {
            return Ok(());
        }
        match self.pending.take() {
            Some(p) => p.receiver.finish(&self.exchange(p.context_id)),
            None => Ok(()),
        }
    }
}

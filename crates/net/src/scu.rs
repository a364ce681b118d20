//! The one association dcmdisc requests itself (PS3.8 as the requestor): delivering a Storage
//! Commitment report on a new association (PS3.4 J.3.3) when the one that asked for it has
//! ended. Minimal on purpose: one presentation context (Storage Commitment, Explicit and
//! Implicit VR LE) with SCP/SCU Role Selection proposing that we are its SCP (PS3.7
//! D.3.3.4), one N-EVENT-REPORT-RQ, its response, release.
//!
//! Every socket operation has a timeout (the connect ARTIM, reads and writes the DIMSE
//! timeout); every PDU's declared length is checked before it is read.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use dicom_ul::pdu::{
    AssociationRQ, Pdu, PresentationContextProposed, PresentationContextResultReason,
    RequestorRoles, UserVariableItem,
};

use crate::commitment::Report;
use crate::contexts::{clean_uid, EXPLICIT_VR_LE, IMPLICIT_VR_LE, STORAGE_COMMITMENT_PUSH_MODEL};
use crate::dimse::{self, Command};
use crate::establish::DICOM_APPLICATION_CONTEXT;
use crate::pdu;
use crate::server::ServerConfig;

/// Association PDUs from the peer larger than this are refused (as when we accept).
const MAX_ASSOCIATION_PDU: u32 = 256 * 1024;
/// PDUs we read before giving up on the response or the release (a peer that keeps talking).
const MAX_PDUS: usize = 1024;
const CONTEXT_ID: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ScuError {
    #[error("connecting to {0}: {1}")]
    Connect(SocketAddr, io::Error),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("association rejected (result {0}, source {1})")]
    Rejected(String, String),
    #[error("the Storage Commitment context was not accepted")]
    NoContext,
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Who we are to the peer, and who it is.
pub struct Titles<'a> {
    pub ours: &'a str,
    pub theirs: &'a str,
}

/// Open an association to `dest`, send `report` as N-EVENT-REPORT-RQ, read its response and
/// release. Returns the response's status.
pub fn send_report(
    cfg: &ServerConfig,
    dest: SocketAddr,
    titles: &Titles<'_>,
    report: &Report,
) -> Result<u16, ScuError> {
    let mut s = TcpStream::connect_timeout(&dest, cfg.artim_timeout)
        .map_err(|e| ScuError::Connect(dest, e))?;
    s.set_read_timeout(Some(cfg.dimse_timeout))?;
    s.set_write_timeout(Some(cfg.dimse_timeout))?;
    s.set_nodelay(true)?;
    let (explicit, peer_max) = associate(&mut s, cfg, titles)?;
    let mut out = Vec::new();
    let cmd = report.command(1).encode();
    pdu::encode_pdata(&mut out, CONTEXT_ID, true, &cmd, peer_max);
    pdu::encode_pdata(
        &mut out,
        CONTEXT_ID,
        false,
        &report.dataset(explicit),
        peer_max,
    );
    s.write_all(&out)?;
    let rsp = match response(&mut s, cfg.max_pdu_length) {
        Ok(rsp) => rsp,
        Err(e) => {
            let _ = s.write_all(&pdu::abort_pdu(0, 0));
            return Err(e);
        }
    };
    if rsp.command_field().ok() != Some(dimse::N_EVENT_REPORT_RSP)
        || rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED) != Some(1)
    {
        let _ = s.write_all(&pdu::abort_pdu(0, 0));
        return Err(ScuError::Protocol(
            "the answer is not the N-EVENT-REPORT-RSP to our request".into(),
        ));
    }
    let code = rsp.u16(dimse::TAG_STATUS).unwrap_or(0xFFFF);
    release(&mut s, cfg.max_pdu_length)?;
    Ok(code)
}

/// A-ASSOCIATE-RQ and its answer: whether the context is Explicit VR, and the peer's
/// maximum P-DATA-TF length.
fn associate(
    s: &mut TcpStream,
    cfg: &ServerConfig,
    titles: &Titles<'_>,
) -> Result<(bool, u32), ScuError> {
    let rq = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: titles.ours.to_string(),
        called_ae_title: titles.theirs.to_string(),
        application_context_name: DICOM_APPLICATION_CONTEXT.to_string(),
        presentation_contexts: vec![PresentationContextProposed {
            id: CONTEXT_ID,
            abstract_syntax: STORAGE_COMMITMENT_PUSH_MODEL.to_string(),
            transfer_syntaxes: vec![EXPLICIT_VR_LE.to_string(), IMPLICIT_VR_LE.to_string()],
        }],
        user_variables: vec![
            UserVariableItem::MaxLength(cfg.max_pdu_length),
            UserVariableItem::ImplementationClassUID(cfg.implementation_class_uid.clone()),
            UserVariableItem::ImplementationVersionName(cfg.implementation_version_name.clone()),
            // We, the requestor, are the SCP of Storage Commitment here, not its SCU.
            UserVariableItem::ScuScpRoleSelectionSubItem(
                STORAGE_COMMITMENT_PUSH_MODEL.to_string(),
                RequestorRoles {
                    scu: false,
                    scp: true,
                },
            ),
        ],
    });
    let mut out = Vec::new();
    dicom_ul::pdu::write_pdu(&mut out, &rq)
        .map_err(|e| ScuError::Protocol(format!("encoding A-ASSOCIATE-RQ: {e}")))?;
    s.write_all(&out)?;
    let (kind, body) = read_pdu(s, MAX_ASSOCIATION_PDU)?;
    let mut whole = vec![kind, 0];
    whole.extend_from_slice(&(body.len() as u32).to_be_bytes());
    whole.extend_from_slice(&body);
    let ac = match dicom_ul::pdu::read_pdu(&whole[..], MAX_ASSOCIATION_PDU, false) {
        Ok(Some(Pdu::AssociationAC(ac))) => ac,
        Ok(Some(Pdu::AssociationRJ(rj))) => {
            return Err(ScuError::Rejected(
                format!("{:?}", rj.result),
                format!("{:?}", rj.source),
            ))
        }
        Ok(Some(Pdu::AbortRQ { source })) => {
            return Err(ScuError::Protocol(format!("aborted: {source:?}")))
        }
        Ok(_) => return Err(ScuError::Protocol(format!("PDU type {kind:#04x}"))),
        Err(e) => return Err(ScuError::Protocol(format!("A-ASSOCIATE answer: {e}"))),
    };
    let ts = ac
        .presentation_contexts
        .iter()
        .find(|c| c.id == CONTEXT_ID && c.reason == PresentationContextResultReason::Acceptance)
        .map(|c| clean_uid(&c.transfer_syntax).to_string())
        .ok_or(ScuError::NoContext)?;
    if ts != EXPLICIT_VR_LE && ts != IMPLICIT_VR_LE {
        return Err(ScuError::Protocol(format!(
            "accepted transfer syntax {ts} was not proposed"
        )));
    }
    let peer_max = ac
        .user_variables
        .iter()
        .find_map(|v| match v {
            UserVariableItem::MaxLength(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    Ok((ts == EXPLICIT_VR_LE, peer_max))
}

/// One PDU: its type and body, refused when its declared length is over `max`.
fn read_pdu(s: &mut TcpStream, max: u32) -> Result<(u8, Vec<u8>), ScuError> {
    let h = pdu::read_header(s)?.ok_or_else(|| {
        ScuError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer closed the connection",
        ))
    })?;
    if h.length > max {
        return Err(ScuError::Protocol(format!(
            "PDU of {} bytes is over {max}",
            h.length
        )));
    }
    let mut body = vec![0u8; h.length as usize];
    s.read_exact(&mut body)?;
    Ok((h.pdu_type, body))
}

/// Read P-DATA-TF PDUs until the response's command set (and its data set, if one follows,
/// which is read and dropped) is complete.
fn response(s: &mut TcpStream, max_pdu: u32) -> Result<Command, ScuError> {
    let mut command = Vec::new();
    let mut done: Option<Command> = None;
    for _ in 0..MAX_PDUS {
        let (kind, body) = read_pdu(s, max_pdu)?;
        match kind {
            pdu::P_DATA_TF => {}
            pdu::A_ABORT => return Err(ScuError::Protocol("the peer aborted".into())),
            k => return Err(ScuError::Protocol(format!("unexpected PDU type {k:#04x}"))),
        }
        let mut at = 0;
        while at < body.len() {
            let hdr: &[u8; pdu::PDV_HEADER_LEN] = body
                .get(at..at + pdu::PDV_HEADER_LEN)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| ScuError::Protocol(pdu::MalformedPdv(at).to_string()))?;
            let h = pdu::PdvHeader::parse(hdr, at, body.len() - at)
                .map_err(|e| ScuError::Protocol(e.to_string()))?;
            let data = &body[at + pdu::PDV_HEADER_LEN..at + pdu::PDV_HEADER_LEN + h.data_len];
            at += pdu::PDV_HEADER_LEN + h.data_len;
            match (&done, h.is_command) {
                (None, true) => {
                    if command.len() + data.len() > 64 * 1024 {
                        return Err(ScuError::Protocol("command set too large".into()));
                    }
                    command.extend_from_slice(data);
                    if h.is_last {
                        let cmd = Command::parse(&command)
                            .map_err(|e| ScuError::Protocol(e.to_string()))?;
                        if !cmd.has_dataset() {
                            return Ok(cmd);
                        }
                        done = Some(cmd);
                    }
                }
                (Some(_), false) if h.is_last => {
                    return done.ok_or_else(|| ScuError::Protocol("no command".into()))
                }
                (Some(_), false) => {}
                _ => return Err(ScuError::Protocol("PDV out of order".into())),
            }
        }
    }
    Err(ScuError::Protocol("no response".into()))
}

/// A-RELEASE-RQ, then its A-RELEASE-RP (anything else in between is dropped).
fn release(s: &mut TcpStream, max_pdu: u32) -> Result<(), ScuError> {
    s.write_all(&[pdu::A_RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0])?;
    for _ in 0..MAX_PDUS {
        let (kind, _) = read_pdu(s, max_pdu.max(MAX_ASSOCIATION_PDU))?;
        match kind {
            pdu::A_RELEASE_RP => return Ok(()),
            pdu::A_ABORT => return Err(ScuError::Protocol("aborted during release".into())),
            _ => {}
        }
    }
    Err(ScuError::Protocol("no A-RELEASE-RP".into()))
}

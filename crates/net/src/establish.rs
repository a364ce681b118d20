//! Association establishment: reading the A-ASSOCIATE-RQ under ARTIM, the refusal policy of
//! the conformance statement (section 4.2.1.4), and the A-ASSOCIATE-AC with one answer per
//! proposed presentation context.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;

use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceProviderPresentationReason, AssociationRJServiceUserReason,
    AssociationRJSource, AssociationRQ, Pdu, PresentationContextResultReason, UserVariableItem,
    WriteError,
};

use crate::association::End;
use crate::contexts::clean_uid;
use crate::pdu;
use crate::server::ServerConfig;
use crate::services::{CallingCheck, Services};
use crate::socket::io_reason;

pub const DICOM_APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";
/// Association-phase PDUs are not bound by the negotiated maximum (it only applies to
/// P-DATA-TF), but we still refuse to buffer an absurd one: 128 contexts with six transfer
/// syntaxes each need about 24 KiB.
const MAX_ASSOCIATION_PDU: u32 = 256 * 1024;

/// Read the first PDU of a connection, which must be an A-ASSOCIATE-RQ. The socket's read
/// timeout is ARTIM.
pub(crate) fn read_association_rq(reader: &mut impl Read) -> Result<AssociationRQ, End> {
    let header = match pdu::read_header(reader) {
        Ok(Some(h)) => h,
        Ok(None) => return Err(End::Gone("closed".into())),
        Err(e) => return Err(End::Gone(io_reason(&e, "ARTIM timeout"))),
    };
    if header.pdu_type != pdu::A_ASSOCIATE_RQ {
        return Err(End::Abort(
            pdu::ABORT_UNEXPECTED_PDU,
            format!(
                "expected A-ASSOCIATE-RQ, got PDU type {:#04x}",
                header.pdu_type
            ),
        ));
    }
    if header.length > MAX_ASSOCIATION_PDU {
        return Err(End::Abort(
            pdu::ABORT_INVALID_PDU_PARAMETER,
            format!("A-ASSOCIATE-RQ of {} bytes is too large", header.length),
        ));
    }
    let mut buf = vec![0u8; 6 + header.length as usize];
    buf[0] = header.pdu_type;
    buf[2..6].copy_from_slice(&header.length.to_be_bytes());
    reader
        .read_exact(&mut buf[6..])
        .map_err(|e| End::Gone(io_reason(&e, "ARTIM timeout")))?;
    match dicom_ul::pdu::read_pdu(&buf[..], MAX_ASSOCIATION_PDU, true) {
        Ok(Some(Pdu::AssociationRQ(rq))) => Ok(rq),
        Ok(_) => Err(End::Abort(
            pdu::ABORT_INVALID_PDU_PARAMETER,
            "incomplete A-ASSOCIATE-RQ".into(),
        )),
        Err(e) => Err(End::Abort(
            pdu::ABORT_INVALID_PDU_PARAMETER,
            format!("malformed A-ASSOCIATE-RQ: {e}"),
        )),
    }
}

/// Why an association request is rejected: what the A-ASSOCIATE-RJ says, and what the log
/// says.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub result: AssociationRJResult,
    pub source: AssociationRJSource,
    pub why: String,
}

impl Refusal {
    /// The A-ASSOCIATE-RJ PDU; `None` if dicom-ul cannot encode it (then we only close).
    pub fn pdu(self) -> Option<Vec<u8>> {
        let rj = Pdu::AssociationRJ(AssociationRJ {
            result: self.result,
            source: self.source,
        });
        let mut out = Vec::new();
        dicom_ul::pdu::write_pdu(&mut out, &rj).ok()?;
        Some(out)
    }
}

/// Section 4.2.1.4's conditions, in the statement's order: protocol version, application
/// context, calling AE configured, calling address, called AE, pool.
pub(crate) fn refusal<S: Services>(
    cfg: &ServerConfig,
    services: &S,
    rq: &AssociationRQ,
    calling_ae: &str,
    called_ae: &str,
    peer: SocketAddr,
    has_slot: bool,
) -> Option<Refusal> {
    use AssociationRJResult::*;
    use AssociationRJSource::*;
    let refuse = |result, source, why| {
        Some(Refusal {
            result,
            source,
            why,
        })
    };
    if rq.protocol_version & 1 == 0 {
        return refuse(
            Permanent,
            ServiceProviderASCE(
                AssociationRJServiceProviderASCEReason::ProtocolVersionNotSupported,
            ),
            format!("protocol version {:#06x} lacks bit 0", rq.protocol_version),
        );
    }
    let context = clean_uid(&rq.application_context_name);
    if context != DICOM_APPLICATION_CONTEXT {
        return refuse(
            Permanent,
            ServiceUser(AssociationRJServiceUserReason::ApplicationContextNameNotSupported),
            format!("application context {context:?} is not DICOM"),
        );
    }
    match services.check_calling(calling_ae, peer.ip()) {
        CallingCheck::Allowed => {}
        CallingCheck::UnknownAe => {
            return refuse(
                Permanent,
                ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
                format!("calling AE {calling_ae:?} is not configured"),
            )
        }
        CallingCheck::WrongHost => {
            return refuse(
                Permanent,
                ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
                format!(
                    "calling AE {calling_ae:?} is not configured for address {}",
                    peer.ip()
                ),
            )
        }
    }
    if !cfg.ae_titles.iter().any(|a| a == called_ae) {
        return refuse(
            Permanent,
            ServiceUser(AssociationRJServiceUserReason::CalledAETitleNotRecognized),
            format!("called AE {called_ae:?} is not one of ours"),
        );
    }
    if !has_slot {
        return refuse(
            Transient,
            ServiceProviderPresentation(
                AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
            ),
            format!("association pool full ({} active)", cfg.max_associations),
        );
    }
    None
}

/// A presentation context we accepted: its abstract syntax and the transfer syntax we chose.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub abstract_syntax: String,
    pub transfer_syntax: String,
}

/// An accepted association request: the A-ASSOCIATE-AC to send and what it agreed to.
pub(crate) struct Acceptance {
    pub pdu: Vec<u8>,
    pub contexts: HashMap<u8, Accepted>,
    /// The peer's maximum P-DATA-TF length (0: unlimited).
    pub peer_max: u32,
}

/// Answer every proposed presentation context and encode the A-ASSOCIATE-AC.
pub(crate) fn accept(cfg: &ServerConfig, rq: &AssociationRQ) -> Result<Acceptance, WriteError> {
    let mut contexts = HashMap::new();
    let results: Vec<_> = rq
        .presentation_contexts
        .iter()
        .map(|pc| {
            let r = cfg.contexts.negotiate(pc);
            if r.reason == PresentationContextResultReason::Acceptance {
                contexts.insert(
                    pc.id,
                    Accepted {
                        abstract_syntax: clean_uid(&pc.abstract_syntax).to_string(),
                        transfer_syntax: r.transfer_syntax.clone(),
                    },
                );
            }
            r
        })
        .collect();
    let peer_max = rq
        .user_variables
        .iter()
        .find_map(|v| match v {
            UserVariableItem::MaxLength(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    let ac = Pdu::AssociationAC(AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: DICOM_APPLICATION_CONTEXT.to_string(),
        presentation_contexts: results,
        user_variables: vec![
            UserVariableItem::MaxLength(cfg.max_pdu_length),
            UserVariableItem::ImplementationClassUID(cfg.implementation_class_uid.clone()),
            UserVariableItem::ImplementationVersionName(cfg.implementation_version_name.clone()),
        ],
    });
    let mut pdu = Vec::new();
    dicom_ul::pdu::write_pdu(&mut pdu, &ac)?;
    Ok(Acceptance {
        pdu,
        contexts,
        peer_max,
    })
}

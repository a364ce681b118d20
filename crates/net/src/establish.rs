//! Association establishment: reading the A-ASSOCIATE-RQ under ARTIM, the refusal policy of
//! the conformance statement (section 4.2.1.4), and the A-ASSOCIATE-AC with one answer per
//! proposed presentation context.

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};

use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceProviderPresentationReason, AssociationRJServiceUserReason,
    AssociationRJSource, AssociationRQ, Pdu, PresentationContextResultReason, RequestorRoles,
    UserVariableItem, WriteError,
};

use crate::association::End;
use crate::contexts::clean_uid;
use crate::pdu;
use crate::server::ServerConfig;
use crate::services::{CallingCheck, Services};
use crate::socket::io_reason;

pub use dcmdisc_dicom::uid::DICOM_APPLICATION_CONTEXT;

/// Association-phase PDUs are not bound by the negotiated maximum (it only applies to
/// P-DATA-TF), but we still refuse to buffer an absurd one: 128 contexts with six transfer
/// syntaxes each need about 24 KiB.
const MAX_ASSOCIATION_PDU: u32 = 256 * 1024;

/// Read the first PDU of a connection, which must be an A-ASSOCIATE-RQ, under ARTIM (the
/// reader's deadline).
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
/// context, calling AE configured, calling address, called AE; the last one, the pool, is
/// [`pool_full`], asked only of a request that passed these.
pub(crate) fn refusal<S: Services>(
    cfg: &ServerConfig,
    services: &S,
    rq: &AssociationRQ,
    calling_ae: &str,
    called_ae: &str,
    peer: SocketAddr,
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
                format!(
                    "calling AE {calling_ae:?} is not configured (allow it with: {})",
                    allow_command(calling_ae, peer.ip())
                ),
            )
        }
        CallingCheck::WrongHost => {
            return refuse(
                Permanent,
                ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
                format!(
                    "calling AE {calling_ae:?} is not configured for address {ip} (allow this \
                     address with: {}, which replaces its configured host)",
                    allow_command(calling_ae, peer.ip()),
                    ip = peer.ip()
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
    None
}

/// The refusal of a request that found the association pool full: transient, so the sender
/// tries again later.
pub(crate) fn pool_full(max_associations: usize) -> Refusal {
    Refusal {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
        why: format!("association pool full ({max_associations} active)"),
    }
}

/// The command that admits `calling_ae` from `peer`. The refusal is logged here but remedied
/// with the CLI, so the log line names it: an operator reading "not configured" should not
/// have to look up how to configure it.
fn allow_command(calling_ae: &str, peer: IpAddr) -> String {
    format!(
        "dcmdisc remote add {} --host {peer}",
        shell_word(calling_ae)
    )
}

/// `word` as one shell word, quoted only when it needs it (AE titles may hold spaces).
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+@%/:=,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
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
    let mut user_variables = vec![
        UserVariableItem::MaxLength(cfg.max_pdu_length),
        UserVariableItem::ImplementationClassUID(cfg.implementation_class_uid.clone()),
        UserVariableItem::ImplementationVersionName(cfg.implementation_version_name.clone()),
    ];
    user_variables.extend(roles(cfg, rq, &contexts));
    let ac = Pdu::AssociationAC(AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: DICOM_APPLICATION_CONTEXT.to_string(),
        presentation_contexts: results,
        user_variables,
    });
    let mut pdu = Vec::new();
    dicom_ul::pdu::write_pdu(&mut pdu, &ac)?;
    Ok(Acceptance {
        pdu,
        contexts,
        peer_max,
    })
}

/// The answers to the requestor's SCP/SCU Role Selection items (PS3.7 D.3.3.4) for our
/// service classes (Storage Commitment, ...) it was accepted on: it may be their SCU, never
/// their SCP (we request nothing of them on its association). For other classes we answer
/// nothing, which keeps the default roles (requestor SCU).
fn roles(
    cfg: &ServerConfig,
    rq: &AssociationRQ,
    contexts: &HashMap<u8, Accepted>,
) -> Vec<UserVariableItem> {
    rq.user_variables
        .iter()
        .filter_map(|v| match v {
            UserVariableItem::ScuScpRoleSelectionSubItem(uid, roles) => {
                let uid = clean_uid(uid);
                let ours = cfg.contexts.is_service(uid)
                    && contexts.values().any(|c| c.abstract_syntax == uid);
                ours.then(|| {
                    UserVariableItem::ScuScpRoleSelectionSubItem(
                        uid.to_string(),
                        RequestorRoles {
                            scu: roles.scu,
                            scp: false,
                        },
                    )
                })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_command_is_one_shell_word_per_argument() {
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(
            allow_command("NEWCOMER", ip),
            "dcmdisc remote add NEWCOMER --host 127.0.0.2"
        );
        assert_eq!(
            allow_command("MY AE", ip),
            "dcmdisc remote add 'MY AE' --host 127.0.0.2"
        );
        assert_eq!(shell_word("O'NEIL"), r"'O'\''NEIL'");
        assert_eq!(shell_word(""), "''");
    }

    struct Fake(CallingCheck);

    struct NoSink;

    impl crate::InstanceSink for NoSink {
        fn write(&mut self, _: &[u8]) -> Result<(), crate::StoreStatus> {
            Ok(())
        }
        fn finish(self, _: &crate::StoreRequest<'_>) -> crate::StoreStatus {
            crate::StoreStatus::success()
        }
    }

    impl Services for Fake {
        type Sink = NoSink;
        fn check_calling(&self, _: &str, _: IpAddr) -> CallingCheck {
            self.0
        }
        fn begin_store(&self, _: &crate::StoreRequest<'_>) -> Result<NoSink, crate::StoreStatus> {
            Ok(NoSink)
        }
        fn record_store(&self, _: &crate::StoreRequest<'_>, _: &crate::StoreStatus) {}
    }

    /// The log line of a calling-AE refusal says how to allow it.
    #[test]
    fn calling_refusals_name_the_command_that_allows_them() {
        let cfg = ServerConfig {
            ae_titles: vec!["DCMDISC".into()],
            max_pdu_length: 16384,
            max_associations: 4,
            max_pending_connections: 16,
            max_pending_per_address: 4,
            artim_timeout: std::time::Duration::from_secs(1),
            dimse_timeout: std::time::Duration::from_secs(1),
            min_receive_bytes_per_sec: 1024,
            shutdown_grace: std::time::Duration::from_secs(1),
            implementation_class_uid: "1.2.3".into(),
            implementation_version_name: "TEST".into(),
            contexts: crate::ContextTable::standard().unwrap(),
        };
        let rq = AssociationRQ {
            protocol_version: 1,
            calling_ae_title: "NEWCOMER".into(),
            called_ae_title: "DCMDISC".into(),
            application_context_name: DICOM_APPLICATION_CONTEXT.into(),
            presentation_contexts: vec![],
            user_variables: vec![],
        };
        let peer: SocketAddr = "127.0.0.2:4000".parse().unwrap();
        let why = |check| {
            refusal(&cfg, &Fake(check), &rq, "NEWCOMER", "DCMDISC", peer)
                .map(|r| r.why)
                .unwrap_or_default()
        };
        assert_eq!(
            why(CallingCheck::UnknownAe),
            "calling AE \"NEWCOMER\" is not configured \
             (allow it with: dcmdisc remote add NEWCOMER --host 127.0.0.2)"
        );
        assert_eq!(
            why(CallingCheck::WrongHost),
            "calling AE \"NEWCOMER\" is not configured for address 127.0.0.2 (allow this \
             address with: dcmdisc remote add NEWCOMER --host 127.0.0.2, which replaces its \
             configured host)"
        );
        assert!(refusal(
            &cfg,
            &Fake(CallingCheck::Allowed),
            &rq,
            "NEWCOMER",
            "DCMDISC",
            peer,
        )
        .is_none());
    }
}

//! Entry points for the fuzz targets in `fuzz/`, not an API: establishment as `server.rs`
//! runs it (read the A-ASSOCIATE-RQ, the refusal checks, the A-ASSOCIATE-AC), on bytes
//! instead of a socket, so a fuzzer can reach the decisions without a connection per input;
//! and the Storage Commitment request's data set as `commitment.rs` reads it.

use std::net::SocketAddr;

use crate::association::End;
use crate::establish::{accept, read_association_rq, refusal};
use crate::server::ServerConfig;
use crate::services::{Services, SopRef};

/// A Storage Commitment N-ACTION data set (Explicit or Implicit VR LE) read as the SCP reads
/// it: the Transaction UID and the references, or the N-ACTION-RSP status refusing it.
pub fn commitment_request(data: &[u8], explicit: bool) -> Result<(String, Vec<SopRef>), u16> {
    crate::commitment::parse_request(data, explicit).map_err(|(code, _)| code)
}

/// How establishment ended for one request.
#[derive(Debug)]
pub enum Establishment {
    /// The bytes ended before a whole request (the connection would just close).
    Gone,
    /// A-ABORT with this reason.
    Aborted(u8),
    /// A-ASSOCIATE-RJ (its PDU, when dicom-ul could encode it).
    Rejected(Option<Vec<u8>>),
    /// A-ASSOCIATE-AC: its PDU and how many contexts were accepted.
    Accepted { pdu: Vec<u8>, contexts: usize },
}

/// The first PDU of a connection, `bytes`, answered as the server answers it (with a pool
/// slot free).
pub fn establish<S: Services>(
    cfg: &ServerConfig,
    services: &S,
    peer: SocketAddr,
    mut bytes: &[u8],
) -> Establishment {
    let rq = match read_association_rq(&mut bytes) {
        Ok(rq) => rq,
        Err(End::Abort(reason, _)) => return Establishment::Aborted(reason),
        Err(End::Gone(_) | End::Released) => return Establishment::Gone,
    };
    let calling_ae = rq.calling_ae_title.trim().to_string();
    let called_ae = rq.called_ae_title.trim().to_string();
    if let Some(refused) = refusal(cfg, services, &rq, &calling_ae, &called_ae, peer) {
        return Establishment::Rejected(refused.pdu());
    }
    match accept(cfg, &rq) {
        Ok(a) => Establishment::Accepted {
            pdu: a.pdu,
            contexts: a.contexts.len(),
        },
        Err(_) => Establishment::Aborted(crate::pdu::ABORT_REASON_NOT_SPECIFIED),
    }
}

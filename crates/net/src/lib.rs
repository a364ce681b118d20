//! The DICOM network layer of dcmdisc: the Storage Provider's PS3.8 acceptor and its PS3.7
//! message exchange.
//!
//! For: accepting TCP connections and bounding them (pool, shutdown grace); establishment
//! (A-ASSOCIATE-RQ checks in the conformance statement's order, presentation context and
//! transfer syntax negotiation); ARTIM and DIMSE timers; PDU and PDV framing; the C-ECHO and
//! C-STORE SCPs and the Storage Commitment Push Model SCP (its report on the same association
//! or, through a minimal requestor, on a new one) behind a dispatcher that new DIMSE services
//! join as new files. Instance bytes are streamed, in place when the sink offers a buffer,
//! never collected whole; only the small data sets of the N-services are held and parsed.
//!
//! Not for: deciding anything about what arrives. It knows nothing of files, databases,
//! configuration files or DICOM datasets beyond the command set: who may connect and what
//! becomes of an instance are answered by the [`Services`] the caller plugs in, and the status
//! a sink returns is what the sender gets (whether an instance is committed is theirs too). It
//! requests associations only to deliver commitment reports, and it does not parse or check
//! the instances it carries.
//!
//! Layout: [`server`] (accept loop, shutdown, one connection's life), `limits` (pending
//! connections and the association pool), `establish` (reading the request, refusal policy,
//! A-ASSOCIATE-AC), `association` (the P-DATA state machine), `dispatch` with one file per
//! service (`echo`, `store`, [`commitment`], [`mcm`]), [`scu`] (the outgoing association), [`dataset`]
//! (the N-services' data sets), `socket` (quick ACKs, timers, minimum progress, lingering
//! close), [`services`] (the traits the caller implements), and the codecs [`pdu`], [`dimse`]
//! and [`contexts`].

mod association;
pub mod commitment;
pub mod contexts;
pub mod dataset;
pub mod dimse;
mod dispatch;
mod echo;
mod establish;
#[doc(hidden)]
pub mod fuzzing;
mod limits;
pub mod mcm;
pub mod pdu;
pub mod scu;
pub mod server;
pub mod services;
mod socket;
mod store;

pub use contexts::ContextTable;
pub use server::{serve, ServerConfig};
pub use services::{
    AssociationEnd, AssociationInfo, CallingCheck, Commitment, InstanceSink, McmAction, McmRefusal,
    MediaRequest, MediaStatus, Services, SopRef, StoreRequest, StoreStatus,
};

//! The DICOM network layer of dcmdisc: the PS3.8 acceptor (association policy, presentation
//! context negotiation, ARTIM and DIMSE timers, PDU framing) and the PS3.7 C-ECHO and C-STORE
//! SCP message exchange.
//!
//! It is not the archive: it knows nothing of files or databases. What happens to a received
//! dataset is decided by the [`server::Services`] the binary plugs in; this crate only streams
//! the dataset bytes to the sink that `Services` returns and answers with the status it gets.

pub mod contexts;
pub mod dimse;
pub mod pdu;
pub mod server;

pub use contexts::ContextTable;
pub use server::{
    serve, AssociationInfo, CallingCheck, InstanceSink, ServerConfig, Services, StoreRequest,
    StoreStatus,
};

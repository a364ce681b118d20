//! What the network layer asks of the rest of the program, and what it tells it: the traits
//! the binary implements (admission of a calling AE, where a received instance goes) and the
//! values that cross that seam.

use std::net::{IpAddr, SocketAddr};

pub use crate::mcm::{McmAction, McmRefusal, MediaRequest, MediaStatus};

/// One accepted association, as the services see it.
#[derive(Debug, Clone)]
pub struct AssociationInfo {
    pub id: u64,
    pub calling_ae: String,
    pub called_ae: String,
    pub peer: SocketAddr,
}

/// How an accepted association ended, for `Services::association_closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociationEnd {
    /// A-RELEASE: the sender says it is done (a rule may start a disc job on it).
    Released,
    /// Aborted, by the peer or by us (timeout, protocol error), or the socket failed.
    Aborted,
}

/// Result of checking the calling AE against the remote AE configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallingCheck {
    Allowed,
    UnknownAe,
    WrongHost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    pub code: u16,
    /// Goes to the extended log and, shortened, to the Error Comment of failures.
    pub reason: String,
}

impl StoreStatus {
    pub const SUCCESS: u16 = 0x0000;
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    pub const DATASET_MISMATCH: u16 = 0xA900;
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
    pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
    /// "Invalid SOP Instance" (PS3.7 Annex C, one of the general statuses C-STORE may return,
    /// 9.1.1.1.9): the SOP Instance UID violates the UID construction rules.
    pub const INVALID_SOP_INSTANCE: u16 = 0x0117;

    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        StoreStatus {
            code,
            reason: reason.into(),
        }
    }

    pub fn success() -> Self {
        Self::new(Self::SUCCESS, "stored")
    }
}

/// One instance a Storage Commitment (or Media Creation) request refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SopRef {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
}

/// Whether one referenced instance is committed (PS3.4 J.3.3): safely stored, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commitment {
    Committed,
    /// Failed, with its Failure Reason (PS3.4 J.3.3.1.2.1.2: 0110H processing failure,
    /// 0112H no such object instance, 0119H class/instance conflict, ...).
    Failed(u16),
}

impl Commitment {
    pub const PROCESSING_FAILURE: u16 = 0x0110;
    pub const NO_SUCH_OBJECT_INSTANCE: u16 = 0x0112;
    pub const CLASS_INSTANCE_CONFLICT: u16 = 0x0119;
}

#[derive(Debug)]
pub struct StoreRequest<'a> {
    pub association: &'a AssociationInfo,
    pub sop_class_uid: &'a str,
    pub sop_instance_uid: &'a str,
    pub transfer_syntax: &'a str,
    pub message_id: u16,
}

/// What the network layer needs from the rest of the program.
pub trait Services: Send + Sync + 'static {
    type Sink: InstanceSink;
    fn check_calling(&self, calling_ae: &str, peer: IpAddr) -> CallingCheck;
    /// On the TLS port, once `check_calling` allowed `calling_ae`: whether the client
    /// certificate the listener verified (`None`: the client presented none, allowed only
    /// when certificates are not required) admits that AE. `Err` says why not (refused as an
    /// unknown calling AE). The default is [`crate::tls::certificate_rule`].
    fn check_certificate(
        &self,
        calling_ae: &str,
        cert: Option<&crate::tls::ClientCertificate>,
    ) -> Result<(), String> {
        crate::tls::certificate_rule(calling_ae, cert)
    }
    /// Prepare to receive one instance. An error status is answered once its data has been
    /// received (and discarded).
    fn begin_store(&self, req: &StoreRequest<'_>) -> Result<Self::Sink, StoreStatus>;
    /// Every C-STORE outcome, for the extended log.
    fn record_store(&self, req: &StoreRequest<'_>, status: &StoreStatus);
    /// An association was accepted (for the list of associations now, and job triggers).
    fn association_opened(&self, _info: &AssociationInfo) {}
    /// An accepted association ended; called once per `association_opened`.
    fn association_closed(&self, _info: &AssociationInfo, _end: AssociationEnd) {}
    /// Storage Commitment: one answer per reference, in order. The default commits nothing.
    fn check_commitment(&self, _info: &AssociationInfo, refs: &[SopRef]) -> Vec<Commitment> {
        refs.iter()
            .map(|_| Commitment::Failed(Commitment::PROCESSING_FAILURE))
            .collect()
    }
    /// Where a commitment report goes when it cannot go on the association that asked for
    /// it: the calling AE's configured host and port (`Err` says why there is none).
    fn report_destination(&self, info: &AssociationInfo) -> Result<SocketAddr, String> {
        Err(format!("no address known for {}", info.calling_ae))
    }
    /// Whether the new association carrying such a report runs over TLS: the client
    /// configuration and the name the peer's certificate must carry (`Ok(None)`: plain
    /// TCP; `Err` says why the report cannot go). The default: plain TCP.
    fn report_tls(&self, _info: &AssociationInfo) -> Result<Option<crate::tls::Outgoing>, String> {
        Ok(None)
    }
    /// Storage Commitment reports the association that asked for them did not deliver (it
    /// ended first, or the peer refused them there), once it has ended. Each one returned
    /// goes on a new association to [`Services::report_destination`], one attempt (the
    /// default: all of them); services that keep reports for delivery of their own (with
    /// retries, across restarts) return only those they could not keep.
    fn undelivered_reports(
        &self,
        _info: &AssociationInfo,
        reports: Vec<crate::commitment::Report>,
    ) -> Vec<crate::commitment::Report> {
        reports
    }
    /// Media Creation Management: a new request (N-CREATE) with this SOP Instance UID. The
    /// default refuses every request.
    fn mcm_create(
        &self,
        _info: &AssociationInfo,
        _instance: &str,
        _request: MediaRequest,
    ) -> Result<(), McmRefusal> {
        Err(McmRefusal::new(0x0110, "media creation is not configured"))
    }
    /// Initiate or cancel a request (N-ACTION).
    fn mcm_action(
        &self,
        _info: &AssociationInfo,
        instance: &str,
        _action: McmAction,
    ) -> Result<(), McmRefusal> {
        Err(McmRefusal::new(0x0112, format!("no request {instance}")))
    }
    /// A request's status (N-GET).
    fn mcm_status(
        &self,
        _info: &AssociationInfo,
        instance: &str,
    ) -> Result<MediaStatus, McmRefusal> {
        Err(McmRefusal::new(0x0112, format!("no request {instance}")))
    }
}

/// Receives the dataset bytes of one instance. Dropping it without `finish` must discard
/// everything written so far.
pub trait InstanceSink: Send {
    fn write(&mut self, data: &[u8]) -> Result<(), StoreStatus>;
    /// Room for up to `max` next dataset bytes, so the network layer can receive them in
    /// place (one copy fewer than `write`); `commit` then says how many arrived. `Ok(None)`:
    /// this sink takes bytes only through `write`.
    fn buffer(&mut self, _max: usize) -> Result<Option<&mut [u8]>, StoreStatus> {
        Ok(None)
    }
    /// The first `n` bytes of the slice the last `buffer` call returned now hold data.
    fn commit(&mut self, _n: usize) -> Result<(), StoreStatus> {
        Ok(())
    }
    fn finish(self, req: &StoreRequest<'_>) -> StoreStatus;
}

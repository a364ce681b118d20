//! The Storage Provider acceptor: one OS thread per association with blocking I/O (the
//! statement's "runs in a separate thread"), fed by a tokio accept loop that owns shutdown.
//!
//! Blocking threads keep the hot path simple and fast: PDV bytes go from the socket buffer to
//! the instance sink without hopping between async tasks, and file writes and fsyncs never stall
//! an executor. The pool limit bounds the number of threads.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceProviderPresentationReason, AssociationRJServiceUserReason,
    AssociationRJSource, AssociationRQ, Pdu, PresentationContextResultReason, UserVariableItem,
};
use tracing::{debug, info, warn};

use crate::contexts::{clean_uid, ContextTable, VERIFICATION};
use crate::dimse::{self, Command};
use crate::pdu::{self, PduHeader};

pub use dcmdisc_dicom::uid::DICOM_APPLICATION_CONTEXT;
/// Association-phase PDUs are not bound by the negotiated maximum (it only applies to
/// P-DATA-TF), but we still refuse to buffer an absurd one: 128 contexts with six transfer
/// syntaxes each need about 24 KiB.
const MAX_ASSOCIATION_PDU: u32 = 256 * 1024;
/// Command sets are a few hundred bytes; anything this large is an attack or a bug.
const MAX_COMMAND_SET: usize = 64 * 1024;
/// Connections beyond the pool that we still read to send them a polite transient refusal.
const MAX_REFUSING_CONNECTIONS: usize = 64;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub ae_titles: Vec<String>,
    pub max_pdu_length: u32,
    pub max_associations: usize,
    pub artim_timeout: Duration,
    pub dimse_timeout: Duration,
    pub shutdown_grace: Duration,
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
    pub contexts: ContextTable,
}

#[derive(Debug, Clone)]
pub struct AssociationInfo {
    pub id: u64,
    pub calling_ae: String,
    pub called_ae: String,
    pub peer: SocketAddr,
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
    /// Prepare to receive one instance. An error status is answered once its data has been
    /// received (and discarded).
    fn begin_store(&self, req: &StoreRequest<'_>) -> Result<Self::Sink, StoreStatus>;
    /// Every C-STORE outcome, for the extended log.
    fn record_store(&self, req: &StoreRequest<'_>, status: &StoreStatus);
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

struct Shared<S> {
    cfg: ServerConfig,
    services: S,
    active: AtomicUsize,
    live_threads: AtomicUsize,
    next_id: AtomicU64,
}

/// A member of the association pool; dropping it frees the place.
struct PoolSlot<S>(Arc<Shared<S>>);

impl<S> Drop for PoolSlot<S> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

struct ThreadGuard<S>(Arc<Shared<S>>);

impl<S> Drop for ThreadGuard<S> {
    fn drop(&mut self) {
        self.0.live_threads.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Accept associations until `shutdown` resolves, then wait (at most the configured grace)
/// for running associations to finish. Returns how many were still running at the deadline.
pub async fn serve<S: Services>(
    listener: tokio::net::TcpListener,
    cfg: ServerConfig,
    services: S,
    shutdown: impl Future<Output = ()>,
) -> io::Result<usize> {
    let shared = Arc::new(Shared {
        cfg,
        services,
        active: AtomicUsize::new(0),
        live_threads: AtomicUsize::new(0),
        next_id: AtomicU64::new(1),
    });
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if let Err(e) = spawn_connection(&shared, stream, peer) {
            warn!(%peer, error = %e, "could not start association thread");
        }
    }
    drop(listener);
    let deadline = Instant::now() + shared.cfg.shutdown_grace;
    loop {
        let live = shared.live_threads.load(Ordering::SeqCst);
        if live == 0 {
            return Ok(0);
        }
        if Instant::now() >= deadline {
            return Ok(live);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn_connection<S: Services>(
    shared: &Arc<Shared<S>>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
) -> io::Result<()> {
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    let slot = {
        let max = shared.cfg.max_associations;
        let got = shared
            .active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        got.then(|| PoolSlot(shared.clone()))
    };
    let live = shared.live_threads.load(Ordering::SeqCst);
    if slot.is_none() && live >= shared.cfg.max_associations + MAX_REFUSING_CONNECTIONS {
        warn!(%peer, "connection dropped: pool full and too many pending refusals");
        return Ok(());
    }
    shared.live_threads.fetch_add(1, Ordering::SeqCst);
    let guard = ThreadGuard(shared.clone());
    let shared = shared.clone();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    std::thread::Builder::new()
        .name(format!("assoc-{id}"))
        .spawn(move || {
            let _guard = guard;
            connection(&shared, stream, peer, id, slot);
        })?;
    Ok(())
}

/// Why an association ends abnormally; the peer gets an A-ABORT unless it went away.
#[derive(Debug)]
enum End {
    /// Peer closed, aborted, or the socket failed: nothing to send.
    Gone(String),
    /// Protocol violation or timeout: send A-ABORT (service provider, reason) and close.
    Abort(u8, String),
    /// Orderly release done.
    Released,
}

fn connection<S: Services>(
    shared: &Arc<Shared<S>>,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    slot: Option<PoolSlot<S>>,
) {
    let cfg = &shared.cfg;
    let reader = match stream.try_clone() {
        Ok(r) => r,
        Err(e) => {
            warn!(%peer, error = %e, "socket clone failed");
            return;
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, QuickAck(reader));
    let mut writer = stream;
    if writer.set_read_timeout(Some(cfg.artim_timeout)).is_err() {
        return;
    }
    // ARTIM runs from the connection until the A-ASSOCIATE-RQ arrives.
    let rq = match read_association_rq(&mut reader) {
        Ok(rq) => rq,
        Err(End::Gone(why)) => {
            debug!(%peer, "connection closed before association: {why}");
            return;
        }
        Err(End::Abort(reason, why)) => {
            warn!(%peer, "association request refused: {why}");
            let _ = pdu::write_all(&mut writer, &pdu::abort_pdu(2, reason));
            linger_close(&mut reader, &writer, cfg.artim_timeout);
            return;
        }
        Err(End::Released) => return,
    };
    let calling_ae = rq.calling_ae_title.trim().to_string();
    let called_ae = rq.called_ae_title.trim().to_string();
    if let Some((result, source, why)) =
        refusal(shared, &rq, &calling_ae, &called_ae, peer, slot.is_some())
    {
        warn!(%peer, calling_ae = %calling_ae, called_ae = %called_ae, "association rejected: {why}");
        drop(slot);
        let rj = Pdu::AssociationRJ(AssociationRJ { result, source });
        let mut out = Vec::new();
        if dicom_ul::pdu::write_pdu(&mut out, &rj).is_ok() {
            let _ = pdu::write_all(&mut writer, &out);
        }
        linger_close(&mut reader, &writer, cfg.artim_timeout);
        return;
    }

    let mut accepted = HashMap::new();
    let results: Vec<_> = rq
        .presentation_contexts
        .iter()
        .map(|pc| {
            let r = cfg.contexts.negotiate(pc);
            if r.reason == PresentationContextResultReason::Acceptance {
                accepted.insert(
                    pc.id,
                    (
                        clean_uid(&pc.abstract_syntax).to_string(),
                        r.transfer_syntax.clone(),
                    ),
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
    let mut out = Vec::new();
    if let Err(e) = dicom_ul::pdu::write_pdu(&mut out, &ac) {
        warn!(%peer, error = %e, "could not encode A-ASSOCIATE-AC");
        let _ = pdu::write_all(
            &mut writer,
            &pdu::abort_pdu(2, pdu::ABORT_REASON_NOT_SPECIFIED),
        );
        return;
    }
    if pdu::write_all(&mut writer, &out).is_err() {
        return;
    }
    let info = AssociationInfo {
        id,
        calling_ae,
        called_ae,
        peer,
    };
    info!(
        assoc = id, %peer, calling_ae = %info.calling_ae, called_ae = %info.called_ae,
        contexts = rq.presentation_contexts.len(), accepted = accepted.len(),
        "association accepted"
    );
    if writer.set_read_timeout(Some(cfg.dimse_timeout)).is_err() {
        return;
    }
    let mut assoc = Association {
        shared: &**shared,
        info: &info,
        contexts: accepted,
        peer_max,
        body: Vec::new(),
        command: Vec::new(),
        pending: Pending::Idle,
        writer: &writer,
    };
    let end = assoc.run(&mut reader);
    drop(assoc);
    drop(slot);
    match end {
        End::Released => {
            info!(assoc = id, "association released");
            linger_close(&mut reader, &writer, cfg.artim_timeout);
        }
        End::Gone(why) => info!(assoc = id, "association ended: {why}"),
        End::Abort(reason, why) => {
            warn!(assoc = id, "association aborted: {why}");
            let _ = pdu::write_all(&mut &writer, &pdu::abort_pdu(2, reason));
            linger_close(&mut reader, &writer, cfg.artim_timeout);
        }
    }
}

/// Section 4.2.1.4's conditions, in the statement's order.
fn refusal<S: Services>(
    shared: &Shared<S>,
    rq: &AssociationRQ,
    calling_ae: &str,
    called_ae: &str,
    peer: SocketAddr,
    has_slot: bool,
) -> Option<(AssociationRJResult, AssociationRJSource, String)> {
    use AssociationRJResult::*;
    use AssociationRJSource::*;
    if rq.protocol_version & 1 == 0 {
        return Some((
            Permanent,
            ServiceProviderASCE(
                AssociationRJServiceProviderASCEReason::ProtocolVersionNotSupported,
            ),
            format!("protocol version {:#06x} lacks bit 0", rq.protocol_version),
        ));
    }
    let context = clean_uid(&rq.application_context_name);
    if context != DICOM_APPLICATION_CONTEXT {
        return Some((
            Permanent,
            ServiceUser(AssociationRJServiceUserReason::ApplicationContextNameNotSupported),
            format!("application context {context:?} is not DICOM"),
        ));
    }
    match shared.services.check_calling(calling_ae, peer.ip()) {
        CallingCheck::Allowed => {}
        CallingCheck::UnknownAe => {
            return Some((
                Permanent,
                ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
                format!("calling AE {calling_ae:?} is not configured"),
            ))
        }
        CallingCheck::WrongHost => {
            return Some((
                Permanent,
                ServiceUser(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
                format!(
                    "calling AE {calling_ae:?} is not configured for address {}",
                    peer.ip()
                ),
            ))
        }
    }
    if !shared.cfg.ae_titles.iter().any(|a| a == called_ae) {
        return Some((
            Permanent,
            ServiceUser(AssociationRJServiceUserReason::CalledAETitleNotRecognized),
            format!("called AE {called_ae:?} is not one of ours"),
        ));
    }
    if !has_slot {
        return Some((
            Transient,
            ServiceProviderPresentation(
                AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
            ),
            format!(
                "association pool full ({} active)",
                shared.cfg.max_associations
            ),
        ));
    }
    None
}

fn read_association_rq(reader: &mut impl Read) -> Result<AssociationRQ, End> {
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

fn io_reason(e: &io::Error, timeout: &str) -> String {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => timeout.to_string(),
        _ => e.to_string(),
    }
}

/// After our last PDU, give the peer the ARTIM time to close the transport first (PS3.8
/// 9.2.3), so that it reads everything we sent rather than a reset.
fn linger_close(reader: &mut impl Read, stream: &TcpStream, artim: Duration) {
    let _ = stream.set_read_timeout(Some(artim));
    let deadline = Instant::now() + artim;
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

enum Pending<K> {
    Idle,
    Store(StoreOp<K>),
    /// A dataset we have no use for (it follows a command we answer with a failure).
    Drain {
        context_id: u8,
        response: Command,
    },
}

struct StoreOp<K> {
    context_id: u8,
    sop_class_uid: String,
    sop_instance_uid: String,
    transfer_syntax: String,
    message_id: u16,
    sink: Option<K>,
    failure: Option<StoreStatus>,
    bytes: u64,
}

struct Association<'a, S: Services> {
    shared: &'a Shared<S>,
    info: &'a AssociationInfo,
    contexts: HashMap<u8, (String, String)>,
    peer_max: u32,
    body: Vec<u8>,
    command: Vec<u8>,
    pending: Pending<S::Sink>,
    writer: &'a TcpStream,
}

impl<S: Services> Association<'_, S> {
    fn run(&mut self, reader: &mut BufReader<QuickAck>) -> End {
        loop {
            let header = match pdu::read_header(reader) {
                Ok(Some(h)) => h,
                Ok(None) => return End::Gone("peer closed the connection without release".into()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return End::Abort(pdu::ABORT_REASON_NOT_SPECIFIED, "DIMSE timeout".into())
                }
                Err(e) => return End::Gone(e.to_string()),
            };
            if let Err(end) = self.pdu(reader, header) {
                return end;
            }
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

    fn pdu(&mut self, reader: &mut BufReader<QuickAck>, h: PduHeader) -> Result<(), End> {
        match h.pdu_type {
            pdu::P_DATA_TF => {
                // Checked before reading: the declared length is never allocated if too big.
                if h.length > self.shared.cfg.max_pdu_length {
                    return Err(End::Abort(
                        pdu::ABORT_INVALID_PDU_PARAMETER,
                        format!(
                            "P-DATA-TF of {} bytes exceeds our maximum of {}",
                            h.length, self.shared.cfg.max_pdu_length
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
                if !matches!(self.pending, Pending::Idle) {
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
    /// instance's sink buffer when it has one; everything else through `self.body`.
    fn pdata(&mut self, reader: &mut BufReader<QuickAck>, len: usize) -> Result<(), End> {
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
                && matches!(&self.pending, Pending::Store(op)
                    if op.context_id == h.context_id && op.sink.is_some());
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

    /// `n` dataset bytes for the store in progress, received into its sink's own buffer.
    fn stream_data(
        &mut self,
        reader: &mut BufReader<QuickAck>,
        context_id: u8,
        mut n: usize,
    ) -> Result<(), End> {
        while n > 0 {
            let mut took = 0;
            if let Pending::Store(op) = &mut self.pending {
                if let Some(sink) = op.sink.as_mut() {
                    match sink.buffer(n) {
                        Ok(Some(buf)) if !buf.is_empty() => {
                            took = read_some(reader, buf)?;
                            op.bytes += took as u64;
                            if let Err(status) = sink.commit(took) {
                                op.sink = None;
                                op.failure = Some(status);
                            }
                        }
                        Ok(_) => {}
                        Err(status) => {
                            op.sink = None;
                            op.failure = Some(status);
                        }
                    }
                }
            }
            if took == 0 {
                // The sink failed or takes no buffer: the ordinary way, a slice at a time.
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
            if !matches!(self.pending, Pending::Idle) {
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
        let message_id = cmd.u16(dimse::TAG_MESSAGE_ID).unwrap_or(0);
        let (abstract_syntax, transfer_syntax) = self.contexts[&context_id].clone();
        match field {
            dimse::C_ECHO_RQ => {
                let mut rsp = Command::default();
                rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, VERIFICATION)
                    .push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_ECHO_RSP)
                    .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
                    .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
                    .push_u16(dimse::TAG_STATUS, 0);
                self.reply(context_id, cmd.has_dataset(), rsp)
            }
            dimse::C_STORE_RQ => {
                let sop_class_uid = cmd.uid(dimse::TAG_AFFECTED_SOP_CLASS).unwrap_or_default();
                let sop_instance_uid = cmd
                    .uid(dimse::TAG_AFFECTED_SOP_INSTANCE)
                    .unwrap_or_default();
                let mut op = StoreOp {
                    context_id,
                    sop_class_uid,
                    sop_instance_uid,
                    transfer_syntax,
                    message_id,
                    sink: None,
                    failure: None,
                    bytes: 0,
                };
                if op.sop_class_uid != abstract_syntax {
                    op.failure = Some(StoreStatus::new(
                        StoreStatus::SOP_CLASS_NOT_SUPPORTED,
                        format!(
                            "command SOP Class {} differs from presentation context {}",
                            op.sop_class_uid, abstract_syntax
                        ),
                    ));
                } else if op.sop_instance_uid.is_empty() {
                    op.failure = Some(StoreStatus::new(
                        StoreStatus::CANNOT_UNDERSTAND,
                        "command lacks Affected SOP Instance UID",
                    ));
                } else {
                    match self.shared.services.begin_store(&op.request(self.info)) {
                        Ok(sink) => op.sink = Some(sink),
                        Err(status) => op.failure = Some(status),
                    }
                }
                if cmd.has_dataset() {
                    self.pending = Pending::Store(op);
                    Ok(())
                } else {
                    op.sink = None;
                    let status = StoreStatus::new(
                        StoreStatus::CANNOT_UNDERSTAND,
                        "C-STORE-RQ without a dataset",
                    );
                    self.store_done(op, status)
                }
            }
            dimse::C_CANCEL_RQ => Ok(()),
            other => {
                let mut rsp = Command::default();
                if let Some(class) = cmd.uid(dimse::TAG_AFFECTED_SOP_CLASS) {
                    rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, &class);
                }
                rsp.push_u16(dimse::TAG_COMMAND_FIELD, other | 0x8000)
                    .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
                    .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
                    .push_u16(dimse::TAG_STATUS, 0x0211);
                warn!(
                    assoc = self.info.id,
                    "unsupported DIMSE command {other:#06x}"
                );
                self.reply(context_id, cmd.has_dataset(), rsp)
            }
        }
    }

    /// Answer a command now, or once the dataset that follows it has been read and discarded.
    fn reply(&mut self, context_id: u8, dataset_follows: bool, rsp: Command) -> Result<(), End> {
        if dataset_follows {
            self.pending = Pending::Drain {
                context_id,
                response: rsp,
            };
            return Ok(());
        }
        self.send_command(context_id, &rsp)
    }

    fn data(&mut self, context_id: u8, data: &[u8], last: bool) -> Result<(), End> {
        let expected = match &self.pending {
            Pending::Idle => {
                return Err(End::Abort(
                    pdu::ABORT_INVALID_PDU_PARAMETER,
                    "dataset PDV without a command".into(),
                ))
            }
            Pending::Store(op) => op.context_id,
            Pending::Drain { context_id, .. } => *context_id,
        };
        if expected != context_id {
            return Err(End::Abort(
                pdu::ABORT_INVALID_PDU_PARAMETER,
                format!("dataset PDV on context {context_id}, command was on {expected}"),
            ));
        }
        if let Pending::Store(op) = &mut self.pending {
            op.bytes += data.len() as u64;
            if let Some(sink) = op.sink.as_mut() {
                if let Err(status) = sink.write(data) {
                    // Dropping the sink discards what was written; keep reading the rest.
                    op.sink = None;
                    op.failure = Some(status);
                }
            }
        }
        if !last {
            return Ok(());
        }
        match std::mem::replace(&mut self.pending, Pending::Idle) {
            Pending::Store(mut op) => {
                let status = match (op.failure.take(), op.sink.take()) {
                    (Some(f), _) => f,
                    (None, Some(sink)) => sink.finish(&op.request(self.info)),
                    (None, None) => StoreStatus::new(StoreStatus::OUT_OF_RESOURCES, "no sink"),
                };
                self.store_done(op, status)
            }
            Pending::Drain {
                context_id,
                response,
            } => self.send_command(context_id, &response),
            Pending::Idle => Ok(()),
        }
    }

    fn store_done(&mut self, op: StoreOp<S::Sink>, status: StoreStatus) -> Result<(), End> {
        // A success is already in the store log (written with its index row): its log line can
        // wait until the sender has its answer. A failure's log entry is written first, so it
        // is there as soon as the sender knows.
        let success = status.code == StoreStatus::SUCCESS;
        if !success {
            self.shared
                .services
                .record_store(&op.request(self.info), &status);
        }
        let mut rsp = Command::default();
        rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, &op.sop_class_uid)
            .push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_STORE_RSP)
            .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, op.message_id)
            .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
            .push_u16(dimse::TAG_STATUS, status.code)
            .push_uid(dimse::TAG_AFFECTED_SOP_INSTANCE, &op.sop_instance_uid);
        if status.code != StoreStatus::SUCCESS {
            rsp.push_text(dimse::TAG_ERROR_COMMENT, &status.reason);
        }
        debug!(
            assoc = self.info.id,
            bytes = op.bytes,
            status = status.code,
            "C-STORE done"
        );
        let sent = self.send_command(op.context_id, &rsp);
        if success {
            self.shared
                .services
                .record_store(&op.request(self.info), &status);
        }
        sent
    }

    fn send_command(&mut self, context_id: u8, cmd: &Command) -> Result<(), End> {
        let mut out = Vec::with_capacity(256);
        pdu::encode_pdata(&mut out, context_id, true, &cmd.encode(), self.peer_max);
        // One write per response: with TCP_NODELAY it leaves at once, in one segment.
        (&*self.writer)
            .write_all(&out)
            .map_err(|e| End::Gone(format!("sending response: {e}")))
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

fn read_error(e: &io::Error) -> End {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => End::Abort(
            pdu::ABORT_REASON_NOT_SPECIFIED,
            "DIMSE timeout inside a PDU".into(),
        ),
        _ => End::Gone(e.to_string()),
    }
}

fn read_in(reader: &mut impl Read, buf: &mut [u8]) -> Result<(), End> {
    reader.read_exact(buf).map_err(|e| read_error(&e))
}

/// Read at least one byte into `buf`.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, End> {
    loop {
        match reader.read(buf) {
            Ok(0) => return Err(End::Gone("peer closed the connection inside a PDU".into())),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(&e)),
        }
    }
}

/// The receiving side of an association socket. Linux leaves quick-ACK mode on its own; we
/// re-arm it before every receive, so that whatever we have read is acknowledged at once. A
/// sender with Nagle on (dcmtk's storescu) holds the rest of a PDU until its first segment is
/// acknowledged; with delayed ACKs that costs ~40 ms per message.
struct QuickAck(TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        quickack(&self.0);
        let n = self.0.read(buf)?;
        // Whatever arrived is ACKed now, not at the delayed-ACK timer.
        quickack(&self.0);
        Ok(n)
    }
}

#[cfg(target_os = "linux")]
fn quickack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: plain setsockopt on a socket we own, with a correctly sized int option.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn quickack(_stream: &TcpStream) {}

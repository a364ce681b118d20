//! The Storage Provider acceptor: one OS thread per association with blocking I/O (the
//! statement's "runs in a separate thread"), fed by a tokio accept loop that owns shutdown.
//!
//! Blocking threads keep the hot path simple and fast: PDV bytes go from the socket buffer to
//! the instance sink without hopping between async tasks, and file writes and fsyncs never stall
//! an executor. The pending limits and the pool bound the number of threads (besides them,
//! only lingering closes after an association, each for at most ARTIM).

use std::future::Future;
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::association::{Association, End};
use crate::commitment::{Outbox, Report};
use crate::contexts::ContextTable;
use crate::establish::{accept, pool_full, read_association_rq, refusal};
use crate::limits::{Limits, PendingSlot};
use crate::link::{Link, TlsConn};
use crate::pdu;
use crate::socket::{linger_close, Inbound};
use crate::tls::Session;

pub use crate::establish::DICOM_APPLICATION_CONTEXT;
// The service traits used to live here; their old paths still work.
pub use crate::services::{
    AssociationEnd, AssociationInfo, CallingCheck, InstanceSink, Services, StoreRequest,
    StoreStatus,
};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub ae_titles: Vec<String>,
    pub max_pdu_length: u32,
    /// The association pool: established associations (a place is taken once the
    /// A-ASSOCIATE-RQ has passed the policy; beyond it, the transient refusal).
    pub max_associations: usize,
    /// Connections still establishing (from the accept until their A-ASSOCIATE-RQ is
    /// accepted or refused), in all; one beyond it is closed at once.
    pub max_pending_connections: usize,
    /// The same, from one peer address (IPv6: one /64).
    pub max_pending_per_address: usize,
    pub artim_timeout: Duration,
    pub dimse_timeout: Duration,
    /// The least progress of a message in progress, over each DIMSE timeout of waiting for
    /// the peer; below it the association is aborted. 0: no minimum.
    pub min_receive_bytes_per_sec: u64,
    pub shutdown_grace: Duration,
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
    pub contexts: ContextTable,
}

struct Shared<S> {
    cfg: ServerConfig,
    services: S,
    limits: Arc<Limits>,
    live_threads: AtomicUsize,
    next_id: AtomicU64,
}

struct ThreadGuard<S>(Arc<Shared<S>>);

impl<S> Drop for ThreadGuard<S> {
    fn drop(&mut self) {
        self.0.live_threads.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The DICOM TLS port: its listener and the session configuration (see [`crate::tls`]).
pub struct TlsListener {
    pub listener: tokio::net::TcpListener,
    pub config: Arc<rustls::ServerConfig>,
}

/// Accept associations until `shutdown` resolves, then wait (at most the configured grace)
/// for running associations to finish. Returns how many were still running at the deadline.
pub async fn serve<S: Services>(
    listener: tokio::net::TcpListener,
    cfg: ServerConfig,
    services: S,
    shutdown: impl Future<Output = ()>,
) -> io::Result<usize> {
    serve_with_tls(listener, None, cfg, services, shutdown).await
}

/// [`serve`], with a TLS port beside the plain one: one accept loop, one association pool
/// and one set of pending limits for both; a TLS connection runs its handshake on its own
/// thread under ARTIM, then the same association code.
pub async fn serve_with_tls<S: Services>(
    listener: tokio::net::TcpListener,
    tls: Option<TlsListener>,
    cfg: ServerConfig,
    services: S,
    shutdown: impl Future<Output = ()>,
) -> io::Result<usize> {
    let limits = Arc::new(Limits::new(
        cfg.max_associations,
        cfg.max_pending_connections,
        cfg.max_pending_per_address,
    ));
    let shared = Arc::new(Shared {
        cfg,
        services,
        limits,
        live_threads: AtomicUsize::new(0),
        next_id: AtomicU64::new(1),
    });
    tokio::pin!(shutdown);
    loop {
        let tls_accept = async {
            match &tls {
                Some(t) => t.listener.accept().await,
                None => std::future::pending().await,
            }
        };
        let (accepted, tls_config) = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => (a, None),
            a = tls_accept => (a, tls.as_ref().map(|t| t.config.clone())),
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
        let accepted_at = Instant::now();
        if let Err(e) = spawn_connection(&shared, stream, peer, accepted_at, tls_config) {
            warn!(%peer, error = %e, "could not start association thread");
        }
    }
    drop(listener);
    drop(tls);
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

/// Start a connection's thread, or close it at once if the pending limits are reached. A
/// polite refusal would need its A-ASSOCIATE-RQ read first: the very wait those limits bound.
fn spawn_connection<S: Services>(
    shared: &Arc<Shared<S>>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    accepted_at: Instant,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<()> {
    let pending = match shared.limits.pending(peer.ip()) {
        Ok(p) => p,
        Err(over) => {
            warn!(%peer, "connection closed at once: {over}");
            return Ok(());
        }
    };
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    shared.live_threads.fetch_add(1, Ordering::SeqCst);
    let guard = ThreadGuard(shared.clone());
    let shared = shared.clone();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    std::thread::Builder::new()
        .name(format!("assoc-{id}"))
        .spawn(move || {
            let _guard = guard;
            connection(&shared, stream, peer, id, accepted_at, pending, tls);
        })?;
    Ok(())
}

/// One connection from its first byte to its close: establishment (or refusal), the
/// association, and how it ends.
fn connection<S: Services>(
    shared: &Arc<Shared<S>>,
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    accepted_at: Instant,
    pending: PendingSlot,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let cfg = &shared.cfg;
    let reader = match stream.try_clone() {
        Ok(r) => r,
        Err(e) => {
            warn!(%peer, error = %e, "socket clone failed");
            return;
        }
    };
    let mut inbound = Inbound::new(reader, cfg.min_receive_bytes_per_sec, cfg.dimse_timeout);
    let mut session = None;
    let mut writer = match tls {
        None => Link::Plain(stream),
        Some(tls) => match handshake(tls, stream, peer, accepted_at + cfg.artim_timeout) {
            Some((conn, s)) => {
                session = Some(s);
                let conn = Arc::new(Mutex::new(conn));
                inbound = inbound.with_tls(conn.clone());
                Link::Tls(conn)
            }
            None => return,
        },
    };
    let mut reader = BufReader::with_capacity(64 * 1024, inbound);
    // ARTIM runs from the transport connection until the A-ASSOCIATE-RQ has arrived
    // (PS3.8 9.1.5): a deadline, however the request's bytes trickle in.
    reader.get_mut().until(accepted_at + cfg.artim_timeout);
    let rq = match read_association_rq(&mut reader) {
        Ok(rq) => rq,
        Err(End::Gone(why)) => {
            debug!(%peer, "connection closed before association: {why}");
            return;
        }
        Err(End::Abort(reason, why)) => {
            warn!(%peer, "association request refused: {why}");
            let _ = pdu::write_all(&mut writer, &pdu::abort_pdu(2, reason));
            linger_close(&mut reader, cfg.artim_timeout);
            return;
        }
        Err(End::Released) => return,
    };
    let calling_ae = rq.calling_ae_title.trim().to_string();
    let called_ae = rq.called_ae_title.trim().to_string();
    // The pool is the last condition: a place is taken only by a request that passed the
    // others, and while a refused connection lingers it keeps its pending place instead.
    let mut refused = refusal(
        cfg,
        &shared.services,
        &rq,
        &calling_ae,
        &called_ae,
        peer,
        session.as_ref(),
    );
    let mut slot = None;
    if refused.is_none() {
        slot = shared.limits.association();
        if slot.is_none() {
            refused = Some(pool_full(shared.limits.max_associations()));
        }
    }
    if let Some(refused) = refused {
        warn!(%peer, calling_ae = %calling_ae, called_ae = %called_ae,
            "association rejected: {}", refused.why);
        if let Some(rj) = refused.pdu() {
            let _ = pdu::write_all(&mut writer, &rj);
        }
        linger_close(&mut reader, cfg.artim_timeout);
        return;
    }
    drop(pending);
    let acceptance = match accept(cfg, &rq) {
        Ok(a) => a,
        Err(e) => {
            warn!(%peer, error = %e, "could not encode A-ASSOCIATE-AC");
            let _ = pdu::write_all(
                &mut writer,
                &pdu::abort_pdu(2, pdu::ABORT_REASON_NOT_SPECIFIED),
            );
            return;
        }
    };
    if pdu::write_all(&mut writer, &acceptance.pdu).is_err() {
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
        contexts = rq.presentation_contexts.len(), accepted = acceptance.contexts.len(),
        "association accepted"
    );
    if reader.get_mut().idle_timeout(cfg.dimse_timeout).is_err() {
        return;
    }
    shared.services.association_opened(&info);
    let outbox = Outbox::default();
    let mut assoc = Association::new(
        &shared.services,
        cfg.max_pdu_length,
        &info,
        acceptance.contexts,
        acceptance.peer_max,
        &writer,
        &outbox,
    );
    let end = assoc.run(&mut reader);
    drop(assoc);
    let undelivered = outbox.take_undelivered();
    drop(slot);
    let how = match end {
        End::Released => AssociationEnd::Released,
        End::Gone(_) | End::Abort(..) => AssociationEnd::Aborted,
    };
    shared.services.association_closed(&info, how);
    match end {
        End::Released => {
            info!(assoc = id, "association released");
            linger_close(&mut reader, cfg.artim_timeout);
        }
        End::Gone(why) => info!(assoc = id, "association ended: {why}"),
        End::Abort(reason, why) => {
            warn!(assoc = id, "association aborted: {why}");
            let _ = pdu::write_all(&mut &writer, &pdu::abort_pdu(2, reason));
            linger_close(&mut reader, cfg.artim_timeout);
        }
    }
    for report in shared.services.undelivered_reports(&info, undelivered) {
        deliver(shared, &info, &report);
    }
}

/// The TLS handshake of a connection to the TLS port, by the ARTIM deadline. A failure (a
/// plain DICOM peer, an old protocol version, a missing or untrusted client certificate) is
/// logged and the connection closed; the service goes on.
fn handshake(
    config: Arc<rustls::ServerConfig>,
    stream: TcpStream,
    peer: SocketAddr,
    deadline: Instant,
) -> Option<(TlsConn, Session)> {
    let conn = match rustls::ServerConnection::new(config) {
        Ok(c) => c,
        Err(e) => {
            warn!(%peer, error = %e, "TLS session could not be set up");
            return None;
        }
    };
    let mut tls = TlsConn::new(conn, stream);
    // The handshake's writes are bounded; the association's are not (as on plain TCP).
    if let Err(e) = tls.handshake(deadline, None) {
        warn!(%peer, "TLS handshake failed: {e}");
        return None;
    }
    let session = match tls.connection() {
        rustls::Connection::Server(c) => Session::of(c),
        rustls::Connection::Client(_) => return None,
    };
    info!(%peer, version = %session.version, cipher_suite = %session.cipher_suite,
        client_certificate = %session.client.as_ref().map_or("none", |c| c.subject.as_str()),
        "TLS session established");
    Some((tls, session))
}

/// A commitment report the association could not deliver, on a new association to the
/// calling AE's configured address (PS3.4 J.3.3). One attempt: its outcome is logged; an
/// SCU that gets no report asks again. (Services that keep reports, as dcmdisc's do, retry
/// them themselves: [`Services::undelivered_reports`].)
fn deliver<S: Services>(shared: &Shared<S>, info: &AssociationInfo, report: &Report) {
    let dest = match shared.services.report_destination(info) {
        Ok(d) => d,
        Err(why) => {
            warn!(assoc = info.id, transaction_uid = %report.transaction_uid,
                "storage commitment report not delivered: {why}");
            return;
        }
    };
    let titles = crate::scu::Titles {
        ours: &info.called_ae,
        theirs: &info.calling_ae,
    };
    let tls = match shared.services.report_tls(info) {
        Ok(t) => t,
        Err(why) => {
            warn!(assoc = info.id, transaction_uid = %report.transaction_uid,
                "storage commitment report not delivered: {why}");
            return;
        }
    };
    match crate::scu::send_report(&shared.cfg, dest, &titles, report, tls.as_ref()) {
        Ok(0) => info!(assoc = info.id, transaction_uid = %report.transaction_uid, %dest,
            "storage commitment reported on a new association"),
        Ok(code) => warn!(assoc = info.id, transaction_uid = %report.transaction_uid, %dest,
            status = %format!("{code:04X}"), "the storage commitment report was refused"),
        Err(e) => warn!(assoc = info.id, transaction_uid = %report.transaction_uid, %dest,
            "storage commitment report not delivered: {e}"),
    }
}

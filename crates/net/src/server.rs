//! The Storage Provider acceptor: one OS thread per association with blocking I/O (the
//! statement's "runs in a separate thread"), fed by a tokio accept loop that owns shutdown.
//!
//! Blocking threads keep the hot path simple and fast: PDV bytes go from the socket buffer to
//! the instance sink without hopping between async tasks, and file writes and fsyncs never stall
//! an executor. The pool limit bounds the number of threads.

use std::future::Future;
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::association::{Association, End};
use crate::contexts::ContextTable;
use crate::establish::{accept, read_association_rq, refusal};
use crate::pdu;
use crate::socket::{linger_close, QuickAck};

pub use crate::establish::DICOM_APPLICATION_CONTEXT;
// The service traits used to live here; their old paths still work.
pub use crate::services::{
    AssociationInfo, CallingCheck, InstanceSink, Services, StoreRequest, StoreStatus,
};

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

/// One connection from its first byte to its close: establishment (or refusal), the
/// association, and how it ends.
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
    if let Some(refused) = refusal(
        cfg,
        &shared.services,
        &rq,
        &calling_ae,
        &called_ae,
        peer,
        slot.is_some(),
    ) {
        warn!(%peer, calling_ae = %calling_ae, called_ae = %called_ae,
            "association rejected: {}", refused.why);
        drop(slot);
        if let Some(rj) = refused.pdu() {
            let _ = pdu::write_all(&mut writer, &rj);
        }
        linger_close(&mut reader, &writer, cfg.artim_timeout);
        return;
    }
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
    if writer.set_read_timeout(Some(cfg.dimse_timeout)).is_err() {
        return;
    }
    let mut assoc = Association::new(
        &shared.services,
        cfg.max_pdu_length,
        &info,
        acceptance.contexts,
        acceptance.peer_max,
        &writer,
    );
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

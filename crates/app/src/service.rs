//! The Storage Provider service: the network layer's `Services` implemented over the
//! archive, the server configuration from ours, the listener, and the run until shutdown.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dcmdisc_archive::{
    Archive, ArchiveConfig, Failure, FailureKind, Incoming, InstanceWriter, LogEntry, RemoteMatch,
};
use dcmdisc_net::{
    AssociationEnd, AssociationInfo, CallingCheck, Commitment, InstanceSink, McmAction, McmRefusal,
    MediaRequest, MediaStatus, ServerConfig, Services, SopRef, StoreRequest, StoreStatus,
};
use tracing::{error, info, warn};

use crate::activity::{Activity, ByteCounter};
use crate::config::Config;
use crate::error::AppError;
use crate::jobs::trigger::{Hook, Trigger};
use crate::shutdown::Shutdown;

/// The archive behind the network layer's service hooks, and the registry of associations
/// open now.
struct Wiring {
    archive: Arc<Archive>,
    /// The job rules' side of the store path (`[[rules]]`), when there are rules.
    trigger: Option<Hook>,
    activity: Arc<Activity>,
    /// Media Creation Management requests and their jobs.
    mcm: crate::mcm::Mcm,
    /// The outgoing TLS configuration (`[tls]` cert, key, remote_ca), for remote AEs with
    /// `--tls`.
    tls_client: Option<Arc<dcmdisc_net::tls::rustls::ClientConfig>>,
    /// Storage Commitment reports waiting for delivery (`commitment_reports.rs`).
    reports: Arc<crate::commitment_reports::Reports>,
    /// Writes a `store` event for each instance refused for lack of resources (A7xx), which
    /// the notifier turns into a notice; `None` when the control database could not open.
    store_events: Option<crate::control::ControlDb>,
}

impl Wiring {
    /// The job rules hear that an association ended (a rule may start a job on A-RELEASE).
    fn trigger_closed(&self, info: &AssociationInfo, end: AssociationEnd) {
        if let Some(t) = &self.trigger {
            t.association_closed(info, end);
        }
    }
}

/// One instance on its way into the archive: the job rules hear of it once indexed, and its
/// bytes are counted for its association, its time from first byte to answer for `/metrics`.
struct Sink(
    InstanceWriter,
    Option<Hook>,
    Option<ByteCounter>,
    std::time::Instant,
    Arc<Activity>,
);

fn status(f: Failure) -> StoreStatus {
    let code = match f.kind {
        FailureKind::OutOfResources => StoreStatus::OUT_OF_RESOURCES,
        FailureKind::CannotUnderstand => StoreStatus::CANNOT_UNDERSTAND,
        FailureKind::Mismatch => StoreStatus::DATASET_MISMATCH,
        FailureKind::InvalidSopInstance => StoreStatus::INVALID_SOP_INSTANCE,
    };
    StoreStatus::new(code, f.reason)
}

impl Services for Wiring {
    type Sink = Sink;

    fn check_calling(&self, calling_ae: &str, peer: IpAddr) -> CallingCheck {
        match self.archive.match_remote(calling_ae, peer) {
            Ok(RemoteMatch::Allowed) => CallingCheck::Allowed,
            Ok(RemoteMatch::UnknownAe) => CallingCheck::UnknownAe,
            Ok(RemoteMatch::WrongHost) => CallingCheck::WrongHost,
            Err(e) => {
                error!(error = %e, "remote AE lookup failed; refusing");
                CallingCheck::UnknownAe
            }
        }
    }

    fn begin_store(&self, req: &StoreRequest<'_>) -> Result<Sink, StoreStatus> {
        self.archive
            .begin(Incoming {
                sop_class_uid: req.sop_class_uid.to_string(),
                sop_instance_uid: req.sop_instance_uid.to_string(),
                transfer_syntax: req.transfer_syntax.to_string(),
                calling_ae: req.association.calling_ae.clone(),
                called_ae: req.association.called_ae.clone(),
            })
            .map(|w| {
                Sink(
                    w,
                    self.trigger.clone(),
                    self.activity.byte_counter(req.association.id),
                    std::time::Instant::now(),
                    self.activity.clone(),
                )
            })
            .map_err(status)
    }

    fn association_opened(&self, info: &AssociationInfo) {
        self.activity.opened(info);
    }

    fn association_closed(&self, info: &AssociationInfo, end: AssociationEnd) {
        self.activity.closed(info, end);
        self.trigger_closed(info, end);
    }

    fn record_store(&self, req: &StoreRequest<'_>, st: &StoreStatus) {
        let a = req.association;
        self.activity.stored(a.id, st.code == StoreStatus::SUCCESS);
        if st.code == StoreStatus::SUCCESS {
            info!(assoc = a.id, status = "0000", calling_ae = %a.calling_ae, peer = %a.peer,
                sop_instance_uid = %req.sop_instance_uid, "C-STORE {}", st.reason);
        } else {
            warn!(assoc = a.id, status = %format!("{:04X}", st.code), calling_ae = %a.calling_ae,
                peer = %a.peer, sop_instance_uid = %req.sop_instance_uid,
                "C-STORE failed: {}", st.reason);
        }
        // Successes were logged in the index transaction (Sink::finish).
        if st.code != StoreStatus::SUCCESS {
            let mut entry = log_entry(req);
            entry.status = format!("{:04X}", st.code);
            entry.reason = st.reason.clone();
            self.archive.record(&entry, st.code);
        }
        // Out of resources (no space, a storage error): the service cannot store. Best
        // effort: on a full disk that holds the database too this row may not be written
        // (the disk's high-water notice comes first).
        if st.code & 0xFF00 == 0xA700 {
            if let Some(db) = &self.store_events {
                let reason = format!("{:04X} {}", st.code, st.reason);
                if let Err(e) = db.control().append_event(
                    dcmdisc_archive::events::STORE,
                    None,
                    None,
                    "refused",
                    Some(&reason),
                ) {
                    warn!(error = %e, "the refused store's event was not written");
                }
            }
        }
    }

    fn check_commitment(&self, info: &AssociationInfo, refs: &[SopRef]) -> Vec<Commitment> {
        crate::commitment::check(&self.archive, info, refs)
    }

    fn undelivered_reports(
        &self,
        info: &AssociationInfo,
        reports: Vec<dcmdisc_net::commitment::Report>,
    ) -> Vec<dcmdisc_net::commitment::Report> {
        self.reports.keep(info, reports)
    }

    fn report_destination(&self, info: &AssociationInfo) -> Result<SocketAddr, String> {
        crate::commitment::destination(&self.archive, info)
    }

    fn report_tls(
        &self,
        info: &AssociationInfo,
    ) -> Result<Option<dcmdisc_net::tls::Outgoing>, String> {
        crate::commitment::tls_target(&self.archive, info, self.tls_client.as_ref())
    }

    fn mcm_create(
        &self,
        info: &AssociationInfo,
        instance: &str,
        request: MediaRequest,
    ) -> Result<(), McmRefusal> {
        self.mcm.create(info, instance, request)
    }

    fn mcm_action(
        &self,
        _info: &AssociationInfo,
        instance: &str,
        action: McmAction,
    ) -> Result<(), McmRefusal> {
        self.mcm.action(instance, action)
    }

    fn mcm_status(
        &self,
        _info: &AssociationInfo,
        instance: &str,
    ) -> Result<MediaStatus, McmRefusal> {
        self.mcm.status(instance)
    }
}

fn log_entry(req: &StoreRequest<'_>) -> LogEntry {
    LogEntry {
        time: dcmdisc_archive::db::now_rfc3339(),
        status: String::new(),
        calling_ae: req.association.calling_ae.clone(),
        peer: req.association.peer.to_string(),
        sop_class_uid: req.sop_class_uid.to_string(),
        sop_instance_uid: req.sop_instance_uid.to_string(),
        reason: String::new(),
    }
}

impl InstanceSink for Sink {
    fn write(&mut self, data: &[u8]) -> Result<(), StoreStatus> {
        if let Some(c) = &self.2 {
            c.add(data.len());
        }
        self.0.write(data).map_err(status)
    }

    fn buffer(&mut self, max: usize) -> Result<Option<&mut [u8]>, StoreStatus> {
        self.0.buffer(max).map(Some).map_err(status)
    }

    fn commit(&mut self, n: usize) -> Result<(), StoreStatus> {
        if let Some(c) = &self.2 {
            c.add(n);
        }
        self.0.commit(n).map_err(status)
    }

    fn finish(self, req: &StoreRequest<'_>) -> StoreStatus {
        let (started, activity) = (self.3, self.4);
        let stored = self.0.finish(log_entry(req));
        activity.counters().store_took(started.elapsed());
        if let (Ok(s), Some(t)) = (&stored, &self.1) {
            // Indexed: the job rules may act on it (off this thread).
            t.stored(req.association, req.sop_instance_uid, s.modality.as_deref());
        }
        match stored {
            Ok(s) if s.replaced => {
                StoreStatus::new(StoreStatus::SUCCESS, "stored, replacing an earlier copy")
            }
            Ok(_) => StoreStatus::success(),
            Err(f) => status(f),
        }
    }
}

/// The service with its archive open (recovery done), not yet listening.
pub struct Service {
    archive: Arc<Archive>,
    server: ServerConfig,
    addr: SocketAddr,
    data_dir: PathBuf,
    created: Option<PathBuf>,
    /// The disc job worker (`[jobs] worker`), started by `run`.
    worker: Option<crate::jobs::Worker>,
    /// For the parts `run` starts (the retention sweeper).
    cfg: Config,
    /// The job rules' trigger (`[[rules]]`), caught up at open, started by `run`.
    trigger: Option<(Trigger, Hook)>,
    activity: Arc<Activity>,
    mcm: crate::mcm::Mcm,
    /// `[tls] enabled`: the TLS port's address and session configuration.
    tls: Option<(SocketAddr, Arc<dcmdisc_net::tls::rustls::ServerConfig>)>,
    /// For reports to remote AEs with `--tls`.
    tls_client: Option<Arc<dcmdisc_net::tls::rustls::ClientConfig>>,
    reports: Arc<crate::commitment_reports::Reports>,
}

/// How a service run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Associations still running when the shutdown grace expired (their unacknowledged
    /// instances are discarded).
    pub abandoned: usize,
}

impl Service {
    /// Validates `cfg` and opens the archive: creates its layout (and the control database
    /// when missing, see [`Service::created_database`]) and recovers what an earlier run left.
    pub fn open(cfg: &Config) -> Result<Service, AppError> {
        cfg.validate()?;
        let sp = &cfg.storage_provider;
        let db = cfg.control_database_path();
        let created = (!db.try_exists().unwrap_or(true)).then_some(db);
        let data_dir = cfg.archive.data_dir.clone();
        let archive = Archive::open(ArchiveConfig {
            data_dir: data_dir.clone(),
            durable: cfg.archive.durable,
            implementation_class_uid: sp.implementation_class_uid.to_string(),
            implementation_version_name: sp.implementation_version_name.to_string(),
            conversion: crate::convert::import_conversion(cfg),
        })
        .map_err(|source| AppError::OpenArchive {
            data_dir: data_dir.clone(),
            source,
        })?;
        let server = ServerConfig {
            ae_titles: sp.ae_titles.iter().map(|a| a.to_string()).collect(),
            max_pdu_length: sp.max_pdu_length,
            max_associations: sp.max_associations as usize,
            max_pending_connections: sp.max_pending_connections as usize,
            max_pending_per_address: sp.max_pending_per_address as usize,
            artim_timeout: Duration::from_secs(sp.artim_timeout_secs),
            dimse_timeout: Duration::from_secs(sp.dimse_timeout_secs),
            min_receive_bytes_per_sec: sp.min_receive_bytes_per_sec,
            shutdown_grace: Duration::from_secs(sp.shutdown_grace_secs),
            implementation_class_uid: sp.implementation_class_uid.to_string(),
            implementation_version_name: sp.implementation_version_name.to_string(),
            contexts: cfg.contexts()?,
        };
        // Opened here, so a crash's interrupted discs are recorded before anything listens.
        let worker = if cfg.jobs.worker {
            Some(crate::jobs::Worker::open(cfg)?)
        } else {
            None
        };
        // After the archive's recovery (its re-indexed instances are in the store log), before
        // anything listens: what was stored while no trigger ran is acted on first.
        let trigger = Trigger::open(cfg)?;
        let mcm = crate::mcm::Mcm::open(cfg, archive.clone())?;
        // Read and checked before anything listens: a bad file stops the start, key named.
        let tls = if cfg.tls.enabled {
            Some((
                SocketAddr::new(sp.bind_address, cfg.tls.port),
                crate::tls::server_config(&cfg.tls)?,
            ))
        } else {
            None
        };
        let tls_client = crate::tls::client_config(&cfg.tls)?;
        let reports = Arc::new(crate::commitment_reports::Reports::open(
            cfg,
            archive.clone(),
            server.clone(),
            tls_client.clone(),
        )?);
        Ok(Service {
            reports,
            tls,
            tls_client,
            archive,
            mcm,
            server,
            addr: SocketAddr::new(sp.bind_address, sp.port),
            data_dir,
            created,
            worker,
            cfg: cfg.clone(),
            trigger,
            activity: Arc::new(Activity::new()),
        })
    }

    /// The associations open now (for the web API, which runs beside the service).
    pub fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// `Some(path)` when opening created the control database.
    pub fn created_database(&self) -> Option<&Path> {
        self.created.as_deref()
    }

    /// Binds the listener (needs a Tokio runtime).
    pub async fn bind(self) -> Result<Listening, AppError> {
        let addr = self.addr;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::PermissionDenied {
                    AppError::ListenDenied { addr }
                } else {
                    AppError::Listen { addr, source }
                }
            })?;
        let tls = match &self.tls {
            Some((addr, config)) => {
                let addr = *addr;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| AppError::Listen { addr, source })?;
                Some(dcmdisc_net::TlsListener {
                    listener,
                    config: config.clone(),
                })
            }
            None => None,
        };
        Ok(Listening {
            service: self,
            listener,
            tls,
        })
    }
}

/// The service, listening.
pub struct Listening {
    service: Service,
    listener: tokio::net::TcpListener,
    tls: Option<dcmdisc_net::TlsListener>,
}

impl Listening {
    pub fn local_addr(&self) -> Result<SocketAddr, AppError> {
        self.listener
            .local_addr()
            .map_err(|source| AppError::Listen {
                addr: self.service.addr,
                source,
            })
    }

    /// Serves until `shutdown` is triggered, then stops accepting and gives running
    /// associations the configured grace.
    pub async fn run(self, shutdown: Shutdown) -> Result<Stopped, AppError> {
        let Listening {
            service,
            listener,
            tls,
        } = self;
        let addr = listener.local_addr().unwrap_or(service.addr);
        let cfg = &service.server;
        if let Some(t) = &tls {
            if let Ok(tls_addr) = t.listener.local_addr() {
                info!(%tls_addr, suites = ?dcmdisc_net::tls::cipher_suites(),
                    require_client_cert = service.cfg.tls.require_client_cert,
                    "DICOM TLS listening on {tls_addr}");
            }
        }
        info!(
            %addr, ae_titles = ?cfg.ae_titles, max_pdu = cfg.max_pdu_length,
            pool = cfg.max_associations, data_dir = %service.data_dir.display(),
            "listening on {addr}"
        );
        let (trigger, hook) = match service.trigger {
            Some((t, h)) => (Some(t), Some(h)),
            None => (None, None),
        };
        let wiring = Wiring {
            archive: service.archive,
            trigger: hook,
            activity: service.activity,
            mcm: service.mcm,
            tls_client: service.tls_client,
            reports: service.reports.clone(),
            store_events: crate::control::ControlDb::open(
                &service.cfg,
                crate::Open::CreateIfMissing,
            )
            .map_err(
                |e| warn!(error = %crate::error::chain(&e), "refused stores will not be notified"),
            )
            .ok(),
        };
        let trigger = trigger.map(|t| {
            let stop = shutdown.clone();
            std::thread::spawn(move || t.run(&stop))
        });
        // The job worker is blocking work (files, burners): its own thread, stopped by the
        // same token; a burn in progress stops between chunks.
        let worker = service.worker.map(|w| {
            let stop = shutdown.clone();
            std::thread::spawn(move || w.run(&stop))
        });
        // The retention sweeper (a pass every `[retention] interval_secs`), likewise.
        let sweeper = {
            let (cfg, stop) = (service.cfg.clone(), shutdown.clone());
            std::thread::Builder::new()
                .name("retention".into())
                .spawn(move || crate::retention::sweep(&cfg, &stop))
                .map_err(|e| error!(error = %e, "the retention sweeper did not start"))
                .ok()
        };
        // Storage Commitment reports waiting for delivery, kept by an earlier run too.
        let reports = {
            let (reports, stop) = (service.reports.clone(), shutdown.clone());
            std::thread::Builder::new()
                .name("commitment-reports".into())
                .spawn(move || reports.run(&stop))
                .map_err(|e| error!(error = %e, "the commitment report sender did not start"))
                .ok()
        };
        // The notifiers (`[[notify]]`): one thread per target, tailing the event log.
        let notifiers = crate::notify::spawn(&service.cfg, &shutdown);
        let served =
            dcmdisc_net::serve_with_tls(listener, tls, service.server, wiring, shutdown.wait())
                .await;
        if let Some(handle) = sweeper {
            shutdown.trigger();
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                error!("the retention sweeper panicked");
            }
        }
        if let Some(handle) = reports {
            shutdown.trigger();
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                error!("the commitment report sender panicked");
            }
        }
        for handle in notifiers {
            shutdown.trigger();
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                error!("a notifier panicked");
            }
        }
        if let Some(handle) = trigger {
            shutdown.trigger();
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                error!("the job rules' trigger panicked");
            }
        }
        if let Some(handle) = worker {
            shutdown.trigger();
            let joined = tokio::task::spawn_blocking(move || handle.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                error!("the job worker panicked");
            }
        }
        let abandoned = served.map_err(AppError::Serve)?;
        if abandoned > 0 {
            warn!(
                associations = abandoned,
                "shutdown grace expired; abandoning running associations \
                 (unacknowledged instances are discarded)"
            );
        } else {
            info!("stopped");
        }
        Ok(Stopped { abandoned })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn the_service_listens_until_its_shutdown_token_is_triggered() {
        let tmp = TempDir::new("service");
        let mut cfg = Config::default();
        cfg.archive.data_dir = tmp.path().join("data");
        cfg.archive.durable = false;
        cfg.storage_provider.bind_address = IpAddr::from([127, 0, 0, 1]);
        cfg.storage_provider.port = 0;
        let service = Service::open(&cfg).unwrap();
        assert_eq!(
            service.created_database(),
            Some(tmp.path().join("data").join("control.sqlite").as_path())
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stopped = rt.block_on(async {
            let listening = service.bind().await.unwrap();
            let addr = listening.local_addr().unwrap();
            let shutdown = Shutdown::new();
            let run = tokio::spawn(listening.run(shutdown.clone()));
            // It accepts a connection (and drops it at ARTIM expiry or when we close).
            let conn = tokio::net::TcpStream::connect(addr).await.unwrap();
            drop(conn);
            shutdown.trigger();
            tokio::time::timeout(Duration::from_secs(30), run)
                .await
                .expect("the service stops once triggered")
                .unwrap()
                .unwrap()
        });
        assert_eq!(stopped, Stopped { abandoned: 0 });
        // Opened again: the database exists, nothing is announced.
        assert_eq!(Service::open(&cfg).unwrap().created_database(), None);
    }
}

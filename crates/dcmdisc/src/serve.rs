//! `dcmdisc serve`: the Storage Provider AE, wiring the network layer to the archive.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use dcmdisc_archive::{
    Archive, ArchiveConfig, Failure, FailureKind, Incoming, InstanceWriter, LogEntry, RemoteMatch,
};
use dcmdisc_net::{
    CallingCheck, ContextTable, InstanceSink, ServerConfig, Services, StoreRequest, StoreStatus,
};
use tracing::{error, info, warn};

use crate::config::Config;

struct Wiring {
    archive: Arc<Archive>,
}

struct Sink(InstanceWriter);

fn status(f: Failure) -> StoreStatus {
    let code = match f.kind {
        FailureKind::OutOfResources => StoreStatus::OUT_OF_RESOURCES,
        FailureKind::CannotUnderstand => StoreStatus::CANNOT_UNDERSTAND,
        FailureKind::Mismatch => StoreStatus::DATASET_MISMATCH,
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
            })
            .map(Sink)
            .map_err(status)
    }

    fn record_store(&self, req: &StoreRequest<'_>, st: &StoreStatus) {
        let a = req.association;
        if st.code == StoreStatus::SUCCESS {
            info!(assoc = a.id, status = "0000", calling_ae = %a.calling_ae, peer = %a.peer,
                sop_instance_uid = %req.sop_instance_uid, "C-STORE {}", st.reason);
        } else {
            warn!(assoc = a.id, status = %format!("{:04X}", st.code), calling_ae = %a.calling_ae,
                peer = %a.peer, sop_instance_uid = %req.sop_instance_uid, "C-STORE failed: {}", st.reason);
        }
        // Successes were logged in the index transaction (Sink::finish).
        if st.code != StoreStatus::SUCCESS {
            let mut entry = log_entry(req);
            entry.status = format!("{:04X}", st.code);
            entry.reason = st.reason.clone();
            self.archive.record(&entry, st.code);
        }
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
        self.0.write(data).map_err(status)
    }

    fn buffer(&mut self, max: usize) -> Result<Option<&mut [u8]>, StoreStatus> {
        self.0.buffer(max).map(Some).map_err(status)
    }

    fn commit(&mut self, n: usize) -> Result<(), StoreStatus> {
        self.0.commit(n).map_err(status)
    }

    fn finish(self, req: &StoreRequest<'_>) -> StoreStatus {
        match self.0.finish(log_entry(req)) {
            Ok(s) if s.replaced => {
                StoreStatus::new(StoreStatus::SUCCESS, "stored, replacing an earlier copy")
            }
            Ok(_) => StoreStatus::success(),
            Err(f) => status(f),
        }
    }
}

pub fn run(cfg: Config) -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let sp = &cfg.storage_provider;
    let archive = Archive::open(ArchiveConfig {
        data_dir: cfg.archive.data_dir.clone(),
        durable: cfg.archive.durable,
        implementation_class_uid: sp.implementation_class_uid.clone(),
        implementation_version_name: sp.implementation_version_name.clone(),
        conversion: crate::convert::import_conversion(&cfg),
    })
    .with_context(|| format!("opening the archive in {}", cfg.archive.data_dir.display()))?;
    let server_cfg = ServerConfig {
        ae_titles: sp.ae_titles.iter().map(|a| a.trim().to_string()).collect(),
        max_pdu_length: sp.max_pdu_length,
        max_associations: sp.max_associations as usize,
        artim_timeout: Duration::from_secs(sp.artim_timeout_secs),
        dimse_timeout: Duration::from_secs(sp.dimse_timeout_secs),
        shutdown_grace: Duration::from_secs(sp.shutdown_grace_secs),
        implementation_class_uid: sp.implementation_class_uid.clone(),
        implementation_version_name: sp.implementation_version_name.clone(),
        contexts: ContextTable::standard()?.with_preference(&sp.transfer_syntax_preference)?,
    };
    let ip: IpAddr = sp
        .bind_address
        .parse()
        .context("[storage_provider] bind_address")?;
    let addr = SocketAddr::new(ip, sp.port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                anyhow!(
                    "cannot listen on {addr}: permission denied (ports below 1024 need privileges); \
                     run with --port 11112 or set [storage_provider] port"
                )
            } else {
                anyhow!("cannot listen on {addr}: {e}")
            }
        })?;
        info!(
            %addr, ae_titles = ?server_cfg.ae_titles, max_pdu = server_cfg.max_pdu_length,
            pool = server_cfg.max_associations, data_dir = %cfg.archive.data_dir.display(),
            "listening on {addr}"
        );
        let left = dcmdisc_net::serve(listener, server_cfg, Wiring { archive }, shutdown_signal()).await?;
        if left > 0 {
            warn!(associations = left, "shutdown grace expired; abandoning running associations (unacknowledged instances are discarded)");
        } else {
            info!("stopped");
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot watch SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT: stopping"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

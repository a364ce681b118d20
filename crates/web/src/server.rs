//! Binding and running: loopback only until a login exists, the bound address logged (port
//! 0 picks a free one, which tests read), and a graceful stop on the shared shutdown token.

use std::net::SocketAddr;
use std::sync::Arc;

use dcmdisc_app::config::web::WebSection;
use dcmdisc_app::{Activity, Config, ControlDb, Open, Shutdown};
use tracing::info;

use crate::error::WebError;
use crate::routes::router;
use crate::state::Api;

/// Refuses a `[web]` section the server must not run with: any bind address but a loopback
/// one, as there are no users or login yet (issue 11 relaxes this once users exist).
pub fn check_bind(web: &WebSection) -> Result<(), WebError> {
    if web.bind_address.is_loopback() {
        Ok(())
    } else {
        Err(WebError::NeedsLogin {
            addr: web.bind_address,
        })
    }
}

/// The web API, listening, not yet serving.
pub struct WebServer {
    listener: tokio::net::TcpListener,
    api: Api,
}

impl WebServer {
    /// Checks `[web]`, opens its own connection to the control database and binds
    /// `[web] bind_address`:`port` (needs a Tokio runtime). `shutdown` also ends the event
    /// streams, which would otherwise hold a graceful stop open forever.
    pub async fn bind(
        cfg: &Config,
        activity: Arc<Activity>,
        shutdown: Shutdown,
    ) -> Result<WebServer, WebError> {
        check_bind(&cfg.web)?;
        let addr = SocketAddr::new(cfg.web.bind_address, cfg.web.port);
        let db = ControlDb::open(cfg, Open::CreateIfMissing)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| WebError::Listen { addr, source })?;
        Ok(WebServer {
            listener,
            api: Api::new(cfg.clone(), db, activity, shutdown),
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, WebError> {
        self.listener.local_addr().map_err(WebError::Serve)
    }

    /// Serves until the shutdown token given to [`WebServer::bind`] is triggered, then lets
    /// requests in progress finish (event streams end at once).
    pub async fn run(self) -> Result<(), WebError> {
        let addr = self.local_addr()?;
        // Not "listening on": the interop helpers wait for that line of the DICOM listener.
        info!(%addr, "web API at http://{addr}/api/");
        let shutdown = self.api.inner().shutdown.clone();
        axum::serve(self.listener, router(self.api))
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await
            .map_err(WebError::Serve)?;
        info!("web API stopped");
        Ok(())
    }
}

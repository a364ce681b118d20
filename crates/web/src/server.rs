//! Binding and running: loopback only until a user exists, HTTPS when `[web] tls_cert` and
//! `tls_key` are set, the bound address logged (port 0 picks a free one, which tests read),
//! and a graceful stop on the shared shutdown token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use dcmdisc_app::config::web::WebSection;
use dcmdisc_app::{Activity, Config, ControlDb, Open, Shutdown};
use tracing::info;

use crate::error::WebError;
use crate::routes::{pages_router, router_with};
use crate::state::Api;

/// Refuses a `[web]` section the server must not run with: a bind address that is not
/// loopback while no user exists (anyone on the network would have every right).
pub fn check_bind(web: &WebSection, has_users: bool) -> Result<(), WebError> {
    if web.bind_address.is_loopback() || has_users {
        Ok(())
    } else {
        Err(WebError::NeedsLogin {
            addr: web.bind_address,
        })
    }
}

/// The web server, listening, not yet serving.
pub struct WebServer {
    listener: std::net::TcpListener,
    api: Api,
    tls: Option<Arc<rustls::ServerConfig>>,
    pages: Option<Router<Api>>,
}

impl WebServer {
    /// Checks `[web]` (the bind address against the users, the TLS files), opens its own
    /// connection to the control database and binds `[web] bind_address`:`port` (needs a
    /// Tokio runtime). `shutdown` also ends the event streams, which would otherwise hold a
    /// graceful stop open forever.
    pub async fn bind(
        cfg: &Config,
        activity: Arc<Activity>,
        shutdown: Shutdown,
    ) -> Result<WebServer, WebError> {
        let db = ControlDb::open(cfg, Open::CreateIfMissing)?;
        check_bind(&cfg.web, db.has_users()?)?;
        let tls = match (&cfg.web.tls_cert, &cfg.web.tls_key) {
            (Some(c), Some(k)) => Some(crate::tls::server_config(c, k)?),
            (None, None) => None,
            // Config::validate refuses this; kept an error rather than a plain-HTTP start.
            _ => {
                return Err(WebError::Tls(
                    "[web] tls_cert and tls_key go together".into(),
                ))
            }
        };
        let addr = SocketAddr::new(cfg.web.bind_address, cfg.web.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .and_then(|l| l.into_std())
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| WebError::Listen { addr, source })?;
        Ok(WebServer {
            listener,
            api: Api::new(cfg.clone(), db, activity, shutdown),
            tls,
            pages: None,
        })
    }

    /// Serves these pages instead of the operator pages ([`crate::pages_router`]), behind the
    /// same login.
    pub fn with_pages(mut self, pages: Router<Api>) -> WebServer {
        self.pages = Some(pages);
        self
    }

    pub fn local_addr(&self) -> Result<SocketAddr, WebError> {
        self.listener.local_addr().map_err(WebError::Serve)
    }

    /// Serves until the shutdown token given to [`WebServer::bind`] is triggered, then lets
    /// requests in progress finish (event streams end at once).
    pub async fn run(self) -> Result<(), WebError> {
        let addr = self.local_addr()?;
        let shutdown = self.api.inner().shutdown.clone();
        let app = router_with(self.api, Some(self.pages.unwrap_or_else(pages_router)))
            .into_make_service_with_connect_info::<SocketAddr>();
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown.wait().await;
            stopper.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        // Not "listening on": the interop helpers wait for that line of the DICOM listener.
        match self.tls {
            Some(tls) => {
                info!(%addr, "web API at https://{addr}/api/");
                info!(%addr, "operator pages at https://{addr}/");
                let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
                axum_server::from_tcp_rustls(self.listener, config)
                    .handle(handle)
                    .serve(app)
                    .await
            }
            None => {
                info!(%addr, "web API at http://{addr}/api/");
                info!(%addr, "operator pages at http://{addr}/");
                axum_server::from_tcp(self.listener)
                    .handle(handle)
                    .serve(app)
                    .await
            }
        }
        .map_err(WebError::Serve)?;
        info!("web API stopped");
        Ok(())
    }
}

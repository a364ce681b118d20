//! What every handler shares: the configuration, one control database connection, the
//! registry of associations, the shutdown token that ends event streams, and the login's
//! in-memory parts (the attempt limiter, the no-user CSRF token).

use std::sync::Arc;

use dcmdisc_app::{Activity, Config, ControlDb, Shutdown};

use crate::auth::Limiter;
use crate::error::ApiError;

/// The handlers' shared state (cheap to clone).
#[derive(Clone)]
pub struct Api(Arc<Inner>);

pub(crate) struct Inner {
    pub cfg: Config,
    pub db: ControlDb,
    pub activity: Arc<Activity>,
    pub shutdown: Shutdown,
    /// Login attempts per user and peer.
    pub limiter: Limiter,
    /// The CSRF token of page forms while no user exists (one per process; empty if the OS
    /// gave no random bytes, and an empty token is never accepted).
    pub local_csrf: String,
    /// Served over TLS: the session cookie is `Secure`.
    pub tls: bool,
}

impl Api {
    pub fn new(cfg: Config, db: ControlDb, activity: Arc<Activity>, shutdown: Shutdown) -> Api {
        let tls = cfg.web.tls_cert.is_some();
        Api(Arc::new(Inner {
            cfg,
            db,
            activity,
            shutdown,
            limiter: Limiter::default(),
            local_csrf: dcmdisc_app::users::random_secret().unwrap_or_default(),
            tls,
        }))
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }

    /// Runs `f` (database work, which blocks) on Tokio's blocking pool, so the runtime's
    /// thread keeps serving the DICOM accept loop and other requests meanwhile.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, ApiError> + Send + 'static,
    {
        let me = self.0.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| ApiError::internal(format!("a request's worker ended: {e}")))?
    }
}

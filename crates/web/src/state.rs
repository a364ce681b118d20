//! What every handler shares: the configuration, one control database connection, the
//! registry of associations, and the shutdown token that ends event streams.

use std::sync::Arc;

use dcmdisc_app::{Activity, Config, ControlDb, Shutdown};

use crate::error::ApiError;

/// The handlers' shared state (cheap to clone).
#[derive(Clone)]
pub struct Api(Arc<Inner>);

pub(crate) struct Inner {
    pub cfg: Config,
    pub db: ControlDb,
    pub activity: Arc<Activity>,
    pub shutdown: Shutdown,
}

impl Api {
    pub fn new(cfg: Config, db: ControlDb, activity: Arc<Activity>, shutdown: Shutdown) -> Api {
        Api(Arc::new(Inner {
            cfg,
            db,
            activity,
            shutdown,
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

//! `[web]`: the JSON HTTP API and event stream that `serve` runs beside the DICOM listener.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

/// The shortest `metrics_token` accepted: it is compared in full, so it must not be guessable.
pub const MIN_METRICS_TOKEN: usize = 16;

/// The default web port: the DICOM port 104 plus 8000, clear of the registered 8080 and of
/// Orthanc's 8042, so a media center and a PACS on one host do not collide.
pub const DEFAULT_WEB_PORT: u16 = 8104;

/// `[web]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Serve the API inside `dcmdisc serve`.
    pub enabled: bool,
    /// Loopback by default; another address is refused at start while no user exists
    /// (`dcmdisc user add`).
    pub bind_address: IpAddr,
    /// 0: any free port (the bound address is logged).
    pub port: u16,
    /// HTTPS: the certificate chain (PEM), with `tls_key`; both or neither.
    pub tls_cert: Option<PathBuf>,
    /// HTTPS: the private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// A bearer token that reads `/metrics` (only) without a user, for a Prometheus scraper.
    pub metrics_token: Option<String>,
}

/// What `[web]` cannot be.
pub(crate) fn validate(w: &WebSection) -> Result<(), ConfigError> {
    match (&w.tls_cert, &w.tls_key) {
        (Some(_), None) => {
            return Err(ConfigError::Web(
                "tls_cert is set but tls_key is not: HTTPS needs both (or neither)".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::Web(
                "tls_key is set but tls_cert is not: HTTPS needs both (or neither)".into(),
            ))
        }
        _ => {}
    }
    if let Some(t) = &w.metrics_token {
        let printable = t.bytes().all(|b| b.is_ascii_graphic());
        if t.len() < MIN_METRICS_TOKEN || !printable {
            return Err(ConfigError::Web(format!(
                "metrics_token: at least {MIN_METRICS_TOKEN} printable ASCII characters, no \
                 spaces (e.g. the output of `openssl rand -hex 32`)"
            )));
        }
    }
    Ok(())
}

impl Default for WebSection {
    fn default() -> Self {
        WebSection {
            enabled: true,
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_WEB_PORT,
            tls_cert: None,
            tls_key: None,
            metrics_token: None,
        }
    }
}

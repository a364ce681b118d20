//! DICOM TLS from the configuration: `[tls]`'s PEM files read and turned into the
//! listener's and the outgoing association's rustls configurations (net's `tls` module
//! builds them), each failure naming its key.

use std::path::Path;
use std::sync::Arc;

use dcmdisc_net::tls::{self, rustls, Identity, TlsInput};

use crate::config::tls::TlsSection;
use crate::error::AppError;

fn key_name(what: TlsInput) -> &'static str {
    match what {
        TlsInput::Certificate => "[tls] cert",
        TlsInput::Key => "[tls] key",
        TlsInput::ClientCa => "[tls] client_ca",
        TlsInput::PeerCa => "[tls] remote_ca",
    }
}

fn read(key: &'static str, path: Option<&Path>) -> Result<Vec<u8>, AppError> {
    let path = path.ok_or_else(|| AppError::Tls {
        key,
        why: "not set (needed by [tls] enabled or a remote AE with --tls)".into(),
    })?;
    std::fs::read(path).map_err(|e| AppError::Tls {
        key,
        why: format!("{}: {e}", path.display()),
    })
}

fn tls_error(e: tls::TlsError) -> AppError {
    AppError::Tls {
        key: key_name(e.what),
        why: e.why,
    }
}

/// The listener's configuration (`[tls] enabled`).
pub(crate) fn server_config(t: &TlsSection) -> Result<Arc<rustls::ServerConfig>, AppError> {
    let cert = read("[tls] cert", t.cert.as_deref())?;
    let key = read("[tls] key", t.key.as_deref())?;
    let client_ca = match &t.client_ca {
        Some(p) => Some(read("[tls] client_ca", Some(p))?),
        None => None,
    };
    let id = Identity {
        cert_pem: &cert,
        key_pem: &key,
    };
    tls::server_config(&id, client_ca.as_deref(), t.require_client_cert).map_err(tls_error)
}

/// The outgoing association's configuration, when `[tls]` has a certificate, a key and a CA
/// to check remote AEs with (`remote_ca`, else `client_ca`); `None` when it has not.
pub(crate) fn client_config(t: &TlsSection) -> Result<Option<Arc<rustls::ClientConfig>>, AppError> {
    let (ca_key, ca) = match (&t.remote_ca, &t.client_ca) {
        (Some(p), _) => ("[tls] remote_ca", p),
        (None, Some(p)) => ("[tls] client_ca", p),
        (None, None) => return Ok(None),
    };
    if t.cert.is_none() || t.key.is_none() {
        return Ok(None);
    }
    let cert = read("[tls] cert", t.cert.as_deref())?;
    let key = read("[tls] key", t.key.as_deref())?;
    let ca = read(ca_key, Some(ca))?;
    let id = Identity {
        cert_pem: &cert,
        key_pem: &key,
    };
    tls::client_config(&id, &ca)
        .map(Some)
        .map_err(|e| match e.what {
            TlsInput::PeerCa => AppError::Tls {
                key: ca_key,
                why: e.why,
            },
            _ => tls_error(e),
        })
}

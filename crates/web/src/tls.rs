//! HTTPS on the web port: `[web] tls_cert` (a PEM chain, leaf first) and `tls_key` (a PEM
//! private key) loaded into a rustls server configuration with ring as its crypto provider.
//! A file that is missing or holds no certificate or key stops the start with the file named.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::WebError;

fn bad(path: &Path, why: impl std::fmt::Display) -> WebError {
    WebError::Tls(format!("{}: {why}", path.display()))
}

/// The server configuration of `cert` and `key` (HTTP/1.1 by ALPN).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, WebError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, format!("[web] tls_cert cannot be read: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("[web] tls_cert is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(cert, "[web] tls_cert holds no CERTIFICATE"));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, format!("[web] tls_key holds no private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WebError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            WebError::Tls(format!(
                "[web] tls_cert and tls_key do not make a usable pair: {e}"
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

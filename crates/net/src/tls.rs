//! DICOM TLS (PS3.15 Annex B, the BCP 195 profile of B.9): the rustls configurations of the
//! TLS listener and of the outgoing association, built from PEM bytes the caller read, and
//! the identity a verified client certificate carries.
//!
//! The profile: TLS 1.2 and 1.3 only; the *ring* provider's suites, which are all AEAD with
//! forward secrecy (TLS 1.3: AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305; TLS 1.2:
//! ECDHE-ECDSA and ECDHE-RSA with the same three) — no CBC, RC4, 3DES, static RSA or
//! NULL; extended master secret and secure renegotiation as rustls always does (it never
//! renegotiates). Client certificates are verified against the configured CA roots by
//! webpki (chain, validity, key usage); the listener asks for one always and refuses a
//! handshake without one when it is required.

use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

pub use rustls;

/// Which of the PEM inputs an error is about (the caller names its configuration key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsInput {
    Certificate,
    Key,
    ClientCa,
    PeerCa,
}

#[derive(Debug, thiserror::Error)]
#[error("{what:?}: {why}")]
pub struct TlsError {
    pub what: TlsInput,
    pub why: String,
}

fn err(what: TlsInput, why: impl Into<String>) -> TlsError {
    TlsError {
        what,
        why: why.into(),
    }
}

/// The PEM inputs of a TLS endpoint: our certificate chain (leaf first) and its key.
pub struct Identity<'a> {
    pub cert_pem: &'a [u8],
    pub key_pem: &'a [u8],
}

/// The protocol versions of the profile.
pub static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The crypto provider every configuration uses: *ring* with its default (AEAD-only) suites.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The names of the cipher suites we offer and accept, in preference order.
pub fn cipher_suites() -> Vec<String> {
    provider()
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect()
}

fn chain(pem: &[u8], what: TlsInput) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(what, format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(err(what, "no CERTIFICATE block in the PEM file"));
    }
    Ok(certs)
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        err(
            TlsInput::Key,
            format!("no usable private key in the PEM file: {e}"),
        )
    })
}

fn roots(pem: &[u8], what: TlsInput) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in chain(pem, what)? {
        store
            .add(cert)
            .map_err(|e| err(what, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(Arc::new(store))
}

/// The listener's configuration. With `client_ca`, every client is asked for a
/// certificate, verified against those roots; without one, a client must have one only when
/// `require_client_cert` (refused here without a CA to check it against).
pub fn server_config(
    id: &Identity<'_>,
    client_ca: Option<&[u8]>,
    require_client_cert: bool,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| err(TlsInput::Certificate, e.to_string()))?;
    let builder = match client_ca {
        Some(pem) => {
            let v = WebPkiClientVerifier::builder_with_provider(
                roots(pem, TlsInput::ClientCa)?,
                provider,
            );
            let v = if require_client_cert {
                v
            } else {
                v.allow_unauthenticated()
            };
            let v = v
                .build()
                .map_err(|e| err(TlsInput::ClientCa, e.to_string()))?;
            builder.with_client_cert_verifier(v)
        }
        None if require_client_cert => {
            return Err(err(
                TlsInput::ClientCa,
                "client certificates are required but no CA is configured to check them",
            ))
        }
        None => builder.with_no_client_auth(),
    };
    let certs = chain(id.cert_pem, TlsInput::Certificate)?;
    let key = key(id.key_pem)?;
    // rustls checks here that the key is the certificate's (its public key).
    let cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| err(TlsInput::Key, format!("does not fit the certificate: {e}")))?;
    Ok(Arc::new(cfg))
}

/// The outgoing association's configuration: the peer's server certificate verified against
/// `peer_ca` (and its name or address, see [`server_name`]); ours presented when asked.
pub fn client_config(
    id: &Identity<'_>,
    peer_ca: &[u8],
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(|e| err(TlsInput::PeerCa, e.to_string()))?
        .with_root_certificates(roots(peer_ca, TlsInput::PeerCa)?)
        .with_client_auth_cert(chain(id.cert_pem, TlsInput::Certificate)?, key(id.key_pem)?)
        .map_err(|e| err(TlsInput::Key, format!("does not fit the certificate: {e}")))?;
    Ok(Arc::new(cfg))
}

/// How to reach a remote AE over TLS: the session configuration and the name its server
/// certificate must carry.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: ServerName<'static>,
}

/// The name a peer's server certificate must carry: the host as configured (a DNS name or
/// an IP address, matched against the certificate's subject alternative names).
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string()).map_err(|e| format!("{host:?} as a TLS name: {e}"))
}

/// A client certificate the listener verified: who it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The subject as text (RFC 4514 style, for the log).
    pub subject: String,
    /// The subject's (first) Common Name, if it has one.
    pub common_name: Option<String>,
}

impl ClientCertificate {
    /// The end-entity certificate's subject; `None` if it does not parse (webpki accepted
    /// it, so that would be a bug of one of the two parsers).
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string);
        Some(ClientCertificate {
            subject: subject.to_string(),
            common_name,
        })
    }
}

/// The negotiated parameters of a session, for the log.
#[derive(Debug, Clone)]
pub struct Session {
    pub version: String,
    pub cipher_suite: String,
    pub client: Option<ClientCertificate>,
}

impl Session {
    pub(crate) fn of(conn: &rustls::ServerConnection) -> Self {
        Session {
            version: conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            client: conn
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| ClientCertificate::from_der(c)),
        }
    }
}

/// The documented default admission rule on the TLS port: a verified client certificate
/// admits only the calling AE title its subject CN names; without one (allowed only when
/// certificates are not required) the remote AE table and host decide alone.
pub fn certificate_rule(calling_ae: &str, cert: Option<&ClientCertificate>) -> Result<(), String> {
    match cert {
        None => Ok(()),
        Some(c) if c.common_name.as_deref().map(str::trim) == Some(calling_ae) => Ok(()),
        Some(c) => Err(format!(
            "the client certificate ({}) is not for calling AE {calling_ae:?}: its subject CN \
             must be the AE title",
            c.subject
        )),
    }
}

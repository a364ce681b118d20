//! `[tls]`: the DICOM TLS port of the Storage Provider (PS3.15 B.9, BCP 195), beside the
//! plain one. The PEM files are read and checked when the service starts
//! ([`crate::tls`]), so a missing file or a key that is not the certificate's stops it with
//! the key named.

use std::path::PathBuf;

use serde::Deserialize;

/// The TLS port's default: the DICOM port registered for TLS (IANA "dicom-tls", 2762).
pub const DEFAULT_TLS_PORT: u16 = 2762;

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// Listen on `port` with TLS, beside the plain port.
    pub enabled: bool,
    /// On `[storage_provider] bind_address`; 0: any free port (logged).
    pub port: u16,
    /// Our certificate chain (PEM, leaf first).
    pub cert: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1), not encrypted.
    pub key: Option<PathBuf>,
    /// The CA certificates (PEM) client certificates are verified against; without it no
    /// client certificate is asked for.
    pub client_ca: Option<PathBuf>,
    /// Refuse a client that presents no valid certificate (needs `client_ca`).
    pub require_client_cert: bool,
    /// The CA certificates (PEM) a remote AE's server certificate is verified against on
    /// an outgoing TLS association (remote AEs added with `--tls`); default: `client_ca`.
    pub remote_ca: Option<PathBuf>,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            enabled: false,
            port: DEFAULT_TLS_PORT,
            cert: None,
            key: None,
            client_ca: None,
            require_client_cert: false,
            remote_ca: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::testutil::TempDir;

    fn err(toml: &str) -> String {
        match Config::parse(toml).and_then(|c| c.validate()) {
            Ok(()) => panic!("accepted:\n{toml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn tls_is_off_by_default_and_wrong_values_name_their_key() {
        let c = Config::parse("").unwrap();
        assert!(!c.tls.enabled);
        assert_eq!(c.tls.port, super::DEFAULT_TLS_PORT);
        assert!(!c.tls.require_client_cert);
        for (toml, key) in [
            ("[tls]\nenabled = true\n", "[tls] cert"),
            ("[tls]\nenabled = true\ncert = \"c.pem\"\n", "[tls] key"),
            ("[tls]\nrequire_client_cert = true\n", "[tls] client_ca"),
            ("[tls]\nport = 70000\n", "[tls] port"),
            ("[tls]\nenabled = \"yes\"\n", "[tls] enabled"),
            ("[tls]\nciphers = []\n", "[tls]"),
        ] {
            let e = err(toml);
            assert!(e.contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn pem_paths_are_relative_to_the_config_file_and_a_missing_one_is_named() {
        let tmp = TempDir::new("tls-config");
        let file = tmp.path().join("dcmdisc.toml");
        std::fs::write(
            &file,
            "[tls]\nenabled = true\ncert = \"pki/cert.pem\"\nkey = \"/abs/key.pem\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file)).unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.tls.cert.as_deref(),
            Some(&*tmp.path().join("pki/cert.pem"))
        );
        assert_eq!(
            c.tls.key.as_deref(),
            Some(std::path::Path::new("/abs/key.pem"))
        );
        let e = crate::tls::server_config(&c.tls).unwrap_err().to_string();
        assert!(e.starts_with("[tls] cert: "), "{e}");
        assert!(e.contains("pki/cert.pem"), "{e}");
    }
}

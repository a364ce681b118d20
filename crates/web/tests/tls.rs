//! HTTPS on the web port with a self-signed certificate made here: the handshake with a
//! client that trusts only that certificate, the session cookie `Secure` over it, plain HTTP
//! on the TLS port getting no answer, and a start refused (naming the file) when the
//! certificate or key cannot be loaded.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Fixture;
use dcmdisc_app::config::jobs::SimDisc;
use dcmdisc_app::users::Role;
use dcmdisc_app::{Config, ControlDb, Open};
use dcmdisc_web::{WebError, WebServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Writes a self-signed certificate for `localhost` and its key; answers the certificate.
fn self_signed(f: &Fixture, cfg: &mut Config) -> CertificateDer<'static> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = f.scratch.path().join("web.crt");
    let key = f.scratch.path().join("web.key");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    cfg.web.tls_cert = Some(cert);
    cfg.web.tls_key = Some(key);
    ck.cert.der().clone()
}

async fn https(
    addr: std::net::SocketAddr,
    trust: CertificateDer<'static>,
    request: &str,
) -> String {
    let mut roots = RootCertStore::empty();
    roots.add(trust).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = tokio::time::timeout(
        Duration::from_secs(30),
        connector.connect(ServerName::try_from("localhost").unwrap(), tcp),
    )
    .await
    .unwrap()
    .expect("the TLS handshake");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), tls.read_to_end(&mut answer))
        .await
        .unwrap()
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let f = Fixture::new("web-tls", &[SimDisc::Blank]);
    let mut cfg = f.cfg.clone();
    cfg.web.port = 0;
    let trust = self_signed(&f, &mut cfg);
    cfg.validate().unwrap();
    ControlDb::open(&cfg, Open::Existing)
        .unwrap()
        .add_user(&"ann".parse().unwrap(), Role::Admin, "admin password 1")
        .unwrap();
    let server = WebServer::bind(&cfg, f.activity.clone(), f.shutdown.clone())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let run = tokio::spawn(server.run());

    let page = https(
        addr,
        trust.clone(),
        "GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<form method=\"post\" action=\"/login\">"));

    let body = "user=ann&password=admin+password+1";
    let login = https(
        addr,
        trust,
        &format!(
            "POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    let cookie = login
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));

    // Plain HTTP on the TLS port: no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), plain.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    f.shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_certificate_or_key_that_does_not_load_stops_the_start() {
    let f = Fixture::new("web-tls-bad", &[SimDisc::Blank]);
    let mut cfg = f.cfg.clone();
    cfg.web.port = 0;
    self_signed(&f, &mut cfg);
    let good_key = cfg.web.tls_key.clone().unwrap();
    let garbage = f.scratch.path().join("garbage.pem");
    std::fs::write(&garbage, "not a PEM file\n").unwrap();
    let missing = f.scratch.path().join("missing.pem");
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let other_key = f.scratch.path().join("other.key");
    std::fs::write(&other_key, other.key_pair.serialize_pem()).unwrap();
    let cert = cfg.web.tls_cert.clone().unwrap();
    for (c, k, words) in [
        (missing.clone(), good_key.clone(), "missing.pem"),
        (garbage.clone(), good_key.clone(), "no CERTIFICATE"),
        (cert.clone(), garbage.clone(), "garbage.pem"),
        (cert.clone(), other_key, "do not make a usable pair"),
    ] {
        cfg.web.tls_cert = Some(c);
        cfg.web.tls_key = Some(k);
        match WebServer::bind(&cfg, f.activity.clone(), f.shutdown.clone()).await {
            Err(e @ WebError::Tls(_)) => {
                let msg = e.to_string();
                assert!(msg.contains(words), "{msg} lacks {words}");
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started with {words}"),
        }
    }
}

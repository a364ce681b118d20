//! The server on a real loopback listener: port 0 picks a free port, it answers HTTP/1.1,
//! stops with its shutdown token; a non-loopback bind address is refused (no login yet), and
//! a port in use is named.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::Fixture;
use dcmdisc_app::config::jobs::SimDisc;
use dcmdisc_app::config::web::WebSection;
use dcmdisc_web::{check_bind, WebError, WebServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn only_loopback_addresses_are_allowed_until_a_login_exists() {
    for ok in ["127.0.0.1", "127.1.2.3", "::1"] {
        let web = WebSection {
            bind_address: ok.parse().unwrap(),
            ..WebSection::default()
        };
        check_bind(&web).unwrap();
    }
    for refused in ["0.0.0.0", "::", "192.0.2.10", "2001:db8::1"] {
        let web = WebSection {
            bind_address: refused.parse::<IpAddr>().unwrap(),
            ..WebSection::default()
        };
        let msg = check_bind(&web).unwrap_err().to_string();
        assert!(msg.contains("[web] bind_address"), "{msg}");
        assert!(msg.contains(refused), "{msg}");
        assert!(msg.contains("needs a login"), "{msg}");
        assert!(msg.contains("no users or login yet"), "{msg}");
    }
}

#[tokio::test]
async fn it_serves_on_a_free_loopback_port_and_stops_with_its_token() {
    let f = Fixture::new("web-server", &[SimDisc::Blank]);
    let mut cfg = f.cfg.clone();
    cfg.web.port = 0;
    let server = WebServer::bind(&cfg, f.activity.clone(), f.shutdown.clone())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let run = tokio::spawn(server.run());

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /api/patients HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), conn.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains("\"patient_id\":\"P1\""), "{answer}");

    // A second server on the same port: refused, naming the address.
    cfg.web.port = addr.port();
    match WebServer::bind(&cfg, f.activity.clone(), f.shutdown.clone()).await {
        Err(e @ WebError::Listen { .. }) => assert!(e.to_string().contains(&addr.to_string())),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second server bound {addr}"),
    }

    f.shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_non_loopback_address_is_refused_before_anything_listens() {
    let f = Fixture::new("web-refused", &[SimDisc::Blank]);
    let mut cfg = f.cfg.clone();
    cfg.web.bind_address = "0.0.0.0".parse().unwrap();
    cfg.web.port = 0;
    match WebServer::bind(&cfg, f.activity.clone(), f.shutdown.clone()).await {
        Err(e @ WebError::NeedsLogin { .. }) => assert!(e.to_string().contains("login")),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("bound 0.0.0.0"),
    }
}

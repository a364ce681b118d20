//! The TLS port (PS3.15 B.9): a rustls client in the test against the real acceptor, with
//! certificates made here (rcgen): a CA, the server's certificate for 127.0.0.1, client
//! certificates from that CA and from another one. The plain port runs beside it.

use std::io::Read;
use std::net::TcpStream;
use std::sync::Arc;

use dcmdisc_net::tls::{self, rustls, Identity, TlsInput};
use dicom_ul::pdu::Pdu;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::fake::{start_tls, Server};
use crate::peer::*;
use crate::{CT, IO_TIMEOUT};

type Client = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca {
        issuer: Issuer::new(p, key),
        pem: cert.pem(),
    }
}

/// A leaf certificate (PEM) and its key (PEM) from `ca`.
fn leaf(ca: &Ca, cn: &str, names: &[&str]) -> (String, String) {
    let mut p =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Pki {
    ca: Ca,
    server: (String, String),
}

fn pki() -> Pki {
    let ca = ca("dcmdisc test CA");
    let server = leaf(&ca, "dcmdisc", &["127.0.0.1"]);
    Pki { ca, server }
}

fn server_config(pki: &Pki, client_ca: Option<&str>, require: bool) -> Arc<rustls::ServerConfig> {
    let id = Identity {
        cert_pem: pki.server.0.as_bytes(),
        key_pem: pki.server.1.as_bytes(),
    };
    tls::server_config(&id, client_ca.map(str::as_bytes), require).unwrap()
}

fn client_config(
    pki: &Pki,
    client: Option<&(String, String)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in CertificateDer::pem_slice_iter(pki.ca.pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client {
        Some((cert, key)) => b
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

fn tls_connect(server: &Server, cfg: Arc<rustls::ClientConfig>) -> Client {
    let sock = TcpStream::connect(server.tls_addr.unwrap()).unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(cfg, name).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

fn echo(c: &mut (impl Read + std::io::Write)) {
    send(c, &pdata(&[pdv(1, true, true, &echo_rq(1))]));
    assert_eq!(status(&read_response(c, 1)), 0x0000);
}

/// Release over TLS: the A-RELEASE-RP, then the session's end (close_notify or the close).
fn release_tls(c: &mut Client) {
    send(c, &[0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    let (t, body) = read_pdu(c);
    assert_eq!((t, body.as_slice()), (0x06, &[0u8, 0, 0, 0][..]));
    c.conn.send_close_notify();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(rest.is_empty(), "bytes after A-RELEASE-RP: {rest:02x?}");
}

/// The handshake or the first read fails: the client gets no A-ASSOCIATE answer.
fn refused_in_tls(mut c: Client) -> String {
    let rq = encode(&Pdu::AssociationRQ(standard_request()));
    let _ = std::io::Write::write_all(&mut c, &rq);
    let mut buf = [0u8; 64];
    match c.read(&mut buf) {
        Ok(0) => "closed".into(),
        Ok(n) => panic!("the server answered {:02x?}", &buf[..n]),
        Err(e) => e.to_string(),
    }
}

#[test]
fn with_a_client_certificate_of_the_ae_an_echo_and_a_store_go_through_and_plain_works_beside() {
    let pki = pki();
    let server = start_tls(server_config(&pki, Some(&pki.ca.pem), true));
    let client = leaf(&pki.ca, "SENDER", &[]);
    let mut c = tls_connect(&server, client_config(&pki, Some(&client), tls::VERSIONS));
    associate_with(&mut c, standard_request());
    assert_eq!(
        c.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    echo(&mut c);
    // An instance of several PDUs, through the TLS reader into the sink.
    let data = dataset(100_000);
    let mut pdus = vec![pdata(&[pdv(
        3,
        true,
        true,
        &store_rq(2, CT, "1.2.3.9", true),
    )])];
    for (i, chunk) in data.chunks(16_000).enumerate() {
        let last = (i + 1) * 16_000 >= data.len();
        pdus.push(pdata(&[pdv(3, false, last, chunk)]));
    }
    send(&mut c, &pdus.concat());
    assert_eq!(store_status(&mut c, 2, "1.2.3.9"), 0x0000);
    release_tls(&mut c);
    assert_eq!(stored(&server)["1.2.3.9"], data);
    // The plain port is the same service.
    let mut p = associated(&server);
    echo(&mut p);
    release(&mut p);
}

#[test]
fn tls_1_2_is_accepted_with_an_aead_suite() {
    let pki = pki();
    let server = start_tls(server_config(&pki, None, false));
    let mut c = tls_connect(
        &server,
        client_config(&pki, None, &[&rustls::version::TLS12]),
    );
    associate_with(&mut c, standard_request());
    assert_eq!(
        c.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    let suite = format!("{:?}", c.conn.negotiated_cipher_suite().unwrap().suite());
    assert!(
        suite.starts_with("TLS_ECDHE_") && (suite.contains("GCM") || suite.contains("CHACHA20")),
        "{suite}"
    );
    echo(&mut c);
    release_tls(&mut c);
}

#[test]
fn without_a_certificate_when_required_the_client_is_refused_and_the_service_goes_on() {
    let pki = pki();
    let server = start_tls(server_config(&pki, Some(&pki.ca.pem), true));
    let why = refused_in_tls(tls_connect(
        &server,
        client_config(&pki, None, tls::VERSIONS),
    ));
    assert!(!why.is_empty());
    assert!(server.fake.state().lifecycle.is_empty());
    let client = leaf(&pki.ca, "SENDER", &[]);
    let mut c = tls_connect(&server, client_config(&pki, Some(&client), tls::VERSIONS));
    associate_with(&mut c, standard_request());
    release_tls(&mut c);
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let pki = pki();
    let server = start_tls(server_config(&pki, Some(&pki.ca.pem), true));
    let stranger = leaf(&ca("another CA"), "SENDER", &[]);
    let why = refused_in_tls(tls_connect(
        &server,
        client_config(&pki, Some(&stranger), tls::VERSIONS),
    ));
    assert!(!why.is_empty());
    assert!(server.fake.state().lifecycle.is_empty());
}

#[test]
fn a_certificate_admits_only_the_ae_title_its_cn_names() {
    let pki = pki();
    // Optional client certificates: one that is presented still has to fit.
    let server = start_tls(server_config(&pki, Some(&pki.ca.pem), false));
    let other = leaf(&pki.ca, "OTHER", &[]);
    let mut c = tls_connect(&server, client_config(&pki, Some(&other), tls::VERSIONS));
    send(&mut c, &encode(&Pdu::AssociationRQ(standard_request())));
    let (t, body) = read_pdu(&mut c);
    assert_eq!(t, 0x03, "A-ASSOCIATE-RJ");
    // Permanent, service user, calling AE title not recognized.
    assert_eq!(&body[1..], &[1, 1, 3]);
    // No certificate at all: the remote AE table alone decides (here: allowed).
    let mut c = tls_connect(&server, client_config(&pki, None, tls::VERSIONS));
    associate_with(&mut c, standard_request());
    echo(&mut c);
    release_tls(&mut c);
}

#[test]
fn plain_dicom_on_the_tls_port_is_closed_and_the_service_goes_on() {
    let pki = pki();
    let server = start_tls(server_config(&pki, None, false));
    let mut plain = TcpStream::connect(server.tls_addr.unwrap()).unwrap();
    plain.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    send(&mut plain, &encode(&Pdu::AssociationRQ(standard_request())));
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    // At most a TLS alert record (content type 21), never a DICOM PDU.
    assert!(answer.is_empty() || answer[0] == 21, "{answer:02x?}");
    let mut c = tls_connect(&server, client_config(&pki, None, tls::VERSIONS));
    associate_with(&mut c, standard_request());
    release_tls(&mut c);
}

#[test]
fn bad_pem_inputs_are_refused_naming_the_input() {
    let pki = pki();
    let other = leaf(&pki.ca, "x", &[]);
    let what = |cert: &str, key: &str, ca: Option<&str>, require| {
        let id = Identity {
            cert_pem: cert.as_bytes(),
            key_pem: key.as_bytes(),
        };
        tls::server_config(&id, ca.map(str::as_bytes), require)
            .err()
            .map(|e| e.what)
    };
    let (cert, key) = (&pki.server.0, &pki.server.1);
    assert_eq!(what(cert, key, None, false), None);
    assert_eq!(what(cert, &other.1, None, false), Some(TlsInput::Key));
    assert_eq!(what("junk", key, None, false), Some(TlsInput::Certificate));
    assert_eq!(what(cert, "junk", None, false), Some(TlsInput::Key));
    assert_eq!(what(cert, key, None, true), Some(TlsInput::ClientCa));
    assert_eq!(
        what(cert, key, Some("junk"), true),
        Some(TlsInput::ClientCa)
    );
}

#[test]
fn a_report_on_a_new_association_goes_over_tls_with_our_certificate_when_the_remote_takes_tls() {
    use crate::commitment::*;
    use dicom_ul::pdu::{
        AssociationAC, PresentationContextResult, PresentationContextResultReason, UserVariableItem,
    };
    let pki = pki();
    let server = crate::fake::start();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // dcmdisc's side: its own certificate (CN = its AE title) from the same CA.
    let ours = leaf(&pki.ca, crate::OUR_AE, &[]);
    let id = Identity {
        cert_pem: ours.0.as_bytes(),
        key_pem: ours.1.as_bytes(),
    };
    let outgoing = tls::Outgoing {
        config: tls::client_config(&id, pki.ca.pem.as_bytes()).unwrap(),
        server_name: tls::server_name("127.0.0.1").unwrap(),
    };
    {
        let mut st = server.fake.state();
        st.report_to = Some(listener.local_addr().unwrap());
        st.report_tls = Some(outgoing);
    }
    let (mut c, _) = associated_sc(&server, crate::IMPLICIT, false);
    let data = implicit_request("2.25.3001", &[(CT, "1.2.3.9100.1")]);
    let mut out = pdata(&[
        pdv(1, true, true, &n_action(9, 1, SC_INSTANCE, true)),
        pdv(1, false, true, &data),
    ]);
    out.extend_from_slice(&[0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    send(&mut c, &out);
    assert_eq!(action_status(&mut c, 9), 0x0000);
    assert_eq!(read_pdu(&mut c).0, 0x06);
    expect_no_more(&mut c);

    // The remote AE: a TLS server that requires a client certificate from the CA.
    let sock = accept_within(&listener);
    let conn = rustls::ServerConnection::new(server_config(&pki, Some(&pki.ca.pem), true)).unwrap();
    let mut s = rustls::StreamOwned::new(conn, sock);
    let (t, body) = read_pdu(&mut s);
    assert_eq!(t, 0x01, "A-ASSOCIATE-RQ over TLS");
    let presented = s.conn.peer_certificates().unwrap()[0].clone();
    let cert = tls::ClientCertificate::from_der(&presented).unwrap();
    assert_eq!(cert.common_name.as_deref(), Some(crate::OUR_AE));
    let mut whole = vec![t, 0];
    whole.extend_from_slice(&(body.len() as u32).to_be_bytes());
    whole.extend_from_slice(&body);
    let Ok(Some(Pdu::AssociationRQ(rq))) =
        dicom_ul::pdu::read_pdu(&whole[..], crate::OUR_MAX_PDU, true)
    else {
        panic!("undecodable A-ASSOCIATE-RQ");
    };
    let pc = &rq.presentation_contexts[0];
    let ac = Pdu::AssociationAC(AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: rq.application_context_name.clone(),
        presentation_contexts: vec![PresentationContextResult {
            id: pc.id,
            reason: PresentationContextResultReason::Acceptance,
            transfer_syntax: crate::IMPLICIT.to_string(),
        }],
        user_variables: vec![UserVariableItem::MaxLength(16384)],
    });
    send(&mut s, &encode(&ac));
    let (cmd, _) = read_message(&mut s, pc.id);
    assert_eq!(
        cmd.command_field().ok(),
        Some(dcmdisc_net::dimse::N_EVENT_REPORT_RQ)
    );
    let id = cmd.u16(dcmdisc_net::dimse::TAG_MESSAGE_ID).unwrap();
    send(
        &mut s,
        &pdata(&[pdv(pc.id, true, true, &event_report_rsp(id, 0))]),
    );
    assert_eq!(read_pdu(&mut s).0, 0x05, "A-RELEASE-RQ");
    send(&mut s, &[0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
}

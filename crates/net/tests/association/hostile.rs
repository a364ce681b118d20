//! Hostile peers (issue 13): a request dribbled under ARTIM, connections that never send a
//! request, floods from one address, a dataset trickled inside an association. Each test
//! ends by what the server does (a close, an A-ABORT, a served association) before a bound
//! on what the peer does (bytes sent), not by measuring time.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use dcmdisc_net::ServerConfig;
use dicom_ul::pdu::Pdu;

use crate::fake::{config, start_config, Server};
use crate::peer::*;
use crate::{CT, IO_TIMEOUT};

/// A connection to `server` from the loopback address `source`.
fn connect_from(server: &Server, source: &str) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let from: SocketAddr = format!("{source}:0").parse().expect("a source address");
    let c = rt
        .block_on(async {
            let s = tokio::net::TcpSocket::new_v4()?;
            s.bind(from)?;
            s.connect(server.addr).await
        })
        .expect("connect")
        .into_std()
        .expect("a std stream");
    c.set_nonblocking(false).expect("blocking");
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    c.set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    c
}

/// Whether the server has closed `c`: a read gives end of file (or a reset) within
/// `wait`; data or silence mean it is open.
fn closed_within(c: &mut TcpStream, wait: Duration) -> bool {
    c.set_read_timeout(Some(wait)).expect("read timeout");
    let mut b = [0u8; 64];
    let closed = match c.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
        ),
    };
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    closed
}

/// Send `bytes` one at a time, `gap` apart, until the server closes the connection or sends
/// a PDU; returns how many were sent and the type of the PDU (None: closed, or all sent).
fn dribble(c: &mut TcpStream, bytes: &[u8], gap: Duration) -> (usize, Option<u8>) {
    c.set_read_timeout(Some(gap)).expect("read timeout");
    let mut first = [0u8; 1];
    let mut outcome = (bytes.len(), None);
    for (i, b) in bytes.iter().enumerate() {
        if c.write_all(&[*b]).is_err() {
            outcome = (i, None);
            break;
        }
        match c.read(&mut first) {
            Ok(0) => outcome = (i + 1, None),
            Ok(_) => outcome = (i + 1, Some(first[0])),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => outcome = (i + 1, None),
        }
        break;
    }
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    outcome
}

/// The rest of a PDU whose type byte has been read; its body.
fn read_rest_of_pdu(c: &mut TcpStream) -> Vec<u8> {
    let mut h = [0u8; 5];
    c.read_exact(&mut h).expect("a PDU header");
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).expect("a PDU body");
    body
}

fn echo_works(c: &mut TcpStream) {
    send(c, &pdata(&[pdv(1, true, true, &echo_rq(7))]));
    assert_eq!(status(&read_response(c, 1)), 0);
}

#[test]
fn artim_is_a_deadline_for_a_dribbled_request() {
    // ARTIM 1 s; one byte every 100 ms would take about 20 s for the whole request.
    let server = start_config(ServerConfig {
        artim_timeout: Duration::from_secs(1),
        ..config(4)
    });
    let mut c = connect(&server);
    let rq = encode(&Pdu::AssociationRQ(standard_request()));
    assert!(rq.len() > 150, "a request of {} bytes", rq.len());
    let (sent, pdu) = dribble(&mut c, &rq, Duration::from_millis(100));
    assert!(
        sent < rq.len() && pdu.is_none(),
        "ARTIM did not close the connection: {sent} of {} bytes sent, then PDU {pdu:?}",
        rq.len()
    );
    // The service goes on.
    let mut c = associated(&server);
    echo_works(&mut c);
}

#[test]
fn connections_that_never_request_hold_no_association_place() {
    let server = start_config(ServerConfig {
        artim_timeout: Duration::from_secs(60),
        ..config(1)
    });
    let _silent: Vec<TcpStream> = (0..3).map(|_| connect(&server)).collect();
    // The pool of one is free for the first real request.
    let mut c = associated(&server);
    echo_works(&mut c);
    // And full for the next: still the transient refusal.
    assert_eq!(rejection(&server, standard_request()), [2, 3, 2]);
    release(&mut c);
}

#[test]
fn pending_connections_beyond_the_limits_are_closed_at_once() {
    // ARTIM 60 s: a close seen within the 10 s read timeout is the limit's, not ARTIM's.
    let server = start_config(ServerConfig {
        artim_timeout: Duration::from_secs(60),
        max_pending_connections: 3,
        max_pending_per_address: 2,
        ..config(4)
    });
    let mut held: Vec<TcpStream> = (0..2).map(|_| connect_from(&server, "127.0.0.1")).collect();
    let mut third = connect_from(&server, "127.0.0.1");
    assert!(
        closed_within(&mut third, IO_TIMEOUT),
        "a third pending connection from one address is still open"
    );
    // Another address is served meanwhile; once accepted it is no longer pending.
    let mut other = connect_from(&server, "127.0.0.2");
    associate_with(&mut other, standard_request());
    echo_works(&mut other);
    // The total: two from 127.0.0.1 and one from 127.0.0.3 fill it.
    held.push(connect_from(&server, "127.0.0.3"));
    let mut over = connect_from(&server, "127.0.0.4");
    assert!(
        closed_within(&mut over, IO_TIMEOUT),
        "a pending connection beyond the total is still open"
    );
    // A pending place is given back when its connection ends (the server notices the close
    // on its own time: a request refused by the limit is tried again).
    drop(held.remove(0));
    let rq = encode(&Pdu::AssociationRQ(standard_request()));
    let mut later = None;
    for _ in 0..50 {
        let mut c = connect_from(&server, "127.0.0.5");
        let mut first = [0u8; 1];
        if c.write_all(&rq).is_ok() && matches!(c.read(&mut first), Ok(1)) {
            later = Some((c, first[0]));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut later, t) = later.expect("no pending place came free after a connection closed");
    assert_eq!(t, 0x02, "expected an A-ASSOCIATE-AC");
    read_rest_of_pdu(&mut later);
    echo_works(&mut later);
    release(&mut other);
}

#[test]
fn a_trickling_dataset_is_aborted() {
    // DIMSE 2 s: a byte every 100 ms never trips it; 10 bytes/s is under the minimum.
    let server = start_config(ServerConfig {
        dimse_timeout: Duration::from_secs(2),
        ..config(4)
    });
    let mut c = associated(&server);
    let data = dataset(200);
    send(
        &mut c,
        &pdata(&[pdv(3, true, true, &store_rq(1, CT, "1.2.3.9", true))]),
    );
    let pdu = pdata(&[pdv(3, false, true, &data)]);
    let (sent, got) = dribble(&mut c, &pdu, Duration::from_millis(100));
    assert!(
        sent < pdu.len(),
        "a dataset at 10 bytes/s was received whole (then PDU {got:?})"
    );
    assert_eq!(
        got,
        Some(0x07),
        "expected an A-ABORT, the connection was closed"
    );
    assert!(stored(&server).is_empty());
    // Others are served.
    let mut c = associated(&server);
    echo_works(&mut c);
}

#[test]
fn a_slow_but_steady_dataset_is_received() {
    // 2000 bytes every 100 ms (about 20 kB/s) for 4.5 s, over two DIMSE timeouts of 2 s.
    let server = start_config(ServerConfig {
        dimse_timeout: Duration::from_secs(2),
        ..config(4)
    });
    let mut c = associated(&server);
    let data = dataset(90_000);
    send(
        &mut c,
        &pdata(&[pdv(3, true, true, &store_rq(1, CT, "1.2.3.10", true))]),
    );
    let pieces: Vec<&[u8]> = data.chunks(2000).collect();
    for (i, piece) in pieces.iter().enumerate() {
        send(
            &mut c,
            &pdata(&[pdv(3, false, i + 1 == pieces.len(), piece)]),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(store_status(&mut c, 1, "1.2.3.10"), 0);
    assert_eq!(stored(&server)["1.2.3.10"], data);
    release(&mut c);
}

#[test]
fn no_minimum_progress_when_it_is_zero() {
    let server = start_config(ServerConfig {
        dimse_timeout: Duration::from_secs(2),
        min_receive_bytes_per_sec: 0,
        ..config(4)
    });
    let mut c = associated(&server);
    let data = dataset(30);
    send(
        &mut c,
        &pdata(&[pdv(3, true, true, &store_rq(1, CT, "1.2.3.11", true))]),
    );
    let pdu = pdata(&[pdv(3, false, true, &data)]);
    // 42 bytes at 10 a second: twice the DIMSE timeout, never silent for one.
    let (last, head) = pdu.split_last().expect("a PDU");
    let (sent, got) = dribble(&mut c, head, Duration::from_millis(100));
    assert_eq!(
        (sent, got),
        (head.len(), None),
        "dropped after {sent} bytes"
    );
    send(&mut c, &[*last]);
    assert_eq!(store_status(&mut c, 1, "1.2.3.11"), 0);
    release(&mut c);
}

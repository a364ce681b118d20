//! The P-DATA phase through the real server: a fixed A-ASSOCIATE-RQ (Verification on context
//! 1, CT Image Storage on 3), then the input as the peer's next bytes, then a half-close. PDU
//! framing, PDV reassembly, command decoding, the dispatcher, C-ECHO, C-STORE with in-place
//! and copied dataset bytes, release and abort all run on the server's own thread, exactly
//! as for a real peer (the association state machine is bound to a TcpStream, so it is fed
//! over loopback). A server that does not close within 20 s is a hang.
#![no_main]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use dcmdisc_fuzz::{association_rq, server_config, Fake};
use libfuzzer_sys::fuzz_target;

static SERVER: OnceLock<SocketAddr> = OnceLock::new();
static RQ: OnceLock<Vec<u8>> = OnceLock::new();

fn start_server() -> SocketAddr {
    // libFuzzer's main is not Rust's: SIGPIPE is not ignored, and a write to a peer that
    // went away would kill the fuzzer instead of failing with EPIPE.
    // SAFETY: setting a signal disposition to SIG_IGN, before any other thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local address: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("non-blocking listener: {e}"));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .unwrap_or_else(|e| panic!("tokio listener: {e}"));
            let _ =
                dcmdisc_net::serve(listener, server_config(), Fake, std::future::pending()).await;
        });
    });
    addr
}

fuzz_target!(|data: &[u8]| {
    let addr = *SERVER.get_or_init(start_server);
    let rq = RQ.get_or_init(association_rq);
    let mut c = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect: {e}"));
    // One write, sent at once: Nagle would hold a second one for the server's ACK.
    c.set_nodelay(true)
        .unwrap_or_else(|e| panic!("TCP_NODELAY: {e}"));
    let mut bytes = Vec::with_capacity(rq.len() + data.len());
    bytes.extend_from_slice(rq);
    bytes.extend_from_slice(data);
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap_or_else(|e| panic!("read timeout: {e}"));
    let mut w = c.try_clone().unwrap_or_else(|e| panic!("clone: {e}"));
    std::thread::scope(|s| {
        // The server answers while we send: read in parallel so neither side blocks.
        s.spawn(move || {
            let _ = w.write_all(&bytes);
            let _ = w.shutdown(Shutdown::Write);
        });
        let mut buf = [0u8; 16384];
        loop {
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("the server did not close the association within 20 s")
                }
                Err(_) => break, // reset: the server closed with our bytes unread
            }
        }
    });
});

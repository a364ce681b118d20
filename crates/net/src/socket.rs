//! Socket habits of an association: quick ACKs on the receiving side, what a read timeout
//! means, and the lingering close after our last PDU.

use std::io::{self, ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::association::End;
use crate::pdu;

/// The receiving side of an association socket. Linux leaves quick-ACK mode on its own; we
/// re-arm it before every receive, so that whatever we have read is acknowledged at once. A
/// sender with Nagle on (dcmtk's storescu) holds the rest of a PDU until its first segment is
/// acknowledged; with delayed ACKs that costs ~40 ms per message.
pub(crate) struct QuickAck(pub(crate) TcpStream);

impl Read for QuickAck {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        quickack(&self.0);
        let n = self.0.read(buf)?;
        // Whatever arrived is ACKed now, not at the delayed-ACK timer.
        quickack(&self.0);
        Ok(n)
    }
}

#[cfg(target_os = "linux")]
fn quickack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: plain setsockopt on a socket we own, with a correctly sized int option.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn quickack(_stream: &TcpStream) {}

/// After our last PDU, give the peer the ARTIM time to close the transport first (PS3.8
/// 9.2.3), so that it reads everything we sent rather than a reset.
pub(crate) fn linger_close(reader: &mut impl Read, stream: &TcpStream, artim: Duration) {
    let _ = stream.set_read_timeout(Some(artim));
    let deadline = Instant::now() + artim;
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// A read error's description, with a timeout (the socket's read timeout is the running
/// timer) named after that timer.
pub(crate) fn io_reason(e: &io::Error, timeout: &str) -> String {
    if is_timeout(e) {
        timeout.to_string()
    } else {
        e.to_string()
    }
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// A read failing inside a PDU: a timeout is the peer's fault (abort), anything else means
/// the connection is gone.
fn read_error(e: &io::Error) -> End {
    if is_timeout(e) {
        End::Abort(
            pdu::ABORT_REASON_NOT_SPECIFIED,
            "DIMSE timeout inside a PDU".into(),
        )
    } else {
        End::Gone(e.to_string())
    }
}

pub(crate) fn read_in(reader: &mut impl Read, buf: &mut [u8]) -> Result<(), End> {
    reader.read_exact(buf).map_err(|e| read_error(&e))
}

/// Read at least one byte into `buf`.
pub(crate) fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, End> {
    loop {
        match reader.read(buf) {
            Ok(0) => return Err(End::Gone("peer closed the connection inside a PDU".into())),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(&e)),
        }
    }
}

//! The byte stream under an association: a TCP socket, or a rustls session on one.
//!
//! The association code reads through `Inbound` (its own clone of the socket, for timeouts,
//! quick ACKs and shutdown) and writes through a [`Link`]. A plain connection is two handles
//! of one socket, as before: a read and a write are each one system call, with one `match`
//! in front. A TLS connection is one rustls session behind a mutex that both sides share;
//! the connection's thread is the only user, so the lock is never contended, and the
//! socket's read timeout (set by `Inbound` from ARTIM or the DIMSE timer) bounds every
//! read rustls makes. Chosen over a generic connection (every service and the state
//! machine would carry a type parameter) and over a TLS thread bridging to a socketpair (a
//! second thread, a copy of every byte, and timers that would see the bridge, not the peer).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A rustls session (server or client side) and its socket, driven by hand: each step makes
/// at most one system call, so the caller's timers stay in charge.
pub(crate) struct TlsConn {
    conn: rustls::Connection,
    sock: TcpStream,
}

impl TlsConn {
    pub(crate) fn new(conn: impl Into<rustls::Connection>, sock: TcpStream) -> Self {
        TlsConn {
            conn: conn.into(),
            sock,
        }
    }

    pub(crate) fn connection(&self) -> &rustls::Connection {
        &self.conn
    }

    /// Send what rustls has queued (records, alerts).
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        Ok(())
    }

    /// Complete the handshake by `deadline` (the socket's read and write timeouts are set to
    /// the time left before each step; the write timeout is `write_timeout` afterwards). A
    /// failure has been answered with an alert.
    pub(crate) fn handshake(
        &mut self,
        deadline: Instant,
        write_timeout: Option<Duration>,
    ) -> io::Result<()> {
        let r = self.handshake_steps(deadline);
        let _ = self.sock.set_write_timeout(write_timeout);
        r
    }

    fn handshake_steps(&mut self, deadline: Instant) -> io::Result<()> {
        while self.conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(ErrorKind::TimedOut, "ARTIM timeout"));
            }
            self.sock.set_write_timeout(Some(left))?;
            self.flush_tls()?;
            if !self.conn.is_handshaking() {
                break;
            }
            self.sock.set_read_timeout(Some(left))?;
            if self.conn.read_tls(&mut self.sock)? == 0 {
                return Err(ErrorKind::UnexpectedEof.into());
            }
            if let Err(e) = self.conn.process_new_packets() {
                let _ = self.flush_tls();
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
        }
        self.flush_tls()
    }

    /// Plaintext into `buf`, or `None` after one socket read that completed no record (so
    /// the caller can look at its deadline again). `Some(0)`: the peer closed.
    pub(crate) fn read_step(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.conn.reader().read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            // Closed without close_notify: for us, as on TCP, the peer is gone.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(Some(0)),
            Err(e) => return Err(e),
        }
        if self.conn.read_tls(&mut self.sock)? == 0 {
            return Ok(Some(0));
        }
        let state = match self.conn.process_new_packets() {
            Ok(s) => s,
            Err(e) => {
                let _ = self.flush_tls();
                return Err(io::Error::new(ErrorKind::InvalidData, e));
            }
        };
        // A key update or other post-handshake message may want an answer.
        self.flush_tls()?;
        if state.plaintext_bytes_to_read() == 0 && !state.peer_has_closed() {
            return Ok(None);
        }
        match self.conn.reader().read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(Some(0)),
            Err(e) => Err(e),
        }
    }

    /// Whether decrypted bytes wait to be read (received, not yet handed to the reader).
    pub(crate) fn holds_plaintext(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .is_ok_and(|s| s.plaintext_bytes_to_read() > 0)
    }

    /// Encrypt and send all of `bytes`.
    pub(crate) fn send(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = self.conn.writer().write(bytes)?;
            bytes = &bytes[n..];
            self.flush_tls()?;
            if n == 0 && !bytes.is_empty() && !self.conn.wants_write() {
                return Err(ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Our close_notify, sent before the socket is shut down.
    pub(crate) fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_tls();
    }
}

/// Blocking `Read`/`Write` over a whole session, for the outgoing association (its reads are
/// bounded by the socket's timeouts alone).
impl Read for TlsConn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(n) = self.read_step(buf)? {
                return Ok(n);
            }
        }
    }
}

impl Write for TlsConn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}

pub(crate) type SharedTls = Arc<Mutex<TlsConn>>;

pub(crate) fn lock(tls: &SharedTls) -> io::Result<MutexGuard<'_, TlsConn>> {
    tls.lock()
        .map_err(|_| io::Error::other("TLS session poisoned by a panic"))
}

/// The writing side of a connection.
pub(crate) enum Link {
    Plain(TcpStream),
    Tls(SharedTls),
}

impl Link {
    pub(crate) fn send(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Link::Plain(s) => (&*s).write_all(bytes),
            Link::Tls(t) => lock(t)?.send(bytes),
        }
    }
}

/// `Write` on a shared reference, as `&TcpStream` has: the state machine and the services
/// write through `&Link`.
impl Write for &Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

//! Socket habits of an association: quick ACKs on the receiving side, the timers that are
//! about the peer's pace (ARTIM as a deadline, the minimum progress of a message in
//! progress), what a read timeout means, and the lingering close after our last PDU.

use std::io::{self, BufReader, ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::association::End;
use crate::link::{lock, SharedTls};
use crate::pdu;

/// The receiving side of an association socket; every receive goes through here (under a
/// `BufReader`, so once per system call, never per byte).
///
/// Linux leaves quick-ACK mode on its own; we re-arm it before every receive, so that whatever
/// we have read is acknowledged at once. A sender with Nagle on (dcmtk's storescu) holds the
/// rest of a PDU until its first segment is acknowledged; with delayed ACKs that costs ~40 ms
/// per message.
pub(crate) struct Inbound {
    stream: TcpStream,
    /// On the TLS port: the session (shared with the writing side) whose plaintext we read;
    /// its reads go to `stream`'s socket, under the same timeouts.
    tls: Option<SharedTls>,
    /// ARTIM is a deadline (PS3.8 9.1.5), not an idle timer: while set, each receive waits at
    /// most until then, so a peer dribbling bytes cannot keep the timer from expiring.
    deadline: Option<Instant>,
    pace: Pace,
}

impl Inbound {
    /// `min_bytes_per_sec` over `window` of waiting is the least progress a message in
    /// progress must make (0: no minimum); see [`Inbound::between_messages`].
    pub(crate) fn new(stream: TcpStream, min_bytes_per_sec: u64, window: Duration) -> Self {
        Inbound {
            stream,
            tls: None,
            deadline: None,
            pace: Pace::new(min_bytes_per_sec, window),
        }
    }

    /// Read the plaintext of this TLS session (over `stream`'s socket).
    pub(crate) fn with_tls(mut self, tls: SharedTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Every receive from now on ends by `deadline` (a timeout error once it has passed); no
    /// minimum progress.
    pub(crate) fn until(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
        self.pace.off();
    }

    /// From now on a receive times out after `idle` without a byte (the DIMSE timer), and
    /// the minimum progress rule applies to messages.
    pub(crate) fn idle_timeout(&mut self, idle: Duration) -> io::Result<()> {
        self.deadline = None;
        self.pace.between_messages();
        self.stream.set_read_timeout(Some(idle))
    }

    /// The association is between messages: waiting for the next one is idle time (the
    /// DIMSE timer's business); the progress rule starts again with its first byte.
    pub(crate) fn between_messages(&mut self) {
        self.pace.between_messages();
    }

    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Whether bytes of the peer's are held here, above the socket (a TLS session's
    /// decrypted records; never on plain TCP).
    pub(crate) fn holds_more(&self) -> bool {
        match &self.tls {
            None => false,
            Some(t) => lock(t).is_ok_and(|mut t| t.holds_plaintext()),
        }
    }

    /// Our close_notify on a TLS session (nothing on plain TCP).
    fn close_tls(&self) {
        if let Some(t) = &self.tls {
            if let Ok(mut t) = lock(t) {
                t.close();
            }
        }
    }

    /// One receive: a system call on plain TCP; on TLS, socket reads until a record yields
    /// plaintext, each under the deadline's time left.
    fn receive(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &self.tls else {
            return self.stream.read(buf);
        };
        let mut tls = lock(tls)?;
        loop {
            if let Some(n) = tls.read_step(buf)? {
                return Ok(n);
            }
            if let Some(deadline) = self.deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(ErrorKind::TimedOut.into());
                }
                self.stream.set_read_timeout(Some(left))?;
            }
            quickack(&self.stream);
        }
    }
}

impl Read for Inbound {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ErrorKind::TimedOut.into());
            }
            self.stream.set_read_timeout(Some(left))?;
        }
        let started = self.pace.running().then(Instant::now);
        quickack(&self.stream);
        let n = self.receive(buf)?;
        // Whatever arrived is ACKed now, not at the delayed-ACK timer.
        quickack(&self.stream);
        let waited = started.map(|t| t.elapsed()).unwrap_or_default();
        self.pace.account(n, waited).map_err(io::Error::other)?;
        Ok(n)
    }
}

/// A message in progress advanced too slowly: the peer holds an association slot without
/// using it (a trickling P-DATA), and is dropped.
#[derive(Debug, thiserror::Error)]
#[error(
    "message in progress too slow: {bytes} bytes in {:.1} s of waiting, under the minimum of \
     {min} bytes/s",
    waited.as_secs_f64()
)]
pub(crate) struct TooSlow {
    bytes: u64,
    waited: Duration,
    min: u64,
}

/// The minimum progress of a message in progress. What counts is the time spent waiting for
/// the peer inside receives (not the time we spend writing to disk or answering), summed from
/// the message's first byte; each time it reaches `window`, the bytes received meanwhile must
/// be at least `min_bytes_per_sec` times that wait, and a new window starts.
#[derive(Debug)]
struct Pace {
    min_bytes_per_sec: u64,
    window: Duration,
    state: PaceState,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PaceState {
    /// Not measured: establishment, the lingering close, or no minimum configured.
    Off,
    /// Between messages: the next byte starts a window.
    Between,
    Running {
        bytes: u64,
        waited: Duration,
    },
}

impl Pace {
    fn new(min_bytes_per_sec: u64, window: Duration) -> Self {
        Pace {
            min_bytes_per_sec,
            window,
            state: PaceState::Off,
        }
    }

    fn off(&mut self) {
        self.state = PaceState::Off;
    }

    fn between_messages(&mut self) {
        if self.min_bytes_per_sec > 0 && !self.window.is_zero() {
            self.state = PaceState::Between;
        }
    }

    fn running(&self) -> bool {
        matches!(self.state, PaceState::Running { .. })
    }

    /// `n` bytes arrived after `waited` in the receive.
    fn account(&mut self, n: usize, waited: Duration) -> Result<(), TooSlow> {
        match &mut self.state {
            PaceState::Off => {}
            PaceState::Between => {
                // The wait for a message's first byte is idle time: not counted.
                if n > 0 {
                    self.state = PaceState::Running {
                        bytes: n as u64,
                        waited: Duration::ZERO,
                    };
                }
            }
            PaceState::Running { bytes, waited: sum } => {
                *bytes += n as u64;
                *sum += waited;
                if *sum >= self.window {
                    let need = u128::from(self.min_bytes_per_sec) * sum.as_millis();
                    if u128::from(*bytes) * 1000 < need {
                        return Err(TooSlow {
                            bytes: *bytes,
                            waited: *sum,
                            min: self.min_bytes_per_sec,
                        });
                    }
                    *bytes = 0;
                    *sum = Duration::ZERO;
                }
            }
        }
        Ok(())
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
/// 9.2.3), so that it reads everything we sent rather than a reset. ARTIM is a deadline here
/// too: whatever the peer keeps sending, we close when it expires.
pub(crate) fn linger_close(reader: &mut BufReader<Inbound>, artim: Duration) {
    // On TLS our last PDU is followed by close_notify: the session ends cleanly either way.
    reader.get_ref().close_tls();
    reader.get_mut().until(Instant::now() + artim);
    let mut sink = [0u8; 4096];
    loop {
        match reader.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = reader.get_ref().stream().shutdown(Shutdown::Both);
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

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// How a failed read ends the association: a timeout (named `timer`) or a message too slow
/// is the peer's fault (abort), anything else means the connection is gone.
pub(crate) fn read_end(e: &io::Error, timer: &str) -> End {
    if let Some(slow) = e.get_ref().and_then(|i| i.downcast_ref::<TooSlow>()) {
        End::Abort(pdu::ABORT_REASON_NOT_SPECIFIED, slow.to_string())
    } else if is_timeout(e) {
        End::Abort(pdu::ABORT_REASON_NOT_SPECIFIED, timer.into())
    } else {
        End::Gone(e.to_string())
    }
}

/// A read failing inside a PDU.
fn read_error(e: &io::Error) -> End {
    read_end(e, "DIMSE timeout inside a PDU")
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

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_message_under_the_minimum_rate_is_too_slow_after_one_window() {
        let mut p = Pace::new(1024, 3 * SEC);
        p.between_messages();
        // The wait for the first byte is idle time, however long.
        p.account(1, 100 * SEC).unwrap();
        // A trickle: one byte a second, refused once three seconds of waiting add up.
        p.account(1, SEC).unwrap();
        p.account(1, SEC).unwrap();
        let slow = p.account(1, SEC).unwrap_err();
        assert_eq!((slow.bytes, slow.waited, slow.min), (4, 3 * SEC, 1024));
    }

    #[test]
    fn a_message_at_the_minimum_rate_goes_on_window_after_window() {
        let mut p = Pace::new(1024, 2 * SEC);
        p.between_messages();
        p.account(10, Duration::ZERO).unwrap();
        for _ in 0..10 {
            p.account(1024, SEC).unwrap();
            p.account(1024, SEC).unwrap();
        }
        // A burst then a pause inside one window is fine too.
        p.account(1 << 20, Duration::from_millis(1)).unwrap();
        p.account(1, 2 * SEC).unwrap();
        // Each window is judged on its own: the burst does not pay for the next one.
        p.account(1, SEC).unwrap();
        assert!(p.account(1, SEC).is_err());
    }

    #[test]
    fn between_messages_and_off_nothing_is_measured() {
        let mut p = Pace::new(1024, SEC);
        p.account(1, 10 * SEC).unwrap();
        p.between_messages();
        p.account(0, 10 * SEC).unwrap();
        p.account(1, 10 * SEC).unwrap();
        p.between_messages();
        p.account(1, 10 * SEC).unwrap();
        p.off();
        p.account(1, 10 * SEC).unwrap();
        p.account(1, 10 * SEC).unwrap();
        // No minimum configured: never armed.
        let mut p = Pace::new(0, SEC);
        p.between_messages();
        for _ in 0..3 {
            p.account(1, 10 * SEC).unwrap();
        }
    }
}

//! Running an external burner program (xorriso, a robot's client, a site script): never
//! through a shell, always with an argument vector; stdout and stderr read line by line as
//! they come (progress), each line cut at `MAX_LINE` bytes and only the last `KEPT_LINES` of
//! each stream kept (the program's output is outside bytes: it cannot make us hold more);
//! a deadline, and the shutdown signal, kill the program's whole process group (a script's
//! children too) and say so; the program is killed by the kernel when dcmdisc dies (kill -9).

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::shutdown::Shutdown;

/// Longest line kept; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 4096;
/// Lines kept per stream (the last ones).
pub const KEPT_LINES: usize = 200;
/// How long the output of a program that has exited is still read (a child it left behind
/// may hold the pipes open).
const DRAIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Exited(ExitStatus),
    /// Killed at the deadline.
    TimedOut,
    /// Killed by the shutdown signal.
    Stopped,
}

#[derive(Debug)]
pub struct Output {
    pub end: End,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        matches!(self.end, End::Exited(s) if s.success())
    }

    pub fn code(&self) -> Option<i32> {
        match self.end {
            End::Exited(s) => s.code(),
            _ => None,
        }
    }

    /// Both streams, stdout first.
    pub fn all_lines(&self) -> impl Iterator<Item = &str> {
        self.stdout
            .iter()
            .chain(self.stderr.iter())
            .map(String::as_str)
    }
}

/// Splits a byte stream into lines at `\n` or `\r` (progress lines are often ended by a
/// carriage return only), each at most `MAX_LINE` bytes, lossy UTF-8.
#[derive(Default)]
pub struct LineSplitter {
    line: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, bytes: &[u8], out: &mut dyn FnMut(String)) {
        for &b in bytes {
            if b == b'\n' || b == b'\r' {
                if !self.line.is_empty() {
                    out(String::from_utf8_lossy(&self.line).into_owned());
                    self.line.clear();
                }
            } else if self.line.len() < MAX_LINE {
                self.line.push(b);
            }
        }
    }

    pub fn finish(&mut self, out: &mut dyn FnMut(String)) {
        if !self.line.is_empty() {
            out(String::from_utf8_lossy(&self.line).into_owned());
            self.line.clear();
        }
    }
}

fn reader(
    mut from: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, String)>,
) {
    std::thread::spawn(move || {
        let mut split = LineSplitter::default();
        let mut buf = [0u8; 8192];
        let mut send = |l: String| {
            let _ = tx.send((stream, l));
        };
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => split.push(&buf[..n], &mut send),
            }
        }
        split.finish(&mut send);
    });
}

fn kill_group(child: &Child) {
    // The child leads its own process group (`process_group(0)`), so this reaches what it
    // started too. A group already gone answers ESRCH, which is what we want.
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is
        // touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn keep(lines: &mut Vec<String>, line: String) {
    if lines.len() == KEPT_LINES {
        lines.remove(0);
    }
    lines.push(line);
}

/// Runs `argv` (program first) until it exits, `timeout` passes or `stop` is triggered;
/// `on_line` sees every line as it arrives.
pub fn run(
    argv: &[OsString],
    timeout: Duration,
    stop: &Shutdown,
    on_line: &mut dyn FnMut(Stream, &str),
) -> io::Result<Output> {
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no program"));
    };
    // SAFETY: getpid(2) is async-signal-safe and touches no memory.
    let parent = unsafe { libc::getpid() };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid), no
    // allocation. A burner program must not outlive dcmdisc: killed with -9, dcmdisc could
    // not stop it, and after the restart a second burn would start beside it (the same
    // drive, the same robot). So the kernel kills it when its parent goes; if the parent is
    // already gone when that is set up, it does not start at all.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::other("dcmdisc is gone"));
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        reader(out, Stream::Stdout, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        reader(err, Stream::Stderr, tx);
    }
    let deadline = Instant::now() + timeout;
    let mut output = Output {
        end: End::Stopped,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let mut exited: Option<(ExitStatus, Instant)> = None;
    let mut killed: Option<End> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((stream, line)) => {
                on_line(stream, &line);
                match stream {
                    Stream::Stdout => keep(&mut output.stdout, line),
                    Stream::Stderr => keep(&mut output.stderr, line),
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some((status, _)) = exited {
                    output.end = killed.unwrap_or(End::Exited(status));
                    break;
                }
                // Both streams closed, the program not reaped yet: do not spin.
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if exited.is_none() {
            if let Some(status) = child.try_wait()? {
                exited = Some((status, Instant::now()));
            }
        }
        match exited {
            Some((status, at)) if at.elapsed() > DRAIN => {
                output.end = killed.unwrap_or(End::Exited(status));
                break;
            }
            Some(_) => {}
            None if killed.is_none() && stop.is_triggered() => {
                kill_group(&child);
                killed = Some(End::Stopped);
            }
            None if killed.is_none() && Instant::now() >= deadline => {
                kill_group(&child);
                killed = Some(End::TimedOut);
            }
            None => {}
        }
    }
    // Whatever the program left running is ours to end.
    kill_group(&child);
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn lines_are_split_at_newlines_and_returns_and_cut() {
        let mut got = Vec::new();
        let mut s = LineSplitter::default();
        let long = vec![b'x'; MAX_LINE + 10];
        s.push(b"a\r\nb\rc", &mut |l| got.push(l));
        s.push(b"d\n", &mut |l| got.push(l));
        s.push(&long, &mut |l| got.push(l));
        s.finish(&mut |l| got.push(l));
        assert_eq!(&got[..3], ["a", "b", "cd"]);
        assert_eq!(got[3].len(), MAX_LINE);
    }

    #[test]
    fn exit_status_and_both_streams_are_reported() {
        let mut seen = 0;
        let out = run(
            &argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(30),
            &Shutdown::new(),
            &mut |_, _| seen += 1,
        )
        .unwrap();
        assert_eq!(out.code(), Some(3));
        assert_eq!(out.stdout, ["out"]);
        assert_eq!(out.stderr, ["err"]);
        assert_eq!(seen, 2);
    }

    #[test]
    fn the_program_is_set_to_die_with_dcmdisc() {
        // prctl(PR_GET_PDEATHSIG) as the program sees it: SIGKILL (9), so a kill -9 of
        // dcmdisc leaves no burn running on (the interop test kills a real server:
        // tests/interop/test_job_crashes.py, the command burner).
        let code = "import ctypes; s = ctypes.c_int(); \
                    ctypes.CDLL(None).prctl(2, ctypes.byref(s)); print(s.value)";
        let out = run(
            &argv(&["python3", "-c", code]),
            Duration::from_secs(30),
            &Shutdown::new(),
            &mut |_, _| {},
        )
        .unwrap();
        assert!(out.success(), "{:?}", out.stderr);
        assert_eq!(out.stdout, ["9"]);
    }

    /// Whether process `pid` is gone (or a zombie nobody reaped yet).
    fn gone(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        }
    }

    #[test]
    fn the_deadline_kills_the_program() {
        let out = run(
            &argv(&["sh", "-c", "sleep 30; echo late"]),
            Duration::from_millis(300),
            &Shutdown::new(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(out.end, End::TimedOut);
        assert!(out.stdout.is_empty());
    }

    #[test]
    fn the_stop_kills_the_whole_group() {
        // The script's child `sleep` would outlive a kill of the shell alone. The stop comes
        // when the script has said its child's pid.
        let stop = Shutdown::new();
        let mut pid = String::new();
        let out = run(
            &argv(&["sh", "-c", "sleep 30 & echo $!; wait; echo late"]),
            Duration::from_secs(60),
            &stop,
            &mut |_, l| {
                pid = l.to_string();
                stop.trigger();
            },
        )
        .unwrap();
        assert_eq!(out.end, End::Stopped);
        assert_eq!(out.stdout, [pid.clone()], "nothing after the kill");
        assert!(gone(&pid), "the script's child {pid} was killed with it");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(run(
            &argv(&["/nonexistent/program"]),
            Duration::from_secs(1),
            &Shutdown::new(),
            &mut |_, _| {}
        )
        .is_err());
    }
}

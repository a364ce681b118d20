//! The drive burner: a real optical drive through xorriso (or a file as xorriso's `stdio:`
//! pseudo-drive). Per disc: probe the medium (`-toc -tell_media_space`); refuse what is not
//! blank (a written rewritable disc is blanked first when `blank_rewritable` is on), and a
//! disc too small for the image; write the image verbatim (`-as cdrecord -v dev=... image`,
//! which writes the file as it is, padding after it), with progress from xorriso's
//! `N of M MB written` lines; verify by reading the image's length back from the device and
//! comparing its SHA-256; eject (also after a reject, so the operator sees which disc to
//! take away and the next can be loaded). Every xorriso call is an argument vector with a
//! deadline, killed at shutdown (`process.rs`).

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::process::{self, End, Output};
use super::xorriso_report::{failure_reason, parse_medium, parse_progress, Medium, MediumState};
use super::{hex, BurnError, Burner, DiscId, Written};
use crate::config::jobs::{BurnerConfig, BurnerKind};
use crate::shutdown::Shutdown;

/// A probe, a blank's check or an eject: what a drive answers in well under this.
const SHORT_CALL: Duration = Duration::from_secs(120);

pub struct DriveBurner {
    name: String,
    device: String,
    xorriso: PathBuf,
    blank_rewritable: bool,
    eject: bool,
    speed: Option<u32>,
    timeout: Duration,
    /// The byte length of the image last written, for its verify.
    written_len: Option<u64>,
    /// The stop signal of the last burn: its verify and eject end at shutdown too.
    stop: Shutdown,
}

/// What the verify reads: the file behind a `stdio:` pseudo-drive, else the device node.
fn readable_path(device: &str) -> PathBuf {
    PathBuf::from(device.strip_prefix("stdio:").unwrap_or(device))
}

/// The SHA-256 of the first `len` bytes of `path`; `Err` with the reason when they cannot be
/// read (a short disc included).
fn sha256_prefix(path: &Path, len: u64) -> Result<String, String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = f
            .read(&mut buf[..want])
            .map_err(|e| format!("read error after {} bytes: {e}", len - left))?;
        if n == 0 {
            return Err(format!(
                "the disc ends after {} bytes, the image has {len}",
                len - left
            ));
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hex(&h.finalize()))
}

impl DriveBurner {
    pub fn new(cfg: &BurnerConfig) -> DriveBurner {
        DriveBurner {
            name: cfg.name.clone(),
            device: cfg.device.clone().unwrap_or_default(),
            xorriso: cfg
                .xorriso
                .clone()
                .unwrap_or_else(|| PathBuf::from("xorriso")),
            blank_rewritable: cfg.blank_rewritable.unwrap_or(false),
            eject: cfg.eject.unwrap_or(true),
            speed: cfg.speed,
            timeout: cfg.timeout(),
            written_len: None,
            stop: Shutdown::new(),
        }
    }

    fn argv(&self, args: &[&str]) -> Vec<OsString> {
        let mut v = vec![self.xorriso.clone().into_os_string()];
        v.extend(args.iter().map(OsString::from));
        v
    }

    /// Runs xorriso; a failure to start it, or its deadline, is the burner's failure.
    fn call(
        &self,
        what: &str,
        argv: Vec<OsString>,
        timeout: Duration,
        stop: &Shutdown,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Output, BurnError> {
        let out = process::run(&argv, timeout, stop, &mut |_, l| on_line(l)).map_err(|e| {
            BurnError::Failed(format!(
                "drive {}: cannot run {}: {e}",
                self.name,
                self.xorriso.display()
            ))
        })?;
        match out.end {
            End::Stopped => Err(BurnError::Stopped),
            End::TimedOut => Err(BurnError::Failed(format!(
                "drive {}: xorriso did not finish {what} on {} within {} s (killed)",
                self.name,
                self.device,
                timeout.as_secs()
            ))),
            End::Exited(_) => Ok(out),
        }
    }

    /// The medium in the drive now.
    pub fn probe(&self, stop: &Shutdown) -> Result<Medium, BurnError> {
        let argv = self.argv(&[
            "-pkt_output",
            "on",
            "-outdev",
            &self.device,
            "-toc",
            "-tell_media_space",
        ]);
        let out = self.call("its probe", argv, SHORT_CALL, stop, &mut |_| {})?;
        let medium = parse_medium(out.all_lines());
        if medium.state == MediumState::None {
            return Ok(medium);
        }
        if !out.success() {
            let why = failure_reason(out.all_lines())
                .unwrap_or_else(|| format!("exit status {:?}", out.code()));
            return Err(BurnError::Failed(format!(
                "drive {}: xorriso cannot read {}: {why}",
                self.name, self.device
            )));
        }
        Ok(medium)
    }

    fn blank(&self, stop: &Shutdown) -> Result<Medium, BurnError> {
        info!(burner = %self.name, "blanking the rewritable disc");
        let argv = self.argv(&[
            "-pkt_output",
            "on",
            "-outdev",
            &self.device,
            "-blank",
            "as_needed",
        ]);
        let out = self.call("blanking", argv, self.timeout, stop, &mut |_| {})?;
        if !out.success() {
            let why = failure_reason(out.all_lines()).unwrap_or_else(|| "no reason given".into());
            return Err(BurnError::Rejected(format!(
                "the rewritable disc could not be blanked: {why}"
            )));
        }
        self.probe(stop)
    }

    fn eject_disc(&self) {
        if !self.eject {
            return;
        }
        let argv = self.argv(&[
            "-pkt_output",
            "on",
            "-outdev",
            &self.device,
            "-eject",
            "all",
        ]);
        match self.call("the eject", argv, SHORT_CALL, &self.stop, &mut |_| {}) {
            Ok(out) if out.success() => {}
            Ok(out) => warn!(
                burner = %self.name,
                "eject failed: {}",
                failure_reason(out.all_lines()).unwrap_or_default()
            ),
            Err(e) => warn!(burner = %self.name, "eject failed: {e}"),
        }
    }

    /// A reject, with the disc ejected.
    fn reject(&self, why: String) -> BurnError {
        self.eject_disc();
        BurnError::Rejected(why)
    }

    /// Whether the medium can take `len` bytes now (blanking it first when allowed).
    fn take(&self, mut m: Medium, len: u64, stop: &Shutdown) -> Result<(), BurnError> {
        match m.state {
            MediumState::None => {
                return Err(BurnError::NoDisc(format!(
                    "drive {} ({}) has no disc",
                    self.name, self.device
                )))
            }
            MediumState::Unreadable => {
                return Err(self.reject(format!(
                    "the disc cannot be read (medium {:?})",
                    m.media_type
                )))
            }
            MediumState::Appendable | MediumState::Closed
                if m.rewritable && self.blank_rewritable =>
            {
                m = self.blank(stop)?;
                if m.state != MediumState::Blank {
                    return Err(self.reject(format!(
                        "the rewritable disc is still {} after blanking",
                        m.state.name()
                    )));
                }
            }
            MediumState::Appendable | MediumState::Closed => {
                let hint = if m.rewritable {
                    " (rewritable: set blank_rewritable = true to blank such discs)"
                } else {
                    ""
                };
                return Err(self.reject(format!(
                    "the disc is already written ({}, {}){hint}",
                    m.state.name(),
                    m.media_type
                )));
            }
            MediumState::Blank => {}
        }
        if let Some(free) = m.free_bytes {
            if free < len {
                return Err(self.reject(format!(
                    "the disc is too small: {free} bytes free, the image has {len} ({})",
                    m.media_type
                )));
            }
        }
        Ok(())
    }
}

impl Burner for DriveBurner {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BurnerKind {
        BurnerKind::Drive
    }

    fn ready(&self) -> Result<(), BurnError> {
        match self.probe(&Shutdown::new())?.state {
            MediumState::None => Err(BurnError::NoDisc(format!(
                "drive {} ({}) has no disc",
                self.name, self.device
            ))),
            _ => Ok(()),
        }
    }

    fn burn(
        &mut self,
        image: &Path,
        _disc: &DiscId,
        stop: &Shutdown,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Written, BurnError> {
        self.written_len = None;
        self.stop = stop.clone();
        let len = std::fs::metadata(image)
            .map_err(|e| BurnError::Failed(format!("cannot read {}: {e}", image.display())))?
            .len();
        let medium = self.probe(stop)?;
        self.take(medium, len, stop)?;
        let dev = format!("dev={}", self.device);
        let speed = self.speed.map(|s| format!("speed={s}"));
        // Ours, absolute in practice; "./" keeps a relative one from reading as an option.
        let image_arg = if image.is_absolute() {
            image.as_os_str().to_owned()
        } else {
            Path::new(".").join(image).into_os_string()
        };
        let mut argv = self.argv(&["-as", "cdrecord", "-v", &dev]);
        argv.extend(speed.map(OsString::from));
        argv.push(image_arg);
        let out = self.call("the burn", argv, self.timeout, stop, &mut |l| {
            if let Some(p) = parse_progress(l) {
                progress(p);
            }
        })?;
        if !out.success() {
            let why = failure_reason(out.all_lines())
                .or_else(|| out.stderr.last().cloned())
                .unwrap_or_else(|| format!("exit status {:?}", out.code()));
            return Err(self.reject(format!("writing the disc failed: {why}")));
        }
        self.written_len = Some(len);
        Ok(Written {
            image: readable_path(&self.device),
        })
    }

    fn verify(&mut self, written: &Written, sha256: &str) -> Result<(), BurnError> {
        let Some(len) = self.written_len.take() else {
            return Err(BurnError::Failed("verify without a burn".into()));
        };
        // A damaged disc can stall a read for minutes: the read runs on its own thread and
        // is given up at the deadline or the shutdown (the thread ends when the drive
        // answers).
        let (tx, rx) = mpsc::channel();
        let path = written.image.clone();
        std::thread::spawn(move || {
            let _ = tx.send(sha256_prefix(&path, len));
        });
        let deadline = std::time::Instant::now() + self.timeout;
        let answer = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(a) => break Some(a),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Some(Err("the read stopped".to_string()))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if self.stop.is_triggered() {
                return Err(BurnError::Stopped);
            }
            if std::time::Instant::now() >= deadline {
                break None;
            }
        };
        let result = match answer {
            Some(Ok(got)) if got == sha256 => Ok(()),
            Some(Ok(got)) => Err(BurnError::Rejected(format!(
                "verification failed: the disc reads back with SHA-256 {got}, the image has \
                 {sha256}"
            ))),
            Some(Err(why)) => Err(BurnError::Rejected(format!(
                "reading the disc back failed: {why}"
            ))),
            None => Err(BurnError::Rejected(format!(
                "reading the disc back did not finish within {} s",
                self.timeout.as_secs()
            ))),
        };
        self.eject_disc();
        result
    }
}

#[cfg(test)]
mod tests;

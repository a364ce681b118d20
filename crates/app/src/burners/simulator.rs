//! The simulator burner: a stack of discs from the config (`blank`, `written`, `faulty`,
//! `bad-verify`), a write speed (a verify's read-back takes as long), and a folder where
//! every disc taken leaves its bytes (`discNNNN.iso`) and its label (`discNNNN.label`,
//! "REJECT: why" for a rejected one).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{verify_file, BurnError, Burner, DiscId, Written};
use crate::config::jobs::{BurnerKind, SimDisc};
use crate::shutdown::Shutdown;

pub struct SimulatorBurner {
    name: String,
    dir: PathBuf,
    discs: Vec<SimDisc>,
    speed_mb_s: u64,
    /// Index of the next disc in `discs`.
    next: usize,
    /// The disc in the drive since the last `burn` (its kind and number).
    current: Option<(SimDisc, usize)>,
    /// The stop signal of the last `burn`, which its verify heeds too.
    stop: Shutdown,
}

impl SimulatorBurner {
    pub fn new(
        name: &str,
        dir: PathBuf,
        discs: Vec<SimDisc>,
        speed_mb_s: u64,
        taken: usize,
    ) -> SimulatorBurner {
        SimulatorBurner {
            name: name.to_string(),
            dir,
            discs,
            speed_mb_s,
            next: taken,
            current: None,
            stop: Shutdown::new(),
        }
    }

    fn disc_path(&self, n: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("disc{:04}.{ext}", n + 1))
    }

    fn label(&self, n: usize, text: &str) {
        let _ = fs::create_dir_all(&self.dir);
        let _ = fs::write(self.disc_path(n, "label"), format!("{text}\n"));
    }

    fn reject(&self, n: usize, why: &str) -> BurnError {
        self.label(n, &format!("REJECT: {why}"));
        BurnError::Rejected(why.to_string())
    }

    /// Writes at the configured speed, checking `stop` between chunks.
    fn write(
        &self,
        image: &Path,
        to: &Path,
        stop: &Shutdown,
        progress: &mut dyn FnMut(f64),
    ) -> Result<(), BurnError> {
        let fail = |e: io::Error| BurnError::Failed(format!("simulator {}: {e}", self.name));
        fs::create_dir_all(&self.dir).map_err(fail)?;
        let mut from = File::open(image).map_err(fail)?;
        let total = from.metadata().map_err(fail)?.len().max(1);
        let mut out = File::create(to).map_err(fail)?;
        let mut buf = vec![0u8; 256 * 1024];
        let start = Instant::now();
        let mut written: u64 = 0;
        loop {
            if stop.is_triggered() {
                return Err(BurnError::Stopped);
            }
            let n = from.read(&mut buf).map_err(fail)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(fail)?;
            written += n as u64;
            progress(written as f64 / total as f64);
            if self.speed_mb_s > 0 {
                let due = Duration::from_secs_f64(written as f64 / (self.speed_mb_s as f64 * 1e6));
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
        out.sync_all().map_err(fail)
    }
}

impl Burner for SimulatorBurner {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BurnerKind {
        BurnerKind::Simulator
    }

    fn ready(&self) -> Result<(), BurnError> {
        if self.next < self.discs.len() {
            Ok(())
        } else {
            Err(BurnError::NoDisc(format!(
                "simulator {} has no disc left ({} taken)",
                self.name, self.next
            )))
        }
    }

    fn burn(
        &mut self,
        image: &Path,
        id: &DiscId,
        stop: &Shutdown,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Written, BurnError> {
        let n = self.next;
        let Some(&disc) = self.discs.get(n) else {
            return Err(BurnError::NoDisc(format!(
                "simulator {} has no disc left ({} taken)",
                self.name, n
            )));
        };
        self.next += 1;
        self.current = Some((disc, n));
        self.stop = stop.clone();
        match disc {
            SimDisc::Written => return Err(self.reject(n, "the disc is already written")),
            SimDisc::Faulty => return Err(self.reject(n, "the disc cannot be written (faulty)")),
            SimDisc::Blank | SimDisc::BadVerify => {}
        }
        let to = self.disc_path(n, "iso");
        self.label(n, &id.file_name());
        self.write(image, &to, stop, progress)?;
        if disc == SimDisc::BadVerify {
            // The medium "loses" a byte: what a bad disc does, so verify must catch it.
            let mut bytes = fs::read(&to).map_err(|e| BurnError::Failed(e.to_string()))?;
            let mid = bytes.len() / 2;
            if let Some(b) = bytes.get_mut(mid) {
                *b ^= 0xFF;
            }
            fs::write(&to, bytes).map_err(|e| BurnError::Failed(e.to_string()))?;
        }
        Ok(Written { image: to })
    }

    fn interrupted(&mut self, _disc: &DiscId, position: usize) {
        self.label(position, super::INTERRUPTED_LABEL);
    }

    fn verify(&mut self, written: &Written, sha256: &str) -> Result<(), BurnError> {
        // A disc reads back at its speed too (and crash tests can kill during a verify).
        if self.speed_mb_s > 0 {
            let len = fs::metadata(&written.image).map(|m| m.len()).unwrap_or(0);
            let until = Instant::now()
                + Duration::from_secs_f64(len as f64 / (self.speed_mb_s as f64 * 1e6));
            while Instant::now() < until {
                if self.stop.is_triggered() {
                    return Err(BurnError::Stopped);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let result = verify_file(&written.image, sha256);
        if let (Err(BurnError::Rejected(why)), Some((_, n))) = (&result, self.current) {
            self.label(n, &format!("REJECT: {why}"));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn a_stop_cuts_the_slow_read_back_short_and_the_disc_is_suspect() {
        let tmp = TempDir::new("sim-verify-stop");
        let image = tmp.path().join("image.iso");
        fs::write(&image, vec![7u8; 100_000]).unwrap();
        let sha = crate::burners::sha256_file(&image).unwrap();
        let mut sim =
            SimulatorBurner::new("sim", tmp.path().join("sim"), vec![SimDisc::Blank], 1, 0);
        let stop = Shutdown::new();
        let disc = DiscId {
            job: 1,
            volume: 1,
            copy: 1,
        };
        let written = sim.burn(&image, &disc, &stop, &mut |_| {}).unwrap();
        stop.trigger();
        assert_eq!(sim.verify(&written, &sha), Err(BurnError::Stopped));
        sim.interrupted(&disc, 0);
        let label = fs::read_to_string(tmp.path().join("sim/disc0001.label")).unwrap();
        assert_eq!(label, "REJECT: interrupted\n");
    }
}

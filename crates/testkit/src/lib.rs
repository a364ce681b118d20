//! What the tests of dcmdisc's crates share, and only that: a dev-dependency, never linked
//! into the product.
//!
//! **For**: a scratch folder removed when the test ends ([`Scratch`]); whether an external
//! peer (xorriso, genisoimage, dcmtk...) can run, where a missing one fails the test under CI
//! — a check that does not run proves nothing — and is a visible `SKIPPED:` line elsewhere
//! ([`have_tool`]); deterministic pseudo-random bytes ([`noise`]).
//!
//! **Not for**: DICOM test data (each crate's tests build what they test), or anything the
//! product itself needs.

// Test support: a panic here is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty folder for one test (`$TMPDIR/dcmdisc-<tag>-<pid>-<n>`), removed again when
/// the guard drops.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "dcmdisc-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `name` inside the folder.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Running under CI (`CI=true`, which `.ci/run` exports).
pub fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether `tool` (from the Debian package `package`) can be started (`tool probe_arg`). Under
/// CI a missing peer fails the test; elsewhere the skip is written straight to stderr, past
/// the test harness's capture, so that a pass without checking is seen.
pub fn have_tool(tool: &str, probe_arg: &str, package: &str) -> bool {
    if Command::new(tool).arg(probe_arg).output().is_ok() {
        return true;
    }
    assert!(
        !under_ci(),
        "{tool} not installed, and under CI every external check must run: \
         apt-get install {package}"
    );
    skipped(&format!("{tool} not installed (apt-get install {package})"));
    false
}

/// Says on stderr (uncaptured) that a test did not check what it is for, and why.
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// Deterministic pseudo-random bytes (xorshift32), so that a misplaced byte shows.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_removed_and_noise_repeats() {
        let s = Scratch::new("testkit");
        let p = s.path().to_path_buf();
        std::fs::write(s.join("f"), b"x").unwrap();
        drop(s);
        assert!(!p.exists());
        assert_eq!(noise(64, 7), noise(64, 7));
        assert_ne!(noise(64, 7), noise(64, 8));
        assert!(have_tool("sh", "-c", "dash") || under_ci());
    }
}

//! Login attempts per user name and per peer address: at most [`ATTEMPTS`] in any
//! [`WINDOW`]; the next is answered `429` without checking the password, so guessing costs
//! the guesser time and the server no Argon2 work.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const ATTEMPTS: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Keys kept at most (a flood of made-up names must not grow memory without bound): when
/// full, keys whose attempts are all older than the window are dropped first.
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct Limiter {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    /// Counts one attempt under each key; `Err(wait)` if any key is over its limit (the attempt
    /// is then not counted, so waiting out the window always works).
    pub fn attempt(&self, keys: &[String], now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_KEYS {
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let mut wait = Duration::ZERO;
        for k in keys {
            if let Some(q) = seen.get_mut(k) {
                while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    q.pop_front();
                }
                if q.len() >= ATTEMPTS {
                    if let Some(first) = q.front() {
                        wait = wait.max(WINDOW.saturating_sub(now.duration_since(*first)));
                    }
                }
            }
        }
        if wait > Duration::ZERO {
            return Err(wait.max(Duration::from_secs(1)));
        }
        for k in keys {
            seen.entry(k.clone()).or_default().push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_a_minute_per_key() {
        let l = Limiter::default();
        let t0 = Instant::now();
        let keys = |u: &str, p: &str| vec![format!("user:{u}"), format!("peer:{p}")];
        for _ in 0..ATTEMPTS {
            l.attempt(&keys("ann", "10.0.0.1"), t0).unwrap();
        }
        // Same user from elsewhere, and same peer for another user: both refused.
        assert!(l.attempt(&keys("ann", "10.0.0.2"), t0).is_err());
        assert!(l.attempt(&keys("bob", "10.0.0.1"), t0).is_err());
        // Another user from another peer is not.
        l.attempt(&keys("bob", "10.0.0.3"), t0).unwrap();
        // A window later, allowed again.
        l.attempt(&keys("ann", "10.0.0.1"), t0 + WINDOW).unwrap();
    }
}

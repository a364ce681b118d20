//! What a connection may hold, and when: a *pending* place from the accept until its
//! A-ASSOCIATE-RQ has passed the policy (bounded in all and per peer address), then a place in
//! the association pool. A connection that has not even sent its AE titles cannot take a
//! place meant for associations, so a flood or a slowloris from one address does not lock the
//! configured senders out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug)]
pub(crate) struct Limits {
    max_associations: usize,
    max_pending: usize,
    max_pending_per_address: usize,
    associations: AtomicUsize,
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Which pending limit a connection found reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    Total(usize),
    PerAddress(usize),
}

impl std::fmt::Display for Over {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Over::Total(n) => write!(f, "{n} connections are already waiting to associate"),
            Over::PerAddress(n) => {
                write!(
                    f,
                    "{n} connections from this address are already waiting to associate"
                )
            }
        }
    }
}

/// The key a peer's pending connections are counted under: its IPv4 address, or the /64 of
/// an IPv6 one (a single host is routinely given a whole /64).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

impl Limits {
    pub fn new(
        max_associations: usize,
        max_pending: usize,
        max_pending_per_address: usize,
    ) -> Self {
        Limits {
            max_associations,
            max_pending,
            max_pending_per_address,
            associations: AtomicUsize::new(0),
            pending: Mutex::new(Pending::default()),
        }
    }

    pub fn max_associations(&self) -> usize {
        self.max_associations
    }

    /// A pending place for a new connection from `ip`, unless a limit is reached.
    pub fn pending(self: &Arc<Self>, ip: IpAddr) -> Result<PendingSlot, Over> {
        let key = address_key(ip);
        // Poisoning cannot leave the counts half-updated (each update is one statement).
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if p.total >= self.max_pending {
            return Err(Over::Total(p.total));
        }
        let here = p.by_address.get(&key).copied().unwrap_or(0);
        if here >= self.max_pending_per_address {
            return Err(Over::PerAddress(here));
        }
        p.total += 1;
        p.by_address.insert(key, here + 1);
        Ok(PendingSlot {
            limits: self.clone(),
            key,
        })
    }

    /// A place in the association pool, if one is free.
    pub fn association(self: &Arc<Self>) -> Option<PoolSlot> {
        let max = self.max_associations;
        self.associations
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| PoolSlot(self.clone()))
    }
}

/// A connection waiting for (or being refused) its association; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct PendingSlot {
    limits: Arc<Limits>,
    key: IpAddr,
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut p = self
            .limits
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        p.total = p.total.saturating_sub(1);
        if let Some(n) = p.by_address.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                p.by_address.remove(&self.key);
            }
        }
    }
}

/// A member of the association pool; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct PoolSlot(Arc<Limits>);

impl Drop for PoolSlot {
    fn drop(&mut self) {
        self.0.associations.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn pending_places_are_bounded_per_address_and_in_all() {
        let l = Arc::new(Limits::new(1, 3, 2));
        let a1 = l.pending(ip("127.0.0.1")).unwrap();
        let _a2 = l.pending(ip("127.0.0.1")).unwrap();
        assert_eq!(l.pending(ip("127.0.0.1")).unwrap_err(), Over::PerAddress(2));
        let _b1 = l.pending(ip("127.0.0.2")).unwrap();
        assert_eq!(l.pending(ip("127.0.0.3")).unwrap_err(), Over::Total(3));
        drop(a1);
        let _c1 = l.pending(ip("127.0.0.3")).unwrap();
        assert_eq!(l.pending(ip("127.0.0.1")).unwrap_err(), Over::Total(3));
        // The pool is separate: pending connections hold none of it.
        let slot = l.association().unwrap();
        assert!(l.association().is_none());
        drop(slot);
        assert!(l.association().is_some());
    }

    #[test]
    fn freed_addresses_are_forgotten() {
        let l = Arc::new(Limits::new(1, 10, 1));
        for _ in 0..3 {
            let s = l.pending(ip("10.0.0.1")).unwrap();
            drop(s);
        }
        let p = l.pending.lock().unwrap();
        assert_eq!((p.total, p.by_address.len()), (0, 0));
    }

    #[test]
    fn ipv6_peers_count_per_64_and_mapped_ipv4_as_ipv4() {
        let l = Arc::new(Limits::new(1, 10, 1));
        let _a = l.pending(ip("2001:db8:1:2::1")).unwrap();
        assert!(l.pending(ip("2001:db8:1:2:ffff::9")).is_err());
        let _b = l.pending(ip("2001:db8:1:3::1")).unwrap();
        let _c = l.pending(ip("192.0.2.7")).unwrap();
        assert!(l.pending(ip("::ffff:192.0.2.7")).is_err());
    }
}

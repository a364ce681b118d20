//! Admission of a calling AE: is it configured, and does the peer's address match its host?
//!
//! The remote AE's row is read under the database lock; everything after it runs with no lock
//! held. Host names are resolved when a peer connects (so DNS changes need no restart), through
//! a pluggable `Resolver`, and the answers are cached briefly (`POSITIVE_TTL`, `NEGATIVE_TTL`).
//! A lookup holds no mutex while it runs: a slow resolver delays only the associations whose
//! AE is configured with that host name, never the admission of others, nor the store log.
//! Concurrent lookups of one name share a single resolution; different names never wait for
//! each other.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::db::RemoteMatch;

/// How long a successful resolution is reused.
pub const POSITIVE_TTL: Duration = Duration::from_secs(30);
/// How long a failed (or empty) resolution is reused: short, so a fixed DNS entry is seen
/// soon, yet a burst of connections does not repeat a failing lookup each time.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Cached names beyond which expired entries are pruned (names come from the remote AE
/// table, not from the network, so this is rarely reached).
const PRUNE_AT: usize = 1024;

/// Turns a configured host name into addresses. The archive uses `SystemResolver` unless
/// another is installed (`Archive::open_with_resolver`), e.g. by a test.
pub trait Resolver: Send + Sync {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, through std).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        Ok((host, 0u16).to_socket_addrs()?.map(|a| a.ip()).collect())
    }
}

type Addrs = Arc<[IpAddr]>;

/// One resolution under way; those who need the same name meanwhile wait for its result.
#[derive(Default)]
struct Flight {
    result: Mutex<Option<Addrs>>,
    done: Condvar,
}

impl Flight {
    fn wait(&self) -> Addrs {
        let mut r = relock(&self.result);
        loop {
            if let Some(a) = r.as_ref() {
                return a.clone();
            }
            r = self.done.wait(r).unwrap_or_else(|p| p.into_inner());
        }
    }
}

enum Slot {
    Ready { addrs: Addrs, expires: Instant },
    Pending(Arc<Flight>),
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are plain data, consistent between statements.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Host names resolved recently, and those being resolved now.
pub(crate) struct HostCache {
    resolver: Arc<dyn Resolver>,
    slots: Mutex<HashMap<String, Slot>>,
    positive: Duration,
    negative: Duration,
}

enum Role {
    Lead(Arc<Flight>),
    Follow(Arc<Flight>),
}

/// The leader's duty to publish a result, kept even if the resolver panics: then the waiters
/// get "no address" instead of waiting forever.
struct Publish<'a> {
    cache: &'a HostCache,
    key: String,
    flight: Arc<Flight>,
    addrs: Option<Addrs>,
}

impl Drop for Publish<'_> {
    fn drop(&mut self) {
        let addrs = self.addrs.take().unwrap_or_else(|| Arc::from(Vec::new()));
        let ttl = if addrs.is_empty() {
            self.cache.negative
        } else {
            self.cache.positive
        };
        {
            let mut slots = relock(&self.cache.slots);
            let ours = match slots.get(&self.key) {
                Some(Slot::Pending(f)) => Arc::ptr_eq(f, &self.flight),
                _ => false,
            };
            if ours {
                let expires = Instant::now() + ttl;
                slots.insert(
                    self.key.clone(),
                    Slot::Ready {
                        addrs: addrs.clone(),
                        expires,
                    },
                );
            }
        }
        *relock(&self.flight.result) = Some(addrs);
        self.flight.done.notify_all();
    }
}

impl HostCache {
    pub(crate) fn new(resolver: Arc<dyn Resolver>) -> HostCache {
        HostCache::with_ttl(resolver, POSITIVE_TTL, NEGATIVE_TTL)
    }

    pub(crate) fn with_ttl(
        resolver: Arc<dyn Resolver>,
        positive: Duration,
        negative: Duration,
    ) -> HostCache {
        HostCache {
            resolver,
            slots: Mutex::new(HashMap::new()),
            positive,
            negative,
        }
    }

    /// The addresses of `host` (none when it does not resolve), from the cache while fresh.
    pub(crate) fn lookup(&self, host: &str) -> Addrs {
        let key = host.to_ascii_lowercase();
        let role = {
            let mut slots = relock(&self.slots);
            let now = Instant::now();
            match slots.get(&key) {
                Some(Slot::Ready { addrs, expires }) if now < *expires => return addrs.clone(),
                Some(Slot::Pending(f)) => Role::Follow(f.clone()),
                _ => {
                    if slots.len() >= PRUNE_AT {
                        slots.retain(
                            |_, s| !matches!(s, Slot::Ready { expires, .. } if *expires <= now),
                        );
                    }
                    let f = Arc::new(Flight::default());
                    slots.insert(key.clone(), Slot::Pending(f.clone()));
                    Role::Lead(f)
                }
            }
        };
        match role {
            Role::Follow(f) => f.wait(),
            Role::Lead(flight) => {
                let mut publish = Publish {
                    cache: self,
                    key,
                    flight,
                    addrs: None,
                };
                // No lock is held here: the lookup may take as long as the resolver likes.
                let addrs: Addrs = match self.resolver.resolve(host) {
                    Ok(a) => a.into(),
                    Err(e) => {
                        warn!(host, error = %e, "cannot resolve a remote AE's host name");
                        Arc::from(Vec::new())
                    }
                };
                publish.addrs = Some(addrs.clone());
                drop(publish);
                addrs
            }
        }
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

/// The admission answer for a peer whose AE row has `host` (`None`: no row).
pub(crate) fn decide(host: Option<&str>, peer: IpAddr, cache: &HostCache) -> RemoteMatch {
    let Some(host) = host else {
        return RemoteMatch::UnknownAe;
    };
    if host.eq_ignore_ascii_case("any") {
        return RemoteMatch::Allowed;
    }
    let allowed = match host.parse::<IpAddr>() {
        Ok(ip) => same_ip(ip, peer),
        Err(_) => cache.lookup(host).iter().any(|&a| same_ip(a, peer)),
    };
    if allowed {
        RemoteMatch::Allowed
    } else {
        RemoteMatch::WrongHost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers from a table and counts its calls.
    struct Table {
        calls: AtomicUsize,
    }

    impl Resolver for Table {
        fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match host {
                "scanner.test" => Ok(vec!["192.0.2.10".parse().unwrap()]),
                "v6.test" => Ok(vec!["::ffff:192.0.2.11".parse().unwrap()]),
                _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such host")),
            }
        }
    }

    fn table() -> Arc<Table> {
        Arc::new(Table {
            calls: AtomicUsize::new(0),
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn decisions() {
        let cache = HostCache::new(table());
        let peer = ip("192.0.2.10");
        assert_eq!(decide(None, peer, &cache), RemoteMatch::UnknownAe);
        assert_eq!(decide(Some("ANY"), peer, &cache), RemoteMatch::Allowed);
        assert_eq!(
            decide(Some("192.0.2.10"), peer, &cache),
            RemoteMatch::Allowed
        );
        assert_eq!(
            decide(Some("192.0.2.10"), ip("::ffff:192.0.2.10"), &cache),
            RemoteMatch::Allowed
        );
        assert_eq!(
            decide(Some("192.0.2.9"), peer, &cache),
            RemoteMatch::WrongHost
        );
        assert_eq!(
            decide(Some("scanner.test"), peer, &cache),
            RemoteMatch::Allowed
        );
        assert_eq!(
            decide(Some("Scanner.TEST"), ip("192.0.2.99"), &cache),
            RemoteMatch::WrongHost
        );
        assert_eq!(
            decide(Some("v6.test"), ip("192.0.2.11"), &cache),
            RemoteMatch::Allowed
        );
        assert_eq!(
            decide(Some("gone.test"), peer, &cache),
            RemoteMatch::WrongHost
        );
    }

    #[test]
    fn answers_are_cached_until_they_expire() {
        let t = table();
        let cache = HostCache::new(t.clone());
        for _ in 0..3 {
            assert_eq!(cache.lookup("scanner.test").len(), 1);
            assert!(cache.lookup("gone.test").is_empty());
        }
        // Names are case-insensitive.
        assert_eq!(cache.lookup("SCANNER.test").len(), 1);
        assert_eq!(t.calls.load(Ordering::SeqCst), 2);

        let t = table();
        let cache = HostCache::with_ttl(t.clone(), Duration::ZERO, Duration::ZERO);
        cache.lookup("scanner.test");
        cache.lookup("scanner.test");
        cache.lookup("gone.test");
        cache.lookup("gone.test");
        assert_eq!(t.calls.load(Ordering::SeqCst), 4);
    }

    /// A resolver that panics still releases those waiting for the same name.
    #[test]
    fn a_panicking_resolver_leaves_no_one_waiting() {
        struct Panics;
        impl Resolver for Panics {
            fn resolve(&self, _: &str) -> io::Result<Vec<IpAddr>> {
                panic!("resolver bug");
            }
        }
        let cache = HostCache::new(Arc::new(Panics));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.lookup("x.test");
        }));
        assert!(caught.is_err());
        // Cached as "no address" for the negative TTL, not stuck as pending.
        assert!(cache.lookup("x.test").is_empty());
    }
}

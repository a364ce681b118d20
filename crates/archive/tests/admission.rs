//! Admission with a resolver that hangs: while one association waits for its AE's host name,
//! others (AEs configured by address or by another name) are admitted and the store log is
//! written. The bounds below measure the stall itself: the slow lookup is held until the test
//! releases it (at most `HANG`), and the fast work must finish within `FAST_BOUND < HANG`
//! while it is still held.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

use common::{config, Scratch, Spec};
use dcmdisc_archive::{Archive, Control, RemoteMatch, Resolver};

const HANG: Duration = Duration::from_secs(60);
const FAST_BOUND: Duration = Duration::from_secs(30);

/// `slow.test` blocks until released; `fast.test` answers at once; other names fail.
struct Gated {
    entered: Mutex<mpsc::Sender<()>>,
    released: Mutex<bool>,
    open: Condvar,
    slow_calls: AtomicUsize,
}

impl Gated {
    fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.open.notify_all();
    }
}

impl Resolver for Gated {
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        match host {
            "slow.test" => {
                self.slow_calls.fetch_add(1, Ordering::SeqCst);
                let _ = self.entered.lock().unwrap().send(());
                let released = self.released.lock().unwrap();
                let (released, _) = self
                    .open
                    .wait_timeout_while(released, HANG, |r| !*r)
                    .unwrap();
                assert!(*released, "the test never released the slow lookup");
                Ok(vec!["127.0.0.1".parse().unwrap()])
            }
            "fast.test" => Ok(vec!["127.0.0.2".parse().unwrap()]),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such host")),
        }
    }
}

#[test]
fn a_slow_host_name_lookup_stalls_only_the_associations_that_need_it() {
    let scratch = Scratch::new("admission");
    let dir = scratch.path();
    {
        let control = Control::open(dir).unwrap();
        control.add_remote("SLOW", "slow.test", None).unwrap();
        control.add_remote("BYADDR", "127.0.0.1", None).unwrap();
        control.add_remote("BYNAME", "fast.test", None).unwrap();
        control.add_remote("ANYWHERE", "any", None).unwrap();
    }
    let (entered_tx, entered) = mpsc::channel();
    let resolver = Arc::new(Gated {
        entered: Mutex::new(entered_tx),
        released: Mutex::new(false),
        open: Condvar::new(),
        slow_calls: AtomicUsize::new(0),
    });
    let archive = Archive::open_with_resolver(config(dir), resolver.clone()).unwrap();
    let localhost: IpAddr = "127.0.0.1".parse().unwrap();

    // Two associations from the AE whose host name is slow to resolve.
    let (slow_tx, slow_done) = mpsc::channel();
    let mut slow = Vec::new();
    for _ in 0..2 {
        let archive = archive.clone();
        let tx = slow_tx.clone();
        slow.push(std::thread::spawn(move || {
            let _ = tx.send(archive.match_remote("SLOW", localhost));
        }));
    }
    entered
        .recv_timeout(HANG)
        .expect("the slow lookup never started");

    // Meanwhile: other associations' admission, a failure-log write and a store.
    let (fast_tx, fast_done) = mpsc::channel();
    let fast = {
        let archive = archive.clone();
        std::thread::spawn(move || {
            let m = |ae: &str, ip: &str| archive.match_remote(ae, ip.parse().unwrap()).unwrap();
            let answers = vec![
                m("BYADDR", "127.0.0.1"),
                m("BYADDR", "127.0.0.9"),
                m("BYNAME", "127.0.0.2"),
                m("ANYWHERE", "127.0.0.3"),
                m("NOBODY", "127.0.0.1"),
            ];
            let spec = Spec::new("1.2.826.0.1.3680043.10.1234.5.1", "Doe^Jane", "P5");
            let mut entry = spec.log_entry();
            entry.status = "A700".into();
            entry.reason = "writing the archive file: disk full".into();
            archive.record(&entry, 0xA700);
            let stored = common::store(&archive, &spec).is_ok();
            let _ = fast_tx.send((answers, stored));
        })
    };
    let (answers, stored) = fast_done.recv_timeout(FAST_BOUND).expect(
        "admission by address / another name, or the store log, waited for a slow host-name lookup",
    );
    assert_eq!(
        answers,
        [
            RemoteMatch::Allowed,
            RemoteMatch::WrongHost,
            RemoteMatch::Allowed,
            RemoteMatch::Allowed,
            RemoteMatch::UnknownAe,
        ]
    );
    assert!(stored);
    // All of that happened while the slow lookup was still held: neither slow association
    // has an answer yet.
    assert!(matches!(
        slow_done.try_recv(),
        Err(mpsc::TryRecvError::Empty)
    ));
    let log = Control::open(dir).unwrap().log(10).unwrap();
    let statuses: Vec<_> = log.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["A700", "0000"]);
    fast.join().unwrap();

    resolver.release();
    for _ in 0..2 {
        let got = slow_done
            .recv_timeout(HANG)
            .expect("the slow associations were not answered after the lookup was released");
        assert_eq!(got.unwrap(), RemoteMatch::Allowed);
    }
    for h in slow {
        h.join().unwrap();
    }
    // The two concurrent associations shared one lookup, and the next one uses the cache.
    assert_eq!(
        archive.match_remote("SLOW", localhost).unwrap(),
        RemoteMatch::Allowed
    );
    assert_eq!(resolver.slow_calls.load(Ordering::SeqCst), 1);
    common::close(archive);
}

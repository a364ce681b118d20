//! The associations open now, for the operator: who is sending (peer, calling and called AE),
//! since when, and how many instances and dataset bytes so far. The service wiring
//! (`service.rs`) registers each accepted association and counts what its sinks receive; the
//! web API lists them and streams their openings and closings.
//!
//! In memory only: an association does not outlive the process, so neither does its entry.
//! Counting costs one relaxed atomic add per received chunk and a short lock per instance.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the network layer says of an association (the registry's input).
pub use dcmdisc_net::{AssociationEnd, AssociationInfo};
use serde::Serialize;
use tokio::sync::broadcast;

/// Openings and closings kept for a slow listener; one that falls further behind is told it
/// lagged (and lists again).
const CHANGES_KEPT: usize = 256;

/// One association open now, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationView {
    pub id: u64,
    /// `address:port` of the sender.
    pub peer: String,
    pub calling_ae: String,
    pub called_ae: String,
    /// RFC 3339 UTC, when it was accepted.
    pub since: String,
    /// Instances stored (answered 0000) so far.
    pub instances: u64,
    /// C-STOREs answered with a failure status so far.
    pub failures: u64,
    /// Dataset bytes received so far, the instance in progress included.
    pub bytes: u64,
}

/// An association opened or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationChange {
    /// `opened` or `closed`.
    pub change: &'static str,
    /// When closed: `released` or `aborted`.
    pub end: Option<&'static str>,
    /// Its counts at that moment.
    pub association: AssociationView,
}

struct Entry {
    id: u64,
    peer: String,
    calling_ae: String,
    called_ae: String,
    since: String,
    instances: AtomicU64,
    failures: AtomicU64,
    bytes: AtomicU64,
}

impl Entry {
    fn view(&self) -> AssociationView {
        AssociationView {
            id: self.id,
            peer: self.peer.clone(),
            calling_ae: self.calling_ae.clone(),
            called_ae: self.called_ae.clone(),
            since: self.since.clone(),
            instances: self.instances.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Counts the bytes one instance's sink receives into its association's entry.
#[derive(Clone)]
pub struct ByteCounter(Arc<Entry>);

impl ByteCounter {
    pub fn add(&self, n: usize) {
        self.0.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The registry of associations open now. Thread-safe: the network layer's connection
/// threads write it, the web API reads it.
pub struct Activity {
    open: Mutex<BTreeMap<u64, Arc<Entry>>>,
    changes: broadcast::Sender<AssociationChange>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            open: Mutex::new(BTreeMap::new()),
            changes: broadcast::channel(CHANGES_KEPT).0,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Entry>>> {
        // Nothing here can be left half-updated by a panic: the map stays usable.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn entry(&self, id: u64) -> Option<Arc<Entry>> {
        self.entries().get(&id).cloned()
    }

    /// The associations open now, oldest first.
    pub fn list(&self) -> Vec<AssociationView> {
        self.entries().values().map(|e| e.view()).collect()
    }

    /// Every opening and closing from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AssociationChange> {
        self.changes.subscribe()
    }

    /// An association was accepted (called by the service wiring).
    pub fn opened(&self, info: &AssociationInfo) {
        let entry = Arc::new(Entry {
            id: info.id,
            peer: info.peer.to_string(),
            calling_ae: info.calling_ae.clone(),
            called_ae: info.called_ae.clone(),
            since: dcmdisc_archive::db::now_rfc3339(),
            instances: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
        let view = entry.view();
        self.entries().insert(info.id, entry);
        // No listener is no error.
        let _ = self.changes.send(AssociationChange {
            change: "opened",
            end: None,
            association: view,
        });
    }

    /// An accepted association ended (called by the service wiring).
    pub fn closed(&self, info: &AssociationInfo, end: AssociationEnd) {
        let Some(entry) = self.entries().remove(&info.id) else {
            return;
        };
        let _ = self.changes.send(AssociationChange {
            change: "closed",
            end: Some(match end {
                AssociationEnd::Released => "released",
                AssociationEnd::Aborted => "aborted",
            }),
            association: entry.view(),
        });
    }

    /// The counter for an instance's bytes (`None` for an association not registered).
    pub fn byte_counter(&self, association: u64) -> Option<ByteCounter> {
        self.entry(association).map(ByteCounter)
    }

    /// One C-STORE answered: stored (`success`) or failed (called by the service wiring).
    pub fn stored(&self, association: u64, success: bool) {
        if let Some(e) = self.entry(association) {
            let n = if success { &e.instances } else { &e.failures };
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64) -> AssociationInfo {
        AssociationInfo {
            id,
            calling_ae: "CT1".into(),
            called_ae: "CDP_PRINTER".into(),
            peer: "127.0.0.1:40000".parse().unwrap(),
        }
    }

    #[test]
    fn associations_are_listed_counted_and_their_changes_sent() {
        let a = Activity::new();
        let mut rx = a.subscribe();
        a.opened(&info(7));
        a.opened(&info(3));
        let c = a.byte_counter(7).unwrap();
        c.add(1000);
        c.add(24);
        a.stored(7, true);
        a.stored(7, false);
        a.stored(99, true); // unknown: ignored
        assert!(a.byte_counter(99).is_none());
        let list = a.list();
        assert_eq!(list.iter().map(|v| v.id).collect::<Vec<_>>(), [3, 7]);
        let seven = &list[1];
        assert_eq!((seven.instances, seven.failures, seven.bytes), (1, 1, 1024));
        assert_eq!(seven.peer, "127.0.0.1:40000");
        assert_eq!(
            (seven.calling_ae.as_str(), seven.called_ae.as_str()),
            ("CT1", "CDP_PRINTER")
        );
        a.closed(&info(7), AssociationEnd::Released);
        a.closed(&info(7), AssociationEnd::Aborted); // twice: once only
        a.closed(&info(3), AssociationEnd::Aborted);
        assert!(a.list().is_empty());
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|c| (c.change, c.end, c.association.id, c.association.bytes))
            .collect();
        assert_eq!(
            got,
            [
                ("opened", None, 7, 0),
                ("opened", None, 3, 0),
                ("closed", Some("released"), 7, 1024),
                ("closed", Some("aborted"), 3, 0),
            ]
        );
    }
}

//! One `Control` shared by several threads (as HTTP handlers and job workers will share it),
//! while the service writes to the same database.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::{config, Scratch, Spec};
use dcmdisc_archive::{Archive, Control};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn control_is_send_and_sync() {
    assert_send_sync::<Control>();
    assert_send_sync::<Archive>();
}

#[test]
fn one_control_serves_several_threads_while_the_service_stores() {
    let scratch = Scratch::new("control-threads");
    let dir = scratch.path();
    let archive = Archive::open(config(dir)).unwrap();
    let control = Arc::new(Control::open(dir).unwrap());
    const THREADS: usize = 8;
    const EACH: usize = 20;
    let start = Arc::new(Barrier::new(THREADS + 1));
    let mut handles = Vec::new();
    for t in 0..THREADS {
        let control = control.clone();
        let start = start.clone();
        handles.push(std::thread::spawn(move || {
            start.wait();
            for i in 0..EACH {
                let ae = format!("AE{t}_{i}");
                control.add_remote(&ae, "127.0.0.1", Some(104)).unwrap();
                // Reads interleaved with the other threads' writes see at least our own.
                let remotes = control.remotes().unwrap();
                assert!(remotes.iter().any(|r| r.ae_title == ae));
                control.collections().unwrap();
                control.instances(None).unwrap();
                control.log(5).unwrap();
                if i % 2 == 1 {
                    assert!(control.remove_remote(&ae).unwrap());
                }
            }
        }));
    }
    // The service stores meanwhile, on its own connections.
    let storer = {
        let archive = archive.clone();
        let start = start.clone();
        std::thread::spawn(move || {
            start.wait();
            for i in 0..EACH {
                let spec = Spec::new(
                    &format!("1.2.826.0.1.3680043.10.1234.9.{i}"),
                    "Doe^Jane",
                    "P9",
                );
                common::store(&archive, &spec).unwrap();
            }
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    storer.join().unwrap();
    let remotes = control.remotes().unwrap();
    assert_eq!(remotes.len(), THREADS * EACH / 2);
    for t in 0..THREADS {
        for i in (0..EACH).step_by(2) {
            let ae = format!("AE{t}_{i}");
            assert!(remotes.iter().any(|r| r.ae_title == ae), "{ae} missing");
        }
    }
    assert_eq!(control.instances(None).unwrap().len(), EACH);
    assert_eq!(control.log(1000).unwrap().len(), EACH);
    common::close(archive);
}

#[test]
fn data_version_tells_another_connections_commit() {
    let scratch = Scratch::new("control-data-version");
    let dir = scratch.path();
    let worker = Control::open(dir).unwrap();
    let cli = Control::open(dir).unwrap();
    let before = worker.data_version().unwrap();
    assert_eq!(worker.data_version().unwrap(), before, "nothing committed");
    cli.add_remote("CLI", "127.0.0.1", Some(104)).unwrap();
    let after = worker.data_version().unwrap();
    assert_ne!(after, before, "the other connection's commit is seen");
    // Its own commits do not count: the worker only waits for others.
    worker.add_remote("SELF", "127.0.0.1", Some(104)).unwrap();
    assert_eq!(worker.data_version().unwrap(), after);
}

/// A job moved (cancelled by the CLI) while another connection (the worker) commits a write
/// in the middle: the move waits its turn instead of failing with "database is locked".
/// A deferred transaction that read before the other commit could not upgrade to a write
/// and SQLite refuses it at once, without the busy timeout (seen in CI on `job cancel`).
#[test]
fn a_job_move_waits_for_another_connections_write_instead_of_failing() {
    let scratch = Scratch::new("control-busy");
    let dir = scratch.path().to_path_buf();
    let cli = Control::open(&dir).unwrap();
    let id = cli.create_job(&common::new_job(1)).unwrap();
    for round in 0..5 {
        let worker = rusqlite::Connection::open(dir.join("control.sqlite")).unwrap();
        worker
            .busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        worker.execute_batch("BEGIN IMMEDIATE").unwrap();
        worker
            .execute(
                "UPDATE job SET priority = ?1 WHERE id = ?2",
                rusqlite::params![if round % 2 == 0 { "high" } else { "normal" }, id],
            )
            .unwrap();
        let (from, to) = if round % 2 == 0 {
            ("queued", "held")
        } else {
            ("held", "queued")
        };
        let mover = {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let cli = Control::open(&dir).unwrap();
                cli.set_job_state(id, &[from], to, None, None)
            })
        };
        // Long enough for the mover to be inside its transaction, waiting on the lock.
        std::thread::sleep(std::time::Duration::from_millis(300));
        worker.execute_batch("COMMIT").unwrap();
        let moved = mover.join().unwrap();
        assert!(matches!(moved, Ok(true)), "round {round}: {moved:?}");
    }
}

//! `GET /api/events`: a job made by the worker shows every state in order, each change
//! following the one before; a stream resumed with `Last-Event-ID` (or `?after=`) gets the
//! rest with no repeat; associations open, move and close; the stream ends at shutdown.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{assert_error, Fixture, Sse, SseReader};
use dcmdisc_app::activity::{AssociationEnd, AssociationInfo};
use dcmdisc_app::config::jobs::SimDisc;
use dcmdisc_app::jobs::Worker;
use dcmdisc_app::Shutdown;

fn durable(events: &[Sse]) -> Vec<&Sse> {
    events
        .iter()
        .filter(|e| e.event == "job" || e.event == "disc")
        .collect()
}

fn is_done(e: &Sse) -> bool {
    e.event == "job" && e.data["state"] == "done"
}

/// Runs the worker in this process until no job is left (bounded).
async fn run_worker(f: &Fixture) {
    let cfg = f.cfg.clone();
    tokio::task::spawn_blocking(move || {
        let stop = Shutdown::new();
        let mut w = Worker::open(&cfg).unwrap();
        for _ in 0..10 {
            if w.run_next(&stop).unwrap().is_none() {
                return;
            }
        }
        panic!("the worker never ran out of jobs");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_shows_every_state_in_order_and_a_resumed_stream_gets_the_rest_once() {
    let f = Fixture::new("web-events", &[SimDisc::Written, SimDisc::Blank]);
    let mut live = SseReader::open(&f.app, "/api/events", None).await;
    let ready = live.next().await.unwrap();
    assert_eq!(ready.event, "ready");
    assert_eq!(ready.id.as_deref(), Some("0"));
    assert_eq!(ready.data["last_event_id"], 0);

    let (status, job) = f
        .post("/api/jobs", r#"{"collection": 1, "burner": "sim"}"#)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = job["id"].as_i64().unwrap();
    let worker = run_worker(&f);
    let (mut events, ()) = tokio::join!(live.until(500, is_done), worker);
    // The burners a poll's disc events touched follow that poll's durable events, so the
    // last disc's may come after `done`.
    let burner_after_last_disc = |events: &[Sse]| {
        let last_disc = events.iter().rposition(|e| e.event == "disc");
        let burner = events.iter().rposition(|e| e.event == "burner");
        matches!((last_disc, burner), (Some(d), Some(b)) if b > d)
    };
    if !burner_after_last_disc(&events) {
        events.extend(live.until(20, |e| e.event == "burner").await);
    }

    let changes = durable(&events);
    let ids: Vec<i64> = changes
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    for e in &changes {
        assert_eq!(
            e.data["id"].as_i64(),
            Some(e.id.as_deref().unwrap().parse().unwrap())
        );
        assert_eq!(e.data["job"], id);
        assert_eq!(e.data["kind"], e.event.as_str());
    }
    // Every job state, none skipped: each change starts where the one before ended.
    let states: Vec<(&str, Option<&str>)> = changes
        .iter()
        .filter(|e| e.event == "job")
        .map(|e| {
            (
                e.data["state"].as_str().unwrap(),
                e.data["previous"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("queued", None),
            ("composing", Some("queued")),
            ("imaging", Some("composing")),
            ("validating", Some("imaging")),
            ("burning", Some("validating")),
            ("verifying", Some("burning")),
            ("done", Some("verifying")),
        ]
    );
    // The written disc is rejected, the next one burned; each disc event is followed (before
    // the next poll's events) by the burner's state.
    let discs: Vec<(&str, Option<&str>, i64, i64)> = changes
        .iter()
        .filter(|e| e.event == "disc")
        .map(|e| {
            (
                e.data["outcome"].as_str().unwrap(),
                e.data["reason"].as_str(),
                e.data["volume"].as_i64().unwrap(),
                e.data["copy"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(discs.len(), 4, "{discs:?}");
    assert_eq!(
        (discs[0].0, discs[1].0, discs[2].0, discs[3].0),
        ("burning", "rejected", "burning", "burned")
    );
    assert!(discs[1].1.unwrap().contains("written"), "{discs:?}");
    assert!(discs.iter().all(|d| (d.2, d.3) == (1, 1)));
    let burner = events.iter().rposition(|e| e.event == "burner");
    let last_disc = events.iter().rposition(|e| e.event == "disc").unwrap();
    let burner = burner.expect("a burner event");
    assert!(burner > last_disc, "the burner's state follows its disc");
    assert_eq!(events[burner].data["name"], "sim");
    assert!(events[burner].id.is_none());
    assert!(events
        .iter()
        .filter(|e| e.event == "progress")
        .all(|e| e.data["job"] == id && e.id.is_none()));

    // Lost after the third change: resumed from there, the rest arrives, nothing twice.
    let third = changes[2].id.clone().unwrap();
    let mut resumed = SseReader::open(&f.app, "/api/events", Some(&third)).await;
    assert_eq!(
        resumed.next().await.unwrap().id.as_deref(),
        Some(third.as_str())
    );
    let rest = resumed.until(500, is_done).await;
    let rest: Vec<_> = durable(&rest).into_iter().cloned().collect();
    let expected: Vec<_> = changes[3..].iter().map(|e| (*e).clone()).collect();
    assert_eq!(rest, expected);
    // `?after=` does the same for clients that cannot set the header; from 0, everything.
    let mut all = SseReader::open(&f.app, "/api/events?after=0", None).await;
    let from_start = all.until(500, is_done).await;
    let from_start: Vec<_> = durable(&from_start).into_iter().cloned().collect();
    let everything: Vec<_> = changes.iter().map(|e| (*e).clone()).collect();
    assert_eq!(from_start, everything);
}

#[tokio::test]
async fn a_cancel_made_by_another_process_reaches_the_stream() {
    let f = Fixture::new("web-events-cancel", &[SimDisc::Blank]);
    let (_, job) = f.post("/api/jobs", r#"{"collection": 1}"#).await;
    let id = job["id"].as_i64().unwrap();
    let mut s = SseReader::open(&f.app, "/api/events?after=0", None).await;
    // What `dcmdisc job cancel` does, on a connection of its own.
    let cfg = f.cfg.clone();
    tokio::task::spawn_blocking(move || {
        let db = dcmdisc_app::ControlDb::open(&cfg, dcmdisc_app::Open::Existing).unwrap();
        dcmdisc_app::jobs::cancel(&db, id).unwrap();
    })
    .await
    .unwrap();
    let events = s
        .until(50, |e| e.event == "job" && e.data["state"] == "cancelled")
        .await;
    let states: Vec<_> = durable(&events)
        .iter()
        .map(|e| e.data["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["queued", "cancelled"]);
}

#[tokio::test]
async fn associations_open_move_and_close_in_the_stream() {
    let f = Fixture::new("web-events-assoc", &[SimDisc::Blank]);
    let mut s = SseReader::open(&f.app, "/api/events", None).await;
    assert_eq!(s.next().await.unwrap().event, "ready");
    let info = AssociationInfo {
        id: 5,
        calling_ae: "MR1".into(),
        called_ae: "CDP_PRINTER".into(),
        peer: "127.0.0.1:40404".parse().unwrap(),
    };
    f.activity.opened(&info);
    let opened = s.until(20, |e| e.event == "association").await;
    let opened = opened.last().unwrap();
    assert_eq!(opened.data["change"], "opened");
    assert_eq!(opened.data["association"]["calling_ae"], "MR1");
    assert!(opened.id.is_none());
    f.activity.byte_counter(5).unwrap().add(777);
    f.activity.stored(5, true);
    let moved = s
        .until(50, |e| {
            e.event == "association" && e.data["association"]["instances"] == 1
        })
        .await;
    let moved = moved.last().unwrap();
    assert_eq!(moved.data["change"], "progress");
    assert_eq!(moved.data["association"]["bytes"], 777);
    f.activity.closed(&info, AssociationEnd::Aborted);
    let closed = s.until(20, |e| e.event == "association").await;
    let closed = closed.last().unwrap();
    assert_eq!(closed.data["change"], "closed");
    assert_eq!(closed.data["end"], "aborted");
    assert_eq!(closed.data["association"]["instances"], 1);
}

#[tokio::test]
async fn the_stream_ends_when_the_server_stops_and_bad_starts_are_refused() {
    let f = Fixture::new("web-events-stop", &[SimDisc::Blank]);
    for (uri, id, words) in [
        ("/api/events", Some("x"), "Last-Event-ID \"x\""),
        ("/api/events", Some("-3"), "Last-Event-ID \"-3\""),
        ("/api/events?after=soon", None, "after \"soon\""),
    ] {
        let mut req = axum::http::Request::builder().uri(uri);
        if let Some(id) = id {
            req = req.header("last-event-id", id);
        }
        let resp =
            tower::ServiceExt::oneshot(f.app.clone(), req.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
        let status = resp.status();
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_error(
            (status, serde_json::from_slice(&body).unwrap()),
            StatusCode::BAD_REQUEST,
            words,
        );
    }
    let mut s = SseReader::open(&f.app, "/api/events", None).await;
    assert_eq!(s.next().await.unwrap().event, "ready");
    f.shutdown.trigger();
    let end = tokio::time::timeout(Duration::from_secs(30), s.next())
        .await
        .expect("the stream ends");
    assert_eq!(end, None);
}

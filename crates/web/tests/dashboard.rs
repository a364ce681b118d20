//! The dashboard's "Received today" and "Disk and retention" panels, the disk alert, and the
//! Patients page's quiet-period countdown (issue 11 item 1), from rows arranged in SQL as the
//! service writes them.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Fixture;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn html(f: &Fixture, uri: &str) -> String {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{uri}");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

#[tokio::test]
async fn the_dashboard_counts_what_arrived_today_and_shows_the_disk_and_retention() {
    let f = Fixture::new("dash-today", &[]);
    let sql = f.sql();
    // Of the fixture's three instances (received 2026-01-01), two arrive again today.
    sql.execute(
        &format!("UPDATE instance SET received = {NOW} WHERE sop_instance_uid IN ('2.25.77.1', '2.25.77.2')"),
        [],
    )
    .unwrap();
    let today_bytes: i64 = sql
        .query_row(
            "SELECT SUM(size) FROM instance WHERE sop_instance_uid IN ('2.25.77.1', '2.25.77.2')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for (time, status) in [
        (NOW, 42752),
        (NOW, 0),
        ("'2026-01-01T00:00:00.000Z'", 42752),
    ] {
        sql.execute(
            &format!(
                "INSERT INTO store_log (time, status, calling_ae, peer, sop_class_uid,
                    sop_instance_uid, reason) VALUES ({time}, {status}, 'CT1', '127.0.0.1:1', '1.2', '1.3', 'r')"
            ),
            [],
        )
        .unwrap();
    }
    let body = html(&f, "/").await;
    assert!(
        body.contains(r#"<dd data-field="today-instances">2</dd>"#),
        "{body}"
    );
    let kb = format!("{:.0} kB", today_bytes as f64 / 1e3);
    assert!(
        body.contains(&format!(r#"<dd data-field="today-bytes">{kb}</dd>"#)),
        "{body}"
    );
    assert!(body.contains(r#"href="/log?status=failure&amp;since="#) && body.contains(">1</a>"));
    // The disk and what the sweeper's next pass would do (the fixture keeps forever).
    assert!(body.contains("<h2 id=\"h-retention\">Disk and retention</h2>"));
    assert!(
        body.contains("<dt>High-water mark</dt><dd>90 %</dd>"),
        "{body}"
    );
    assert!(body.contains("<dt>Policy</dt><dd>keep forever</dd>"));
    assert!(body.contains("nothing (1 collection kept)"), "{body}");
    assert!(
        body.contains(" free of "),
        "the data folder's disk is measured: {body}"
    );
}

#[tokio::test]
async fn a_full_disk_with_nothing_to_remove_is_an_alert_with_its_action() {
    let mut f = Fixture::new("dash-disk", &[]);
    // A high-water mark every disk is above: retention can remove nothing (never burned).
    f.cfg.retention.high_water_percent = 0;
    f.rebuild();
    let body = html(&f, "/").await;
    let alerts = body.split("<h2 id=\"h-service\">").next().unwrap();
    assert!(alerts.contains("Disk of the data folder"), "{alerts}");
    assert!(
        alerts.contains("burn and verify the waiting collections"),
        "the action is named: {alerts}"
    );
    assert!(body.contains("above the high-water mark"));
}

#[tokio::test]
async fn the_patients_page_counts_down_a_waiting_jobs_quiet_period() {
    let f = Fixture::new("dash-quiet", &[]);
    f.sql()
        .execute(
            &format!(
                "INSERT INTO job (id, collection, state, priority, copies, created, updated,
                    start_mode, starts_at_ms)
                 VALUES (7, 1, 'waiting', 'normal', 1, {NOW}, {NOW}, 'quiet',
                    CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 90000)"
            ),
            [],
        )
        .unwrap();
    let body = html(&f, "/patients").await;
    let start = body.find("data-countdown=\"").expect("a countdown") + "data-countdown=\"".len();
    let secs: u64 = body[start..].split('"').next().unwrap().parse().unwrap();
    assert!((80..=90).contains(&secs), "{secs} s left of 90");
    assert!(body.contains(&format!(
        "quiet period: <span data-left>{secs} s left</span>"
    )));
    // A job waiting for its sender's release has no countdown, and says so.
    f.sql()
        .execute(
            "UPDATE job SET start_mode = 'release', starts_at_ms = NULL",
            [],
        )
        .unwrap();
    let body = html(&f, "/patients").await;
    assert!(!body.contains("data-countdown"));
    assert!(
        body.contains("until the sender releases the association"),
        "{body}"
    );
}

#[tokio::test]
async fn the_jobs_page_shows_a_hundred_jobs_a_page_newest_first() {
    let f = Fixture::new("jobs-pages", &[]);
    let sql = f.sql();
    for id in 1..=250 {
        sql.execute(
            &format!(
                "INSERT INTO job (id, collection, state, priority, copies, created, updated)
                 VALUES ({id}, 1, 'done', 'normal', 1, {NOW}, {NOW})"
            ),
            [],
        )
        .unwrap();
    }
    // Job 250's one disc, burned: the listing reads every job's discs at once (jobs::list).
    sql.execute(
        &format!(
            "INSERT INTO job_disc (job, volume, copy, burner, outcome, time)
             VALUES (250, 1, 1, 'sim', 'burned', {NOW})"
        ),
        [],
    )
    .unwrap();
    sql.execute(
        &format!(
            "INSERT INTO job_disc (job, volume, copy, burner, outcome, reason, time)
             VALUES (249, 1, 1, 'sim', 'rejected', 'the disc is already written', {NOW})"
        ),
        [],
    )
    .unwrap();
    sql.execute("UPDATE job SET volumes = 1", []).unwrap();
    let rows = |body: &str| body.matches("<tr data-job=\"").count();
    let first = html(&f, "/jobs").await;
    assert_eq!(rows(&first), 100);
    assert!(first.contains("<tr data-job=\"250\">") && !first.contains("<tr data-job=\"150\">"));
    assert!(
        first.contains("Page 1 of 3 (250 jobs, newest first)"),
        "{first}"
    );
    assert!(first.contains(r#"<a href="/jobs?page=2" rel="next">Older</a>"#));
    // The dashboard's burner row: its last reject, found among every job's discs.
    let dash = html(&f, "/").await;
    assert!(
        dash.contains("job 249, volume 1 copy 1: the disc is already written"),
        "{dash}"
    );
    let last = html(&f, "/jobs?page=3").await;
    assert_eq!(rows(&last), 50);
    assert!(
        last.contains("<tr data-job=\"1\">") && last.contains(r#"href="/jobs?page=2" rel="prev""#)
    );
}

//! The event log: every job state change and disc appends one row in the change's own
//! transaction, ids only grow, and a refused change appends nothing. The filtered store log.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dcmdisc_archive::{Control, LogQuery, LogStatus, NewJob};
use dcmdisc_testkit::Scratch;
use rusqlite::{params, Connection};

fn job(c: &Control) -> i64 {
    c.create_job(&NewJob {
        collection: 1,
        priority: "normal".into(),
        copies: 1,
        profile: None,
        burner: None,
        capacity_mb: None,
    })
    .unwrap()
}

fn summary(c: &Control, after: i64) -> Vec<(String, String, Option<String>, Option<String>)> {
    c.events_after(after, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.state, e.previous, e.reason))
        .collect()
}

fn s(x: &str) -> Option<String> {
    Some(x.to_string())
}

#[test]
fn each_state_change_and_disc_appends_one_event_in_order() {
    let scratch = Scratch::new("events");
    let c = Control::open(scratch.path()).unwrap();
    assert_eq!(c.latest_event().unwrap(), 0);
    let id = job(&c);
    assert!(c
        .set_job_state(id, &["queued"], "composing", None, None)
        .unwrap());
    // Refused (wrong `from`) and unchanged (same state): nothing appended.
    assert!(!c
        .set_job_state(id, &["queued"], "imaging", None, None)
        .unwrap());
    assert!(c
        .set_job_state(id, &["composing"], "composing", None, None)
        .unwrap());
    assert!(c
        .set_job_state(id, &["composing"], "burning", None, None)
        .unwrap());
    let d1 = c.begin_disc(id, 1, 1, "sim").unwrap();
    c.finish_disc(d1, "rejected", "written", "", "").unwrap();
    let d2 = c.begin_disc(id, 1, 1, "sim").unwrap();
    // A crash: the next start rejects what was burning.
    assert_eq!(c.reject_interrupted("interrupted").unwrap(), 1);
    assert!(c
        .set_job_state(id, &["burning"], "failed", Some("no discs"), Some("load"))
        .unwrap());
    let all = c.events_after(0, 100).unwrap();
    assert_eq!(
        summary(&c, 0),
        vec![
            ("job".into(), "queued".into(), None, None),
            ("job".into(), "composing".into(), s("queued"), None),
            ("job".into(), "burning".into(), s("composing"), None),
            ("disc".into(), "burning".into(), None, None),
            ("disc".into(), "rejected".into(), None, s("written")),
            ("disc".into(), "burning".into(), None, None),
            ("disc".into(), "rejected".into(), None, s("interrupted")),
            ("job".into(), "failed".into(), s("burning"), s("no discs")),
        ]
    );
    assert!(all.iter().all(|e| e.job == Some(id)));
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let discs: Vec<_> = all
        .iter()
        .filter(|e| e.kind == "disc")
        .map(|e| (e.disc, e.burner.as_deref(), e.volume, e.copy))
        .collect();
    assert_eq!(
        discs,
        [
            (Some(d1), Some("sim"), Some(1), Some(1)),
            (Some(d1), Some("sim"), Some(1), Some(1)),
            (Some(d2), Some("sim"), Some(1), Some(1)),
            (Some(d2), Some("sim"), Some(1), Some(1)),
        ]
    );
    // Tailing: after an id gives exactly the rest; a limit cuts the oldest first.
    assert_eq!(summary(&c, all[5].id), summary(&c, 0)[6..].to_vec());
    let first_two = c.events_after(0, 2).unwrap();
    assert_eq!(first_two, all[..2].to_vec());
    assert_eq!(c.latest_event().unwrap(), all[7].id);
    // Ids are never handed out again, even once the newest rows are gone.
    let conn = Connection::open(scratch.path().join("control.sqlite")).unwrap();
    conn.execute("DELETE FROM event WHERE id > ?1", params![all[3].id])
        .unwrap();
    job(&c);
    assert!(c.events_after(all[3].id, 10).unwrap()[0].id > all[7].id);
}

#[test]
fn the_store_log_is_filtered_by_status_calling_ae_and_time() {
    let scratch = Scratch::new("logquery");
    let c = Control::open(scratch.path()).unwrap();
    let conn = Connection::open(scratch.path().join("control.sqlite")).unwrap();
    for (time, status, ae) in [
        ("2026-01-01T10:00:00.000Z", 0, "CT1"),
        ("2026-01-01T11:00:00.000Z", 0xA700, "CT1"),
        ("2026-01-02T09:00:00.000Z", 0, "MR1"),
        ("2026-01-02T10:00:00.000Z", 0xC000, "MR1"),
        ("2026-01-03T10:00:00.000Z", 0, "CT1"),
    ] {
        conn.execute(
            "INSERT INTO store_log (time, status, calling_ae, peer, sop_class_uid,
                sop_instance_uid, reason) VALUES (?1, ?2, ?3, '127.0.0.1:1', '1.2', '1.2.3', '')",
            params![time, status, ae],
        )
        .unwrap();
    }
    let times = |q: LogQuery| -> Vec<String> {
        c.query_log(&q)
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {} {}", &e.time[..13], e.status, e.calling_ae))
            .collect()
    };
    let all = LogQuery::newest(100);
    assert_eq!(times(all.clone()).len(), 5);
    assert_eq!(
        times(LogQuery {
            status: Some(LogStatus::Failure),
            ..all.clone()
        }),
        ["2026-01-01T11 A700 CT1", "2026-01-02T10 C000 MR1"]
    );
    assert_eq!(
        times(LogQuery {
            status: Some(LogStatus::Code(0xC000)),
            ..all.clone()
        }),
        ["2026-01-02T10 C000 MR1"]
    );
    assert_eq!(
        times(LogQuery {
            status: Some(LogStatus::Success),
            calling_ae: Some("CT1".into()),
            ..all.clone()
        }),
        ["2026-01-01T10 0000 CT1", "2026-01-03T10 0000 CT1"]
    );
    assert_eq!(
        times(LogQuery {
            since: Some("2026-01-02".into()),
            limit: 2,
            ..all.clone()
        }),
        ["2026-01-02T10 C000 MR1", "2026-01-03T10 0000 CT1"]
    );
    assert_eq!(
        times(LogQuery {
            since: Some("2026-01-02T09:30:00Z".into()),
            calling_ae: Some("MR1".into()),
            ..all
        }),
        ["2026-01-02T10 C000 MR1"]
    );
}

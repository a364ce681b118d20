use super::*;
use crate::jobs::{self, JobRequest, Worker};
use crate::testutil::{two_collections as setup, TempDir};

const H: i64 = 3_600_000;

fn facts(collection: i64, done_at: Option<&str>, bytes: u64) -> CollectionFacts {
    CollectionFacts {
        collection,
        patient_name: format!("P^{collection}"),
        patient_id: format!("P{collection}"),
        pinned: false,
        removing: false,
        instances: 1,
        bytes,
        last_arrival: "2026-01-01T00:00:00.000Z".into(),
        unfinished_job: None,
        covering_job: done_at.map(|t| (collection * 10, t.to_string())),
        last_done_job: done_at.map(|_| collection * 10),
    }
}

fn policy(keep_hours: u64, high_water_percent: u64) -> RetentionSection {
    RetentionSection {
        keep_forever: false,
        keep_hours,
        high_water_percent,
        interval_secs: 60,
    }
}

fn actions(d: &[Decision]) -> Vec<(i64, Action)> {
    d.iter().map(|d| (d.collection, d.action)).collect()
}

const DONE: &str = "2026-01-02T00:00:00.000Z";

fn done_ms() -> i64 {
    rfc3339_millis(DONE).unwrap()
}

#[test]
fn the_keep_time_runs_from_the_covering_jobs_last_verified_disc() {
    let f = [facts(1, Some(DONE), 100)];
    let (d, _, _) = plan(&policy(24, 90), &f, done_ms() + 24 * H - 1, None);
    assert_eq!(actions(&d), [(1, Action::Keep)]);
    assert!(
        d[0].reason.contains("kept until 24 h after job 10"),
        "{}",
        d[0].reason
    );
    let (d, _, _) = plan(&policy(24, 90), &f, done_ms() + 24 * H, None);
    assert_eq!(actions(&d), [(1, Action::Remove)]);
    assert_eq!(d[0].done_job, Some(10));
    // keep_hours = 0: at the next pass.
    let (d, _, _) = plan(&policy(0, 90), &f, done_ms(), None);
    assert_eq!(actions(&d), [(1, Action::Remove)]);
}

#[test]
fn keep_forever_removes_nothing_even_at_the_high_water_mark_and_says_so() {
    let cfg = RetentionSection::default();
    assert!(cfg.keep_forever, "the default must remove nothing");
    let f = [facts(1, Some(DONE), 100), facts(2, None, 100)];
    let disk = DiskUsage {
        total: 1000,
        used: 950,
    };
    let (d, above, alert) = plan(&cfg, &f, done_ms() + 1000 * H, Some(disk));
    assert_eq!(actions(&d), [(1, Action::Keep), (2, Action::Keep)]);
    assert!(d[0].reason.contains("kept forever"), "{}", d[0].reason);
    assert!(above);
    let alert = alert.unwrap();
    assert!(alert.contains("never burned: 2"), "{alert}");
    assert!(alert.contains("keep_forever"), "{alert}");
}

#[test]
fn at_the_high_water_mark_the_oldest_done_go_first_until_below_and_never_burned_stay() {
    // Four collections of 100 bytes: 1 done first, 3 next, 2 last; 4 never burned.
    let f = [
        facts(1, Some("2026-01-01T00:00:00.000Z"), 100),
        facts(2, Some("2026-01-03T00:00:00.000Z"), 100),
        facts(3, Some("2026-01-02T00:00:00.000Z"), 100),
        facts(4, None, 100),
    ];
    let now = rfc3339_millis("2026-01-04T00:00:00.000Z").unwrap();
    // 950 of 1000 used, mark 80 %: 150 bytes must go, so two collections (1 and 3).
    let disk = DiskUsage {
        total: 1000,
        used: 950,
    };
    let (d, above, alert) = plan(&policy(1000, 80), &f, now, Some(disk));
    assert!(above);
    assert_eq!(
        actions(&d),
        [
            (1, Action::Remove),
            (2, Action::Keep),
            (3, Action::Remove),
            (4, Action::Keep)
        ]
    );
    assert!(d[0].reason.contains("high-water"), "{}", d[0].reason);
    assert_eq!(d[3].reason, "never burned: no job of it is done");
    assert!(d[3].never_burned);
    assert_eq!(alert, None, "the removals bring it below");
    // Full, mark 50 %: all three done ones go and it is still above: the alert names the
    // unburned one.
    let disk = DiskUsage {
        total: 1000,
        used: 1000,
    };
    let (d, _, alert) = plan(&policy(1000, 50), &f, now, Some(disk));
    assert_eq!(
        actions(&d),
        [
            (1, Action::Remove),
            (2, Action::Remove),
            (3, Action::Remove),
            (4, Action::Keep)
        ]
    );
    let alert = alert.unwrap();
    assert!(alert.contains("never burned: 4"), "{alert}");
    // Below the mark: only the keep time decides.
    let disk = DiskUsage {
        total: 1000,
        used: 100,
    };
    let (d, above, alert) = plan(&policy(1000, 80), &f, now, Some(disk));
    assert!(!above && alert.is_none());
    assert!(d.iter().all(|d| d.action == Action::Keep));
}

#[test]
fn the_guard_comes_before_any_policy() {
    let mut pinned = facts(1, Some(DONE), 100);
    pinned.pinned = true;
    let mut busy = facts(2, Some(DONE), 100);
    busy.unfinished_job = Some((21, "burning".into()));
    let mut late = facts(3, None, 100);
    late.last_done_job = Some(30);
    let f = [pinned, busy, late];
    let disk = DiskUsage {
        total: 100,
        used: 100,
    };
    let (d, _, alert) = plan(&policy(0, 1), &f, done_ms() + 1000 * H, Some(disk));
    assert!(d.iter().all(|d| d.action == Action::Keep));
    assert_eq!(d[0].reason, "pinned");
    assert_eq!(d[1].reason, "job 21 is burning");
    assert!(
        d[2].reason.contains("arrived after job 30"),
        "{}",
        d[2].reason
    );
    assert!(alert.is_some());
}

fn run_jobs(cfg: &Config) {
    let mut w = Worker::open(cfg).unwrap();
    for _ in 0..10 {
        if w.run_next(&Shutdown::new()).unwrap().is_none() {
            return;
        }
    }
}

fn make_job(cfg: &Config, db: &ControlDb, collection: i64) -> i64 {
    jobs::create(
        cfg,
        db,
        &JobRequest {
            collection,
            copies: 1,
            burner: Some("sim".into()),
            ..JobRequest::default()
        },
    )
    .unwrap()
}

fn decision(r: &Report, c: i64) -> &Decision {
    r.decisions.iter().find(|d| d.collection == c).unwrap()
}

#[test]
fn a_pass_removes_a_done_collection_with_its_job_folder_and_explains_the_rest() {
    let tmp = TempDir::new("retention-pass");
    let (cfg, db) = setup(&tmp, 2);
    let job = make_job(&cfg, &db, 1);
    run_jobs(&cfg);
    assert_eq!(jobs::show(&cfg, &db, job).unwrap().state, "done");
    let folder = jobs::job_dir(&cfg.archive.data_dir, job);
    assert!(folder.join("volumes.tsv").is_file());
    let files: Vec<String> = db
        .instances(Some(1))
        .unwrap()
        .into_iter()
        .map(|r| r.path)
        .collect();

    // The dry run explains and touches nothing.
    let dry = pass(&cfg, &db, true).unwrap();
    assert_eq!(decision(&dry, 1).action, Action::Remove);
    assert_eq!(decision(&dry, 2).action, Action::Keep);
    assert!(decision(&dry, 2).never_burned);
    assert!(decision(&dry, 1).outcome.is_none());
    assert_eq!(db.patients().unwrap().len(), 2);

    let report = pass(&cfg, &db, false).unwrap();
    assert_eq!(decision(&report, 1).outcome.as_deref(), Some("removed"));
    assert_eq!(decision(&report, 2).outcome, None);
    let left: Vec<i64> = db.patients().unwrap().iter().map(|p| p.id).collect();
    assert_eq!(left, [2]);
    for f in &files {
        assert!(!Path::new(f).exists(), "{f}");
    }
    assert!(!folder.exists());
    // The next pass has nothing more to do; pin and unpin.
    let again = pass(&cfg, &db, false).unwrap();
    assert_eq!(actions(&again.decisions), [(2, Action::Keep)]);
    pin(&db, 2, true).unwrap();
    assert!(db.patients().unwrap()[0].pinned);
    assert!(matches!(
        pin(&db, 1, true),
        Err(AppError::NoSuchCollection(1))
    ));
}

#[test]
fn a_pass_keeps_pinned_and_busy_collections() {
    let tmp = TempDir::new("retention-keep");
    let (cfg, db) = setup(&tmp, 1);
    make_job(&cfg, &db, 1);
    make_job(&cfg, &db, 2);
    run_jobs(&cfg);
    pin(&db, 1, true).unwrap();
    // Collection 2 gets a new job: queued, not final.
    let queued = make_job(&cfg, &db, 2);
    let report = pass(&cfg, &db, false).unwrap();
    assert_eq!(decision(&report, 1).reason, "pinned");
    assert_eq!(
        decision(&report, 2).reason,
        format!("job {queued} is queued")
    );
    assert_eq!(db.patients().unwrap().len(), 2);
    // Unpinned, collection 1 goes.
    pin(&db, 1, false).unwrap();
    let report = pass(&cfg, &db, false).unwrap();
    assert_eq!(decision(&report, 1).outcome.as_deref(), Some("removed"));
    assert_eq!(db.patients().unwrap().len(), 1);
}

#[test]
fn a_failed_job_of_a_removed_collection_cannot_be_retried() {
    let tmp = TempDir::new("retention-retry");
    let (cfg, db) = setup(&tmp, 1);
    let failed = make_job(&cfg, &db, 1);
    assert!(db
        .control()
        .set_job_state(failed, &["queued"], "failed", Some("x"), None)
        .unwrap());
    make_job(&cfg, &db, 1);
    run_jobs(&cfg);
    let report = pass(&cfg, &db, false).unwrap();
    assert_eq!(decision(&report, 1).outcome.as_deref(), Some("removed"));
    // Collection 1's id may be given to another patient: the retry must not compose that.
    let e = jobs::retry(&db, failed).unwrap_err();
    assert!(matches!(e, AppError::CollectionRemoved { .. }), "{e}");
    assert_eq!(jobs::show(&cfg, &db, failed).unwrap().state, "failed");
}

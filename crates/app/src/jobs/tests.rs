use super::*;
use crate::config::jobs::{BurnerConfig, BurnerKind, SimDisc};
use crate::control::Open;
use crate::shutdown::Shutdown;
use crate::testutil::{ct_file, TempDir};

/// A data folder whose index holds one collection (id 1) of `n` CT instances of `pixels`
/// bytes, with a simulator burner `sim` of `discs`.
fn setup(tmp: &TempDir, n: u32, pixels: usize, discs: &[SimDisc]) -> (Config, ControlDb) {
    let mut cfg = Config::default();
    cfg.archive.data_dir = tmp.path().join("data");
    cfg.archive.durable = false;
    // The volumes here are sized to the instances alone (a 1 MB medium, 2 volumes): the web
    // content's renderings of these noise images would add a third (web content is tested in
    // crates/media/tests/web_content.rs and tests/interop/test_web_content.py).
    cfg.media.web_content = false;
    cfg.burners = vec![BurnerConfig {
        name: "sim".into(),
        kind: BurnerKind::Simulator,
        dir: None,
        discs: discs.to_vec(),
        speed_mb_s: 0,
        ..BurnerConfig::default()
    }];
    cfg.validate().unwrap();
    let db = ControlDb::open(&cfg, Open::CreateIfMissing).unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute(
        "INSERT INTO patient (id, patient_name, patient_id, patient_id_generated, charset)
         VALUES (1, CAST('DOE^JOHN' AS BLOB), 'P1', 0, '')",
        [],
    )
    .unwrap();
    for k in 1..=n {
        let path = src.join(format!("{k}.dcm"));
        ct_file(&path, "DOE^JOHN", "P1", "2.25.77", k, pixels);
        let size = std::fs::metadata(&path).unwrap().len();
        // The SOP Instance UID ct_file writes is not needed here: the export reads the file.
        conn.execute(
            "INSERT INTO instance (sop_instance_uid, sop_class_uid, transfer_syntax, patient,
                patient_name, charset, patient_id, patient_id_generated, study_instance_uid,
                series_instance_uid, instance_number, size, path, received, calling_ae, keys)
             VALUES (?1, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', 1,
                CAST('DOE^JOHN' AS BLOB), '', 'P1', 0, '2.25.77', '2.25.77.1', ?2, ?3, ?4,
                '2025-01-01T00:00:00.000Z', 'CT', X'')",
            rusqlite::params![
                format!("2.25.77.1.{k}"),
                k.to_string(),
                size,
                path.to_string_lossy()
            ],
        )
        .unwrap();
    }
    (cfg, db)
}

fn request(copies: u32) -> JobRequest {
    JobRequest {
        collection: 1,
        copies,
        burner: Some("sim".into()),
        capacity_mb: Some(1),
        ..JobRequest::default()
    }
}

fn outcomes(job: &JobView) -> Vec<(u32, u32, String, String)> {
    job.discs
        .iter()
        .map(|d| (d.volume, d.copy, d.outcome.clone(), d.reason.clone()))
        .collect()
}

fn run_until_idle(cfg: &Config, stop: &Shutdown) {
    let mut w = Worker::open(cfg).unwrap();
    for _ in 0..10 {
        if w.run_next(stop).unwrap().is_none() {
            return;
        }
    }
}

#[test]
fn the_issue_stack_burns_two_volumes_twice_and_rejects_three_discs() {
    use SimDisc::*;
    let tmp = TempDir::new("jobs-stack");
    let stack = [Written, Blank, Faulty, Blank, BadVerify, Blank, Blank];
    let (cfg, db) = setup(&tmp, 3, 400_000, &stack);
    let id = create(&cfg, &db, &request(2)).unwrap();
    assert_eq!(show(&cfg, &db, id).unwrap().state, "queued");
    run_until_idle(&cfg, &Shutdown::new());

    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "done", "{:?}", job.error);
    assert_eq!(job.volumes, 2);
    assert_eq!(job.progress, 1.0);
    let got: Vec<_> = outcomes(&job)
        .into_iter()
        .map(|(v, c, o, r)| (v, c, o, r.split(':').next().unwrap_or("").to_string()))
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        got,
        [
            (1, 1, s("rejected"), s("the disc is already written")),
            (1, 1, s("burned"), s("")),
            (
                1,
                2,
                s("rejected"),
                s("the disc cannot be written (faulty)")
            ),
            (1, 2, s("burned"), s("")),
            (2, 1, s("rejected"), s("verification failed")),
            (2, 1, s("burned"), s("")),
            (2, 2, s("burned"), s("")),
        ]
    );
    assert_eq!(job.burned, 4, "rejects are not copies");
    // Each burned disc holds exactly the validated image of its volume.
    let volumes = worker_manifest(&cfg, id);
    for d in job.discs.iter().filter(|d| d.outcome == "burned") {
        let (image, sha) = &volumes[d.volume as usize - 1];
        assert_eq!(
            std::fs::read(&d.image).unwrap(),
            std::fs::read(image).unwrap()
        );
        assert_eq!(&d.sha256, sha);
        assert_eq!(
            &crate::burners::sha256_file(Path::new(&d.image)).unwrap(),
            sha
        );
    }
    // The simulator's labels: REJECT on each rejected disc.
    let b = &burners(&cfg, &db).unwrap()[0];
    let labels: Vec<bool> = b
        .discs
        .iter()
        .map(|d| d.label.starts_with("REJECT"))
        .collect();
    assert_eq!(labels, [true, false, true, false, true, false, false]);
    assert_eq!(b.state, "ready");
}

/// (image path, sha256) per volume, from the job folder's manifest.
fn worker_manifest(cfg: &Config, id: i64) -> Vec<(PathBuf, String)> {
    let text =
        std::fs::read_to_string(job_dir(&cfg.archive.data_dir, id).join("volumes.tsv")).unwrap();
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (PathBuf::from(f[2]), f[1].to_string())
        })
        .collect()
}

#[test]
fn three_rejects_in_a_row_pause_the_burner_and_hold_the_job_until_resumed() {
    use SimDisc::*;
    let tmp = TempDir::new("jobs-pause");
    let (cfg, db) = setup(&tmp, 1, 1000, &[Written, Faulty, BadVerify, Blank]);
    let id = create(&cfg, &db, &request(1)).unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "burning", "held, not failed");
    assert_eq!(job.error, None);
    let next = job.next_action.unwrap_or_default();
    assert!(next.contains("dcmdisc burner resume sim"), "{next}");
    assert!(next.contains("rejected 3 discs in a row"), "{next}");
    assert_eq!(job.discs.len(), 3, "the fourth disc is not taken");
    let b = &burners(&cfg, &db).unwrap()[0];
    assert_eq!((b.state.as_str(), b.rejects_in_a_row), ("paused", 3));
    assert!(
        b.reason.contains("rejected 3 discs in a row"),
        "{}",
        b.reason
    );
    // Persisted: another worker (a restart) does not take the held job either.
    run_until_idle(&cfg, &Shutdown::new());
    assert_eq!(show(&cfg, &db, id).unwrap().discs.len(), 3);

    resume_burner(&cfg, &db, "sim").unwrap();
    let b = &burners(&cfg, &db).unwrap()[0];
    assert_eq!(
        (b.state.as_str(), b.rejects_in_a_row, b.reason.as_str()),
        ("ready", 0, "")
    );
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "done");
    assert_eq!(job.next_action, None);
    assert_eq!(job.burned, 1);
    assert_eq!(job.discs.len(), 4);
    assert_eq!(burners(&cfg, &db).unwrap()[0].state, "ready");
}

#[test]
fn a_paused_burner_holds_its_jobs_and_resume_lets_them_finish() {
    let tmp = TempDir::new("jobs-op-pause");
    let (cfg, db) = setup(&tmp, 1, 1000, &[SimDisc::Blank; 4]);
    pause_burner(&cfg, &db, "sim", "  out of labels ").unwrap();
    let b = &burners(&cfg, &db).unwrap()[0];
    assert_eq!(
        (b.state.as_str(), b.reason.as_str()),
        ("paused", "out of labels")
    );
    let id = create(&cfg, &db, &request(1)).unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    // Composed and validated, then held before any disc is taken.
    assert_eq!(job.state, "burning");
    assert!(job.discs.is_empty());
    assert!(job
        .next_action
        .unwrap_or_default()
        .contains("out of labels"));
    assert!(matches!(
        pause_burner(&cfg, &db, "nope", ""),
        Err(AppError::NoSuchBurner(_))
    ));
    assert!(matches!(
        resume_burner(&cfg, &db, "nope"),
        Err(AppError::NoSuchBurner(_))
    ));
    resume_burner(&cfg, &db, "sim").unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    assert_eq!(show(&cfg, &db, id).unwrap().state, "done");
    // An empty reason is recorded in plain words.
    pause_burner(&cfg, &db, "sim", "").unwrap();
    assert_eq!(
        burners(&cfg, &db).unwrap()[0].reason,
        "paused by the operator"
    );
}

#[test]
fn a_job_without_its_own_burner_goes_to_the_first_one_not_paused() {
    let tmp = TempDir::new("jobs-free-burner");
    let (mut cfg, db) = setup(&tmp, 1, 1000, &[SimDisc::Blank; 2]);
    let mut second = cfg.burners[0].clone();
    second.name = "sim2".into();
    cfg.burners.push(second);
    cfg.validate().unwrap();
    pause_burner(&cfg, &db, "sim", "").unwrap();
    let id = create(
        &cfg,
        &db,
        &JobRequest {
            burner: None,
            ..request(1)
        },
    )
    .unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "done");
    assert_eq!(job.discs[0].burner, "sim2");
}

#[test]
fn after_a_crash_while_burning_the_disc_is_rejected_and_nothing_is_done_twice() {
    let tmp = TempDir::new("jobs-crash");
    let (cfg, db) = setup(&tmp, 3, 400_000, &[SimDisc::Blank; 8]);
    let id = create(&cfg, &db, &request(2)).unwrap();
    // A first run burns everything; then the state a crash during the last copy leaves is
    // made by hand: that copy's disc `burning`, the job `burning`.
    run_until_idle(&cfg, &Shutdown::new());
    let before = show(&cfg, &db, id).unwrap();
    assert_eq!(before.burned, 4);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute(
        "UPDATE job_disc SET outcome = 'burning', sha256 = '' WHERE id =
            (SELECT MAX(id) FROM job_disc)",
        [],
    )
    .unwrap();
    conn.execute("UPDATE job SET state = 'burning' WHERE id = ?1", [id])
        .unwrap();
    // The restart.
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "done");
    let got = outcomes(&job);
    assert_eq!(got.len(), 5);
    assert_eq!(got[3], (2, 2, "rejected".into(), "interrupted".into()));
    assert_eq!(got[4], (2, 2, "burned".into(), String::new()));
    // Each (volume, copy) burned exactly once.
    let mut burned: Vec<_> = got
        .iter()
        .filter(|d| d.2 == "burned")
        .map(|d| (d.0, d.1))
        .collect();
    burned.sort();
    assert_eq!(burned, [(1, 1), (1, 2), (2, 1), (2, 2)]);
    // The interrupted disc (the simulator's 4th) reads REJECT, as every reject does.
    let sim = &burners(&cfg, &db).unwrap()[0];
    assert_eq!(sim.discs[3].outcome, "rejected");
    assert_eq!(sim.discs[3].label, "REJECT: interrupted");
    assert_eq!(sim.discs[4].label, "job1-vol2-copy2.iso");
}

#[test]
fn a_job_resumed_with_a_damaged_image_composes_again_instead_of_rejecting_discs() {
    let tmp = TempDir::new("jobs-damaged");
    let (cfg, db) = setup(&tmp, 3, 400_000, &[SimDisc::Blank; 8]);
    let id = create(&cfg, &db, &request(2)).unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    // A crash during the last copy, and the image of its volume not what was validated (a
    // power loss took its last writes).
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute(
        "UPDATE job_disc SET outcome = 'burning', sha256 = '' WHERE id =
            (SELECT MAX(id) FROM job_disc)",
        [],
    )
    .unwrap();
    conn.execute("UPDATE job SET state = 'burning' WHERE id = ?1", [id])
        .unwrap();
    let (image, _) = worker_manifest(&cfg, id).pop().unwrap();
    let mut bytes = std::fs::read(&image).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&image, bytes).unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "done", "{job:?}");
    let got = outcomes(&job);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[3], (2, 2, "rejected".into(), "interrupted".into()));
    assert_eq!(got[4], (2, 2, "burned".into(), String::new()));
    let (image, sha) = worker_manifest(&cfg, id).pop().unwrap();
    assert_eq!(crate::burners::sha256_file(&image).unwrap(), sha);
    assert_eq!(job.discs[4].sha256, sha);
}

#[test]
fn a_crash_during_a_folder_copy_leaves_no_partial_file_even_when_the_job_does_not_resume() {
    let tmp = TempDir::new("jobs-folder-crash");
    let (mut cfg, db) = setup(&tmp, 1, 1000, &[]);
    cfg.burners = vec![BurnerConfig::default_folder()];
    let id = create(
        &cfg,
        &db,
        &JobRequest {
            burner: Some("folder".into()),
            ..request(1)
        },
    )
    .unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    assert_eq!(show(&cfg, &db, id).unwrap().state, "done");
    // What a kill -9 during the copy leaves: the disc `burning`, its copy under the
    // temporary name; then the operator cancels the job before the next start.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute("UPDATE job_disc SET outcome = 'burning'", [])
        .unwrap();
    conn.execute("UPDATE job SET state = 'cancelled' WHERE id = ?1", [id])
        .unwrap();
    let folder = cfg.archive.data_dir.join("discs");
    let partial = folder.join(format!(".job{id}-vol1-copy1.iso.partial"));
    std::fs::write(&partial, b"half an image").unwrap();
    Worker::open(&cfg).unwrap();
    assert!(!partial.exists(), "the interrupted copy stays behind");
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(
        outcomes(&job),
        [(1, 1, "rejected".into(), "interrupted".into())]
    );
}

#[test]
fn cancel_and_bad_requests() {
    let tmp = TempDir::new("jobs-cancel");
    let (cfg, db) = setup(&tmp, 1, 1000, &[SimDisc::Blank]);
    let id = create(&cfg, &db, &request(1)).unwrap();
    cancel(&db, id).unwrap();
    assert!(matches!(cancel(&db, id), Err(AppError::JobState { .. })));
    run_until_idle(&cfg, &Shutdown::new());
    assert_eq!(show(&cfg, &db, id).unwrap().state, "cancelled");
    assert!(matches!(
        create(
            &cfg,
            &db,
            &JobRequest {
                collection: 9,
                ..request(1)
            }
        ),
        Err(AppError::NoSuchCollection(9))
    ));
    assert!(matches!(
        create(
            &cfg,
            &db,
            &JobRequest {
                burner: Some("x".into()),
                ..request(1)
            }
        ),
        Err(AppError::NoSuchBurner(_))
    ));
    assert!(matches!(
        create(&cfg, &db, &request(0)),
        Err(AppError::Copies)
    ));
    assert!(matches!(show(&cfg, &db, 99), Err(AppError::NoSuchJob(99))));
}

#[test]
fn a_shutdown_during_a_slow_burn_rejects_that_disc_and_the_next_run_finishes() {
    let tmp = TempDir::new("jobs-stop");
    let (mut cfg, db) = setup(&tmp, 1, 600_000, &[SimDisc::Blank; 4]);
    cfg.burners[0].speed_mb_s = 1;
    let id = create(&cfg, &db, &request(1)).unwrap();
    let stop = Shutdown::new();
    let watcher = {
        let (cfg, stop) = (cfg.clone(), stop.clone());
        std::thread::spawn(move || {
            let db = ControlDb::open(&cfg, Open::Existing).unwrap();
            // Bounded: at most about 60 s.
            for _ in 0..3000 {
                let job = show(&cfg, &db, id).unwrap();
                if job.discs.iter().any(|d| d.outcome == "burning") {
                    stop.trigger();
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            stop.trigger();
            false
        })
    };
    let mut w = Worker::open(&cfg).unwrap();
    w.run_next(&stop).unwrap();
    assert!(
        watcher.join().unwrap(),
        "the burn was never seen in progress"
    );
    let job = show(&cfg, &db, id).unwrap();
    assert!(
        job.state == "burning" || job.state == "verifying",
        "{}",
        job.state
    );
    assert_eq!(
        outcomes(&job),
        [(1, 1, "rejected".into(), "interrupted".into())]
    );
    assert_eq!(
        burners(&cfg, &db).unwrap()[0].discs[0].label,
        "REJECT: interrupted"
    );
    cfg.burners[0].speed_mb_s = 0;
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "done");
    assert_eq!(
        outcomes(&job),
        [
            (1, 1, "rejected".into(), "interrupted".into()),
            (1, 1, "burned".into(), String::new())
        ]
    );
}

/// The `setup` collection with a drive burner `dvd` on the xorriso stand-in holding `discs`
/// (its disc a `stdio:` file); answers the disc file.
fn drive_setup(tmp: &TempDir, discs: &[&str]) -> (Config, ControlDb, PathBuf) {
    let (mut cfg, db) = setup(tmp, 3, 400_000, &[]);
    let wrapper = crate::testutil::xorriso_standin(tmp.path(), discs);
    let disc = tmp.path().join("disc.img");
    cfg.burners = vec![BurnerConfig {
        name: "dvd".into(),
        kind: BurnerKind::Drive,
        device: Some(format!("stdio:{}", disc.display())),
        xorriso: Some(wrapper),
        ..BurnerConfig::default()
    }];
    cfg.validate().unwrap();
    (cfg, db, disc)
}

#[test]
fn a_drive_job_rejects_the_written_disc_and_burns_the_next_blank_one() {
    let tmp = TempDir::new("jobs-drive");
    let (cfg, db, disc) = drive_setup(&tmp, &["written", "blank"]);
    let id = create(
        &cfg,
        &db,
        &JobRequest {
            burner: Some("dvd".into()),
            ..request(1)
        },
    )
    .unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    // Two volumes at 1 MB; the stand-in holds two discs only, so after the reject and the
    // first volume's disc the drive is empty and the job fails with "no disc".
    let got = outcomes(&job);
    assert_eq!(got[0].2, "rejected");
    assert!(
        got[0].3.contains("already written (closed, CD-R)"),
        "{}",
        got[0].3
    );
    assert_eq!((got[1].0, got[1].2.as_str()), (1, "burned"));
    let volumes = worker_manifest(&cfg, id);
    let image = std::fs::read(&volumes[0].0).unwrap();
    let bytes = std::fs::read(&disc).unwrap();
    assert_eq!(&bytes[..image.len()], &image[..], "the disc holds volume 1");
    assert_eq!(job.state, "failed");
    assert!(job.error.unwrap_or_default().contains("has no disc"));
    assert!(job
        .next_action
        .unwrap_or_default()
        .contains("load discs into dvd"));
    assert_eq!(job.discs.len(), 2, "an empty drive is not a reject");
}

#[test]
fn a_drive_whose_xorriso_cannot_run_fails_the_job_without_taking_a_disc() {
    let tmp = TempDir::new("jobs-drive-broken");
    let (mut cfg, db, _) = drive_setup(&tmp, &["blank"]);
    cfg.burners[0].xorriso = Some(tmp.path().join("no-such-xorriso"));
    let id = create(&cfg, &db, &request_on("dvd")).unwrap();
    run_until_idle(&cfg, &Shutdown::new());
    let job = show(&cfg, &db, id).unwrap();
    assert_eq!(job.state, "failed");
    let error = job.error.unwrap_or_default();
    assert!(error.contains("cannot run"), "{error}");
    assert!(job.discs.is_empty(), "no disc was taken");
}

fn request_on(burner: &str) -> JobRequest {
    JobRequest {
        burner: Some(burner.into()),
        ..request(1)
    }
}

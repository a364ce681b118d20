//! The trigger against the real store path: instances written and indexed by the archive
//! (store log rows and all), the hook called as `Sink::finish` calls it, the trigger's steps
//! run here one at a time, and the worker making the jobs on a simulator burner. Time never
//! passes in these tests: a due job is made due by moving its start into the past.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::jobs::{BurnerConfig, BurnerKind, SimDisc};
use crate::config::rules::Modality;
use crate::config::AeTitle;
use crate::jobs::{list, show, JobView, Priority, Worker};
use crate::testutil::{ct_dataset, TempDir};
use dcmdisc_archive::{Archive, ArchiveConfig, Incoming, LogEntry};

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";

fn rule(called: Option<&str>, modality: Option<&str>, start: StartMode) -> RuleConfig {
    RuleConfig {
        called_ae: called.map(|a| AeTitle::from_str(a).unwrap()),
        calling_ae: None,
        modality: modality.map(|m| Modality::try_from(m.to_string()).unwrap()),
        copies: 1,
        profile: None,
        burner: Some("sim".into()),
        priority: Priority::Normal,
        start,
    }
}

fn config(tmp: &TempDir, rules: Vec<RuleConfig>) -> Config {
    let mut cfg = Config::default();
    cfg.archive.data_dir = tmp.path().join("data");
    cfg.archive.durable = false;
    cfg.storage_provider.ae_titles = ["CDP_PRINTER", "CDP_AUTO"]
        .iter()
        .map(|a| AeTitle::from_str(a).unwrap())
        .collect();
    // Far: nothing becomes due unless a test moves its start.
    cfg.jobs.quiet_period_secs = 3600;
    cfg.burners = vec![BurnerConfig {
        name: "sim".into(),
        kind: BurnerKind::Simulator,
        dir: None,
        discs: vec![SimDisc::Blank; 20],
        speed_mb_s: 0,
        ..BurnerConfig::default()
    }];
    cfg.rules = rules;
    cfg.validate().unwrap();
    cfg
}

fn archive(cfg: &Config) -> Arc<Archive> {
    Archive::open(ArchiveConfig {
        data_dir: cfg.archive.data_dir.clone(),
        durable: false,
        implementation_class_uid: "2.25.1".into(),
        implementation_version_name: "TEST".into(),
        conversion: None,
    })
    .unwrap()
}

fn assoc(id: u64, called: &str) -> AssociationInfo {
    AssociationInfo {
        id,
        calling_ae: "CT_1".into(),
        called_ae: called.into(),
        peer: "127.0.0.1:11112".parse().unwrap(),
    }
}

/// Stores instance `n` of patient `pid` (study `2.25.<pid>`) as the network layer's sink
/// does, then tells the hook as `Sink::finish` does. Answers its SOP Instance UID.
fn store(
    a: &Arc<Archive>,
    hook: Option<&Hook>,
    info: &AssociationInfo,
    pid: u32,
    n: u32,
) -> String {
    let study = format!("2.25.{pid}");
    let uid = format!("{study}.{n}");
    let mut w = a
        .begin(Incoming {
            sop_class_uid: CT.into(),
            sop_instance_uid: uid.clone(),
            transfer_syntax: EXPLICIT.into(),
            calling_ae: info.calling_ae.clone(),
            called_ae: info.called_ae.clone(),
        })
        .unwrap();
    w.write(&ct_dataset(
        &format!("PAT^{pid}"),
        &format!("P{pid}"),
        &study,
        n,
        256,
    ))
    .unwrap();
    let stored = w
        .finish(LogEntry {
            time: dcmdisc_dicom::datetime::now_rfc3339(),
            status: String::new(),
            calling_ae: info.calling_ae.clone(),
            peer: info.peer.to_string(),
            sop_class_uid: CT.into(),
            sop_instance_uid: uid.clone(),
            reason: String::new(),
        })
        .unwrap();
    if let Some(h) = hook {
        h.stored(info, &uid, stored.modality.as_deref());
    }
    uid
}

/// One trigger step over the messages sent so far.
fn pump(t: &mut Trigger) {
    let msgs: Vec<Msg> = t.rx.try_iter().collect();
    t.step(msgs).unwrap();
}

fn jobs(cfg: &Config) -> Vec<JobView> {
    list(cfg, &ControlDb::open(cfg, Open::Existing).unwrap()).unwrap()
}

fn sql(cfg: &Config, statement: &str) {
    let conn = rusqlite::Connection::open(cfg.control_database_path()).unwrap();
    conn.execute(statement, []).unwrap();
}

/// As if its quiet period had passed.
fn make_due(cfg: &Config, job: i64) {
    sql(
        cfg,
        &format!("UPDATE job SET starts_at_ms = 0 WHERE id = {job}"),
    );
}

fn received_ms(cfg: &Config, uid: &str) -> i64 {
    let conn = rusqlite::Connection::open(cfg.control_database_path()).unwrap();
    let r: String = conn
        .query_row(
            "SELECT received FROM instance WHERE sop_instance_uid = ?1",
            [uid],
            |r| r.get(0),
        )
        .unwrap();
    millis_from_rfc3339(&r).unwrap()
}

fn held(cfg: &Config, job: i64) -> Vec<String> {
    let db = ControlDb::open(cfg, Open::Existing).unwrap();
    db.control().job_instances(job).unwrap()
}

/// The job's one burned disc holds exactly `uids` of patient `pid` (its DICOMDIR and files,
/// read back by the media crate's validator).
fn assert_disc_holds(job: &JobView, pid: u32, uids: &[String]) {
    let burned: Vec<_> = job.discs.iter().filter(|d| d.outcome == "burned").collect();
    assert_eq!(burned.len(), 1, "{job:?}");
    let f = std::fs::File::open(&burned[0].image).unwrap();
    let expected = dcmdisc_media::validate::ExpectedVolume {
        instances: uids.len(),
        sop_instance_uids: uids.to_vec(),
        patient_id: format!("P{pid}"),
        joliet: true,
        ..Default::default()
    };
    let report = dcmdisc_media::validate::validate_image(f, &expected);
    assert!(report.is_valid(), "{:?}", report.problems);
}

fn run_all(cfg: &Config) -> Worker {
    let mut w = Worker::open(cfg).unwrap();
    let stop = Shutdown::new();
    for _ in 0..10 {
        if w.run_next(&stop).unwrap().is_none() {
            break;
        }
    }
    w
}

#[test]
fn a_rule_makes_a_waiting_job_whose_start_each_instance_pushes_back() {
    let tmp = TempDir::new("trigger-wait");
    let cfg = config(
        &tmp,
        vec![rule(Some("CDP_AUTO"), Some("CT"), StartMode::Quiet)],
    );
    let a = archive(&cfg);
    let (mut t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    // Called CDP_PRINTER: only collected.
    store(&a, Some(&hook), &assoc(1, "CDP_PRINTER"), 1, 1);
    pump(&mut t);
    assert!(jobs(&cfg).is_empty());
    // Called CDP_AUTO: a job waits, its start the quiet period after the instance.
    let auto = assoc(2, "CDP_AUTO");
    let first = store(&a, Some(&hook), &auto, 2, 1);
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!(js.len(), 1, "{js:?}");
    let j = &js[0];
    assert_eq!(
        (j.state.as_str(), j.rule, j.start.as_deref()),
        ("waiting", Some(1), Some("quiet"))
    );
    let at = |j: &JobView| millis_from_rfc3339(j.starts_at.as_deref().unwrap()).unwrap();
    assert_eq!(at(j), received_ms(&cfg, &first) + 3_600_000);
    assert!(j.starts_in_secs.unwrap() > 3000.0, "{j:?}");
    // Each further instance of the patient pushes it back to its own time + the period;
    // no second job.
    let mut last = first.clone();
    for n in 2..=4 {
        // Receipt times are in milliseconds: make them differ, so the latest one is known.
        std::thread::sleep(std::time::Duration::from_millis(3));
        last = store(&a, Some(&hook), &auto, 2, n);
    }
    assert!(received_ms(&cfg, &last) > received_ms(&cfg, &first));
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!(js.len(), 1);
    assert_eq!(at(&js[0]), received_ms(&cfg, &last) + 3_600_000);
    // Not due: the worker leaves it waiting.
    assert_eq!(
        Worker::open(&cfg)
            .unwrap()
            .run_next(&Shutdown::new())
            .unwrap(),
        None
    );
    assert_eq!(jobs(&cfg)[0].state, "waiting");
    // Due: queued and made, with every instance of the patient.
    make_due(&cfg, js[0].id);
    run_all(&cfg);
    let j = &jobs(&cfg)[0];
    assert_eq!(j.state, "done", "{j:?}");
    assert_eq!((j.starts_at.as_deref(), j.starts_in_secs), (None, None));
    assert_eq!(held(&cfg, j.id).len(), 4);
}

#[test]
fn instances_stored_while_the_trigger_was_down_are_caught_and_a_waiting_job_survives_a_restart() {
    let tmp = TempDir::new("trigger-restart");
    let cfg = config(&tmp, vec![rule(None, Some("CT"), StartMode::Quiet)]);
    let a = archive(&cfg);
    {
        // A trigger that never acts: it crashed before its thread ran.
        let (_t, hook) = Trigger::open(&cfg).unwrap().unwrap();
        store(&a, Some(&hook), &assoc(1, "CDP_PRINTER"), 5, 1);
        store(&a, Some(&hook), &assoc(1, "CDP_PRINTER"), 5, 2);
    }
    assert!(jobs(&cfg).is_empty());
    // The next start catches up before anything is stored.
    let (mut t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    let js = jobs(&cfg);
    assert_eq!(js.len(), 1, "{js:?}");
    assert_eq!(js[0].state, "waiting");
    pump(&mut t);
    // Opened again (and stepped): nothing acted on twice.
    drop((t, hook));
    let (mut t, _hook) = Trigger::open(&cfg).unwrap().unwrap();
    pump(&mut t);
    assert_eq!(jobs(&cfg).len(), 1);
    // A restart while waiting: the job is in the database and starts once due.
    drop(t);
    make_due(&cfg, js[0].id);
    run_all(&cfg);
    let j = &jobs(&cfg)[0];
    assert_eq!(
        (j.state.as_str(), held(&cfg, j.id).len()),
        ("done", 2),
        "{j:?}"
    );
}

#[test]
fn an_instance_arriving_during_composing_makes_the_worker_compose_again_with_it() {
    // Seen by the worker at its next state change (the export is stopped).
    replan_at(JobState::Imaging);
    replan_at(JobState::Validating);
    // After the export's last report: seen as it moves to burning, which it then does not.
    replan_at(JobState::Burning);
}

fn replan_at(stage: JobState) {
    let tmp = TempDir::new("trigger-replan");
    let cfg = config(&tmp, vec![rule(None, None, StartMode::Quiet)]);
    let a = archive(&cfg);
    let (t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    let t = Arc::new(Mutex::new(t));
    let info = assoc(1, "CDP_AUTO");
    let mut uids = vec![
        store(&a, Some(&hook), &info, 7, 1),
        store(&a, Some(&hook), &info, 7, 2),
    ];
    pump(&mut t.lock().unwrap());
    let id = jobs(&cfg)[0].id;
    make_due(&cfg, id);
    // While the first attempt is in `stage`, a third instance arrives and the trigger acts.
    let late = Arc::new(Mutex::new(None));
    let mut w = Worker::open(&cfg).unwrap();
    {
        let (a, hook, t, late) = (a.clone(), hook.clone(), t.clone(), late.clone());
        w.on_compose_state = Some(Box::new(move |_, st| {
            let mut late = late.lock().unwrap();
            if st == stage && late.is_none() {
                *late = Some(store(&a, Some(&hook), &assoc(1, "CDP_AUTO"), 7, 3));
                pump(&mut t.lock().unwrap());
            }
        }));
    }
    assert_eq!(w.run_next(&Shutdown::new()).unwrap(), Some(id));
    uids.push(
        late.lock()
            .unwrap()
            .clone()
            .expect("the late instance was sent"),
    );
    uids.sort();
    let j = show(&cfg, &ControlDb::open(&cfg, Open::Existing).unwrap(), id).unwrap();
    assert_eq!((j.state.as_str(), j.replans), ("done", 1), "{j:?}");
    // Composed again from scratch: it holds, and its disc has, all three.
    assert_eq!(held(&cfg, id), uids);
    assert_disc_holds(&j, 7, &uids);
    assert_eq!(
        jobs(&cfg).len(),
        1,
        "no supplement for an instance that made the disc"
    );
    // The event log holds every state change the trigger and the worker made, in order, each
    // from the state before it (the API's stream shows exactly these).
    let events: Vec<_> = ControlDb::open(&cfg, Open::Existing)
        .unwrap()
        .control()
        .events_after(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "job" && e.job == Some(id))
        .collect();
    let states: Vec<&str> = events.iter().map(|e| e.state.as_str()).collect();
    assert_eq!(
        states[..3],
        ["waiting", "queued", "composing"],
        "{states:?}"
    );
    assert_eq!(states.last(), Some(&"done"), "{states:?}");
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].previous.as_deref(),
            Some(pair[0].state.as_str()),
            "{states:?}"
        );
    }
    if stage != JobState::Composing {
        // A late arrival staged "at burning" comes just before the move, in `validating`.
        let from = match stage {
            JobState::Burning => JobState::Validating,
            st => st,
        };
        let replanned = events
            .iter()
            .any(|e| e.state == "composing" && e.previous.as_deref() == Some(from.name()));
        assert!(replanned, "{states:?}");
    }
}

#[test]
fn after_burning_started_a_supplement_job_holds_exactly_the_new_instances() {
    let tmp = TempDir::new("trigger-supplement");
    let cfg = config(&tmp, vec![rule(None, Some("CT"), StartMode::Quiet)]);
    let a = archive(&cfg);
    let (mut t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    let info = assoc(1, "CDP_AUTO");
    let old: Vec<String> = (1..=3)
        .map(|n| store(&a, Some(&hook), &info, 9, n))
        .collect();
    pump(&mut t);
    let first = jobs(&cfg)[0].id;
    make_due(&cfg, first);
    run_all(&cfg);
    assert_eq!(jobs(&cfg)[0].state, "done");
    // Two new instances, and one of the burned ones sent again (it is on the disc).
    let new = vec![
        store(&a, Some(&hook), &info, 9, 4),
        store(&a, Some(&hook), &info, 9, 5),
    ];
    store(&a, Some(&hook), &info, 9, 2);
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!(js.len(), 2, "{js:?}");
    let sup = &js[1];
    assert_eq!(
        (sup.state.as_str(), sup.supplement_of),
        ("waiting", Some(first))
    );
    assert!(
        sup.note()
            .starts_with(&format!("supplement of job {first}, starts in ")),
        "{}",
        sup.note()
    );
    make_due(&cfg, sup.id);
    run_all(&cfg);
    let sup = show(
        &cfg,
        &ControlDb::open(&cfg, Open::Existing).unwrap(),
        sup.id,
    )
    .unwrap();
    assert_eq!(sup.state, "done", "{sup:?}");
    assert_eq!(held(&cfg, sup.id), new);
    assert_disc_holds(&sup, 9, &new);
    assert_eq!(held(&cfg, first), old);
    // A later arrival supplements the supplement, holding only itself.
    let newest = store(&a, Some(&hook), &info, 9, 6);
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!((js.len(), js[2].supplement_of), (3, Some(sup.id)));
    make_due(&cfg, js[2].id);
    run_all(&cfg);
    assert_eq!(held(&cfg, js[2].id), vec![newest]);
}

#[test]
fn a_release_rule_starts_at_a_release_and_falls_back_to_the_quiet_period_after_an_abort() {
    let tmp = TempDir::new("trigger-release");
    let cfg = config(&tmp, vec![rule(None, None, StartMode::Release)]);
    let a = archive(&cfg);
    let (mut t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    let (one, two) = (assoc(7, "CDP_AUTO"), assoc(8, "CDP_AUTO"));
    store(&a, Some(&hook), &one, 11, 1);
    store(&a, Some(&hook), &two, 12, 1);
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!(js.len(), 2);
    for j in &js {
        assert_eq!(
            (j.state.as_str(), j.start.as_deref()),
            ("waiting", Some("release"))
        );
        assert_eq!(
            (j.starts_at.as_deref(), j.starts_in_secs),
            (None, None),
            "{j:?}"
        );
    }
    store(&a, Some(&hook), &one, 11, 2);
    hook.association_closed(&one, AssociationEnd::Released);
    hook.association_closed(&two, AssociationEnd::Aborted);
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!(js[0].state, "queued", "released: {js:?}");
    assert_eq!(js[1].state, "waiting", "aborted: {js:?}");
    assert!(
        js[1].starts_at.is_some(),
        "aborted: the quiet period applies: {js:?}"
    );
    run_all(&cfg);
    assert_eq!(held(&cfg, js[0].id).len(), 2);
    // A release job whose association was open when the trigger stopped starts after the
    // quiet period at the next start (that release can never come).
    let three = assoc(9, "CDP_AUTO");
    store(&a, Some(&hook), &three, 13, 1);
    pump(&mut t);
    assert_eq!(jobs(&cfg)[2].starts_at, None);
    drop((t, hook));
    let _again = Trigger::open(&cfg).unwrap().unwrap();
    assert!(jobs(&cfg)[2].starts_at.is_some());
}

#[test]
fn without_rules_nothing_is_triggered_and_no_backlog_is_kept() {
    let tmp = TempDir::new("trigger-none");
    let cfg = config(&tmp, Vec::new());
    let a = archive(&cfg);
    assert!(Trigger::open(&cfg).unwrap().is_none());
    store(&a, None, &assoc(1, "CDP_AUTO"), 3, 1);
    assert!(Trigger::open(&cfg).unwrap().is_none());
    // Rules configured later act on what is stored from then on only.
    let cfg = config(&tmp, vec![rule(None, None, StartMode::Quiet)]);
    assert!(Trigger::open(&cfg).unwrap().is_some());
    assert!(jobs(&cfg).is_empty());
}

#[test]
fn an_instance_sent_again_that_the_composing_job_holds_is_no_late_arrival() {
    let tmp = TempDir::new("trigger-held");
    let cfg = config(&tmp, vec![rule(None, None, StartMode::Quiet)]);
    let a = archive(&cfg);
    let (mut t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    let info = assoc(1, "CDP_AUTO");
    store(&a, Some(&hook), &info, 8, 1);
    pump(&mut t);
    let id = jobs(&cfg)[0].id;
    make_due(&cfg, id);
    // As the worker starts composing: due, queued, the set recorded.
    let db = ControlDb::open(&cfg, Open::Existing).unwrap();
    assert_eq!(db.control().queue_due(i64::MAX).unwrap(), 1);
    let (replans, set) = db
        .control()
        .begin_compose(id, &["queued"])
        .unwrap()
        .unwrap();
    assert_eq!((replans, set.len()), (0, 1));
    // Sent again: held, nothing to do.
    store(&a, Some(&hook), &info, 8, 1);
    pump(&mut t);
    assert_eq!(jobs(&cfg)[0].replans, 0);
    // A new one: re-planned, and the worker's move to burning at the old plan is refused.
    store(&a, Some(&hook), &info, 8, 2);
    pump(&mut t);
    let j = &jobs(&cfg)[0];
    assert_eq!((j.state.as_str(), j.replans), ("composing", 1));
    assert!(!db
        .control()
        .set_job_state_at_plan(id, &["composing"], "burning", 0)
        .unwrap());
}

#[test]
fn a_cancelled_waiting_job_never_starts_and_the_patients_next_instance_makes_a_new_one() {
    let tmp = TempDir::new("trigger-cancel");
    let cfg = config(&tmp, vec![rule(None, None, StartMode::Quiet)]);
    let a = archive(&cfg);
    let (mut t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    let info = assoc(1, "CDP_AUTO");
    store(&a, Some(&hook), &info, 4, 1);
    pump(&mut t);
    let id = jobs(&cfg)[0].id;
    crate::jobs::cancel(&ControlDb::open(&cfg, Open::Existing).unwrap(), id).unwrap();
    make_due(&cfg, id);
    run_all(&cfg);
    assert_eq!(jobs(&cfg)[0].state, "cancelled");
    // Never silently left out: a new instance of the patient is a new job, with everything.
    store(&a, Some(&hook), &info, 4, 2);
    pump(&mut t);
    let js = jobs(&cfg);
    assert_eq!(
        (js.len(), js[1].state.as_str(), js[1].supplement_of),
        (2, "waiting", None)
    );
    make_due(&cfg, js[1].id);
    run_all(&cfg);
    assert_eq!(held(&cfg, js[1].id).len(), 2);
}

#[test]
fn instances_whose_index_rows_a_power_loss_took_are_recovered_with_their_called_ae_and_caught() {
    let tmp = TempDir::new("trigger-power");
    let cfg = config(&tmp, vec![rule(Some("CDP_AUTO"), None, StartMode::Quiet)]);
    let a = archive(&cfg);
    let (_t, hook) = Trigger::open(&cfg).unwrap().unwrap();
    // Acknowledged (the files are durable), then the power went: the index commits were not
    // synced and the trigger never ran.
    store(&a, Some(&hook), &assoc(1, "CDP_AUTO"), 6, 1);
    store(&a, Some(&hook), &assoc(2, "CDP_PRINTER"), 16, 1);
    drop((_t, hook, a));
    sql(&cfg, "DELETE FROM store_log");
    sql(&cfg, "DELETE FROM instance");
    sql(&cfg, "DELETE FROM patient");
    // The next start: recovery re-indexes both from their files, the called AE from the File
    // Meta; the trigger catches up and only the CDP_AUTO one makes a job.
    let _a = archive(&cfg);
    let conn = rusqlite::Connection::open(cfg.control_database_path()).unwrap();
    let called: Vec<String> = conn
        .prepare("SELECT called_ae FROM instance ORDER BY called_ae")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(called, ["CDP_AUTO", "CDP_PRINTER"]);
    let (_t, _hook) = Trigger::open(&cfg).unwrap().unwrap();
    let js = jobs(&cfg);
    assert_eq!(js.len(), 1, "{js:?}");
    let patients = ControlDb::open(&cfg, Open::Existing)
        .unwrap()
        .patients()
        .unwrap();
    let auto = patients.iter().find(|p| p.patient_id == "P6").unwrap();
    assert_eq!(
        (js[0].collection, js[0].state.as_str()),
        (auto.id, "waiting")
    );
}

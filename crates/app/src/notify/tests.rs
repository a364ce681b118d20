use dcmdisc_archive::EventRow;

use super::notice::{condition, Patient};
use super::*;
use crate::config::notify::NotifyEvent;
use crate::config::Config;

fn row(id: i64, kind: &str, state: &str, reason: &str) -> EventRow {
    EventRow {
        id,
        time: format!("2026-12-02T03:00:{:02}Z", id % 60),
        kind: kind.into(),
        job: (kind == "job" || state == "out_of_discs").then_some(7),
        disc: None,
        burner: (kind == "burner").then(|| "sim".to_string()),
        state: state.into(),
        previous: None,
        reason: (!reason.is_empty()).then(|| reason.to_string()),
        volume: None,
        copy: None,
    }
}

struct OneJob;
impl Facts for OneJob {
    fn job(&self, id: i64) -> Option<JobFacts> {
        (id == 7).then(|| JobFacts {
            next_action: Some("load discs into sim, then `dcmdisc job retry 7`".into()),
            burner: "sim".into(),
            patient_name: "Yamada^Tarou".into(),
            patient_id: "P7".into(),
        })
    }
}

#[test]
fn only_the_four_conditions_are_notices() {
    assert_eq!(
        condition(&row(1, "job", "failed", "x")),
        Some(NotifyEvent::JobFailed)
    );
    assert_eq!(condition(&row(1, "job", "done", "")), None);
    assert_eq!(condition(&row(1, "job", "queued", "")), None);
    assert_eq!(condition(&row(1, "disc", "rejected", "x")), None);
    assert_eq!(
        condition(&row(1, "burner", "paused", "")),
        Some(NotifyEvent::Burner)
    );
    assert_eq!(
        condition(&row(1, "burner", "out_of_discs", "")),
        Some(NotifyEvent::Burner)
    );
    assert_eq!(
        condition(&row(1, "disk", "high_water", "")),
        Some(NotifyEvent::Disk)
    );
    assert_eq!(condition(&row(1, "disk", "normal", "")), None);
    assert_eq!(
        condition(&row(1, "store", "refused", "")),
        Some(NotifyEvent::Store)
    );
}

#[test]
fn take_passes_over_unwanted_rows_and_sends_one_at_a_time() {
    let all = NotifyEvent::ALL;
    let read = vec![
        row(1, "job", "queued", ""),
        row(2, "job", "failed", "no disc"),
        row(3, "burner", "paused", "why"),
    ];
    match take(&read, &all) {
        Taken::One(b) => {
            assert_eq!(b.through, 2);
            assert_eq!(b.events.len(), 1);
            assert_eq!(b.events[0].id, 2);
        }
        other => panic!("{other:?}"),
    }
    // Not wanted by this target: passed over, the cursor moves to the end.
    assert_eq!(
        take(&read, &[NotifyEvent::Disk]),
        Taken::Nothing { through: Some(3) }
    );
    assert_eq!(take(&[], &all), Taken::Nothing { through: None });
}

#[test]
fn refused_stores_coalesce_until_another_notice() {
    let mut read: Vec<EventRow> = (1..=500)
        .map(|i| row(i, "store", "refused", "A700 disk full"))
        .collect();
    match take(&read, &NotifyEvent::ALL) {
        Taken::StoreOpen(b) => {
            assert_eq!(b.events.len(), 500);
            assert_eq!(b.through, 500);
            let n = build(&b, &OneJob, false).unwrap();
            assert_eq!(n.count, 500);
            assert_eq!(n.kind, "store_refused");
            assert_eq!(n.id, "dcmdisc-event-1");
            assert!(
                n.summary.starts_with("500 instances could not be stored"),
                "{}",
                n.summary
            );
        }
        other => panic!("{other:?}"),
    }
    // A job row between stores is absorbed; a failed job closes the group before it.
    read.insert(10, row(1000, "job", "queued", ""));
    read.push(row(501, "job", "failed", "x"));
    read.push(row(502, "store", "refused", "A700"));
    match take(&read, &NotifyEvent::ALL) {
        Taken::One(b) => {
            assert_eq!(b.events.len(), 500);
            assert_eq!(b.through, 500);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_job_failure_notice_names_the_job_the_action_and_the_patient_when_asked() {
    let b = Batch {
        events: vec![row(42, "job", "failed", "burner sim has no disc to take")],
        through: 42,
    };
    let n = build(&b, &OneJob, false).unwrap();
    assert_eq!(n.id, "dcmdisc-event-42");
    assert_eq!(n.kind, "job_failed");
    assert_eq!(n.job, Some(7));
    assert_eq!(n.burner.as_deref(), Some("sim"));
    assert_eq!(
        n.summary,
        "Disc job 7 failed: burner sim has no disc to take."
    );
    assert_eq!(n.action, "load discs into sim, then `dcmdisc job retry 7`");
    assert_eq!(n.patient, None, "no patient data unless include_patient");
    let json = serde_json::to_value(&n).unwrap();
    for k in [
        "id", "event_id", "kind", "time", "summary", "action", "count", "job", "burner",
    ] {
        assert!(json.get(k).is_some(), "{k} missing from {json}");
    }
    assert_eq!(json["patient"], serde_json::Value::Null);

    let n = build(&b, &OneJob, true).unwrap();
    assert_eq!(
        n.patient,
        Some(Patient {
            name: "Yamada^Tarou".into(),
            id: "P7".into()
        })
    );
    let body = mail_body(&n);
    assert!(body.contains("What to do: load discs into sim"), "{body}");
    assert!(body.contains("Patient: Yamada^Tarou (ID P7)"), "{body}");
    assert!(body.contains("Notice id: dcmdisc-event-42"), "{body}");
    assert_eq!(
        mail_subject(&n),
        "dcmdisc: Disc job 7 failed: burner sim has no disc to take."
    );
}

#[test]
fn burner_and_disk_notices_say_what_to_do() {
    let one = |e| Batch {
        events: vec![e],
        through: 1,
    };
    let n = build(
        &one(row(1, "burner", "paused", "rejected 3 discs")),
        &OneJob,
        false,
    )
    .unwrap();
    assert_eq!(n.kind, "burner_paused");
    assert!(
        n.action.contains("dcmdisc burner resume sim"),
        "{}",
        n.action
    );
    let n = build(
        &one(row(1, "burner", "out_of_discs", "stack empty")),
        &OneJob,
        false,
    )
    .unwrap();
    assert_eq!(n.kind, "burner_out_of_discs");
    assert!(n.action.contains("load discs into sim"), "{}", n.action);
    let n = build(
        &one(row(1, "disk", "high_water", "disk 95% full")),
        &OneJob,
        false,
    )
    .unwrap();
    assert_eq!(n.kind, "disk_high_water");
    assert!(n.summary.contains("disk 95% full"), "{}", n.summary);
    // A subject stays short.
    let long = "x".repeat(300);
    let n = build(&one(row(1, "job", "failed", &long)), &OneJob, false).unwrap();
    assert!(mail_subject(&n).chars().count() <= 120);
}

fn parse_err(text: &str) -> String {
    match Config::parse(text) {
        Err(e) => e.to_string(),
        Ok(c) => c
            .validate()
            .map(|()| String::new())
            .unwrap_or_else(|e| e.to_string()),
    }
}

#[test]
fn notify_config_defaults_and_refusals_name_the_key() {
    let c = Config::parse(
        r#"
[[notify]]
name = "ops"
kind = "webhook"
url = "https://hooks.example.org/dcmdisc"
headers = { X-Api-Key = "k" }

[[notify]]
name = "mail"
kind = "email"
host = "smtp.example.org"
from = "dcmdisc <dcmdisc@example.org>"
to = ["ops@example.org"]
events = ["job_failed", "store"]
"#,
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.notify[0].events, NotifyEvent::ALL.to_vec());
    assert_eq!(c.notify[0].coalesce_secs, 60);
    assert!(!c.notify[0].include_patient);
    assert_eq!(c.notify[1].smtp_port(), 587);
    assert!(!c.notify[1].wants(NotifyEvent::Disk));

    let cases = [
        ("name = \"a\"\nkind = \"fax\"", "[notify] kind"),
        ("name = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\nsurl = 1", "surl"),
        ("name = \"a\"\nkind = \"webhook\"", "url: missing"),
        ("name = \"a\"\nkind = \"webhook\"\nurl = \"ftp://x\"", "url: \"ftp://x\""),
        (
            "name = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\nhost = \"h\"",
            "host: is a key of kind = \"email\"",
        ),
        (
            "name = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\nevents = [\"fire\"]",
            "[notify] events",
        ),
        (
            "name = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\nevents = []",
            "events: empty",
        ),
        (
            "name = \"a b\"\nkind = \"webhook\"\nurl = \"http://x\"",
            "name: 1 to 32",
        ),
        (
            "name = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\ncoalesce_secs = 0",
            "coalesce_secs: 0",
        ),
        (
            "name = \"a\"\nkind = \"email\"\nfrom = \"a@b\"\nto = [\"c@d\"]",
            "host: missing",
        ),
        (
            "name = \"a\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"not an address\"\nto = [\"c@d\"]",
            "from: \"not an address\"",
        ),
        ("name = \"a\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"a@b\"", "to: missing"),
        (
            "name = \"a\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"a@b\"\nto = [\"c@d\"]\nuser = \"u\"",
            "password_file: user and password_file go together",
        ),
        (
            "name = \"a\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"a@b\"\nto = [\"c@d\"]\nsecurity = \"ssl\"",
            "[notify] security",
        ),
        (
            "name = \"a\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"a@b\"\nto = [\"c@d\"]\nurl = \"http://x\"",
            "url: is a key of kind = \"webhook\"",
        ),
    ];
    for (body, want) in cases {
        let msg = parse_err(&format!("[[notify]]\n{body}\n"));
        assert!(msg.contains(want), "{body:?}: {msg:?} lacks {want:?}");
    }
    let msg = parse_err(
        "[[notify]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://x\"\n\
         [[notify]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"http://y\"\n",
    );
    assert!(
        msg.contains("\"a\" (entry 2) name: used by two targets"),
        "{msg}"
    );
}

#[test]
fn the_example_files_notify_entries_are_valid_when_uncommented() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dcmdisc.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("# [[notify]]").unwrap();
    let entries: String = text[start..]
        .lines()
        .map(|l| l.strip_prefix('#').unwrap_or(l).trim_start())
        .collect::<Vec<_>>()
        .join("\n");
    let c = Config::parse(&entries).unwrap();
    c.validate().unwrap();
    assert_eq!(c.notify.len(), 2);
    assert_eq!(c.notify[1].smtp_port(), 587);
    assert_eq!(
        c.notify[1].events,
        vec![NotifyEvent::JobFailed, NotifyEvent::Burner]
    );
}

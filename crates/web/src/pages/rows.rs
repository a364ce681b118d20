//! The app's views as rows of display strings for the templates (the templates only lay
//! them out; askama escapes every one).

use std::collections::HashMap;

use dcmdisc_app::events::{EventKind, EventView};
use dcmdisc_app::jobs::{BurnerView, JobState, JobView, SimDiscView};
use dcmdisc_app::{AssociationView, Collection, LogEntry};

/// A path segment: everything but letters, digits, `-`, `_` and `.` percent-encoded (burner
/// names and AE titles come from the configuration and the operator).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Bytes in decimal units, as disc sizes are sold: `1.2 GB`, `650 MB`, `12 kB`.
pub(crate) fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// `~4 min`, `~20 s`; `—` when unknown.
pub(crate) fn eta(secs: Option<u64>) -> String {
    match secs {
        None => "—".into(),
        Some(0) => "0 s".into(),
        Some(s) if s < 90 => format!("~{s} s"),
        Some(s) if s < 5400 => format!("~{} min", s.div_ceil(60)),
        Some(s) => format!("~{:.1} h", s as f64 / 3600.0),
    }
}

/// `2026-12-01T10:30:00.250Z` → `2026-12-01 10:30:00` (UTC, as stored).
pub(crate) fn when(t: &str) -> String {
    let t = t.replace('T', " ");
    match t.split_once('.') {
        Some((head, _)) => head.to_string(),
        None => t.trim_end_matches('Z').to_string(),
    }
}

pub(crate) struct JobRow {
    pub id: i64,
    pub collection: i64,
    pub patient: String,
    pub state: String,
    pub priority: String,
    /// 0–1000, for `<progress max="1000">`.
    pub permille: u32,
    pub percent: String,
    pub eta: String,
    /// The current phase's name when it says more than the state (empty otherwise).
    pub stage: String,
    pub burner: String,
    pub copies: u32,
    pub volumes: u32,
    pub burned: u32,
    pub profile: String,
    pub note: String,
    pub error: String,
    pub next_action: String,
    pub created: String,
    pub updated: String,
    pub cancellable: bool,
    pub retryable: bool,
    pub copyable: bool,
    pub active: bool,
}

pub(crate) fn job_row(j: &JobView, names: &HashMap<i64, String>) -> JobRow {
    let state = JobState::parse(&j.state);
    let is_final = state.is_some_and(JobState::is_final);
    JobRow {
        id: j.id,
        collection: j.collection,
        patient: names
            .get(&j.collection)
            .cloned()
            .unwrap_or_else(|| format!("collection {}", j.collection)),
        state: j.state.clone(),
        priority: j.priority.clone(),
        permille: (j.progress.clamp(0.0, 1.0) * 1000.0).round() as u32,
        percent: format!("{:.0}%", j.progress.clamp(0.0, 1.0) * 100.0),
        eta: if is_final {
            String::new()
        } else {
            eta(j.eta_secs)
        },
        stage: if is_final || j.stage == j.state {
            String::new()
        } else {
            j.stage.clone()
        },
        burner: j.burner.clone(),
        copies: j.copies,
        volumes: j.volumes,
        burned: j.burned,
        profile: j.profile.clone().unwrap_or_else(|| "default".into()),
        note: j.note(),
        error: j.error.clone().unwrap_or_default(),
        next_action: j.next_action.clone().unwrap_or_default(),
        created: when(&j.created),
        updated: when(&j.updated),
        cancellable: !is_final,
        retryable: state == Some(JobState::Failed),
        copyable: state == Some(JobState::Done),
        active: !is_final,
    }
}

/// Jobs in `burning` or `verifying` at a paused burner wait for it: no ETA then, but why.
pub(crate) fn mark_held(rows: &mut [JobRow], burners: &[BurnerView]) {
    for r in rows.iter_mut() {
        let paused = burners
            .iter()
            .any(|b| b.name == r.burner && b.state == "paused");
        if paused && matches!(r.state.as_str(), "burning" | "verifying") {
            r.eta = "held: burner paused".into();
        }
    }
}

pub(crate) struct DiscRow {
    pub volume: u32,
    pub copy: u32,
    pub burner: String,
    pub outcome: String,
    pub reason: String,
    pub time: String,
    pub image: String,
}

pub(crate) fn disc_rows(j: &JobView) -> Vec<DiscRow> {
    j.discs
        .iter()
        .map(|d| DiscRow {
            volume: d.volume,
            copy: d.copy,
            burner: d.burner.clone(),
            outcome: d.outcome.clone(),
            reason: d.reason.clone(),
            time: when(&d.time),
            image: d.image.clone(),
        })
        .collect()
}

pub(crate) struct BurnerRow {
    pub name: String,
    /// `/burners/<name>`: the forms' base.
    pub url: String,
    pub kind: String,
    pub state: String,
    pub paused: bool,
    pub reason: String,
    pub rejects_in_a_row: u32,
    pub place: String,
    pub stack: Vec<SimDiscView>,
    pub blank_left: usize,
    /// The newest rejected disc of any job: `job 7, volume 1 copy 1: the disc is written`.
    pub last_reject: String,
}

pub(crate) fn burner_rows(burners: &[BurnerView], jobs: &[JobView]) -> Vec<BurnerRow> {
    burners
        .iter()
        .map(|b| {
            let last_reject = jobs
                .iter()
                .flat_map(|j| j.discs.iter().map(move |d| (j.id, d)))
                .filter(|(_, d)| d.burner == b.name && d.outcome == "rejected")
                .max_by(|a, b| a.1.time.cmp(&b.1.time))
                .map(|(id, d)| {
                    format!(
                        "{}: job {id}, volume {} copy {}: {}",
                        when(&d.time),
                        d.volume,
                        d.copy,
                        d.reason
                    )
                })
                .unwrap_or_default();
            BurnerRow {
                name: b.name.clone(),
                url: format!("/burners/{}", seg(&b.name)),
                kind: serde_json::to_value(b.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                state: b.state.clone(),
                paused: b.state == "paused",
                reason: b.reason.clone(),
                rejects_in_a_row: b.rejects_in_a_row,
                place: b
                    .device
                    .clone()
                    .unwrap_or_else(|| b.dir.display().to_string()),
                blank_left: b.discs.iter().filter(|d| d.outcome == "unused").count(),
                stack: b.discs.clone(),
                last_reject,
            }
        })
        .collect()
}

#[derive(Default)]
pub(crate) struct PatientRow {
    pub id: i64,
    pub name: String,
    pub patient_id: String,
    pub generated: bool,
    pub pinned: bool,
    pub studies: u64,
    pub series: u64,
    pub instances: u64,
    pub size: String,
    pub last_arrival: String,
    /// The newest job of the collection: id and state.
    pub job: Option<(i64, String)>,
    /// That job waits for its quiet period: seconds left (rounded up; the page counts down).
    pub quiet_secs: Option<u64>,
    /// That job waits for its sender's release instead.
    pub waits_release: bool,
}

pub(crate) fn patient_rows(
    patients: &[Collection],
    arrivals: &HashMap<i64, String>,
    jobs: &[JobView],
) -> Vec<PatientRow> {
    patients
        .iter()
        .map(|p| PatientRow {
            id: p.id,
            name: p.patient_name.clone(),
            patient_id: p.patient_id.clone(),
            generated: p.patient_id_generated,
            pinned: p.pinned,
            studies: p.studies,
            series: p.series,
            instances: p.instances,
            size: size(p.bytes),
            last_arrival: arrivals.get(&p.id).map(|t| when(t)).unwrap_or_default(),
            ..newest_job(p.id, jobs)
        })
        .collect()
}

/// The job fields of a patient row: its newest job, and that job's wait if it is waiting.
fn newest_job(collection: i64, jobs: &[JobView]) -> PatientRow {
    let newest = jobs
        .iter()
        .filter(|j| j.collection == collection)
        .max_by_key(|j| j.id);
    let waiting = newest.filter(|j| j.state == JobState::Waiting.name());
    PatientRow {
        job: newest.map(|j| (j.id, j.state.clone())),
        quiet_secs: waiting
            .and_then(|j| j.starts_in_secs)
            .map(|s| s.max(0.0).ceil() as u64),
        waits_release: waiting.is_some_and(|j| j.starts_in_secs.is_none()),
        ..PatientRow::default()
    }
}

pub(crate) struct AssocRow {
    pub id: u64,
    pub calling_ae: String,
    pub called_ae: String,
    pub peer: String,
    pub since: String,
    pub instances: u64,
    pub failures: u64,
    pub size: String,
}

pub(crate) fn assoc_rows(list: &[AssociationView]) -> Vec<AssocRow> {
    list.iter()
        .map(|a| AssocRow {
            id: a.id,
            calling_ae: a.calling_ae.clone(),
            called_ae: a.called_ae.clone(),
            peer: a.peer.clone(),
            since: when(&a.since),
            instances: a.instances,
            failures: a.failures,
            size: size(a.bytes),
        })
        .collect()
}

pub(crate) struct LogRow {
    pub time: String,
    pub status: String,
    pub failure: bool,
    pub calling_ae: String,
    pub peer: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub reason: String,
}

pub(crate) fn log_rows(list: &[LogEntry]) -> Vec<LogRow> {
    list.iter()
        .map(|e| LogRow {
            time: when(&e.time),
            failure: e.status != "0000",
            status: e.status.clone(),
            calling_ae: e.calling_ae.clone(),
            peer: e.peer.clone(),
            sop_class_uid: e.sop_class_uid.clone(),
            sop_instance_uid: e.sop_instance_uid.clone(),
            reason: e.reason.clone(),
        })
        .collect()
}

/// Something the operator must do: what is wrong, the action named, and where to do it.
pub(crate) struct Alert {
    pub what: String,
    pub action: String,
    pub link: String,
    /// A button that does it here: form action and label.
    pub button: Option<(String, String)>,
}

/// Failed jobs the dashboard names one by one.
const FAILED_ALERTS: usize = 10;

pub(crate) fn alerts(burners: &[BurnerRow], jobs: &[JobRow]) -> Vec<Alert> {
    let mut out = Vec::new();
    for b in burners.iter().filter(|b| b.paused) {
        out.push(Alert {
            what: format!("Burner {} is paused: {}", b.name, b.reason),
            action: "resume it (after checking its discs)".into(),
            link: "/burners".into(),
            button: Some((format!("{}/resume", b.url), "Resume".into())),
        });
    }
    for b in burners
        .iter()
        .filter(|b| b.kind == "simulator" && b.blank_left == 0 && !b.stack.is_empty())
    {
        out.push(Alert {
            what: format!("Burner {} has no disc left in its stack", b.name),
            action: "load discs".into(),
            link: "/burners".into(),
            button: None,
        });
    }
    // The newest failures by name; the rest in one line (10,000 jobs can hold hundreds).
    let failed: Vec<&JobRow> = jobs.iter().filter(|j| j.retryable).collect();
    if failed.len() > FAILED_ALERTS {
        out.push(Alert {
            what: format!(
                "{} failed jobs; the newest {FAILED_ALERTS} are below",
                failed.len()
            ),
            action: "retry or cancel each from the Jobs page".into(),
            link: "/jobs".into(),
            button: None,
        });
    }
    for j in failed.into_iter().rev().take(FAILED_ALERTS) {
        let action = if j.next_action.is_empty() {
            "retry it".to_string()
        } else {
            format!("{}; then retry it", j.next_action)
        };
        out.push(Alert {
            what: format!("Job {} ({}) failed: {}", j.id, j.patient, j.error),
            action,
            link: format!("/jobs/{}", j.id),
            button: Some((format!("/jobs/{}/retry", j.id), "Retry".into())),
        });
    }
    out
}

/// Notification targets whose last attempt failed (`[[notify]]`): retried with a back-off,
/// but the operator is not told of anything through them until they work again.
pub(crate) fn notify_alerts(targets: &[dcmdisc_app::notify::TargetStatus]) -> Vec<Alert> {
    targets
        .iter()
        .filter(|t| t.failing)
        .map(|t| Alert {
            what: format!(
                "Notifications to {} are failing (since {}): {}",
                t.name,
                when(&t.updated),
                t.last_error
            ),
            action: "check the receiver or mail relay and the [[notify]] entry;                      `dcmdisc notify test` tries every target"
                .into(),
            link: "/".into(),
            button: None,
        })
        .collect()
}

/// One line of a job's log: when, and what happened in plain words.
pub(crate) struct LogLine {
    pub time: String,
    pub what: String,
    pub bad: bool,
}

pub(crate) fn log_lines(events: &[EventView]) -> Vec<LogLine> {
    events
        .iter()
        .map(|e| {
            let (what, bad) = match &e.what {
                EventKind::Job {
                    state,
                    previous,
                    error,
                    ..
                } => {
                    let mut w = match previous {
                        None => format!("created: {state}"),
                        Some(p) => format!("{p} → {state}"),
                    };
                    if let Some(err) = error {
                        w.push_str(&format!(": {err}"));
                    }
                    (w, state == "failed")
                }
                EventKind::Disc {
                    burner,
                    volume,
                    copy,
                    outcome,
                    reason,
                    ..
                } => {
                    let mut w = format!("disc volume {volume} copy {copy} on {burner}: {outcome}");
                    if let Some(r) = reason.as_deref().filter(|r| !r.is_empty()) {
                        w.push_str(&format!(" ({r})"));
                    }
                    (w, outcome == "rejected")
                }
                EventKind::Other { name, state } => (format!("{name}: {state}"), false),
            };
            LogLine {
                time: when(&e.time),
                what,
                bad,
            }
        })
        .collect()
}

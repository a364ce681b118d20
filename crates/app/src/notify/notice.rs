//! From event rows to notices: which rows a target wants, how refused stores coalesce, and
//! the words (summary, action) of the JSON payload and the mail. No I/O here: the job and
//! patient facts come through [`Facts`], so the tests need no database.

use serde::Serialize;

use dcmdisc_archive::{events, EventRow};

use crate::config::notify::NotifyEvent;

/// One notice, as the webhook receives it (JSON) and the mail words it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// Stable across retries and restarts: `dcmdisc-event-<first event id>` (`-test-<ms>` for
    /// `notify test`). A receiver that sees an id again has seen that notice.
    pub id: String,
    /// The first and last event rows it stands for (the same unless coalesced).
    pub event_id: i64,
    pub last_event_id: i64,
    /// `burner_paused`, `burner_out_of_discs`, `job_failed`, `disk_high_water`,
    /// `store_refused`, or `test`.
    pub kind: String,
    /// The first event's time (RFC 3339 UTC).
    pub time: String,
    /// What happened, in plain words.
    pub summary: String,
    /// What the operator should do now.
    pub action: String,
    /// How many events it stands for (refused stores coalesce; else 1).
    pub count: u64,
    pub job: Option<i64>,
    pub burner: Option<String>,
    /// Only with `include_patient = true`: as the operator pages show them.
    pub patient: Option<Patient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patient {
    pub name: String,
    pub id: String,
}

/// What a job's notice tells beyond its event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFacts {
    pub next_action: Option<String>,
    pub burner: String,
    pub patient_name: String,
    pub patient_id: String,
}

/// The facts of a job, looked up when a notice is worded (`None`: gone or unreadable).
pub trait Facts {
    fn job(&self, id: i64) -> Option<JobFacts>;
}

/// Which condition an event row is, if any.
pub fn condition(e: &EventRow) -> Option<NotifyEvent> {
    match (e.kind.as_str(), e.state.as_str()) {
        (events::JOB, "failed") => Some(NotifyEvent::JobFailed),
        (events::BURNER, "paused" | "out_of_discs") => Some(NotifyEvent::Burner),
        (events::DISK, "high_water") => Some(NotifyEvent::Disk),
        (events::STORE, "refused") => Some(NotifyEvent::Store),
        _ => None,
    }
}

/// The events one notice is made of, and the cursor after it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub events: Vec<EventRow>,
    /// The last event id this notice accounts for (rows no target wants included).
    pub through: i64,
}

/// What to do with the events read after a target's cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Nothing wanted; the cursor may move to `through` (`None`: nothing was read).
    Nothing { through: Option<i64> },
    /// One notice to send.
    One(Batch),
    /// Refused stores up to the end of what was read: more may follow. Sent once the
    /// coalescing window of the first one has passed.
    StoreOpen(Batch),
}

/// The next notice in `read` (events after the cursor, oldest first) for a target wanting
/// `wanted`. Rows before the first wanted one are passed over; a run of refused stores takes
/// every refused store up to the next other wanted row.
pub fn take(read: &[EventRow], wanted: &[NotifyEvent]) -> Taken {
    let wants = |e: &EventRow| condition(e).filter(|c| wanted.contains(c));
    let Some(first) = read.iter().position(|e| wants(e).is_some()) else {
        return Taken::Nothing {
            through: read.last().map(|e| e.id),
        };
    };
    if wants(&read[first]) != Some(NotifyEvent::Store) {
        return Taken::One(Batch {
            events: vec![read[first].clone()],
            through: read[first].id,
        });
    }
    let mut stores = Vec::new();
    for (i, e) in read.iter().enumerate().skip(first) {
        match wants(e) {
            Some(NotifyEvent::Store) => stores.push(e.clone()),
            Some(_) => {
                return Taken::One(Batch {
                    events: stores,
                    through: read[i - 1].id,
                })
            }
            None => {}
        }
    }
    Taken::StoreOpen(Batch {
        events: stores,
        through: read.last().map(|e| e.id).unwrap_or_default(),
    })
}

/// Words the notice of `batch` (not empty: `take` never makes an empty one).
pub fn build(batch: &Batch, facts: &dyn Facts, include_patient: bool) -> Option<Notice> {
    let first = batch.events.first()?;
    let last = batch.events.last()?;
    let mut n = Notice {
        id: format!("dcmdisc-event-{}", first.id),
        event_id: first.id,
        last_event_id: last.id,
        kind: String::new(),
        time: first.time.clone(),
        summary: String::new(),
        action: String::new(),
        count: batch.events.len() as u64,
        job: first.job,
        burner: first.burner.clone(),
        patient: None,
    };
    let reason = first.reason.as_deref().unwrap_or("").trim();
    let burner = first.burner.as_deref().unwrap_or("?");
    match (first.kind.as_str(), first.state.as_str()) {
        (events::JOB, _) => {
            let id = first.job.unwrap_or_default();
            let f = facts.job(id);
            n.kind = "job_failed".into();
            n.summary = if reason.is_empty() {
                format!("Disc job {id} failed.")
            } else {
                format!("Disc job {id} failed: {reason}.")
            };
            n.action = f
                .as_ref()
                .and_then(|f| f.next_action.clone())
                .unwrap_or_else(|| format!("look at job {id} (`dcmdisc job show {id}`)"));
            if let Some(f) = f {
                if !f.burner.is_empty() {
                    n.burner = Some(f.burner.clone());
                }
                if include_patient {
                    n.patient = Some(Patient {
                        name: f.patient_name,
                        id: f.patient_id,
                    });
                }
            }
        }
        (events::BURNER, "paused") => {
            n.kind = "burner_paused".into();
            n.summary = if reason.is_empty() {
                format!("Burner {burner} is paused.")
            } else {
                format!("Burner {burner} is paused: {reason}.")
            };
            n.action = format!(
                "check burner {burner} and its discs, then resume it (`dcmdisc burner resume \
                 {burner}` or the Burners page)"
            );
        }
        (events::BURNER, _) => {
            n.kind = "burner_out_of_discs".into();
            n.summary = format!("Burner {burner} has no disc to take: {reason}.");
            n.action = match first.job {
                Some(j) => format!("load discs into {burner}, then `dcmdisc job retry {j}`"),
                None => format!("load discs into {burner}"),
            };
        }
        (events::DISK, _) => {
            n.kind = "disk_high_water".into();
            n.summary = format!("The data folder's disk is over its high-water mark: {reason}.");
            n.action = "free space: make the discs of the collections never burned, remove \
                        collections (`dcmdisc retention`), or give the data folder more room"
                .into();
        }
        _ => {
            n.kind = "store_refused".into();
            n.summary = if n.count == 1 {
                format!("1 instance could not be stored: {reason}.")
            } else {
                format!(
                    "{} instances could not be stored (first: {reason}; last: {}).",
                    n.count,
                    last.reason.as_deref().unwrap_or("").trim()
                )
            };
            n.action = "free space on the data folder's disk or repair its storage, then ask \
                        the senders to send again (they were told A700, nothing was kept)"
                .into();
        }
    }
    Some(n)
}

/// The mail's subject: short, the kind first.
pub fn mail_subject(n: &Notice) -> String {
    let mut s = format!("dcmdisc: {}", n.summary);
    if s.chars().count() > 120 {
        s = s.chars().take(117).collect::<String>() + "...";
    }
    s
}

/// The mail's plain-text body: the same facts as the JSON.
pub fn mail_body(n: &Notice) -> String {
    let mut b = format!("{}\n\nWhat to do: {}\n\n", n.summary, n.action);
    b += &format!("Kind: {}\nTime: {}\n", n.kind, n.time);
    if n.count > 1 {
        b += &format!("Count: {}\n", n.count);
    }
    if let Some(j) = n.job {
        b += &format!("Job: {j}\n");
    }
    if let Some(x) = &n.burner {
        b += &format!("Burner: {x}\n");
    }
    if let Some(p) = &n.patient {
        b += &format!("Patient: {} (ID {})\n", p.name, p.id);
    }
    b += &format!("Notice id: {}\n", n.id);
    b
}

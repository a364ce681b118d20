//! What changed, in order: the control database's event log (every job state change, every
//! disc a burner took and its outcome, whichever process made it) as the operator sees it.
//! Read by id, so a reader that stopped after event N resumes with N + 1 exactly; the web
//! API's event stream tails it.

use serde::Serialize;

use dcmdisc_archive::{events, EventRow};

use crate::control::ControlDb;
use crate::error::AppError;

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    /// Grows by at least one per event, never reused.
    pub id: i64,
    /// RFC 3339 UTC.
    pub time: String,
    #[serde(flatten)]
    pub what: EventKind,
}

/// What an event says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EventKind {
    /// A job was created (`previous` null, `state` queued) or changed state.
    Job {
        job: i64,
        state: String,
        previous: Option<String>,
        /// A failed job's reason.
        error: Option<String>,
    },
    /// A burner took a disc for a job (`outcome` burning), or finished it (burned, rejected).
    Disc {
        job: i64,
        disc: i64,
        burner: String,
        volume: u32,
        copy: u32,
        outcome: String,
        reason: Option<String>,
    },
    /// A kind this version does not know (written by a newer one): its row as it is.
    Other { name: String, state: String },
}

impl EventView {
    /// The burner whose state this event may have changed.
    pub fn burner(&self) -> Option<&str> {
        match &self.what {
            EventKind::Disc { burner, .. } => Some(burner),
            _ => None,
        }
    }
}

fn view(r: EventRow) -> EventView {
    let what = match r.kind.as_str() {
        events::JOB => EventKind::Job {
            job: r.job.unwrap_or_default(),
            state: r.state,
            previous: r.previous,
            error: r.reason,
        },
        events::DISC => EventKind::Disc {
            job: r.job.unwrap_or_default(),
            disc: r.disc.unwrap_or_default(),
            burner: r.burner.unwrap_or_default(),
            volume: r.volume.unwrap_or_default(),
            copy: r.copy.unwrap_or_default(),
            outcome: r.state,
            reason: r.reason,
        },
        _ => EventKind::Other {
            name: r.kind,
            state: r.state,
        },
    };
    EventView {
        id: r.id,
        time: r.time,
        what,
    }
}

/// The events after id `after` (0: from the first), oldest first, at most `limit`.
pub fn after(db: &ControlDb, after: i64, limit: u32) -> Result<Vec<EventView>, AppError> {
    Ok(db
        .control()
        .events_after(after, limit)?
        .into_iter()
        .map(view)
        .collect())
}

/// The newest event's id (0 when there is none): where a reader that wants only what
/// happens from now on starts.
pub fn latest(db: &ControlDb) -> Result<i64, AppError> {
    Ok(db.control().latest_event()?)
}

//! `GET /api/events`: Server-Sent Events of every job, disc, burner and association change.
//!
//! Durable events (`job`, `disc`) come from the control database's event log, tailed by id:
//! each carries `id:` = its row id, so a client that lost the stream and reconnects with
//! `Last-Event-ID: N` (browsers do this by themselves) gets N + 1 onward — nothing missed,
//! nothing repeated, whichever process made the change (the worker in `serve`, a
//! `dcmdisc job cancel`). The others are about the present and carry no id: `burner` (its
//! state after each disc event), `progress` (an active job's counters when they move),
//! `association` (opened, counts moved, closed). After a reconnect a client lists again
//! (`/api/jobs`, `/api/associations`) for the present.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use dcmdisc_app::events::{self, EventView};
use dcmdisc_app::jobs;
use dcmdisc_app::{AssociationChange, AssociationView};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::error::ApiError;
use crate::state::Api;

/// How often the event log, the active jobs' progress and the associations' counts are read.
const POLL: Duration = Duration::from_millis(250);
/// Events read from the log per query (more are read at once when there are more).
const BATCH: u32 = 500;
/// What a browser waits before reconnecting a lost stream.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
pub(crate) struct EventsParams {
    /// Start after this event id (0: from the first); `Last-Event-ID` wins over it.
    after: Option<String>,
}

/// An active job's counters, sent when they move.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct JobProgress {
    job: i64,
    state: String,
    stage: String,
    progress: f64,
    items: dcmdisc_app::Count,
    bytes: dcmdisc_app::Count,
    burned: u32,
}

/// An association whose counts moved.
#[derive(Debug, Clone, Serialize)]
struct AssociationProgress<'a> {
    change: &'static str,
    association: &'a AssociationView,
}

fn start_id(headers: &HeaderMap, params: &EventsParams) -> Result<Option<i64>, ApiError> {
    let parse = |what: &str, v: &str| {
        v.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{what} {v:?} is not an event id")))
    };
    if let Some(h) = headers.get("last-event-id") {
        let v = h
            .to_str()
            .map_err(|_| ApiError::bad_request("Last-Event-ID is not text"))?;
        return parse("Last-Event-ID", v);
    }
    match &params.after {
        Some(a) => parse("after", a),
        None => Ok(None),
    }
}

pub(crate) async fn stream(
    State(api): State<Api>,
    headers: HeaderMap,
    params: Result<Query<EventsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let from = match start_id(&headers, &params)? {
        Some(n) => n,
        // Only what happens from now on.
        None => api.blocking(|s| Ok(events::latest(&s.db)?)).await?,
    };
    // Subscribed before anything is read, so no opening is lost between the two.
    let changes = api.inner().activity.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(64);
    tokio::spawn(feed(api, from, changes, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn json_event(name: &str, data: &impl Serialize) -> Event {
    // Our views always serialize; a failure would be a bug, reported in the stream.
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

fn durable(e: &EventView) -> Event {
    let name = match &e.what {
        events::EventKind::Job { .. } => "job",
        events::EventKind::Disc { .. } => "disc",
        events::EventKind::Other { .. } => "other",
    };
    json_event(name, e).id(e.id.to_string())
}

/// Feeds one client's stream until it goes away or the server stops.
async fn feed(
    api: Api,
    mut last: i64,
    mut changes: broadcast::Receiver<AssociationChange>,
    tx: mpsc::Sender<Event>,
) {
    let shutdown = api.inner().shutdown.clone();
    let ready = json_event("ready", &serde_json::json!({ "last_event_id": last }))
        .id(last.to_string())
        .retry(RETRY);
    if tx.send(ready).await.is_err() {
        return;
    }
    let mut sent_progress: HashMap<i64, JobProgress> = HashMap::new();
    // The associations this client knows of, with the counts it was last told.
    let mut known: HashMap<u64, AssociationView> = api
        .inner()
        .activity
        .list()
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let out = tokio::select! {
            _ = shutdown.wait() => return,
            _ = tx.closed() => return,
            change = changes.recv() => association(change, &mut known),
            _ = tick.tick() => match poll(&api, &mut last, &mut sent_progress, &mut known).await {
                Ok(events) => events,
                Err(e) => vec![json_event("error", &serde_json::json!({ "error": e.message }))],
            },
        };
        for e in out {
            if tx.send(e).await.is_err() {
                return;
            }
        }
    }
}

fn association(
    change: Result<AssociationChange, broadcast::error::RecvError>,
    known: &mut HashMap<u64, AssociationView>,
) -> Vec<Event> {
    match change {
        Ok(c) => {
            if c.change == "closed" {
                known.remove(&c.association.id);
            } else {
                known.insert(c.association.id, c.association.clone());
            }
            vec![json_event("association", &c)]
        }
        // Fell behind: some openings or closings are lost; the client lists again.
        Err(broadcast::error::RecvError::Lagged(n)) => vec![json_event(
            "resync",
            &serde_json::json!({ "what": "associations", "missed": n }),
        )],
        // The registry lives as long as the server; nothing more will come.
        Err(broadcast::error::RecvError::Closed) => Vec::new(),
    }
}

/// One poll: the log's new events (and the state of the burners they touched), moved
/// progress of active jobs, moved counts of known associations.
async fn poll(
    api: &Api,
    last: &mut i64,
    sent_progress: &mut HashMap<i64, JobProgress>,
    known: &mut HashMap<u64, AssociationView>,
) -> Result<Vec<Event>, ApiError> {
    let after = *last;
    let (new, burners, active) = api
        .blocking(move |s| {
            let mut new = Vec::new();
            loop {
                let from = new.last().map(|e: &EventView| e.id).unwrap_or(after);
                let batch = events::after(&s.db, from, BATCH)?;
                let full = batch.len() as u32 == BATCH;
                new.extend(batch);
                if !full {
                    break;
                }
            }
            let touched: BTreeSet<&str> = new.iter().filter_map(|e| e.burner()).collect();
            let burners = if touched.is_empty() {
                Vec::new()
            } else {
                jobs::burners(&s.cfg, &s.db)?
                    .into_iter()
                    .filter(|b| touched.contains(b.name.as_str()))
                    .collect()
            };
            let active = jobs::active(&s.cfg, &s.db)?;
            Ok((new, burners, active))
        })
        .await?;
    let mut out = Vec::new();
    for e in &new {
        out.push(durable(e));
        *last = e.id;
    }
    for b in &burners {
        out.push(json_event("burner", b));
    }
    let mut still = HashMap::new();
    for j in active {
        let p = JobProgress {
            job: j.id,
            state: j.state,
            stage: j.stage,
            progress: j.progress,
            items: j.items,
            bytes: j.bytes,
            burned: j.burned,
        };
        if sent_progress.get(&p.job) != Some(&p) {
            out.push(json_event("progress", &p));
        }
        still.insert(p.job, p);
    }
    *sent_progress = still;
    for a in api.inner().activity.list() {
        if let Some(before) = known.get_mut(&a.id) {
            if *before != a {
                out.push(json_event(
                    "association",
                    &AssociationProgress {
                        change: "progress",
                        association: &a,
                    },
                ));
                *before = a;
            }
        }
    }
    Ok(out)
}
